//! Input: events from the backend (or the IPC test injector) to the focused client, with
//! the compositor's own bindings and pointer actions (click to focus, Super+drag to move
//! or resize, title-bar buttons) taken first.

mod bindings;
mod constraints;
pub use constraints::same_surface_tree;
pub mod tablet;
mod touch;
pub(crate) mod typing;

pub use typing::KeyboardTyping;

/// The Shift key injected text uses for upper-case letters and symbols.
pub fn typing_shift() -> smithay::input::keyboard::Keycode {
    typing::SHIFT
}

use smithay::{
    backend::input::{
        AbsolutePositionEvent, Axis, AxisSource, ButtonState, Event, InputBackend, InputEvent,
        KeyState, KeyboardKeyEvent, PointerAxisEvent, PointerButtonEvent, PointerMotionEvent,
    },
    desktop::{layer_map_for_output, WindowSurfaceType},
    input::{
        keyboard::{FilterResult, Keycode},
        pointer::{AxisFrame, ButtonEvent, MotionEvent},
    },
    reexports::wayland_server::protocol::wl_surface::WlSurface,
    utils::{Logical, Point, SERIAL_COUNTER},
    wayland::{
        keyboard_shortcuts_inhibit::KeyboardShortcutsInhibitorSeat, shell::wlr_layer::Layer,
    },
};

use crate::{
    shell::{
        decorations::{self, TitleBarHit},
        grabs::ResizeEdges,
    },
    state::Ghost,
};

/// Linux input event codes for the buttons ghostcomp acts on.
pub const BTN_LEFT: u32 = 0x110;
/// Right mouse button.
pub const BTN_RIGHT: u32 = 0x111;

impl Ghost {
    /// Handles one event from a real input backend (winit today, libinput later).
    pub fn process_input_event<I: InputBackend>(&mut self, event: InputEvent<I>) {
        if !matches!(
            event,
            InputEvent::DeviceAdded { .. } | InputEvent::DeviceRemoved { .. }
        ) {
            self.note_input_activity();
        }
        match event {
            InputEvent::Keyboard { event } => {
                self.keyboard_key(event.key_code(), event.state(), event.time_msec());
            }
            InputEvent::PointerMotionAbsolute { event } => {
                let Some(output) = self.space.outputs().next().cloned() else {
                    return;
                };
                let Some(geo) = self.space.output_geometry(&output) else {
                    return;
                };
                let pos = event.position_transformed(geo.size) + geo.loc.to_f64();
                self.pointer_motion_to(pos, event.time_msec());
            }
            InputEvent::PointerMotion { event } => {
                self.pointer_motion_relative(event.delta(), event.delta_unaccel(), event.time());
            }
            InputEvent::PointerButton { event } => {
                self.pointer_button(event.button_code(), event.state(), event.time_msec());
            }
            InputEvent::PointerAxis { event } => {
                let source = event.source();
                let mut frame = AxisFrame::new(event.time_msec()).source(source);
                for axis in [Axis::Horizontal, Axis::Vertical] {
                    let v120 = event.amount_v120(axis);
                    let amount = event
                        .amount(axis)
                        .unwrap_or_else(|| v120.unwrap_or(0.0) * 15.0 / 120.0);
                    if amount != 0.0 {
                        frame = frame.value(axis, amount);
                        if let Some(v) = v120 {
                            frame = frame.v120(axis, v as i32);
                        }
                    } else if source == AxisSource::Finger {
                        frame = frame.stop(axis);
                    }
                }
                if let Some(pointer) = self.seat.get_pointer() {
                    pointer.axis(self, frame);
                    pointer.frame(self);
                }
            }
            InputEvent::TouchDown { event } => self.touch_down::<I>(event),
            InputEvent::TouchMotion { event } => self.touch_motion::<I>(event),
            InputEvent::TouchUp { event } => self.touch_up::<I>(event),
            InputEvent::TouchFrame { .. } => self.touch_frame(),
            InputEvent::TouchCancel { .. } => self.touch_cancel(),
            InputEvent::TabletToolAxis { event } => self.tablet_tool_axis::<I, _>(event),
            InputEvent::TabletToolProximity { event } => self.tablet_tool_proximity::<I>(event),
            InputEvent::TabletToolTip { event } => self.tablet_tool_tip::<I>(event),
            InputEvent::TabletToolButton { event } => self.tablet_tool_button::<I>(event),
            InputEvent::DeviceAdded { device } => self.tablet_device_changed(&device, true),
            InputEvent::DeviceRemoved { device } => self.tablet_device_changed(&device, false),
            _ => {}
        }
    }

