//! The compositor's key bindings (the config's `[bindings]`) and what their actions do.

use std::process::Command;

use ghost_config::{Action, Modifiers, ScreenshotTarget};
use smithay::input::keyboard::{keysyms, xkb, Keysym, ModifiersState};
use tracing::{info, warn};

use crate::state::Ghost;

/// What a key press asks of the compositor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bound {
    /// A configured binding.
    Action(Action),
    /// Ctrl+Alt+BackSpace: quit, even while a client inhibits shortcuts and whatever
    /// the configuration binds.
    Escape,
    /// Ctrl+Alt+F1…F12 (XF86Switch_VT_n): switch to that virtual terminal, on a session
    /// that has them.
    SwitchVt(i32),
    /// A key of the screen-share prompt.
    Pick(crate::casts::pick::PickKey),
}

impl Bound {
    /// Whether it must work even while a client inhibits shortcuts.
    pub fn is_escape(&self) -> bool {
        matches!(self, Bound::Escape | Bound::SwitchVt(_))
    }
}

/// The binding for this key press: the unmodified symbols are tried first (so Shift+Tab
/// is "Shift+Tab", not "Shift+ISO_Left_Tab"), then the modified one.
pub fn action_for(
    config: &ghost_config::Config,
    mods: &ModifiersState,
    modified: Keysym,
    raw: &[Keysym],
) -> Option<Bound> {
    let has = |k: u32| raw.iter().any(|s| s.raw() == k) || modified.raw() == k;
    if mods.ctrl && mods.alt && has(keysyms::KEY_BackSpace) {
        return Some(Bound::Escape);
    }
    // xkb turns Ctrl+Alt+Fn into XF86Switch_VT_n.
    if let Some(sym) = raw
        .iter()
        .chain(std::iter::once(&modified))
        .find(|s| (keysyms::KEY_XF86Switch_VT_1..=keysyms::KEY_XF86Switch_VT_12).contains(&s.raw()))
    {
        return Some(Bound::SwitchVt(
            (sym.raw() - keysyms::KEY_XF86Switch_VT_1 + 1) as i32,
        ));
    }
    let held = Modifiers {
        logo: mods.logo,
        ctrl: mods.ctrl,
        alt: mods.alt,
        shift: mods.shift,
    };
    raw.iter()
        .chain(std::iter::once(&modified))
        .filter(|s| s.raw() != 0)
        .find_map(|sym| {
            config
                .bindings
                .0
                .iter()
                .find(|b| b.combo.modifiers == held && keysym_of(&b.combo) == Some(*sym))
        })
        .map(|b| Bound::Action(b.action.clone()))
}

/// The keysym a binding's key names. xkb gives several names to one key ("Page_Down"
/// and "Next", "Prior" and "Page_Up"), so keys are compared as keysyms, not as names;
/// a name in the wrong case still finds its key.
fn keysym_of(combo: &ghost_config::KeyCombo) -> Option<Keysym> {
    let key = combo.normalized().key;
    [xkb::KEYSYM_NO_FLAGS, xkb::KEYSYM_CASE_INSENSITIVE]
        .into_iter()
        .map(|flags| xkb::keysym_from_name(&key, flags))
        .find(|sym| sym.raw() != 0)
}

impl Ghost {
    /// Carries out a binding.
    pub fn run_bound(&mut self, bound: Bound) {
        match bound {
            Bound::Escape => {
                info!("Ctrl+Alt+BackSpace: quitting");
                self.loop_signal.stop();
            }
            Bound::Action(action) => self.run_action(action),
            Bound::SwitchVt(vt) => self.backend.change_vt(vt),
            Bound::Pick(key) => {
                self.pick_key(key);
            }
        }
    }

