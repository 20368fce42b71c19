//! What an input method (fcitx5, IBus) does on Wayland: zwp_input_method_v2 on the seat,
//! told when a text field takes focus, committing composed text into it.

use anyhow::Result;
use wayland_client::{
    protocol::{wl_compositor::WlCompositor, wl_seat::WlSeat, wl_surface::WlSurface},
    Connection, Dispatch, QueueHandle,
};
use wayland_protocols_misc::zwp_input_method_v2::client::{
    zwp_input_method_keyboard_grab_v2::{self, ZwpInputMethodKeyboardGrabV2},
    zwp_input_method_manager_v2::ZwpInputMethodManagerV2,
    zwp_input_method_v2::{self, ZwpInputMethodV2},
    zwp_input_popup_surface_v2::ZwpInputPopupSurfaceV2,
};

use crate::client::{State, TestClient};

/// What the compositor told the input method.
#[derive(Debug, Default, Clone)]
pub struct InputMethodEvents {
    /// A text field is active (after the `done` that followed `activate`).
    pub active: bool,
    /// `done` events so far: the serial a commit names.
    pub done: u32,
    /// Another input method holds the seat.
    pub unavailable: bool,
    /// What `activate`/`deactivate` said last, applied at the next `done`.
    pending_active: Option<bool>,
    /// The content purpose of the field (zwp_text_input_v3's numbers), once told.
    pub purpose: Option<u32>,
    /// Keys pressed while the input method grabbed the keyboard (evdev codes).
    pub grabbed_keys: Vec<u32>,
    /// A keymap came with the grab.
    pub grab_keymap: bool,
}

impl TestClient {
    /// Becomes the seat's input method.
    pub fn become_input_method(&mut self) -> Result<ZwpInputMethodV2> {
        let seat: WlSeat = self.bind(1..=7, ())?;
        let manager: ZwpInputMethodManagerV2 = self.bind(1..=1, ())?;
        let im = manager.get_input_method(&seat, &self.qh(), ());
        self.roundtrip()?;
        Ok(im)
    }

    /// Shows a candidate window (zwp_input_popup_surface_v2) of `width`×`height` in one
    /// colour, which the compositor places by the text field's cursor.
    pub fn candidate_popup(
        &mut self,
        im: &ZwpInputMethodV2,
        width: i32,
        height: i32,
        color: u32,
    ) -> Result<WlSurface> {
        let compositor: WlCompositor = self.bind(4..=5, ())?;
        let surface = compositor.create_surface(&self.qh(), ());
        let _popup = im.get_input_popup_surface(&surface, &self.qh(), ());
        let buffer = self.solid_buffer(width, height, color)?;
        surface.attach(Some(&buffer), 0, 0);
        surface.damage_buffer(0, 0, width, height);
        surface.commit();
        self.roundtrip()?;
        Ok(surface)
    }

    /// Takes the keyboard, as input methods do to compose from keys.
    pub fn grab_keyboard(&mut self, im: &ZwpInputMethodV2) -> Result<ZwpInputMethodKeyboardGrabV2> {
        let grab = im.grab_keyboard(&self.qh(), ());
        self.roundtrip()?;
        Ok(grab)
    }

    /// Commits `text` into the active text field.
    pub fn commit_text(&mut self, im: &ZwpInputMethodV2, text: &str) -> Result<()> {
        im.commit_string(text.to_owned());
        im.commit(self.state.input_method.done);
        self.roundtrip()
    }
}

impl Dispatch<ZwpInputMethodV2, ()> for State {
    fn event(
        state: &mut Self,
        _: &ZwpInputMethodV2,
        event: zwp_input_method_v2::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        let im = &mut state.input_method;
        match event {
            zwp_input_method_v2::Event::Activate => im.pending_active = Some(true),
            zwp_input_method_v2::Event::Deactivate => im.pending_active = Some(false),
            zwp_input_method_v2::Event::ContentType { purpose, .. } => {
                im.purpose = Some(purpose.into())
            }
            zwp_input_method_v2::Event::Done => {
                im.done += 1;
                if let Some(active) = im.pending_active.take() {
                    im.active = active;
                }
            }
            zwp_input_method_v2::Event::Unavailable => im.unavailable = true,
            _ => {}
        }
    }
}

impl Dispatch<ZwpInputMethodKeyboardGrabV2, ()> for State {
    fn event(
        state: &mut Self,
        _: &ZwpInputMethodKeyboardGrabV2,
        event: zwp_input_method_keyboard_grab_v2::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        match event {
            zwp_input_method_keyboard_grab_v2::Event::Keymap { .. } => {
                state.input_method.grab_keymap = true
            }
            zwp_input_method_keyboard_grab_v2::Event::Key {
                key,
                state:
                    wayland_client::WEnum::Value(
                        wayland_client::protocol::wl_keyboard::KeyState::Pressed,
                    ),
                ..
            } => state.input_method.grabbed_keys.push(key),
            _ => {}
        }
    }
}

wayland_client::delegate_noop!(State: ignore ZwpInputMethodManagerV2);
wayland_client::delegate_noop!(State: ignore ZwpInputPopupSurfaceV2);
