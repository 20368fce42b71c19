//! Interactive move and resize: pointer grabs started by a client request (dragging a
//! client-side title bar) or by the compositor (Super+drag, our own title bar).

use smithay::{
    desktop::Window,
    input::{
        pointer::{
            AxisFrame, ButtonEvent, Focus, GestureHoldBeginEvent, GestureHoldEndEvent,
            GesturePinchBeginEvent, GesturePinchEndEvent, GesturePinchUpdateEvent,
            GestureSwipeBeginEvent, GestureSwipeEndEvent, GestureSwipeUpdateEvent, GrabStartData,
            MotionEvent, PointerGrab, PointerInnerHandle, RelativeMotionEvent,
        },
        Seat,
    },
    reexports::{
        wayland_protocols::xdg::shell::server::xdg_toplevel,
        wayland_server::{protocol::wl_surface::WlSurface, Resource},
    },
    utils::{Logical, Point, Serial, Size, SERIAL_COUNTER},
};

use super::window_data;
use crate::state::Ghost;

/// Which edges a resize moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResizeEdges {
    /// The top edge moves.
    pub top: bool,
    /// The bottom edge moves.
    pub bottom: bool,
    /// The left edge moves.
    pub left: bool,
    /// The right edge moves.
    pub right: bool,
}

impl From<xdg_toplevel::ResizeEdge> for ResizeEdges {
    fn from(edge: xdg_toplevel::ResizeEdge) -> Self {
        use xdg_toplevel::ResizeEdge as E;
        Self {
            top: matches!(edge, E::Top | E::TopLeft | E::TopRight),
            bottom: matches!(edge, E::Bottom | E::BottomLeft | E::BottomRight),
            left: matches!(edge, E::Left | E::TopLeft | E::BottomLeft),
            right: matches!(edge, E::Right | E::TopRight | E::BottomRight),
        }
    }
}

impl ResizeEdges {
    /// The edges nearest to `point` inside a window of `size` (for Super+right-drag).
    pub fn nearest(point: Point<f64, Logical>, size: Size<i32, Logical>) -> Self {
        let (fx, fy) = (
            point.x / size.w.max(1) as f64,
            point.y / size.h.max(1) as f64,
        );
        Self {
            left: fx < 1.0 / 3.0,
            right: fx > 2.0 / 3.0,
            top: fy < 1.0 / 3.0,
            bottom: fy > 2.0 / 3.0 || ((1.0 / 3.0..=2.0 / 3.0).contains(&fx) && fy >= 1.0 / 3.0),
        }
    }
}

/// Where a resized window started, so that commits keep the fixed edges in place.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResizeAnchor {
    edges: ResizeEdges,
    initial_location: Point<i32, Logical>,
    initial_size: Size<i32, Logical>,
}

enum GrabKind {
    Move,
    Resize(ResizeAnchor),
}

/// A move or resize in progress.
pub struct WindowGrab {
    start_data: GrabStartData<Ghost>,
    window: Window,
    initial_location: Point<i32, Logical>,
    kind: GrabKind,
}

impl Ghost {
    fn grab_start(
        &self,
        seat: &Seat<Ghost>,
        window: &Window,
        serial: Option<Serial>,
    ) -> Option<GrabStartData<Ghost>> {
        let pointer = seat.get_pointer()?;
        match serial {
            // A client request must come with the serial of a click on its own surface.
            Some(serial) => {
                if !pointer.has_grab(serial) {
                    return None;
                }
                let start = pointer.grab_start_data()?;
                let (focus, _) = start.focus.as_ref()?;
                let toplevel = window.toplevel()?.wl_surface().id();
                if !focus.id().same_client_as(&toplevel) {
                    return None;
                }
                Some(start)
            }
            None => Some(GrabStartData {
                focus: None,
                button: pointer.grab_start_data().map(|d| d.button).unwrap_or(0x110),
                location: pointer.current_location(),
            }),
        }
    }

