//! X11 programs on ghostcomp through Xwayland (Debian's 22.1, which ties its windows to
//! surfaces only by WL_SURFACE_ID): Debian's xterm, xeyes, xclock, xev, xdotool and
//! xclip against a headless ghostcomp that starts Xwayland at the first X11 connection.

use std::{
    io::Read,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use ghost_tests::{require_program, wait_for, Compositor};
use serde_json::{json, Value};

/// The colour xterm's background is given, and how it reads back.
const XTERM_BG: &str = "#c03020";
const XTERM_RGB: [u8; 3] = [0xc0, 0x30, 0x20];

fn close(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 2)
}

fn xwayland(comp: &Compositor) -> Result<Value> {
    Ok(comp.request(json!({"request": "version"}))?["xwayland"].clone())
}

/// An X11 program on `comp`'s Xwayland (DISPLAY set, no WAYLAND_DISPLAY).
fn x11(comp: &Compositor, program: &str) -> Result<Command> {
    require_program(program)?;
    let display = xwayland(comp)?["display"]
        .as_str()
        .context("no X11 display")?
        .to_string();
    let mut cmd = comp.command(program);
    cmd.env("DISPLAY", display).env_remove("WAYLAND_DISPLAY");
    Ok(cmd)
}

/// Starts `cmd`, killed when the guard drops.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run(mut cmd: Command) -> Result<Running> {
    Ok(Running(
        cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn()?,
    ))
}

/// An xterm running `sh` (no start-up files) with a known background.
fn xterm(comp: &Compositor, title: &str) -> Result<Running> {
    let mut cmd = x11(comp, "xterm")?;
    // Where a click lands on its menu's "Log to File", the log goes with the compositor's
    // scratch folder.
    cmd.current_dir(comp.runtime_dir());
    cmd.args(["-T", title, "-bg", XTERM_BG, "-e", "sh"]);
    run(cmd)
}

fn window<'a>(windows: &'a [Value], title: &str) -> Option<&'a Value> {
    windows.iter().find(|w| w["title"] == title)
}

fn wait_titled(comp: &Compositor, title: &str) -> Result<Value> {
    wait_for(Duration::from_secs(20), title, || {
        let windows = comp.windows().ok()?;
        window(&windows, title)
            .filter(|w| w["geometry"]["width"].as_i64() > Some(0))
            .cloned()
    })
}

fn xdotool(comp: &Compositor, args: &[&str]) -> Result<()> {
    let status = x11(comp, "xdotool")?.args(args).status()?;
    anyhow::ensure!(status.success(), "xdotool {args:?} failed");
    Ok(())
}

#[test]
fn x11_programs_map_as_windows_with_their_title_class_and_pixels() -> Result<()> {
    let comp = Compositor::start(&[])?;
    // On demand: the sockets exist, the server does not run yet.
    let before = xwayland(&comp)?;
    assert_eq!(before["mode"], "on-demand", "{before}");
    assert!(before["display"].as_str().is_some(), "{before}");
    assert_eq!(before["running"], false, "{before}");

    let launched = Instant::now();
    let _term = xterm(&comp, "x11-term")?;
    let term = wait_titled(&comp, "x11-term")?;
    eprintln!(
        "xterm mapped {} ms after launch, Xwayland cold",
        launched.elapsed().as_millis()
    );
    assert_eq!(term["app_id"], "XTerm", "WM_CLASS is the app id: {term}");
    assert_eq!(term["xwayland"], true, "{term}");
    wait_for(
        Duration::from_secs(10),
        "the new X11 window to take the focus",
        || {
            let windows = comp.windows().ok()?;
            (window(&windows, "x11-term")?["focused"] == true).then_some(())
        },
    )?;
    let after = xwayland(&comp)?;
    assert_eq!(after["running"], true, "{after}");
    assert_eq!(after["starts"], 1, "{after}");

    let _eyes = run(x11(&comp, "xeyes")?)?;
    let _clock = run(x11(&comp, "xclock")?)?;
    comp.wait_window("XEyes")?;
    comp.wait_window("XClock")?;

    // xterm's pixels are on the screen where its window is (below the others' cascade,
    // so read near its bottom-right corner, clear of its text).
    let g = &term["geometry"];
    let (x, y, w, h) = (
        g["x"].as_u64().context("x")? as u32,
        g["y"].as_u64().context("y")? as u32,
        g["width"].as_u64().context("w")? as u32,
        g["height"].as_u64().context("h")? as u32,
    );
    let (px, py) = (x + w - 6, y + h - 6);
    let mut seen = [0; 3];
    wait_for(Duration::from_secs(10), "xterm's background", || {
        seen = comp.screenshot(json!({})).ok()?.pixel(px, py);
        close(seen, XTERM_RGB).then_some(())
    })
    .map_err(|e| anyhow::anyhow!("{e}: {seen:?}"))?;
    Ok(())
}