    /// The client surface at `pos` (global), with its origin in global coordinates.
    /// Layer surfaces are looked up on the output under `pos`; windows anywhere (they
    /// may hang off every output).
    pub fn surface_under(
        &self,
        pos: Point<f64, Logical>,
    ) -> Option<(WlSurface, Point<f64, Logical>)> {
        if self.lock.is_locked() {
            return self.lock_surface_under(pos);
        }
        let output = self.space.output_under(pos).next();
        let output_geo = output.and_then(|o| self.space.output_geometry(o));
        let map = output.map(layer_map_for_output);
        let layer_hit = |layer: Layer| {
            let (map, output_geo) = (map.as_ref()?, output_geo?);
            map.layers_on(layer).find_map(|l| {
                let geo = map.layer_geometry(l)?;
                let local = pos - output_geo.loc.to_f64() - geo.loc.to_f64();
                l.surface_under(local, WindowSurfaceType::ALL)
                    .map(|(s, p)| (s, (p + geo.loc + output_geo.loc).to_f64()))
            })
        };
        layer_hit(Layer::Overlay)
            .or_else(|| layer_hit(Layer::Top))
            .or_else(|| {
                self.space.elements().rev().find_map(|window| {
                    let loc = self.space.element_location(window)? - window.geometry().loc;
                    let local = pos - loc.to_f64();
                    // An X11 window whose surface smithay does not know (Xwayland 22.1).
                    if let Some(surface) =
                        window.x11_surface().and_then(crate::xwayland::tied_by_id)
                    {
                        return smithay::desktop::utils::under_from_surface_tree(
                            &surface,
                            local,
                            (0, 0),
                            WindowSurfaceType::ALL,
                        )
                        .map(|(s, p)| (s, (p + loc).to_f64()));
                    }
                    window
                        .surface_under(local, WindowSurfaceType::ALL)
                        .map(|(s, p)| (s, (p + loc).to_f64()))
                })
            })
            .or_else(|| layer_hit(Layer::Bottom))
            .or_else(|| layer_hit(Layer::Background))
    }

    /// Gives the pointer to what is under it now where that changed while it stood
    /// still (a window opened, closed, moved or resized under it), as a motion would:
    /// hover, cursor shape and the next click's target are right without nudging the
    /// mouse (checked after each event-loop iteration; nothing is sent when nothing
    /// changed, and nothing during a grab, which decides the focus itself).
    pub fn pointer_focus_refresh(&mut self) {
        let Some(pointer) = self.seat.get_pointer() else {
            return;
        };
        if pointer.is_grabbed() {
            return;
        }
        let at = pointer.current_location();
        let under = self.surface_under(at);
        if under == self.pointer_under {
            return;
        }
        let time = self.now().as_millis() as u32;
        self.pointer_motion_to(at, time);
    }

    /// Moves the pointer to `pos` (clamped to the outputs) and updates focus.
    pub fn pointer_motion_to(&mut self, pos: Point<f64, Logical>, time: u32) {
        let pos = self.clamp_to_outputs(pos);
        let under = self.surface_under(pos);
        self.pointer_under = under.clone();
        let over_desktop = under.is_none();
        let Some(pointer) = self.seat.get_pointer() else {
            return;
        };
        pointer.motion(
            self,
            under,
            &MotionEvent {
                location: pos,
                serial: SERIAL_COUNTER.next_serial(),
                time,
            },
        );
        pointer.frame(self);
        self.activate_pointer_constraint();
        self.pick_motion(pos);
        use smithay::input::pointer::{CursorIcon, CursorImageStatus};
        // Over the desktop nobody sets a cursor: the compositor's own arrow shows.
        if over_desktop && !matches!(self.cursor_status, CursorImageStatus::Named(_)) {
            self.cursor_status = CursorImageStatus::Named(CursorIcon::Default);
            self.backend.cursor_changed(&self.cursor_status);
        }
        let drawn = match self.cursor_status {
            CursorImageStatus::Surface(_) => true,
            CursorImageStatus::Named(_) => self.default_cursor.is_some(),
            CursorImageStatus::Hidden => false,
        };
        self.update_cursor_sessions();
        self.screencopy_cursor_moved();
        if drawn {
            self.queue_cursor_redraw();
        } else if self.image_copy_state.follows_pointer() || self.casts.follow_pointer() {
            self.queue_redraw_all();
        }
    }

