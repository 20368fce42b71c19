//! Screen sharing to the programs people share through: Debian's Chromium (the
//! capturer of Chrome, Edge, Discord, Slack, Teams and every Electron app) and Firefox
//! ESR, each showing `tests/portal/share.html`, and OBS Studio recording its "Screen
//! Capture (PipeWire)" source; all on headless ghostcomp, in a private session with
//! PipeWire, WirePlumber, xdg-desktop-portal and ghostcomp's portal backend. The page
//! shares through getDisplayMedia and reports through its title what arrived; OBS's
//! recording is read back with ffmpeg.

use std::{path::PathBuf, time::Duration};

use anyhow::{Context, Result};
use ghost_tests::{
    browser::{page, probe, Browser, Kind},
    client::TestClient,
    obs::{Obs, Recording},
    share_session::ShareSession,
    Compositor,
};
use serde_json::{json, Value};

const RED: u32 = 0xff_ff_00_00;

/// The scene's windows stack at fixed places (`RED_AT`, `ANIMATION_AT`, `SECRET_AT`), each
/// over the last, which new windows would otherwise avoid.
const RULES: &str = r#"[capture]
unattended = "grant"

[[window_rule]]
app_id = '^share\.secret$'
block_out_from_screencast = true
position = [860, 490]

[[window_rule]]
app_id = '^share\.red$'
position = [810, 440]

[[window_rule]]
app_id = '^org\.freedesktop\.weston\.simple-shm$'
position = [835, 415]
"#;

/// One browser at a time: two at once on a small test machine would measure each
/// other.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn start(name: &str) -> Result<(Compositor, ShareSession)> {
    if let Some(why) = ghost_tests::share_session::missing_parts() {
        anyhow::bail!("{why}: scripts/install-deps.sh installs it");
    }
    let home: PathBuf =
        std::env::temp_dir().join(format!("ghost-browser-{name}-{}", std::process::id()));
    std::fs::create_dir_all(home.join("ghostcomp"))?;
    std::fs::write(home.join("ghostcomp/config.toml"), RULES)?;
    let comp = Compositor::start_with_config_home(&["--output", "1920x1080@60"], &home)?;
    let session = ShareSession::start(&comp)?;
    Ok((comp, session))
}

fn geometry(window: &Value) -> (u32, u32, u32, u32) {
    let g = &window["geometry"];
    let n = |k: &str| g[k].as_u64().unwrap_or(0) as u32;
    (n("x"), n("y"), n("width"), n("height"))
}

fn number(report: &Value, key: &str) -> f64 {
    report[key].as_f64().unwrap_or(-1.0)
}

/// Windows above the browser: a red one, weston-simple-shm animating at the display's
/// rate above it, and a window blocked out of captures above both. ghostcomp centres new
/// windows, so where they land is known before they open (the page must be told its
/// probe points when it loads); [`scene`] checks it.
struct Scene {
    _clients: Vec<(TestClient, ghost_tests::client::ColorWindow)>,
}

const RED_AT: (u32, u32, u32, u32) = (810, 440, 300, 200);
const ANIMATION_AT: (u32, u32, u32, u32) = (835, 415, 250, 250);
const SECRET_AT: (u32, u32, u32, u32) = (860, 490, 200, 100);
/// Inside the red window, beside the animation.
const RED_PROBE: (u32, u32) = (820, 600);
/// The middle of the blocked window.
const SECRET_PROBE: (u32, u32) = (960, 540);
/// Where the pointer is put: over the red window's right edge, beside the animation.
const POINTER_AT: (u32, u32) = (1088, 445);
/// Inside the arrow ghostcomp draws there (its tip at `POINTER_AT`), which consumers
/// draw from the cast's cursor metadata: white, where the screen under it is red.
const ARROW_PROBE: (u32, u32) = (1092, 454);
/// The animation's strip above the blocked window.
const WATCH: (u32, u32, u32, u32) = (835, 415, 250, 70);

