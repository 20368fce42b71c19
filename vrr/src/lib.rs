//! `ghost-vrr` owns frame pacing: when an output should render and when its frame is
//! presented. It is pure: callers pass timestamps in (nanoseconds on one monotonic clock)
//! and get decisions out, so every policy is tested with a fake clock.
//!
//! - [`cycle`]: fixed refresh cycles and the phase-locked frame clock (headless and
//!   nested backends pace their virtual vblanks with it);
//! - [`predict`]: render-time prediction from measured durations, with a margin that
//!   grows when deadlines are missed;
//! - [`vrr`]: variable refresh pacing: present client frames as soon as they are ready
//!   within the panel's range, compositor-side low-framerate compensation, and cursor
//!   updates that ride client frames instead of driving the refresh;
//! - [`policy`]: when VRR is on (off / on / fullscreen / by content type);
//! - [`schedule`]: when a real output composites, combining the two: as late as the
//!   prediction allows at a fixed refresh, as the pacer says with VRR.

pub mod cycle;
pub mod policy;
pub mod predict;
pub mod schedule;
pub mod vrr;

pub use cycle::{FrameClock, RefreshCycle, RefreshError, NANOS_PER_SEC};