#[test]
fn typing_and_clicking_reach_x11_windows() -> Result<()> {
    let comp = Compositor::start(&[])?;
    let _term = xterm(&comp, "typed-term")?;
    wait_titled(&comp, "typed-term")?;
    // Typed into the focused X11 window through the X server (XTEST) …
    let by_xdotool = comp.runtime_dir().join("by-xdotool");
    xdotool(
        &comp,
        &[
            "type",
            "--delay",
            "20",
            &format!("touch {}\n", by_xdotool.display()),
        ],
    )?;
    wait_for(
        Duration::from_secs(10),
        "xterm to run the typed command",
        || by_xdotool.exists().then_some(()),
    )?;
    // … and through ghostcomp's own keyboard, which reaches Xwayland over Wayland.
    let by_seat = comp.runtime_dir().join("by-seat");
    comp.input(json!({"action": "type", "text": format!("touch {}\n", by_seat.display())}))?;
    wait_for(
        Duration::from_secs(10),
        "the seat's keys to reach xterm",
        || by_seat.exists().then_some(()),
    )?;

    // A click of the seat's pointer reaches an X11 window: xev prints what it gets.
    let mut xev = x11(&comp, "xev")?;
    xev.args(["-name", "click-me", "-event", "button"]);
    let mut xev = xev.stdout(Stdio::piped()).stderr(Stdio::null()).spawn()?;
    let target = wait_titled(&comp, "click-me")?;
    let g = &target["geometry"];
    let (cx, cy) = (
        g["x"].as_i64().context("x")? + g["width"].as_i64().context("w")? / 2,
        g["y"].as_i64().context("y")? + g["height"].as_i64().context("h")? / 2,
    );
    comp.input(json!({"action": "pointer-move", "x": cx, "y": cy}))?;
    std::thread::sleep(Duration::from_millis(300));
    comp.input(json!({"action": "click", "button": "left"}))?;
    std::thread::sleep(Duration::from_millis(500));
    let _ = xev.kill();
    let mut out = String::new();
    if let Some(mut stdout) = xev.stdout.take() {
        stdout.read_to_string(&mut out)?;
    }
    let _ = xev.wait();
    assert!(
        out.contains("ButtonPress") && out.contains("ButtonRelease"),
        "xev saw the click: {out}"
    );
    Ok(())
}

