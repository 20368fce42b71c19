//! Virtual input for privileged clients: zwp_virtual_keyboard_v1 and
//! zwlr_virtual_pointer_v1, what VNC servers (wayvnc), remote-desktop daemons and
//! automation tools use. Their input takes the same path as a real keyboard's and
//! mouse's (bindings, focus, pointer constraints, Xwayland, idle), on every backend.
//! Sandboxed clients are not offered either global.
//!
//! A virtual keyboard sends keycodes of its own keymap. Each key is read in that keymap
//! and pressed as the key of the seat's keymap that gives the same symbol at its base
//! level (so a VNC server's US keymap types right into a German seat); keys the seat's
//! keymap has no base symbol for go through as they are.

use std::{os::fd::OwnedFd, os::unix::fs::FileExt};

use smithay::{
    backend::input::{AxisSource, ButtonState, KeyState},
    input::{
        keyboard::{xkb, Keycode},
        pointer::AxisFrame,
    },
    output::Output,
    reexports::{
        wayland_protocols_misc::zwp_virtual_keyboard_v1::server::{
            zwp_virtual_keyboard_manager_v1::{self, ZwpVirtualKeyboardManagerV1},
            zwp_virtual_keyboard_v1::{self, ZwpVirtualKeyboardV1},
        },
        wayland_protocols_wlr::virtual_pointer::v1::server::{
            zwlr_virtual_pointer_manager_v1::{self, ZwlrVirtualPointerManagerV1},
            zwlr_virtual_pointer_v1::{self, ZwlrVirtualPointerV1},
        },
        wayland_server::{
            protocol::wl_pointer, Client, DataInit, Dispatch, DisplayHandle, GlobalDispatch, New,
            Resource, WEnum,
        },
    },
    utils::{Logical, Point, Rectangle},
};

use crate::state::Ghost;

/// The largest keymap a virtual keyboard may send (a full xkb keymap is ~60 KiB).
const MAX_KEYMAP: usize = 1 << 20;

/// Which clients may bind the globals.
pub struct GlobalData {
    filter: Box<dyn Fn(&Client) -> bool + Send + Sync>,
}

/// Creates both globals, visible to clients `filter` allows.
pub fn create_globals(
    dh: &DisplayHandle,
    filter: impl Fn(&Client) -> bool + Send + Sync + Clone + 'static,
) {
    dh.create_global::<Ghost, ZwpVirtualKeyboardManagerV1, _>(
        1,
        GlobalData {
            filter: Box::new(filter.clone()),
        },
    );
    dh.create_global::<Ghost, ZwlrVirtualPointerManagerV1, _>(
        2,
        GlobalData {
            filter: Box::new(filter),
        },
    );
}

/// A virtual keyboard's keymap: None until it sends one, then the keymap (None inside
/// when xkb cannot read it: its keys then go through as they are).
#[derive(Default)]
pub struct VirtualKeyboard {
    keymap: std::sync::Mutex<Option<Option<xkb::Keymap>>>,
}

// SAFETY: the xkb keymap is only used from the compositor's thread (requests are
// dispatched there); the mutex is never shared with another thread.
unsafe impl Send for VirtualKeyboard {}
// SAFETY: as above; every access goes through the mutex on one thread.
unsafe impl Sync for VirtualKeyboard {}

/// Reads a keymap the client sent, bounded; None when it is not one.
fn read_keymap(fd: OwnedFd, size: usize) -> Option<xkb::Keymap> {
    if size == 0 || size > MAX_KEYMAP {
        return None;
    }
    // From the start of the file, wherever the sender left its offset.
    let mut text = vec![0; size];
    std::fs::File::from(fd).read_exact_at(&mut text, 0).ok()?;
    // The keymap string ends with a NUL, which xkb does not want.
    while text.last() == Some(&0) {
        text.pop();
    }
    let text = String::from_utf8(text).ok()?;
    let context = xkb::Context::new(xkb::CONTEXT_NO_FLAGS);
    xkb::Keymap::new_from_string(
        &context,
        text,
        xkb::KEYMAP_FORMAT_TEXT_V1,
        xkb::KEYMAP_COMPILE_NO_FLAGS,
    )
}

