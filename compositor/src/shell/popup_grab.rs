//! Popup grabs (xdg_popup.grab): a menu opened with a grab gets the keyboard, and a
//! press anywhere outside its client's surfaces closes every popup of the grab (the
//! press itself goes nowhere), as menus behave everywhere. Nested menus join the grab
//! of their parent; when the client closes them all, the keyboard returns to where it
//! was.

use smithay::{
    desktop::{find_popup_root_surface, PopupKind},
    reexports::wayland_server::{protocol::wl_surface::WlSurface, Resource},
    utils::SERIAL_COUNTER,
    wayland::shell::xdg::PopupSurface,
};
use tracing::debug;

use crate::{state::Ghost, xwayland::KeyboardFocus};

/// The popups of one grab, innermost last.
#[derive(Debug, Default)]
pub struct PopupGrab {
    root: Option<WlSurface>,
    popups: Vec<PopupSurface>,
    /// The keyboard's focus before the grab.
    restore: Option<KeyboardFocus>,
}

impl PopupGrab {
    /// Whether a grab is in force.
    pub fn active(&self) -> bool {
        !self.popups.is_empty()
    }
}

impl Ghost {
    /// A client asked for a grab for `popup` (after a press or key, per the protocol).
    pub fn popup_grab_start(&mut self, popup: PopupSurface) {
        if self.lock.is_locked() {
            popup.send_popup_done();
            return;
        }
        let Ok(root) = find_popup_root_surface(&PopupKind::Xdg(popup.clone())) else {
            popup.send_popup_done();
            return;
        };
        if self.popup_grab.root.as_ref() != Some(&root) {
            // Another window's menus lose their grab.
            self.popup_grab_dismiss();
            let keyboard = self.seat.get_keyboard();
            self.popup_grab.restore = keyboard.and_then(|k| k.current_focus());
            self.popup_grab.root = Some(root);
        }
        self.popup_grab.popups.push(popup.clone());
        self.popup_grab_focus(popup.wl_surface().clone());
    }

    /// Gives the keyboard to `surface` without changing which window looks active.
    fn popup_grab_focus(&mut self, surface: WlSurface) {
        if let Some(keyboard) = self.seat.get_keyboard() {
            keyboard.set_focus(
                self,
                Some(KeyboardFocus::Surface(surface)),
                SERIAL_COUNTER.next_serial(),
            );
        }
    }

    /// A press at a surface (None: the desktop): outside the grabbing client it closes
    /// the grab's popups and is used up (true).
    pub fn popup_grab_press(&mut self, target: Option<&WlSurface>) -> bool {
        let Some(root) = self
            .popup_grab
            .root
            .clone()
            .filter(|_| self.popup_grab.active())
        else {
            return false;
        };
        let inside = target
            .and_then(|t| t.client())
            .is_some_and(|c| root.client().is_some_and(|r| r.id() == c.id()));
        if inside {
            return false;
        }
        debug!("a press outside the menu closes it");
        self.popup_grab_dismiss();
        true
    }

    /// Closes every popup of the grab, innermost first.
    pub fn popup_grab_dismiss(&mut self) {
        for popup in self.popup_grab.popups.drain(..).rev() {
            if popup.alive() {
                popup.send_popup_done();
            }
        }
        self.popup_grab_end();
    }

    /// Popups the client closed leave the grab; with none left the keyboard goes back.
    pub fn popup_grab_refresh(&mut self) {
        if self.popup_grab.root.is_none() {
            return;
        }
        self.popup_grab.popups.retain(|p| p.alive());
        if self.popup_grab.popups.is_empty() {
            self.popup_grab_end();
        }
    }

    fn popup_grab_end(&mut self) {
        self.popup_grab.root = None;
        let restore = self.popup_grab.restore.take().filter(|f| {
            use smithay::utils::IsAlive;
            f.alive()
        });
        if self.lock.is_locked() {
            return;
        }
        if let (Some(keyboard), Some(focus)) = (self.seat.get_keyboard(), restore) {
            keyboard.set_focus(self, Some(focus), SERIAL_COUNTER.next_serial());
        }
    }
}

/// A popup that committed its buffer before its first configure (xdg-shell forbids it,
/// some toolkits and WLCS do it) and only acks that configure is already showing; its
/// place would otherwise wait for a commit that may never come, leaving it at its
/// parent's corner. It takes the acked place at the ack. Popups that follow the protocol
/// are untouched: their place applies at the commit after the ack.
pub fn place_popup_shown_before_its_configure(
    surface: &smithay::reexports::wayland_server::protocol::wl_surface::WlSurface,
) {
    use smithay::wayland::{compositor::with_states, shell::xdg::XdgPopupSurfaceData};
    with_states(surface, |states| {
        let Some(mut popup) = states
            .data_map
            .get::<XdgPopupSurfaceData>()
            .and_then(|d| d.lock().ok())
        else {
            return;
        };
        if popup.committed && popup.current_serial.is_none() {
            if let Some(acked) = popup.last_acked {
                popup.current = acked;
                popup.current_serial = popup.configure_serial;
            }
        }
    });
}