    fn clamp_to_outputs(&self, pos: Point<f64, Logical>) -> Point<f64, Logical> {
        if !self.clamp_pointer || self.space.output_under(pos).next().is_some() {
            return pos;
        }
        // Nearest point of any output.
        self.space
            .outputs()
            .filter_map(|o| self.space.output_geometry(o))
            .map(|g| {
                let x = pos.x.clamp(g.loc.x as f64, (g.loc.x + g.size.w - 1) as f64);
                let y = pos.y.clamp(g.loc.y as f64, (g.loc.y + g.size.h - 1) as f64);
                Point::from((x, y))
            })
            .min_by(|a, b| {
                let da = (a.x - pos.x).powi(2) + (a.y - pos.y).powi(2);
                let db = (b.x - pos.x).powi(2) + (b.y - pos.y).powi(2);
                da.total_cmp(&db)
            })
            .unwrap_or(pos)
    }

    /// A button press or release at the pointer's location.
    pub fn pointer_button(&mut self, button: u32, state: ButtonState, time: u32) {
        let Some(pointer) = self.seat.get_pointer() else {
            return;
        };
        let serial = SERIAL_COUNTER.next_serial();
        // While locked, a click goes to the lock surface under the pointer and nothing
        // of the desktop (title bars, prompts, notifications) reacts.
        if self.lock.is_locked() {
            if state == ButtonState::Pressed {
                let under = self.lock_surface_under(pointer.current_location());
                if let Some((surface, _)) = under {
                    self.set_keyboard_focus(Some(surface));
                }
            }
            let event = ButtonEvent {
                button,
                state,
                serial,
                time,
            };
            pointer.button(self, &event);
            pointer.frame(self);
            return;
        }
        // While a screen-share prompt is up, a click or a drag chooses what to share.
        if state == ButtonState::Released && self.pick_release(pointer.current_location()) {
            return;
        }
        if state == ButtonState::Pressed && self.popup_grab.active() {
            let target = self
                .surface_under(pointer.current_location())
                .map(|(s, _)| s);
            if self.popup_grab_press(target.as_ref()) {
                return;
            }
        }
        if state == ButtonState::Pressed && !pointer.is_grabbed() {
            let pos = pointer.current_location();
            if self.pick_press(pos) {
                return;
            }
            if self.notification_hit(pos) {
                // The click dismisses the notification and goes to nobody else.
                self.set_notification(None);
                return;
            }
            let hit = self.space.elements().rev().find_map(|w| {
                let loc = self.space.element_location(w)?;
                decorations::hit_test(w, loc, pos).map(|hit| (w.clone(), hit))
            });
            if let Some((window, hit)) = hit {
                self.focus_window(&window);
                match hit {
                    TitleBarHit::Close => self.close_window(&window),
                    TitleBarHit::Bar => {
                        let seat = self.seat.clone();
                        pointer.button(
                            self,
                            &ButtonEvent {
                                button,
                                state,
                                serial,
                                time,
                            },
                        );
                        self.start_move_grab(&seat, &window, None);
                        pointer.frame(self);
                        return;
                    }
                }
                return;
            }
            let window = self.space.element_under(pos).map(|(w, _)| w.clone());
            match window {
                Some(window) => {
                    self.focus_window(&window);
                    if self.super_held() {
                        let seat = self.seat.clone();
                        pointer.button(
                            self,
                            &ButtonEvent {
                                button,
                                state,
                                serial,
                                time,
                            },
                        );
                        if button == BTN_LEFT {
                            self.start_move_grab(&seat, &window, None);
                        } else if button == BTN_RIGHT {
                            let loc = self.space.element_location(&window).unwrap_or_default();
                            let edges =
                                ResizeEdges::nearest(pos - loc.to_f64(), window.geometry().size);
                            self.start_resize_grab(&seat, &window, edges, None);
                        }
                        pointer.frame(self);
                        return;
                    }
                }
                None => self.focus_layer_under(pos),
            }
        }
        pointer.button(
            self,
            &ButtonEvent {
                button,
                state,
                serial,
                time,
            },
        );
        pointer.frame(self);
    }

