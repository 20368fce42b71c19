//! Keyboard shortcuts inhibition (a remote desktop viewer or a VM taking every key): a
//! program the user started gets it, a sandboxed one only where a window rule says so.

use std::time::Duration;

use anyhow::{Context, Result};
use ghost_tests::{client::TestClient, wait_for, Compositor};
use serde_json::json;

/// Evdev code of Q.
const KEY_Q: u32 = 16;

/// Maps a window of `client` as `app_id`, clicks it, and asks to inhibit shortcuts;
/// returns whether the compositor granted it, and the window.
fn ask(
    comp: &Compositor,
    client: &mut TestClient,
    app_id: &str,
) -> Result<(bool, ghost_tests::client::ColorWindow)> {
    let seat = client.watch_seat()?;
    let window = client.color_window(app_id, 300, 200, &[0xff40_4040])?;
    let g = comp.wait_window(app_id)?["geometry"].clone();
    let (x, y) = (
        g["x"].as_f64().context("x")? + 150.0,
        g["y"].as_f64().context("y")? + 100.0,
    );
    comp.input(json!({"action": "pointer-move", "x": x, "y": y}))?;
    comp.input(json!({"action": "click", "button": "left"}))?;
    wait_for(Duration::from_secs(5), "keyboard focus", || {
        client.roundtrip().ok()?;
        (client.state.seat.keyboard_focus.as_ref() == Some(&window.surface)).then_some(())
    })?;
    // Dropping the proxy does not destroy the inhibitor: it stays for the test.
    client.inhibit_shortcuts(&window.surface, &seat)?;
    client.roundtrip()?;
    Ok((client.state.shortcuts_inhibited == Some(true), window))
}

#[test]
fn a_vm_viewer_gets_every_key_and_a_sandboxed_app_only_by_a_window_rule() -> Result<()> {
    let home = std::env::temp_dir().join(format!("ghost-inhibit-{}", std::process::id()));
    std::fs::create_dir_all(home.join("ghostcomp"))?;
    std::fs::write(
        home.join("ghostcomp/config.toml"),
        "[[window_rule]]\napp_id = \"^trusted-vm$\"\ninhibit_shortcuts = true\n",
    )?;
    let comp = Compositor::start_with_config_home(&[], &home)?;

    // A program the user started: granted, and Super+q (close) reaches it as keys.
    let mut viewer = TestClient::connect(&comp.socket_path())?;
    let (granted, _window) = ask(&comp, &mut viewer, "viewer")?;
    assert!(granted, "a program the user started may take every key");
    comp.input(json!({"action": "key", "combo": "Super+q"}))?;
    viewer.roundtrip()?;
    assert!(
        viewer.state.seat.pressed.contains(&KEY_Q),
        "{:?}",
        viewer.state.seat.pressed
    );
    assert!(!viewer.state_closed(), "the close binding did not act");

    // Sandboxed apps: refused, unless a window rule grants it.
    let mut engine = TestClient::connect(&comp.socket_path())?;
    for (app_id, expected) in [("sandboxed-app", false), ("trusted-vm", true)] {
        let socket = comp.runtime_dir().join(format!("sandbox-{app_id}"));
        let (_listener, _close) = engine.create_security_context(&socket, app_id)?;
        let mut sandboxed = TestClient::connect(&socket)?;
        let (granted, _window) = ask(&comp, &mut sandboxed, app_id)?;
        assert_eq!(granted, expected, "{app_id}");
    }
    let _ = std::fs::remove_dir_all(&home);
    Ok(())
}
