//! End to end: where windows go. A new window takes the spot where it hides least of
//! the others; Super+Left/Right snap the focused window to a half and back; dropping a
//! window dragged by its title bar against an edge snaps it there.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use ghost_tests::{client::TestClient, wait_for, Compositor};
use serde_json::{json, Value};

fn rect(w: &Value) -> Result<(i64, i64, i64, i64)> {
    let g = &w["geometry"];
    Ok((
        g["x"].as_i64().context("x")?,
        g["y"].as_i64().context("y")?,
        g["width"].as_i64().context("w")?,
        g["height"].as_i64().context("h")?,
    ))
}

fn overlap(a: (i64, i64, i64, i64), b: (i64, i64, i64, i64)) -> i64 {
    let w = (a.0 + a.2).min(b.0 + b.2) - a.0.max(b.0);
    let h = (a.1 + a.3).min(b.1 + b.3) - a.1.max(b.1);
    w.max(0) * h.max(0)
}

#[test]
fn a_new_window_opens_where_it_hides_least_of_the_others() -> Result<()> {
    let comp = Compositor::start(&["--output", "1920x1080@60"])?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    let _small = client.color_window("small", 300, 200, &[0xff_c0_30_30])?;
    let small = rect(&comp.wait_window("small")?)?;
    ensure!(
        small == (810, 440, 300, 200),
        "the first window is centred: {small:?}"
    );
    // A bigger one: centred (or cascaded from the centre) it would hide the first.
    let _big = client.color_window("big", 800, 600, &[0xff_30_30_c0])?;
    let big = rect(&comp.wait_window("big")?)?;
    ensure!(
        overlap(small, big) == 0,
        "the small window stays visible: {small:?} {big:?}"
    );
    // The small one is still on screen, red.
    let shot = comp.screenshot(json!({}))?;
    ensure!(
        shot.pixel(960, 540) == [0xc0, 0x30, 0x30],
        "{:?}",
        shot.pixel(960, 540)
    );
    Ok(())
}

#[test]
fn super_left_snaps_to_the_left_half_and_again_puts_it_back() -> Result<()> {
    let comp = Compositor::start(&["--output", "1280x720@60"])?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    let _w = client.color_window("snap", 400, 300, &[0xff_30_a0_30])?;
    let before = rect(&comp.wait_window("snap")?)?;
    comp.input(json!({"action": "key", "combo": "Super+Left"}))?;
    wait_for(
        Duration::from_secs(5),
        "a configure for the left half",
        || {
            client.roundtrip().ok()?;
            let ((w, h), _) = client.state.toplevel_configure.clone()?;
            ((w, h) == (640, 720)).then_some(())
        },
    )?;
    let snapped = rect(&comp.wait_window("snap")?)?;
    ensure!(
        (snapped.0, snapped.1) == (0, 0),
        "at the left edge: {snapped:?}"
    );
    comp.input(json!({"action": "key", "combo": "Super+Right"}))?;
    wait_for(Duration::from_secs(5), "the right half", || {
        client.roundtrip().ok()?;
        let w = comp
            .windows()
            .ok()?
            .into_iter()
            .find(|w| w["app_id"] == "snap")?;
        (w["geometry"]["x"] == 640).then_some(())
    })?;
    // The same snap again: back where it was.
    comp.input(json!({"action": "key", "combo": "Super+Right"}))?;
    wait_for(
        Duration::from_secs(5),
        "the window back in its place",
        || {
            client.roundtrip().ok()?;
            let w = comp
                .windows()
                .ok()?
                .into_iter()
                .find(|w| w["app_id"] == "snap")?;
            let r = rect(&w).ok()?;
            ((r.0, r.1) == (before.0, before.1)).then_some(())
        },
    )?;
    Ok(())
}

#[test]
fn a_window_dropped_against_an_edge_snaps_there() -> Result<()> {
    let comp = Compositor::start(&["--output", "1280x720@60"])?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    let w = client.color_window("drag", 400, 300, &[0xff_30_30_a0])?;
    client.request_decorations(&w, true)?;
    wait_for(Duration::from_secs(5), "the title bar", || {
        let w = comp
            .windows()
            .ok()?
            .into_iter()
            .find(|w| w["app_id"] == "drag")?;
        (w["server_side_decorations"] == true).then_some(())
    })?;
    let (x, y, _, _) = rect(&comp.wait_window("drag")?)?;
    // Grab the title bar (24 px above the window), drag to the right edge, drop.
    comp.input(json!({"action": "pointer-move", "x": x + 100, "y": y - 12}))?;
    comp.input(json!({"action": "press", "button": "left"}))?;
    comp.input(json!({"action": "pointer-move", "x": 900.0, "y": 300.0}))?;
    comp.input(json!({"action": "pointer-move", "x": 1279.0, "y": 360.0}))?;
    comp.input(json!({"action": "release", "button": "left"}))?;
    wait_for(
        Duration::from_secs(5),
        "a configure for the right half",
        || {
            client.roundtrip().ok()?;
            let ((w, h), _) = client.state.toplevel_configure.clone()?;
            // The title bar takes its height from the half.
            ((w, h) == (640, 720 - 24)).then_some(())
        },
    )?;
    let r = rect(&comp.wait_window("drag")?)?;
    ensure!(
        (r.0, r.1) == (640, 24),
        "in the right half below its bar: {r:?}"
    );
    Ok(())
}
