//! ext-image-copy-capture: what a capturing application (grim 1.5, wayvnc, a portal
//! backend) receives — output, toplevel and cursor captures with their damage, windows
//! blocked out of captures, and protocol errors that cost only the offender.

use std::{path::PathBuf, time::Duration};

use anyhow::Result;
use ghost_tests::{
    capture_client::{Capture, FrameEvents},
    client::{is_protocol_error, TestClient},
    wait_for,
    wayland_client::protocol::{wl_output::WlOutput, wl_shm},
    Compositor,
};
use serde_json::{json, Value};

const RED: u32 = 0xff_ff_00_00;
const GREEN: u32 = 0xff_00_ff_00;
const BLUE: u32 = 0xff_00_00_ff;

fn geometry(window: &Value) -> (i64, i64, i64, i64) {
    let g = &window["geometry"];
    let n = |k: &str| g[k].as_i64().unwrap_or(0);
    (n("x"), n("y"), n("width"), n("height"))
}

fn rgb_at(rgba: &[u8], width: u32, x: u32, y: u32) -> [u8; 3] {
    let i = ((y * width + x) * 4) as usize;
    [rgba[i], rgba[i + 1], rgba[i + 2]]
}

fn capturer(comp: &Compositor) -> Result<(TestClient, WlOutput)> {
    let client = TestClient::connect(&comp.socket_path())?;
    let output: WlOutput = client.bind(1..=4, ())?;
    Ok((client, output))
}

#[test]
fn output_capture_equals_the_screenshot_and_later_frames_wait_for_a_change() -> Result<()> {
    let comp = Compositor::start(&["--output", "640x480@60"])?;
    let mut app = TestClient::connect(&comp.socket_path())?;
    let mut window = app.color_window("capture.red", 200, 120, &[RED, GREEN])?;
    let (x, y, w, h) = geometry(&comp.wait_window("capture.red")?);
    std::thread::sleep(Duration::from_millis(100));

    let (mut cap, output) = capturer(&comp)?;
    let session = cap.capture_output(&output, false)?;
    {
        let e = session.events.lock().expect("events");
        assert_eq!(e.size, Some((640, 480)));
        for format in [wl_shm::Format::Xrgb8888, wl_shm::Format::Argb8888] {
            assert!(e.shm_formats.contains(&format), "{format:?} offered");
        }
    }
    let (width, height, rgba, damage) = cap
        .capture_frame(
            &session,
            wl_shm::Format::Xrgb8888,
            None,
            Duration::from_secs(5),
        )?
        .ready()?;
    assert_eq!(
        damage,
        vec![(0, 0, 640, 480)],
        "the first frame is all damage"
    );
    let shot = comp.screenshot(json!({}))?;
    for yy in 0..height {
        for xx in 0..width {
            assert_eq!(
                rgb_at(&rgba, width, xx, yy),
                shot.pixel(xx, yy),
                "pixel {xx},{yy}"
            );
        }
    }
    assert_eq!(
        rgb_at(&rgba, width, x as u32 + 5, y as u32 + 5),
        [0xff, 0, 0]
    );

    // Nothing changes: the next frame waits.
    let pending = match cap.capture_frame(
        &session,
        wl_shm::Format::Xrgb8888,
        None,
        Duration::from_millis(400),
    )? {
        Capture::Pending(p) => p,
        other => anyhow::bail!("an unchanged screen answered a frame: {other:?}"),
    };
    // The window turns green: the frame arrives, damaged where the window is.
    app.commit_next(&mut window, false)?;
    app.roundtrip()?;
    let (_, _, rgba, damage) = cap.collect(pending, Duration::from_secs(5))?.ready()?;
    assert_eq!(
        rgb_at(&rgba, width, x as u32 + 5, y as u32 + 5),
        [0, 0xff, 0]
    );
    assert!(!damage.is_empty());
    let tile = 32;
    for &(dx, dy, dw, dh) in &damage {
        let (dx, dy, dw, dh) = (i64::from(dx), i64::from(dy), i64::from(dw), i64::from(dh));
        let inside =
            dx >= x - tile && dy >= y - tile && dx + dw <= x + w + tile && dy + dh <= y + h + tile;
        assert!(
            inside,
            "damage {dx},{dy} {dw}x{dh} lies outside the window {x},{y} {w}x{h}"
        );
    }
    let damaged: i64 = damage.iter().map(|(_, _, w, h)| i64::from(w * h)).sum();
    assert!(damaged < 640 * 480 / 4, "damage covers {damaged} pixels");
    Ok(())
}