fn scene(comp: &mut Compositor) -> Result<Scene> {
    let mut red_app = TestClient::connect(&comp.socket_path())?;
    let red_window = red_app.color_window("share.red", 300, 200, &[RED])?;
    assert_eq!(geometry(&comp.wait_window("share.red")?), RED_AT);
    ghost_tests::require_program("weston-simple-shm")?;
    comp.spawn_client(comp.command("weston-simple-shm"))?;
    let animation = comp.wait_window("org.freedesktop.weston.simple-shm")?;
    assert_eq!(geometry(&animation), ANIMATION_AT);
    let mut secret_app = TestClient::connect(&comp.socket_path())?;
    let secret_window = secret_app.color_window("share.secret", 200, 100, &[RED])?;
    assert_eq!(geometry(&comp.wait_window("share.secret")?), SECRET_AT);
    Ok(Scene {
        _clients: vec![(red_app, red_window), (secret_app, secret_window)],
    })
}

/// Whether two colours are the same but for `slack` per channel (a browser's YUV video
/// path rounds by a few steps, an encoder at its fastest by more).
fn within(got: &[u8], want: [u8; 3], slack: u8) -> bool {
    got.len() == 3 && got.iter().zip(want).all(|(g, w)| g.abs_diff(w) <= slack)
}

/// The same colour but for a browser's rounding.
fn near(got: &[u8], want: [u8; 3]) -> bool {
    within(got, want, 4)
}

/// One consumer at a time, and a test skipped with a reason where its program is
/// `missing`.
fn turn(missing: Option<String>) -> Result<std::sync::MutexGuard<'static, ()>> {
    let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(why) = missing {
        anyhow::bail!("{why}: scripts/install-deps.sh installs it");
    }
    Ok(turn)
}

/// What a monitor share must deliver to a browser: the first frame within a second,
/// the output's size, the right picture (blocked windows black), and at least 55 of
/// the animation's 60 frames a second (50 for Firefox, which takes fewer under load).
fn monitor_share(kind: Kind) -> Result<()> {
    let _turn = turn(ghost_tests::browser::missing(kind))?;
    let (mut comp, session) = start(&format!("{kind:?}-monitor"))?;
    let (rx, ry) = RED_PROBE;
    let (sx, sy) = SECRET_PROBE;
    let (px, py) = ARROW_PROBE;
    let (ax, ay, aw, ah) = WATCH;
    // Chromium asks by itself once the scene is up; Firefox when the page is clicked.
    let query = format!(
        "{}probe={rx},{ry}&probe={sx},{sy}&probe={px},{py}&watch={ax},{ay},{aw},{ah}",
        if kind == Kind::Chromium {
            "auto&delay=4000&"
        } else {
            ""
        }
    );
    let browser = Browser::launch(kind, &comp, &session, &page(&query))?;
    let window = geometry(&browser.window(&comp)?);
    // A click raises the window it lands on: Firefox is clicked before the scene opens
    // above it (the share then sees the scene arrive), Chromium asks by itself.
    if kind == Kind::Firefox {
        browser.wait_report(&comp, Duration::from_secs(30), "the page", |r| {
            r["state"] == "idle"
        })?;
        click_page(&comp, window)?;
    }
    let _scene = scene(&mut comp)?;
    let first = browser.wait_report(&comp, Duration::from_secs(30), "the first frame", |r| {
        r["first_ms"].is_number() || r["state"] == "error"
    })?;
    assert_eq!(first["state"], "started", "{first}");
    assert!(
        number(&first, "first_ms") < 1000.0,
        "the first frame after a second: {first}"
    );
    point_at(&comp)?;
    // Three seconds of frames: the page's count (updated once a second) and the cast's.
    let before = browser.wait_report(&comp, Duration::from_secs(5), "a count", |r| {
        r["changes"].is_number()
    })?;
    let sent_before = cast_frames(&comp)?;
    let counting = std::time::Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    let report = browser
        .report(&comp)?
        .ok_or_else(|| anyhow::anyhow!("no report"))?;
    let seconds = counting.elapsed().as_secs_f64();
    let sent = (cast_frames(&comp)? - sent_before) as f64 / seconds;
    let changes = (number(&report, "changes") - number(&before, "changes")) / seconds.round();
    eprintln!("{kind:?}: {report}; ghostcomp sent {sent:.1} frames a second, the page saw {changes:.1} new ones");
    assert_eq!(
        (report["w"].as_u64(), report["h"].as_u64()),
        (Some(1920), Some(1080)),
        "{report}"
    );
    assert!(
        near(&probe(&report, rx, ry), [0xff, 0, 0]),
        "the red window: {report}"
    );
    assert!(
        near(&probe(&report, sx, sy), [0, 0, 0]),
        "the blocked window: {report}"
    );
    assert_eq!(
        comp.screenshot(json!({}))?.pixel(sx, sy),
        [0xff, 0, 0],
        "on screen"
    );
    assert!(
        near(&probe(&report, px, py), [0xff, 0xff, 0xff]),
        "the pointer, drawn by the browser from the cast's metadata: {report}"
    );
    // A frame counts as sent only when a buffer was free, that is when the consumer had
    // handed one back: 55 a second means Chromium takes the animation's frames. The page
    // sees fewer: Chromium samples its latest frame on its own 60 Hz timer and draws in
    // software on the test machine's two cores (47 to 58 a second over repeated runs;
    // sway with xdg-desktop-portal-wlr gave it 53). A stalled share shows 0 there.
    // Firefox ESR takes fewer on a loaded two-core machine: 51.8, 52.4 and 54.3 sent
    // (33.7 to 44.7 seen by the page) in clean-clone runs here, 58.7 when idle.
    let (sent_floor, seen_floor) = match kind {
        Kind::Chromium => (55.0, 40.0),
        _ => (50.0, 30.0),
    };
    assert!(
        sent >= sent_floor,
        "{sent} frames a second sent of a 60 fps animation"
    );
    assert!(
        changes >= seen_floor,
        "{changes} new frames a second of a 60 fps animation reached the page: {report}"
    );
    let casts = comp.request(json!({"request": "casts"}))?;
    assert_eq!(casts.as_array().map(Vec::len), Some(1), "{casts}");
    Ok(())
}

