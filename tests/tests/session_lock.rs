//! The session lock (ext-session-lock-v1) with Debian's swaylock and a locker of our own
//! (swaylock unlocks only through PAM): while locked the screen, screenshots and grim
//! show only the lock surface, input reaches only it, a dead locker leaves the session
//! locked behind black, an output plugged in while locked is covered, and only a lock
//! client unlocks. Idle (ext-idle-notify-v1) with Debian's swayidle.

use std::{path::Path, process::Stdio, time::Duration};

use anyhow::{Context, Result};
use ghost_tests::{client::TestClient, read_png, require_program, wait_for, Compositor};
use serde_json::json;

const APP: u32 = 0xffd0_2020;
const APP_RGB: [u8; 3] = [0xd0, 0x20, 0x20];
/// swaylock's colour (`-c`), and our locker's.
const SWAYLOCK_RGB: [u8; 3] = [0x33, 0x66, 0x99];
const LOCKER: u32 = 0xff20_c040;
const LOCKER_RGB: [u8; 3] = [0x20, 0xc0, 0x40];
const BLACK: [u8; 3] = [0, 0, 0];
/// Evdev codes of the keys typed.
const KEY_A: u32 = 30;
const KEY_B: u32 = 48;

fn close(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 2)
}

/// Waits until the screenshot's pixel at `at` has `rgb`.
fn wait_pixel(comp: &Compositor, at: (u32, u32), rgb: [u8; 3], what: &str) -> Result<()> {
    wait_for(Duration::from_secs(10), what, || {
        let shot = comp.screenshot(json!({})).ok()?;
        close(shot.pixel(at.0, at.1), rgb).then_some(())
    })
}

fn key(comp: &Compositor, combo: &str) -> Result<()> {
    comp.input(json!({"action": "key", "combo": combo}))?;
    Ok(())
}

