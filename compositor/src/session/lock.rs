//! The session lock (ext-session-lock-v1), failing closed. While locked, each output
//! shows its lock surface and nothing else (opaque black where it has none yet), only
//! lock surfaces get input, and every picture that leaves the compositor (screenshots,
//! screencopy, casts, recordings) shows the same. Only the client holding the lock can
//! lift it: if that client dies, the session stays locked, and a new lock client may
//! take the lock over and unlock.

use std::time::Duration;

use smithay::{
    backend::renderer::{
        element::surface::{render_elements_from_surface_tree, WaylandSurfaceRenderElement},
        ImportAll, Renderer, Texture,
    },
    delegate_session_lock,
    desktop::utils::{send_frames_surface_tree, under_from_surface_tree},
    output::Output,
    reexports::{
        calloop::{
            timer::{TimeoutAction, Timer},
            RegistrationToken,
        },
        wayland_protocols::ext::session_lock::v1::server::ext_session_lock_v1::ExtSessionLockV1,
        wayland_server::{
            protocol::{wl_output::WlOutput, wl_surface::WlSurface},
            Resource,
        },
    },
    utils::{Logical, Point, Scale},
    wayland::{
        compositor::{send_surface_state, with_surface_tree_downward, TraversalAction},
        session_lock::{LockSurface, SessionLockHandler, SessionLockManagerState, SessionLocker},
    },
};
use tracing::{info, warn};

use crate::state::Ghost;

/// How long a new lock waits for every output to show its cover before the locker is
/// told the session is locked anyway (an output that does not draw, switched off, shows
/// nothing of the session either).
const CONFIRM_WITHIN: Duration = Duration::from_secs(1);

/// The colour of an output that is locked without a lock surface.
pub const COVER: [f32; 4] = [0.0, 0.0, 0.0, 1.0];

/// A lock waiting for every output to draw its first covered frame.
struct Confirming {
    locker: SessionLocker,
    outputs: Vec<Output>,
    /// The timer that confirms anyway; removed when the outputs confirm first, so it
    /// cannot confirm a later lock early.
    deadline: Option<RegistrationToken>,
}

/// The session lock's state.
#[derive(Default)]
pub struct SessionLock {
    locked: bool,
    /// The lock object that can lift the lock; dead after its client died.
    holder: Option<ExtSessionLockV1>,
    surfaces: Vec<(Output, LockSurface)>,
    confirming: Option<Confirming>,
    /// smithay reported an unlock request; honoured only if the holder's lock object
    /// is gone after the dispatch that carried it (see [`Ghost::lock_refresh`]).
    unlock_requested: bool,
    /// Whether the loss of the holder was logged.
    orphan_logged: bool,
    /// Times the session was locked (for `msg version`).
    pub locks: u64,
}

impl std::fmt::Debug for SessionLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionLock")
            .field("locked", &self.locked)
            .field("surfaces", &self.surfaces.len())
            .finish()
    }
}

impl SessionLock {
    /// Whether the session is locked (with or without a live lock client).
    pub fn is_locked(&self) -> bool {
        self.locked
    }

    /// Whether a live client holds the lock.
    pub fn held(&self) -> bool {
        self.holder.as_ref().is_some_and(|h| h.is_alive())
    }

    /// The lock surface shown on `output`.
    pub fn surface_on(&self, output: &Output) -> Option<&WlSurface> {
        self.surfaces
            .iter()
            .find(|(o, s)| o == output && s.alive())
            .map(|(_, s)| s.wl_surface())
    }

    /// Whether `surface` is one of the lock's surfaces.
    pub fn owns(&self, surface: &WlSurface) -> bool {
        self.surfaces.iter().any(|(_, s)| s.wl_surface() == surface)
    }

    /// What a locked output shows: its lock surface's elements (at the output's top
    /// left), nothing where it has none. The caller draws them over [`COVER`].
    pub fn elements<R, E>(&self, renderer: &mut R, output: &Output, scale: Scale<f64>) -> Vec<E>
    where
        R: Renderer + ImportAll,
        R::TextureId: Clone + Texture + 'static,
        E: From<WaylandSurfaceRenderElement<R>>,
    {
        match self.surface_on(output) {
            Some(surface) => render_elements_from_surface_tree(
                renderer,
                surface,
                Point::from((0, 0)),
                scale,
                1.0,
                smithay::backend::renderer::element::Kind::Unspecified,
            ),
            None => Vec::new(),
        }
    }
}

