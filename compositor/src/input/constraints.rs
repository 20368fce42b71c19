//! Pointer locks and confinement (zwp_pointer_constraints_v1), which games and Xwayland
//! (for X11 games that grab and hide the pointer) ask for: while the surface under the
//! pointer holds an active lock, a mouse's motion no longer moves the pointer and
//! arrives only as relative motion (zwp_relative_pointer_v1); while it holds an active
//! confinement, the pointer stays inside the confining region. A constraint becomes
//! active when the pointer is on its surface (and inside its region) while that
//! surface's window has the keyboard, as sway, KWin and Mutter decide: an unfocused game
//! under the pointer does not capture it, and switching windows (Alt+Tab, a new window)
//! releases it. It ends when the pointer focus leaves the surface (smithay sends
//! unlocked/unconfined then) or the keyboard goes elsewhere; a persistent one comes back
//! when the window has the keyboard and the pointer again.

use smithay::{
    input::pointer::RelativeMotionEvent,
    reexports::wayland_server::protocol::wl_surface::WlSurface,
    utils::{Logical, Point, Rectangle},
    wayland::{
        compositor::{RectangleKind, RegionAttributes},
        pointer_constraints::{with_pointer_constraint, PointerConstraint},
    },
};

use crate::state::Ghost;

impl Ghost {
    /// A mouse's motion by `delta` (`delta_unaccel` before acceleration; `utime` in
    /// microseconds): the pointer moves unless a constraint holds it, and relative
    /// motion goes to the surface under it either way.
    pub fn pointer_motion_relative(
        &mut self,
        delta: Point<f64, Logical>,
        delta_unaccel: Point<f64, Logical>,
        utime: u64,
    ) {
        let Some(pointer) = self.seat.get_pointer() else {
            return;
        };
        let current = pointer.current_location();
        let under = self.surface_under(current);
        let mut target = current + delta;
        let mut locked = false;
        if let Some((surface, origin)) = &under {
            let local = (target - *origin).to_i32_round();
            // What the constraint says, read under its lock; the surface's size (which
            // takes the same lock) only after.
            let confined = with_pointer_constraint(surface, &pointer, |constraint| {
                let constraint = constraint.filter(|c| c.is_active())?;
                match &*constraint {
                    PointerConstraint::Locked(_) => {
                        locked = true;
                        None
                    }
                    PointerConstraint::Confined(confined) => Some(confined.region().cloned()),
                }
            });
            if let Some(region) = confined {
                let size = self.surface_size(surface);
                if let Some(kept) = confine(local, region.as_ref(), size) {
                    target = *origin + kept.to_f64();
                } else {
                    target = current;
                }
            }
        }
        let time_ms = (utime / 1000) as u32;
        if !locked {
            // A lock that ended left a hint of where its client had the pointer.
            if let Some(hint) = self.pointer_lock_hint.take() {
                target = hint + delta;
            }
            if target != current {
                self.pointer_motion_to(target, time_ms);
            }
        }
        let under = self.surface_under(pointer.current_location());
        pointer.relative_motion(
            self,
            under,
            &RelativeMotionEvent {
                delta,
                delta_unaccel,
                utime,
            },
        );
        pointer.frame(self);
    }

    /// Activates the constraint of the surface the pointer is on, where it has one
    /// that is not active yet and the pointer is inside its region (called after each
    /// pointer motion).
    pub(crate) fn activate_pointer_constraint(&mut self) {
        let Some(pointer) = self.seat.get_pointer() else {
            return;
        };
        let Some((surface, origin)) = self.surface_under(pointer.current_location()) else {
            return;
        };
        if !same_root(self.keyboard_focus_surface().as_ref(), &surface) {
            return;
        }
        let local = (pointer.current_location() - origin).to_i32_round();
        with_pointer_constraint(&surface, &pointer, |constraint| {
            let Some(constraint) = constraint else {
                return;
            };
            if constraint.is_active() {
                return;
            }
            if constraint.region().is_none_or(|r| r.contains(local)) {
                constraint.activate();
            }
        });
    }

    /// The keyboard went to `focused`: the constraint under the pointer ends where its
    /// window lost the keyboard, and one of the newly focused window's may begin.
    pub(crate) fn pointer_constraints_follow_focus(&mut self, focused: Option<&WlSurface>) {
        let Some(pointer) = self.seat.get_pointer() else {
            return;
        };
        // The constraint that holds now is the pointer focus's (the surface the pointer
        // entered, which a window opened under a still pointer has not taken over).
        if let Some(held) = pointer.current_focus().filter(|s| !same_root(focused, s)) {
            with_pointer_constraint(&held, &pointer, |constraint| {
                if let Some(constraint) = constraint.filter(|c| c.is_active()) {
                    constraint.deactivate();
                }
            });
        }
        let Some((surface, origin)) = self.surface_under(pointer.current_location()) else {
            return;
        };
        if !same_root(focused, &surface) {
            return;
        }
        let local = (pointer.current_location() - origin).to_i32_round();
        with_pointer_constraint(&surface, &pointer, |constraint| {
            if let Some(constraint) = constraint.filter(|c| !c.is_active()) {
                if constraint.region().is_none_or(|r| r.contains(local)) {
                    constraint.activate();
                }
            }
        });
    }

