//! smithay delegate implementations, one protocol (or a few trivial ones) per file.

mod compositor;
mod guards;
mod layer_shell;
pub mod pacing;
mod seat;
pub mod syncobj;
mod xdg_shell;

use smithay::{
    backend::allocator::dmabuf::Dmabuf,
    delegate_cursor_shape, delegate_dmabuf, delegate_foreign_toplevel_list,
    delegate_fractional_scale, delegate_idle_inhibit, delegate_keyboard_shortcuts_inhibit,
    delegate_output, delegate_pointer_constraints, delegate_presentation,
    delegate_relative_pointer, delegate_security_context, delegate_single_pixel_buffer,
    delegate_viewporter, delegate_xdg_activation,
    input::pointer::PointerHandle,
    reexports::wayland_server::protocol::wl_surface::WlSurface,
    utils::{Logical, Point},
    wayland::{
        compositor::{get_parent, with_states},
        dmabuf::{DmabufGlobal, DmabufHandler, DmabufState, ImportNotifier},
        foreign_toplevel_list::{ForeignToplevelListHandler, ForeignToplevelListState},
        fractional_scale::{with_fractional_scale, FractionalScaleHandler},
        idle_inhibit::IdleInhibitHandler,
        keyboard_shortcuts_inhibit::{
            KeyboardShortcutsInhibitHandler, KeyboardShortcutsInhibitState,
            KeyboardShortcutsInhibitor,
        },
        output::OutputHandler,
        pointer_constraints::{with_pointer_constraint, PointerConstraintsHandler},
        security_context::{
            SecurityContext, SecurityContextHandler, SecurityContextListenerSource,
        },
        xdg_activation::{
            XdgActivationHandler, XdgActivationState, XdgActivationToken, XdgActivationTokenData,
        },
    },
};
use tracing::{debug, warn};

use crate::state::{ClientState, Ghost};

impl OutputHandler for Ghost {}
delegate_output!(Ghost);

delegate_presentation!(Ghost);
delegate_viewporter!(Ghost);
delegate_single_pixel_buffer!(Ghost);
delegate_relative_pointer!(Ghost);
delegate_cursor_shape!(Ghost);

impl DmabufHandler for Ghost {
    fn dmabuf_state(&mut self) -> &mut DmabufState {
        &mut self.dmabuf_state
    }

    fn dmabuf_imported(
        &mut self,
        _global: &DmabufGlobal,
        dmabuf: Dmabuf,
        notifier: ImportNotifier,
    ) {
        if self.backend.import_dmabuf(&dmabuf) {
            let _ = notifier.successful::<Ghost>();
        } else {
            notifier.failed();
        }
    }
}
delegate_dmabuf!(Ghost);

impl FractionalScaleHandler for Ghost {
    fn new_fractional_scale(&mut self, surface: WlSurface) {
        let mut root = surface.clone();
        while let Some(parent) = get_parent(&root) {
            root = parent;
        }
        let output = self
            .window_for_surface(&root)
            .and_then(|w| self.space.outputs_for_element(&w).into_iter().next())
            .or_else(|| self.space.outputs().next().cloned());
        if let Some(output) = output {
            with_states(&surface, |states| {
                with_fractional_scale(states, |fs| {
                    fs.set_preferred_scale(output.current_scale().fractional_scale());
                });
            });
        }
    }
}
delegate_fractional_scale!(Ghost);

impl KeyboardShortcutsInhibitHandler for Ghost {
    fn keyboard_shortcuts_inhibit_state(&mut self) -> &mut KeyboardShortcutsInhibitState {
        &mut self.keyboard_shortcuts_inhibit_state
    }

    fn new_inhibitor(&mut self, inhibitor: KeyboardShortcutsInhibitor) {
        // A program the user started (a remote desktop viewer, a VM) gets every key while
        // it has focus; a sandboxed one only where a window rule says so. The escape
        // binding and VT switching are never inhibited (see input).
        if self.may_inhibit_shortcuts(inhibitor.wl_surface()) {
            inhibitor.activate();
        } else {
            debug!(surface = ?inhibitor.wl_surface(), "shortcuts inhibitor refused (sandboxed)");
        }
    }
}
delegate_keyboard_shortcuts_inhibit!(Ghost);

