//! Displays coming and going. Where a udev daemon runs, its events arrive through
//! smithay's udev backend; where none does (a minimal system, a container, the test
//! VM), the kernel's own uevents are read from netlink, so a display plugged in or
//! forced off through the connector's sysfs `status` is still noticed.

use smithay::{
    backend::udev::{UdevBackend, UdevEvent},
    reexports::calloop::{generic::Generic, Interest, Mode as FdMode, PostAction},
};
use tracing::{info, warn};

use crate::state::Ghost;

/// Watches for display changes on `seat`; `changed` runs for each.
pub fn watch(state: &mut Ghost, seat: &str, changed: fn(&mut Ghost)) {
    if super::input::udev_daemon_running() {
        match UdevBackend::new(seat) {
            Ok(udev) => {
                let token = state
                    .loop_handle
                    .insert_source(udev, move |event, _, state| {
                        if let UdevEvent::Changed { .. } | UdevEvent::Added { .. } = event {
                            changed(state);
                        }
                    });
                if let Err(err) = token {
                    warn!(%err, "display hotplug will not be seen");
                }
            }
            Err(err) => warn!(%err, "no udev monitor: display hotplug will not be seen"),
        }
        return;
    }
    let socket = udev::MonitorBuilder::new_kernel()
        .and_then(|b| b.match_subsystem("drm"))
        .and_then(|b| b.listen());
    let socket = match socket {
        Ok(socket) => socket,
        Err(err) => {
            warn!(%err, "no kernel uevents: display hotplug will not be seen");
            return;
        }
    };
    info!("no udev daemon: display hotplug from the kernel's uevents");
    let token = state.loop_handle.insert_source(
        Generic::new(socket, Interest::READ, FdMode::Level),
        move |_, socket, state| {
            // Every event waiting is read; one rescan answers them all.
            let events = socket.iter().count();
            if events > 0 {
                changed(state);
            }
            Ok(PostAction::Continue)
        },
    );
    if let Err(err) = token {
        warn!(%err, "display hotplug will not be seen");
    }
}
