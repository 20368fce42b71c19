//! What has the keyboard: a Wayland surface, or an X11 window. An X11 window takes
//! focus through the X server too (SetInputFocus or WM_TAKE_FOCUS, as its WM_HINTS and
//! WM_PROTOCOLS ask), which smithay's `X11Surface` does when it is the target; the
//! events themselves still reach Xwayland through its wl_surface.

use std::borrow::Cow;

use smithay::{
    backend::input::KeyState,
    input::{
        keyboard::{KeyboardTarget, KeysymHandle, ModifiersState},
        Seat,
    },
    reexports::wayland_server::protocol::wl_surface::WlSurface,
    utils::{IsAlive, Serial},
    wayland::seat::WaylandFocus,
    xwayland::X11Surface,
};

use crate::state::Ghost;

/// The keyboard's focus.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyboardFocus {
    /// A Wayland client's surface (a toplevel, a layer surface, a popup).
    Surface(WlSurface),
    /// An X11 window, by way of Xwayland.
    X11(X11Surface),
}

impl From<WlSurface> for KeyboardFocus {
    fn from(surface: WlSurface) -> Self {
        Self::Surface(surface)
    }
}

impl IsAlive for KeyboardFocus {
    fn alive(&self) -> bool {
        match self {
            Self::Surface(s) => s.alive(),
            Self::X11(x) => x.alive(),
        }
    }
}

impl WaylandFocus for KeyboardFocus {
    fn wl_surface(&self) -> Option<Cow<'_, WlSurface>> {
        match self {
            Self::Surface(s) => Some(Cow::Borrowed(s)),
            Self::X11(x) => super::surface_of(x).map(Cow::Owned),
        }
    }
}

impl KeyboardTarget<Ghost> for KeyboardFocus {
    fn enter(
        &self,
        seat: &Seat<Ghost>,
        data: &mut Ghost,
        keys: Vec<KeysymHandle<'_>>,
        serial: Serial,
    ) {
        match self {
            Self::Surface(s) => {
                KeyboardTarget::enter(s, seat, data, keys, serial);
                // zwp_text_input_v3 says the focused surface's text inputs are entered
                // whether or not an input method runs (smithay 0.7 waits for one; one
                // that comes later enters them itself).
                if !data.input_method_present() {
                    use smithay::wayland::text_input::TextInputSeat;
                    seat.text_input().enter();
                }
            }
            Self::X11(x) => {
                let tied = super::tied_by_id(x);
                match tied {
                    // smithay sets the X focus but knows no surface to enter.
                    Some(surface) => {
                        KeyboardTarget::enter(x, seat, data, Vec::new(), serial);
                        KeyboardTarget::enter(&surface, seat, data, keys, serial);
                    }
                    None => KeyboardTarget::enter(x, seat, data, keys, serial),
                }
            }
        }
    }

    fn leave(&self, seat: &Seat<Ghost>, data: &mut Ghost, serial: Serial) {
        match self {
            Self::Surface(s) => {
                if !data.input_method_present() {
                    use smithay::wayland::text_input::TextInputSeat;
                    seat.text_input().leave();
                }
                KeyboardTarget::leave(s, seat, data, serial)
            }
            Self::X11(x) => {
                KeyboardTarget::leave(x, seat, data, serial);
                if let Some(surface) = super::tied_by_id(x) {
                    KeyboardTarget::leave(&surface, seat, data, serial);
                }
            }
        }
    }

    fn key(
        &self,
        seat: &Seat<Ghost>,
        data: &mut Ghost,
        key: KeysymHandle<'_>,
        state: KeyState,
        serial: Serial,
        time: u32,
    ) {
        match self {
            Self::Surface(s) => KeyboardTarget::key(s, seat, data, key, state, serial, time),
            Self::X11(x) => match super::tied_by_id(x) {
                Some(surface) => {
                    KeyboardTarget::key(&surface, seat, data, key, state, serial, time)
                }
                None => KeyboardTarget::key(x, seat, data, key, state, serial, time),
            },
        }
    }

    fn modifiers(
        &self,
        seat: &Seat<Ghost>,
        data: &mut Ghost,
        modifiers: ModifiersState,
        serial: Serial,
    ) {
        match self {
            Self::Surface(s) => KeyboardTarget::modifiers(s, seat, data, modifiers, serial),
            Self::X11(x) => match super::tied_by_id(x) {
                Some(surface) => KeyboardTarget::modifiers(&surface, seat, data, modifiers, serial),
                None => KeyboardTarget::modifiers(x, seat, data, modifiers, serial),
            },
        }
    }
}