/// One virtual pointer: where absolute motion maps to, and the events since its last
/// `frame`, which are carried out together at the next one (as a real device's are).
pub struct VirtualPointer {
    output: Option<Output>,
    pending: std::sync::Mutex<Pending>,
}

/// What a virtual pointer sent since its last frame.
#[derive(Default)]
struct Pending {
    moves: Vec<Move>,
    axis: Option<AxisFrame>,
}

/// A motion or button of a virtual pointer, waiting for the frame.
enum Move {
    By(u32, Point<f64, Logical>),
    To(u32, Point<f64, Logical>),
    Button(u32, u32, ButtonState),
}

impl Ghost {
    /// The seat key that types what `code` types in the virtual keyboard's keymap.
    fn seat_key_for(&mut self, keymap: &xkb::Keymap, code: Keycode) -> Keycode {
        if self.typing.is_none() {
            self.typing = crate::input::KeyboardTyping::new(&self.config.input).ok();
        }
        let sym = keymap.key_get_syms_by_level(code, 0, 0).first().copied();
        sym.and_then(|sym| self.typing.as_ref()?.key_for_sym(sym))
            .unwrap_or(code)
    }

    /// A virtual keyboard said which modifiers it holds (VNC servers say so for a
    /// capital typed without a Shift key): the seat's Shift, Ctrl, Alt and Super follow,
    /// pressed or released as keys, so the next key reads as the sender meant.
    fn follow_virtual_modifiers(&mut self, keymap: &xkb::Keymap, held: u32) {
        use crate::input::typing::{ALT, CTRL, SHIFT, SUPER};
        let Some(seat_keyboard) = self.seat.get_keyboard() else {
            return;
        };
        let now = seat_keyboard.modifier_state();
        let wants = |name: &str| {
            let index = keymap.mod_get_index(name);
            index != xkb::MOD_INVALID && held & (1 << index) != 0
        };
        let time = self.now().as_millis() as u32;
        for (name, is_held, key) in [
            (xkb::MOD_NAME_SHIFT, now.shift, SHIFT),
            (xkb::MOD_NAME_CTRL, now.ctrl, CTRL),
            (xkb::MOD_NAME_ALT, now.alt, ALT),
            (xkb::MOD_NAME_LOGO, now.logo, SUPER),
        ] {
            match (wants(name), is_held) {
                (true, false) => self.keyboard_key(key, KeyState::Pressed, time),
                (false, true) => self.keyboard_key(key, KeyState::Released, time),
                _ => {}
            }
        }
    }

    /// Where absolute motion of a virtual pointer lands: its output, else the whole
    /// layout.
    fn virtual_pointer_area(&self, output: Option<&Output>) -> Option<Rectangle<i32, Logical>> {
        if let Some(geo) = output.and_then(|o| self.space.output_geometry(o)) {
            return Some(geo);
        }
        self.space
            .outputs()
            .filter_map(|o| self.space.output_geometry(o))
            .reduce(|a, b| a.merge(b))
    }
}

impl GlobalDispatch<ZwpVirtualKeyboardManagerV1, GlobalData> for Ghost {
    fn bind(
        _state: &mut Self,
        _dh: &DisplayHandle,
        _client: &Client,
        resource: New<ZwpVirtualKeyboardManagerV1>,
        _data: &GlobalData,
        data_init: &mut DataInit<'_, Self>,
    ) {
        data_init.init(resource, ());
    }

    fn can_view(client: Client, data: &GlobalData) -> bool {
        (data.filter)(&client)
    }
}

impl Dispatch<ZwpVirtualKeyboardManagerV1, ()> for Ghost {
    fn request(
        _state: &mut Self,
        _client: &Client,
        _manager: &ZwpVirtualKeyboardManagerV1,
        request: zwp_virtual_keyboard_manager_v1::Request,
        _data: &(),
        _dh: &DisplayHandle,
        data_init: &mut DataInit<'_, Self>,
    ) {
        if let zwp_virtual_keyboard_manager_v1::Request::CreateVirtualKeyboard { id, .. } = request
        {
            data_init.init(id, VirtualKeyboard::default());
        }
    }
}

