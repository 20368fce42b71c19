//! Recording, instant replay and streaming out: encoding jobs (`ghost_capture::encode`)
//! fed with the pictures the compositor draws. Each job shows an output, a window or a
//! region, like a cast; windows blocked out of captures are black in it; an HDR output
//! records its PQ signal as 10-bit. The compositor reads a picture after each repaint of
//! the source and offers it; the job's thread encodes, keeps a constant frame rate, and
//! writes (a file, the replay ring, a media server). Stopping and saving run on threads
//! of their own, so the screen never waits for a file to close.

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use ghost_capture::encode::{
    audio::AudioSource, Backend, Codec, Destination, EncodeJob, JobSpec, JobStatus, Picture, Rate,
    Signal, VideoSettings,
};
use ghost_config::{Encoder, VideoCodec};
use ghost_hdr::{
    metadata::{InfoframeEotf, StaticMetadata},
    Transfer,
};
use serde_json::{json, Value};
use smithay::output::Output;

use super::CastSource;
use crate::{backend::Captured, backend::Shows, state::Ghost};

/// What an encoding job is for; one of each at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `msg record start`, the record binding: a file.
    Record,
    /// `[capture] replay_seconds`: the ring `msg replay save` writes out.
    Replay,
    /// `msg stream start`: a media server.
    Stream,
}

impl Purpose {
    /// How messages and logs name it.
    pub fn name(self) -> &'static str {
        match self {
            Purpose::Record => "recording",
            Purpose::Replay => "replay buffer",
            Purpose::Stream => "stream",
        }
    }
}

struct Running {
    purpose: Purpose,
    job: EncodeJob,
    source: CastSource,
    /// The file or URL ("memory" for the replay ring).
    target: String,
    cursor: bool,
    hdr: bool,
    started: Duration,
    fps: u32,
    conversion: Conversion,
}

/// Where a job's pictures become Y'CbCr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conversion {
    /// Not known yet: the renderer is asked to pack the first picture.
    Untried,
    /// Packed by the renderer (GLES), read back at 12 or 24 bits a pixel.
    Gpu,
    /// Read as RGB and converted by the encoder's thread (pixman, regions, or packing
    /// failed once).
    Cpu,
}

/// The running encoding jobs.
#[derive(Default)]
pub struct Recordings {
    jobs: Vec<Running>,
    /// The replay ring could not start with this config; not tried again until it
    /// changes.
    replay_refused: bool,
}

impl Recordings {
    /// Whether anything records the screen (the on-screen indicator shows then).
    pub fn active(&self) -> bool {
        !self.jobs.is_empty()
    }
}

/// The encoder backends of `[capture] encoders`, in order.
pub fn encoder_order(config: &ghost_config::CaptureConfig) -> Vec<Backend> {
    config
        .encoders
        .iter()
        .map(|e| match e {
            Encoder::Nvenc => Backend::Nvenc,
            Encoder::Vaapi => Backend::Vaapi,
            Encoder::Software => Backend::Software,
        })
        .collect()
}

/// How an output of this description records: PQ outputs as HDR10 with their
/// mastering display, everything else as BT.709 SDR.
fn signal_of(output: &Output) -> Signal {
    let (description, _) = crate::protocols::color_management::output_description(output);
    if description.transfer != Transfer::Pq {
        return Signal::Sdr;
    }
    let (min, max) = description
        .mastering
        .luminance
        .unwrap_or((description.luminances.min, description.luminances.max));
    Signal::Pq(StaticMetadata {
        eotf: InfoframeEotf::Pq,
        mastering: description
            .mastering
            .primaries
            .unwrap_or(description.primaries),
        max_mastering_luminance: max,
        min_mastering_luminance: min,
        max_cll: description.max_cll.unwrap_or(max),
        max_fall: description.max_fall.unwrap_or(0.0),
    })
}

/// Where the record binding and replay saves write, named by the time.
pub fn recording_path(dir: Option<&str>, prefix: &str) -> PathBuf {
    let dir = dir
        .map(|d| match d.strip_prefix("~/") {
            Some(rest) => std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default()
                .join(rest),
            None => PathBuf::from(d),
        })
        .or_else(|| std::env::var_os("XDG_VIDEOS_DIR").map(PathBuf::from))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join("Videos")))
        .unwrap_or_else(std::env::temp_dir);
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    dir.join(format!("{prefix}-{secs}.mp4"))
}

