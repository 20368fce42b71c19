//! Pointer locks and confinement (zwp_pointer_constraints_v1), which games and Xwayland
//! (for X11 games that grab and hide the pointer) ask for: while the surface under the
//! pointer holds an active lock, a mouse's motion no longer moves the pointer and
//! arrives only as relative motion (zwp_relative_pointer_v1); while it holds an active
//! confinement, the pointer stays inside the confining region. A constraint becomes
//! active when the pointer is on its surface (and inside its region) and ends when the
//! pointer focus leaves it (smithay sends unlocked/unconfined then).

use smithay::{
    input::pointer::RelativeMotionEvent,
    utils::{Logical, Point},
    wayland::pointer_constraints::{with_pointer_constraint, PointerConstraint},
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
                    PointerConstraint::Confined(confined) => {
                        Some(confined.region().map(|region| region.contains(local)))
                    }
                }
            });
            if let Some(inside) = confined {
                if !inside.unwrap_or_else(|| self.surface_contains(surface, local)) {
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

    /// Whether `local` (surface coordinates) is on `surface`'s buffer.
    fn surface_contains(
        &self,
        surface: &smithay::reexports::wayland_server::protocol::wl_surface::WlSurface,
        local: Point<i32, Logical>,
    ) -> bool {
        let size = smithay::wayland::compositor::with_states(surface, |states| {
            states
                .data_map
                .get::<smithay::backend::renderer::utils::RendererSurfaceStateUserData>()
                .and_then(|d| d.lock().ok()?.surface_size())
        });
        size.is_some_and(|s| local.x >= 0 && local.y >= 0 && local.x < s.w && local.y < s.h)
    }
}