#[test]
fn wlr_copy_with_damage_waits_for_a_change_and_reports_all_changes_since_the_last_copy(
) -> Result<()> {
    let comp = Compositor::start(&["--output", "640x480@60"])?;
    let mut app = TestClient::connect(&comp.socket_path())?;
    let mut first = app.color_window("damage.one", 120, 80, &[RED, GREEN])?;
    let one = geometry(&comp.wait_window("damage.one")?);
    let mut other = TestClient::connect(&comp.socket_path())?;
    let mut second = other.color_window("damage.two", 120, 80, &[BLUE, RED])?;
    let two = geometry(&comp.wait_window("damage.two")?);
    std::thread::sleep(Duration::from_millis(100));

    let (mut rec, output) = capturer(&comp)?;
    let manager = rec.wlr_screencopy()?;
    // The first copy comes at once, all of it damaged, equal to the screenshot.
    let pending = rec.wlr_copy_with_damage(&manager, &output)?;
    let Ok(copied) = rec.wlr_collect(pending, Duration::from_secs(5))? else {
        anyhow::bail!("the first copy_with_damage was not answered");
    };
    assert_eq!(copied.damage, vec![(0, 0, 640, 480)]);
    let shot = comp.screenshot(json!({}))?;
    assert_eq!(copied.rgb[(100 * 640 + 100) as usize], shot.pixel(100, 100));

    // Nothing changes: the next one waits.
    let pending = rec.wlr_copy_with_damage(&manager, &output)?;
    let Err(pending) = rec.wlr_collect(pending, Duration::from_millis(400))? else {
        anyhow::bail!("an unchanged screen answered copy_with_damage");
    };
    // One window changes: answered, with damage where it is and nowhere far from it.
    app.commit_next(&mut first, false)?;
    let Ok(copied) = rec.wlr_collect(pending, Duration::from_secs(5))? else {
        anyhow::bail!("a change did not answer the waiting frame");
    };
    let at = |(x, y, w, h): (i64, i64, i64, i64)| (x + w / 2, y + h / 2);
    let covers = |damage: &[(u32, u32, u32, u32)], (px, py): (i64, i64)| {
        damage.iter().any(|&(x, y, w, h)| {
            let (x, y, w, h) = (i64::from(x), i64::from(y), i64::from(w), i64::from(h));
            px >= x && py >= y && px < x + w && py < y + h
        })
    };
    assert!(covers(&copied.damage, at(one)), "{:?}", copied.damage);
    let damaged: u32 = copied.damage.iter().map(|d| d.2 * d.3).sum();
    assert!(damaged < 640 * 480 / 4, "{:?}", copied.damage);
    assert_eq!(
        copied.rgb[((one.1 + 5) * 640 + one.0 + 5) as usize],
        [0, 0xff, 0]
    );

    // Both windows change while the recorder is busy: its next copy comes at once and
    // reports both.
    app.commit_next(&mut first, false)?;
    app.roundtrip()?;
    std::thread::sleep(Duration::from_millis(100));
    other.commit_next(&mut second, false)?;
    other.roundtrip()?;
    std::thread::sleep(Duration::from_millis(100));
    let pending = rec.wlr_copy_with_damage(&manager, &output)?;
    let Ok(copied) = rec.wlr_collect(pending, Duration::from_secs(5))? else {
        anyhow::bail!("changes made before the copy did not answer it");
    };
    assert!(covers(&copied.damage, at(one)), "{:?}", copied.damage);
    assert!(covers(&copied.damage, at(two)), "{:?}", copied.damage);
    assert_eq!(
        copied.rgb[((two.1 + 5) * 640 + two.0 + 5) as usize],
        [0xff, 0, 0]
    );
    Ok(())
}

