//! What an encoding job is asked to do and how it reports: plain data shared by the
//! job's thread, the compositor and IPC.

use std::{path::PathBuf, time::Duration};

use super::{
    audio::AudioSource,
    probe::Backend,
    settings::{Signal, VideoSettings},
};

/// Where a job's packets go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A file: `.mp4` (fragmented) or `.mkv`.
    File(PathBuf),
    /// A media server: `rtmp://…` or `srt://…`.
    Stream(String),
    /// The replay ring: the last `seconds`, at most `max_bytes`.
    Replay {
        /// Seconds kept.
        seconds: u32,
        /// Memory bound.
        max_bytes: usize,
    },
}

/// What a job is asked to do.
#[derive(Debug, Clone)]
pub struct JobSpec {
    /// Backends to try, in order.
    pub backends: Vec<Backend>,
    /// Codec and rate.
    pub settings: VideoSettings,
    /// The pictures' colour.
    pub signal: Signal,
    /// Where it goes.
    pub destination: Destination,
    /// When the recording starts (the compositor's monotonic clock).
    pub start: Duration,
    /// Sound tracks (files and streams; the replay ring keeps pictures only).
    pub audio: Vec<AudioSource>,
}

/// How a job is doing.
#[derive(Debug, Clone, Default)]
pub struct JobStatus {
    /// The backend in use, once the first picture opened an encoder.
    pub backend: Option<Backend>,
    /// FFmpeg's encoder in use.
    pub encoder: Option<&'static str>,
    /// Why each backend tried before it was refused.
    pub refused: Vec<String>,
    /// The encoded size.
    pub size: (u32, u32),
    /// Frames encoded (pictures and repeats).
    pub frames: u64,
    /// Slots filled by repeating the picture before (the screen was still or late).
    pub repeated: u64,
    /// Pictures dropped: offered while the job was busy, or early for any slot.
    pub dropped: u64,
    /// Compressed bytes produced.
    pub bytes: u64,
    /// Sum and count of picture-to-packet delays, and the longest.
    pub latency_total: Duration,
    /// Pictures whose packet came out.
    pub latency_count: u64,
    /// The longest picture-to-packet delay.
    pub latency_max: Duration,
    /// Bytes held in the replay ring.
    pub ring_bytes: usize,
    /// Stream: connected now, reconnections, current bitrate (kbit/s), frames skipped.
    pub stream: Option<StreamStatus>,
    /// Sound tracks being recorded.
    pub audio: Vec<AudioSource>,
    /// Sound sources that could not be captured, with the reason.
    pub audio_refused: Vec<String>,
    /// Why the job stopped early.
    pub error: Option<String>,
    /// The job has ended.
    pub ended: bool,
}

/// The stream half of a job's status.
#[derive(Debug, Clone, Default)]
pub struct StreamStatus {
    /// A connection is open.
    pub connected: bool,
    /// Connections lost so far.
    pub reconnects: u32,
    /// The bitrate asked of the encoder now.
    pub bitrate_kbps: u32,
    /// Frames not sent (disconnected or too late).
    pub skipped: u64,
    /// Bytes sent.
    pub sent: u64,
    /// The last connection error.
    pub error: Option<String>,
}

/// A saved replay.
#[derive(Debug, Clone)]
pub struct SavedReplay {
    /// Where.
    pub path: PathBuf,
    /// Frames written.
    pub frames: u64,
    /// Seconds of video.
    pub seconds: f64,
    /// Bytes of compressed video.
    pub bytes: u64,
}
