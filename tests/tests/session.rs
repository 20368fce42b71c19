//! The session ghostcomp runs: `--session` hands its variables to what it starts and runs
//! the XDG autostart entries meant for it (there is no systemd user manager here),
//! quitting ends every program it started (and theirs), kiosk mode runs one program
//! fullscreen with no bindings, ghostcomp exiting with it, and the install script puts
//! the session's files where display managers and systemd look.

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

#[test]
fn a_kiosk_programs_first_frame_already_fills_the_screen() -> Result<()> {
    // ghost-kiosk-client draws once, at the size of the compositor's first configure:
    // the window fills the output only if that configure was already fullscreen.
    let client = env!("CARGO_BIN_EXE_ghost-kiosk-client");
    let mut comp = Compositor::start(&["--output", "1280x720@60", "--kiosk", client])?;
    let window = comp.wait_window("ghost-kiosk-client")?;
    assert_eq!(window["fullscreen"], true, "{window}");
    assert_eq!(
        (&window["geometry"]["width"], &window["geometry"]["height"]),
        (&json!(1280), &json!(720)),
        "{window}"
    );
    comp.input(json!({"action": "key", "combo": "Return"}))?;
    let status = comp.wait_exit(Duration::from_secs(10))?;
    assert!(status.success(), "{status}: {}", comp.log());
    Ok(())
}

/// Writes an autostart entry `name` into `dir` with the lines `body`.
fn entry(dir: &std::path::Path, name: &str, body: &str) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join(name),
        format!("[Desktop Entry]\nType=Application\nName={name}\n{body}\n"),
    )?;
    Ok(())
}

#[test]
fn a_login_session_runs_its_autostart_entries_with_the_sessions_variables() -> Result<()> {
    let base = std::env::temp_dir().join(format!("ghost-session-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let (home, system, out) = (base.join("home"), base.join("xdg"), base.join("out"));
    std::fs::create_dir_all(&out)?;
    let (user_dir, system_dir) = (home.join("autostart"), system.join("autostart"));
    let touch = |name: &str| format!("Exec=touch {}", out.join(name).display());
    // Runs, and writes down what it was given.
    let env_file = out.join("env");
    entry(
        &user_dir,
        "env.desktop",
        &format!("Exec=sh -c \"env > {}\"", env_file.display()),
    )?;
    // The user's copy hides the system's entry of the same name.
    entry(&system_dir, "tray.desktop", &touch("system-tray"))?;
    entry(
        &user_dir,
        "tray.desktop",
        &format!("{}\nHidden=true", touch("user-tray")),
    )?;
    // Others run or not by the spec's keys.
    entry(
        &system_dir,
        "agent.desktop",
        &format!("{}\nOnlyShowIn=GNOME;ghost;", touch("agent")),
    )?;
    entry(
        &system_dir,
        "gnome.desktop",
        &format!("{}\nOnlyShowIn=GNOME;", touch("gnome")),
    )?;
    entry(
        &system_dir,
        "not-here.desktop",
        &format!("{}\nNotShowIn=ghost;", touch("not-here")),
    )?;
    entry(
        &system_dir,
        "missing.desktop",
        &format!("{}\nTryExec=/nonexistent/prog", touch("missing")),
    )?;

    let xdg_dirs = system.to_string_lossy().into_owned();
    let comp =
        Compositor::start_with_env(&["--session"], &home, &[("XDG_CONFIG_DIRS", &xdg_dirs)])?;
    wait_for(Duration::from_secs(10), "the autostart entries", || {
        (env_file.exists() && out.join("agent").exists()).then_some(())
    })?;
    std::thread::sleep(Duration::from_millis(300));
    for skipped in ["system-tray", "user-tray", "gnome", "not-here", "missing"] {
        assert!(!out.join(skipped).exists(), "{skipped} ran");
    }
    let env = std::fs::read_to_string(&env_file)?;
    let has = |line: &str| env.lines().any(|l| l == line);
    assert!(has("XDG_CURRENT_DESKTOP=ghost"), "{env}");
    assert!(has("XDG_SESSION_TYPE=wayland"), "{env}");
    assert!(has(&format!("WAYLAND_DISPLAY={}", comp.socket())), "{env}");
    let display = comp.request(json!({"request": "version"}))?["xwayland"]["display"].clone();
    if let Some(display) = display.as_str() {
        assert!(has(&format!("DISPLAY={display}")), "{env}");
    }
    assert!(
        env.lines().any(|l| l.starts_with("GHOSTCOMP_SOCKET=")),
        "{env}"
    );
    drop(comp);
    let _ = std::fs::remove_dir_all(&base);
    Ok(())
}

#[test]
fn the_install_script_puts_the_session_where_display_managers_and_systemd_look() -> Result<()> {
    let root = std::env::temp_dir().join(format!("ghost-install-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/install.sh");
    let status = std::process::Command::new("bash")
        .arg(&script)
        .env("DESTDIR", &root)
        .env("PREFIX", "/usr")
        .env("BIN", ghost_tests::ghostcomp_bin())
        .stdout(std::process::Stdio::null())
        .status()?;
    assert!(status.success());
    let read = |path: &str| std::fs::read_to_string(root.join(path));
    let session = read("usr/share/wayland-sessions/ghostcomp.desktop")?;
    // The session file is an entry our own reader takes, and runs the installed binary.
    let argv = ghost_config::autostart::command(session.as_bytes(), "ghost", |p| {
        p == "/usr/bin/ghostcomp"
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    assert_eq!(argv, ["/usr/bin/ghostcomp", "--session"]);
    assert!(session.lines().any(|l| l == "DesktopNames=ghost"));
    let target = read("usr/lib/systemd/user/ghostcomp-session.target")?;
    assert!(target.contains("BindsTo=graphical-session.target"));
    let service =
        read("usr/share/dbus-1/services/org.freedesktop.impl.portal.desktop.ghost.service")?;
    assert!(
        service
            .lines()
            .any(|l| l == "Exec=/usr/bin/ghostcomp portal"),
        "{service}"
    );
    assert!(read("usr/share/xdg-desktop-portal/portals/ghost.portal")?.contains("UseIn=ghost"));
    assert!(read("usr/share/xdg-desktop-portal/ghost-portals.conf").is_ok());
    assert!(root.join("usr/bin/ghostcomp").is_file());
    // The manual renders, lists the options the binary has, and says what the command
    // line cannot (files, environment).
    require_program("groff")?;
    let page = root.join("usr/share/man/man1/ghostcomp.1");
    // Plain text: no overstriking for bold or underline.
    let out = std::process::Command::new("groff")
        .args(["-man", "-Tascii", "-P-c", "-P-b", "-P-u"])
        .arg(&page)
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--kiosk",
        "--session",
        "--backend",
        "FILES",
        "ENVIRONMENT",
        "config.toml",
    ] {
        assert!(text.contains(needle), "{needle} in ghostcomp(1):\n{text}");
    }
    assert!(root.join("usr/share/man/man1/ghostcomp-msg.1").is_file());
    let _ = std::fs::remove_dir_all(&root);
    Ok(())
}
