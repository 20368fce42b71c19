//! What a remote desktop viewer or a VM does to get every key: a keyboard shortcuts
//! inhibitor on its surface (zwp_keyboard_shortcuts_inhibit_manager_v1).

use anyhow::Result;
use wayland_client::{
    protocol::{wl_seat::WlSeat, wl_surface::WlSurface},
    Connection, Dispatch, QueueHandle,
};
use wayland_protocols::wp::keyboard_shortcuts_inhibit::zv1::client::{
    zwp_keyboard_shortcuts_inhibit_manager_v1::ZwpKeyboardShortcutsInhibitManagerV1,
    zwp_keyboard_shortcuts_inhibitor_v1::{self, ZwpKeyboardShortcutsInhibitorV1},
};

use crate::client::{State, TestClient};

impl TestClient {
    /// Asks for every key while `surface` has focus; `state.shortcuts_inhibited` says
    /// whether the compositor granted it.
    pub fn inhibit_shortcuts(
        &mut self,
        surface: &WlSurface,
        seat: &WlSeat,
    ) -> Result<ZwpKeyboardShortcutsInhibitorV1> {
        let manager: ZwpKeyboardShortcutsInhibitManagerV1 = self.bind(1..=1, ())?;
        let inhibitor = manager.inhibit_shortcuts(surface, seat, &self.qh(), ());
        self.roundtrip()?;
        Ok(inhibitor)
    }
}

wayland_client::delegate_noop!(State: ignore ZwpKeyboardShortcutsInhibitManagerV1);

impl Dispatch<ZwpKeyboardShortcutsInhibitorV1, ()> for State {
    fn event(
        state: &mut Self,
        _: &ZwpKeyboardShortcutsInhibitorV1,
        event: zwp_keyboard_shortcuts_inhibitor_v1::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        match event {
            zwp_keyboard_shortcuts_inhibitor_v1::Event::Active => {
                state.shortcuts_inhibited = Some(true)
            }
            zwp_keyboard_shortcuts_inhibitor_v1::Event::Inactive => {
                state.shortcuts_inhibited = Some(false)
            }
            _ => {}
        }
    }
}