impl IdleInhibitHandler for Ghost {
    fn inhibit(&mut self, surface: WlSurface) {
        debug!(?surface, "idle inhibited");
        self.inhibit_idle(surface);
    }
    fn uninhibit(&mut self, surface: WlSurface) {
        debug!(?surface, "idle inhibition lifted");
        self.uninhibit_idle(&surface);
    }
}
delegate_idle_inhibit!(Ghost);

impl PointerConstraintsHandler for Ghost {
    fn new_constraint(&mut self, surface: &WlSurface, pointer: &PointerHandle<Self>) {
        // As in constraints.rs: only the window with the keyboard holds the pointer.
        let focused = self.keyboard_focus_surface();
        if pointer.current_focus().as_ref() == Some(surface)
            && focused.is_some_and(|f| crate::input::same_surface_tree(&f, surface))
        {
            with_pointer_constraint(surface, pointer, |constraint| {
                if let Some(c) = constraint {
                    c.activate();
                }
            });
        }
    }

    fn cursor_position_hint(
        &mut self,
        surface: &WlSurface,
        pointer: &PointerHandle<Self>,
        location: Point<f64, Logical>,
    ) {
        let active =
            with_pointer_constraint(surface, pointer, |c| c.is_some_and(|c| c.is_active()));
        if !active {
            return;
        }
        // The pointer stays where it was locked; it goes to the hint when the lock ends.
        if let Some(window) = self.window_for_surface(surface) {
            if let Some(loc) = self.space.element_location(&window) {
                self.pointer_lock_hint = Some(loc.to_f64() + location);
            }
        }
    }
}
delegate_pointer_constraints!(Ghost);

impl XdgActivationHandler for Ghost {
    fn activation_state(&mut self) -> &mut XdgActivationState {
        &mut self.xdg_activation_state
    }

    fn token_created(&mut self, _token: XdgActivationToken, data: XdgActivationTokenData) -> bool {
        // Only a client that had the latest keyboard focus may pass focus on; tokens
        // without a serial are still issued but never steal focus.
        let Some((serial, _seat)) = data.serial else {
            return true;
        };
        self.seat
            .get_keyboard()
            .and_then(|k| k.last_enter())
            .is_some_and(|last| serial.is_no_older_than(&last))
    }

    fn request_activation(
        &mut self,
        _token: XdgActivationToken,
        token_data: XdgActivationTokenData,
        surface: WlSurface,
    ) {
        if token_data.serial.is_none() || token_data.timestamp.elapsed().as_secs() >= 10 {
            return;
        }
        if let Some(window) = self.window_for_surface(&surface) {
            self.focus_window(&window);
        }
    }
}
delegate_xdg_activation!(Ghost);

impl ForeignToplevelListHandler for Ghost {
    fn foreign_toplevel_list_state(&mut self) -> &mut ForeignToplevelListState {
        &mut self.foreign_toplevel_list_state
    }
}
delegate_foreign_toplevel_list!(Ghost);

impl SecurityContextHandler for Ghost {
    fn context_created(
        &mut self,
        source: SecurityContextListenerSource,
        security_context: SecurityContext,
    ) {
        debug!(?security_context, "security context created");
        let result = self
            .loop_handle
            .insert_source(source, move |stream, _, state| {
                let client_state = ClientState {
                    security_context: Some(security_context.clone()),
                    ..ClientState::default()
                };
                if let Err(err) = state.add_client(stream, client_state) {
                    warn!(%err, "could not add a sandboxed client");
                }
            });
        if let Err(err) = result {
            warn!(%err, "could not listen on a security context socket");
        }
    }
}
delegate_security_context!(Ghost);
