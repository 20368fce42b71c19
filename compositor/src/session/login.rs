//! `ghostcomp --session`: what a display manager's session needs of its compositor. The
//! session's variables (WAYLAND_DISPLAY, DISPLAY, XDG_CURRENT_DESKTOP=ghost,
//! XDG_SESSION_TYPE=wayland, GHOSTCOMP_SOCKET) go to every program ghostcomp starts, to
//! the systemd user manager and to D-Bus activation (so the portal and services started
//! later find the desktop); `ghostcomp-session.target` (bound to
//! `graphical-session.target`) starts with the session and stops when it ends. Without a
//! systemd user manager ghostcomp runs the XDG autostart entries itself.

use std::process::{Command, Stdio};

use tracing::{info, warn};

use crate::state::Ghost;

/// The desktop's name in XDG_CURRENT_DESKTOP (and the portal's `UseIn`).
pub const DESKTOP: &str = "ghost";
/// The systemd user unit a session starts.
pub const TARGET: &str = "ghostcomp-session.target";

/// Runs `program args`, quietly; whether it succeeded.
fn run(program: &str, args: &[String]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether a systemd user manager answers for this user.
fn systemd_user_manager() -> bool {
    run("systemctl", &["--user".into(), "show-environment".into()])
}

impl Ghost {
    /// What every program ghostcomp starts is told: WAYLAND_DISPLAY, DISPLAY where
    /// X11 programs can run, GHOSTCOMP_SOCKET.
    pub fn client_environment(&self) -> Vec<(String, String)> {
        let mut env = vec![(
            "WAYLAND_DISPLAY".to_owned(),
            self.socket_name.to_string_lossy().into_owned(),
        )];
        if let Some(display) = self.xwayland.display() {
            env.push(("DISPLAY".to_owned(), display));
        }
        if let Some(ipc) = &self.ipc_socket {
            env.push((
                "GHOSTCOMP_SOCKET".to_owned(),
                ipc.to_string_lossy().into_owned(),
            ));
        }
        env
    }

    /// The variables a login session hands to the rest of the desktop: the clients'
    /// and the desktop's name and session type.
    pub fn session_environment(&self) -> Vec<(String, String)> {
        let mut env = self.client_environment();
        env.push(("XDG_CURRENT_DESKTOP".to_owned(), DESKTOP.to_owned()));
        env.push(("XDG_SESSION_TYPE".to_owned(), "wayland".to_owned()));
        env
    }

    /// Starts the session: the environment out to systemd and D-Bus and the session
    /// target, or, without systemd, the autostart entries.
    pub fn start_login_session(&mut self) {
        self.session.login = true;
        let env = self.session_environment();
        let pairs: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let systemd = systemd_user_manager();
        let mut dbus_args = pairs.clone();
        if systemd {
            dbus_args.insert(0, "--systemd".into());
        }
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
            && !run("dbus-update-activation-environment", &dbus_args)
        {
            warn!("D-Bus activation did not take the session's environment");
        }
        if systemd {
            let mut args = vec!["--user".to_owned(), "set-environment".to_owned()];
            args.extend(pairs);
            if !run("systemctl", &args) {
                warn!("the systemd user manager did not take the session's environment");
            }
            let start = ["--user", "start", "--no-block", TARGET].map(String::from);
            if run("systemctl", &start) {
                info!(target = TARGET, "started the session's systemd target");
                self.session.systemd = true;
            } else {
                warn!(
                    target = TARGET,
                    "could not start the session's target (is it installed?)"
                );
            }
            return;
        }
        info!("no systemd user manager: running the XDG autostart entries");
        self.run_autostart();
    }

    /// Runs the XDG autostart entries meant for this desktop.
    fn run_autostart(&mut self) {
        use ghost_config::autostart;
        let config_home = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(std::path::PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".config")));
        let config_dirs = std::env::var("XDG_CONFIG_DIRS").ok();
        let dirs = autostart::directories(config_home, config_dirs.as_deref());
        for path in autostart::entries(&dirs) {
            let Ok(text) = std::fs::read(&path) else {
                continue;
            };
            match autostart::command(&text, DESKTOP, installed) {
                Ok(argv) => {
                    info!(entry = %path.display(), ?argv, "autostart");
                    self.spawn(&argv);
                }
                Err(why) => info!(entry = %path.display(), %why, "autostart: skipped"),
            }
        }
    }

    /// Ends the session's systemd target (its services stop with it).
    pub fn end_login_session(&mut self) {
        if !self.session.systemd {
            return;
        }
        let stop = ["--user", "stop", TARGET].map(String::from);
        if !run("systemctl", &stop) {
            warn!(target = TARGET, "could not stop the session's target");
        }
        let mut unset = vec!["--user".to_owned(), "unset-environment".to_owned()];
        unset.extend(self.session_environment().into_iter().map(|(k, _)| k));
        let _ = run("systemctl", &unset);
    }
}

/// Whether `program` (a path, or a name on PATH) can be run, for `TryExec`.
fn installed(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &std::path::Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        return executable(std::path::Path::new(program));
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| executable(&dir.join(program))))
}