#[test]
fn an_x11_menu_appears_above_its_window_where_the_program_puts_it() -> Result<()> {
    const BACKGROUND: [u8; 3] = [18, 20, 26];
    let comp = Compositor::start(&["--output", "1280x720@60"])?;
    let _term = xterm(&comp, "menu-term")?;
    let term = wait_titled(&comp, "menu-term")?;
    let g = &term["geometry"];
    let bottom = g["y"].as_i64().context("y")? + g["height"].as_i64().context("h")?;
    let (px, py) = (
        g["x"].as_i64().context("x")? + g["width"].as_i64().context("w")? / 2,
        bottom - 130,
    );
    // Below the window, clear of it: the desktop's background before the menu opens.
    let below = (px as u32, (bottom + 60) as u32);
    let shot = comp.screenshot(json!({}))?;
    assert!(close(shot.pixel(below.0, below.1), BACKGROUND));
    comp.input(json!({"action": "pointer-move", "x": px, "y": py}))?;
    std::thread::sleep(Duration::from_millis(300));
    // Ctrl+button 1 opens xterm's main menu (an override-redirect window) at the pointer.
    xdotool(&comp, &["keydown", "ctrl", "mousedown", "1"])?;
    let opened = wait_for(Duration::from_secs(10), "xterm's menu", || {
        let shot = comp.screenshot(json!({})).ok()?;
        close(shot.pixel(below.0, below.1), XTERM_RGB).then_some(shot)
    });
    xdotool(&comp, &["mouseup", "1", "keyup", "ctrl"])?;
    let shot = opened?;
    // It is centred on the pointer, narrower than the window, and not a managed window.
    assert!(close(shot.pixel(below.0 - 150, below.1), BACKGROUND));
    assert!(close(shot.pixel(below.0 + 150, below.1), BACKGROUND));
    let windows = comp.windows()?;
    assert_eq!(windows.len(), 1, "menus are not listed: {windows:?}");
    Ok(())
}

#[test]
fn an_x11_programs_pointer_grab_locks_the_pointer_while_relative_motion_arrives() -> Result<()> {
    let comp = Compositor::start(&["--output", "1280x720@60"])?;
    comp.input(json!({"action": "pointer-move", "x": 640, "y": 360}))?;
    // It grabs the pointer confined to its window and hides it, as X11 games do.
    let grabber = env!("CARGO_BIN_EXE_ghost-x11-grab");
    let mut cmd = x11(&comp, grabber)?;
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn()?;
    let stdout = child.stdout.take().context("no stdout")?;
    let _running = Running(child);
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Ok(mut all) = sink.lock() {
                all.push(line);
            }
        }
    });
    let has = |what: &str| lines.lock().is_ok_and(|l| l.iter().any(|x| x == what));
    wait_for(Duration::from_secs(20), "the grab", || {
        has("grabbed").then_some(())
    })?;
    let pointer = |comp: &Compositor| -> Result<Value> {
        Ok(comp.request(json!({"request": "version"}))?["pointer"].clone())
    };
    // Xwayland locks the pointer at the first motion over the grabbing window.
    wait_for(
        Duration::from_secs(10),
        "Xwayland to lock the pointer",
        || {
            comp.input(json!({"action": "pointer-move-by", "dx": 1, "dy": 0}))
                .ok()?;
            (pointer(&comp).ok()?["constraint"] == "locked").then_some(())
        },
    )?;
    let held = pointer(&comp)?;
    let motions_before = lines.lock().map(|l| l.len()).unwrap_or(0);
    for _ in 0..3 {
        comp.input(json!({"action": "pointer-move-by", "dx": 20, "dy": 10}))?;
    }
    // The X11 program gets the motion (Xwayland turns the relative motion into X11
    // motion) while the pointer itself stays where it was locked.
    wait_for(Duration::from_secs(10), "three X11 motions", || {
        (lines.lock().ok()?.len() >= motions_before + 3).then_some(())
    })?;
    let now = pointer(&comp)?;
    assert_eq!(
        (now["x"].clone(), now["y"].clone()),
        (held["x"].clone(), held["y"].clone())
    );
    assert_eq!(now["constraint"], "locked");
    Ok(())
}

#[test]
fn an_x11_dialog_opens_centred_over_its_parent() -> Result<()> {
    let comp = Compositor::start(&["--output", "1280x720@60"])?;
    let _program = run(x11(&comp, env!("CARGO_BIN_EXE_ghost-x11-dialog"))?)?;
    let main = wait_titled(&comp, "x11-main")?;
    let dialog = wait_titled(&comp, "x11-dialog")?;
    let centre = |w: &Value| -> Option<(i64, i64)> {
        let g = &w["geometry"];
        Some((
            g["x"].as_i64()? + g["width"].as_i64()? / 2,
            g["y"].as_i64()? + g["height"].as_i64()? / 2,
        ))
    };
    let (m, d) = (centre(&main), centre(&dialog));
    assert!(
        m.is_some() && m == d,
        "the dialog is centred over its parent: {main} {dialog}"
    );
    Ok(())
}

