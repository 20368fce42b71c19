//! `ghostnv-backend` is the GPU/driver layer: device discovery, a plain-data model of a
//! KMS device (CRTCs, connectors, planes, properties, formats, caps), atomic commits, GBM
//! allocation, fences, NVIDIA specifics and encoder/telemetry probes, plus a simulated
//! device for tests. Everything above it (outputs, plane assignment, capture) reads the
//! device through the plain-data [`DeviceModel`], so the same logic runs against real
//! hardware and against a description of hardware we do not have.
//!
//! Today it holds GPU discovery from sysfs ([`discover`]), framebuffers over dumb,
//! client ([`prime`]) and GBM ([`framebuffer`]) buffers, the device model with its
//! loaders (`drm_info -j` JSON, and the `drm_info` text dumps through [`drm_info_text`]),
//! property kinds, the simulated device that checks and records atomic requests, the
//! driver quirk table, and GPU telemetry (NVML and sysfs/hwmon, [`telemetry`]).

pub mod commit;
pub mod cuda;
pub mod device;
pub mod discover;
pub mod drm_info_text;
pub mod framebuffer;
pub mod hdr_blob;
pub mod model;
pub mod prime;
pub mod property;
pub mod quirks;
pub mod sim;
pub mod telemetry;
pub mod version;

pub use model::{
    connector_type_name, Connection, ConnectorModel, CrtcModel, DeviceModel, ModeInfo, ModelError,
    PlaneKind, PlaneModel, Properties, CONNECTOR_WRITEBACK,
};
pub use property::{Property, PropertyKind};
pub use version::DriverVersion;

/// DRM_FORMAT_MOD_LINEAR.
pub const MODIFIER_LINEAR: u64 = 0;
/// DRM_FORMAT_MOD_INVALID: "implicit", the driver picks.
pub const MODIFIER_INVALID: u64 = 0x00ff_ffff_ffff_ffff;
