//! ghostcomp on a real kernel DRM driver: vkms in the test VM (`scripts/kms-vm-test.sh`
//! runs these with `--ignored`, as root, with ghostcomp and wlr-randr bundled in).
//! Input comes from uinput devices the test creates, through libinput, and pictures
//! come back through the device's writeback connector: what the display engine
//! really scanned out.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use evdev::{
    uinput::{VirtualDevice, VirtualDeviceBuilder},
    AbsInfo, AbsoluteAxisType, AttributeSet, EventType, InputEvent, Key, PropType,
    RelativeAxisType, UinputAbsSetup,
};
use ghost_tests::{client::TestClient, wait_for, Compositor, Image};
use serde_json::json;
use wayland_protocols::wp::color_management::v1::client::wp_color_manager_v1::{
    Primaries, TransferFunction,
};

const WINDOW: u32 = 0xffe0_3020;
const WINDOW_RGB: [u8; 3] = [0xe0, 0x30, 0x20];
/// CLEAR_COLOR in 8-bit sRGB.
const BACKGROUND_RGB: [u8; 3] = [18, 20, 26];

fn close(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 2)
}

/// Stands in for udev's input_id builtin, which the VM does not run: libinput only
/// takes devices udev initialised and tagged.
fn register_with_udev(device: &mut VirtualDevice, kinds: &[&str]) -> Result<PathBuf> {
    let node = device
        .enumerate_dev_nodes_blocking()?
        .filter_map(Result::ok)
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("event"))
        })
        .context("the uinput device has no event node")?;
    let rdev = std::os::unix::fs::MetadataExt::rdev(&std::fs::metadata(&node)?);
    let (major, minor) = (rustix::fs::major(rdev), rustix::fs::minor(rdev));
    std::fs::create_dir_all("/run/udev/data")?;
    let mut db = String::from("I:1\nE:ID_INPUT=1\n");
    for kind in kinds {
        db.push_str(&format!("E:ID_INPUT_{kind}=1\n"));
    }
    std::fs::write(format!("/run/udev/data/c{major}:{minor}"), db)?;
    Ok(node)
}

struct Devices {
    keyboard: VirtualDevice,
    mouse: VirtualDevice,
}

impl Devices {
    fn create() -> Result<Self> {
        let mut keys = AttributeSet::<Key>::new();
        for k in [
            Key::KEY_H,
            Key::KEY_I,
            Key::KEY_A,
            Key::KEY_LEFTCTRL,
            Key::KEY_LEFTALT,
            Key::KEY_LEFTSHIFT,
            Key::KEY_ENTER,
        ] {
            keys.insert(k);
        }
        let mut keyboard = VirtualDeviceBuilder::new()?
            .name("ghost test keyboard")
            .with_keys(&keys)?
            .build()?;
        let mut buttons = AttributeSet::<Key>::new();
        buttons.insert(Key::BTN_LEFT);
        buttons.insert(Key::BTN_RIGHT);
        let mut axes = AttributeSet::<RelativeAxisType>::new();
        axes.insert(RelativeAxisType::REL_X);
        axes.insert(RelativeAxisType::REL_Y);
        let mut mouse = VirtualDeviceBuilder::new()?
            .name("ghost test mouse")
            .with_keys(&buttons)?
            .with_relative_axes(&axes)?
            .build()?;
        register_with_udev(&mut keyboard, &["KEYBOARD", "KEY"])?;
        register_with_udev(&mut mouse, &["MOUSE"])?;
        Ok(Self { keyboard, mouse })
    }

    /// Moves the pointer by (dx, dy) in steps a real mouse would send.
    fn move_by(&mut self, mut dx: i32, mut dy: i32) -> Result<()> {
        while dx != 0 || dy != 0 {
            let sx = dx.clamp(-40, 40);
            let sy = dy.clamp(-40, 40);
            self.mouse.emit(&[
                InputEvent::new(EventType::RELATIVE, RelativeAxisType::REL_X.0, sx),
                InputEvent::new(EventType::RELATIVE, RelativeAxisType::REL_Y.0, sy),
            ])?;
            dx -= sx;
            dy -= sy;
            // Slow enough that the kernel's per-client event buffer never overflows
            // while the compositor is busy (a real mouse sends at most every 1-8 ms,
            // but moves a few pixels, not 40).
            std::thread::sleep(Duration::from_millis(12));
        }
        Ok(())
    }