#[test]
fn toplevel_capture_shows_the_window_alone_and_stops_when_it_closes() -> Result<()> {
    let comp = Compositor::start(&["--output", "640x480@60"])?;
    let mut blue = TestClient::connect(&comp.socket_path())?;
    let _b = blue.color_window("capture.blue", 160, 100, &[BLUE])?;
    comp.wait_window("capture.blue")?;
    // A bigger window on top covers the blue one.
    let mut red = TestClient::connect(&comp.socket_path())?;
    let _r = red.color_window("capture.cover", 400, 300, &[RED])?;
    comp.wait_window("capture.cover")?;
    std::thread::sleep(Duration::from_millis(100));

    let (mut cap, _output) = capturer(&comp)?;
    cap.list_toplevels()?;
    let session = cap.capture_toplevel("capture.blue")?;
    assert_eq!(
        session.events.lock().expect("events").size,
        Some((160, 100))
    );
    let (width, height, rgba, _) = cap
        .capture_frame(
            &session,
            wl_shm::Format::Argb8888,
            None,
            Duration::from_secs(5),
        )?
        .ready()?;
    assert_eq!((width, height), (160, 100));
    assert!(
        rgba.chunks_exact(4).all(|p| p == [0, 0, 0xff, 0xff]),
        "every pixel is the blue window's, none of the window above it"
    );

    drop(blue);
    wait_for(Duration::from_secs(5), "the session to stop", || {
        cap.roundtrip().ok()?;
        session.events.lock().ok()?.stopped.then_some(())
    })?;
    match cap.capture_frame(
        &session,
        wl_shm::Format::Argb8888,
        None,
        Duration::from_secs(5),
    )? {
        Capture::Failed(reason) => assert_eq!(reason, 2, "fails as stopped"),
        other => anyhow::bail!("a stopped session captured: {other:?}"),
    }
    Ok(())
}

fn block_out_config() -> Result<PathBuf> {
    let home = std::env::temp_dir().join(format!("ghost-capture-home-{}", std::process::id()));
    std::fs::create_dir_all(home.join("ghostcomp"))?;
    std::fs::write(
        home.join("ghostcomp/config.toml"),
        "[[window_rule]]\napp_id = \"^capture\\\\.secret$\"\nblock_out_from_screencast = true\n",
    )?;
    Ok(home)
}

