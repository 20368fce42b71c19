//! A remote peer's events as seat input: the same calls a mouse, a keyboard or a
//! touchscreen makes, so bindings, focus, pointer constraints and Xwayland see no
//! difference. Positions on a stream land where that stream's picture shows them.
//! While a consent prompt is up, a peer's clicks and keys go nowhere: control of input
//! must not answer the question of who gets the screen or the input next.

use ghost_capture::portal::RemoteInput;
use smithay::{
    backend::input::{Axis, AxisSource, ButtonState, KeyState, TouchSlot},
    input::{keyboard::Keycode, pointer::AxisFrame},
    utils::{Logical, Point},
};

use crate::{casts::CastSource, state::Ghost};

/// The highest evdev key code (`KEY_MAX`).
const KEY_MAX: u32 = 0x2ff;
/// Mouse buttons: `BTN_MOUSE` (left) up to `BTN_TASK`.
const BUTTONS: std::ops::RangeInclusive<u32> = 0x110..=0x117;
/// Fingers a peer may hold down at once.
const TOUCH_SLOTS: u32 = 16;
/// Logical pixels one wheel click scrolls (libinput's figure for a wheel).
const WHEEL_CLICK: f64 = 15.0;

/// Keys and buttons a peer holds down, released when its control ends so nothing
/// stays stuck.
#[derive(Debug, Default)]
pub struct Held {
    keys: Vec<Keycode>,
    buttons: Vec<u32>,
}

/// Records `item` pressed or released in `held`; whether to press (true) or release
/// (false) it on the seat, or nothing (a press of a held one, a release of one not
/// held).
fn hold<T: PartialEq>(held: &mut Vec<T>, item: T, pressed: bool) -> Option<bool> {
    let known = held.contains(&item);
    match (pressed, known) {
        (true, false) => held.push(item),
        (false, true) => held.retain(|h| *h != item),
        _ => return None,
    }
    Some(pressed)
}

impl Ghost {
    /// Carries out `event` through the seat.
    pub(super) fn apply_remote_input(&mut self, event: &RemoteInput) {
        let time = self.now().as_millis() as u32;
        let prompting = self.picks.asking();
        match *event {
            RemoteInput::PointerMotion { dx, dy } => {
                let delta = Point::from((dx, dy));
                self.pointer_motion_relative(delta, delta, self.now().as_micros() as u64);
            }
            RemoteInput::PointerMotionAbsolute { cast, x, y } => {
                if let Some(at) = self.cast_point(cast, x, y) {
                    self.pointer_motion_to(at, time);
                }
            }
            RemoteInput::PointerButton { button, pressed } => {
                if !BUTTONS.contains(&button) || (prompting && pressed) {
                    return;
                }
                match hold(&mut self.remote_held.buttons, button, pressed) {
                    Some(true) => self.pointer_button(button, ButtonState::Pressed, time),
                    Some(false) => self.pointer_button(button, ButtonState::Released, time),
                    None => {}
                }
            }
            RemoteInput::PointerAxis { dx, dy, finish } => {
                let mut frame = AxisFrame::new(time).source(AxisSource::Finger);
                for (axis, value) in [(Axis::Horizontal, dx), (Axis::Vertical, dy)] {
                    if value != 0.0 {
                        frame = frame.value(axis, value);
                    }
                    if finish {
                        frame = frame.stop(axis);
                    }
                }
                self.remote_axis(frame);
            }
            RemoteInput::PointerAxisDiscrete { axis, steps } => {
                let axis = match axis {
                    0 => Axis::Vertical,
                    _ => Axis::Horizontal,
                };
                let frame = AxisFrame::new(time)
                    .source(AxisSource::Wheel)
                    .value(axis, f64::from(steps) * WHEEL_CLICK)
                    .v120(axis, steps.saturating_mul(120));
                self.remote_axis(frame);
            }
            RemoteInput::KeyboardKeycode { keycode, pressed } => {
                if keycode <= KEY_MAX && !prompting {
                    self.remote_key(Keycode::new(keycode + 8), pressed, time);
                }
            }
            RemoteInput::KeyboardKeysym { keysym, pressed } => {
                if !prompting {
                    self.remote_keysym(keysym, pressed, time);
                }
            }
            RemoteInput::TouchDown { cast, slot, x, y } => {
                if let (true, Some(at)) = (slot < TOUCH_SLOTS, self.cast_point(cast, x, y)) {
                    self.touch_down_at(TouchSlot::from(Some(slot)), at, time);
                    self.touch_frame();
                }
            }
            RemoteInput::TouchMotion { cast, slot, x, y } => {
                if let (true, Some(at)) = (slot < TOUCH_SLOTS, self.cast_point(cast, x, y)) {
                    self.touch_motion_at(TouchSlot::from(Some(slot)), at, time);
                    self.touch_frame();
                }
            }
            RemoteInput::TouchUp { slot } => {
                if slot < TOUCH_SLOTS {
                    self.touch_up_slot(TouchSlot::from(Some(slot)), time);
                    self.touch_frame();
                }
            }
        }
    }