    fn click(&mut self) -> Result<()> {
        for value in [1, 0] {
            self.mouse
                .emit(&[InputEvent::new(EventType::KEY, Key::BTN_LEFT.code(), value)])?;
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    fn tap(&mut self, key: Key) -> Result<()> {
        for value in [1, 0] {
            self.keyboard
                .emit(&[InputEvent::new(EventType::KEY, key.code(), value)])?;
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}

/// A config folder with flat pointer acceleration, so uinput deltas are pixels.
fn config_home(dir: &Path) -> Result<PathBuf> {
    config_home_with(dir, "")
}

/// [`config_home`] with more settings appended.
fn config_home_with(dir: &Path, extra: &str) -> Result<PathBuf> {
    let home = dir.join("config");
    std::fs::create_dir_all(home.join("ghostcomp"))?;
    std::fs::write(
        home.join("ghostcomp/config.toml"),
        format!("[input]\naccel_profile = \"flat\"\naccel_speed = 0.0\n{extra}"),
    )?;
    Ok(home)
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
    let end = Instant::now() + Duration::from_secs(20);
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

fn kms_node_present() -> bool {
    Path::new("/dev/dri/card0").exists()
}

#[test]
#[ignore = "needs a KMS device and root: run scripts/kms-vm-test.sh"]
fn kms_desktop_shows_window_and_cursor_and_takes_real_input() -> Result<()> {
    assert!(kms_node_present(), "no /dev/dri/card0");
    let started = Instant::now();
    let mut devices = Devices::create()?;
    let scratch = std::env::temp_dir().join(format!("ghost-kms-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let comp = Compositor::start_kms(&config_home(&scratch)?)?;
    eprintln!("ghostcomp up on KMS after {:?}", started.elapsed());
    let outputs = comp.request(json!({"request": "outputs"}))?;
    let output = &outputs[0];
    assert_eq!(output["name"], "Virtual-1", "{outputs:#}");
    assert_eq!(output["kms"]["driver"], "vkms", "{outputs:#}");
    let (width, height) = (
        output["current_mode"]["width"].as_u64().unwrap_or(0) as u32,
        output["current_mode"]["height"].as_u64().unwrap_or(0) as u32,
    );

    // A window of a known colour appears where IPC says it is.
    let mut client = TestClient::connect(&comp.socket_path())?;
    client.watch_seat()?;
    let window = client.color_window("kms-test", 300, 200, &[WINDOW])?;
    let info = comp.wait_window("kms-test")?;
    let geo = &info["geometry"];
    let (wx, wy) = (
        geo["x"].as_i64().unwrap_or(0) as i32,
        geo["y"].as_i64().unwrap_or(0) as i32,
    );
    let centre = ((wx + 150) as u32, (wy + 100) as u32);
    let frame = writeback_until(&comp, "the window", |f| {
        close(f.pixel(centre.0, centre.1), WINDOW_RGB)
    })?;
    assert_eq!((frame.width, frame.height), (width, height));
    assert!(
        close(frame.pixel(width - 3, height - 3), BACKGROUND_RGB),
        "background at the bottom-right corner: {:?}",
        frame.pixel(width - 3, height - 3)
    );

    // The mouse: to the top-left corner (the pointer stops at the edge), then onto the
    // window, and a click there.
    devices.move_by(-4000, -4000)?;
    devices.move_by(centre.0 as i32, centre.1 as i32)?;
    wait_for(Duration::from_secs(10), "the pointer on the window", || {
        client.roundtrip().ok()?;
        (client.state.seat.pointer_focus.as_ref() == Some(&window.surface)).then_some(())
    })?;
    let (px, py) = client.state.seat.pointer_at;
    assert!(
        (px - 150.0).abs() <= 1.0 && (py - 100.0).abs() <= 1.0,
        "pointer at {px},{py} in the window, expected its centre"
    );
    devices.click()?;
    wait_for(
        Duration::from_secs(10),
        "the click and keyboard focus",
        || {
            client.roundtrip().ok()?;
            let s = &client.state.seat;
            (s.buttons.contains(&0x110) && s.keyboard_focus.as_ref() == Some(&window.surface))
                .then_some(())
        },
    )?;

    // Typing reaches the focused window.
    devices.tap(Key::KEY_H)?;
    devices.tap(Key::KEY_I)?;
    wait_for(Duration::from_secs(10), "typed keys", || {
        client.roundtrip().ok()?;
        (client.state.seat.pressed == [Key::KEY_H.code() as u32, Key::KEY_I.code() as u32])
            .then_some(())
    })?;

    // The pointer over the background: the arrow is drawn there, outline and fill.
    let (cx, cy) = (60u32, height - 120);
    devices.move_by(cx as i32 - centre.0 as i32, cy as i32 - centre.1 as i32)?;
    // The arrow's tip: an outline pixel with the white fill right of it five rows
    // down. Searched near the aim, so one dropped motion event does not fail the test.
    let tip = |f: &Image| -> Option<(u32, u32)> {
        (cy - 20..cy + 20).find_map(|y| {
            (cx - 20..cx + 20)
                .find(|x| {
                    close(f.pixel(*x, y + 5), [0, 0, 0])
                        && close(f.pixel(x + 1, y + 5), [255, 255, 255])
                        && close(f.pixel(*x, y), [0, 0, 0])
                        && close(f.pixel(x.saturating_sub(1), y + 5), BACKGROUND_RGB)
                })
                .map(|x| (x, y))
        })
    };
    // The moves arrive over a few frames: the arrow has stopped once two frames a
    // tenth of a second apart show it at the same place.
    let mut last: Option<(u32, u32)> = None;
    let frame = writeback_until(&comp, "the pointer still over the background", |f| {
        let now = tip(f);
        let settled = now.is_some() && now == last;
        last = now;
        settled
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", comp.log()))?;
    let (tx, ty) = tip(&frame).context("the arrow")?;
    eprintln!("arrow tip at {tx},{ty}, aimed at {cx},{cy}");
    let (cx, cy) = (tx, ty);
    // The arrow is on the cursor plane: moving it repaints nothing.
    let outputs = comp
        .request(json!({"request": "outputs"}))
        .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", comp.log()))?;
    assert_eq!(
        outputs[0]["kms"]["cursor_plane"]["visible"], true,
        "{outputs:#}"
    );
    let presented = |v: &serde_json::Value| v[0]["frames"]["presented"].as_u64().unwrap_or(0);
    let before = presented(&outputs);
    devices.move_by(16, 0)?;
    writeback_until(&comp, "the arrow moved on its plane", |f| {
        tip(f) == Some((cx + 16, cy))
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", comp.log()))?;
    let after = comp.request(json!({"request": "outputs"}))?;
    assert_eq!(
        presented(&after),
        before,
        "a pointer move on the cursor plane repainted the output"
    );
    let (cx, cy) = (cx + 16, cy);
    assert!(close(frame.pixel(cx + 30, cy + 5), BACKGROUND_RGB));
    assert!(close(frame.pixel(centre.0, centre.1), WINDOW_RGB));

    // Rendering again agrees with what was scanned out (cursor aside).
    let rendered = comp.screenshot(json!({}))?;
    for (x, y) in [(centre.0, centre.1), (width - 3, height - 3), (5, 5)] {
        assert!(close(rendered.pixel(x, y), frame.pixel(x, y)), "at {x},{y}");
    }
    eprintln!("KMS desktop test took {:?}", started.elapsed());
    drop(window);
    Ok(())
}

#[test]
#[ignore = "needs a KMS device and root: run scripts/kms-vm-test.sh"]
fn kms_mode_change_through_output_management_reaches_the_display() -> Result<()> {
    assert!(kms_node_present(), "no /dev/dri/card0");
    ghost_tests::require_program("wlr-randr")?;
    let scratch = std::env::temp_dir().join(format!("ghost-kms-mode-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let comp = Compositor::start_kms(&config_home(&scratch)?)?;
    let before = writeback(&comp)?;
    assert_eq!((before.width, before.height), (1024, 768));
    let out = comp
        .command("wlr-randr")
        .args(["--output", "Virtual-1", "--mode", "800x600@60.317Hz"])
        .output()?;
    assert!(
        out.status.success(),
        "wlr-randr failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = writeback_until(&comp, "the 800x600 mode", |f| {
        (f.width, f.height) == (800, 600)
    })?;
    assert!(close(after.pixel(799, 599), BACKGROUND_RGB));
    let outputs = comp.request(json!({"request": "outputs"}))?;
    assert_eq!(outputs[0]["current_mode"]["width"], 800);
    assert_eq!(outputs[0]["current_mode"]["height"], 600);

    // Switched off and on again (DPMS), the display shows the desktop again.
    comp.request(json!({"request": "power", "on": false}))?;
    let off = comp.request(json!({"request": "outputs"}))?;
    assert_eq!(off[0]["kms"]["active"], false);
    assert!(
        writeback(&comp).is_err(),
        "a switched-off output has no frame"
    );
    comp.request(json!({"request": "power", "on": true}))?;
    writeback_until(&comp, "the desktop after power on", |f| {
        close(f.pixel(400, 300), BACKGROUND_RGB)
    })?;
    Ok(())
}

#[test]
#[ignore = "needs a KMS device and root: run scripts/kms-vm-test.sh"]
fn kms_presentation_lands_on_every_vblank_for_300_frames() -> Result<()> {
    assert!(kms_node_present(), "no /dev/dri/card0");
    let scratch = std::env::temp_dir().join(format!("ghost-kms-pace-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let comp = Compositor::start_kms(&config_home(&scratch)?)?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    let mut window = client.color_window("kms-pace", 256, 256, &[WINDOW, 0xff20_60e0])?;
    comp.wait_window("kms-pace")?;
    // Warm up, then a window that changes every frame for 330 frames.
    client.animate(&mut window, Duration::from_millis(500))?;
    // The warm-up's last frame is still on its way: let it land first.
    while !client.frame_done() {
        client.wait()?;
    }
    client.roundtrip()?;
    client.state.presented.clear();
    client.state.discarded = 0;
    let mut committed = Vec::new();
    while client.state.presented.len() < 331 {
        let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
        committed.push(now.tv_sec as u128 * 1_000_000_000 + now.tv_nsec as u128);
        client.commit_next(&mut window, true)?;
        while !client.frame_done() {
            client.wait()?;
        }
    }
    assert_eq!(client.state.discarded, 0, "no frame was dropped");
    let mut latency: Vec<f64> = committed
        .iter()
        .zip(&client.state.presented)
        .map(|(c, p)| (p.time_ns - c) as f64 / 1e6)
        .collect();
    latency.sort_by(f64::total_cmp);
    eprintln!(
        "commit to present on vkms: median {:.2} ms, p95 {:.2} ms",
        latency[latency.len() / 2],
        latency[latency.len() * 95 / 100]
    );
    let presented = &client.state.presented[client.state.presented.len() - 301..];
    let refresh = presented[0].refresh_ns as f64 / 1e6;
    assert!((refresh - 16.666).abs() < 0.01, "refresh {refresh} ms");
    let intervals: Vec<f64> = presented
        .windows(2)
        .map(|p| (p[1].time_ns - p[0].time_ns) as f64 / 1e6)
        .collect();
    let seq_steps: Vec<u64> = presented.windows(2).map(|p| p[1].seq - p[0].seq).collect();
    let mut sorted = intervals.clone();
    sorted.sort_by(f64::total_cmp);
    let within = intervals
        .iter()
        .filter(|i| (**i - refresh).abs() <= 1.0)
        .count();
    eprintln!(
        "300 presentations on vkms: refresh {refresh:.3} ms, intervals min {:.3} median {:.3} max {:.3} ms, {within} of 300 within ±1 ms, vblank steps {:?}",
        sorted[0],
        sorted[150],
        sorted[299],
        {
            let mut steps = std::collections::BTreeMap::new();
            for s in &seq_steps {
                *steps.entry(*s).or_insert(0) += 1;
            }
            steps
        }
    );
    // Every presentation is stamped with a vblank of the display's own grid.
    for (interval, steps) in intervals.iter().zip(&seq_steps) {
        let grid = *steps as f64 * refresh;
        assert!(
            (interval - grid).abs() < 0.05,
            "an interval of {interval:.3} ms is not {steps} refreshes"
        );
    }
    // The emulated machine itself stalls now and then (a bare flip loop with no
    // compositor misses a vblank about once in 300 under TCG), so a few frames may go
    // a vblank late; every one still lands on the grid, checked above.
    assert!(
        within >= 285,
        "only {within} of 300 frames presented one refresh after the last; log:\n{}",
        comp.log()
            .lines()
            .filter(|l| l.contains("frame"))
            .take(60)
            .collect::<Vec<_>>()
            .join("\n")
    );
    Ok(())
}

#[test]
#[ignore = "needs a KMS device and root: run scripts/kms-vm-test.sh"]
fn kms_idle_switches_the_display_off_and_a_key_wakes_it() -> Result<()> {
    assert!(kms_node_present(), "no /dev/dri/card0");
    let mut devices = Devices::create()?;
    let scratch = std::env::temp_dir().join(format!("ghost-kms-idle-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let started = Instant::now();
    let comp = Compositor::start_kms(&config_home_with(&scratch, "[idle]\nblank_after = 2\n")?)?;
    let active = |comp: &Compositor| -> Option<bool> {
        comp.request(json!({"request": "outputs"})).ok()?[0]["kms"]["active"].as_bool()
    };
    wait_for(Duration::from_secs(15), "the display to go off", || {
        (active(&comp) == Some(false)).then_some(())
    })?;
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "the display went off before blank_after"
    );
    devices.tap(Key::KEY_A)?;
    wait_for(Duration::from_secs(10), "a key to wake the display", || {
        (active(&comp) == Some(true)).then_some(())
    })?;
    writeback_until(&comp, "the desktop after waking", |f| {
        close(f.pixel(500, 400), BACKGROUND_RGB)
    })?;
    Ok(())
}

/// Where `a` and `b` differ (more than rounding), as a bounding box (x, y, w, h).
fn differing_box(a: &Image, b: &Image) -> Option<(u32, u32, u32, u32)> {
    let mut found: Option<(u32, u32, u32, u32)> = None;
    for y in 0..a.height.min(b.height) {
        for x in 0..a.width.min(b.width) {
            if !close(a.pixel(x, y), b.pixel(x, y)) {
                found = Some(match found {
                    None => (x, y, x, y),
                    Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
                });
            }
        }
    }
    found.map(|(x0, y0, x1, y1)| (x0, y0, x1 - x0 + 1, y1 - y0 + 1))
}

/// The scanned-out frame equals the composited reference (a screenshot, which draws
/// every window with pixman), except where the pointer's plane shows the arrow.
fn assert_matches_composition(comp: &Compositor, frame: &Image, what: &str) -> Result<()> {
    let reference = comp.screenshot(json!({}))?;
    assert_eq!(
        (frame.width, frame.height),
        (reference.width, reference.height)
    );
    if let Some((x, y, w, h)) = differing_box(frame, &reference) {
        assert!(
            w <= 64 && h <= 64,
            "{what}: the scanned-out frame differs from composition in {w}x{h} at {x},{y} \
             (more than the pointer)"
        );
    }
    Ok(())
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

/// `ghostcomp msg outputs`' client planes of the first output: (plane, app_id, direct).
fn client_planes(comp: &Compositor) -> Result<Vec<(u64, String, bool)>> {
    let outputs = comp.request(json!({"request": "outputs"}))?;
    Ok(outputs[0]["kms"]["client_planes"]["planes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| {
                    (
                        p["plane"].as_u64().unwrap_or(0),
                        p["app_id"].as_str().unwrap_or("").to_owned(),
                        p["direct_scanout"].as_bool().unwrap_or(false),
                    )
                })
                .collect()
        })
        .unwrap_or_default())
}

#[test]
#[ignore = "needs a KMS device and root: run scripts/kms-vm-test.sh"]
fn kms_client_dmabufs_go_onto_an_overlay_and_fullscreen_is_scanned_out_directly() -> Result<()> {
    assert!(kms_node_present(), "no /dev/dri/card0");
    let card = Path::new("/dev/dri/card0");
    let scratch = std::env::temp_dir().join(format!("ghost-kms-planes-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let comp = Compositor::start_kms(&config_home(&scratch)?)?;
    client_dmabufs_on_planes(&comp, card)
        .map_err(|e| anyhow::anyhow!("{e:#}; log:\n{}", comp.log()))
}

fn client_dmabufs_on_planes(comp: &Compositor, card: &Path) -> Result<()> {
    const VIDEO_A: u32 = 0xff20_60c0;
    const VIDEO_B: u32 = 0xff30_c040;
    const FULL: u32 = 0xffc0_a020;
    let rgb = |c: u32| [(c >> 16) as u8, (c >> 8) as u8, c as u8];
    let mut client = TestClient::connect(&comp.socket_path())?;

    // A window showing device memory (what a video decoder hands over).
    let mut video =
        client.dmabuf_window("kms-video", card, (320, 240), false, &[VIDEO_A, VIDEO_B])?;
    let info = comp.wait_window("kms-video")?;
    let (wx, wy) = (
        info["geometry"]["x"].as_i64().unwrap_or(0) as u32,
        info["geometry"]["y"].as_i64().unwrap_or(0) as u32,
    );
    let planes = wait_for(Duration::from_secs(20), "the video on a plane", || {
        let planes = client_planes(comp).ok()?;
        planes
            .iter()
            .find(|(_, app, direct)| app == "kms-video" && !direct)
            .map(|(plane, ..)| *plane)
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", comp.log()))?;
    let overlay = plane_state(planes)?;
    assert!(
        overlay.contains("crtc=crtc-0") && overlay.contains("size=320x240"),
        "the overlay plane in the kernel's state:\n{overlay}"
    );
    assert!(
        overlay.contains(&format!("crtc-pos=320x240+{wx}+{wy}")),
        "the overlay at the window's place ({wx},{wy}):\n{overlay}"
    );
    let centre = (wx + 160, wy + 120);
    let frame = writeback_until(comp, "the video", |f| {
        close(f.pixel(centre.0, centre.1), rgb(VIDEO_A))
    })?;
    assert_matches_composition(comp, &frame, "video on an overlay")?;

    // The client's next buffer reaches the screen on the plane (nothing composited
    // changed).
    client.commit_next(&mut video, true)?;
    let presented = wait_for(Duration::from_secs(10), "the next buffer presented", || {
        client.roundtrip().ok()?;
        client.state.presented.last().copied()
    })?;
    // wp_presentation_feedback.kind: vsync 1, hw_clock 2, hw_completion 4, zero_copy 8.
    assert_eq!(
        presented.flags & 0x9,
        0x9,
        "a buffer on a plane is presented at a vblank without a copy: {presented:?}"
    );
    let frame = writeback_until(comp, "the video's next buffer", |f| {
        close(f.pixel(centre.0, centre.1), rgb(VIDEO_B))
    })?;
    assert_matches_composition(comp, &frame, "the next buffer on the overlay")?;
    assert!(client_planes(comp)?
        .iter()
        .any(|(p, app, _)| *p == planes && app == "kms-video"));

    // A fullscreen window of device memory replaces the composited frame.
    let full = client.dmabuf_window("kms-full", card, (1024, 768), true, &[FULL])?;
    let direct = wait_for(
        Duration::from_secs(20),
        "the fullscreen window scanned out",
        || {
            let planes = client_planes(comp).ok()?;
            planes
                .iter()
                .find(|(_, app, direct)| app == "kms-full" && *direct)
                .map(|(plane, ..)| *plane)
        },
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "{e}; log:\n{}; planes {:?}",
            comp.log(),
            client_planes(comp)
        )
    })?;
    let outputs = comp.request(json!({"request": "outputs"}))?;
    assert_eq!(outputs[0]["kms"]["primary_plane"].as_u64(), Some(direct));
    let primary = plane_state(direct)?;
    assert!(primary.contains("size=1024x768"), "{primary}");
    let frame = writeback_until(comp, "the fullscreen window", |f| {
        // Corners away from the pointer (which starts at the top left).
        close(f.pixel(1018, 5), rgb(FULL)) && close(f.pixel(1018, 762), rgb(FULL))
    })?;
    assert_matches_composition(comp, &frame, "direct scanout")?;
    // The video's overlay was switched off (it is under the fullscreen window).
    let overlay = plane_state(planes)?;
    assert!(
        overlay.contains("fb=0"),
        "the overlay after fullscreen:\n{overlay}"
    );

    // Closed, the desktop is composited again with the video back on its plane.
    full.destroy();
    client.roundtrip()?;
    writeback_until(comp, "the desktop after fullscreen", |f| {
        close(f.pixel(1018, 762), BACKGROUND_RGB)
            && close(f.pixel(centre.0, centre.1), rgb(VIDEO_B))
    })?;
    assert!(client_planes(comp)?
        .iter()
        .any(|(_, app, _)| app == "kms-video"));

    // Described as BT.2020/PQ, the video is no longer in the output's (sRGB) colour
    // space: composition converts it, so it leaves its plane.
    let manager = client.color_manager()?;
    let (description, ready) = client.parametric(
        &manager,
        Primaries::Bt2020,
        TransferFunction::St2084Pq,
        None,
    )?;
    assert!(client.wait_ready(&ready)?.is_ok());
    let _colour = client.set_surface_description(&manager, &video, &description);
    client.commit_next(&mut video, false)?;
    wait_for(Duration::from_secs(20), "the PQ video composited", || {
        let planes = client_planes(comp).ok()?;
        (!planes.iter().any(|(_, app, _)| app == "kms-video")).then_some(())
    })?;
    drop(video);
    Ok(())
}

#[test]
#[ignore = "needs a KMS device and root: run scripts/kms-vm-test.sh"]
fn kms_client_cursor_surface_goes_onto_the_cursor_plane() -> Result<()> {
    const CURSOR: u32 = 0xff10_d0e0;
    let cursor_rgb = [0x10, 0xd0, 0xe0];
    assert!(kms_node_present(), "no /dev/dri/card0");
    let mut devices = Devices::create()?;
    let scratch = std::env::temp_dir().join(format!("ghost-kms-cursor-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let comp = Compositor::start_kms(&config_home(&scratch)?)?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    client.watch_seat()?;
    let window = client.color_window("kms-cursor", 300, 200, &[WINDOW])?;
    let info = comp.wait_window("kms-cursor")?;
    let (wx, wy) = (
        info["geometry"]["x"].as_i64().unwrap_or(0) as i32,
        info["geometry"]["y"].as_i64().unwrap_or(0) as i32,
    );
    devices.move_by(-4000, -4000)?;
    devices.move_by(wx + 100, wy + 100)?;
    wait_for(Duration::from_secs(10), "the pointer on the window", || {
        client.roundtrip().ok()?;
        (client.state.seat.pointer_focus.as_ref() == Some(&window.surface)).then_some(())
    })?;
    let (px, py) = client.state.seat.pointer_at;
    let at = (
        (wx as f64 + px).round() as u32,
        (wy as f64 + py).round() as u32,
    );
    // The client's own cursor: a 24-pixel square with its hotspot in the middle.
    let _cursor = client.set_cursor_surface(CURSOR, 24, (12, 12))?;
    let frame = writeback_until(&comp, "the client's cursor", |f| {
        close(f.pixel(at.0, at.1), cursor_rgb) && close(f.pixel(at.0 + 14, at.1), WINDOW_RGB)
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", comp.log()))?;
    assert!(close(frame.pixel(at.0 - 11, at.1 - 11), cursor_rgb));
    let outputs = comp.request(json!({"request": "outputs"}))?;
    assert_eq!(
        outputs[0]["kms"]["cursor_plane"]["visible"], true,
        "{outputs:#}"
    );
    // Moving it is a commit of the plane's position: nothing is repainted.
    let presented = |v: &serde_json::Value| v[0]["frames"]["presented"].as_u64().unwrap_or(0);
    let before = presented(&outputs);
    devices.move_by(40, 0)?;
    writeback_until(&comp, "the client's cursor moved on its plane", |f| {
        close(f.pixel(at.0 + 40, at.1), cursor_rgb) && close(f.pixel(at.0, at.1), WINDOW_RGB)
    })?;
    let after = comp.request(json!({"request": "outputs"}))?;
    assert_eq!(
        presented(&after),
        before,
        "a move of the client's cursor on the cursor plane repainted the output"
    );
    // The composited picture (screenshots leave the pointer out) has no trace of it.
    let rendered = comp.screenshot(json!({}))?;
    assert!(close(rendered.pixel(at.0 + 40, at.1), WINDOW_RGB));
    drop(window);
    Ok(())
}

#[test]
#[ignore = "needs a KMS device and root: run scripts/kms-vm-test.sh"]
fn kms_dmabuf_feedback_offers_plane_formats_to_a_fullscreen_window() -> Result<()> {
    const XRGB8888: u32 = 0x3432_5258;
    assert!(kms_node_present(), "no /dev/dri/card0");
    let scratch = std::env::temp_dir().join(format!("ghost-kms-feedback-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let comp = Compositor::start_kms(&config_home(&scratch)?)?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    // An shm window: composited, so it hears only the render tranche.
    let mut window = client.color_window("kms-feedback", 300, 200, &[WINDOW, WINDOW])?;
    let _feedback = client.watch_dmabuf_feedback(&window.surface)?;
    let latest = |client: &mut TestClient| -> Option<Vec<ghost_tests::dmabuf_client::Tranche>> {
        client.roundtrip().ok()?;
        client.state.dmabuf_feedback.received.last().cloned()
    };
    let first = wait_for(Duration::from_secs(10), "dmabuf feedback", || {
        latest(&mut client)
    })?;
    assert!(
        first.iter().all(|t| !t.scanout)
            && first.iter().any(|t| t.formats.contains(&(XRGB8888, 0))),
        "a window in a stack hears the render tranche only: {first:?}"
    );
    // Fullscreen, it could be scanned out directly if its buffer allowed: the scanout
    // tranche comes first, with what the primary plane shows.
    window.toplevel.set_fullscreen(None);
    client.commit_next(&mut window, false)?;
    let full = wait_for(Duration::from_secs(10), "scanout feedback", || {
        latest(&mut client).filter(|t| t.first().is_some_and(|t| t.scanout))
    })
    .map_err(|e| anyhow::anyhow!("{e}; received {:?}", client.state.dmabuf_feedback.received))?;
    assert!(full[0].formats.contains(&(XRGB8888, 0)), "{full:?}");
    // Back in the stack: the render tranche again.
    window.toplevel.unset_fullscreen();
    client.commit_next(&mut window, false)?;
    wait_for(Duration::from_secs(10), "render feedback again", || {
        latest(&mut client).filter(|t| t.iter().all(|t| !t.scanout))
    })?;
    Ok(())
}

/// The connector's sysfs status, which forces it connected or disconnected.
const CONNECTOR_STATUS: &str = "/sys/class/drm/card0-Virtual-1/status";

/// Forces the connector `status` ("on", "off", "detect") and sends the uevent a driver
/// sends when a display comes or goes. (vkms does not poll its connector, so a forced
/// status raises no event of its own; the synthetic "change" on the card is the event
/// udev rules and compositors see from real hot-plug detection.)
fn force_connector(status: &str) -> Result<()> {
    std::fs::write(CONNECTOR_STATUS, status).context("forcing the connector's status")?;
    std::fs::write("/sys/class/drm/card0/uevent", "change").context("a change uevent")?;
    Ok(())
}

/// Puts the connector back to what the driver detects, even when the test fails.
struct RestoreConnector;

impl Drop for RestoreConnector {
    fn drop(&mut self) {
        let _ = std::fs::write(CONNECTOR_STATUS, "detect");
    }
}

#[test]
#[ignore = "needs a KMS device and root: run scripts/kms-vm-test.sh"]
fn kms_display_unplugged_and_plugged_back_keeps_the_desktop() -> Result<()> {
    assert!(kms_node_present(), "no /dev/dri/card0");
    let scratch = std::env::temp_dir().join(format!("ghost-kms-hotplug-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let comp = Compositor::start_kms(&config_home(&scratch)?)?;
    let _restore = RestoreConnector;
    let mut client = TestClient::connect(&comp.socket_path())?;
    let _window = client.color_window("kms-hotplug", 300, 200, &[WINDOW])?;
    let info = comp.wait_window("kms-hotplug")?;
    let centre = (
        info["geometry"]["x"].as_i64().unwrap_or(0) as u32 + 150,
        info["geometry"]["y"].as_i64().unwrap_or(0) as u32 + 100,
    );
    writeback_until(&comp, "the window", |f| {
        close(f.pixel(centre.0, centre.1), WINDOW_RGB)
    })?;
    let outputs = |comp: &Compositor| -> Vec<String> {
        comp.request(json!({"request": "outputs"}))
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|o| o["name"].as_str().map(str::to_owned))
            .collect()
    };

    // Unplugged (the connector forced off, as pulling the cable does): the output goes,
    // and clients see its wl_output leave.
    force_connector("off")?;
    wait_for(Duration::from_secs(20), "the output gone", || {
        outputs(&comp).is_empty().then_some(())
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", comp.log()))?;
    wait_for(Duration::from_secs(10), "wl_output removed", || {
        client.roundtrip().ok()?;
        (!client.global_names().iter().any(|n| n == "wl_output")).then_some(())
    })?;
    // The window lives on.
    comp.wait_window("kms-hotplug")?;

    // Plugged back: the output returns with the window on it.
    force_connector("on")?;
    wait_for(Duration::from_secs(20), "the output back", || {
        (outputs(&comp) == ["Virtual-1"]).then_some(())
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", comp.log()))?;
    writeback_until(&comp, "the window after replugging", |f| {
        close(f.pixel(centre.0, centre.1), WINDOW_RGB)
    })?;
    wait_for(Duration::from_secs(10), "wl_output back", || {
        client.roundtrip().ok()?;
        client
            .global_names()
            .iter()
            .any(|n| n == "wl_output")
            .then_some(())
    })?;
    Ok(())
}

/// A uinput touchscreen whose surface spans the 1024x768 output (multi-touch, type B).
struct Touchscreen(VirtualDevice);

impl Touchscreen {
    fn create() -> Result<Self> {
        let mut keys = AttributeSet::<Key>::new();
        keys.insert(Key::BTN_TOUCH);
        let mut props = AttributeSet::<PropType>::new();
        props.insert(PropType::DIRECT);
        // Resolution 4 units/mm: a 256 x 192 mm panel.
        let axis = |axis, max| UinputAbsSetup::new(axis, AbsInfo::new(0, 0, max, 0, 0, 4));
        let mut device = VirtualDeviceBuilder::new()?
            .name("ghost test touchscreen")
            .with_keys(&keys)?
            .with_properties(&props)?
            .with_absolute_axis(&axis(AbsoluteAxisType::ABS_X, 1023))?
            .with_absolute_axis(&axis(AbsoluteAxisType::ABS_Y, 767))?
            .with_absolute_axis(&axis(AbsoluteAxisType::ABS_MT_SLOT, 9))?
            .with_absolute_axis(&axis(AbsoluteAxisType::ABS_MT_TRACKING_ID, 65535))?
            .with_absolute_axis(&axis(AbsoluteAxisType::ABS_MT_POSITION_X, 1023))?
            .with_absolute_axis(&axis(AbsoluteAxisType::ABS_MT_POSITION_Y, 767))?
            .build()?;
        register_with_udev(&mut device, &["TOUCHSCREEN"])?;
        Ok(Self(device))
    }

    /// One finger down at (x, y) and up again.
    fn tap(&mut self, x: i32, y: i32) -> Result<()> {
        let abs =
            |axis: AbsoluteAxisType, value| InputEvent::new(EventType::ABSOLUTE, axis.0, value);
        self.0.emit(&[
            abs(AbsoluteAxisType::ABS_MT_SLOT, 0),
            abs(AbsoluteAxisType::ABS_MT_TRACKING_ID, 7),
            abs(AbsoluteAxisType::ABS_MT_POSITION_X, x),
            abs(AbsoluteAxisType::ABS_MT_POSITION_Y, y),
            InputEvent::new(EventType::KEY, Key::BTN_TOUCH.code(), 1),
            abs(AbsoluteAxisType::ABS_X, x),
            abs(AbsoluteAxisType::ABS_Y, y),
        ])?;
        std::thread::sleep(Duration::from_millis(60));
        self.0.emit(&[
            abs(AbsoluteAxisType::ABS_MT_TRACKING_ID, -1),
            InputEvent::new(EventType::KEY, Key::BTN_TOUCH.code(), 0),
        ])?;
        Ok(())
    }
}

#[test]
#[ignore = "needs a KMS device and root: run scripts/kms-vm-test.sh"]
fn kms_touchscreen_tap_focuses_and_reaches_the_window_under_the_finger() -> Result<()> {
    assert!(kms_node_present(), "no /dev/dri/card0");
    let mut touch = Touchscreen::create()?;
    let scratch = std::env::temp_dir().join(format!("ghost-kms-touch-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let comp = Compositor::start_kms(&config_home(&scratch)?)?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    client.watch_seat()?;
    let below = client.color_window("kms-touch-below", 300, 200, &[WINDOW])?;
    let above = client.color_window("kms-touch-above", 300, 200, &[WINDOW])?;
    let geometry = |app: &str| -> Result<(i32, i32)> {
        let info = comp.wait_window(app)?;
        Ok((
            info["geometry"]["x"].as_i64().unwrap_or(0) as i32,
            info["geometry"]["y"].as_i64().unwrap_or(0) as i32,
        ))
    };
    let (bx, by) = geometry("kms-touch-below")?;
    let (ax, ay) = geometry("kms-touch-above")?;
    wait_for(Duration::from_secs(10), "the upper window focused", || {
        client.roundtrip().ok()?;
        (client.state.seat.keyboard_focus.as_ref() == Some(&above.surface)).then_some(())
    })?;
    // A point of the lower window the upper one does not cover.
    let (tx, ty) = (bx + 20, by + 20);
    assert!(
        tx < ax || ty < ay,
        "the windows overlap where the test taps: {bx},{by} and {ax},{ay}"
    );
    touch.tap(tx, ty)?;
    wait_for(Duration::from_secs(10), "the tap and the focus", || {
        client.roundtrip().ok()?;
        let s = &client.state.seat;
        (s.touch_ups >= 1 && s.keyboard_focus.as_ref() == Some(&below.surface)).then_some(())
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", comp.log()))?;
    let (surface, x, y) = client.state.seat.touch_downs[0].clone();
    assert!(
        surface == below.surface,
        "the touch went to another surface"
    );
    assert!(
        (x - 20.0).abs() <= 2.0 && (y - 20.0).abs() <= 2.0,
        "touched at {x},{y} in the window, expected 20,20"
    );
    Ok(())
}

#[test]
#[ignore = "needs a KMS device and root: run scripts/kms-vm-test.sh"]
fn kms_screencopy_protocols_copy_into_dmabufs_exactly_what_the_screenshot_shows() -> Result<()> {
    assert!(kms_node_present(), "no /dev/dri/card0");
    let scratch =
        std::env::temp_dir().join(format!("ghost-kms-dmabuf-copy-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let comp = Compositor::start_kms(&config_home(&scratch)?)?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    let _window = client.color_window("kms-copied", 300, 200, &[WINDOW])?;
    comp.wait_window("kms-copied")?;
    let output: wayland_client::protocol::wl_output::WlOutput = client.bind(1..=4, ())?;
    let manager = client.wlr_screencopy()?;
    let copied = client
        .wlr_copy_into_dmabuf(&manager, &output, Path::new("/dev/dri/card0"))
        .map_err(|e| anyhow::anyhow!("{e:#}; log:\n{}", comp.log()))?;
    let shot = comp.screenshot(json!({}))?;
    assert_eq!((copied.width, copied.height), (shot.width, shot.height));
    let differing = copied
        .rgb
        .iter()
        .zip(shot.region(0, 0, shot.width, shot.height))
        .filter(|(a, b)| **a != *b)
        .count();
    assert_eq!(
        differing, 0,
        "pixels of the dmabuf copy that differ from the screenshot"
    );
    assert!(
        copied.rgb.iter().any(|p| close(*p, WINDOW_RGB)),
        "the window is in the copy"
    );

    // ext-image-copy-capture names the device and its linear formats, and fills a
    // dmabuf of it the same way.
    let mut session = client.capture_output(&output, false)?;
    client.wait_constraints(&mut session)?;
    let rdev = std::os::unix::fs::MetadataExt::rdev(&std::fs::metadata("/dev/dri/card0")?);
    {
        let events = session
            .events
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?;
        assert_eq!(events.dmabuf_device, Some(rdev), "{events:?}");
        assert!(
            events
                .dmabuf_formats
                .iter()
                .any(|(f, m)| *f == 0x3432_5258 && m.contains(&0)),
            "XRGB8888 linear among {:?}",
            events.dmabuf_formats
        );
    }
    let captured = client
        .capture_frame_into_dmabuf(&session, Path::new("/dev/dri/card0"))
        .map_err(|e| anyhow::anyhow!("{e:#}; log:\n{}", comp.log()))?;
    let differing = captured
        .iter()
        .zip(shot.region(0, 0, shot.width, shot.height))
        .filter(|(a, b)| **a != *b)
        .count();
    assert_eq!(
        differing, 0,
        "pixels of the ext-image-copy dmabuf that differ"
    );
    Ok(())
}
