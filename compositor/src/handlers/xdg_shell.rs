//! xdg-shell (toplevels and popups) and xdg-decoration.

use smithay::{
    delegate_xdg_decoration,
    desktop::{find_popup_root_surface, get_popup_toplevel_coords, PopupKind, Window},
    input::Seat,
    output::Output,
    reexports::{
        wayland_protocols::xdg::{
            decoration::zv1::server::zxdg_toplevel_decoration_v1::Mode as DecorationMode,
            shell::server::xdg_toplevel,
        },
        wayland_server::protocol::{wl_output::WlOutput, wl_seat},
    },
    utils::Serial,
    wayland::shell::xdg::{
        decoration::XdgDecorationHandler, PopupSurface, PositionerState, ToplevelSurface,
        XdgShellHandler, XdgShellState,
    },
};
use tracing::warn;

use crate::{
    shell::{grabs::ResizeEdges, window_data},
    state::Ghost,
};

impl XdgShellHandler for Ghost {
    fn xdg_shell_state(&mut self) -> &mut XdgShellState {
        &mut self.xdg_shell_state
    }

    fn popup_destroyed(&mut self, surface: PopupSurface) {
        // The pointer leaves a menu as it goes, while its wl_surface still exists to be
        // left (a client destroys both at once); after this dispatch the pointer
        // enters whatever is under it now.
        let Some(pointer) = self.seat.get_pointer() else {
            return;
        };
        let on_popup = pointer.current_focus().is_some_and(|focus| {
            smithay::wayland::seat::WaylandFocus::wl_surface(&focus)
                .is_some_and(|s| *s == *surface.wl_surface())
        });
        if on_popup && !pointer.is_grabbed() {
            let event = smithay::input::pointer::MotionEvent {
                location: pointer.current_location(),
                serial: smithay::utils::SERIAL_COUNTER.next_serial(),
                time: self.now().as_millis() as u32,
            };
            pointer.motion(self, None, &event);
            pointer.frame(self);
            self.pointer_under = None;
        }
    }

    fn ack_configure(
        &mut self,
        surface: smithay::reexports::wayland_server::protocol::wl_surface::WlSurface,
        configure: smithay::wayland::shell::xdg::Configure,
    ) {
        if let smithay::wayland::shell::xdg::Configure::Popup(_) = configure {
            crate::shell::popup_grab::place_popup_shown_before_its_configure(&surface);
            self.queue_redraw_all();
        }
    }

    fn new_toplevel(&mut self, surface: ToplevelSurface) {
        // A new window ends any menu's grab (its popups close), as a click elsewhere does.
        if self.popup_grab.active() {
            self.popup_grab_dismiss();
        }
        let window = Window::new_wayland_window(surface);
        self.add_window(window);
    }

    fn new_popup(&mut self, surface: PopupSurface, _positioner: PositionerState) {
        self.unconstrain_popup(&surface);
        if let Err(err) = self.popups.track_popup(PopupKind::Xdg(surface)) {
            warn!(%err, "could not track a popup");
        }
    }

    fn reposition_request(
        &mut self,
        surface: PopupSurface,
        positioner: PositionerState,
        token: u32,
    ) {
        surface.with_pending_state(|state| {
            state.geometry = positioner.get_geometry();
            state.positioner = positioner;
        });
        self.unconstrain_popup(&surface);
        surface.send_repositioned(token);
    }

    fn grab(&mut self, surface: PopupSurface, _seat: wl_seat::WlSeat, _serial: Serial) {
        self.popup_grab_start(surface);
    }

    fn move_request(&mut self, surface: ToplevelSurface, seat: wl_seat::WlSeat, serial: Serial) {
        let Some(seat) = Seat::<Ghost>::from_resource(&seat) else {
            return;
        };
        if let Some(window) = self.window_for_surface(surface.wl_surface()) {
            self.start_move_grab(&seat, &window, Some(serial));
        }
    }

    fn resize_request(
        &mut self,
        surface: ToplevelSurface,
        seat: wl_seat::WlSeat,
        serial: Serial,
        edges: xdg_toplevel::ResizeEdge,
    ) {
        let Some(seat) = Seat::<Ghost>::from_resource(&seat) else {
            return;
        };
        if let Some(window) = self.window_for_surface(surface.wl_surface()) {
            self.start_resize_grab(&seat, &window, ResizeEdges::from(edges), Some(serial));
        }
    }

    fn maximize_request(&mut self, surface: ToplevelSurface) {
        if let Some(window) = self.window_for_surface(surface.wl_surface()) {
            self.set_maximized(&window, true);
        }
        self.foreign_toplevels_refresh();
    }

    fn unmaximize_request(&mut self, surface: ToplevelSurface) {
        if let Some(window) = self.window_for_surface(surface.wl_surface()) {
            self.set_maximized(&window, false);
        }
        self.foreign_toplevels_refresh();
    }

    fn fullscreen_request(&mut self, surface: ToplevelSurface, output: Option<WlOutput>) {
        let output = output.as_ref().and_then(Output::from_resource);
        if let Some(window) = self.window_for_surface(surface.wl_surface()) {
            self.set_fullscreen(&window, true, output);
        }
        self.foreign_toplevels_refresh();
    }

    fn unfullscreen_request(&mut self, surface: ToplevelSurface) {
        if let Some(window) = self.window_for_surface(surface.wl_surface()) {
            self.set_fullscreen(&window, false, None);
        }
        self.foreign_toplevels_refresh();
    }

    fn minimize_request(&mut self, surface: ToplevelSurface) {
        if let Some(window) = self.window_for_surface(surface.wl_surface()) {
            self.minimize(&window);
        }
        self.foreign_toplevels_refresh();
    }