impl Dispatch<ZwpVirtualKeyboardV1, VirtualKeyboard> for Ghost {
    fn request(
        state: &mut Self,
        _client: &Client,
        keyboard: &ZwpVirtualKeyboardV1,
        request: zwp_virtual_keyboard_v1::Request,
        data: &VirtualKeyboard,
        _dh: &DisplayHandle,
        _data_init: &mut DataInit<'_, Self>,
    ) {
        use zwp_virtual_keyboard_v1::Request;
        match request {
            Request::Keymap { format, fd, size } => {
                let keymap = match format {
                    // wl_keyboard.keymap_format.xkb_v1
                    1 => read_keymap(fd, size as usize),
                    _ => None,
                };
                if keymap.is_none() {
                    tracing::warn!("a virtual keyboard sent a keymap xkb cannot read");
                }
                if let Ok(mut slot) = data.keymap.lock() {
                    *slot = Some(keymap);
                }
            }
            Request::Key {
                time,
                key,
                state: key_state,
            } => {
                let keymap = data.keymap.lock().ok().and_then(|k| k.clone());
                let Some(keymap) = keymap else {
                    keyboard.post_error(
                        zwp_virtual_keyboard_v1::Error::NoKeymap,
                        "key sent before a keymap",
                    );
                    return;
                };
                // Keycodes are evdev codes; xkb counts from 8.
                let code = Keycode::new(key.saturating_add(8));
                let code = match keymap {
                    Some(keymap) => state.seat_key_for(&keymap, code),
                    None => code,
                };
                let pressed = match key_state {
                    1 => KeyState::Pressed,
                    _ => KeyState::Released,
                };
                state.note_input_activity();
                state.keyboard_key(code, pressed, time);
            }
            Request::Modifiers {
                mods_depressed,
                mods_latched,
                ..
            } => {
                let keymap = data.keymap.lock().ok().and_then(|k| k.clone());
                match keymap {
                    None => keyboard.post_error(
                        zwp_virtual_keyboard_v1::Error::NoKeymap,
                        "modifiers sent before a keymap",
                    ),
                    Some(Some(keymap)) => {
                        state.follow_virtual_modifiers(&keymap, mods_depressed | mods_latched)
                    }
                    Some(None) => {}
                }
            }
            _ => {}
        }
    }
}

impl GlobalDispatch<ZwlrVirtualPointerManagerV1, GlobalData> for Ghost {
    fn bind(
        _state: &mut Self,
        _dh: &DisplayHandle,
        _client: &Client,
        resource: New<ZwlrVirtualPointerManagerV1>,
        _data: &GlobalData,
        data_init: &mut DataInit<'_, Self>,
    ) {
        data_init.init(resource, ());
    }

    fn can_view(client: Client, data: &GlobalData) -> bool {
        (data.filter)(&client)
    }
}

impl Dispatch<ZwlrVirtualPointerManagerV1, ()> for Ghost {
    fn request(
        _state: &mut Self,
        _client: &Client,
        _manager: &ZwlrVirtualPointerManagerV1,
        request: zwlr_virtual_pointer_manager_v1::Request,
        _data: &(),
        _dh: &DisplayHandle,
        data_init: &mut DataInit<'_, Self>,
    ) {
        use zwlr_virtual_pointer_manager_v1::Request;
        let (id, output) = match request {
            Request::CreateVirtualPointer { id, .. } => (id, None),
            Request::CreateVirtualPointerWithOutput { id, output, .. } => {
                (id, output.as_ref().and_then(Output::from_resource))
            }
            _ => return,
        };
        data_init.init(
            id,
            VirtualPointer {
                output,
                pending: std::sync::Mutex::new(Pending::default()),
            },
        );
    }
}

fn axis_of(axis: WEnum<wl_pointer::Axis>) -> Option<smithay::backend::input::Axis> {
    match axis {
        WEnum::Value(wl_pointer::Axis::VerticalScroll) => {
            Some(smithay::backend::input::Axis::Vertical)
        }
        WEnum::Value(wl_pointer::Axis::HorizontalScroll) => {
            Some(smithay::backend::input::Axis::Horizontal)
        }
        _ => None,
    }
}

