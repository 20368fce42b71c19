//! The compositor's own key bindings and what they do.

use std::process::Command;

use smithay::input::keyboard::{keysyms, Keysym, ModifiersState};
use tracing::{info, warn};

use crate::state::Ghost;

/// Something the user asked the compositor (not a client) to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Start a program.
    Spawn(Vec<String>),
    /// Ask the focused window to close.
    CloseFocused,
    /// Focus the next window (Alt+Tab).
    FocusNext,
    /// Focus the previous window.
    FocusPrevious,
    /// Toggle fullscreen on the focused window.
    ToggleFullscreen,
    /// Toggle maximized on the focused window.
    ToggleMaximized,
    /// Minimize the focused window.
    Minimize,
    /// Leave the compositor. Ctrl+Alt+Backspace works even when a client inhibits shortcuts.
    Quit {
        /// Comes from the escape binding that no client can inhibit.
        escape: bool,
    },
}

impl Action {
    /// Whether the action must work even while a client inhibits shortcuts.
    pub fn is_escape(&self) -> bool {
        matches!(self, Action::Quit { escape: true })
    }
}

fn terminal() -> Vec<String> {
    let term = std::env::var("TERMINAL").unwrap_or_else(|_| "foot".into());
    vec![term]
}

/// The default bindings (a `[bindings]` config section replaces them in a later change).
pub fn action_for(
    _config: &ghost_config::Config,
    mods: &ModifiersState,
    sym: Keysym,
    raw: &[Keysym],
) -> Option<Action> {
    let has = |k: u32| raw.iter().any(|s| s.raw() == k) || sym.raw() == k;
    if mods.ctrl && mods.alt && has(keysyms::KEY_BackSpace) {
        return Some(Action::Quit { escape: true });
    }
    if mods.alt && !mods.logo && has(keysyms::KEY_Tab) {
        return Some(if mods.shift {
            Action::FocusPrevious
        } else {
            Action::FocusNext
        });
    }
    if !mods.logo {
        return None;
    }
    let action = if has(keysyms::KEY_Return) {
        Action::Spawn(terminal())
    } else if has(keysyms::KEY_q) || has(keysyms::KEY_Q) {
        Action::CloseFocused
    } else if has(keysyms::KEY_Tab) || has(keysyms::KEY_ISO_Left_Tab) {
        if mods.shift {
            Action::FocusPrevious
        } else {
            Action::FocusNext
        }
    } else if has(keysyms::KEY_f) || has(keysyms::KEY_F) {
        Action::ToggleFullscreen
    } else if has(keysyms::KEY_m) || has(keysyms::KEY_M) {
        Action::ToggleMaximized
    } else if has(keysyms::KEY_n) || has(keysyms::KEY_N) {
        Action::Minimize
    } else if mods.shift && (has(keysyms::KEY_e) || has(keysyms::KEY_E)) {
        Action::Quit { escape: false }
    } else {
        return None;
    };
    Some(action)
}

impl Ghost {
    /// Carries out a binding's action.
    pub fn run_action(&mut self, action: Action) {
        use smithay::reexports::wayland_protocols::xdg::shell::server::xdg_toplevel::State;
        let focused = self.focused_window();
        let has_state = |state: State| {
            focused
                .as_ref()
                .and_then(|w| w.toplevel())
                .is_some_and(|t| t.current_state().states.contains(state))
        };
        match action {
            Action::Spawn(argv) => self.spawn(&argv),
            Action::CloseFocused => {
                if let Some(w) = &focused {
                    self.close_window(w);
                }
            }
            Action::FocusNext => self.cycle_focus(true),
            Action::FocusPrevious => self.cycle_focus(false),
            Action::ToggleFullscreen => {
                let on = !has_state(State::Fullscreen);
                if let Some(w) = &focused {
                    self.set_fullscreen(w, on, None);
                }
            }
            Action::ToggleMaximized => {
                let on = !has_state(State::Maximized);
                if let Some(w) = &focused {
                    self.set_maximized(w, on);
                }
            }
            Action::Minimize => {
                if let Some(w) = &focused {
                    self.minimize(w);
                }
            }
            Action::Quit { .. } => {
                info!("quit requested");
                self.loop_signal.stop();
            }
        }
    }

    /// Starts a client with the compositor's environment (WAYLAND_DISPLAY,
    /// GHOSTCOMP_SOCKET, and the config's `[environment]`).
    pub fn spawn(&self, argv: &[String]) {
        let Some((program, args)) = argv.split_first() else {
            return;
        };
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env("WAYLAND_DISPLAY", &self.socket_name)
            .env_remove("DISPLAY");
        if let Some(ipc) = &self.ipc_socket {
            cmd.env("GHOSTCOMP_SOCKET", ipc);
        }
        cmd.envs(&self.config.environment);
        match cmd.spawn() {
            Ok(child) => {
                // Reap the child when it exits so no zombie stays behind.
                std::thread::spawn(move || {
                    let mut child = child;
                    let _ = child.wait();
                });
            }
            Err(err) => warn!(%err, program, "could not start"),
        }
    }
}
