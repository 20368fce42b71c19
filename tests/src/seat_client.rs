//! The seat as a client sees it: which surface has keyboard and pointer focus, the
//! keys that arrived, where the pointer is and where fingers touched, so input tests check what the
//! focused application receives.

use anyhow::Result;
use wayland_client::{
    protocol::{
        wl_keyboard::{self, WlKeyboard},
        wl_pointer::{self, WlPointer},
        wl_seat::{self, WlSeat},
        wl_surface::WlSurface,
        wl_touch::{self, WlTouch},
    },
    Connection, Dispatch, QueueHandle, WEnum,
};

use crate::client::{State, TestClient};

/// What the seat told us.
#[derive(Debug, Default)]
pub struct SeatEvents {
    /// The surface with keyboard focus.
    pub keyboard_focus: Option<WlSurface>,
    /// Key presses (evdev codes) while focused, in order.
    pub pressed: Vec<u32>,
    /// The surface under the pointer.
    pub pointer_focus: Option<WlSurface>,
    /// Pointer position on that surface.
    pub pointer_at: (f64, f64),
    /// Button presses (evdev codes).
    pub buttons: Vec<u32>,
    /// Serial of the latest button press (what a popup grab needs).
    pub button_serial: Option<u32>,
    /// The seat's pointer, once the compositor offered one.
    pub pointer: Option<WlPointer>,
    /// Serial of the latest pointer enter (what wl_pointer.set_cursor needs).
    pub enter_serial: Option<u32>,
    /// Touch points that went down: the surface and where on it.
    pub touch_downs: Vec<(WlSurface, f64, f64)>,
    /// Touch points that lifted.
    pub touch_ups: usize,
}

impl TestClient {
    /// Binds the seat and asks for its keyboard and pointer.
    pub fn watch_seat(&mut self) -> Result<WlSeat> {
        let seat: WlSeat = self.bind(1..=7, ())?;
        self.roundtrip()?;
        Ok(seat)
    }
}

impl TestClient {
    /// Shows a `size`-square cursor of one colour (0xAARRGGBB, premultiplied) with its
    /// hotspot at `hotspot`, as the pointer over this client's surfaces (after a
    /// pointer enter).
    pub fn set_cursor_surface(
        &mut self,
        color: u32,
        size: u32,
        hotspot: (i32, i32),
    ) -> Result<WlSurface> {
        use std::io::Write;
        let qh = self.qh();
        let serial = self
            .state
            .seat
            .enter_serial
            .ok_or_else(|| anyhow::anyhow!("the pointer never entered a surface"))?;
        let pointer = self
            .state
            .seat
            .pointer
            .clone()
            .ok_or_else(|| anyhow::anyhow!("no pointer"))?;
        let (buffer, mut file) = self.shm_buffer(
            size,
            size,
            size * 4,
            wayland_client::protocol::wl_shm::Format::Argb8888,
        )?;
        let pixels: Vec<u8> = (0..size * size).flat_map(|_| color.to_le_bytes()).collect();
        file.write_all(&pixels)?;
        let compositor: wayland_client::protocol::wl_compositor::WlCompositor =
            self.bind(4..=5, ())?;
        let surface = compositor.create_surface(&qh, ());
        surface.attach(Some(&buffer), 0, 0);
        surface.damage_buffer(0, 0, size as i32, size as i32);
        surface.commit();
        pointer.set_cursor(serial, Some(&surface), hotspot.0, hotspot.1);
        self.roundtrip()?;
        Ok(surface)
    }
}

impl Dispatch<WlSeat, ()> for State {
    fn event(
        state: &mut Self,
        seat: &WlSeat,
        event: wl_seat::Event,
        _: &(),
        _: &Connection,
        qh: &QueueHandle<Self>,
    ) {
        if let wl_seat::Event::Capabilities {
            capabilities: WEnum::Value(caps),
        } = event
        {
            if caps.contains(wl_seat::Capability::Keyboard) {
                seat.get_keyboard(qh, ());
            }
            if caps.contains(wl_seat::Capability::Pointer) {
                state.seat.pointer = Some(seat.get_pointer(qh, ()));
            }
            if caps.contains(wl_seat::Capability::Touch) {
                seat.get_touch(qh, ());
            }
        }
    }
}

impl Dispatch<WlTouch, ()> for State {
    fn event(
        state: &mut Self,
        _: &WlTouch,
        event: wl_touch::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        match event {
            wl_touch::Event::Down { surface, x, y, .. } => {
                state.seat.touch_downs.push((surface, x, y));
            }
            wl_touch::Event::Up { .. } => state.seat.touch_ups += 1,
            _ => {}
        }
    }
}

impl Dispatch<WlKeyboard, ()> for State {
    fn event(
        state: &mut Self,
        _: &WlKeyboard,
        event: wl_keyboard::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        match event {
            wl_keyboard::Event::Enter { surface, .. } => state.seat.keyboard_focus = Some(surface),
            wl_keyboard::Event::Leave { .. } => state.seat.keyboard_focus = None,
            wl_keyboard::Event::Key {
                key,
                state: WEnum::Value(wl_keyboard::KeyState::Pressed),
                ..
            } => state.seat.pressed.push(key),
            _ => {}
        }
    }
}

impl Dispatch<WlPointer, ()> for State {
    fn event(
        state: &mut Self,
        _: &WlPointer,
        event: wl_pointer::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        match event {
            wl_pointer::Event::Enter {
                serial,
                surface,
                surface_x,
                surface_y,
            } => {
                state.seat.enter_serial = Some(serial);
                state.seat.pointer_focus = Some(surface);
                state.seat.pointer_at = (surface_x, surface_y);
            }
            wl_pointer::Event::Leave { .. } => state.seat.pointer_focus = None,
            wl_pointer::Event::Motion {
                surface_x,
                surface_y,
                ..
            } => state.seat.pointer_at = (surface_x, surface_y),
            wl_pointer::Event::Button {
                button,
                serial,
                state: WEnum::Value(wl_pointer::ButtonState::Pressed),
                ..
            } => {
                state.seat.buttons.push(button);
                state.seat.button_serial = Some(serial);
            }
            _ => {}
        }
    }
}
