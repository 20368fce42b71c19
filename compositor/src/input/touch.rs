//! Touch: a finger down focuses the window under it (like a click) and the touch goes to
//! the surface under the first finger until it lifts.

use smithay::{
    backend::input::{AbsolutePositionEvent, Event, InputBackend, TouchEvent},
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

    /// A finger touched the screen.
    pub fn touch_down<B: InputBackend>(&mut self, event: B::TouchDownEvent) {
        let Some(pos) = self.touch_position(&event) else {
            return;
        };
        if let Some((window, _)) = self.space.element_under(pos).map(|(w, l)| (w.clone(), l)) {
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
                slot: event.slot(),
                location: pos,
                serial: SERIAL_COUNTER.next_serial(),
                time: event.time_msec(),
            },
        );
    }

    /// A finger moved.
    pub fn touch_motion<B: InputBackend>(&mut self, event: B::TouchMotionEvent) {
        let Some(pos) = self.touch_position(&event) else {
            return;
        };
        let under = self.surface_under(pos);
        let Some(touch) = self.seat.get_touch() else {
            return;
        };
        touch.motion(
            self,
            under,
            &MotionEvent {
                slot: event.slot(),
                location: pos,
                time: event.time_msec(),
            },
        );
    }

    /// A finger lifted.
    pub fn touch_up<B: InputBackend>(&mut self, event: B::TouchUpEvent) {
        let Some(touch) = self.seat.get_touch() else {
            return;
        };
        touch.up(
            self,
            &UpEvent {
                slot: event.slot(),
                serial: SERIAL_COUNTER.next_serial(),
                time: event.time_msec(),
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