    fn toplevel_destroyed(&mut self, surface: ToplevelSurface) {
        self.remove_window(surface.wl_surface());
    }

    fn title_changed(&mut self, surface: ToplevelSurface) {
        self.sync_foreign_toplevel(surface.wl_surface());
    }

    fn app_id_changed(&mut self, surface: ToplevelSurface) {
        self.sync_foreign_toplevel(surface.wl_surface());
    }
}
// smithay's delegate_xdg_shell, but for xdg_positioner, whose requests are checked
// first (below).
smithay::reexports::wayland_server::delegate_global_dispatch!(Ghost: [
    smithay::reexports::wayland_protocols::xdg::shell::server::xdg_wm_base::XdgWmBase: ()
] => XdgShellState);
smithay::reexports::wayland_server::delegate_dispatch!(Ghost: [
    smithay::reexports::wayland_protocols::xdg::shell::server::xdg_wm_base::XdgWmBase:
        smithay::wayland::shell::xdg::XdgWmBaseUserData
] => XdgShellState);
smithay::reexports::wayland_server::delegate_dispatch!(Ghost: [
    smithay::reexports::wayland_protocols::xdg::shell::server::xdg_popup::XdgPopup:
        smithay::wayland::shell::xdg::XdgShellSurfaceUserData
] => XdgShellState);
smithay::reexports::wayland_server::delegate_dispatch!(Ghost: [
    smithay::reexports::wayland_protocols::xdg::shell::server::xdg_surface::XdgSurface:
        smithay::wayland::shell::xdg::XdgSurfaceUserData
] => XdgShellState);
smithay::reexports::wayland_server::delegate_dispatch!(Ghost: [
    smithay::reexports::wayland_protocols::xdg::shell::server::xdg_toplevel::XdgToplevel:
        smithay::wayland::shell::xdg::XdgShellSurfaceUserData
] => XdgShellState);

/// xdg_positioner: a negative parent size is refused with `invalid_input` (smithay
/// 0.7 builds a negative size from it, which its own checks reject by panicking);
/// everything else is smithay's.
impl
    smithay::reexports::wayland_server::Dispatch<
        smithay::reexports::wayland_protocols::xdg::shell::server::xdg_positioner::XdgPositioner,
        smithay::wayland::shell::xdg::XdgPositionerUserData,
    > for Ghost
{
    fn request(
        state: &mut Self,
        client: &smithay::reexports::wayland_server::Client,
        positioner: &smithay::reexports::wayland_protocols::xdg::shell::server::xdg_positioner::XdgPositioner,
        request: smithay::reexports::wayland_protocols::xdg::shell::server::xdg_positioner::Request,
        data: &smithay::wayland::shell::xdg::XdgPositionerUserData,
        dh: &smithay::reexports::wayland_server::DisplayHandle,
        data_init: &mut smithay::reexports::wayland_server::DataInit<'_, Self>,
    ) {
        use smithay::reexports::{
            wayland_protocols::xdg::shell::server::xdg_positioner::{Error, Request},
            wayland_server::Resource,
        };
        if let Request::SetParentSize {
            parent_width,
            parent_height,
        } = request
        {
            if parent_width < 0 || parent_height < 0 {
                positioner.post_error(Error::InvalidInput, "negative parent size");
                return;
            }
        }
        <XdgShellState as smithay::reexports::wayland_server::Dispatch<_, _, Ghost>>::request(
            state, client, positioner, request, data, dh, data_init,
        );
    }
}

impl XdgDecorationHandler for Ghost {
    fn new_decoration(&mut self, toplevel: ToplevelSurface) {
        // Clients that ask for decorations at all get server-side ones by default: a
        // title bar that looks the same for every app and always works.
        self.set_decoration_mode(&toplevel, DecorationMode::ServerSide);
    }

    fn request_mode(&mut self, toplevel: ToplevelSurface, mode: DecorationMode) {
        self.set_decoration_mode(&toplevel, mode);
    }

    fn unset_mode(&mut self, toplevel: ToplevelSurface) {
        self.set_decoration_mode(&toplevel, DecorationMode::ServerSide);
    }
}
delegate_xdg_decoration!(Ghost);

impl Ghost {
    fn set_decoration_mode(&mut self, toplevel: &ToplevelSurface, mode: DecorationMode) {
        toplevel.with_pending_state(|state| state.decoration_mode = Some(mode));
        if let Some(window) = self.window_for_surface(toplevel.wl_surface()) {
            window_data(&window)
                .server_side_decorations
                .set(mode == DecorationMode::ServerSide);
            self.queue_redraw_all();
        }
        if toplevel.is_initial_configure_sent() {
            toplevel.send_pending_configure();
        }
    }

    /// Keeps a popup on screen: the positioner's constraint adjustments are applied
    /// against the output the popup's toplevel is on.
    fn unconstrain_popup(&self, popup: &PopupSurface) {
        let kind = PopupKind::Xdg(popup.clone());
        let Ok(root) = find_popup_root_surface(&kind) else {
            return;
        };
        let Some(window) = self.window_for_surface(&root) else {
            return;
        };
        let Some(window_geo) = self.space.element_geometry(&window) else {
            return;
        };
        let Some(output_geo) = self
            .space
            .outputs_for_element(&window)
            .first()
            .or_else(|| self.space.outputs().next())
            .and_then(|o| self.space.output_geometry(o))
        else {
            return;
        };
        let mut target = output_geo;
        target.loc -= get_popup_toplevel_coords(&kind);
        target.loc -= window_geo.loc;
        popup.with_pending_state(|state| {
            state.geometry = state.positioner.get_unconstrained_geometry(target);
        });
    }
}
