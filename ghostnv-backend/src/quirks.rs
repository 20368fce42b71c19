//! Driver behaviour that the generic KMS rules do not tell, one row per driver, each
//! with its source. The simulated device checks requests with these; the real backend
//! uses them to avoid asking for what a driver will refuse anyway.

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
    /// Lowest driver version (major, minor) with atomic modesetting worth using.
    pub min_version: Option<(u32, u32)>,
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
        min_version: Some((515, 43)),
        source: "NVIDIA open-gpu-kernel-modules 595.45.04: no plane scaling on desktop heads \
                 (nvkms-evo3.c:7349-7367), cursor 32/64/128/256 square only (nvkms-evo3.c:5903-5972), \
                 overlay needs the primary (nvidia-drm hwflip:1812-1820), async flips primary-only \
                 (nvidia-drm-crtc.c:1578-1590), atomic + async since 515.43.04",
    },
    Quirks {
        driver: "vkms",
        plane_scaling: false,
        cursor_sizes: &[],
        overlay_needs_primary: false,
        async_primary_only: true,
        min_version: None,
        source: "Linux drivers/gpu/drm/vkms/vkms_plane.c: drm_atomic_helper_check_plane_state with \
                 DRM_PLANE_NO_SCALING for every plane",
    },
    Quirks {
        driver: "i915",
        plane_scaling: true,
        cursor_sizes: &[64, 128, 256],
        overlay_needs_primary: false,
        async_primary_only: true,
        min_version: None,
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
    min_version: None,
    source: "DRM core: drm_atomic_helper_check_plane_state without scaling is the safe default",
};

/// The quirks of `driver`.
pub fn for_driver(driver: &str) -> &'static Quirks {
    TABLE
        .iter()
        .find(|q| q.driver == driver)
        .unwrap_or(&GENERIC)
}
