//! The desktop on a real display: a window, the arrow, keyboard, mouse and touch
//! through libinput, and idle blanking.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use evdev::Key;
use ghost_tests::{client::TestClient, wait_for, Compositor, Image};
use serde_json::json;

use super::{
    close,
    devices::{Devices, Touchscreen},
    input_handled, point_at, start, writeback_until, BACKGROUND_RGB, WINDOW, WINDOW_RGB,
};

#[test]
#[ignore = "needs a KMS device and root: run scripts/kms-vm-test.sh"]
fn kms_desktop_shows_window_and_cursor_and_takes_real_input() -> Result<()> {
    let started = Instant::now();
    let mut devices = Devices::create()?;
    let comp = start("desktop", "")?;
    eprintln!("ghostcomp up on KMS after {:?}", started.elapsed());
    let outputs = comp.request(json!({"request": "outputs"}))?;
    let output = &outputs[0];
    assert_eq!(output["name"], "Virtual-1", "{outputs:#}");
    assert_eq!(output["kms"]["driver"], "vkms", "{outputs:#}");
    // No render node: pixman draws, into dumb buffers.
    assert_eq!(output["kms"]["renderer"], "pixman", "{outputs:#}");
    assert_eq!(output["kms"]["gpu_buffer_on_screen"], false, "{outputs:#}");
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
    point_at(
        &mut devices,
        &comp,
        &mut client,
        &window.surface,
        (centre.0 as i32, centre.1 as i32),
    )?;
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
    input_handled(&comp)?;
    // The arrow's tip: an outline pixel with the white fill right of it five rows
    // down. Searched near the aim, so one dropped motion event does not fail the test.
    let tip = |f: &Image| -> Option<(u32, u32)> {
        (cy - 30..cy + 30).find_map(|y| {
            (cx - 30..cx + 30)
                .find(|x| {
                    close(f.pixel(*x, y + 5), [0, 0, 0])
                        && close(f.pixel(x + 1, y + 5), [255, 255, 255])
                        && close(f.pixel(*x, y), [0, 0, 0])
                        && close(f.pixel(x.saturating_sub(1), y + 5), BACKGROUND_RGB)
                })
                .map(|x| (x, y))
        })
    };
    // Every move has been handled; the cursor plane follows within a vblank or two, so
    // the arrow has arrived once two frames a tenth of a second apart agree.
    let mut last: Option<(u32, u32)> = None;
    let frame = writeback_until(&comp, "the pointer still over the background", |f| {
        let now = tip(f);
        let settled = now.is_some() && now == last;
        last = now;
        settled
    })
    .map_err(|e| anyhow::anyhow!("{e} (arrow tip last at {last:?}); log:\n{}", comp.log()))?;
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
    input_handled(&comp)?;
    let mut last = None;
    writeback_until(&comp, "the arrow moved on its plane", |f| {
        last = tip(f);
        last == Some((cx + 16, cy))
    })
    .map_err(|e| {
        anyhow::anyhow!(
            "{e} (arrow tip at {last:?}, was at {cx},{cy}); log:\n{}",
            comp.log()
        )
    })?;
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
fn kms_idle_switches_the_display_off_and_a_key_wakes_it() -> Result<()> {
    let mut devices = Devices::create()?;
    let started = Instant::now();
    let comp = start("idle", "[idle]\nblank_after = 2\n")?;
    let active = |comp: &Compositor| -> Option<bool> {
        comp.request(json!({"request": "outputs"})).ok()?[0]["kms"]["active"].as_bool()
    };
    wait_for(Duration::from_secs(15), "the display to go off", || {
        (active(&comp) == Some(false)).then_some(())
    })?;
    // The kernel agrees: the CRTC is inactive.
    assert!(!super::crtc_active()?, "the CRTC is still active");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "the display went off before blank_after"
    );
    devices.tap(Key::KEY_A)?;
    wait_for(Duration::from_secs(10), "a key to wake the display", || {
        (active(&comp) == Some(true)).then_some(())
    })?;
    assert!(super::crtc_active()?, "the CRTC is active again");
    writeback_until(&comp, "the desktop after waking", |f| {
        close(f.pixel(500, 400), BACKGROUND_RGB)
    })?;
    Ok(())
}

