//! Driver behaviour that the generic KMS rules do not tell, one row per driver, each
//! with its source. The simulated device checks requests with these; the real backend
//! reads the same rows (through [`gates`]) to avoid asking for what a driver will refuse
//! anyway, and to leave out features the running release lacks.

use crate::{model::DeviceModel, version::DriverVersion};

/// What one driver allows beyond (or below) the generic rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Quirks {
    /// Driver name as DRM reports it.
    pub driver: &'static str,
    /// Planes (other than the cursor) may scale their source.
    pub plane_scaling: bool,
    /// Cursor framebuffers must be one of these square sizes (empty: any up to the cap).
    pub cursor_sizes: &'static [u32],
    /// An overlay may only be on while the primary of its CRTC is on.
    pub overlay_needs_primary: bool,
    /// Asynchronous (tearing) flips are allowed on the primary plane only.
    pub async_primary_only: bool,
    /// First release whose atomic modesetting is worth using (None: every release).
    pub atomic_since: Option<DriverVersion>,
    /// First release whose planes take `IN_FENCE_FD`; before it a fenced plane fails
    /// the commit, so the compositor waits for its GPU itself.
    pub in_fence_since: Option<DriverVersion>,
    /// First release with DRM syncobj timelines (what `linux-drm-syncobj-v1` needs).
    pub syncobj_since: Option<DriverVersion>,
    /// First release whose connector `HDR_OUTPUT_METADATA` and `Colorspace` work.
    pub hdr_connector_properties_since: Option<DriverVersion>,
    /// Where the release is read when DRM's version triple says nothing (0.0.0).
    pub module_version_file: Option<&'static str>,
    /// Where these facts come from.
    pub source: &'static str,
}

/// The table. Drivers not listed get [`GENERIC`].
pub const TABLE: &[Quirks] = &[
    Quirks {
        driver: "nvidia-drm",
        plane_scaling: false,
        cursor_sizes: &[32, 64, 128, 256],
        overlay_needs_primary: true,
        async_primary_only: true,
        atomic_since: Some(DriverVersion(515, 43, 4)),
        in_fence_since: Some(DriverVersion(560, 28, 3)),
        syncobj_since: Some(DriverVersion(555, 42, 2)),
        hdr_connector_properties_since: Some(DriverVersion(545, 23, 6)),
        module_version_file: Some("/sys/module/nvidia_drm/version"),
        source: "NVIDIA open-gpu-kernel-modules 595.45.04: no plane scaling on desktop heads \
                 (nvkms-evo3.c:7349-7367), cursor 32/64/128/256 square only (nvkms-evo3.c:5903-5972), \
                 overlay needs the primary (nvidia-drm hwflip:1812-1820), async flips primary-only \
                 (nvidia-drm-crtc.c:1578-1590), atomic + async since 515.43.04; first tags with the \
                 code: IN_FENCE_FD on desktop GPUs 560.28.03 (nvidia-drm-modeset.c:178-312; in \
                 555.58.02 nvidia-drm-crtc.c:398-401 fails a fenced plane), DRIVER_SYNCOBJ_TIMELINE \
                 555.42.02 (nvidia-drm-drv.c:1844-1851), connector HDR_OUTPUT_METADATA and \
                 Colorspace 545.23.06 (nvidia-drm-connector.c:584-608); DRM version 0.0.0 \
                 (nvidia-drm-drv.c:1920-1926)",
    },
    Quirks {
        driver: "vkms",
        plane_scaling: false,
        cursor_sizes: &[],
        overlay_needs_primary: false,
        async_primary_only: true,
        atomic_since: None,
        in_fence_since: None,
        syncobj_since: None,
        hdr_connector_properties_since: None,
        module_version_file: None,
        source: "Linux drivers/gpu/drm/vkms/vkms_plane.c: drm_atomic_helper_check_plane_state with \
                 DRM_PLANE_NO_SCALING for every plane",
    },
    Quirks {
        driver: "i915",
        plane_scaling: true,
        cursor_sizes: &[64, 128, 256],
        overlay_needs_primary: false,
        async_primary_only: true,
        atomic_since: None,
        in_fence_since: None,
        syncobj_since: None,
        hdr_connector_properties_since: None,
        module_version_file: None,
        source: "Linux drivers/gpu/drm/i915/display/intel_cursor.c (cursor 64/128/256 square on \
                 gen 4+), skl_scaler.c (pipe/plane scalers on universal planes)",
    },
];

/// Rules for drivers without a row: what the DRM core itself enforces.
pub const GENERIC: Quirks = Quirks {
    driver: "",
    plane_scaling: false,
    cursor_sizes: &[],
    overlay_needs_primary: false,
    async_primary_only: true,
    atomic_since: None,
    in_fence_since: None,
    syncobj_since: None,
    hdr_connector_properties_since: None,
    module_version_file: None,
    source: "DRM core: drm_atomic_helper_check_plane_state without scaling is the safe default; \
             before Linux 6.8 the core takes asynchronous commits for the primary plane only",
};

/// The quirks of `driver`.
pub fn for_driver(driver: &str) -> &'static Quirks {
    TABLE
        .iter()
        .find(|q| q.driver == driver)
        .unwrap_or(&GENERIC)
}

/// What the running driver release may be asked for: its row's version bounds read
/// against the release, together with the kernel's own caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gates {
    /// Atomic modesetting is usable (false: the release is older than the row allows).
    pub atomic: bool,
    /// A plane may carry the GPU's fence as `IN_FENCE_FD`.
    pub in_fence: bool,
    /// Syncobj timelines work (`DRM_CAP_SYNCOBJ_TIMELINE` and the release allow them).
    pub syncobj_timeline: bool,
    /// Connector HDR properties may be set.
    pub hdr_connector_properties: bool,
}

impl Quirks {
    /// The gates of this driver at `version`. A bounded feature of a release we cannot
    /// read stays off, since asking a driver for what it lacks fails whole commits;
    /// atomic itself is the exception: the kernel already agreed to it.
    pub fn gates(&self, version: Option<DriverVersion>) -> Gates {
        let since = |bound: Option<DriverVersion>| match (bound, version) {
            (None, _) => true,
            (Some(first), Some(v)) => v >= first,
            (Some(_), None) => false,
        };
        Gates {
            atomic: version.is_none() || since(self.atomic_since),
            in_fence: since(self.in_fence_since),
            syncobj_timeline: since(self.syncobj_since),
            hdr_connector_properties: since(self.hdr_connector_properties_since),
        }
    }
}

/// The gates of the device `model` describes.
pub fn gates(model: &DeviceModel) -> Gates {
    let mut gates = for_driver(&model.driver).gates(model.driver_version);
    gates.syncobj_timeline &= model.caps.get("SYNCOBJ_TIMELINE") == Some(&1);
    gates
}
