//! `ghostnv-backend` is the GPU/driver layer: device discovery, a plain-data model of a
//! KMS device (CRTCs, connectors, planes, properties, formats, caps), atomic commits, GBM
//! allocation, fences, NVIDIA specifics and encoder/telemetry probes, plus a simulated
//! device for tests. Everything above it (outputs, plane assignment, capture) reads the
//! device through the plain-data [`DeviceModel`], so the same logic runs against real
//! hardware and against a description of hardware we do not have.
//!
//! Today it holds the device model and its loader from `drm_info -j` JSON.

pub mod model;

pub use model::{
    Connection, ConnectorModel, CrtcModel, DeviceModel, ModeInfo, ModelError, PlaneKind, PlaneModel,
};