#[test]
#[ignore = "needs a KMS device and root: run scripts/kms-vm-test.sh"]
fn kms_touchscreen_tap_focuses_and_reaches_the_window_under_the_finger() -> Result<()> {
    let mut touch = Touchscreen::create()?;
    let comp = start("touch", "")?;
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
    // A point of the lower window the upper one does not cover (new windows open
    // where they hide least of the others: here beside it).
    let (tx, ty) = (bx + 20, by + 20);
    assert!(
        !(ax..ax + 300).contains(&tx) || !(ay..ay + 200).contains(&ty),
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
fn kms_kiosk_program_fills_the_display_and_ghostcomp_ends_with_it() -> Result<()> {
    const KIOSK: &str = "ffc08020";
    const KIOSK_RGB: [u8; 3] = [0xc0, 0x80, 0x20];
    let mut devices = Devices::create()?;
    let mut comp = Compositor::start_kms_with(
        &super::config_home("kiosk", "")?,
        &["--kiosk", "ghost-kiosk-client", KIOSK],
    )?;
    // The one program's window covers the whole display (corners away from the pointer).
    writeback_until(&comp, "the kiosk program filling the display", |f| {
        [(1018, 5), (5, 762), (1018, 762), (512, 600)]
            .iter()
            .all(|&(x, y)| close(f.pixel(x, y), KIOSK_RGB))
    })
    .map_err(|e| {
        let pixels = super::writeback(&comp)
            .map(|f| [(1018, 5), (5, 762), (1018, 762), (512, 600)].map(|(x, y)| f.pixel(x, y)));
        anyhow::anyhow!(
            "{e}; windows {:?}; pixels {pixels:?}; log:\n{}",
            comp.windows(),
            comp.log()
        )
    })?;
    let windows = comp.windows()?;
    assert_eq!(windows.len(), 1, "{windows:?}");
    assert_eq!(windows[0]["fullscreen"], true, "{windows:?}");
    // Return in the program ends it; ghostcomp ends with it, with its status.
    wait_for(
        Duration::from_secs(20),
        "ghostcomp to end with its program",
        || {
            devices.tap(Key::KEY_ENTER).ok()?;
            comp.wait_exit(Duration::from_secs(1)).ok()
        },
    )
    .and_then(|status| {
        anyhow::ensure!(status.success(), "ghostcomp's exit: {status}");
        Ok(())
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", comp.log()))
}

#[test]
#[ignore = "needs a KMS device and root: run scripts/kms-vm-test.sh"]
fn kms_a_tablet_pen_reaches_the_window_under_it_through_libinput() -> Result<()> {
    use ghost_tests::{tablet_client::ToolEvent, wayland_client::Proxy};
    // Without a udev daemon in the VM, libinput opens the event nodes present when
    // ghostcomp starts: the tablet is plugged in first.
    let mut tablet = super::devices::PenTablet::create()?;
    let comp = start("tablet", "")?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    let _tablets = client.watch_tablets()?;
    let window = client.color_window("kms-canvas", 300, 200, &[WINDOW])?;
    let info = comp.wait_window("kms-canvas")?;
    let announced = wait_for(
        Duration::from_secs(10),
        "libinput's tablet announced",
        || {
            client.roundtrip().ok()?;
            (!client.state.tablet.tablets.is_empty()).then_some(())
        },
    );
    if announced.is_err() {
        eprintln!("{}", comp.log());
    }
    announced?;
    eprintln!("tablets: {:?}", client.state.tablet.tablets);
    // The tablet's area spans the 1024x768 output: device units are output pixels.
    let x = info["geometry"]["x"].as_i64().unwrap_or(0) as i32 + 100;
    let y = info["geometry"]["y"].as_i64().unwrap_or(0) as i32 + 80;
    tablet.stroke(x, y, 2048)?;
    let surface = window.surface.id().protocol_id();
    let events = wait_for(Duration::from_secs(10), "the pen's stroke", || {
        client.roundtrip().ok()?;
        let e = &client.state.tablet.events;
        e.contains(&ToolEvent::ProximityOut).then(|| e.clone())
    })?;
    eprintln!("{events:?}");
    let at = |want: &ToolEvent| events.iter().position(|e| e == want);
    let inside = at(&ToolEvent::ProximityIn(surface)).context("the pen at the window")?;
    let down = at(&ToolEvent::Down).context("touch")?;
    let up = at(&ToolEvent::Up).context("lift")?;
    let pressed = events
        .iter()
        .position(|e| matches!(e, ToolEvent::Pressure(p) if (25_000..=40_000).contains(p)))
        .context("half pressure")?;
    anyhow::ensure!(
        inside < down && down <= pressed && pressed < up,
        "{events:?}"
    );
    let near = events.iter().any(|e| {
        matches!(e, ToolEvent::Motion(mx, my) if (mx - 100.0).abs() <= 2.0 && (my - 80.0).abs() <= 2.0)
    });
    anyhow::ensure!(near, "the pen where it was put: {events:?}");
    Ok(())
}
