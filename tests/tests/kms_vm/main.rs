//! ghostcomp on a real kernel DRM driver: vkms in the test VM (`scripts/kms-vm-test.sh`
//! runs these with `--ignored`, as root, with ghostcomp and wlr-randr bundled in).
//! Input comes from uinput devices the test creates, through libinput, and pictures
//! come back through the device's writeback connector: what the display engine
//! really scanned out.
//!
//! One boot runs them all; they are grouped by what they exercise: the desktop and its
//! input devices, the display itself (modes, pacing, hotplug), frames drawn by GLES
//! into GBM buffers, client buffers on planes, capture into device buffers, screen
//! casts through PipeWire, remote control, and attacks by hostile clients.

mod capture;
mod casts;
mod desktop;
mod devices;
mod display;
mod gles;
mod hostile;
mod linux612;
mod logind;
mod planes;
mod remote;
mod session;
mod telemetry;

use std::{
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use ghost_tests::{client::TestClient, wait_for, Compositor, Image};
use serde_json::json;
use wayland_client::protocol::wl_surface::WlSurface;

const WINDOW: u32 = 0xffe0_3020;
const WINDOW_RGB: [u8; 3] = [0xe0, 0x30, 0x20];
/// CLEAR_COLOR in 8-bit sRGB.
const BACKGROUND_RGB: [u8; 3] = [18, 20, 26];

fn close(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 2)
}

/// ghostcomp on vkms, with a config folder of its own named after `name`: flat
/// pointer acceleration (so uinput deltas are pixels) and `extra` settings.
fn start(name: &str, extra: &str) -> Result<Compositor> {
    Compositor::start_kms(&config_home(name, extra)?)
}

/// Moves the uinput mouse to the top-left corner (the pointer stops at the edge), then
/// by `to` onto `surface`, and waits until `client` has the pointer there.
fn point_at(
    devices: &mut devices::Devices,
    comp: &Compositor,
    client: &mut TestClient,
    surface: &WlSurface,
    to: (i32, i32),
) -> Result<()> {
    devices.move_by(-4000, -4000)?;
    devices.move_by(to.0, to.1)?;
    input_handled(comp)?;
    wait_for(Duration::from_secs(10), "the pointer on the window", || {
        client.roundtrip().ok()?;
        (client.state.seat.pointer_focus.as_ref() == Some(surface)).then_some(())
    })
}

/// A config folder named after `name` with flat pointer acceleration and `extra`.
fn config_home(name: &str, extra: &str) -> Result<std::path::PathBuf> {
    assert!(kms_node_present(), "no /dev/dri/card0");
    let scratch = std::env::temp_dir().join(format!("ghost-kms-{name}-{}", std::process::id()));
    let home = scratch.join("config");
    std::fs::create_dir_all(home.join("ghostcomp"))?;
    std::fs::write(
        home.join("ghostcomp/config.toml"),
        format!("[input]\naccel_profile = \"flat\"\naccel_speed = 0.0\n{extra}"),
    )?;
    Ok(home)
}

/// Returns once the compositor has handled every input event sent before the call.
///
/// An event written to uinput is readable on the compositor's device before the write
/// returns; one request may be answered earlier in the same loop iteration that reads
/// it, but by the third request's answer that iteration is over.
fn input_handled(comp: &Compositor) -> Result<()> {
    for _ in 0..3 {
        comp.request(json!({"request": "version"}))?;
    }
    Ok(())
}

/// Whether the kernel's atomic state (debugfs) has the first CRTC active.
fn crtc_active() -> Result<bool> {
    let state = std::fs::read_to_string("/sys/kernel/debug/dri/0/state")
        .context("reading the kernel's atomic state (debugfs)")?;
    let crtc = &state[state.find("crtc[").context("a CRTC in the state")?..];
    let line = crtc
        .lines()
        .find(|l| l.trim_start().starts_with("active="))
        .context("the CRTC's active line")?;
    Ok(line.trim() == "active=1")
}

/// The lines of the kernel's atomic state that describe plane `id`.
fn plane_state(id: u64) -> Result<String> {
    let state = std::fs::read_to_string("/sys/kernel/debug/dri/0/state")
        .context("reading the kernel's atomic state (debugfs)")?;
    let start = state
        .find(&format!("plane[{id}]"))
        .with_context(|| format!("plane {id} in the kernel's state:\n{state}"))?;
    let block = &state[start..];
    let end = block[1..].find("plane[").map_or(block.len(), |e| e + 1);
    let end = end.min(block.find("crtc[").unwrap_or(block.len()));
    Ok(block[..end].to_owned())
}

fn writeback(comp: &Compositor) -> Result<Image> {
    comp.screenshot(json!({"writeback": true}))
}

/// Takes writeback frames until `check` accepts one (frames land a vblank or two after
/// the input that changed them).
fn writeback_until(
    comp: &Compositor,
    what: &str,
    mut check: impl FnMut(&Image) -> bool,
) -> Result<Image> {
    // Generous: the first frames drawn by llvmpipe under emulation compile its shaders.
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let frame = writeback(comp)?;
        if check(&frame) {
            return Ok(frame);
        }
        if Instant::now() > end {
            bail!("the scanned-out frame never showed {what}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Switches Virtual-1 to vkms's 800x600 mode through wlr-output-management (wlr-randr)
/// and returns the first writeback frame of that size.
fn switch_to_800x600(comp: &Compositor) -> Result<Image> {
    ghost_tests::require_program("wlr-randr")?;
    let out = comp
        .command("wlr-randr")
        .args(["--output", "Virtual-1", "--mode", "800x600@60.317Hz"])
        .output()?;
    if !out.status.success() {
        bail!("wlr-randr failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    writeback_until(comp, "the 800x600 mode", |f| {
        (f.width, f.height) == (800, 600)
    })
}

fn kms_node_present() -> bool {
    Path::new("/dev/dri/card0").exists()
}