    /// Starts moving `window` with the pointer.
    pub fn start_move_grab(&mut self, seat: &Seat<Ghost>, window: &Window, serial: Option<Serial>) {
        let Some(start_data) = self.grab_start(seat, window, serial) else {
            return;
        };
        self.float_in_place(window);
        let Some(initial_location) = self.space.element_location(window) else {
            return;
        };
        if Ghost::is_fullscreen(window) {
            return;
        }
        let grab = WindowGrab {
            start_data,
            window: window.clone(),
            initial_location,
            kind: GrabKind::Move,
        };
        if let Some(pointer) = seat.get_pointer() {
            pointer.set_grab(
                self,
                grab,
                serial.unwrap_or_else(|| SERIAL_COUNTER.next_serial()),
                Focus::Clear,
            );
        }
    }

    /// Starts resizing `window` from `edges` with the pointer.
    pub fn start_resize_grab(
        &mut self,
        seat: &Seat<Ghost>,
        window: &Window,
        edges: ResizeEdges,
        serial: Option<Serial>,
    ) {
        let Some(start_data) = self.grab_start(seat, window, serial) else {
            return;
        };
        self.float_in_place(window);
        let Some(initial_location) = self.space.element_location(window) else {
            return;
        };
        let anchor = ResizeAnchor {
            edges,
            initial_location,
            initial_size: window.geometry().size,
        };
        match (window.toplevel(), window.x11_surface()) {
            (Some(toplevel), _) => {
                window_data(window).resize.set(Some(anchor));
                toplevel.with_pending_state(|s| s.states.set(xdg_toplevel::State::Resizing));
                toplevel.send_pending_configure();
            }
            // An X11 window is sized (and its fixed edges kept) as the pointer moves.
            (None, Some(_)) => {}
            (None, None) => return,
        }
        let grab = WindowGrab {
            start_data,
            window: window.clone(),
            initial_location,
            kind: GrabKind::Resize(anchor),
        };
        if let Some(pointer) = seat.get_pointer() {
            pointer.set_grab(
                self,
                grab,
                serial.unwrap_or_else(|| SERIAL_COUNTER.next_serial()),
                Focus::Clear,
            );
        }
    }
}

/// Keeps the fixed edges of a window being resized in place as its new size arrives.
pub fn resize_commit(state: &mut Ghost, root: &WlSurface) {
    let Some(window) = state.window_for_surface(root) else {
        return;
    };
    let Some(anchor) = window_data(&window).resize.get() else {
        return;
    };
    let size = window.geometry().size;
    let mut loc = anchor.initial_location;
    if anchor.edges.left {
        loc.x += anchor.initial_size.w - size.w;
    }
    if anchor.edges.top {
        loc.y += anchor.initial_size.h - size.h;
    }
    if state.space.element_location(&window) != Some(loc) {
        state.space.map_element(window.clone(), loc, false);
    }
    let resizing = window.toplevel().is_some_and(|t| {
        t.current_state()
            .states
            .contains(xdg_toplevel::State::Resizing)
    });
    if !resizing {
        window_data(&window).resize.set(None);
    }
}

impl WindowGrab {
    fn resize_to(&self, state: &mut Ghost, anchor: &ResizeAnchor, delta: Point<f64, Logical>) {
        let mut w = anchor.initial_size.w as f64;
        let mut h = anchor.initial_size.h as f64;
        if anchor.edges.left {
            w -= delta.x;
        } else if anchor.edges.right {
            w += delta.x;
        }
        if anchor.edges.top {
            h -= delta.y;
        } else if anchor.edges.bottom {
            h += delta.y;
        }
        let (min, max) = match (self.window.toplevel(), self.window.x11_surface()) {
            (Some(toplevel), _) => Ghost::size_limits(toplevel.wl_surface()),
            (None, Some(x11)) => (
                x11.min_size().unwrap_or_default(),
                x11.max_size().unwrap_or_default(),
            ),
            (None, None) => return,
        };
        let clamp = |v: f64, lo: i32, hi: i32| {
            let lo = lo.max(1);
            let hi = if hi > 0 { hi } else { i32::MAX };
            (v.round() as i32).clamp(lo, hi.max(lo))
        };
        let size = Size::from((clamp(w, min.w, max.w), clamp(h, min.h, max.h)));
        if let Some(x11) = self.window.x11_surface() {
            let mut loc = anchor.initial_location;
            if anchor.edges.left {
                loc.x += anchor.initial_size.w - size.w;
            }
            if anchor.edges.top {
                loc.y += anchor.initial_size.h - size.h;
            }
            if let Err(err) = x11.configure(smithay::utils::Rectangle::new(loc, size)) {
                tracing::debug!(%err, "cannot resize an X11 window");
            }
            state.space.map_element(self.window.clone(), loc, false);
            state.queue_redraw_all();
            return;
        }
        let Some(toplevel) = self.window.toplevel() else {
            return;
        };
        toplevel.with_pending_state(|s| s.size = Some(size));
        toplevel.send_pending_configure();
        state.queue_redraw_all();
    }
}