/// The X11 screen's size in pixels, as xdpyinfo reports it.
fn x11_screen(comp: &Compositor) -> Result<String> {
    let out = x11(comp, "xdpyinfo")?.output()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("dimensions:"))
        .context("no dimensions")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string())
}

#[test]
fn on_a_scaled_output_x11_programs_are_upscaled_or_drawn_at_native_resolution() -> Result<()> {
    // A 1280x720 output at scale 2: 640x360 logical.
    for (scaling, screen, size) in [
        ("upscale", "640x360", (600, 400)),
        ("native", "1280x720", (300, 200)),
    ] {
        let home = std::env::temp_dir().join(format!("ghost-xwl-{scaling}-{}", std::process::id()));
        std::fs::create_dir_all(home.join("ghostcomp"))?;
        std::fs::write(
            home.join("ghostcomp/config.toml"),
            format!("[xwayland]\nscaling = \"{scaling}\"\n"),
        )?;
        let comp = Compositor::start_with_config_home(&["--output", "1280x720@60,scale=2"], &home)?;
        let _program = run(x11(&comp, env!("CARGO_BIN_EXE_ghost-x11-dialog"))?)?;
        let main = wait_titled(&comp, "x11-main")?;
        // Its 600x400 X11 window, in the desktop's logical units.
        let g = &main["geometry"];
        assert_eq!(
            (g["width"].as_i64(), g["height"].as_i64()),
            (Some(size.0), Some(size.1)),
            "{scaling}: {main}"
        );
        assert_eq!(x11_screen(&comp)?, screen, "{scaling}: the X11 screen");
        let state = xwayland(&comp)?;
        let want = if scaling == "native" { 2.0 } else { 1.0 };
        assert_eq!(state["scale"].as_f64(), Some(want), "{state}");
    }
    Ok(())
}

/// `Xft.dpi` in the X resources an X11 program finds when it connects (xprop reads the
/// root window's RESOURCE_MANAGER as Xlib does at connection).
fn xft_dpi(comp: &Compositor) -> Result<Option<String>> {
    let out = x11(comp, "xprop")?
        .args(["-root", "RESOURCE_MANAGER"])
        .output()?;
    // RESOURCE_MANAGER(STRING) = "Xft.dpi:\t192\n..." (escapes as written by xprop).
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let Some((_, database)) = text.split_once('"') else {
        return Ok(None);
    };
    Ok(database
        .trim_end()
        .trim_end_matches('"')
        .split("\\n")
        .find_map(|entry| {
            let value = entry.strip_prefix("Xft.dpi:")?;
            Some(value.trim_start_matches("\\t").trim().to_string())
        }))
}

#[test]
fn x11_programs_find_the_dpi_of_their_scale_in_the_x_resources() -> Result<()> {
    require_program("wlr-randr")?;
    let home = std::env::temp_dir().join(format!("ghost-xwl-dpi-{}", std::process::id()));
    std::fs::create_dir_all(home.join("ghostcomp"))?;
    std::fs::write(
        home.join("ghostcomp/config.toml"),
        "[xwayland]\nscaling = \"native\"\n",
    )?;
    let comp = Compositor::start_with_config_home(&["--output", "1280x720@60,scale=2"], &home)?;
    // The program that starts Xwayland already finds it: Xt programs (xterm, xclock)
    // read the resources only when they connect.
    assert_eq!(xwayland(&comp)?["running"], false);
    assert_eq!(xft_dpi(&comp)?.as_deref(), Some("192"));
    // A user's own resources stay; a new scale rewrites only the DPI.
    let status = x11(&comp, "xprop")?
        .args([
            "-root",
            "-f",
            "RESOURCE_MANAGER",
            "8s",
            "-set",
            "RESOURCE_MANAGER",
            "XTerm*background:\tnavy\nXft.dpi:\t192\n",
        ])
        .status()?;
    anyhow::ensure!(status.success(), "xprop -set failed");
    let set = comp
        .command("wlr-randr")
        .args(["--output", "HEADLESS-1", "--scale", "1.5"])
        .status()?;
    anyhow::ensure!(set.success(), "wlr-randr --scale failed");
    wait_for(Duration::from_secs(10), "Xft.dpi 144", || {
        (xft_dpi(&comp).ok()?.as_deref() == Some("144")).then_some(())
    })?;
    let out = x11(&comp, "xprop")?
        .args(["-root", "RESOURCE_MANAGER"])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("XTerm*background:\\tnavy"), "{text}");
    Ok(())
}