/// Puts the pointer at [`POINTER_AT`], over the red window, and checks that the cast
/// sends it as metadata (the browsers and OBS ask for that cursor mode).
fn point_at(comp: &Compositor) -> Result<()> {
    let (x, y) = POINTER_AT;
    comp.input(json!({"action": "pointer-move", "x": x, "y": y}))?;
    let casts = comp.request(json!({"request": "casts"}))?;
    assert_eq!(casts[0]["cursor"], "metadata", "{casts}");
    Ok(())
}

/// Frames the (one) cast has sent.
fn cast_frames(comp: &Compositor) -> Result<u64> {
    let casts = comp.request(json!({"request": "casts"}))?;
    Ok(casts[0]["frames"].as_u64().unwrap_or(0))
}

/// Clicks the browser's page where none of the scene's windows is: its lower part,
/// below the centred windows.
fn click_page(comp: &Compositor, window: (u32, u32, u32, u32)) -> Result<()> {
    let (x, y, w, h) = window;
    let spot = (
        x + w / 2,
        (y + h * 9 / 10).max(SECRET_AT.1 + SECRET_AT.3 + 60),
    );
    comp.input(json!({"action": "pointer-move", "x": spot.0, "y": spot.1}))?;
    comp.input(json!({"action": "click", "button": "left"}))?;
    Ok(())
}

/// A monitor share measured once more when the first measurement falls short: the
/// frame-rate floors are figures of a browser drawing in software on two cores, which a
/// busy moment on the machine can push under them once; a real stall fails both.
fn monitor_share_measured(kind: Kind) -> Result<()> {
    let first = std::panic::catch_unwind(|| monitor_share(kind));
    match first {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            eprintln!("{kind:?}: the first measurement fell short ({e:#}); measuring again");
            monitor_share(kind)
        }
        Err(_) => {
            eprintln!("{kind:?}: the first measurement fell short; measuring again");
            monitor_share(kind)
        }
    }
}

#[test]
fn chromium_gets_the_screen_at_the_display_rate_with_the_right_picture() -> Result<()> {
    monitor_share_measured(Kind::Chromium)
}