    /// Carries out an action from a binding.
    pub fn run_action(&mut self, action: Action) {
        use smithay::reexports::wayland_protocols::xdg::shell::server::xdg_toplevel::State;
        let focused = self.focused_window();
        let has_state = |state: State| {
            focused
                .as_ref()
                .and_then(|w| w.toplevel())
                .is_some_and(|t| t.current_state().states.contains(state))
        };
        let seat = self.seat.clone();
        match action {
            Action::Spawn(argv) => self.spawn(&argv),
            Action::Close => {
                if let Some(w) = &focused {
                    self.close_window(w);
                }
            }
            Action::FocusNext => self.cycle_focus(true),
            Action::FocusPrevious => self.cycle_focus(false),
            Action::Move => {
                if let Some(w) = &focused {
                    self.start_move_grab(&seat, w, None);
                }
            }
            Action::Resize => {
                if let Some(w) = &focused {
                    let edges = crate::shell::grabs::ResizeEdges {
                        bottom: true,
                        right: true,
                        ..Default::default()
                    };
                    self.start_resize_grab(&seat, w, edges, None);
                }
            }
            Action::Fullscreen => {
                let on = !has_state(State::Fullscreen);
                if let Some(w) = &focused {
                    self.set_fullscreen(w, on, None);
                }
            }
            Action::Maximize => {
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
            Action::Screenshot(target) => self.screenshot_binding(target),
            Action::ReloadConfig => {
                let _ = self.reload_config();
            }
            Action::Quit => {
                info!("quit requested");
                self.loop_signal.stop();
            }
            Action::RecordToggle => self.record_toggle(),
            Action::SaveReplay => self.save_replay_binding(),
            Action::Lock => {
                if let Err(err) = self.start_locker() {
                    warn!(%err, "cannot lock the session");
                }
            }
            Action::ToggleOverlay => self.set_overlay(!self.telemetry.overlay.on),
            Action::ToggleTiling => self.toggle_tiling(),
            Action::ToggleFloating => {
                if let Some(window) = self.focused_window() {
                    self.toggle_floating(&window);
                }
            }
            Action::StopRemoteControl => {
                self.stop_remote_control();
            }
            Action::FocusWorkspace(target) => self.focus_workspace_binding(target),
            Action::MoveToWorkspace(target) => self.move_to_workspace_binding(target),
            Action::Snap(snap) => {
                if let Some(window) = self.focused_window() {
                    self.snap_window(&window, snap);
                }
            }
        }
    }

    fn screenshot_binding(&mut self, target: ScreenshotTarget) {
        let Some(output) = self.active_output() else {
            return;
        };
        let region = match target {
            ScreenshotTarget::Output => None,
            ScreenshotTarget::Window => {
                let Some(window) = self.focused_window() else {
                    return;
                };
                self.space.element_geometry(&window)
            }
            ScreenshotTarget::Region => {
                warn!("region screenshots need the capture picker, which this version lacks");
                return;
            }
        };
        let path = crate::screenshot::default_screenshot_path();
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let result = self.save_screenshot(
            &output,
            region,
            path,
            crate::screenshot::Source::Render,
            |result| match result {
                Ok(saved) => info!(path = %saved.path.display(), "screenshot saved"),
                Err(err) => warn!(%err, "screenshot failed"),
            },
        );
        if let Err(err) = result {
            warn!(%err, "screenshot failed");
        }
    }

    /// Starts a client with the compositor's environment (see [`Ghost::command_for`]) as
    /// a child of the session.
    pub fn spawn(&self, argv: &[String]) {
        if let (Some(cmd), Some(program)) = (self.command_for(argv), argv.first()) {
            self.spawn_child(cmd, program, None);
        }
    }

    /// `argv` as a command with the compositor's environment (WAYLAND_DISPLAY, DISPLAY
    /// where X11 programs can run, GHOSTCOMP_SOCKET, and the config's `[environment]`).
    pub fn command_for(&self, argv: &[String]) -> Option<Command> {
        let (program, args) = argv.split_first()?;
        let mut cmd = Command::new(program);
        cmd.args(args).env_remove("DISPLAY");
        match self.session.login {
            true => cmd.envs(self.session_environment()),
            false => cmd.envs(self.client_environment()),
        };
        cmd.envs(&self.config.environment);
        crate::clients::restore_fd_limit(&mut cmd);
        Some(cmd)
    }
}
