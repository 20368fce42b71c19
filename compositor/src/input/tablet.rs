//! Drawing tablets (zwp_tablet_v2): libinput's tablet tools on KMS, and a synthetic pen
//! over IPC on the headless backend. The tool goes to the surface under it, with its
//! pressure, tilt, distance, rotation, slider and wheel; touching down focuses the
//! window under it, as a click does; the pointer follows the pen, so the cursor shows
//! where it is. A program that never asked for tablets gets the pen as a pointer (its
//! touch a left click), as it would on X11.

use smithay::{
    backend::input::{
        AbsolutePositionEvent, ButtonState, Device, DeviceCapability, Event, InputBackend,
        ProximityState, TabletToolButtonEvent, TabletToolCapabilities, TabletToolDescriptor,
        TabletToolEvent, TabletToolProximityEvent, TabletToolTipEvent, TabletToolTipState,
        TabletToolType,
    },
    reexports::{
        wayland_protocols::wp::tablet::zv2::server::{
            zwp_tablet_manager_v2::{self, ZwpTabletManagerV2},
            zwp_tablet_seat_v2::ZwpTabletSeatV2,
            zwp_tablet_tool_v2::ZwpTabletToolV2,
            zwp_tablet_v2::ZwpTabletV2,
        },
        wayland_server::{
            delegate_dispatch, delegate_global_dispatch, Client, DataInit, Dispatch, DisplayHandle,
            Resource,
        },
    },
    utils::{Logical, Point, SERIAL_COUNTER},
    wayland::tablet_manager::{
        TabletDescriptor, TabletManagerState, TabletSeatTrait, TabletSeatUserData,
        TabletToolUserData, TabletUserData,
    },
};

use crate::state::Ghost;

/// What a tool reports besides its position (None: unchanged).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ToolAxes {
    /// 0 (none) to 1 (full).
    pub pressure: Option<f64>,
    /// Degrees from the vertical, x and y.
    pub tilt: Option<(f64, f64)>,
    /// 0 (touching) to 1 (farthest).
    pub distance: Option<f64>,
    /// Degrees.
    pub rotation: Option<f64>,
    /// -1 to 1.
    pub slider: Option<f64>,
    /// Degrees and clicks.
    pub wheel: Option<(f64, i32)>,
}

/// The headless backend's tablet and pen, driven over IPC.
pub fn synthetic_tablet() -> TabletDescriptor {
    TabletDescriptor {
        name: "ghostcomp synthetic tablet".into(),
        usb_id: None,
        syspath: None,
    }
}

/// The synthetic tablet's pen: pressure and tilt.
pub fn synthetic_pen() -> TabletToolDescriptor {
    TabletToolDescriptor {
        tool_type: TabletToolType::Pen,
        hardware_serial: 1,
        hardware_id_wacom: 0,
        capabilities: TabletToolCapabilities::PRESSURE | TabletToolCapabilities::TILT,
    }
}

impl Ghost {
    /// A libinput device came or went: tablets are announced to clients.
    pub fn tablet_device_changed<D: Device>(&mut self, device: &D, added: bool) {
        if !device.has_capability(DeviceCapability::TabletTool) {
            return;
        }
        let tablet = TabletDescriptor::from(device);
        tracing::info!(name = tablet.name, added, "drawing tablet");
        let seat = self.seat.tablet_seat();
        if added {
            seat.add_tablet::<Ghost>(&self.display_handle, &tablet);
        } else {
            seat.remove_tablet(&tablet);
            if seat.count_tablets() == 0 {
                seat.clear_tools();
            }
        }
    }

    fn tablet_position<B: InputBackend, E: AbsolutePositionEvent<B>>(
        &self,
        event: &E,
    ) -> Option<Point<f64, Logical>> {
        // The tablet's area maps onto the output the pointer is on.
        let pointer = self.seat.get_pointer()?.current_location();
        let output = self
            .space
            .output_under(pointer)
            .next()
            .or_else(|| self.space.outputs().next())?;
        let geo = self.space.output_geometry(output)?;
        Some(event.position_transformed(geo.size) + geo.loc.to_f64())
    }

    /// A tool moved or changed an axis (backend event).
    pub fn tablet_tool_axis<B: InputBackend, E: TabletToolEvent<B> + Event<B>>(
        &mut self,
        event: E,
    ) {
        let Some(pos) = self.tablet_position(&event) else {
            return;
        };
        let axes = ToolAxes {
            pressure: event.pressure_has_changed().then(|| event.pressure()),
            tilt: (event.tilt_x_has_changed() || event.tilt_y_has_changed()).then(|| event.tilt()),
            distance: event.distance_has_changed().then(|| event.distance()),
            rotation: event.rotation_has_changed().then(|| event.rotation()),
            slider: event.slider_has_changed().then(|| event.slider_position()),
            wheel: event
                .wheel_has_changed()
                .then(|| (event.wheel_delta(), event.wheel_delta_discrete())),
        };
        let tablet = TabletDescriptor::from(&event.device());
        self.tablet_tool_at(&tablet, &event.tool(), pos, axes, event.time_msec());
    }

    /// A tool came near or left (backend event).
    pub fn tablet_tool_proximity<B: InputBackend>(&mut self, event: B::TabletToolProximityEvent) {
        let tablet = TabletDescriptor::from(&event.device());
        match event.state() {
            ProximityState::In => {
                if let Some(pos) = self.tablet_position(&event) {
                    let axes = ToolAxes::default();
                    self.tablet_tool_at(&tablet, &event.tool(), pos, axes, event.time_msec());
                }
            }
            ProximityState::Out => self.tablet_tool_out(&event.tool(), event.time_msec()),
        }
    }