impl Ghost {
    /// The settings `purpose` encodes with, from `[capture]`.
    fn video_settings(&self, purpose: Purpose, fps: u32) -> VideoSettings {
        let c = &self.config.capture;
        let codec = match c.codec {
            VideoCodec::H264 => Codec::H264,
            VideoCodec::Hevc => Codec::Hevc,
            VideoCodec::Av1 => Codec::Av1,
        };
        let stream = purpose == Purpose::Stream;
        let rate = match (stream, c.bitrate_kbps) {
            (true, _) => Rate::Bitrate(c.stream_bitrate_kbps),
            (false, 0) => Rate::Quality(c.quality.clamp(1, 100) as u8),
            (false, kbps) => Rate::Bitrate(kbps.max(100)),
        };
        VideoSettings {
            codec,
            ten_bit: false,
            rate,
            gop: ((c.keyframe_interval * f64::from(fps)).round() as u32).max(1),
            b_frames: c.b_frames && !stream,
            low_latency: stream,
            fps,
        }
    }

    /// Starts a job of `purpose` showing `source`, going to `destination`.
    pub fn start_encoding(
        &mut self,
        purpose: Purpose,
        source: CastSource,
        destination: Destination,
        cursor: bool,
        audio: Vec<AudioSource>,
    ) -> anyhow::Result<Value> {
        if let Some(r) = self.recordings.jobs.iter().find(|r| r.purpose == purpose) {
            anyhow::bail!("a {} is already running ({})", purpose.name(), r.target);
        }
        let (output, _) = self
            .locate_cast(&source)
            .with_context(|| format!("nothing to record: {source:?} is not shown"))?;
        let refresh = output
            .current_mode()
            .map_or(60, |m| ((m.refresh + 500) / 1000).max(1) as u32);
        let fps = refresh.min(self.config.capture.max_fps).max(1);
        let signal = signal_of(&output);
        let target = match &destination {
            Destination::File(path) => {
                if !path.is_absolute() {
                    anyhow::bail!("the recording's path must be absolute");
                }
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("cannot make {}", dir.display()))?;
                }
                ghost_capture::encode::mux::Container::for_target(&path.to_string_lossy())
                    .map_err(anyhow::Error::msg)?;
                path.display().to_string()
            }
            Destination::Stream(url) => {
                ghost_capture::encode::mux::Container::for_target(url)
                    .map_err(anyhow::Error::msg)?;
                url.clone()
            }
            Destination::Replay { .. } => "memory".to_owned(),
        };
        let started = Duration::from(self.clock.now());
        let job = EncodeJob::start(JobSpec {
            backends: encoder_order(&self.config.capture),
            settings: self.video_settings(purpose, fps),
            signal,
            destination,
            start: started,
            audio,
        })
        .map_err(anyhow::Error::msg)?;
        tracing::info!(?source, target, fps, "{} started", purpose.name());
        let running = Running {
            purpose,
            job,
            source,
            target,
            cursor,
            hdr: matches!(signal, Signal::Pq(_)),
            started,
            fps,
            conversion: Conversion::Untried,
        };
        let reply = self.job_json(&running);
        self.recordings.jobs.push(running);
        self.queue_redraw_all();
        Ok(reply)
    }

    /// Ends the job of `purpose`; `done` gets its final status once its file is closed
    /// (on another thread). False when none runs.
    pub fn stop_encoding(
        &mut self,
        purpose: Purpose,
        done: impl FnOnce(Value) + Send + 'static,
    ) -> bool {
        let Some(at) = self
            .recordings
            .jobs
            .iter()
            .position(|r| r.purpose == purpose)
        else {
            return false;
        };
        let running = self.recordings.jobs.remove(at);
        let now = Duration::from(self.clock.now());
        let (target, source, fps) = (running.target, running.source.to_json(self), running.fps);
        tracing::info!(target, "{} stopping", purpose.name());
        let started = running.started;
        let job = running.job;
        std::thread::spawn(move || {
            let status = job.stop(now);
            done(status_json(
                &status,
                &target,
                source,
                fps,
                now.saturating_sub(started),
            ));
        });
        self.queue_redraw_all();
        true
    }

    /// Writes the replay ring's last `replay_seconds` to `path`; `done` gets the answer.
    pub fn save_replay(
        &mut self,
        path: PathBuf,
        done: impl FnOnce(anyhow::Result<Value>) + Send + 'static,
    ) -> anyhow::Result<()> {
        if !path.is_absolute() {
            anyhow::bail!("the replay's path must be absolute");
        }
        let running = self
            .recordings
            .jobs
            .iter()
            .find(|r| r.purpose == Purpose::Replay)
            .context("no replay buffer: set [capture] replay_seconds")?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot make {}", dir.display()))?;
        }
        let answer = running.job.save_replay(path);
        std::thread::spawn(move || {
            let result = match answer.recv() {
                Ok(Ok(saved)) => Ok(json!({
                    "path": saved.path,
                    "frames": saved.frames,
                    "seconds": saved.seconds,
                    "bytes": saved.bytes,
                })),
                Ok(Err(e)) => Err(anyhow::anyhow!(e)),
                Err(_) => Err(anyhow::anyhow!("the replay buffer ended")),
            };
            done(result);
        });
        Ok(())
    }

    /// Starts or stops the replay ring as `[capture] replay_seconds` says, on the output
    /// just drawn when none runs.
    fn keep_replay(&mut self, output: &Output) {
        let seconds = self.config.capture.replay_seconds;
        let running = self
            .recordings
            .jobs
            .iter()
            .any(|r| r.purpose == Purpose::Replay);
        if seconds == 0 {
            self.recordings.replay_refused = false;
            if running {
                self.stop_encoding(Purpose::Replay, |_| {});
            }
            return;
        }
        if running || self.recordings.replay_refused {
            return;
        }
        let destination = Destination::Replay {
            seconds,
            max_bytes: 1 << 30,
        };
        let cursor = self.config.capture.cursor_mode == ghost_config::CursorMode::Embedded;
        if let Err(e) = self.start_encoding(
            Purpose::Replay,
            CastSource::Output(output.name()),
            destination,
            cursor,
            Vec::new(),
        ) {
            tracing::warn!("the replay buffer cannot start: {e:#}");
            self.recordings.replay_refused = true;
        }
    }

    /// The replay ring follows a changed config: a new length restarts it.
    pub fn recordings_config_changed(&mut self) {
        self.recordings.replay_refused = false;
        self.stop_encoding(Purpose::Replay, |_| {});
        self.queue_redraw_all();
    }

    /// After `output` was drawn: offers a picture to each job that shows it.
    pub fn recordings_after_repaint(&mut self, output: &Output) {
        self.keep_replay(output);
        if self.recordings.jobs.is_empty() {
            return;
        }
        let now = Duration::from(self.clock.now());
        let mut gone = Vec::new();
        for index in 0..self.recordings.jobs.len() {
            let (source, cursor, hdr) = {
                let r = &self.recordings.jobs[index];
                (r.source.clone(), r.cursor, r.hdr)
            };
            let Some((at, window)) = self.locate_cast(&source) else {
                gone.push(self.recordings.jobs[index].purpose);
                continue;
            };
            if &at != output {
                continue;
            }
            if !self.recordings.jobs[index].job.wants_picture() {
                continue;
            }
            let shows = window.as_ref().map_or(Shows::Output, Shows::Window);
            let crop = Self::cast_crop(&source, &at);
            // The renderer packs the encoder's input itself where it can (GLES); a
            // region, or a picture that does not pack whole, is read as RGB.
            if crop.is_none() && self.recordings.jobs[index].conversion != Conversion::Cpu {
                let packed = self.capture_packed(&at, shows, hdr, cursor);
                let running = &mut self.recordings.jobs[index];
                match packed {
                    Some(Ok(yuv)) => {
                        running.conversion = Conversion::Gpu;
                        running.job.offer(Picture::Yuv(yuv), now);
                        continue;
                    }
                    Some(Err(e)) => {
                        tracing::info!("pictures are converted on the CPU: {e:#}");
                        running.conversion = Conversion::Cpu;
                    }
                    None => running.conversion = Conversion::Cpu,
                }
            }
            let picture = match self.capture(&at, shows, hdr, cursor) {
                Ok(Captured::Sdr(frame)) => match crop {
                    Some(crop) => frame.crop(crop).map(Picture::Sdr).map_err(Into::into),
                    None => Ok(Picture::Sdr(frame)),
                },
                Ok(Captured::Hdr(frame)) => match crop {
                    Some(crop) => frame.crop(crop).map(Picture::Hdr).map_err(Into::into),
                    None => Ok(Picture::Hdr(frame)),
                },
                Err(e) => Err(e),
            };
            match picture {
                Ok(picture) => {
                    self.recordings.jobs[index].job.offer(picture, now);
                }
                Err(e) => tracing::debug!(
                    "no picture for the {}: {e:#}",
                    self.recordings.jobs[index].purpose.name()
                ),
            }
        }
        for purpose in gone {
            tracing::info!("the {}'s source went away", purpose.name());
            self.stop_encoding(purpose, |_| {});
        }
    }

    fn job_json(&self, running: &Running) -> Value {
        let now = Duration::from(self.clock.now());
        let mut v = status_json(
            &running.job.status(),
            &running.target,
            running.source.to_json(self),
            running.fps,
            now.saturating_sub(running.started),
        );
        v["conversion"] = json!(match running.conversion {
            Conversion::Gpu => "gpu",
            Conversion::Untried | Conversion::Cpu => "cpu",
        });
        v
    }

    /// `msg record status` (and stream, replay): every job, or the one of `purpose`.
    pub fn recordings_json(&self, purpose: Purpose) -> Value {
        self.recordings
            .jobs
            .iter()
            .find(|r| r.purpose == purpose)
            .map_or(json!({"running": false}), |r| {
                let mut v = self.job_json(r);
                v["running"] = json!(true);
                v
            })
    }
}