impl Ghost {
    /// The lock surface under `pos` (global), with its origin; None when the output
    /// under `pos` has none.
    pub fn lock_surface_under(
        &self,
        pos: Point<f64, Logical>,
    ) -> Option<(WlSurface, Point<f64, Logical>)> {
        let output = self.space.output_under(pos).next()?;
        let origin = self.space.output_geometry(output)?.loc;
        let surface = self.lock.surface_on(output)?;
        under_from_surface_tree(
            surface,
            pos - origin.to_f64(),
            (0, 0),
            smithay::desktop::WindowSurfaceType::ALL,
        )
        .map(|(s, p)| (s, (p + origin).to_f64()))
    }

    /// After a frame of `output`: its lock surface learns it was shown (frame callbacks,
    /// scale), and a new lock is confirmed once every output drew its cover.
    pub fn lock_after_render(&mut self, output: &Output) {
        if !self.lock.locked {
            return;
        }
        if let Some(surface) = self.lock.surface_on(output).cloned() {
            let scale = output.current_scale().integer_scale();
            let transform = output.current_transform();
            with_surface_tree_downward(
                &surface,
                (),
                |_, _, _| TraversalAction::DoChildren(()),
                |surface, data, _| send_surface_state(surface, data, scale, transform),
                |_, _, _| true,
            );
            let now = self.now();
            send_frames_surface_tree(&surface, output, now, None, |_, _| Some(output.clone()));
        }
        if let Some(confirming) = &mut self.lock.confirming {
            confirming.outputs.retain(|o| o != output);
            if confirming.outputs.is_empty() {
                self.lock_confirm();
            }
        }
    }

    /// Tells the locker the session is locked.
    fn lock_confirm(&mut self) {
        if let Some(confirming) = self.lock.confirming.take() {
            info!("session locked");
            if let Some(token) = confirming.deadline {
                self.loop_handle.remove(token);
            }
            confirming.locker.lock();
        }
    }

    /// Housekeeping after each dispatch: an unlock request from the holder lifts the
    /// lock, a dead holder leaves it in place, lock surfaces follow their outputs' sizes,
    /// and the keyboard stays on a lock surface.
    pub fn lock_refresh(&mut self) {
        if !self.lock.locked {
            return;
        }
        if std::mem::take(&mut self.lock.unlock_requested) {
            // The holder's unlock_and_destroy destroyed it; a refused lock's request
            // (which smithay answers with a protocol error) leaves the holder alive.
            if self.lock.holder.as_ref().is_some_and(|h| !h.is_alive()) {
                self.unlock_session();
                return;
            }
            warn!("an unlock request from a client that does not hold the lock was ignored");
        }
        self.lock.surfaces.retain(|(_, s)| s.alive());
        if !self.lock.held() && !self.lock.orphan_logged {
            self.lock.orphan_logged = true;
            warn!("the lock client is gone: the session stays locked until a new one unlocks it");
            self.queue_redraw_all();
        }
        for (output, surface) in &self.lock.surfaces {
            let Some(size) = self.space.output_geometry(output).map(|g| g.size) else {
                continue;
            };
            let size = (size.w.max(1) as u32, size.h.max(1) as u32).into();
            let changed = surface.with_pending_state(|state| {
                let changed = state.size != Some(size);
                state.size = Some(size);
                changed
            });
            if changed {
                surface.send_configure();
            }
        }
        self.lock_keep_focus();
        self.lock_keep_pointer();
    }

    /// Takes the pointer off whatever it was over when the lock came: it is over the
    /// lock surface under it, or over nothing.
    fn lock_keep_pointer(&mut self) {
        let Some(pointer) = self.seat.get_pointer() else {
            return;
        };
        let focused = pointer.current_focus().and_then(|f| {
            smithay::wayland::seat::WaylandFocus::wl_surface(&f).map(|s| s.into_owned())
        });
        if focused.is_none() || focused.as_ref().is_some_and(|s| self.lock.owns(s)) {
            return;
        }
        let location = pointer.current_location();
        let under = self.lock_surface_under(location);
        let event = smithay::input::pointer::MotionEvent {
            location,
            serial: smithay::utils::SERIAL_COUNTER.next_serial(),
            time: self.now().as_millis() as u32,
        };
        pointer.motion(self, under, &event);
        pointer.frame(self);
    }