macro_rules! forward_gestures {
    ($($name:ident: $event:ty),* $(,)?) => {
        $(
            fn $name(&mut self, data: &mut Ghost, handle: &mut PointerInnerHandle<'_, Ghost>, event: &$event) {
                handle.$name(data, event)
            }
        )*
    };
}

impl PointerGrab<Ghost> for WindowGrab {
    fn motion(
        &mut self,
        data: &mut Ghost,
        handle: &mut PointerInnerHandle<'_, Ghost>,
        _focus: Option<(WlSurface, Point<f64, Logical>)>,
        event: &MotionEvent,
    ) {
        // No client has pointer focus while the compositor drags a window.
        handle.motion(data, None, event);
        let delta = event.location - self.start_data.location;
        match &self.kind {
            GrabKind::Move => {
                let loc = (self.initial_location.to_f64() + delta).to_i32_round();
                data.space.map_element(self.window.clone(), loc, true);
                data.queue_redraw_all();
            }
            GrabKind::Resize(anchor) => {
                let anchor = *anchor;
                self.resize_to(data, &anchor, delta);
            }
        }
    }

    fn relative_motion(
        &mut self,
        data: &mut Ghost,
        handle: &mut PointerInnerHandle<'_, Ghost>,
        focus: Option<(WlSurface, Point<f64, Logical>)>,
        event: &RelativeMotionEvent,
    ) {
        handle.relative_motion(data, focus, event);
    }

    fn button(
        &mut self,
        data: &mut Ghost,
        handle: &mut PointerInnerHandle<'_, Ghost>,
        event: &ButtonEvent,
    ) {
        handle.button(data, event);
        if handle.current_pressed().is_empty() {
            handle.unset_grab(self, data, event.serial, event.time, true);
            if let GrabKind::Move = self.kind {
                let at = handle.current_location();
                data.window_dropped(&self.window, at);
            }
        }
    }

    fn axis(
        &mut self,
        data: &mut Ghost,
        handle: &mut PointerInnerHandle<'_, Ghost>,
        details: AxisFrame,
    ) {
        handle.axis(data, details)
    }

    fn frame(&mut self, data: &mut Ghost, handle: &mut PointerInnerHandle<'_, Ghost>) {
        handle.frame(data);
    }

    forward_gestures! {
        gesture_swipe_begin: GestureSwipeBeginEvent,
        gesture_swipe_update: GestureSwipeUpdateEvent,
        gesture_swipe_end: GestureSwipeEndEvent,
        gesture_pinch_begin: GesturePinchBeginEvent,
        gesture_pinch_update: GesturePinchUpdateEvent,
        gesture_pinch_end: GesturePinchEndEvent,
        gesture_hold_begin: GestureHoldBeginEvent,
        gesture_hold_end: GestureHoldEndEvent,
    }

    fn start_data(&self) -> &GrabStartData<Ghost> {
        &self.start_data
    }

    fn unset(&mut self, _data: &mut Ghost) {
        if let GrabKind::Resize(_) = self.kind {
            if let Some(toplevel) = self.window.toplevel() {
                toplevel.with_pending_state(|s| s.states.unset(xdg_toplevel::State::Resizing));
                toplevel.send_pending_configure();
            }
        }
    }
}