/// A job's status as IPC shows it.
fn status_json(s: &JobStatus, target: &str, source: Value, fps: u32, elapsed: Duration) -> Value {
    let file_size = std::fs::metadata(target).ok().map(|m| m.len());
    let elapsed_s = elapsed.as_secs_f64();
    let mut v = json!({
        "target": target,
        "source": source,
        "backend": s.backend.map(Backend::name),
        "encoder": s.encoder,
        "refused": s.refused,
        "width": s.size.0,
        "height": s.size.1,
        "rate_fps": fps,
        "frames": s.frames,
        "duration_s": s.frames as f64 / f64::from(fps.max(1)),
        "elapsed_s": elapsed_s,
        "fps": if elapsed_s > 0.0 { s.frames as f64 / elapsed_s } else { 0.0 },
        "repeated": s.repeated,
        "dropped": s.dropped,
        "bytes": s.bytes,
        "file_bytes": file_size,
        "latency_ms": if s.latency_count > 0 {
            Some(s.latency_total.as_secs_f64() * 1000.0 / s.latency_count as f64)
        } else {
            None
        },
        "latency_max_ms": s.latency_max.as_secs_f64() * 1000.0,
        "ring_bytes": s.ring_bytes,
        "audio": s.audio.iter().map(|a| a.name()).collect::<Vec<_>>(),
        "audio_refused": s.audio_refused,
        "error": s.error,
    });
    if let Some(stream) = &s.stream {
        v["stream"] = json!({
            "connected": stream.connected,
            "reconnects": stream.reconnects,
            "bitrate_kbps": stream.bitrate_kbps,
            "skipped": stream.skipped,
            "sent_bytes": stream.sent,
            "error": stream.error,
        });
    }
    v
}

