//! `ghost-kms` owns outputs on real hardware: EDID/DisplayID parsing, connector hotplug,
//! mode selection, the per-CRTC commit loop, and applying planes, HDR and VRR state in one
//! atomic commit. It reads devices through `ghostnv-backend`'s plain-data model and calls
//! the pure crates for decisions, so the logic here is tested against simulated devices.
//!
//! Today it holds mode selection: which of a connector's modes an output gets.

pub mod mode;

pub use mode::{select_mode, ModeRequest};
