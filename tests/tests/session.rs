//! The session ghostcomp runs: quitting ends every program it started (and theirs), and
//! kiosk mode runs one program fullscreen with no bindings, ghostcomp exiting with it.

use std::time::Duration;

use anyhow::{Context, Result};
use ghost_tests::{require_program, wait_for, Compositor};
use serde_json::json;

/// Pids of running processes whose command line is exactly `argv`.
fn processes(argv: &[&str]) -> Vec<u32> {
    let want: Vec<u8> = argv.iter().flat_map(|a| a.bytes().chain([0])).collect();
    std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .filter(|pid| {
                    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == want)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn quitting_ends_every_program_the_session_started_and_their_children() -> Result<()> {
    // By `msg quit`, and by SIGTERM as systemd and logouts stop a session.
    for (way, base) in [("msg quit", 40_000), ("SIGTERM", 50_000)] {
        // Unique numbers, so parallel runs do not see each other's sleeps.
        let n = base + std::process::id() % 10_000;
        let (a, b) = (n.to_string(), (n + 1).to_string());
        let script = format!("sleep {a} & sleep {b}; wait");
        let mut comp = Compositor::start(&["-c", "sh", "-c", &script])?;
        wait_for(Duration::from_secs(10), "the session's programs", || {
            (!processes(&["sleep", &a]).is_empty() && !processes(&["sleep", &b]).is_empty())
                .then_some(())
        })?;
        if way == "msg quit" {
            assert!(comp.msg_cli(&["quit"])?.status.success());
        } else {
            let pid = rustix::process::Pid::from_raw(comp.pid() as i32).context("pid")?;
            rustix::process::kill_process(pid, rustix::process::Signal::TERM)?;
        }
        let status = comp.wait_exit(Duration::from_secs(10))?;
        assert!(status.success(), "{way}: {status:?}");
        assert!(
            processes(&["sleep", &a]).is_empty(),
            "{way}: a background sleep outlived the session {}",
            comp.log()
        );
        assert!(
            processes(&["sleep", &b]).is_empty(),
            "{way}: a sleep outlived the session"
        );
    }
    Ok(())
}

#[test]
fn kiosk_mode_runs_one_program_fullscreen_without_bindings_and_exits_with_it() -> Result<()> {
    require_program("foot")?;
    let mut comp = Compositor::start(&["--output", "1280x720@60", "--kiosk", "foot", "sh"])?;
    let window = comp.wait_window("foot")?;
    let fills =
        |w: &serde_json::Value| w["geometry"]["width"] == 1280 && w["geometry"]["height"] == 720;
    wait_for(Duration::from_secs(10), "foot fullscreen", || {
        comp.windows().ok()?.into_iter().find(fills)
    })
    .with_context(|| format!("{window}"))?;
    // Super+q closes a window, Super+Shift+e quits, Ctrl+Alt+BackSpace quits: not here.
    for combo in ["Super+q", "Super+Shift+e", "Ctrl+Alt+BackSpace"] {
        comp.input(json!({"action": "key", "combo": combo}))?;
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(comp.is_running());
    assert_eq!(comp.windows()?.len(), 1, "foot is still there");
    // The program leaves: so does ghostcomp, with its exit code.
    // (A new line first: the keys above reached the shell as characters.)
    comp.input(json!({"action": "type", "text": "\nexit 3\n"}))?;
    let status = comp
        .wait_exit(Duration::from_secs(10))
        .with_context(|| format!("{:?}", comp.windows()))?;
    assert_eq!(status.code(), Some(3), "{}", comp.log());
    Ok(())
}
