//! What a drawing program (Krita, GIMP, Xournal++) sees of a tablet: zwp_tablet_seat_v2's
//! tablets and tools, and each tool's proximity, motion, pressure, tilt and contact.

use anyhow::Result;
use wayland_client::{protocol::wl_seat::WlSeat, Connection, Dispatch, Proxy, QueueHandle};
use wayland_protocols::wp::tablet::zv2::client::{
    zwp_tablet_manager_v2::ZwpTabletManagerV2,
    zwp_tablet_pad_v2::ZwpTabletPadV2,
    zwp_tablet_seat_v2::{self, ZwpTabletSeatV2},
    zwp_tablet_tool_v2::{self, ZwpTabletToolV2},
    zwp_tablet_v2::{self, ZwpTabletV2},
};

use crate::client::{State, TestClient};

/// One thing a tool reported.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolEvent {
    /// Came near a surface (its protocol id).
    ProximityIn(u32),
    /// Left.
    ProximityOut,
    /// Surface-local position.
    Motion(f64, f64),
    /// 0 to 65535.
    Pressure(u32),
    /// Degrees.
    Tilt(f64, f64),
    /// Touched.
    Down,
    /// Lifted.
    Up,
    /// End of a group of events.
    Frame,
}

/// What the tablet seat told us.
#[derive(Debug, Default, Clone)]
pub struct TabletEvents {
    /// Names of the tablets announced.
    pub tablets: Vec<String>,
    /// Tools announced.
    pub tools: usize,
    /// Every tool event, in order.
    pub events: Vec<ToolEvent>,
}

impl TestClient {
    /// Asks for the seat's tablets.
    pub fn watch_tablets(&mut self) -> Result<ZwpTabletSeatV2> {
        let seat: WlSeat = self.bind(1..=7, ())?;
        let manager: ZwpTabletManagerV2 = self.bind(1..=1, ())?;
        let tablets = manager.get_tablet_seat(&seat, &self.qh(), ());
        self.roundtrip()?;
        Ok(tablets)
    }
}

impl Dispatch<ZwpTabletSeatV2, ()> for State {
    fn event(
        state: &mut Self,
        _: &ZwpTabletSeatV2,
        event: zwp_tablet_seat_v2::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        if let zwp_tablet_seat_v2::Event::ToolAdded { .. } = event {
            state.tablet.tools += 1;
        }
    }

    wayland_client::event_created_child!(State, ZwpTabletSeatV2, [
        zwp_tablet_seat_v2::EVT_TABLET_ADDED_OPCODE => (ZwpTabletV2, ()),
        zwp_tablet_seat_v2::EVT_TOOL_ADDED_OPCODE => (ZwpTabletToolV2, ()),
        zwp_tablet_seat_v2::EVT_PAD_ADDED_OPCODE => (ZwpTabletPadV2, ()),
    ]);
}

impl Dispatch<ZwpTabletV2, ()> for State {
    fn event(
        state: &mut Self,
        _: &ZwpTabletV2,
        event: zwp_tablet_v2::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        if let zwp_tablet_v2::Event::Name { name } = event {
            state.tablet.tablets.push(name);
        }
    }
}

impl Dispatch<ZwpTabletToolV2, ()> for State {
    fn event(
        state: &mut Self,
        _: &ZwpTabletToolV2,
        event: zwp_tablet_tool_v2::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        use zwp_tablet_tool_v2::Event as E;
        let recorded = match event {
            E::ProximityIn { surface, .. } => ToolEvent::ProximityIn(surface.id().protocol_id()),
            E::ProximityOut => ToolEvent::ProximityOut,
            E::Motion { x, y } => ToolEvent::Motion(x, y),
            E::Pressure { pressure } => ToolEvent::Pressure(pressure),
            E::Tilt { tilt_x, tilt_y } => ToolEvent::Tilt(tilt_x, tilt_y),
            E::Down { .. } => ToolEvent::Down,
            E::Up => ToolEvent::Up,
            E::Frame { .. } => ToolEvent::Frame,
            _ => return,
        };
        state.tablet.events.push(recorded);
    }
}

wayland_client::delegate_noop!(State: ignore ZwpTabletManagerV2);
wayland_client::delegate_noop!(State: ignore ZwpTabletPadV2);
