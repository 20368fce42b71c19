//! Pointer locks, confinement and relative motion as a game asks for them
//! (zwp_pointer_constraints_v1, zwp_relative_pointer_v1).

use anyhow::Result;
use wayland_client::{
    protocol::{wl_pointer::WlPointer, wl_surface::WlSurface},
    Connection, Dispatch, QueueHandle,
};
use wayland_protocols::wp::{
    pointer_constraints::zv1::client::{
        zwp_confined_pointer_v1::{self, ZwpConfinedPointerV1},
        zwp_locked_pointer_v1::{self, ZwpLockedPointerV1},
        zwp_pointer_constraints_v1::{Lifetime, ZwpPointerConstraintsV1},
    },
    relative_pointer::zv1::client::{
        zwp_relative_pointer_manager_v1::ZwpRelativePointerManagerV1,
        zwp_relative_pointer_v1::{self, ZwpRelativePointerV1},
    },
};

use crate::client::{State, TestClient};

/// What the constraint objects reported.
#[derive(Debug, Default)]
pub struct ConstraintEvents {
    /// The lock or confinement is in force (locked/confined minus unlocked/unconfined).
    pub active: bool,
    /// Relative motion received: (dx, dy) each.
    pub relative: Vec<(f64, f64)>,
}

impl TestClient {
    fn constraints(&self) -> Result<ZwpPointerConstraintsV1> {
        self.bind(1..=1, ())
    }

    fn seat_pointer(&self) -> Result<WlPointer> {
        self.state
            .seat
            .pointer
            .clone()
            .ok_or_else(|| anyhow::anyhow!("no pointer: call watch_seat first"))
    }

    /// Asks to lock the pointer on `surface` for as long as the object lives.
    pub fn lock_pointer(&mut self, surface: &WlSurface) -> Result<ZwpLockedPointerV1> {
        let pointer = self.seat_pointer()?;
        let locked = self.constraints()?.lock_pointer(
            surface,
            &pointer,
            None,
            Lifetime::Persistent,
            &self.qh(),
            (),
        );
        self.roundtrip()?;
        Ok(locked)
    }

    /// Asks to confine the pointer to `surface` for as long as the object lives.
    pub fn confine_pointer(&mut self, surface: &WlSurface) -> Result<ZwpConfinedPointerV1> {
        let pointer = self.seat_pointer()?;
        let confined = self.constraints()?.confine_pointer(
            surface,
            &pointer,
            None,
            Lifetime::Persistent,
            &self.qh(),
            (),
        );
        self.roundtrip()?;
        Ok(confined)
    }

    /// Asks for relative motion of the seat's pointer.
    pub fn relative_pointer(&mut self) -> Result<ZwpRelativePointerV1> {
        let pointer = self.seat_pointer()?;
        let manager: ZwpRelativePointerManagerV1 = self.bind(1..=1, ())?;
        let relative = manager.get_relative_pointer(&pointer, &self.qh(), ());
        self.roundtrip()?;
        Ok(relative)
    }
}

impl Dispatch<ZwpPointerConstraintsV1, ()> for State {
    fn event(
        _: &mut Self,
        _: &ZwpPointerConstraintsV1,
        _: <ZwpPointerConstraintsV1 as wayland_client::Proxy>::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
    }
}

impl Dispatch<ZwpRelativePointerManagerV1, ()> for State {
    fn event(
        _: &mut Self,
        _: &ZwpRelativePointerManagerV1,
        _: <ZwpRelativePointerManagerV1 as wayland_client::Proxy>::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
    }
}

impl Dispatch<ZwpLockedPointerV1, ()> for State {
    fn event(
        state: &mut Self,
        _: &ZwpLockedPointerV1,
        event: zwp_locked_pointer_v1::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        match event {
            zwp_locked_pointer_v1::Event::Locked => state.constraint.active = true,
            zwp_locked_pointer_v1::Event::Unlocked => state.constraint.active = false,
            _ => {}
        }
    }
}

impl Dispatch<ZwpConfinedPointerV1, ()> for State {
    fn event(
        state: &mut Self,
        _: &ZwpConfinedPointerV1,
        event: zwp_confined_pointer_v1::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        match event {
            zwp_confined_pointer_v1::Event::Confined => state.constraint.active = true,
            zwp_confined_pointer_v1::Event::Unconfined => state.constraint.active = false,
            _ => {}
        }
    }
}

impl Dispatch<ZwpRelativePointerV1, ()> for State {
    fn event(
        state: &mut Self,
        _: &ZwpRelativePointerV1,
        event: zwp_relative_pointer_v1::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        if let zwp_relative_pointer_v1::Event::RelativeMotion { dx, dy, .. } = event {
            state.constraint.relative.push((dx, dy));
        }
    }
}