#[test]
fn an_x11_programs_bypass_compositor_wish_is_followed() -> Result<()> {
    let comp = Compositor::start(&[])?;
    let _term = xterm(&comp, "bypass-term")?;
    wait_titled(&comp, "bypass-term")?;
    let out = x11(&comp, "xdotool")?
        .args(["search", "--name", "^bypass-term$"])
        .output()?;
    let id = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .context("xdotool found no window")?
        .trim()
        .to_string();
    let set = |value: &str| -> Result<()> {
        let status = x11(&comp, "xprop")?
            .args(["-id", &id, "-f", "_NET_WM_BYPASS_COMPOSITOR", "32c"])
            .args(["-set", "_NET_WM_BYPASS_COMPOSITOR", value])
            .status()?;
        anyhow::ensure!(status.success(), "xprop -set failed");
        Ok(())
    };
    let mapped = wait_titled(&comp, "bypass-term")?;
    assert_eq!(mapped["bypass_compositor"], 0, "{mapped}");
    assert_eq!(mapped["content_type"], "none", "{mapped}");
    // 1: a game asking for the fastest path is paced as a game (VRR's content-type
    // policy); 2: it stays composited; 0 again: no preference.
    for (value, content) in [(1, "game"), (2, "none"), (0, "none")] {
        set(&value.to_string())?;
        let now = wait_for(Duration::from_secs(10), "the new value", || {
            let windows = comp.windows().ok()?;
            window(&windows, "bypass-term")
                .filter(|w| w["bypass_compositor"] == value)
                .cloned()
        })?;
        assert_eq!(now["content_type"], content, "{now}");
    }
    Ok(())
}

#[test]
fn an_x11_window_is_resized_with_the_pointer() -> Result<()> {
    let home = std::env::temp_dir().join(format!("ghost-xwl-resize-{}", std::process::id()));
    std::fs::create_dir_all(home.join("ghostcomp"))?;
    std::fs::write(
        home.join("ghostcomp/config.toml"),
        "[bindings]\n\"Super+R\" = \"resize\"\n",
    )?;
    let comp = Compositor::start_with_config_home(&["--output", "1280x720@60"], &home)?;
    let _term = xterm(&comp, "resized-term")?;
    let before = wait_titled(&comp, "resized-term")?;
    wait_for(Duration::from_secs(10), "the focus", || {
        let windows = comp.windows().ok()?;
        (window(&windows, "resized-term")?["focused"] == true).then_some(())
    })?;
    let g = &before["geometry"];
    let (x, y, w, h) = (
        g["x"].as_i64().context("x")?,
        g["y"].as_i64().context("y")?,
        g["width"].as_i64().context("w")?,
        g["height"].as_i64().context("h")?,
    );
    comp.input(json!({"action": "pointer-move", "x": x + w - 10, "y": y + h - 10}))?;
    // The binding resizes from the bottom-right corner while the pointer moves; a
    // click ends it.
    comp.input(json!({"action": "key", "combo": "Super+R"}))?;
    comp.input(json!({"action": "pointer-move", "x": x + w + 90, "y": y + h + 40}))?;
    comp.input(json!({"action": "click", "button": "left"}))?;
    let after = wait_for(Duration::from_secs(10), "the larger window", || {
        let windows = comp.windows().ok()?;
        let w = window(&windows, "resized-term")?.clone();
        (w["geometry"]["width"].as_i64()? > 484).then_some(w)
    })?;
    let g = &after["geometry"];
    assert_eq!(
        (g["x"].as_i64(), g["y"].as_i64()),
        (Some(x), Some(y)),
        "the top-left stayed: {after}"
    );
    // xterm sizes itself in whole character cells: within one cell of the pointer's travel.
    let (dw, dh) = (
        g["width"].as_i64().context("w")? - w,
        g["height"].as_i64().context("h")? - h,
    );
    assert!(
        (90..=110).contains(&dw) && (40..=60).contains(&dh),
        "grew by {dw}x{dh}: {after}"
    );
    Ok(())
}