#[test]
fn chromium_shares_one_window_alone() -> Result<()> {
    let _turn = turn(ghost_tests::browser::missing(Kind::Chromium))?;
    let (comp, session) = start("chromium-window")?;
    // The page asks after two seconds; by then the red window is focused, and a
    // window share with unattended = "grant" gets the focused window.
    let browser = Browser::launch(
        Kind::Chromium,
        &comp,
        &session,
        &page("auto&delay=2000&surface=window&probe=20,20&probe=299,199"),
    )?;
    browser.window(&comp)?;
    let mut app = TestClient::connect(&comp.socket_path())?;
    let _red = app.color_window("share.red", 300, 200, &[RED])?;
    comp.wait_window("share.red")?;
    let report =
        browser.wait_report(&comp, Duration::from_secs(30), "the window's frames", |r| {
            r["w"].as_u64() > Some(0) || r["state"] == "error"
        })?;
    eprintln!("window share: {report}");
    assert_eq!(report["surface"], "window", "{report}");
    assert_eq!(
        (report["w"].as_u64(), report["h"].as_u64()),
        (Some(300), Some(200)),
        "{report}"
    );
    assert!(near(&probe(&report, 20, 20), [0xff, 0, 0]), "{report}");
    assert!(near(&probe(&report, 299, 199), [0xff, 0, 0]), "{report}");
    Ok(())
}

#[test]
fn firefox_gets_the_screen_at_the_display_rate_with_the_right_picture() -> Result<()> {
    monitor_share_measured(Kind::Firefox)
}

/// OBS records the screen through the portal as a streamer's would: the scene's picture
/// (blocked windows black) at the output's size, with the pointer OBS draws from the
/// cast's metadata. OBS composes its canvas on the CPU here (no GPU).
#[test]
fn obs_records_the_screen_through_the_portal() -> Result<()> {
    let _turn = turn(ghost_tests::obs::missing())?;
    let (mut comp, session) = start("obs")?;
    let obs = Obs::record(&comp, &session)?;
    comp.wait_window(ghost_tests::obs::APP_ID)
        .with_context(|| obs.log_tail())?;
    let casts = ghost_tests::wait_for(Duration::from_secs(30), "OBS's cast", || {
        let casts = comp.request(json!({"request": "casts"})).ok()?;
        (casts[0]["frames"].as_u64() > Some(0)).then_some(casts)
    })
    .with_context(|| obs.log_tail())?;
    assert_eq!(casts[0]["state"], "streaming", "{casts}");
    // Opened after OBS, so above its window.
    let _scene = scene(&mut comp)?;
    point_at(&comp)?;
    std::thread::sleep(Duration::from_secs(1));
    let sent_before = cast_frames(&comp)?;
    let counting = std::time::Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    let sent = (cast_frames(&comp)? - sent_before) as f64 / counting.elapsed().as_secs_f64();
    let file = obs.stop()?;
    let recording = Recording::open(&file)?;
    let end = recording.seconds - 0.5;
    let (ax, ay, aw, ah) = WATCH;
    let composed = recording.changes_per_second((ax, ay, aw, ah), end - 3.0, end)?;
    let (rx, ry) = RED_PROBE;
    let (sx, sy) = SECRET_PROBE;
    let red = recording.colour(end, rx, ry)?;
    let secret = recording.colour(end, sx, sy)?;
    let (px, py) = ARROW_PROBE;
    let arrow = recording.colour(end, px, py)?;
    eprintln!(
        "OBS: {:?} over {:.1} s; ghostcomp sent {sent:.1} frames a second, the recording \
         changed {composed:.1} times a second; red {red:?}, blocked {secret:?}, pointer {arrow:?}",
        recording.size, recording.seconds
    );
    assert_eq!(recording.size, (1920, 1080));
    // x264 at its fastest blurs colours a little more than a browser's decoder.
    assert!(within(&red, [0xff, 0, 0], 12), "the red window: {red:?}");
    assert!(
        within(&secret, [0, 0, 0], 12),
        "the blocked window: {secret:?}"
    );
    assert!(
        within(&arrow, [0xff, 0xff, 0xff], 12),
        "the pointer: {arrow:?}"
    );
    // OBS's PipeWire thread hands each buffer back once it has uploaded it into a
    // texture, which waits for the canvas's software renderer: on the test machine's
    // two cores it is late now and then, and the cast drops those frames (46 to 55 a
    // second over repeated runs).
    assert!(
        sent >= 40.0,
        "{sent} frames a second sent of a 60 fps animation"
    );
    assert!(
        composed >= 20.0,
        "{composed} new frames a second in the recording"
    );
    Ok(())
}
