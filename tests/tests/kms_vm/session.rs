//! The session: through seatd, as on a machine without logind, the compositor lets the
//! display and input go when the user switches to another virtual terminal, keeps its
//! hands off while another program drives the display there, and takes everything back
//! (mode, planes, picture, input) when the user comes back.

use std::{
    fs::File,
    num::NonZeroU32,
    os::fd::AsFd,
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::{bail, Context, Result};
use drm::{
    buffer::DrmFourcc,
    control::{connector, crtc, dumbbuffer::DumbBuffer, framebuffer, Device as ControlDevice},
    Device,
};
use evdev::Key;
use ghost_tests::{client::TestClient, wait_for, Compositor};
use serde_json::json;

use super::{
    close, config_home, devices::Devices, plane_state, point_at, writeback, writeback_until,
    BACKGROUND_RGB, WINDOW, WINDOW_RGB,
};

const SEATD_SOCKET: &str = "/run/seatd.sock";
pub(crate) const SECOND: u32 = 0xff20_60e0;
pub(crate) const SECOND_RGB: [u8; 3] = [0x20, 0x60, 0xe0];

/// seatd running as the seat's manager for the test's lifetime.
struct Seatd {
    child: Child,
    log: std::path::PathBuf,
}

impl Seatd {
    fn start() -> Result<Self> {
        std::fs::create_dir_all("/run")?;
        let _ = std::fs::remove_file(SEATD_SOCKET);
        let log = std::env::temp_dir().join("seatd.log");
        let child = Command::new("seatd")
            .args(["-l", "debug"])
            .stdout(Stdio::null())
            .stderr(File::create(&log)?)
            .spawn()
            .context("starting seatd")?;
        let seatd = Self { child, log };
        wait_for(Duration::from_secs(10), "seatd's socket", || {
            Path::new(SEATD_SOCKET).exists().then_some(())
        })
        .map_err(|e| anyhow::anyhow!("{e}; seatd:\n{}", seatd.log()))?;
        Ok(seatd)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Seatd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Switches to virtual terminal `vt` as the program on the other terminal does when the
/// user asks it to, returning once the switch is complete (busybox `chvt` waits for it).
pub(crate) fn switch_vt(vt: u32) -> Result<()> {
    let mut chvt = Command::new("chvt").arg(vt.to_string()).spawn()?;
    let status = wait_for(Duration::from_secs(10), "the VT switch", || {
        chvt.try_wait().ok().flatten()
    });
    if status.is_err() {
        let _ = chvt.kill();
    }
    let status = status?;
    if !status.success() {
        bail!("chvt {vt}: {status}");
    }
    Ok(())
}

/// What another session on the other virtual terminal does: opens the display device
/// (becoming its master once the compositor has let go) and shows a picture of its own.
struct OtherSession {
    card: Card,
    buffer: Option<DumbBuffer>,
    fb: framebuffer::Handle,
}

struct Card(File);

impl AsFd for Card {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl Device for Card {}
impl ControlDevice for Card {}

fn handle(id: &serde_json::Value) -> Result<NonZeroU32> {
    id.as_u64()
        .and_then(|id| NonZeroU32::new(id as u32))
        .with_context(|| format!("an object id, not {id}"))
}

impl OtherSession {
    /// Lights `output` (an entry of `msg outputs`) with a full-screen `color`.
    fn light(output: &serde_json::Value, color: u32) -> Result<Self> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/dri/card0")?;
        let card = Card(file);
        let crtc = crtc::Handle::from(handle(&output["kms"]["crtc"])?);
        let connector = connector::Handle::from(handle(&output["kms"]["connector"])?);
        let (width, height) = (
            output["current_mode"]["width"].as_u64().unwrap_or(0) as u16,
            output["current_mode"]["height"].as_u64().unwrap_or(0) as u16,
        );
        let info = card.get_connector(connector, false)?;
        let mode = *info
            .modes()
            .iter()
            .find(|m| m.size() == (width, height))
            .context("the output's mode among the connector's")?;
        let mut buffer = card.create_dumb_buffer(
            (u32::from(width), u32::from(height)),
            DrmFourcc::Xrgb8888,
            32,
        )?;
        {
            let mut map = card.map_dumb_buffer(&mut buffer)?;
            for px in map.as_mut().chunks_exact_mut(4) {
                px.copy_from_slice(&color.to_le_bytes());
            }
        }
        let fb = card.add_framebuffer(&buffer, 24, 32)?;
        let session = Self {
            card,
            buffer: Some(buffer),
            fb,
        };
        session
            .card
            .set_crtc(crtc, Some(fb), (0, 0), &[connector], Some(mode))
            .context("lighting the display from the other terminal")?;
        Ok(session)
    }
}

impl Drop for OtherSession {
    fn drop(&mut self) {
        let _ = self.card.destroy_framebuffer(self.fb);
        if let Some(buffer) = self.buffer.take() {
            let _ = self.card.destroy_dumb_buffer(buffer);
        }
    }
}

/// Waits until `client` has received a press of `key`.
pub(crate) fn typed(client: &mut TestClient, key: Key, what: &str) -> Result<()> {
    wait_for(Duration::from_secs(10), what, || {
        client.roundtrip().ok()?;
        client
            .state
            .seat
            .pressed
            .contains(&u32::from(key.code()))
            .then_some(())
    })
}

#[test]
#[ignore = "needs a KMS device and root: run scripts/kms-vm-test.sh"]
fn kms_vt_switch_hands_the_display_over_and_takes_it_back() -> Result<()> {
    let mut devices = Devices::create()?;
    let seatd = Seatd::start()?;
    // Drawn by GLES into GBM buffers: the swapchain has to survive the device going
    // to another master and coming back.
    let comp = Compositor::start_kms_on_seatd(&config_home("vt", "")?, &["--renderer", "gles"])
        .map_err(|e| anyhow::anyhow!("{e}; seatd:\n{}", seatd.log()))?;
    let outputs = |comp: &Compositor| comp.request(json!({"request": "outputs"}));
    let output = outputs(&comp)?[0].clone();
    assert_eq!(output["kms"]["session_active"], true, "{output:#}");
    assert_eq!(output["kms"]["renderer"], "gles", "{output:#}");

    let mut client = TestClient::connect(&comp.socket_path())?;
    client.watch_seat()?;
    let mut window = client.color_window("kms-vt", 300, 200, &[WINDOW, SECOND])?;
    let info = comp.wait_window("kms-vt")?;
    let centre = (
        (info["geometry"]["x"].as_i64().unwrap_or(0) + 150) as u32,
        (info["geometry"]["y"].as_i64().unwrap_or(0) + 100) as u32,
    );
    let mapped = std::time::Instant::now();
    writeback_until(&comp, "the window", |f| {
        close(f.pixel(centre.0, centre.1), WINDOW_RGB)
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", comp.log()))?;
    eprintln!(
        "the window on screen {:?} after it was mapped",
        mapped.elapsed()
    );

    devices.tap(Key::KEY_H)?;
    typed(&mut client, Key::KEY_H, "a key typed before the switch")
        .map_err(|e| anyhow::anyhow!("{e}; log:\n{}\nseatd:\n{}", comp.log(), seatd.log()))?;

    // Away with Ctrl+Alt+F2: the compositor lets go of the display and stops
    // committing.
    devices.chord(&[Key::KEY_LEFTCTRL, Key::KEY_LEFTALT, Key::KEY_F2])?;
    wait_for(Duration::from_secs(10), "the session paused", || {
        (outputs(&comp).ok()?[0]["kms"]["session_active"] == false).then_some(())
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}\nseatd:\n{}", comp.log(), seatd.log()))?;
    let other = OtherSession::light(&output, 0xff10_a040)
        .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", comp.log()))?;
    let presented = |v: &serde_json::Value| v[0]["frames"]["presented"].as_u64().unwrap_or(0);
    let before = presented(&outputs(&comp)?);
    // The window changes meanwhile; nothing of it reaches the display.
    client.commit_next(&mut window, false)?;
    client.roundtrip()?;
    std::thread::sleep(Duration::from_millis(500));
    let primary = output["kms"]["primary_plane"].as_u64().unwrap_or(0);
    let state = plane_state(primary)?;
    assert!(
        state.contains(&format!("fb={}", u32::from(other.fb))),
        "the other terminal's picture left the screen:\n{state}"
    );
    assert_eq!(
        presented(&outputs(&comp)?),
        before,
        "the compositor committed while away"
    );
    assert!(writeback(&comp).is_err(), "a writeback capture while away");

    // The other session ends (its framebuffer goes, and the display with it), the user
    // comes back: the compositor relights the display with the desktop as it is now.
    drop(other);
    switch_vt(1).map_err(|e| anyhow::anyhow!("{e}; seatd:\n{}", seatd.log()))?;
    wait_for(Duration::from_secs(10), "the session active again", || {
        (outputs(&comp).ok()?[0]["kms"]["session_active"] == true).then_some(())
    })?;
    let frame = writeback_until(&comp, "the desktop after coming back", |f| {
        close(f.pixel(centre.0, centre.1), SECOND_RGB)
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", comp.log()))?;
    assert!(close(
        frame.pixel(frame.width - 3, frame.height - 3),
        BACKGROUND_RGB
    ));
    let back = outputs(&comp)?;
    assert_eq!(back[0]["kms"]["gpu_buffer_on_screen"], true, "{back:#}");

    // Input was handed back too: the pointer reaches the window and a key is typed.
    point_at(
        &mut devices,
        &comp,
        &mut client,
        &window.surface,
        (centre.0 as i32, centre.1 as i32),
    )?;
    devices.click()?;
    wait_for(
        Duration::from_secs(10),
        "keyboard focus after the click",
        || {
            client.roundtrip().ok()?;
            (client.state.seat.keyboard_focus.as_ref() == Some(&window.surface)).then_some(())
        },
    )
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", comp.log()))?;
    devices.tap(Key::KEY_A)?;
    typed(&mut client, Key::KEY_A, "a key typed after coming back")
        .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", comp.log()))?;
    drop(window);
    Ok(())
}
