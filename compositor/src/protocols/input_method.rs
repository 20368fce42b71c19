//! Input methods (fcitx5, IBus's Wayland front end, kime): zwp_text_input_v3 for every
//! client, zwp_input_method_v2 for the input method itself. smithay routes the two
//! (text-input focus follows the keyboard; the input method's keyboard grab takes the
//! keys it wants); ghostcomp places the input method's candidate popups and keeps the
//! input method, which reads every key typed, from sandboxed clients.

use smithay::{
    delegate_text_input_manager,
    desktop::{PopupKind, PopupManager},
    reexports::{
        wayland_protocols_misc::zwp_input_method_v2::server::{
            zwp_input_method_keyboard_grab_v2::ZwpInputMethodKeyboardGrabV2,
            zwp_input_method_manager_v2::{self, ZwpInputMethodManagerV2},
            zwp_input_method_v2::{self, ZwpInputMethodV2},
            zwp_input_popup_surface_v2::ZwpInputPopupSurfaceV2,
        },
        wayland_server::{
            delegate_dispatch, delegate_global_dispatch, protocol::wl_surface::WlSurface, Client,
            DataInit, Dispatch, DisplayHandle,
        },
    },
    utils::{Logical, Rectangle},
    wayland::input_method::{
        InputMethodHandler, InputMethodKeyboardUserData, InputMethodManagerGlobalData,
        InputMethodManagerState, InputMethodPopupSurfaceUserData, InputMethodUserData,
        PopupSurface,
    },
};
use tracing::warn;

use crate::state::Ghost;

impl InputMethodHandler for Ghost {
    fn new_popup(&mut self, surface: PopupSurface) {
        if let Err(err) = self.popups.track_popup(PopupKind::InputMethod(surface)) {
            warn!(%err, "cannot show the input method's popup");
        }
    }

    fn popup_repositioned(&mut self, _surface: PopupSurface) {}

    fn dismiss_popup(&mut self, surface: PopupSurface) {
        if let Some(parent) = surface.get_parent().map(|p| p.surface.clone()) {
            // A parent already gone took its popups with it.
            let _ = PopupManager::dismiss_popup(&parent, &PopupKind::InputMethod(surface));
        }
    }

    /// The text field's window geometry in its surface's coordinates (smithay places
    /// the popup at the text cursor relative to it; the window's place on screen comes
    /// from the window when it is drawn).
    fn parent_geometry(&self, parent: &WlSurface) -> Rectangle<i32, Logical> {
        self.window_for_surface(parent)
            .map(|w| w.geometry())
            .unwrap_or_default()
    }
}

impl Ghost {
    /// Whether an input method holds the seat (its client still connected).
    pub fn input_method_present(&self) -> bool {
        self.input_method_owner.clone().is_some_and(|id| {
            self.display_handle
                .backend_handle()
                .get_client_data(id)
                .is_ok()
        })
    }
}

/// The input method object of a client that asked while another held the seat: told
/// `unavailable` (as the protocol says; smithay 0.7 tells the one that holds the seat
/// instead), and deaf to everything after.
pub struct SeatTaken;

impl Dispatch<ZwpInputMethodV2, SeatTaken> for Ghost {
    fn request(
        _: &mut Ghost,
        _: &Client,
        _: &ZwpInputMethodV2,
        _: zwp_input_method_v2::Request,
        _: &SeatTaken,
        _: &DisplayHandle,
        _: &mut DataInit<'_, Ghost>,
    ) {
    }
}

impl Dispatch<ZwpInputMethodManagerV2, ()> for Ghost {
    fn request(
        state: &mut Ghost,
        client: &Client,
        manager: &ZwpInputMethodManagerV2,
        request: zwp_input_method_manager_v2::Request,
        data: &(),
        dh: &DisplayHandle,
        data_init: &mut DataInit<'_, Ghost>,
    ) {
        if let zwp_input_method_manager_v2::Request::GetInputMethod { seat, input_method } = request
        {
            // The seat's input method belongs to the first client that asked, while it
            // stays connected (that client may make a new one after destroying its
            // old one).
            let owner = state
                .input_method_owner
                .clone()
                .filter(|id| dh.backend_handle().get_client_data(id.clone()).is_ok());
            if owner.as_ref().is_some_and(|id| *id != client.id()) {
                data_init.init(input_method, SeatTaken).unavailable();
                return;
            }
            state.input_method_owner = Some(client.id());
            let request =
                zwp_input_method_manager_v2::Request::GetInputMethod { seat, input_method };
            <InputMethodManagerState as Dispatch<ZwpInputMethodManagerV2, (), Ghost>>::request(
                state, client, manager, request, data, dh, data_init,
            );
            return;
        }
        <InputMethodManagerState as Dispatch<ZwpInputMethodManagerV2, (), Ghost>>::request(
            state, client, manager, request, data, dh, data_init,
        );
    }
}

delegate_text_input_manager!(Ghost);
delegate_global_dispatch!(Ghost: [ZwpInputMethodManagerV2: InputMethodManagerGlobalData] => InputMethodManagerState);
delegate_dispatch!(Ghost: [ZwpInputMethodV2: InputMethodUserData<Ghost>] => InputMethodManagerState);
delegate_dispatch!(Ghost: [ZwpInputMethodKeyboardGrabV2: InputMethodKeyboardUserData<Ghost>] => InputMethodManagerState);
delegate_dispatch!(Ghost: [ZwpInputPopupSurfaceV2: InputMethodPopupSurfaceUserData] => InputMethodManagerState);
