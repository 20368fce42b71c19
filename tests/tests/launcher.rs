//! A launcher (fuzzel, wofi, rofi: an overlay layer surface with exclusive keyboard
//! interactivity) gets the keyboard as soon as it shows, keeps it while it shows even
//! when a window is clicked, and gives it back to the window when it closes.

use std::time::Duration;

use anyhow::{Context, Result};
use ghost_tests::{client::TestClient, wait_for, Compositor};
use serde_json::json;

/// Evdev codes of the keys typed.
const KEY_A: u32 = 30;
const KEY_B: u32 = 48;

#[test]
fn a_launcher_takes_the_keyboard_and_gives_it_back() -> Result<()> {
    let comp = Compositor::start(&["--output", "1280x720@60"])?;
    let mut app = TestClient::connect(&comp.socket_path())?;
    app.watch_seat()?;
    let window = app.color_window("editor", 300, 200, &[0xff30_3030])?;
    let g = comp.wait_window("editor")?["geometry"].clone();
    let (x, y) = (
        g["x"].as_f64().context("x")? + 20.0,
        g["y"].as_f64().context("y")? + 20.0,
    );
    wait_for(Duration::from_secs(5), "the editor's focus", || {
        app.roundtrip().ok()?;
        (app.state.seat.keyboard_focus.as_ref() == Some(&window.surface)).then_some(())
    })?;

    let mut launcher_client = TestClient::connect(&comp.socket_path())?;
    launcher_client.watch_seat()?;
    let launcher = launcher_client.launcher()?;
    wait_for(Duration::from_secs(5), "the launcher's focus", || {
        launcher_client.roundtrip().ok()?;
        (launcher_client.state.seat.keyboard_focus.as_ref() == Some(&launcher.surface))
            .then_some(())
    })?;
    // A click on the window does not take the keyboard from it.
    comp.input(json!({"action": "pointer-move", "x": x, "y": y}))?;
    comp.input(json!({"action": "click", "button": "left"}))?;
    comp.input(json!({"action": "key", "combo": "a"}))?;
    launcher_client.roundtrip()?;
    app.roundtrip()?;
    assert_eq!(launcher_client.state.seat.pressed, vec![KEY_A]);
    assert!(
        app.state.seat.pressed.is_empty(),
        "{:?}",
        app.state.seat.pressed
    );

    // It closes: the window has the keyboard again.
    launcher.layer.destroy();
    launcher.surface.destroy();
    launcher_client.roundtrip()?;
    wait_for(Duration::from_secs(5), "the editor's focus again", || {
        app.roundtrip().ok()?;
        (app.state.seat.keyboard_focus.as_ref() == Some(&window.surface)).then_some(())
    })?;
    comp.input(json!({"action": "key", "combo": "b"}))?;
    app.roundtrip()?;
    assert_eq!(app.state.seat.pressed, vec![KEY_B]);
    Ok(())
}

#[test]
fn an_on_demand_layer_surface_gets_the_keyboard_when_it_shows_and_a_click_takes_it_back(
) -> Result<()> {
    use wayland_protocols_wlr::layer_shell::v1::client::zwlr_layer_surface_v1::KeyboardInteractivity;
    let comp = Compositor::start(&["--output", "1280x720@60"])?;
    let mut app = TestClient::connect(&comp.socket_path())?;
    app.watch_seat()?;
    let window = app.color_window("editor", 300, 200, &[0xff30_3030])?;
    let g = comp.wait_window("editor")?["geometry"].clone();
    let (x, y) = (
        g["x"].as_f64().context("x")? + 20.0,
        g["y"].as_f64().context("y")? + 20.0,
    );
    let mut menu_client = TestClient::connect(&comp.socket_path())?;
    menu_client.watch_seat()?;
    let menu = menu_client.launcher_with(KeyboardInteractivity::OnDemand)?;
    wait_for(Duration::from_secs(5), "the menu's focus", || {
        menu_client.roundtrip().ok()?;
        (menu_client.state.seat.keyboard_focus.as_ref() == Some(&menu.surface)).then_some(())
    })?;
    // Unlike an exclusive one, it lets a click give the keyboard to the window.
    comp.input(json!({"action": "pointer-move", "x": x, "y": y}))?;
    comp.input(json!({"action": "click", "button": "left"}))?;
    wait_for(Duration::from_secs(5), "the editor's focus", || {
        app.roundtrip().ok()?;
        (app.state.seat.keyboard_focus.as_ref() == Some(&window.surface)).then_some(())
    })?;
    comp.input(json!({"action": "key", "combo": "a"}))?;
    app.roundtrip()?;
    assert_eq!(app.state.seat.pressed, vec![KEY_A]);
    Ok(())
}
