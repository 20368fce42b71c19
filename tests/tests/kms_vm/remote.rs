//! Remote control on a real display: input a remote peer sends through a granted
//! control (what the RemoteDesktop portal and libei clients send) takes the seat's path
//! on KMS as on headless: the pointer moves to a desktop position, a click focuses the
//! window there, keys reach it, and the amber indicator is scanned out until the grant
//! is revoked.

use std::time::Duration;

use anyhow::Result;
use ghost_tests::{client::TestClient, wait_for};
use serde_json::json;

use super::{close, start, writeback_until, WINDOW};

const AMBER: [u8; 3] = [0xff, 0xa6, 0x00];

#[test]
#[ignore = "needs a KMS device and root: run scripts/kms-vm-test.sh"]
fn kms_remote_control_input_reaches_the_window_and_the_indicator_is_scanned_out() -> Result<()> {
    let comp = start("remote", "")?;
    let outputs = comp.request(json!({"request": "outputs"}))?;
    let width = outputs[0]["current_mode"]["width"].as_u64().unwrap_or(0) as u32;
    let mut client = TestClient::connect(&comp.socket_path())?;
    client.watch_seat()?;
    let window = client.color_window("kms-remote", 300, 200, &[WINDOW])?;
    let info = comp.wait_window("kms-remote")?;
    let (wx, wy) = (
        info["geometry"]["x"].as_f64().unwrap_or(0.0),
        info["geometry"]["y"].as_f64().unwrap_or(0.0),
    );
    let granted = comp.request(json!({"request": "remote-start", "app_id": "vm", "devices": 3}))?;
    let id = granted["id"].as_u64().unwrap_or(0);
    let send = |event: serde_json::Value| {
        comp.request(json!({"request": "remote-input", "id": id, "event": event}))
    };
    send(json!({"event": "pointer-motion-absolute", "x": wx + 150.0, "y": wy + 100.0}))?;
    send(json!({"event": "pointer-button", "button": 0x110, "pressed": true}))?;
    send(json!({"event": "pointer-button", "button": 0x110, "pressed": false}))?;
    for key in [35, 23] {
        send(json!({"event": "keyboard-keycode", "keycode": key, "pressed": true}))?;
        send(json!({"event": "keyboard-keycode", "keycode": key, "pressed": false}))?;
    }
    wait_for(Duration::from_secs(10), "the click, focus and keys", || {
        client.roundtrip().ok()?;
        let s = &client.state.seat;
        let (px, py) = s.pointer_at;
        ((px - 150.0).abs() <= 1.0
            && (py - 100.0).abs() <= 1.0
            && s.buttons.contains(&0x110)
            && s.keyboard_focus.as_ref() == Some(&window.surface)
            && s.pressed == [35, 23])
        .then_some(())
    })?;
    // The indicator: an amber square two places from the top-right corner (10 px at
    // scale 1, a margin as wide), on the display itself.
    let dot = (width - 35, 15);
    writeback_until(&comp, "the remote-control indicator", |f| {
        close(f.pixel(dot.0, dot.1), AMBER)
    })?;
    comp.request(json!({"request": "remote-revoke"}))?;
    writeback_until(&comp, "the indicator gone", |f| {
        !close(f.pixel(dot.0, dot.1), AMBER)
    })?;
    // A revoked grant's input goes nowhere.
    let refused = send(json!({"event": "keyboard-keycode", "keycode": 30, "pressed": true}));
    anyhow::ensure!(refused.is_err(), "input after the revocation was taken");
    drop(window);
    Ok(())
}
