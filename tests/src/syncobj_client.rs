//! The client side of linux-drm-syncobj-v1 for tests: a timeline made on a DRM device
//! the client opened (as a GPU driver makes one), imported into the compositor, with
//! points the test signals and reads itself.

use std::{
    fs::File,
    os::fd::{AsFd, FromRawFd, OwnedFd},
    path::Path,
};

use anyhow::{Context, Result};
use wayland_client::{delegate_noop, protocol::wl_surface::WlSurface};
use wayland_protocols::wp::linux_drm_syncobj::v1::client::{
    wp_linux_drm_syncobj_manager_v1::WpLinuxDrmSyncobjManagerV1,
    wp_linux_drm_syncobj_surface_v1::WpLinuxDrmSyncobjSurfaceV1,
    wp_linux_drm_syncobj_timeline_v1::WpLinuxDrmSyncobjTimelineV1,
};

use crate::client::{State, TestClient};

delegate_noop!(State: ignore WpLinuxDrmSyncobjManagerV1);
delegate_noop!(State: ignore WpLinuxDrmSyncobjSurfaceV1);
delegate_noop!(State: ignore WpLinuxDrmSyncobjTimelineV1);

/// A DRM timeline syncobj of the client's own device, and its Wayland object.
pub struct Timeline {
    device: File,
    handle: u32,
    /// The imported timeline.
    pub object: WpLinuxDrmSyncobjTimelineV1,
}

impl Timeline {
    /// Signals `point` from the client (what a GPU does when it finishes drawing).
    pub fn signal(&self, point: u64) -> Result<()> {
        drm_ffi::syncobj::timeline_signal(self.device.as_fd(), &[self.handle], &[point])
            .context("signalling a timeline point")?;
        Ok(())
    }

    /// The highest point signalled so far.
    pub fn signalled(&self) -> Result<u64> {
        let mut points = [0u64];
        drm_ffi::syncobj::query(self.device.as_fd(), &[self.handle], &mut points, false)
            .context("querying the timeline")?;
        Ok(points[0])
    }
}

impl Drop for Timeline {
    fn drop(&mut self) {
        self.object.destroy();
        let _ = drm_ffi::syncobj::destroy(self.device.as_fd(), self.handle);
    }
}

impl TestClient {
    /// The explicit-sync manager.
    pub fn syncobj_manager(&mut self) -> Result<WpLinuxDrmSyncobjManagerV1> {
        self.bind(1..=1, ())
    }

    /// A new timeline on `node` (a DRM device with syncobj timelines), imported.
    pub fn timeline(
        &mut self,
        manager: &WpLinuxDrmSyncobjManagerV1,
        node: &Path,
    ) -> Result<Timeline> {
        let device = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(node)
            .with_context(|| format!("opening {}", node.display()))?;
        let handle = drm_ffi::syncobj::create(device.as_fd(), false)
            .context("creating a syncobj")?
            .handle;
        let exported = drm_ffi::syncobj::handle_to_fd(device.as_fd(), handle, false)
            .context("exporting the syncobj")?;
        // SAFETY: the kernel just made this file descriptor for us and nothing else
        // owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(exported.fd) };
        let object = manager.import_timeline(fd.as_fd(), &self.qh(), ());
        self.roundtrip()?;
        Ok(Timeline {
            device,
            handle,
            object,
        })
    }

    /// Imports `fd` as a timeline whatever it is (a test of the compositor's checks).
    pub fn import_any(
        &mut self,
        manager: &WpLinuxDrmSyncobjManagerV1,
        fd: std::os::fd::BorrowedFd<'_>,
    ) {
        let _ = manager.import_timeline(fd, &self.qh(), ());
    }

    /// The explicit-sync object of `surface`.
    pub fn syncobj_surface(
        &mut self,
        manager: &WpLinuxDrmSyncobjManagerV1,
        surface: &WlSurface,
    ) -> WpLinuxDrmSyncobjSurfaceV1 {
        manager.get_surface(surface, &self.qh(), ())
    }
}

/// Sets the acquire and release points of `surface`'s next commit.
pub fn set_points(
    surface: &WpLinuxDrmSyncobjSurfaceV1,
    timeline: &Timeline,
    acquire: u64,
    release: u64,
) {
    let split = |p: u64| ((p >> 32) as u32, p as u32);
    let (hi, lo) = split(acquire);
    surface.set_acquire_point(&timeline.object, hi, lo);
    let (hi, lo) = split(release);
    surface.set_release_point(&timeline.object, hi, lo);
}
