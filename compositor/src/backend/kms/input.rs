//! Input devices through libinput, opened by the session. Where a udev daemon runs
//! (every normal system), libinput finds the seat's devices and their hotplugs itself;
//! without one (an initramfs, a container) the event nodes are added by path. New
//! pointers and touchpads get the `[input]` settings.

use std::{os::fd::OwnedFd, path::Path};

use smithay::{
    backend::{
        input::InputEvent,
        libinput::LibinputInputBackend,
        session::{libseat::LibSeatSession, Session},
    },
    reexports::{
        input::{self as libinput, AccelProfile, Libinput, LibinputInterface},
        rustix::fs::{fcntl_getfl, fcntl_setfl, OFlags},
    },
};
use tracing::{debug, info, warn};

use crate::state::Ghost;

/// Whether udev's daemon is there to tag devices (libinput ignores untagged ones).
pub(super) fn udev_daemon_running() -> bool {
    Path::new("/run/udev/control").exists()
}

/// Opens input devices through the session with the flags libinput asks for: libseat
/// opens them its own way (blocking, on some backends), and one blocking read of an
/// evdev node would stall the whole compositor.
struct SessionOpener(LibSeatSession);

impl LibinputInterface for SessionOpener {
    fn open_restricted(&mut self, path: &Path, flags: i32) -> Result<OwnedFd, i32> {
        let fd = self
            .0
            .open(path, OFlags::from_bits_truncate(flags as u32))
            .map_err(|err| {
                warn!(path = %path.display(), %err, "cannot open an input device");
                libc_eperm()
            })?;
        let wanted = OFlags::from_bits_truncate(flags as u32) & OFlags::NONBLOCK;
        if let Ok(current) = fcntl_getfl(&fd) {
            if let Err(err) = fcntl_setfl(&fd, current | wanted) {
                warn!(%err, "cannot make an input device non-blocking");
            }
        }
        Ok(fd)
    }

    fn close_restricted(&mut self, fd: OwnedFd) {
        if let Err(err) = self.0.close(fd) {
            debug!(%err, "closing an input device");
        }
    }
}

/// EPERM, what libinput expects when a device may not be opened.
fn libc_eperm() -> i32 {
    1
}

/// Creates the libinput context, adds the seat's devices and feeds their events to the
/// compositor.
pub fn start(state: &mut Ghost, session: &LibSeatSession) -> anyhow::Result<Libinput> {
    let interface = SessionOpener(session.clone());
    let mut context = if udev_daemon_running() {
        let mut context = Libinput::new_with_udev(interface);
        context
            .udev_assign_seat(&session.seat())
            .map_err(|()| anyhow::anyhow!("libinput cannot take seat {}", session.seat()))?;
        context
    } else {
        Libinput::new_from_path(interface)
    };
    if !udev_daemon_running() {
        add_event_nodes(&mut context);
    }
    // The devices found so far are announced now: their "added" events wait in
    // libinput's queue, which the event loop would read only at the first input event
    // (a tablet would stay unknown to clients until someone touched a key).
    if let Err(err) = context.dispatch() {
        warn!(%err, "libinput: reading the first devices failed");
    }
    let queued: Vec<libinput::Event> = (&mut context).collect();
    for event in queued {
        if let libinput::Event::Device(libinput::event::DeviceEvent::Added(added)) = event {
            use libinput::event::EventTrait;
            let mut device = added.device();
            configure(&mut device, &state.config.input);
            state.process_input_event(InputEvent::<LibinputInputBackend>::DeviceAdded { device });
        }
    }
    let backend = LibinputInputBackend::new(context.clone());
    state
        .loop_handle
        .insert_source(backend, |event, _, state| {
            if let InputEvent::DeviceAdded { device } = &event {
                let mut device = device.clone();
                configure(&mut device, &state.config.input);
            }
            state.process_input_event(event);
        })
        .map_err(|e| anyhow::anyhow!("cannot read input devices: {e}"))?;
    Ok(context)
}

/// Adds every /dev/input/event* node (the path backend has no enumeration).
fn add_event_nodes(context: &mut Libinput) {
    let Ok(entries) = std::fs::read_dir("/dev/input") else {
        warn!("no /dev/input: no keyboard or pointer");
        return;
    };
    let mut nodes: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("event"))
        })
        .collect();
    nodes.sort();
    for node in nodes {
        let Some(path) = node.to_str() else { continue };
        debug!(path, "adding input node");
        match context.path_add_device(path) {
            Some(device) => info!(path, name = device.name(), "input device"),
            None => debug!(path, "libinput did not take this node"),
        }
    }
}

/// Applies `[input]` (and its `[[input.device]]` overrides) to a new device.
pub fn configure(device: &mut libinput::Device, input: &ghost_config::InputConfig) {
    let name = device.name().to_owned();
    let over = input.device.iter().find(|d| d.name == name);
    let profile = over
        .and_then(|d| d.accel_profile)
        .unwrap_or(input.accel_profile);
    let speed = over
        .and_then(|d| d.accel_speed)
        .unwrap_or(input.accel_speed);
    let natural = over
        .and_then(|d| d.natural_scroll)
        .unwrap_or(input.natural_scroll);
    let tap = over
        .and_then(|d| d.tap_to_click)
        .unwrap_or(input.tap_to_click);
    if device.config_accel_is_available() {
        let profile = match profile {
            ghost_config::AccelProfile::Adaptive => AccelProfile::Adaptive,
            ghost_config::AccelProfile::Flat => AccelProfile::Flat,
        };
        if device.config_accel_set_profile(profile).is_err() {
            debug!(name, "acceleration profile not taken");
        }
        if device
            .config_accel_set_speed(speed.clamp(-1.0, 1.0))
            .is_err()
        {
            debug!(name, "pointer speed not taken");
        }
    }
    if device.config_scroll_has_natural_scroll()
        && device
            .config_scroll_set_natural_scroll_enabled(natural)
            .is_err()
    {
        debug!(name, "natural scrolling not taken");
    }
    if device.config_tap_finger_count() > 0 && device.config_tap_set_enabled(tap).is_err() {
        debug!(name, "tap to click not taken");
    }
}