    /// A tool touched the tablet or lifted (backend event).
    pub fn tablet_tool_tip<B: InputBackend>(&mut self, event: B::TabletToolTipEvent) {
        let down = event.tip_state() == TabletToolTipState::Down;
        self.tablet_tip(&event.tool(), down, event.time_msec());
    }

    /// A tool's button (backend event).
    pub fn tablet_tool_button<B: InputBackend>(&mut self, event: B::TabletToolButtonEvent) {
        if let Some(tool) = self.seat.tablet_seat().get_tool(&event.tool()) {
            let serial = SERIAL_COUNTER.next_serial();
            tool.button(
                event.button(),
                event.button_state(),
                serial,
                event.time_msec(),
            );
        }
    }

    /// The tool `tool` of `tablet` is at `pos` (global) with `axes`: it comes into
    /// proximity of the surface there (or moves over it), and the pointer follows.
    pub fn tablet_tool_at(
        &mut self,
        tablet: &TabletDescriptor,
        tool: &TabletToolDescriptor,
        pos: Point<f64, Logical>,
        axes: ToolAxes,
        time: u32,
    ) {
        let dh = self.display_handle.clone();
        let seat = self.seat.tablet_seat();
        let Some(tablet) = seat.get_tablet(tablet) else {
            return;
        };
        let handle = seat.add_tool::<Ghost>(self, &dh, tool);
        // The pointer follows the pen as a mouse moved there would.
        self.pointer_motion_to(pos, time);
        if let Some(p) = axes.pressure {
            handle.pressure(p);
        }
        if let Some(t) = axes.tilt {
            handle.tilt(t);
        }
        if let Some(d) = axes.distance {
            handle.distance(d);
        }
        if let Some(r) = axes.rotation {
            handle.rotation(r);
        }
        if let Some(s) = axes.slider {
            handle.slider_position(s);
        }
        if let Some((degrees, clicks)) = axes.wheel {
            handle.wheel(degrees, clicks);
        }
        let under = self.surface_under(pos);
        handle.motion(pos, under, &tablet, SERIAL_COUNTER.next_serial(), time);
        self.queue_cursor_redraw();
    }

    /// The tool left the tablet's range.
    pub fn tablet_tool_out(&mut self, tool: &TabletToolDescriptor, time: u32) {
        if let Some(handle) = self.seat.tablet_seat().get_tool(tool) {
            handle.proximity_out(time);
        }
    }

    /// The tool touched down or lifted; touching focuses the window under it. Over a
    /// program that never asked for tablets, the pen's touch is a left click.
    pub fn tablet_tip(&mut self, tool: &TabletToolDescriptor, down: bool, time: u32) {
        let Some(handle) = self.seat.tablet_seat().get_tool(tool) else {
            return;
        };
        let pos = self.seat.get_pointer().map(|p| p.current_location());
        let under = pos.and_then(|p| self.surface_under(p));
        let speaks_tablet = under
            .as_ref()
            .and_then(|(s, _)| s.client())
            .is_some_and(|c| self.tablet_clients.contains(&c.id()));
        if under.is_some() && !speaks_tablet {
            let state = if down {
                ButtonState::Pressed
            } else {
                ButtonState::Released
            };
            self.pointer_button(crate::input::BTN_LEFT, state, time);
            return;
        }
        if down {
            if let Some(pos) = self.seat.get_pointer().map(|p| p.current_location()) {
                if let Some((window, _)) =
                    self.space.element_under(pos).map(|(w, l)| (w.clone(), l))
                {
                    self.focus_window(&window);
                }
            }
            handle.tip_down(SERIAL_COUNTER.next_serial(), time);
        } else {
            handle.tip_up(time);
        }
    }

    /// A tool's button pressed or released (synthetic input).
    pub fn tablet_button(
        &mut self,
        tool: &TabletToolDescriptor,
        button: u32,
        pressed: bool,
        time: u32,
    ) {
        if let Some(handle) = self.seat.tablet_seat().get_tool(tool) {
            let state = if pressed {
                ButtonState::Pressed
            } else {
                ButtonState::Released
            };
            handle.button(button, state, SERIAL_COUNTER.next_serial(), time);
        }
    }
}

impl Dispatch<ZwpTabletManagerV2, ()> for Ghost {
    fn request(
        state: &mut Ghost,
        client: &Client,
        manager: &ZwpTabletManagerV2,
        request: zwp_tablet_manager_v2::Request,
        data: &(),
        dh: &DisplayHandle,
        data_init: &mut DataInit<'_, Ghost>,
    ) {
        // A client that asks for the seat's tablets takes pen events as such; the rest
        // get a pointer's.
        if let zwp_tablet_manager_v2::Request::GetTabletSeat { .. } = &request {
            state
                .tablet_clients
                .retain(|id| dh.backend_handle().get_client_data(id.clone()).is_ok());
            if !state.tablet_clients.contains(&client.id()) {
                state.tablet_clients.push(client.id());
            }
        }
        <TabletManagerState as Dispatch<ZwpTabletManagerV2, (), Ghost>>::request(
            state, client, manager, request, data, dh, data_init,
        );
    }
}

delegate_global_dispatch!(Ghost: [ZwpTabletManagerV2: ()] => TabletManagerState);
delegate_dispatch!(Ghost: [ZwpTabletSeatV2: TabletSeatUserData] => TabletManagerState);
delegate_dispatch!(Ghost: [ZwpTabletToolV2: TabletToolUserData] => TabletManagerState);
delegate_dispatch!(Ghost: [ZwpTabletV2: TabletUserData] => TabletManagerState);
