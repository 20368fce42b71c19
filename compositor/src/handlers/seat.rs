//! wl_seat, wl_data_device and primary selection.

use std::os::fd::OwnedFd;

use smithay::{
    delegate_data_device, delegate_primary_selection, delegate_seat,
    input::{pointer::CursorImageStatus, Seat, SeatHandler, SeatState},
    reexports::wayland_server::{protocol::wl_surface::WlSurface, Resource},
    wayland::selection::{
        data_device::{
            set_data_device_focus, ClientDndGrabHandler, DataDeviceHandler, DataDeviceState,
            ServerDndGrabHandler,
        },
        primary_selection::{set_primary_focus, PrimarySelectionHandler, PrimarySelectionState},
        SelectionHandler,
    },
};

use crate::state::Ghost;

impl SeatHandler for Ghost {
    type KeyboardFocus = crate::xwayland::KeyboardFocus;
    type PointerFocus = WlSurface;
    type TouchFocus = WlSurface;

    fn seat_state(&mut self) -> &mut SeatState<Self> {
        &mut self.seat_state
    }

    fn focus_changed(
        &mut self,
        seat: &Seat<Self>,
        focused: Option<&crate::xwayland::KeyboardFocus>,
    ) {
        use smithay::wayland::seat::WaylandFocus;
        let dh = &self.display_handle;
        let client = focused
            .and_then(|f| f.wl_surface())
            .and_then(|s| dh.get_client(s.id()).ok());
        set_data_device_focus(dh, seat, client.clone());
        set_primary_focus(dh, seat, client);
        let surface = focused.and_then(|f| f.wl_surface()).map(|s| s.into_owned());
        self.pointer_constraints_follow_focus(surface.as_ref());
    }

    fn cursor_image(&mut self, _seat: &Seat<Self>, image: CursorImageStatus) {
        self.cursor_image_changed(image);
    }
}
delegate_seat!(Ghost);

impl smithay::wayland::tablet_manager::TabletSeatHandler for Ghost {
    fn tablet_tool_image(
        &mut self,
        _tool: &smithay::backend::input::TabletToolDescriptor,
        image: CursorImageStatus,
    ) {
        self.cursor_image_changed(image);
    }
}

impl Ghost {
    fn cursor_image_changed(&mut self, image: CursorImageStatus) {
        self.cursor_status = image;
        self.backend.cursor_changed(&self.cursor_status);
        self.queue_redraw_all();
    }
}

impl SelectionHandler for Ghost {
    /// Selections the compositor holds are X11 programs' (see `xwayland::wm`).
    type SelectionUserData = ();

    fn new_selection(
        &mut self,
        ty: smithay::wayland::selection::SelectionTarget,
        source: Option<smithay::wayland::selection::SelectionSource>,
        _seat: Seat<Self>,
    ) {
        // A Wayland client's selection is offered to X11 programs too.
        if let Some(wm) = self.xwayland.wm.as_mut() {
            if let Err(err) = wm.new_selection(ty, source.map(|s| s.mime_types())) {
                tracing::warn!(%err, "cannot offer the selection to X11 programs");
            }
        }
    }

    fn send_selection(
        &mut self,
        ty: smithay::wayland::selection::SelectionTarget,
        mime_type: String,
        fd: OwnedFd,
        _seat: Seat<Self>,
        _user_data: &(),
    ) {
        // A Wayland client pastes what an X11 program copied: text through smithay's
        // bridge, other types (images) through ghostcomp's own reader.
        let display = self.xwayland.display();
        if let Some(wm) = self.xwayland.wm.as_mut() {
            if crate::xwayland::transfer::bridged_by_smithay(&mime_type) {
                if let Err(err) = wm.send_selection(ty, mime_type, fd, self.loop_handle.clone()) {
                    tracing::warn!(%err, "cannot read an X11 program's selection");
                }
            } else if let Some(display) = display {
                crate::xwayland::transfer::read_selection(display, ty, mime_type, fd);
            }
        }
    }
}

impl DataDeviceHandler for Ghost {
    fn data_device_state(&self) -> &DataDeviceState {
        &self.data_device_state
    }
}

impl ClientDndGrabHandler for Ghost {}

impl ServerDndGrabHandler for Ghost {
    fn send(&mut self, _mime_type: String, _fd: OwnedFd, _seat: Seat<Self>) {
        // The compositor never offers drag-and-drop data of its own.
    }
}
delegate_data_device!(Ghost);

impl PrimarySelectionHandler for Ghost {
    fn primary_selection_state(&self) -> &PrimarySelectionState {
        &self.primary_selection_state
    }
}
delegate_primary_selection!(Ghost);

// Clipboard managers and wl-clipboard read and set the selection without a window
// (privileged: sandboxed clients do not see either global).
impl smithay::wayland::selection::wlr_data_control::DataControlHandler for Ghost {
    fn data_control_state(
        &self,
    ) -> &smithay::wayland::selection::wlr_data_control::DataControlState {
        &self.wlr_data_control_state
    }
}
smithay::delegate_data_control!(Ghost);

impl smithay::wayland::selection::ext_data_control::DataControlHandler for Ghost {
    fn data_control_state(
        &self,
    ) -> &smithay::wayland::selection::ext_data_control::DataControlState {
        &self.ext_data_control_state
    }
}
smithay::delegate_ext_data_control!(Ghost);