    /// Releases what peers held down (their control ended).
    pub(super) fn release_remote_keys(&mut self) {
        let held = std::mem::take(&mut self.remote_held);
        let time = self.now().as_millis() as u32;
        for key in held.keys.into_iter().rev() {
            self.keyboard_key(key, KeyState::Released, time);
        }
        for button in held.buttons {
            self.pointer_button(button, ButtonState::Released, time);
        }
    }

    /// Where `(x, y)` on cast `id`'s picture (its size's coordinates) lies on the
    /// desktop; without a cast, `(x, y)` are the desktop's own coordinates.
    fn cast_point(&self, id: Option<u64>, x: f64, y: f64) -> Option<Point<f64, Logical>> {
        let Some(id) = id else {
            return Some(Point::from((x, y)));
        };
        let (source, (width, height)) = self.cast_source_size(id)?;
        if width == 0 || height == 0 {
            return None;
        }
        let area = match source {
            CastSource::Output(name) => {
                let output = self.space.outputs().find(|o| o.name() == name)?;
                self.space.output_geometry(output)?
            }
            CastSource::Window(window_id) => {
                let window = self
                    .space
                    .elements()
                    .find(|w| crate::shell::window_data(w).id == window_id)?;
                self.space.element_geometry(window)?
            }
            CastSource::Region { output, area } => {
                let output = self.space.outputs().find(|o| o.name() == output)?;
                let mut area = area;
                area.loc += self.space.output_geometry(output)?.loc;
                area
            }
        };
        let fx = (x / f64::from(width)).clamp(0.0, 1.0);
        let fy = (y / f64::from(height)).clamp(0.0, 1.0);
        Some(Point::from((
            f64::from(area.loc.x) + fx * f64::from(area.size.w),
            f64::from(area.loc.y) + fy * f64::from(area.size.h),
        )))
    }

    /// A key of a peer, remembered while held.
    fn remote_key(&mut self, key: Keycode, pressed: bool, time: u32) {
        match hold(&mut self.remote_held.keys, key, pressed) {
            Some(true) => self.keyboard_key(key, KeyState::Pressed, time),
            Some(false) => self.keyboard_key(key, KeyState::Released, time),
            None => {}
        }
    }

    /// A key by the symbol it types: the key of the seat's layout that types it, with
    /// Shift around it where the symbol needs it.
    fn remote_keysym(&mut self, keysym: u32, pressed: bool, time: u32) {
        if self.typing.is_none() {
            self.typing = crate::input::KeyboardTyping::new(&self.config.input).ok();
        }
        let sym = smithay::input::keyboard::Keysym::new(keysym);
        let Some((key, shift)) = self
            .typing
            .as_ref()
            .and_then(|t| t.key_and_shift_for_sym(sym))
        else {
            tracing::debug!(keysym, "no key of the layout types this symbol");
            return;
        };
        let shift_key = crate::input::typing::SHIFT;
        if shift && pressed {
            self.remote_key(shift_key, true, time);
        }
        self.remote_key(key, pressed, time);
        if shift && !pressed {
            self.remote_key(shift_key, false, time);
        }
    }

    fn remote_axis(&mut self, frame: AxisFrame) {
        if let Some(pointer) = self.seat.get_pointer() {
            pointer.axis(self, frame);
            pointer.frame(self);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::hold;

    #[test]
    fn a_key_is_pressed_once_and_released_only_when_held() {
        let mut held = Vec::new();
        assert_eq!(
            hold(&mut held, 30, false),
            None,
            "a release of a key not held"
        );
        assert_eq!(hold(&mut held, 30, true), Some(true));
        assert_eq!(hold(&mut held, 30, true), None, "a second press");
        assert_eq!(hold(&mut held, 30, false), Some(false));
        assert!(held.is_empty());
    }
}
