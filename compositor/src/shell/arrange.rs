//! Where windows go on their output: new windows centred (cascaded where another sits),
//! snapping to halves and quarters by binding or by dropping a dragged window against
//! an edge. The snapping decisions are [`super::placement`]'s; this is the glue to the
//! space and the clients.

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

fn bar_of(window: &Window) -> i32 {
    if window_data(window).server_side_decorations.get() {
        TITLE_BAR_HEIGHT
    } else {
        0
    }
}

/// The `step`-th cascade position from `centre`: 32 px down-right per step, wrapping to
/// the output's top-left area when the window would leave the output.
fn cascade_position(
    centre: Point<i32, Logical>,
    step: i32,
    output: Rectangle<i32, Logical>,
    size: smithay::utils::Size<i32, Logical>,
) -> Point<i32, Logical> {
    const CASCADE: i32 = 32;
    let room_x = ((output.loc.x + output.size.w - size.w) - centre.x).max(0) / CASCADE;
    let room_y = ((output.loc.y + output.size.h - size.h) - centre.y).max(0) / CASCADE;
    let room = room_x.min(room_y).max(1);
    let lap = step / (room + 1);
    let along = step % (room + 1);
    let origin = if lap == 0 {
        centre
    } else {
        output.loc + Point::from((CASCADE * lap, CASCADE * lap))
    };
    origin + Point::from((CASCADE * along, CASCADE * along))
}

impl Ghost {
    /// Centres a new window on the active output, below its title bar when decorated;
    /// when another window already sits there, cascades down-right so none is hidden
    /// exactly behind another.
    pub(crate) fn place_new_window(&mut self, window: &Window) {
        let Some(output_geo) = self
            .active_output()
            .and_then(|o| self.space.output_geometry(&o))
        else {
            return;
        };
        let size = window.geometry().size;
        let bar = bar_of(window);
        let centre = Point::from((
            output_geo.loc.x + ((output_geo.size.w - size.w) / 2).max(0),
            output_geo.loc.y + ((output_geo.size.h - size.h - bar) / 2).max(0) + bar,
        ));
        let taken: Vec<Point<i32, Logical>> = self
            .space
            .elements()
            .filter(|w| *w != window)
            .filter_map(|w| self.space.element_location(w))
            .collect();
        let mut loc = centre;
        for step in 1..=64 {
            if !taken.contains(&loc) {
                break;
            }
            loc = cascade_position(centre, step, output_geo, size);
        }
        self.space.map_element(window.clone(), loc, false);
    }

    /// Puts `window` in a half or quarter of its output's usable area; the same snap
    /// again puts it back where it was.
    pub fn snap_window(&mut self, window: &Window, snap: placement::Snap) {
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
