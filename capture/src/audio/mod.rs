//! The PipeWire audio glue: the clean microphone (`clean_mic`, the voice chain as a
//! source) and the sound that goes with a screen share (`share_audio`). Each holds its
//! own connection on a thread of its own; `connection` is what they share.

pub mod clean_mic;
mod connection;
pub mod share_audio;
