//! Encoding what leaves the screen, over FFmpeg's libavcodec. Today this finds which
//! encoder backend the machine really has ([`probe`]): NVIDIA's NVENC, VA-API, or
//! software (libx264), each tried by opening a small encoding session, in the order the
//! config's `[capture] encoders` gives; the recorder, instant replay and streaming out
//! build on the backend it picks.

mod log;
pub mod probe;

pub use probe::{pick, probe, Backend, Probe};