    fn focus_layer_under(&mut self, pos: Point<f64, Logical>) {
        use smithay::wayland::shell::wlr_layer::KeyboardInteractivity;
        let surface = self.surface_under(pos).map(|(s, _)| s);
        let Some(surface) = surface else { return };
        let Some(output) = self.space.output_under(pos).next().cloned() else {
            return;
        };
        let map = layer_map_for_output(&output);
        let wants_focus = map
            .layer_for_surface(&surface, WindowSurfaceType::ALL)
            .is_some_and(|l| {
                l.cached_state().keyboard_interactivity != KeyboardInteractivity::None
            });
        drop(map);
        if wants_focus {
            self.set_keyboard_focus(Some(surface));
        }
    }

    fn super_held(&self) -> bool {
        self.seat
            .get_keyboard()
            .is_some_and(|k| k.modifier_state().logo)
    }

    /// A key press or release (`code` is the evdev code + 8, as xkb counts).
    pub fn keyboard_key(&mut self, code: Keycode, key_state: KeyState, time: u32) {
        let Some(keyboard) = self.seat.get_keyboard() else {
            return;
        };
        let inhibited = keyboard
            .current_focus()
            .and_then(|f| {
                smithay::wayland::seat::WaylandFocus::wl_surface(&f).map(|s| s.into_owned())
            })
            .and_then(|s| self.seat.keyboard_shortcuts_inhibitor_for_surface(&s))
            .is_some_and(|i| i.is_active());
        let action = keyboard.input(
            self,
            code,
            key_state,
            SERIAL_COUNTER.next_serial(),
            time,
            |state, modifiers, keysym| {
                if key_state != KeyState::Pressed {
                    return FilterResult::Forward;
                }
                // While locked, and in kiosk mode, only switching virtual terminals
                // acts: every other key goes to the lock client or the kiosk program.
                if state.lock.is_locked() || state.session.kiosk() {
                    return match bindings::action_for(
                        &state.config,
                        modifiers,
                        keysym.modified_sym(),
                        &keysym.raw_syms(),
                    ) {
                        Some(bound @ bindings::Bound::SwitchVt(_)) => {
                            FilterResult::Intercept(bound)
                        }
                        _ => FilterResult::Forward,
                    };
                }
                // A screen-share prompt takes Return, Escape and Tab before anyone else.
                if state.picks.asking() {
                    use crate::casts::pick::PickKey;
                    use smithay::input::keyboard::keysyms;
                    let key = match keysym.modified_sym().raw() {
                        keysyms::KEY_Return | keysyms::KEY_KP_Enter => Some(PickKey::Share),
                        keysyms::KEY_Escape => Some(PickKey::Refuse),
                        keysyms::KEY_ISO_Left_Tab => Some(PickKey::Previous),
                        keysyms::KEY_Tab if modifiers.shift => Some(PickKey::Previous),
                        keysyms::KEY_Tab => Some(PickKey::Next),
                        _ => None,
                    };
                    if let Some(key) = key {
                        return FilterResult::Intercept(bindings::Bound::Pick(key));
                    }
                }
                match bindings::action_for(
                    &state.config,
                    modifiers,
                    keysym.modified_sym(),
                    &keysym.raw_syms(),
                ) {
                    Some(action) if !inhibited || action.is_escape() => {
                        FilterResult::Intercept(action)
                    }
                    _ => FilterResult::Forward,
                }
            },
        );
        if let Some(bound) = action {
            self.run_bound(bound);
        }
    }
}