    /// Where the pointer is and which constraint holds it, for `msg version`.
    pub fn pointer_json(&self) -> serde_json::Value {
        let Some(pointer) = self.seat.get_pointer() else {
            return serde_json::Value::Null;
        };
        let at = pointer.current_location();
        let constraint = self.surface_under(at).and_then(|(surface, _)| {
            with_pointer_constraint(&surface, &pointer, |c| {
                c.filter(|c| c.is_active()).map(|c| match &*c {
                    PointerConstraint::Locked(_) => "locked",
                    PointerConstraint::Confined(_) => "confined",
                })
            })
        });
        serde_json::json!({"x": at.x, "y": at.y, "constraint": constraint})
    }

    /// The size of `surface`'s buffer, in surface coordinates.
    fn surface_size(&self, surface: &WlSurface) -> Option<smithay::utils::Size<i32, Logical>> {
        smithay::wayland::compositor::with_states(surface, |states| {
            states
                .data_map
                .get::<smithay::backend::renderer::utils::RendererSurfaceStateUserData>()
                .and_then(|d| d.lock().ok()?.surface_size())
        })
    }
}

/// The surface at the top of `surface`'s subsurface tree.
fn root_of(surface: &WlSurface) -> WlSurface {
    let mut root = surface.clone();
    while let Some(parent) = smithay::wayland::compositor::get_parent(&root) {
        root = parent;
    }
    root
}

/// Whether `focused` (the keyboard's surface) and `surface` belong to one surface tree.
fn same_root(focused: Option<&WlSurface>, surface: &WlSurface) -> bool {
    focused.is_some_and(|f| same_surface_tree(f, surface))
}

/// Whether two surfaces belong to one surface tree (a window and its subsurfaces).
pub fn same_surface_tree(a: &WlSurface, b: &WlSurface) -> bool {
    root_of(a) == root_of(b)
}

/// Where a confined pointer that would go to `want` (surface coordinates) stays: there
/// when it is inside the confining region (the whole surface where there is none),
/// else the nearest point inside, so a fast motion towards an edge reaches the edge.
/// None where the region holds no point at all.
fn confine(
    want: Point<i32, Logical>,
    region: Option<&RegionAttributes>,
    size: Option<smithay::utils::Size<i32, Logical>>,
) -> Option<Point<i32, Logical>> {
    let whole = size.map(Rectangle::from_size);
    let inside = |p: Point<i32, Logical>| match region {
        Some(r) => r.contains(p) && whole.is_none_or(|w| w.contains(p)),
        None => whole.is_some_and(|w| w.contains(p)),
    };
    if inside(want) {
        return Some(want);
    }
    let clamp = |r: Rectangle<i32, Logical>| {
        Point::<i32, Logical>::from((
            want.x.clamp(r.loc.x, r.loc.x + r.size.w - 1),
            want.y.clamp(r.loc.y, r.loc.y + r.size.h - 1),
        ))
    };
    let added: Vec<Rectangle<i32, Logical>> = match region {
        Some(r) => r
            .rects
            .iter()
            .filter(|(kind, rect)| matches!(kind, RectangleKind::Add) && !rect.is_empty())
            .map(|(_, rect)| *rect)
            .collect(),
        None => whole.into_iter().filter(|w| !w.is_empty()).collect(),
    };
    added
        .into_iter()
        .map(clamp)
        .filter(|p| inside(*p))
        .min_by_key(|p| (p.x - want.x).pow(2) + (p.y - want.y).pow(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_confined_pointer_stops_at_the_edge_it_runs_into() {
        let size = Some((300, 300).into());
        assert_eq!(
            confine((150, 150).into(), None, size),
            Some((150, 150).into())
        );
        assert_eq!(
            confine((750, 750).into(), None, size),
            Some((299, 299).into())
        );
        assert_eq!(
            confine((-450, 750).into(), None, size),
            Some((0, 299).into())
        );
    }

    #[test]
    fn a_region_confines_to_its_nearest_rectangle_and_not_to_subtracted_parts() {
        let region = RegionAttributes {
            rects: vec![
                (
                    RectangleKind::Add,
                    Rectangle::new((0, 0).into(), (100, 100).into()),
                ),
                (
                    RectangleKind::Add,
                    Rectangle::new((200, 0).into(), (100, 100).into()),
                ),
                (
                    RectangleKind::Subtract,
                    Rectangle::new((250, 0).into(), (50, 100).into()),
                ),
            ],
        };
        let size = Some((300, 300).into());
        assert_eq!(
            confine((140, 50).into(), Some(&region), size),
            Some((99, 50).into())
        );
        assert_eq!(
            confine((160, 50).into(), Some(&region), size),
            Some((200, 50).into())
        );
        assert_eq!(
            confine((500, 50).into(), Some(&region), size),
            Some((99, 50).into())
        );
        assert_eq!(
            confine((210, 200).into(), Some(&region), size),
            Some((210, 99).into())
        );
    }
}
