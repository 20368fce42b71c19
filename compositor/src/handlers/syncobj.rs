//! linux-drm-syncobj-v1 (explicit sync): a client attaches a buffer with an acquire
//! point (the buffer may be read once it signals) and a release point (signalled once
//! the compositor is done with it). smithay implements the protocol and signals the
//! release point when the last reference to the buffer goes, which on KMS is after the
//! flip that took it off a plane or the frame that no longer composites it; this file
//! offers the global where the device has timelines and holds each content update back
//! until its acquire point signals, without blocking the loop: a client whose point
//! never signals stalls only its own surface.

use std::{os::fd::OwnedFd, path::PathBuf};

use smithay::{
    backend::drm::DrmDeviceFd,
    delegate_drm_syncobj,
    reexports::{
        drm::{Device as _, DriverCapability},
        wayland_server::{protocol::wl_surface::WlSurface, Resource},
    },
    utils::DeviceFd,
    wayland::{
        compositor::{add_blocker, add_pre_commit_hook, with_states},
        drm_syncobj::{
            supports_syncobj_eventfd, DrmSyncobjCachedState, DrmSyncobjHandler, DrmSyncobjState,
        },
    },
};
use tracing::{info, warn};

use crate::state::Ghost;

delegate_drm_syncobj!(Ghost);

impl DrmSyncobjHandler for Ghost {
    fn drm_syncobj_state(&mut self) -> Option<&mut DrmSyncobjState> {
        self.syncobj_state.as_mut()
    }
}

/// A device that imports clients' timelines: the first of `render_nodes` (the display
/// GPU's own first) with syncobj timelines and eventfd waits. A render node, never the
/// display node itself: smithay's device wrapper gives up DRM master when dropped,
/// which would take the display from us. `own_allowed` is the quirk table's word on
/// the display GPU's release, which applies to its own node (the first).
pub fn import_device(render_nodes: &[PathBuf], own_allowed: bool) -> Option<DrmDeviceFd> {
    render_nodes.iter().enumerate().find_map(|(i, path)| {
        if i == 0 && !own_allowed {
            return None;
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .ok()?;
        let device = DrmDeviceFd::new(DeviceFd::from(OwnedFd::from(file)));
        let timelines = device
            .get_driver_capability(DriverCapability::TimelineSyncObj)
            .is_ok_and(|v| v == 1);
        (timelines && supports_syncobj_eventfd(&device)).then(|| {
            info!(node = %path.display(), "clients' timelines are imported through this render node");
            device
        })
    })
}

impl Ghost {
    /// Offers linux-drm-syncobj-v1 through `device`.
    pub fn offer_explicit_sync(&mut self, device: DrmDeviceFd) {
        if self.syncobj_state.is_some() {
            return;
        }
        info!("explicit sync (linux-drm-syncobj-v1) offered");
        self.syncobj_state = Some(DrmSyncobjState::new::<Self>(&self.display_handle, device));
    }

    /// Holds `surface`'s content updates that carry an acquire point until it signals.
    pub fn watch_acquire_points(&mut self, surface: &WlSurface) {
        add_pre_commit_hook::<Self, _>(surface, |state, _dh, surface| {
            let acquire = with_states(surface, |states| {
                states
                    .cached_state
                    .get::<DrmSyncobjCachedState>()
                    .pending()
                    .acquire_point
                    .clone()
            });
            let Some(point) = acquire else {
                return;
            };
            let Some(client) = surface.client() else {
                return;
            };
            match point.generate_blocker() {
                Ok((blocker, source)) => {
                    let inserted = state.loop_handle.insert_source(source, move |_, _, state| {
                        let dh = state.display_handle.clone();
                        if let Some(client_state) = crate::state::compositor_client_state(&client) {
                            client_state.blocker_cleared(state, &dh);
                        }
                        Ok(())
                    });
                    match inserted {
                        Ok(_) => add_blocker(surface, blocker),
                        Err(err) => warn!(%err, "cannot wait for an acquire point"),
                    }
                }
                Err(err) => warn!(%err, "cannot wait for an acquire point"),
            }
        });
    }
}