#[test]
fn window_rules_and_window_commands_act_on_x11_windows() -> Result<()> {
    let home = std::env::temp_dir().join(format!("ghost-xwl-rules-{}", std::process::id()));
    std::fs::create_dir_all(home.join("ghostcomp"))?;
    std::fs::write(
        home.join("ghostcomp/config.toml"),
        "[[window_rule]]\napp_id = \"^XClock$\"\nmaximized = true\n",
    )?;
    let comp = Compositor::start_with_config_home(&["--output", "1024x768@60"], &home)?;
    // The rule matches WM_CLASS: xclock opens maximized (below its title bar).
    let mut clock = run(x11(&comp, "xclock")?)?;
    let maximized = wait_for(Duration::from_secs(20), "xclock maximized", || {
        let windows = comp.windows().ok()?;
        windows
            .iter()
            .find(|w| w["app_id"] == "XClock" && w["maximized"] == true)
            .cloned()
    })?;
    assert_eq!(maximized["geometry"]["width"], 1024, "{maximized}");
    // `msg close` asks the X11 program to close (WM_DELETE_WINDOW): it exits.
    let id = maximized["id"].as_u64().context("id")?;
    comp.request(json!({"request": "close", "id": id}))?;
    wait_for(Duration::from_secs(10), "xclock to exit", || {
        clock.0.try_wait().ok()?.map(|_| ())
    })?;
    Ok(())
}

