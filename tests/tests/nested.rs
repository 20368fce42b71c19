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
    xvfb_with(&[])
}

/// [`xvfb`] with more arguments.
fn xvfb_with(extra: &[&str]) -> Result<(Xvfb, String)> {
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
        .args(extra)
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

/// Xvfb's screen as its -fbdir file shows it (XWD: a header, a colour map, then rows),
/// read at (x, y): what the nested compositor really drew into its host window.
fn xvfb_pixel(fbdir: &std::path::Path, x: u32, y: u32) -> Result<[u8; 3]> {
    let data = std::fs::read(fbdir.join("Xvfb_screen0"))?;
    let word = |at: usize, big: bool| -> Result<u32> {
        let b: [u8; 4] = data
            .get(at..at + 4)
            .context("short XWD file")?
            .try_into()
            .context("XWD word")?;
        Ok(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    // The header's own size tells its byte order (it is well under 64 KiB).
    let big = word(0, true)? < 65536;
    let header = word(0, big)? as usize;
    let (byte_order, bpp, stride) = (word(28, big)?, word(44, big)?, word(48, big)? as usize);
    let colours = word(76, big)? as usize;
    anyhow::ensure!(bpp == 32, "Xvfb screen at {bpp} bits a pixel");
    let at = header + colours * 12 + y as usize * stride + x as usize * 4;
    let p = word(at, byte_order == 1)?;
    let (r, g, b) = (word(56, big)?, word(60, big)?, word(64, big)?);
    let channel = |mask: u32| ((p & mask) >> mask.trailing_zeros()) as u8;
    Ok([channel(r), channel(g), channel(b)])
}

/// A PQ client on the nested output (its host is SDR): the host window shows what
/// ghost-hdr's reference makes of its numbers in sRGB, and so does the screenshot.
#[test]
fn nested_converts_a_pq_client_to_the_hosts_srgb() -> Result<()> {
    use ghost_hdr::{ImageDescription, Pipeline};
    let fbdir = std::env::temp_dir().join(format!("ghost-xvfb-fb-{}", std::process::id()));
    std::fs::create_dir_all(&fbdir)?;
    let (_x, display) = xvfb_with(&["-fbdir", &fbdir.to_string_lossy()])?;
    let comp = Compositor::start_nested(&display)?;
    let outputs = comp.request(json!({"request": "outputs"}))?;
    assert_eq!(
        outputs[0]["colour"]["surfaces_converted"], true,
        "{outputs:#}"
    );
    let mut client = TestClient::connect(&comp.socket_path())?;
    let manager = client.color_manager()?;
    let description = client.pq_description(&manager)?;
    const COLOUR: u32 = 0xffc0_6030;
    let mut window = client.color_window("org.ghostnv.pq", 120, 80, &[COLOUR])?;
    let _surface = client.set_surface_description(&manager, &window, &description);
    client.commit_next(&mut window, false)?;
    client.roundtrip()?;
    let info = comp.wait_window("org.ghostnv.pq")?;
    let (x, y) = (
        info["geometry"]["x"].as_u64().unwrap_or(0) as u32 + 8,
        info["geometry"]["y"].as_u64().unwrap_or(0) as u32 + 8,
    );
    let srgb = ImageDescription::srgb();
    let signal = [192.0, 96.0, 48.0].map(|v: f64| v / 255.0);
    let want = Pipeline::encode(&srgb)
        .apply(Pipeline::decode(&ImageDescription::bt2100_pq(), &srgb).apply(signal))
        .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8);
    let near = |p: [u8; 3]| p.iter().zip(want).all(|(a, b)| a.abs_diff(b) <= 2);
    assert!(!near([192, 96, 48]), "the conversion is visible: {want:?}");
    wait_for(
        Duration::from_secs(20),
        "the converted client on the host",
        || near(xvfb_pixel(&fbdir, x, y).ok()?).then_some(()),
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "{e}: host shows {:?}, want {want:?}",
            xvfb_pixel(&fbdir, x, y)
        )
    })?;
    let shot = comp.screenshot(json!({}))?;
    assert!(
        near(shot.pixel(x, y)),
        "screenshot {:?}, want {want:?}",
        shot.pixel(x, y)
    );
    let _ = std::fs::remove_dir_all(&fbdir);
    Ok(())
}