#[test]
fn a_locked_session_shows_and_hears_only_its_locker_and_a_dead_locker_leaves_it_locked(
) -> Result<()> {
    require_program("swaylock")?;
    let home = std::env::temp_dir().join(format!("ghost-lock-{}", std::process::id()));
    std::fs::create_dir_all(home.join("ghostcomp"))?;
    std::fs::write(
        home.join("ghostcomp/config.toml"),
        "[lock]\ncommand = [\"swaylock\", \"-c\", \"aa5500\"]\n",
    )?;
    let comp = Compositor::start_with_config_home(&["--output", "1280x720@60"], &home)?;
    let mut app = TestClient::connect(&comp.socket_path())?;
    app.watch_seat()?;
    let window = app.color_window("private", 400, 300, &[APP])?;
    let g = comp.wait_window("private")?["geometry"].clone();
    let centre = (
        g["x"].as_u64().context("x")? as u32 + 200,
        g["y"].as_u64().context("y")? as u32 + 150,
    );
    comp.input(json!({"action": "pointer-move", "x": centre.0, "y": centre.1}))?;
    comp.input(json!({"action": "click", "button": "left"}))?;
    wait_pixel(&comp, centre, APP_RGB, "the window")?;
    key(&comp, "a")?;
    app.roundtrip()?;
    assert_eq!(
        app.state.seat.pressed,
        vec![KEY_A],
        "the window has the keyboard"
    );

    // swaylock locks: its colour covers the window on the screen and in grim's picture.
    let mut swaylock = comp
        .command("swaylock")
        .args(["-c", "336699", "--no-unlock-indicator"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    wait_pixel(&comp, centre, SWAYLOCK_RGB, "swaylock's colour")?;
    let locked = comp.request(json!({"request": "version"}))?["session_lock"].clone();
    assert_eq!(locked["locked"], true, "{locked}");
    assert_eq!(locked["held"], true, "{locked}");
    let grim = comp.runtime_dir().join("grim.png");
    let out = comp.command("grim").arg(&grim).output()?;
    assert!(
        out.status.success(),
        "grim: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let picture = read_png(&grim)?;
    assert!(close(picture.pixel(centre.0, centre.1), SWAYLOCK_RGB));
    assert!(close(picture.pixel(5, 5), SWAYLOCK_RGB));

    // Keys and clicks reach nobody else.
    key(&comp, "a")?;
    comp.input(json!({"action": "click", "button": "left"}))?;
    app.roundtrip()?;
    assert_eq!(
        app.state.seat.pressed,
        vec![KEY_A],
        "no key reached the window"
    );
    assert_eq!(
        app.state.seat.buttons.len(),
        1,
        "no click reached the window"
    );
    let clicks_before = app.state.seat.buttons.len();

    // swaylock dies: the session stays locked behind black.
    swaylock.kill()?;
    swaylock.wait()?;
    wait_pixel(&comp, centre, BLACK, "black after the locker died")?;
    key(&comp, "a")?;
    comp.input(json!({"action": "click", "button": "left"}))?;
    app.roundtrip()?;
    assert_eq!(app.state.seat.pressed, vec![KEY_A]);
    assert_eq!(app.state.seat.buttons.len(), clicks_before);
    let shot = comp.screenshot(json!({}))?;
    assert!(close(shot.pixel(centre.0, centre.1), BLACK));

    // A monitor plugged in now is covered from its first frame.
    let added = comp.request(json!({"request": "create-output", "width": 800, "height": 600}))?;
    let name = added["name"].as_str().context("output name")?.to_string();
    let shot = comp.screenshot(json!({"output": name}))?;
    assert!(
        close(shot.pixel(400, 300), BLACK),
        "{:?}",
        shot.pixel(400, 300)
    );

    // A new locker takes the lock over; a third is refused while it holds it.
    let mut locker = TestClient::connect(&comp.socket_path())?;
    locker.watch_seat()?;
    let mut held = locker.lock_session()?;
    assert!(locker.state.lock.locked, "the new locker took over");
    locker.show_lock_surface(&mut held, LOCKER)?;
    wait_pixel(&comp, centre, LOCKER_RGB, "the new locker's surface")?;
    let mut intruder = TestClient::connect(&comp.socket_path())?;
    let _refused = intruder.lock_session()?;
    assert!(intruder.state.lock.finished && !intruder.state.lock.locked);
    key(&comp, "b")?;
    wait_for(Duration::from_secs(5), "the key at the locker", || {
        locker.roundtrip().ok()?;
        locker.state.seat.pressed.contains(&KEY_B).then_some(())
    })?;
    app.roundtrip()?;
    assert_eq!(
        app.state.seat.pressed,
        vec![KEY_A],
        "the window heard nothing"
    );

    // It unlocks: the window is back, with the keyboard.
    locker.unlock_session(held)?;
    wait_pixel(&comp, centre, APP_RGB, "the window after unlocking")?;
    key(&comp, "b")?;
    wait_for(Duration::from_secs(5), "the key at the window", || {
        app.roundtrip().ok()?;
        (app.state.seat.pressed == vec![KEY_A, KEY_B]).then_some(())
    })?;

    // `ghostcomp msg lock` starts the configured locker.
    let out = comp.msg_cli(&["lock"])?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_pixel(&comp, centre, [0xaa, 0x55, 0x00], "the configured locker")?;
    drop(window);
    let _ = std::fs::remove_dir_all(&home);
    Ok(())
}

/// Waits for `path` to exist.
fn wait_file(path: &Path, what: &str, within: Duration) -> Result<()> {
    wait_for(within, what, || path.exists().then_some(()))
}

#[test]
fn swayidle_runs_its_commands_after_idle_and_on_input_and_an_inhibitor_holds_it_off() -> Result<()>
{
    require_program("swayidle")?;
    let comp = Compositor::start(&[])?;
    let dir = comp.runtime_dir().to_path_buf();
    let (idle, resumed) = (dir.join("idle"), dir.join("resumed"));
    let mut swayidle = comp
        .command("swayidle")
        .args([
            "-w",
            "timeout",
            "1",
            &format!("touch {}", idle.display()),
            "resume",
            &format!("touch {}", resumed.display()),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    wait_file(&idle, "swayidle's timeout command", Duration::from_secs(10))?;
    assert!(!resumed.exists());
    comp.input(json!({"action": "pointer-move", "x": 10, "y": 10}))?;
    wait_file(
        &resumed,
        "swayidle's resume command",
        Duration::from_secs(5),
    )?;

    // A video player inhibits idle: a second idle second passes without the command.
    std::fs::remove_file(&idle)?;
    let mut player = TestClient::connect(&comp.socket_path())?;
    let window = player.color_window("player", 320, 180, &[0xff10_1010])?;
    let inhibitor = player.inhibit_idle(&window.surface)?;
    comp.input(json!({"action": "pointer-move", "x": 20, "y": 20}))?;
    std::thread::sleep(Duration::from_millis(2500));
    assert!(!idle.exists(), "idle while a player inhibited it");
    // The player stops: idle comes a second later.
    inhibitor.destroy();
    player.roundtrip()?;
    wait_file(
        &idle,
        "idle after the inhibitor went",
        Duration::from_secs(10),
    )?;
    let _ = swayidle.kill();
    let _ = swayidle.wait();
    Ok(())
}
