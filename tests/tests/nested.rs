//! ghostcomp nested in an X server (Xvfb), rendering with GLES on Mesa's software GL.

use std::{
    io::Read,
    process::{Command, Stdio},
    time::Duration,
};

use anyhow::{Context, Result};
use ghost_tests::{client::TestClient, require_program, wait_for, Compositor};
use serde_json::json;

struct Xvfb(std::process::Child);

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts Xvfb on a free display and returns it with its name (":N").
fn xvfb() -> Result<(Xvfb, String)> {
    require_program("Xvfb")?;
    let mut child = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "1024x768x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut out = child.stdout.take().context("Xvfb stdout")?;
    let mut number = String::new();
    let mut byte = [0u8; 1];
    while out.read(&mut byte)? == 1 && byte[0] != b'\n' {
        number.push(byte[0] as char);
    }
    Ok((Xvfb(child), format!(":{}", number.trim())))
}

#[test]
fn nested_in_x11_shows_clients_upright() -> Result<()> {
    let (_x, display) = xvfb()?;
    let comp = Compositor::start_nested(&display)?;
    let version = comp.request(json!({"request": "version"}))?;
    assert_eq!(version["backend"], "winit");
    let outputs = comp.request(json!({"request": "outputs"}))?;
    assert_eq!(outputs[0]["name"], "WINIT-1");
    let (w, h) = (
        outputs[0]["current_mode"]["width"].as_u64().unwrap_or(0) as u32,
        outputs[0]["current_mode"]["height"].as_u64().unwrap_or(0) as u32,
    );
    assert!(w > 0 && h > 0);

    let mut client = TestClient::connect(&comp.socket_path())?;
    let _panel = client.top_panel(30, 30)?;
    let _window = client.color_window("org.ghostnv.nested", 200, 100, &[0xff1c8cd0])?;
    let window = comp.wait_window("org.ghostnv.nested")?;
    let (x, y) = (
        window["geometry"]["x"].as_u64().unwrap_or(0) as u32,
        window["geometry"]["y"].as_u64().unwrap_or(0) as u32,
    );
    let shot = wait_for(
        Duration::from_secs(10),
        "the window in the nested output",
        || {
            let shot = comp.screenshot(json!({})).ok()?;
            (shot.pixel(x + 100, y + 50) == [0x1c, 0x8c, 0xd0]).then_some(shot)
        },
    )?;
    assert_eq!((shot.width, shot.height), (w, h));
    // The panel is at the top, not flipped to the bottom.
    assert_eq!(shot.pixel(10, 10), [0x20, 0x30, 0x40]);
    assert_ne!(shot.pixel(10, h - 10), [0x20, 0x30, 0x40]);
    Ok(())
}

#[test]
fn input_injection_is_refused_outside_the_headless_backend() -> Result<()> {
    let (_x, display) = xvfb()?;
    let comp = Compositor::start_nested(&display)?;
    let reply = comp.raw_request(r#"{"request":"input","action":"type","text":"x"}"#)?;
    assert_eq!(reply["ok"], false);
    assert!(reply["error"]
        .as_str()
        .unwrap_or_default()
        .contains("headless"));
    Ok(())
}
