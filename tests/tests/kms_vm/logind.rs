//! The session through logind, as a display manager starts one: these run in a VM whose
//! init is Debian's systemd (`scripts/kms-vm-systemd.sh`), inside a logind session on
//! VT 2 opened through PAM with pam_systemd, as a greeter's service is. ghostcomp takes
//! the session's devices through libseat's logind backend, lets them go when the user
//! switches VT, takes them back, and on quitting leaves the terminal in text mode with
//! the session still there; with `--session` it starts its systemd user target, whose
//! services see the desktop's environment, and stops it on quitting.
//! `scripts/kms-vm-test.sh` boots this VM for the tests named `logind` alone.

use std::{os::fd::AsFd, process::Command, time::Duration};

use anyhow::{Context, Result};
use evdev::Key;
use ghost_tests::{client::TestClient, wait_for, Compositor};
use serde_json::json;

use super::{
    close, config_home, devices::Devices, session::switch_vt, session::typed, session::SECOND,
    session::SECOND_RGB, writeback_until, WINDOW, WINDOW_RGB,
};

/// The session's terminal (kms-vm-systemd.sh's unit gives the test VT 2).
const SESSION_TTY: &str = "/dev/tty2";
/// The user bus of the session's user manager (root's).
const USER_BUS: &str = "unix:path=/run/user/0/bus";

/// The logind session this test runs in.
fn session_id() -> Result<String> {
    std::env::var("XDG_SESSION_ID")
        .context("not in a logind session: scripts/kms-vm-test.sh runs these in the systemd VM")
}

