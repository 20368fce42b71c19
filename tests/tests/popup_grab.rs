//! Menus (xdg popups with a grab): the menu gets the keyboard, a press inside its
//! client leaves it open, a press anywhere else closes it and goes nowhere, and the
//! keyboard returns to the window.

use std::time::Duration;

use anyhow::{Context, Result};
use ghost_tests::{client::TestClient, wait_for, Compositor};
use serde_json::json;

#[test]
fn a_menu_takes_the_keyboard_and_closes_on_a_press_outside_its_client() -> Result<()> {
    let comp = Compositor::start(&["--output", "1280x720@60"])?;
    let mut app = TestClient::connect(&comp.socket_path())?;
    let seat = app.watch_seat()?;
    let window = app.color_window("menus", 400, 300, &[0xff50_5050])?;
    let g = comp.wait_window("menus")?["geometry"].clone();
    let (x, y) = (g["x"].as_f64().context("x")?, g["y"].as_f64().context("y")?);
    let click = |px: f64, py: f64| -> Result<()> {
        comp.input(json!({"action": "pointer-move", "x": px, "y": py}))?;
        comp.input(json!({"action": "click", "button": "left"}))?;
        Ok(())
    };
    click(x + 20.0, y + 20.0)?;
    wait_for(Duration::from_secs(5), "the press", || {
        app.roundtrip().ok()?;
        app.state.seat.button_serial
    })?;
    let serial = app.state.seat.button_serial.context("serial")?;
    assert_eq!(
        app.state.seat.keyboard_focus.as_ref(),
        Some(&window.surface)
    );

    // The menu opens with a grab: it has the keyboard.
    let menu = app.popup(&window, 20, 20, 120, 160)?;
    menu.popup.grab(&seat, serial);
    app.roundtrip()?;
    assert_eq!(app.state.seat.keyboard_focus.as_ref(), Some(&menu.surface));

    // A press on its own window keeps it open.
    let presses = app.state.seat.buttons.len();
    click(x + 380.0, y + 280.0)?;
    app.roundtrip()?;
    assert!(!app.state.popup_done);
    assert_eq!(
        app.state.seat.buttons.len(),
        presses + 1,
        "the window got that press"
    );

    // A press on the desktop closes it, reaches nobody, and the keyboard goes back.
    let presses = app.state.seat.buttons.len();
    click(1270.0, 710.0)?;
    wait_for(Duration::from_secs(5), "popup_done", || {
        app.roundtrip().ok()?;
        app.state.popup_done.then_some(())
    })?;
    menu.popup.destroy();
    menu.surface.destroy();
    wait_for(
        Duration::from_secs(5),
        "the keyboard back on the window",
        || {
            app.roundtrip().ok()?;
            (app.state.seat.keyboard_focus.as_ref() == Some(&window.surface)).then_some(())
        },
    )?;
    assert_eq!(app.state.seat.buttons.len(), presses);
    Ok(())
}
