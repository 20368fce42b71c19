//! The clipboard for programs without a window (wlr-data-control, ext-data-control-v1):
//! wl-clipboard's wl-copy and wl-paste set and read it without taking the keyboard from
//! the window that has it, and a clipboard history (`wl-paste --watch`) sees every copy.

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use ghost_tests::{client::TestClient, require_program, wait_for, Compositor};
use serde_json::json;

fn wl(comp: &Compositor, program: &str) -> Command {
    let mut cmd = comp.command(program);
    cmd.stderr(Stdio::null());
    cmd
}

fn paste(comp: &Compositor, args: &[&str]) -> Result<String> {
    let out = wl(comp, "wl-paste")
        .args(args)
        .arg("--no-newline")
        .output()?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn wl_copy_and_wl_paste_work_without_taking_focus_and_a_history_sees_each_copy() -> Result<()> {
    require_program("wl-copy")?;
    let comp = Compositor::start(&[])?;
    let mut app = TestClient::connect(&comp.socket_path())?;
    app.watch_seat()?;
    let window = app.color_window("editor", 300, 200, &[0xff30_3030])?;
    let g = comp.wait_window("editor")?["geometry"].clone();
    let (x, y) = (
        g["x"].as_f64().context("x")? + 150.0,
        g["y"].as_f64().context("y")? + 100.0,
    );
    comp.input(json!({"action": "pointer-move", "x": x, "y": y}))?;
    comp.input(json!({"action": "click", "button": "left"}))?;
    wait_for(
        Duration::from_secs(5),
        "the editor's keyboard focus",
        || {
            app.roundtrip().ok()?;
            (app.state.seat.keyboard_focus.as_ref() == Some(&window.surface)).then_some(())
        },
    )?;

    // A clipboard history watching every new selection.
    let history = comp.runtime_dir().join("history");
    let mut watch = wl(&comp, "wl-paste")
        .args(["--watch", "sh", "-c"])
        .arg(format!("cat >> {0}; echo >> {0}", history.display()))
        .stdout(Stdio::null())
        .spawn()?;

    let mut round_trips = Vec::new();
    for text in ["first copy", "second copy"] {
        let started = Instant::now();
        let status = wl(&comp, "wl-copy").arg(text).status()?;
        assert!(status.success());
        let pasted = wait_for(Duration::from_secs(5), "wl-paste to read it", || {
            paste(&comp, &[]).ok().filter(|p| p == text)
        })?;
        round_trips.push(started.elapsed());
        assert_eq!(pasted, text);
    }
    eprintln!("copy and paste round trips: {round_trips:?}");
    // Nobody took the keyboard, and no window came and went.
    app.roundtrip()?;
    assert_eq!(
        app.state.seat.keyboard_focus.as_ref(),
        Some(&window.surface)
    );
    assert_eq!(comp.windows()?.len(), 1);

    // The primary selection too.
    assert!(wl(&comp, "wl-copy")
        .args(["--primary", "selected"])
        .status()?
        .success());
    wait_for(Duration::from_secs(5), "the primary selection", || {
        paste(&comp, &["--primary"])
            .ok()
            .filter(|p| p == "selected")
    })?;

    let seen = wait_for(
        Duration::from_secs(5),
        "the history to hold both copies",
        || {
            let text = std::fs::read_to_string(&history).ok()?;
            (text.contains("first copy") && text.contains("second copy")).then_some(text)
        },
    )?;
    assert!(seen.find("first copy") < seen.find("second copy"), "{seen}");
    let _ = watch.kill();
    let _ = watch.wait();
    Ok(())
}
