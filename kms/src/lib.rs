//! `ghost-kms` owns outputs on real hardware: EDID/DisplayID parsing, connector hotplug,
//! mode selection, the per-CRTC commit loop, and applying planes, HDR and VRR state in one
//! atomic commit. It reads devices through `ghostnv-backend`'s plain-data model and calls
//! the pure crates for decisions, so the logic here is tested against simulated devices.
//!
//! Today it holds display identification ([`display_info`]), CRTC allocation and
//! hotplug comparison ([`allocate`]), output setup with TEST_ONLY fallbacks
//! ([`setup`]), VRR_ENABLED and async-flip decisions ([`vrr`]), mode selection, and the
//! planes as the assigner sees them ([`planes`]).

pub mod allocate;
pub mod bandwidth;
pub mod client_planes;
pub mod cursor;
pub mod display_info;
pub mod hdr;
pub mod mode;
pub mod planes;
pub mod scanout;
pub mod setup;
pub mod timing;
pub mod vrr;
pub mod writeback;

pub use display_info::{DisplayInfo, OutputIdentity};
pub use mode::{select_mode, ModeRequest};
