//! End to end: a drawing tablet's pen (the headless backend's synthetic tablet, driven as
//! libinput's tablet tools are) reaches the window under it through zwp_tablet_v2 with
//! its position, pressure and contact, and touching down focuses that window.

use anyhow::{ensure, Context, Result};
use ghost_tests::{
    client::TestClient, tablet_client::ToolEvent, wayland_client::Proxy, Compositor,
};
use serde_json::json;

fn origin(comp: &Compositor, app_id: &str) -> Result<(f64, f64)> {
    let w = comp.wait_window(app_id)?;
    Ok((
        w["geometry"]["x"].as_f64().context("x")?,
        w["geometry"]["y"].as_f64().context("y")?,
    ))
}

fn focused(comp: &Compositor) -> Result<String> {
    Ok(comp
        .windows()?
        .into_iter()
        .find(|w| w["focused"] == true)
        .and_then(|w| w["app_id"].as_str().map(str::to_owned))
        .unwrap_or_default())
}

#[test]
fn a_pen_reaches_the_window_under_it_with_pressure_and_contact() -> Result<()> {
    let comp = Compositor::start(&["--output", "1280x720@60"])?;
    let mut painter = TestClient::connect(&comp.socket_path())?;
    let _tablets = painter.watch_tablets()?;
    ensure!(
        painter.state.tablet.tablets == ["ghostcomp synthetic tablet"],
        "{:?}",
        painter.state.tablet.tablets
    );
    let canvas = painter.color_window("canvas", 400, 300, &[0xff_f0_f0_f0])?;
    let (cx, cy) = origin(&comp, "canvas")?;
    // Another program opens on top and takes the keyboard.
    let mut other = TestClient::connect(&comp.socket_path())?;
    let _other = other.color_window("other", 200, 100, &[0xff_20_20_20])?;
    origin(&comp, "other")?;
    ensure!(focused(&comp)? == "other");

    // A stroke on the canvas, outside the other window: hover, touch, press harder
    // while moving, lift, leave.
    let (x0, y0) = (cx + 20.0, cy + 250.0);
    comp.input(json!({"action": "tablet-move", "x": x0, "y": y0, "pressure": 0.0}))?;
    comp.input(json!({"action": "tablet-tip", "down": true}))?;
    comp.input(json!({"action": "tablet-move", "x": x0 + 40.0, "y": y0 + 10.0, "pressure": 0.5, "tilt": [10.0, -5.0]}))?;
    comp.input(json!({"action": "tablet-tip", "down": false}))?;
    comp.input(json!({"action": "tablet-out"}))?;
    painter.roundtrip()?;
    let events = &painter.state.tablet.events;
    eprintln!("{events:?}");
    ensure!(painter.state.tablet.tools == 1, "one pen announced");
    let surface = canvas.surface.id().protocol_id();
    let find = |want: &ToolEvent| events.iter().position(|e| e == want);
    let inside = find(&ToolEvent::ProximityIn(surface)).context("the pen came to the canvas")?;
    let first = find(&ToolEvent::Motion(20.0, 250.0)).context("at the canvas's own coordinates")?;
    let down = find(&ToolEvent::Down).context("touch")?;
    let moved = find(&ToolEvent::Motion(60.0, 260.0)).context("the stroke")?;
    let half = events
        .iter()
        .position(|e| matches!(e, ToolEvent::Pressure(p) if (32_000..=33_500).contains(p)))
        .context("half pressure")?;
    let tilt = find(&ToolEvent::Tilt(10.0, -5.0)).context("tilt")?;
    let up = find(&ToolEvent::Up).context("lift")?;
    let out = find(&ToolEvent::ProximityOut).context("leave")?;
    ensure!(
        inside < first
            && first < down
            && down < moved
            && half < up
            && tilt < up
            && moved < up
            && up < out,
        "in order: {events:?}"
    );
    ensure!(events.contains(&ToolEvent::Frame), "events come in frames");
    // Touching the canvas focused it, as a click would.
    ensure!(focused(&comp)? == "canvas", "the pen's touch focuses");
    Ok(())
}

#[test]
fn a_program_that_knows_no_tablets_gets_the_pens_touch_as_a_click() -> Result<()> {
    let comp = Compositor::start(&["--output", "1280x720@60"])?;
    let mut plain = TestClient::connect(&comp.socket_path())?;
    plain.watch_seat()?;
    let _window = plain.color_window("plain", 300, 200, &[0xff_40_40_40])?;
    let (x, y) = origin(&comp, "plain")?;
    comp.input(json!({"action": "tablet-move", "x": x + 30.0, "y": y + 40.0}))?;
    comp.input(json!({"action": "tablet-tip", "down": true}))?;
    comp.input(json!({"action": "tablet-tip", "down": false}))?;
    plain.roundtrip()?;
    let seat = &plain.state.seat;
    ensure!(
        seat.pointer_at == (30.0, 40.0),
        "the pointer followed the pen: {:?}",
        seat.pointer_at
    );
    // BTN_LEFT.
    ensure!(seat.buttons == [0x110], "{:?}", seat.buttons);
    ensure!(plain.state.tablet.events.is_empty());
    Ok(())
}