impl Dispatch<ZwlrVirtualPointerV1, VirtualPointer> for Ghost {
    fn request(
        state: &mut Self,
        _client: &Client,
        pointer: &ZwlrVirtualPointerV1,
        request: zwlr_virtual_pointer_v1::Request,
        data: &VirtualPointer,
        _dh: &DisplayHandle,
        _data_init: &mut DataInit<'_, Self>,
    ) {
        use zwlr_virtual_pointer_v1::{Error, Request};
        let Ok(mut pending) = data.pending.lock() else {
            return;
        };
        let mut add_to_frame = |time: u32, f: &dyn Fn(AxisFrame) -> AxisFrame| {
            let current = pending.axis.take().unwrap_or_else(|| AxisFrame::new(time));
            pending.axis = Some(f(current));
        };
        match request {
            Request::Motion { time, dx, dy } if dx.is_finite() && dy.is_finite() => {
                pending.moves.push(Move::By(time, Point::from((dx, dy))));
            }
            Request::MotionAbsolute {
                time,
                x,
                y,
                x_extent,
                y_extent,
            } => {
                if x_extent == 0 || y_extent == 0 {
                    return;
                }
                let Some(area) = state.virtual_pointer_area(data.output.as_ref()) else {
                    return;
                };
                let fx = f64::from(x.min(x_extent)) / f64::from(x_extent);
                let fy = f64::from(y.min(y_extent)) / f64::from(y_extent);
                let at = Point::from((
                    f64::from(area.loc.x) + fx * f64::from(area.size.w),
                    f64::from(area.loc.y) + fy * f64::from(area.size.h),
                ));
                pending.moves.push(Move::To(time, at));
            }
            Request::Button {
                time,
                button,
                state: button_state,
            } => {
                let pressed = match button_state {
                    WEnum::Value(wl_pointer::ButtonState::Pressed) => ButtonState::Pressed,
                    _ => ButtonState::Released,
                };
                pending.moves.push(Move::Button(time, button, pressed));
            }
            Request::Axis { time, axis, value } => {
                let Some(axis) = axis_of(axis) else {
                    pointer.post_error(Error::InvalidAxis, "unknown axis");
                    return;
                };
                add_to_frame(time, &|f| f.value(axis, value));
            }
            Request::AxisDiscrete {
                time,
                axis,
                value,
                discrete,
            } => {
                let Some(axis) = axis_of(axis) else {
                    pointer.post_error(Error::InvalidAxis, "unknown axis");
                    return;
                };
                let steps = discrete.saturating_mul(120);
                add_to_frame(time, &|f| f.value(axis, value).v120(axis, steps));
            }
            Request::AxisStop { time, axis } => {
                let Some(axis) = axis_of(axis) else {
                    pointer.post_error(Error::InvalidAxis, "unknown axis");
                    return;
                };
                add_to_frame(time, &|f| f.stop(axis));
            }
            Request::AxisSource { axis_source } => {
                let source = match axis_source {
                    WEnum::Value(wl_pointer::AxisSource::Wheel) => AxisSource::Wheel,
                    WEnum::Value(wl_pointer::AxisSource::Finger) => AxisSource::Finger,
                    WEnum::Value(wl_pointer::AxisSource::Continuous) => AxisSource::Continuous,
                    WEnum::Value(wl_pointer::AxisSource::WheelTilt) => AxisSource::WheelTilt,
                    _ => {
                        pointer.post_error(Error::InvalidAxisSource, "unknown axis source");
                        return;
                    }
                };
                add_to_frame(0, &|f| f.source(source));
            }
            Request::Frame => {
                let Pending { moves, axis } = std::mem::take(&mut *pending);
                drop(pending);
                if !moves.is_empty() || axis.is_some() {
                    state.note_input_activity();
                }
                for event in moves {
                    match event {
                        Move::By(time, delta) => {
                            state.pointer_motion_relative(delta, delta, u64::from(time) * 1000)
                        }
                        Move::To(time, at) => state.pointer_motion_to(at, time),
                        Move::Button(time, button, pressed) => {
                            state.pointer_button(button, pressed, time)
                        }
                    }
                }
                if let Some(seat_pointer) = state.seat.get_pointer() {
                    if let Some(axis) = axis {
                        seat_pointer.axis(state, axis);
                    }
                    seat_pointer.frame(state);
                }
            }
            _ => {}
        }
    }
}
