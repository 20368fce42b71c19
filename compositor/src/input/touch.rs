//! Touch: a finger down focuses the window under it (like a click, the title bar the
//! compositor draws included) and the touch goes to the surface under the finger.

use smithay::{
    backend::input::{AbsolutePositionEvent, Event, InputBackend, TouchEvent, TouchSlot},
    input::touch::{DownEvent, MotionEvent, UpEvent},
    utils::{Logical, Point, SERIAL_COUNTER},
};

use crate::state::Ghost;

impl Ghost {
    fn touch_position<B: InputBackend, E: AbsolutePositionEvent<B>>(
        &self,
        event: &E,
    ) -> Option<Point<f64, Logical>> {
        let output = self.space.outputs().next()?;
        let geo = self.space.output_geometry(output)?;
        Some(event.position_transformed(geo.size) + geo.loc.to_f64())
    }

    /// A finger touched the screen (backend event).
    pub fn touch_down<B: InputBackend>(&mut self, event: B::TouchDownEvent) {
        if let Some(pos) = self.touch_position(&event) {
            self.touch_down_at(event.slot(), pos, event.time_msec());
        }
    }

    /// A finger moved (backend event).
    pub fn touch_motion<B: InputBackend>(&mut self, event: B::TouchMotionEvent) {
        if let Some(pos) = self.touch_position(&event) {
            self.touch_motion_at(event.slot(), pos, event.time_msec());
        }
    }

    /// A finger lifted (backend event).
    pub fn touch_up<B: InputBackend>(&mut self, event: B::TouchUpEvent) {
        self.touch_up_slot(event.slot(), event.time_msec());
    }

    /// A finger touched the screen at `pos` (global).
    pub fn touch_down_at(&mut self, slot: TouchSlot, pos: Point<f64, Logical>, time: u32) {
        // A title bar lies outside its window's geometry, above it.
        let on_title_bar = self.space.elements().rev().find(|w| {
            self.space
                .element_location(w)
                .is_some_and(|loc| crate::shell::decorations::hit_test(w, loc, pos).is_some())
        });
        let touched = on_title_bar
            .cloned()
            .or_else(|| self.space.element_under(pos).map(|(w, _)| w.clone()));
        if let Some(window) = touched {
            self.focus_window(&window);
        }
        let under = self.surface_under(pos);
        let Some(touch) = self.seat.get_touch() else {
            return;
        };
        touch.down(
            self,
            under,
            &DownEvent {
                slot,
                location: pos,
                serial: SERIAL_COUNTER.next_serial(),
                time,
            },
        );
    }

    /// A finger moved to `pos` (global).
    pub fn touch_motion_at(&mut self, slot: TouchSlot, pos: Point<f64, Logical>, time: u32) {
        let under = self.surface_under(pos);
        let Some(touch) = self.seat.get_touch() else {
            return;
        };
        touch.motion(
            self,
            under,
            &MotionEvent {
                slot,
                location: pos,
                time,
            },
        );
    }

    /// A finger lifted.
    pub fn touch_up_slot(&mut self, slot: TouchSlot, time: u32) {
        let Some(touch) = self.seat.get_touch() else {
            return;
        };
        touch.up(
            self,
            &UpEvent {
                slot,
                serial: SERIAL_COUNTER.next_serial(),
                time,
            },
        );
    }

    /// The end of a set of simultaneous touch events.
    pub fn touch_frame(&mut self) {
        if let Some(touch) = self.seat.get_touch() {
            touch.frame(self);
        }
    }

    /// The touch sequence was taken away (e.g. a gesture).
    pub fn touch_cancel(&mut self) {
        if let Some(touch) = self.seat.get_touch() {
            touch.cancel(self);
        }
    }
}
