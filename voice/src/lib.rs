//! `ghost-voice` is the voice DSP of ghostcomp's clean microphone: 48 kHz mono samples in,
//! cleaned samples out, in 10 ms frames, knowing nothing of PipeWire or files. The chain
//! is noise suppression, with a high-pass before it and automatic gain control (which
//! only moves while someone speaks) after it where asked. Echo cancellation and a
//! quality suppression mode come next; the light mode here is RNNoise (nnnoiseless).

pub mod agc;
pub mod chain;
pub mod highpass;
pub mod metrics;
pub mod wav;

pub use chain::{Chain, Mode, Options};

/// Samples a second everywhere in the chain.
pub const RATE: u32 = 48_000;
/// Samples in one 10 ms frame.
pub const FRAME: usize = 480;