#[test]
fn the_clipboard_crosses_between_x11_and_wayland_programs() -> Result<()> {
    let comp = Compositor::start(&[])?;
    require_program("wl-paste")?;
    let _term = xterm(&comp, "clip-term")?;
    wait_titled(&comp, "clip-term")?;
    let wl = |program: &str| {
        let mut cmd = comp.command(program);
        cmd.stderr(Stdio::null());
        cmd
    };
    let xclip = |args: &[&str]| -> Result<Command> {
        let mut cmd = x11(&comp, "xclip")?;
        cmd.args(args).stderr(Stdio::null());
        Ok(cmd)
    };

    // Copied in an X11 program (the focused window's), pasted in a Wayland one.
    let mut copy = xclip(&["-i", "-selection", "clipboard"])?;
    let mut child = copy.stdin(Stdio::piped()).spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        std::io::Write::write_all(&mut stdin, b"copied in X11")?;
    }
    child.wait()?;
    let pasted = wait_for(
        Duration::from_secs(10),
        "wl-paste to read X11's copy",
        || {
            let out = wl("wl-paste").args(["--no-newline"]).output().ok()?;
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            (text == "copied in X11").then_some(text)
        },
    )?;
    assert_eq!(pasted, "copied in X11");
    // The primary selection (selected text, middle click) too.
    let mut select = xclip(&["-i", "-selection", "primary"])?;
    let mut child = select.stdin(Stdio::piped()).spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        std::io::Write::write_all(&mut stdin, b"selected in X11")?;
    }
    child.wait()?;
    wait_for(
        Duration::from_secs(10),
        "wl-paste --primary to read it",
        || {
            let out = wl("wl-paste")
                .args(["--primary", "--no-newline"])
                .output()
                .ok()?;
            (out.stdout == b"selected in X11").then_some(())
        },
    )?;

    // An image copied in an X11 program pastes into a Wayland one byte for byte, also
    // when it is larger than one X request and comes in increments (INCR).
    let image: Vec<u8> = (0..5u32 << 20).map(|i| (i * 13 % 251) as u8).collect();
    let path = comp.runtime_dir().join("x11-copied.png");
    std::fs::write(&path, &image)?;
    let status = xclip(&["-i", "-selection", "clipboard", "-t", "image/png"])?
        .stdin(std::fs::File::open(&path)?)
        .status()?;
    anyhow::ensure!(status.success(), "xclip -i -t image/png failed");
    let types = wait_for(Duration::from_secs(10), "image/png offered", || {
        let out = wl("wl-paste").arg("--list-types").output().ok()?;
        let types = String::from_utf8_lossy(&out.stdout).into_owned();
        types.lines().any(|t| t == "image/png").then_some(types)
    })?;
    assert!(types.contains("image/png"), "{types}");
    let out = wl("wl-paste")
        .args(["--no-newline", "--type", "image/png"])
        .output()?;
    assert_eq!(out.stdout.len(), image.len(), "the pasted image's size");
    assert!(out.stdout == image, "the pasted image differs");

    // Copied in a Wayland program, pasted in an X11 one: text and an image.
    let _text = run({
        let mut cmd = wl("wl-copy");
        cmd.args(["--foreground", "copied in Wayland"]);
        cmd
    })?;
    let got = wait_for(
        Duration::from_secs(10),
        "xclip to read Wayland's copy",
        || {
            let out = xclip(&["-o", "-selection", "clipboard"])
                .ok()?
                .output()
                .ok()?;
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            (text == "copied in Wayland").then_some(text)
        },
    )?;
    assert_eq!(got, "copied in Wayland");
    let image: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 251) as u8).collect();
    let path = comp.runtime_dir().join("copied.png");
    std::fs::write(&path, &image)?;
    let _image = run({
        let mut cmd = wl("wl-copy");
        cmd.args(["--foreground", "--type", "image/png"])
            .stdin(std::fs::File::open(&path)?);
        cmd
    })?;
    let bytes = wait_for(Duration::from_secs(10), "xclip to read the image", || {
        let out = xclip(&["-o", "-selection", "clipboard", "-t", "image/png"])
            .ok()?
            .output()
            .ok()?;
        (out.stdout == image).then_some(out.stdout)
    })?;
    assert_eq!(bytes.len(), image.len());
    Ok(())
}

#[test]
fn a_fullscreen_x11_window_covers_its_output() -> Result<()> {
    let comp = Compositor::start(&["--output", "1024x768@60"])?;
    let mut cmd = x11(&comp, "xterm")?;
    cmd.args([
        "-T",
        "full-term",
        "-bg",
        XTERM_BG,
        "-fullscreen",
        "-e",
        "sh",
    ]);
    let _term = run(cmd)?;
    let full = wait_for(Duration::from_secs(20), "xterm fullscreen", || {
        let windows = comp.windows().ok()?;
        window(&windows, "full-term")
            .filter(|w| w["fullscreen"] == true && w["geometry"]["width"] == 1024)
            .cloned()
    })?;
    assert_eq!(
        full["geometry"],
        json!({"x": 0, "y": 0, "width": 1024, "height": 768})
    );
    let mut seen = [0; 3];
    wait_for(
        Duration::from_secs(10),
        "xterm over the whole output",
        || {
            let shot = comp.screenshot(json!({})).ok()?;
            seen = shot.pixel(1020, 764);
            (close(seen, XTERM_RGB) && close(shot.pixel(1020, 3), XTERM_RGB)).then_some(())
        },
    )
    .map_err(|e| anyhow::anyhow!("{e}: {seen:?}"))?;
    Ok(())
}