#[test]
fn blocked_out_windows_are_black_in_every_capture_but_not_on_screen() -> Result<()> {
    let home = block_out_config()?;
    let comp = Compositor::start_with_config_home(&["--output", "640x480@60"], &home)?;
    let mut app = TestClient::connect(&comp.socket_path())?;
    let _w = app.color_window("capture.secret", 200, 120, &[RED])?;
    let (x, y, w, h) = geometry(&comp.wait_window("capture.secret")?);
    std::thread::sleep(Duration::from_millis(100));
    let (cx, cy) = ((x + w / 2) as u32, (y + h / 2) as u32);

    // The user's own screenshot shows the screen as it is.
    assert_eq!(comp.screenshot(json!({}))?.pixel(cx, cy), [0xff, 0, 0]);

    let (mut cap, output) = capturer(&comp)?;
    let session = cap.capture_output(&output, false)?;
    let (width, _, rgba, _) = cap
        .capture_frame(
            &session,
            wl_shm::Format::Xrgb8888,
            None,
            Duration::from_secs(5),
        )?
        .ready()?;
    for (px, py) in [
        (cx, cy),
        (x as u32, y as u32),
        ((x + w - 1) as u32, (y + h - 1) as u32),
    ] {
        assert_eq!(
            rgb_at(&rgba, width, px, py),
            [0, 0, 0],
            "blocked out at {px},{py}"
        );
    }
    cap.list_toplevels()?;
    let alone = cap.capture_toplevel("capture.secret")?;
    let (_, _, rgba, _) = cap
        .capture_frame(
            &alone,
            wl_shm::Format::Xrgb8888,
            None,
            Duration::from_secs(5),
        )?
        .ready()?;
    assert!(rgba.chunks_exact(4).all(|p| p[..3] == [0, 0, 0]));

    // wlr-screencopy (grim) blocks it out too.
    ghost_tests::require_program("grim")?;
    let path = comp.runtime_dir().join("blocked.png");
    let out = comp.command("grim").arg(&path).output()?;
    anyhow::ensure!(
        out.status.success(),
        "grim: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(ghost_tests::read_png(&path)?.pixel(cx, cy), [0, 0, 0]);
    Ok(())
}

#[test]
fn cursor_sessions_follow_the_pointer_and_capture_its_image() -> Result<()> {
    let comp = Compositor::start(&["--output", "640x480@60"])?;
    let (mut cap, output) = capturer(&comp)?;
    cap.watch_seat()?;
    let pointer = cap.state.seat.pointer.clone().expect("a pointer");
    comp.request(json!({"request": "input", "action": "pointer-move", "x": 100, "y": 50}))?;
    let source = cap.output_source(&output)?;
    let cursor = cap.capture_cursor(&source, &pointer)?;
    comp.request(json!({"request": "input", "action": "pointer-move", "x": 120, "y": 60}))?;
    wait_for(Duration::from_secs(5), "the pointer's position", || {
        cap.roundtrip().ok()?;
        let e = cursor.events.lock().ok()?;
        (e.inside && e.position == Some((120, 60))).then_some(())
    })?;

    // The pointer's image: the compositor's arrow, its tip at the hotspot.
    let (width, height, rgba, _) = cap
        .capture_frame(
            &cursor.image,
            wl_shm::Format::Argb8888,
            None,
            Duration::from_secs(5),
        )?
        .ready()?;
    assert!(
        width >= 8 && height >= 8,
        "an arrow-sized image, got {width}x{height}"
    );
    assert_eq!(cursor.events.lock().expect("events").hotspot, Some((0, 0)));
    let at = |x: u32, y: u32| &rgba[((y * width + x) * 4) as usize..][..4];
    assert_eq!(at(0, 0), [0, 0, 0, 0xff], "the outline at the tip");
    assert_eq!(at(1, 3), [0xff, 0xff, 0xff, 0xff], "the fill");
    assert_eq!(at(width - 1, 0)[3], 0, "transparent beside the tip");

    // Painted into an output capture where the pointer is; left out otherwise.
    let painted = cap.capture_output(&output, true)?;
    let (w, _, rgba, _) = cap
        .capture_frame(
            &painted,
            wl_shm::Format::Xrgb8888,
            None,
            Duration::from_secs(5),
        )?
        .ready()?;
    assert_eq!(rgb_at(&rgba, w, 121, 63), [0xff, 0xff, 0xff]);
    let plain = cap.capture_output(&output, false)?;
    let (w, _, rgba, _) = cap
        .capture_frame(
            &plain,
            wl_shm::Format::Xrgb8888,
            None,
            Duration::from_secs(5),
        )?
        .ready()?;
    assert_ne!(rgb_at(&rgba, w, 121, 63), [0xff, 0xff, 0xff]);

    // Over a window's source: the position is relative to the window, and moving off
    // the window is a leave.
    let mut app = TestClient::connect(&comp.socket_path())?;
    let _w = app.color_window("capture.under", 200, 120, &[BLUE])?;
    let (x, y, _, _) = geometry(&comp.wait_window("capture.under")?);
    cap.list_toplevels()?;
    let over_window = cap.toplevel_source("capture.under")?;
    let follower = cap.capture_cursor(&over_window, &pointer)?;
    comp.request(json!({"request": "input", "action": "pointer-move", "x": x + 30, "y": y + 20}))?;
    wait_for(
        Duration::from_secs(5),
        "the pointer over the window",
        || {
            cap.roundtrip().ok()?;
            let e = follower.events.lock().ok()?;
            (e.inside && e.position == Some((30, 20))).then_some(())
        },
    )?;
    comp.request(
        json!({"request": "input", "action": "pointer-move", "x": x + 400, "y": y + 300}),
    )?;
    wait_for(
        Duration::from_secs(5),
        "the pointer to leave the window",
        || {
            cap.roundtrip().ok()?;
            let e = follower.events.lock().ok()?;
            (!e.inside && e.leaves == 1).then_some(())
        },
    )?;
    Ok(())
}

#[test]
fn capture_misuse_is_a_protocol_error_for_the_offender_only() -> Result<()> {
    let comp = Compositor::start(&["--output", "320x240@60"])?;

    // A buffer of the wrong size fails the frame; the session goes on.
    let (mut cap, output) = capturer(&comp)?;
    let session = cap.capture_output(&output, false)?;
    match cap.capture_frame(
        &session,
        wl_shm::Format::Xrgb8888,
        Some((100, 100)),
        Duration::from_secs(5),
    )? {
        Capture::Failed(reason) => assert_eq!(reason, 1, "buffer_constraints"),
        other => anyhow::bail!("a wrong-sized buffer was captured: {other:?}"),
    }
    cap.capture_frame(
        &session,
        wl_shm::Format::Xrgb8888,
        None,
        Duration::from_secs(5),
    )?
    .ready()?;

    type Misuse = fn(&ghost_tests::capture_client::CaptureSession, &TestClient);
    fn fresh() -> std::sync::Arc<std::sync::Mutex<FrameEvents>> {
        Default::default()
    }
    let misuses: [(&str, Misuse); 3] = [
        ("two frames at once", |s, c| {
            let qh = c.qh();
            let _a = s.session.create_frame(&qh, fresh());
            let _b = s.session.create_frame(&qh, fresh());
        }),
        ("capture without a buffer", |s, c| {
            let f = s.session.create_frame(&c.qh(), fresh());
            f.capture();
        }),
        ("negative damage", |s, c| {
            let f = s.session.create_frame(&c.qh(), fresh());
            f.damage_buffer(-1, 0, 10, 10);
        }),
    ];
    for (what, misuse) in misuses {
        let (mut bad, output) = capturer(&comp)?;
        let s = bad.capture_output(&output, false)?;
        misuse(&s, &bad);
        assert!(bad.roundtrip().is_err(), "{what}: disconnected");
        assert!(is_protocol_error(&bad.conn), "{what}: as a protocol error");
    }
    // The well-behaved capturer still captures.
    match cap.capture_frame(
        &session,
        wl_shm::Format::Xrgb8888,
        None,
        Duration::from_millis(300),
    )? {
        Capture::Pending(_) | Capture::Ready { .. } => {}
        Capture::Failed(r) => anyhow::bail!("the good session failed ({r})"),
    }
    assert!(comp.windows().is_ok(), "the compositor survives");
    Ok(())
}

/// Sends one IPC request on its own thread (the answer may wait for the user).
fn ask_later(comp: &Compositor, request: Value) -> std::thread::JoinHandle<Result<Value>> {
    let socket = comp
        .runtime_dir()
        .join(format!("ghostcomp.{}.sock", comp.socket()));
    std::thread::spawn(move || {
        use std::io::{BufRead, Write};
        let mut stream = std::os::unix::net::UnixStream::connect(socket)?;
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        writeln!(stream, "{request}")?;
        let mut line = String::new();
        std::io::BufReader::new(stream).read_line(&mut line)?;
        Ok(serde_json::from_str(&line)?)
    })
}

#[test]
fn the_share_prompt_takes_a_click_return_or_escape() -> Result<()> {
    let comp = Compositor::start(&["--output", "640x480@60"])?;
    let mut app = TestClient::connect(&comp.socket_path())?;
    let _w = app.color_window("pick.me", 200, 120, &[BLUE])?;
    let window = comp.wait_window("pick.me")?;
    let (x, y, w, h) = geometry(&window);
    let choose = |types: u32| json!({"request": "cast-choose", "app_id": "org.example.Meeting", "types": types});
    let prompted = || {
        wait_for(Duration::from_secs(5), "the prompt", || {
            // The prompt is drawn across the top of the screen.
            let shot = comp.screenshot(json!({})).ok()?;
            (shot.pixel(320, 20) != shot.pixel(5, 470)).then_some(())
        })
    };

    // A click on a window shares that window.
    let answer = ask_later(&comp, choose(3));
    prompted()?;
    let (cx, cy) = (x + w / 2, y + h / 2);
    comp.request(json!({"request": "input", "action": "pointer-move", "x": cx, "y": cy}))?;
    comp.request(json!({"request": "input", "action": "click", "button": "left"}))?;
    let reply = answer.join().map_err(|_| anyhow::anyhow!("panicked"))??;
    assert_eq!(reply["result"]["source"]["window"], window["id"], "{reply}");
    assert_eq!(reply["result"]["restore"], "window:pick.me");

    // Tab outlines the window, then the screen; Shift+Tab goes back; Return shares the
    // outlined one.
    let answer = ask_later(&comp, choose(3));
    prompted()?;
    let outlined = |at: (i64, i64)| {
        wait_for(Duration::from_secs(5), "the outline", || {
            let [r, g, b] = comp
                .screenshot(json!({}))
                .ok()?
                .pixel(at.0 as u32, at.1 as u32);
            (r.abs_diff(64) <= 2 && g.abs_diff(153) <= 2 && b == 255).then_some(())
        })
    };
    comp.request(json!({"request": "input", "action": "key", "combo": "Tab"}))?;
    outlined((x + w / 2, y))?;
    comp.request(json!({"request": "input", "action": "key", "combo": "Tab"}))?;
    outlined((320, 479))?;
    comp.request(json!({"request": "input", "action": "key", "combo": "Shift+Tab"}))?;
    outlined((x + w / 2, y + h - 1))?;
    comp.request(json!({"request": "input", "action": "key", "combo": "Return"}))?;
    let reply = answer.join().map_err(|_| anyhow::anyhow!("panicked"))??;
    assert_eq!(reply["result"]["source"]["window"], window["id"], "{reply}");

    // Escape refuses.
    let answer = ask_later(&comp, choose(1));
    prompted()?;
    comp.request(json!({"request": "input", "action": "key", "combo": "Escape"}))?;
    let reply = answer.join().map_err(|_| anyhow::anyhow!("panicked"))??;
    assert_eq!(reply["ok"], false);
    assert!(reply["error"]
        .as_str()
        .unwrap_or_default()
        .starts_with("cancelled"));

    // Return shares the output under the pointer.
    let answer = ask_later(&comp, choose(1));
    prompted()?;
    comp.request(json!({"request": "input", "action": "key", "combo": "Return"}))?;
    let reply = answer.join().map_err(|_| anyhow::anyhow!("panicked"))??;
    assert_eq!(reply["result"]["source"]["output"], "HEADLESS-1", "{reply}");

    // An earlier choice that still exists needs no prompt; one that is gone does.
    let restored = comp
        .request(json!({"request": "cast-choose", "types": 1, "restore": "output:HEADLESS-1"}))?;
    assert_eq!(restored["source"]["output"], "HEADLESS-1");
    let answer = ask_later(
        &comp,
        json!({"request": "cast-choose", "types": 1, "restore": "output:DP-9"}),
    );
    prompted()?;
    let out = comp.msg_cli(&["cast-pick", "--cancel"])?;
    assert!(out.status.success());
    let reply = answer.join().map_err(|_| anyhow::anyhow!("panicked"))??;
    assert_eq!(reply["ok"], false);
    // Nothing waits any more: the prompt is gone and a pick has nothing to answer.
    assert!(!comp.msg_cli(&["cast-pick"])?.status.success());
    Ok(())
}

#[test]
fn dragging_a_rectangle_in_the_prompt_shares_that_region() -> Result<()> {
    let comp = Compositor::start(&["--output", "640x480@60"])?;
    let mut app = TestClient::connect(&comp.socket_path())?;
    let _w = app.color_window("drag.over", 200, 120, &[BLUE])?;
    comp.wait_window("drag.over")?;
    let before = comp.screenshot(json!({}))?;
    let choose = |types: u32| json!({"request": "cast-choose", "app_id": "org.example.Meeting", "types": types});
    let input = |action: Value| comp.input(action);
    let prompted = || {
        wait_for(Duration::from_secs(5), "the prompt", || {
            let shot = comp.screenshot(json!({})).ok()?;
            (shot.pixel(320, 20) != before.pixel(320, 20)).then_some(shot)
        })
    };

    // Press, drag across the window and the desktop: the rectangle is outlined.
    let answer = ask_later(&comp, choose(1 | 4));
    let asking = prompted()?;
    input(json!({"action": "pointer-move", "x": 100, "y": 100}))?;
    input(json!({"action": "press", "button": "left"}))?;
    input(json!({"action": "pointer-move", "x": 300, "y": 250}))?;
    let outlined = wait_for(Duration::from_secs(5), "the outline", || {
        let shot = comp.screenshot(json!({})).ok()?;
        let [r, g, b] = shot.pixel(200, 100);
        (r.abs_diff(64) <= 2 && g.abs_diff(153) <= 2 && b == 255).then_some(shot)
    })?;
    assert_eq!(
        outlined.pixel(300 - 1, 200),
        outlined.pixel(200, 100),
        "right edge"
    );
    assert_eq!(
        outlined.pixel(200, 175),
        asking.pixel(200, 175),
        "inside is untouched"
    );
    // Releasing shares it; the outline goes with the prompt.
    input(json!({"action": "release", "button": "left"}))?;
    let reply = answer.join().map_err(|_| anyhow::anyhow!("panicked"))??;
    assert_eq!(
        reply["result"]["source"],
        json!({"output": "HEADLESS-1", "region": [100, 100, 200, 150]}),
        "{reply}"
    );
    assert_eq!(
        reply["result"]["restore"],
        "region:HEADLESS-1:100,100,200,150"
    );
    wait_for(Duration::from_secs(5), "the outline to go", || {
        let shot = comp.screenshot(json!({})).ok()?;
        (shot.pixel(200, 100) == before.pixel(200, 100)).then_some(())
    })?;

    // The restore data brings the same region back without asking, where regions are
    // wanted; a request for monitors only is asked again.
    let restored = comp.request(json!({"request": "cast-choose", "types": 4, "restore": "region:HEADLESS-1:100,100,200,150"}))?;
    assert_eq!(restored["source"]["region"], json!([100, 100, 200, 150]));
    let answer = ask_later(
        &comp,
        json!({"request": "cast-choose", "types": 1, "restore": "region:HEADLESS-1:100,100,200,150"}),
    );
    prompted()?;
    assert!(comp.msg_cli(&["cast-pick", "--cancel"])?.status.success());
    let reply = answer.join().map_err(|_| anyhow::anyhow!("panicked"))??;
    assert_eq!(reply["ok"], false, "{reply}");

    // A click without a drag, when only regions are wanted, shares the whole screen.
    let answer = ask_later(&comp, choose(4));
    prompted()?;
    input(json!({"action": "click", "button": "left"}))?;
    let reply = answer.join().map_err(|_| anyhow::anyhow!("panicked"))??;
    assert_eq!(
        reply["result"]["source"]["region"],
        json!([0, 0, 640, 480]),
        "{reply}"
    );
    Ok(())
}

/// Captures that want the pointer (wlr-screencopy's `overlay_cursor`,
/// ext-image-copy-capture's `paint_cursors`) are the shown picture with the arrow laid
/// over it, not a whole output drawn again. What a client gets is checked against a
/// reference made here: the screenshot (drawn, no pointer) with the arrow as a cursor
/// session captures it laid over at the pointer, premultiplied source-over; whole, cut
/// to a region, and with the arrow over the output's corner.
#[test]
fn captures_with_the_pointer_equal_the_screen_with_the_arrow_over_it() -> Result<()> {
    let comp = Compositor::start(&["--output", "320x240@60"])?;
    let mut app = TestClient::connect(&comp.socket_path())?;
    let _window = app.color_window("copy.pointer", 200, 120, &[RED])?;
    let (x, y, _, _) = geometry(&comp.wait_window("copy.pointer")?);
    let (mut cap, output) = capturer(&comp)?;
    let manager = cap.wlr_screencopy()?;
    // The screen shows the window from its next refresh on.
    wait_for(Duration::from_secs(5), "the window on the screen", || {
        let shown = cap.wlr_copy(&manager, &output, false, None).ok()?;
        shown.rgb.contains(&[0xff, 0, 0]).then_some(())
    })?;
    // The arrow, captured on its own, and where in it the pointer is.
    cap.watch_seat()?;
    let pointer = cap.state.seat.pointer.clone().expect("a pointer");
    comp.request(json!({"request": "input", "action": "pointer-move", "x": x + 20, "y": y + 10}))?;
    let source = cap.output_source(&output)?;
    let cursor = cap.capture_cursor(&source, &pointer)?;
    let (aw, ah, arrow, _) = cap
        .capture_frame(
            &cursor.image,
            wl_shm::Format::Argb8888,
            None,
            Duration::from_secs(5),
        )?
        .ready()?;
    let (hx, hy) = cursor
        .events
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .hotspot
        .unwrap_or((0, 0));
    let painted = cap.capture_output(&output, true)?;
    let off = |a: [u8; 3], b: [u8; 3]| a.iter().zip(b).any(|(p, q)| p.abs_diff(q) > 1);
    for (px, py) in [(x + 20, y + 10), (315, 236)] {
        comp.request(json!({"request": "input", "action": "pointer-move", "x": px, "y": py}))?;
        let shot = comp.screenshot(json!({}))?;
        let (w, h) = (shot.width, shot.height);
        let (ax, ay) = (px - i64::from(hx), py - i64::from(hy));
        let expected = |cx: u32, cy: u32| -> [u8; 3] {
            let under = shot.pixel(cx, cy);
            let (dx, dy) = (i64::from(cx) - ax, i64::from(cy) - ay);
            if dx < 0 || dy < 0 || dx >= i64::from(aw) || dy >= i64::from(ah) {
                return under;
            }
            let a = &arrow[((dy as u32 * aw + dx as u32) * 4) as usize..][..4];
            let over = |src: u8, dst: u8| {
                let rest = f64::from(dst) * f64::from(255 - a[3]) / 255.0;
                (f64::from(src) + rest).round().min(255.0) as u8
            };
            [
                over(a[0], under[0]),
                over(a[1], under[1]),
                over(a[2], under[2]),
            ]
        };
        let copied = cap.wlr_copy(&manager, &output, true, None)?;
        assert_eq!((copied.width, copied.height), (w, h));
        let (_, _, ext, _) = cap
            .capture_frame(
                &painted,
                wl_shm::Format::Xrgb8888,
                None,
                Duration::from_secs(5),
            )?
            .ready()?;
        let (mut wlr_off, mut ext_off) = (0, 0);
        for cy in 0..h {
            for cx in 0..w {
                let want = expected(cx, cy);
                wlr_off += usize::from(off(copied.rgb[(cy * w + cx) as usize], want));
                ext_off += usize::from(off(rgb_at(&ext, w, cx, cy), want));
            }
        }
        assert_eq!(
            wlr_off, 0,
            "wlr-screencopy pixels unlike the reference, pointer at {px},{py}"
        );
        assert_eq!(
            ext_off, 0,
            "ext-image-copy pixels unlike the reference, pointer at {px},{py}"
        );
        let plain = cap.wlr_copy(&manager, &output, false, None)?;
        assert!(
            plain.rgb.iter().zip(&copied.rgb).any(|(a, b)| a != b),
            "the pointer is in the copy that asked for it only"
        );
        // A region around the pointer's tip, clipped to the output.
        let (rx, ry) = ((px - 6) as i32, (py - 6) as i32);
        let (rw, rh) = (30.min(320 - rx), 30.min(240 - ry));
        let part = cap.wlr_copy(&manager, &output, true, Some((rx, ry, rw, rh)))?;
        assert_eq!((part.width, part.height), (rw as u32, rh as u32));
        for cy in 0..part.height {
            for cx in 0..part.width {
                let want = expected(rx as u32 + cx, ry as u32 + cy);
                let got = part.rgb[(cy * part.width + cx) as usize];
                assert!(
                    !off(got, want),
                    "region pixel {cx},{cy}: {got:?} vs {want:?}"
                );
            }
        }
    }
    Ok(())
}
