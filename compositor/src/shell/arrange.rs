//! Where windows go on their output: new windows where they cover least, snapping to
//! halves and quarters by binding or by dropping a dragged window against an edge. The
//! decisions are [`super::placement`]'s; this is the glue to the space and the clients.

use smithay::{
    desktop::Window,
    reexports::wayland_protocols::xdg::shell::server::xdg_toplevel,
    utils::{Logical, Point, Rectangle},
};

use super::{decorations::TITLE_BAR_HEIGHT, placement, window_data};
use crate::state::Ghost;

/// How close to a corner (logical pixels) a drop against an edge snaps to a quarter.
const CORNER: f64 = 48.0;

fn down(by: i32) -> Point<i32, Logical> {
    Point::from((0, by))
}

fn taller(by: i32) -> smithay::utils::Size<i32, Logical> {
    smithay::utils::Size::from((0, by))
}

fn bar_of(window: &Window) -> i32 {
    if window_data(window).server_side_decorations.get() {
        TITLE_BAR_HEIGHT
    } else {
        0
    }
}

impl Ghost {
    /// Places a new window on the active output where it covers least of the windows
    /// already there (centred on an empty output), title bars counted.
    pub(crate) fn place_new_window(&mut self, window: &Window) {
        let Some(output) = self.active_output() else {
            return;
        };
        let area = self.usable_area(&output);
        let bar = bar_of(window);
        let size = window.geometry().size + taller(bar);
        let others: Vec<Rectangle<i32, Logical>> = self
            .space
            .elements()
            .filter(|w| *w != window)
            .filter_map(|w| {
                let geo = self.space.element_geometry(w)?;
                let b = bar_of(w);
                Some(Rectangle::new(geo.loc - down(b), geo.size + taller(b)))
            })
            .filter(|r| r.overlaps(area))
            .collect();
        let at = placement::place(area, size, &others);
        self.space
            .map_element(window.clone(), at + down(bar), false);
    }

    /// Puts `window` in a half or quarter of its output's usable area; the same snap
    /// again puts it back where it was.
    pub fn snap_window(&mut self, window: &Window, snap: placement::Snap) {
        self.float_in_place(window);
        let Some(toplevel) = window.toplevel().cloned() else {
            return;
        };
        let Some(output) = self.output_of(window) else {
            return;
        };
        let target = placement::snapped(self.usable_area(&output), snap);
        let bar = bar_of(window);
        let size = (target.size.w, (target.size.h - bar).max(1)).into();
        let loc = target.loc + down(bar);
        let data = window_data(window);
        if data.snapped.get() == Some(snap) && self.space.element_location(window) == Some(loc) {
            data.snapped.set(None);
            self.set_maximized(window, false);
            return;
        }
        self.remember_window_geometry(window);
        data.snapped.set(Some(snap));
        toplevel.with_pending_state(|s| {
            s.states.unset(xdg_toplevel::State::Maximized);
            s.states.unset(xdg_toplevel::State::Fullscreen);
            s.size = Some(size);
        });
        if toplevel.is_initial_configure_sent() {
            toplevel.send_pending_configure();
        }
        self.space.map_element(window.clone(), loc, true);
        self.queue_redraw_all();
    }

    /// A dragged window was dropped with the pointer at `pointer`: against an output's
    /// edge it snaps (left or right half, a quarter in a corner), against the top edge
    /// it is maximized.
    pub(crate) fn window_dropped(&mut self, window: &Window, pointer: Point<f64, Logical>) {
        let Some(output) = self.space.output_under(pointer).next().cloned() else {
            return;
        };
        let Some(geo) = self.space.output_geometry(&output) else {
            return;
        };
        match placement::snap_at_edge(geo, pointer, CORNER) {
            Some(placement::EdgeDrop::Snap(snap)) => self.snap_window(window, snap),
            Some(placement::EdgeDrop::Maximize) => self.set_maximized(window, true),
            None => {
                // Dragged out of a snapped place: it is free again.
                window_data(window).snapped.set(None);
            }
        }
    }
}