#[test]
fn when_xwayland_dies_the_session_lives_and_the_next_x11_program_starts_it_again() -> Result<()> {
    let mut comp = Compositor::start(&[])?;
    let _first = xterm(&comp, "first-term")?;
    wait_titled(&comp, "first-term")?;
    let pid = xwayland(&comp)?["pid"].as_i64().context("Xwayland's pid")?;
    // A Wayland client beside it.
    require_program("weston-simple-shm")?;
    comp.spawn_client(comp.command("weston-simple-shm"))?;
    comp.wait_window("org.freedesktop.weston.simple-shm")?;

    let status = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()?;
    anyhow::ensure!(status.success(), "kill failed");
    wait_for(Duration::from_secs(10), "the X11 window to go", || {
        let windows = comp.windows().ok()?;
        window(&windows, "first-term").is_none().then_some(())
    })?;
    let state = xwayland(&comp)?;
    assert_eq!(state["running"], false, "{state}");
    assert_eq!(state["ends"], 1, "{state}");
    // The Wayland client is untouched.
    comp.wait_window("org.freedesktop.weston.simple-shm")?;

    // The next X11 program brings Xwayland back on the same display.
    wait_for(Duration::from_secs(10), "the display armed again", || {
        (xwayland(&comp).ok()?["armed"] == true).then_some(())
    })?;
    let _second = xterm(&comp, "second-term")?;
    wait_titled(&comp, "second-term")?;
    let state = xwayland(&comp)?;
    assert_eq!(state["running"], true, "{state}");
    assert_eq!(state["starts"], 2, "{state}");
    assert!(Path::new(comp.runtime_dir()).exists());
    Ok(())
}

#[test]
fn remote_control_input_reaches_x11_windows() -> Result<()> {
    // What the RemoteDesktop portal and libei clients send, once granted, takes the
    // seat's path: X11 programs get it through Xwayland like the local keyboard's.
    let comp = Compositor::start(&[])?;
    let _term = xterm(&comp, "remote-term")?;
    wait_titled(&comp, "remote-term")?;
    let granted =
        comp.request(json!({"request": "remote-start", "app_id": "test", "devices": 3}))?;
    let id = granted["id"].as_u64().context("a control id")?;
    let send =
        |event: Value| comp.request(json!({"request": "remote-input", "id": id, "event": event}));
    let by_remote = comp.runtime_dir().join("by-remote");
    for c in format!("touch {}\n", by_remote.display()).chars() {
        let keysym = if c == '\n' { 0xff0d } else { c as u32 };
        send(json!({"event": "keyboard-keysym", "keysym": keysym, "pressed": true}))?;
        send(json!({"event": "keyboard-keysym", "keysym": keysym, "pressed": false}))?;
    }
    wait_for(
        Duration::from_secs(10),
        "xterm to run the remotely typed command",
        || by_remote.exists().then_some(()),
    )?;

    let mut xev = x11(&comp, "xev")?;
    xev.args(["-name", "remote-click", "-event", "button"]);
    let mut xev = xev.stdout(Stdio::piped()).stderr(Stdio::null()).spawn()?;
    let target = wait_titled(&comp, "remote-click")?;
    let g = &target["geometry"];
    let (cx, cy) = (
        g["x"].as_f64().context("x")? + g["width"].as_f64().context("w")? / 2.0,
        g["y"].as_f64().context("y")? + g["height"].as_f64().context("h")? / 2.0,
    );
    send(json!({"event": "pointer-motion-absolute", "x": cx, "y": cy}))?;
    std::thread::sleep(Duration::from_millis(300));
    send(json!({"event": "pointer-button", "button": 0x110, "pressed": true}))?;
    send(json!({"event": "pointer-button", "button": 0x110, "pressed": false}))?;
    std::thread::sleep(Duration::from_millis(500));
    let _ = xev.kill();
    let mut out = String::new();
    if let Some(mut stdout) = xev.stdout.take() {
        stdout.read_to_string(&mut out)?;
    }
    let _ = xev.wait();
    assert!(
        out.contains("ButtonPress") && out.contains("ButtonRelease"),
        "xev saw the remote click: {out}"
    );
    Ok(())
}
