//! Encoding what leaves the screen, over FFmpeg's libavcodec: which encoder backend the
//! machine really has ([`probe`]: NVIDIA's NVENC, VA-API, or software), each tried by
//! opening a session in the order the config's `[capture] encoders` gives; sessions
//! that turn the compositor's pictures into H.264, HEVC (8 or 10 bit, PQ-tagged for HDR)
//! or AV1 ([`video`]); a constant frame rate out of pictures that come when the screen
//! changes ([`cfr`]); fragmented MP4 and Matroska files and RTMP/SRT streams
//! ([`mux`], [`stream`]); the instant-replay ring ([`ring`]); and the jobs that run it
//! all on threads of their own ([`job`]).

pub mod adapt;
pub mod audio;
pub mod cfr;
mod inbox;
pub mod job;
mod log;
pub mod mux;
mod options;
pub mod probe;
pub mod ring;
pub mod settings;
mod spec;
pub mod stream;
pub mod video;
mod yuv;

pub use job::{Destination, EncodeJob, JobSpec, JobStatus, SavedReplay, StreamStatus};
pub use probe::{pick, probe, Backend, Probe};
pub use settings::{Codec, Rate, Signal, VideoSettings};
pub use video::Picture;