impl Ghost {
    /// The record binding: records the active output to the recordings folder, or
    /// stops the recording.
    pub fn record_toggle(&mut self) {
        if self.stop_encoding(Purpose::Record, |status| {
            tracing::info!(target = %status["target"], frames = %status["frames"], "recording saved");
        }) {
            return;
        }
        let Some(output) = self.active_output() else {
            return;
        };
        let path = recording_path(self.config.capture.recordings_dir.as_deref(), "ghostcomp");
        let cursor = self.config.capture.cursor_mode == ghost_config::CursorMode::Embedded;
        if let Err(e) = self.start_encoding(
            Purpose::Record,
            CastSource::Output(output.name()),
            Destination::File(path),
            cursor,
            Vec::new(),
        ) {
            tracing::warn!("cannot record: {e:#}");
        }
    }

    /// The save-replay binding: the replay buffer to the recordings folder.
    pub fn save_replay_binding(&mut self) {
        let path = recording_path(self.config.capture.recordings_dir.as_deref(), "replay");
        if let Err(e) = self.save_replay(path, |result| match result {
            Ok(saved) => tracing::info!(path = %saved["path"], "replay saved"),
            Err(e) => tracing::warn!("replay not saved: {e:#}"),
        }) {
            tracing::warn!("cannot save a replay: {e:#}");
        }
    }
}
