//! `ghost-voice` is the voice DSP of ghostcomp's clean microphone: 48 kHz mono samples in,
//! cleaned samples out, in 10 ms frames, knowing nothing of PipeWire or files. The chain
//! is noise suppression, with a high-pass before it and automatic gain control (which
//! only moves while someone speaks) after it where asked, and echo cancellation (WebRTC's
//! AEC3) against what the speakers play before it. Noise suppression has a light mode
//! (RNNoise, nnnoiseless) and a quality mode (RNNoise 0.2 with a per-bin estimator).

pub mod agc;
pub mod chain;
pub mod drift;
pub mod echo;
pub mod highpass;
pub mod lsa;
pub mod metrics;
pub mod quality;
pub mod rnnoise;
pub mod spectral;
pub mod wav;

pub use chain::{Chain, ChainError, Mode, Options};
pub use echo::{EchoCanceller, EchoStats};

/// Samples a second everywhere in the chain.
pub const RATE: u32 = 48_000;
/// Samples in one 10 ms frame.
pub const FRAME: usize = 480;