    /// Keeps the keyboard on the lock surface of the output under the pointer (or any).
    fn lock_keep_focus(&mut self) {
        let focused = self.keyboard_focus_surface();
        if focused.as_ref().is_some_and(|s| self.lock.owns(s)) {
            return;
        }
        let pointer = self.seat.get_pointer().map(|p| p.current_location());
        let under = pointer
            .and_then(|p| self.space.output_under(p).next().cloned())
            .and_then(|o| self.lock.surface_on(&o).cloned());
        let target = under.or_else(|| {
            self.lock
                .surfaces
                .iter()
                .find(|(_, s)| s.alive())
                .map(|(_, s)| s.wl_surface().clone())
        });
        if target.is_some() || focused.is_some() {
            self.set_keyboard_focus(target);
        }
    }

    /// Starts `[lock] command` unless the session is locked already.
    pub fn start_locker(&mut self) -> Result<(), String> {
        if self.lock.held() {
            return Ok(());
        }
        let command = self.config.lock.command.clone();
        if command.is_empty() {
            return Err("no locker: [lock] command is empty".into());
        }
        info!(?command, "starting the screen locker");
        let started = self
            .command_for(&command)
            .and_then(|cmd| self.spawn_child(cmd, &command[0], None));
        match started {
            Some(_) => Ok(()),
            None => Err(format!("could not start the locker {:?}", command[0])),
        }
    }

    /// Lifts the lock: windows show again and the top one gets the keyboard.
    fn unlock_session(&mut self) {
        info!("session unlocked");
        self.lock.locked = false;
        self.lock.holder = None;
        self.lock.surfaces.clear();
        self.lock.confirming = None;
        self.lock.orphan_logged = false;
        let top = self.space.elements().last().cloned();
        match top {
            Some(window) => self.focus_window(&window),
            None => self.set_keyboard_focus(None),
        }
        self.queue_redraw_all();
    }
}

impl SessionLockHandler for Ghost {
    fn lock_state(&mut self) -> &mut SessionLockManagerState {
        &mut self.session_lock_state
    }

    fn lock(&mut self, confirmation: SessionLocker) {
        if self.lock.held() {
            // Dropping the locker tells the client it did not get the lock.
            info!("a lock request was refused: another client holds the lock");
            return;
        }
        let was_locked = self.lock.locked;
        self.lock.locked = true;
        self.lock.locks += 1;
        self.lock.holder = Some(confirmation.ext_session_lock().clone());
        self.lock.orphan_logged = false;
        self.lock.surfaces.retain(|(_, s)| s.alive());
        if was_locked {
            // The screen is covered already: a new lock client takes over at once.
            info!("a new lock client took over the locked session");
            confirmation.lock();
            return;
        }
        info!("locking the session");
        let deadline = self
            .loop_handle
            .insert_source(Timer::from_duration(CONFIRM_WITHIN), |_, _, state| {
                if let Some(confirming) = &mut state.lock.confirming {
                    confirming.deadline = None;
                }
                state.lock_confirm();
                TimeoutAction::Drop
            })
            .ok();
        self.lock.confirming = Some(Confirming {
            locker: confirmation,
            outputs: self.outputs(),
            deadline,
        });
        self.lock_keep_focus();
        self.queue_redraw_all();
    }

    fn unlock(&mut self) {
        self.lock.unlock_requested = true;
    }

    fn new_surface(&mut self, surface: LockSurface, wl_output: WlOutput) {
        let Some(output) = Output::from_resource(&wl_output) else {
            return;
        };
        if let Some(size) = self.space.output_geometry(&output).map(|g| g.size) {
            let size = (size.w.max(1) as u32, size.h.max(1) as u32).into();
            surface.with_pending_state(|state| state.size = Some(size));
        }
        self.lock.surfaces.push((output.clone(), surface));
        self.queue_redraw(&output);
    }
}
delegate_session_lock!(Ghost);