/// One property of a logind session, as loginctl reads it from logind.
fn session_property(id: &str, property: &str) -> Result<String> {
    let out = Command::new("loginctl")
        .args(["show-session", id, "-p", property, "--value"])
        .env("SYSTEMD_PAGER", "cat")
        .output()?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// What logind logged in this boot and the seat's devices, for failures.
fn journal() -> String {
    let run = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .env("SYSTEMD_PAGER", "cat")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    format!(
        "{}\n{}",
        run(
            "journalctl",
            &["-b", "--no-pager", "-n", "60", "-t", "systemd-logind"]
        ),
        run("loginctl", &["seat-status", "seat0", "--full"]),
    )
}

/// The terminal's display mode: 0 text (what a user gets back), 1 graphics.
fn kd_mode(tty: &str) -> Result<i32> {
    let file = std::fs::File::open(tty)?;
    // KDGETMODE
    type GetMode = rustix::ioctl::Getter<0x4B3B, std::ffi::c_int>;
    // SAFETY: KDGETMODE writes one int, which the getter provides.
    Ok(unsafe { rustix::ioctl::ioctl(file.as_fd(), GetMode::new()) }?)
}

/// `systemctl --user ARGS` in the session's user manager; its output.
fn user_systemctl(args: &[&str]) -> Result<String> {
    let out = Command::new("systemctl")
        .arg("--user")
        .args(args)
        .env("DBUS_SESSION_BUS_ADDRESS", USER_BUS)
        .env("XDG_RUNTIME_DIR", "/run/user/0")
        .env("SYSTEMD_PAGER", "cat")
        .output()?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[test]
#[ignore = "needs the systemd VM: run scripts/kms-vm-test.sh"]
fn logind_hands_the_devices_over_on_a_vt_switch_and_quitting_leaves_the_terminal_usable(
) -> Result<()> {
    let id = session_id()?;
    assert_eq!(session_property(&id, "Active")?, "yes");
    assert_eq!(session_property(&id, "VTNr")?, "2");
    let mut devices = Devices::create()?;
    let mut comp =
        Compositor::start_kms_on_logind(&config_home("logind", "")?, &["--renderer", "gles"], &[])
            .map_err(|e| anyhow::anyhow!("{e}; logind's journal:\n{}", journal()))?;
    let outputs = |comp: &Compositor| comp.request(json!({"request": "outputs"}));
    let output = outputs(&comp)?[0].clone();
    assert_eq!(output["kms"]["session_active"], true, "{output:#}");
    // logind knows the compositor as the session's controller: the terminal went to
    // graphics mode through it.
    assert_eq!(
        kd_mode(SESSION_TTY)?,
        1,
        "the session's VT in graphics mode"
    );

    let mut client = TestClient::connect(&comp.socket_path())?;
    client.watch_seat()?;
    let mut window = client.color_window("kms-logind", 300, 200, &[WINDOW, SECOND])?;
    let info = comp.wait_window("kms-logind")?;
    let centre = (
        (info["geometry"]["x"].as_i64().unwrap_or(0) + 150) as u32,
        (info["geometry"]["y"].as_i64().unwrap_or(0) + 100) as u32,
    );
    writeback_until(&comp, "the window", |f| {
        close(f.pixel(centre.0, centre.1), WINDOW_RGB)
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", comp.log()))?;

    // The keyboard reaches the window (libinput opened it through logind; udev adds the
    // test's devices a moment after they appear).
    let mut last_tap = std::time::Instant::now() - Duration::from_secs(1);
    wait_for(Duration::from_secs(20), "a key typed", || {
        if last_tap.elapsed() >= Duration::from_secs(1) {
            devices.tap(Key::KEY_H).ok()?;
            last_tap = std::time::Instant::now();
        }
        client.roundtrip().ok()?;
        client
            .state
            .seat
            .pressed
            .contains(&u32::from(Key::KEY_H.code()))
            .then_some(())
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}\n{}", comp.log(), journal()))?;

    // Ctrl+Alt+F1: ghostcomp asks logind for the switch and lets the devices go.
    devices.chord(&[Key::KEY_LEFTCTRL, Key::KEY_LEFTALT, Key::KEY_F1])?;
    wait_for(Duration::from_secs(10), "the session paused", || {
        (outputs(&comp).ok()?[0]["kms"]["session_active"] == false).then_some(())
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}\n{}", comp.log(), journal()))?;
    wait_for(Duration::from_secs(10), "logind's session inactive", || {
        (session_property(&id, "Active").ok()? == "no").then_some(())
    })?;
    client.commit_next(&mut window, false)?;
    client.roundtrip()?;

    // Back on VT 2: logind resumes the devices, the desktop is drawn as it is now and
    // the keyboard types again.
    switch_vt(2)?;
    wait_for(Duration::from_secs(10), "the session active again", || {
        (outputs(&comp).ok()?[0]["kms"]["session_active"] == true).then_some(())
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", comp.log()))?;
    writeback_until(&comp, "the desktop after coming back", |f| {
        close(f.pixel(centre.0, centre.1), SECOND_RGB)
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", comp.log()))?;
    devices.tap(Key::KEY_A)?;
    typed(&mut client, Key::KEY_A, "a key typed after coming back")
        .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", comp.log()))?;

    // Quitting gives the terminal back in text mode; the session stays, active.
    drop(window);
    drop(client);
    assert!(comp.msg_cli(&["quit"])?.status.success());
    let status = comp.wait_exit(Duration::from_secs(10))?;
    assert!(
        status.success(),
        "ghostcomp's exit: {status}; log:\n{}",
        comp.log()
    );
    assert_eq!(kd_mode(SESSION_TTY)?, 0, "the VT back in text mode");
    assert_eq!(session_property(&id, "Active")?, "yes");
    Ok(())
}

/// The session target as `scripts/install.sh` installs it, and a panel-like user
/// service that belongs to the graphical session.
fn install_user_units() -> Result<()> {
    let dir = std::path::Path::new("/etc/systemd/user");
    std::fs::create_dir_all(dir.join("graphical-session.target.wants"))?;
    std::fs::write(
        dir.join("ghostcomp-session.target"),
        include_str!("../../../data/systemd/ghostcomp-session.target"),
    )?;
    std::fs::write(
        dir.join("ghost-panel.service"),
        "[Unit]\nPartOf=graphical-session.target\nAfter=graphical-session.target\n\
         [Service]\nExecStart=/bin/sh -c 'echo \"$WAYLAND_DISPLAY $XDG_CURRENT_DESKTOP \
         $XDG_SESSION_TYPE\" >/tmp/ghost-panel.env; exec sleep 1000'\n\
         [Install]\nWantedBy=graphical-session.target\n",
    )?;
    let wants = dir.join("graphical-session.target.wants/ghost-panel.service");
    let _ = std::fs::remove_file(&wants);
    std::os::unix::fs::symlink("../ghost-panel.service", wants)?;
    user_systemctl(&["daemon-reload"])?;
    Ok(())
}

#[test]
#[ignore = "needs the systemd VM: run scripts/kms-vm-test.sh"]
fn logind_session_mode_starts_and_stops_the_systemd_session_target() -> Result<()> {
    session_id()?;
    wait_for(Duration::from_secs(30), "the user manager", || {
        user_systemctl(&["show-environment"])
            .ok()?
            .contains("HOME=")
            .then_some(())
    })?;
    install_user_units()?;
    let _ = std::fs::remove_file("/tmp/ghost-panel.env");
    let mut comp = Compositor::start_kms_on_logind(
        &config_home("logind-session", "")?,
        &["--session"],
        &[("DBUS_SESSION_BUS_ADDRESS", USER_BUS)],
    )?;
    let active = |unit: &str| user_systemctl(&["is-active", unit]).unwrap_or_default();
    wait_for(Duration::from_secs(20), "the session target active", || {
        (active("ghostcomp-session.target") == "active").then_some(())
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", comp.log()))?;
    assert_eq!(active("graphical-session.target"), "active");
    // A service of the graphical session starts with it and sees the desktop.
    let env = wait_for(Duration::from_secs(20), "the panel service's start", || {
        std::fs::read_to_string("/tmp/ghost-panel.env").ok()
    })?;
    assert_eq!(
        env.trim(),
        format!("{} ghost wayland", comp.socket()),
        "the panel's environment"
    );
    let manager_env = user_systemctl(&["show-environment"])?;
    assert!(
        manager_env.contains(&format!("WAYLAND_DISPLAY={}", comp.socket())),
        "{manager_env}"
    );

    // Quitting stops the target and the session's services with it.
    assert!(comp.msg_cli(&["quit"])?.status.success());
    comp.wait_exit(Duration::from_secs(15))?;
    wait_for(
        Duration::from_secs(20),
        "the session target stopped",
        || {
            (active("ghostcomp-session.target") != "active"
                && active("ghost-panel.service") != "active")
                .then_some(())
        },
    )?;
    let manager_env = user_systemctl(&["show-environment"])?;
    assert!(!manager_env.contains("WAYLAND_DISPLAY="), "{manager_env}");
    Ok(())
}
