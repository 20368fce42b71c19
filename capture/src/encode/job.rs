//! An encoding job: a thread that turns the compositor's pictures into a recording, a
//! replay ring or a stream. The compositor never waits for it: a picture left while the
//! job is still busy replaces the one waiting (which counts as dropped), and the job's
//! frame clock keeps the output at a constant rate by repeating pictures where the
//! screen was still.

use std::{
    collections::VecDeque,
    path::PathBuf,
    sync::{atomic::Ordering, mpsc, Arc, Mutex},
    thread,
    time::Duration,
};

use ffmpeg_next::Packet;

pub use super::spec::{Destination, JobSpec, JobStatus, SavedReplay, StreamStatus};
use super::{
    adapt::RateAdapter,
    audio::Tracks,
    cfr::{FrameClock, Slots},
    inbox::{Inbox, Taken},
    mux::{Container, Sink},
    ring::{Held, ReplayRing},
    settings::Rate,
    stream::Sender,
    video::{Picture, VideoEncoder},
};

/// Requests to a job, queued behind its picture.
enum Control {
    SaveReplay(PathBuf, mpsc::Sender<Result<SavedReplay, String>>),
    Stop(Duration),
}

/// A running job.
pub struct EncodeJob {
    inbox: Arc<Inbox<Picture, Control>>,
    status: Arc<Mutex<JobStatus>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl EncodeJob {
    /// Starts the job's thread. HDR pictures get 10-bit HEVC where H.264 was asked.
    pub fn start(mut spec: JobSpec) -> Result<EncodeJob, String> {
        spec.settings = spec.settings.for_signal(&spec.signal);
        let inbox: Arc<Inbox<Picture, Control>> = Arc::default();
        let status = Arc::new(Mutex::new(JobStatus::default()));
        let (shared, taken) = (status.clone(), inbox.clone());
        let thread = thread::Builder::new()
            .name("ghost-encode".into())
            .spawn(move || Worker::new(spec, shared).run(&taken))
            .map_err(|e| format!("no thread for encoding: {e}"))?;
        Ok(EncodeJob {
            inbox,
            status,
            thread: Some(thread),
        })
    }

    /// Leaves a picture drawn at `at` for the job; one it had no time to take yet is
    /// replaced (and counted as dropped). Never waits.
    pub fn offer(&self, picture: Picture, at: Duration) {
        if self.inbox.put_picture(picture, at) {
            self.with_status(|s| s.dropped += 1);
        }
    }

    /// Whether the job still takes pictures (read the screen only then).
    pub fn wants_picture(&self) -> bool {
        !self.status().ended
    }

    /// Asks for the replay ring to be written to `path`; the answer comes on the receiver.
    pub fn save_replay(&self, path: PathBuf) -> mpsc::Receiver<Result<SavedReplay, String>> {
        let (tx, rx) = mpsc::channel();
        if let Err(Control::SaveReplay(_, tx)) =
            self.inbox.put_control(Control::SaveReplay(path, tx))
        {
            let _ = tx.send(Err("the replay job has ended".into()));
        }
        rx
    }

    /// A copy of the status.
    pub fn status(&self) -> JobStatus {
        self.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn with_status(&self, f: impl FnOnce(&mut JobStatus)) {
        f(&mut self.status.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// Ends the job at `at` (the file gets its last frames and its index) and waits for
    /// it; returns the final status.
    pub fn stop(mut self, at: Duration) -> JobStatus {
        let _ = self.inbox.put_control(Control::Stop(at));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.status()
    }
}

enum Out {
    File(Option<Sink>),
    Ring(ReplayRing<Packet>),
    Stream(Option<Sender>, RateAdapter),
}

struct Worker {
    spec: JobSpec,
    status: Arc<Mutex<JobStatus>>,
    clock: FrameClock,
    encoder: Option<VideoEncoder>,
    out: Out,
    /// When each recent fresh picture was drawn, by slot, for latency.
    drawn: VecDeque<(u64, Duration)>,
    next_rate_check: Duration,
    tracks: Tracks,
}

/// The compositor's clock (CLOCK_MONOTONIC), which pictures are stamped with.
fn monotonic() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

impl Worker {
    fn new(spec: JobSpec, status: Arc<Mutex<JobStatus>>) -> Worker {
        let out = match &spec.destination {
            Destination::File(_) => Out::File(None),
            Destination::Replay { seconds, max_bytes } => Out::Ring(ReplayRing::new(
                u64::from(*seconds) * u64::from(spec.settings.fps),
                *max_bytes,
            )),
            Destination::Stream(_) => {
                let kbps = match spec.settings.rate {
                    Rate::Bitrate(k) => k,
                    Rate::Quality(_) => 6000,
                };
                Out::Stream(None, RateAdapter::new(kbps, spec.start))
            }
        };
        Worker {
            clock: FrameClock::new(spec.settings.fps, spec.start),
            next_rate_check: spec.start + Duration::from_secs(1),
            spec,
            status,
            encoder: None,
            out,
            drawn: VecDeque::new(),
            tracks: Tracks::default(),
        }
    }

    fn set(&self, f: impl FnOnce(&mut JobStatus)) {
        f(&mut self.status.lock().unwrap_or_else(|p| p.into_inner()));
    }

    fn run(mut self, inbox: &Inbox<Picture, Control>) {
        loop {
            // Before the first picture there is no clock to keep.
            let wait = self
                .encoder
                .as_ref()
                .map(|_| self.clock.next_deadline().saturating_sub(monotonic()));
            let result = match inbox.take(wait) {
                Taken::Timeout => {
                    let slots = self.clock.tick(monotonic());
                    tracing::trace!(now = ?monotonic(), ?slots, "tick");
                    self.place(slots, None)
                }
                Taken::Picture(picture, at) => self.picture(picture, at),
                Taken::Control(Control::SaveReplay(path, reply)) => {
                    let _ = reply.send(self.save_replay(path));
                    Ok(())
                }
                Taken::Control(Control::Stop(at)) => {
                    if let Err(err) = self.finish(at) {
                        self.set(|s| s.error = Some(err));
                    }
                    break;
                }
            };
            if let Err(err) = result {
                tracing::warn!("encoding stopped: {err}");
                self.set(|s| s.error = Some(err));
                break;
            }
            self.adapt_rate();
            if let Err(err) = self.pump_audio() {
                tracing::warn!("recording stopped: {err}");
                self.set(|s| s.error = Some(err));
                break;
            }
        }
        self.set(|s| s.ended = true);
        for control in inbox.close() {
            if let Control::SaveReplay(_, reply) = control {
                let _ = reply.send(Err("the replay job has ended".into()));
            }
        }
    }

    fn picture(&mut self, picture: Picture, at: Duration) -> Result<(), String> {
        if self.encoder.is_none() {
            self.open(picture.size())?;
        }
        let slots = self.clock.picture(at);
        tracing::trace!(?at, now = ?monotonic(), ?slots, "picture");
        if slots.picture.is_none() {
            self.set(|s| s.dropped += 1);
        }
        self.place(slots, Some((picture, at)))
    }

    fn open(&mut self, size: (u32, u32)) -> Result<(), String> {
        let container = match &self.spec.destination {
            Destination::File(path) => Container::for_target(&path.to_string_lossy())?,
            Destination::Stream(url) => Container::for_target(url)?,
            Destination::Replay { .. } => Container::FragmentedMp4,
        };
        let mut refused = Vec::new();
        for backend in &self.spec.backends {
            match VideoEncoder::open(
                *backend,
                &self.spec.settings,
                size,
                self.spec.signal,
                container.global_header(),
            ) {
                Ok(encoder) => {
                    let (name, size) = (encoder.name(), encoder.size());
                    tracing::info!(backend = backend.name(), encoder = name, ?size, "encoding");
                    self.set(|s| {
                        s.backend = Some(*backend);
                        s.encoder = Some(name);
                        s.size = size;
                        s.refused = refused.clone();
                    });
                    self.encoder = Some(encoder);
                    return self.open_output();
                }
                Err(err) => {
                    tracing::info!(backend = backend.name(), "encoder refused: {err}");
                    refused.push(format!("{}: {err}", backend.name()));
                }
            }
        }
        self.set(|s| s.refused = refused.clone());
        Err(format!("no encoder opens here: {}", refused.join("; ")))
    }

    fn open_output(&mut self) -> Result<(), String> {
        let Some(encoder) = &self.encoder else {
            return Ok(());
        };
        match (&mut self.out, &self.spec.destination) {
            (Out::File(sink), Destination::File(path)) => {
                self.tracks = Tracks::open(&self.spec.audio, self.spec.start, true);
                let (sources, refused) = (self.tracks.sources(), self.tracks.refused.clone());
                *sink = Some(Sink::open_with(
                    &path.to_string_lossy(),
                    encoder.parameters(),
                    encoder.time_base(),
                    &self.tracks.streams(),
                    &self.spec.signal,
                    Duration::from_secs(5),
                )?);
                self.set(|s| {
                    s.audio = sources;
                    s.audio_refused = refused;
                });
            }
            (Out::Stream(sender, _), Destination::Stream(url)) => {
                let global_header = Container::for_target(url)?.global_header();
                self.tracks = Tracks::open(&self.spec.audio, self.spec.start, global_header);
                let (sources, refused) = (self.tracks.sources(), self.tracks.refused.clone());
                *sender = Some(Sender::start(
                    url.clone(),
                    encoder.parameters(),
                    encoder.time_base(),
                    self.tracks.streams(),
                    self.spec.signal,
                ));
                self.set(|s| {
                    s.audio = sources;
                    s.audio_refused = refused;
                });
            }
            _ => {}
        }
        Ok(())
    }

    /// Encodes the repeats and the picture `slots` asks for, and hands on the packets.
    fn place(&mut self, slots: Slots, picture: Option<(Picture, Duration)>) -> Result<(), String> {
        let Some(encoder) = self.encoder.as_mut() else {
            return Ok(());
        };
        if let Out::Stream(Some(sender), _) = &self.out {
            if sender.link().want_key.swap(false, Ordering::Relaxed) {
                encoder.force_key_frame();
            }
        }
        let mut packets = Vec::new();
        let repeats = slots.repeat.end - slots.repeat.start;
        for slot in slots.repeat {
            encoder
                .repeat(slot, &mut packets)
                .map_err(|e| e.to_string())?;
        }
        let mut fresh = 0;
        if let (Some(slot), Some((picture, at))) = (slots.picture, picture) {
            encoder
                .encode(&picture, slot, &mut packets)
                .map_err(|e| e.to_string())?;
            self.drawn.push_back((slot, at));
            fresh = 1;
        }
        self.set(|s| {
            s.frames += repeats + fresh;
            s.repeated += repeats;
        });
        self.deliver(packets)
    }

    fn deliver(&mut self, packets: Vec<Packet>) -> Result<(), String> {
        let now = monotonic();
        let mut bytes = 0u64;
        let mut latencies = Vec::new();
        for packet in packets {
            let frame = packet.pts().unwrap_or(0).max(0) as u64;
            bytes += packet.size() as u64;
            while self.drawn.front().is_some_and(|(slot, _)| *slot < frame) {
                self.drawn.pop_front();
            }
            if let Some((_, at)) = self.drawn.front().filter(|(slot, _)| *slot == frame) {
                latencies.push(now.saturating_sub(*at));
            }
            match &mut self.out {
                Out::File(Some(sink)) => sink.write(&packet)?,
                Out::File(None) => {}
                Out::Ring(ring) => ring.push(Held {
                    frame,
                    key: packet.is_key(),
                    size: packet.size(),
                    packet,
                }),
                Out::Stream(Some(sender), _) => sender.send(0, packet),
                Out::Stream(None, _) => {}
            }
        }
        let ring_bytes = match &self.out {
            Out::Ring(ring) => ring.bytes(),
            _ => 0,
        };
        self.set(|s| {
            s.bytes += bytes;
            s.ring_bytes = ring_bytes;
            for l in latencies {
                s.latency_total += l;
                s.latency_count += 1;
                s.latency_max = s.latency_max.max(l);
            }
        });
        Ok(())
    }

    /// Once a second: how far the stream is behind, and the bitrate that follows.
    fn adapt_rate(&mut self) {
        let now = monotonic();
        if now < self.next_rate_check {
            return;
        }
        self.next_rate_check = now + Duration::from_secs(1);
        let Out::Stream(Some(sender), adapter) = &mut self.out else {
            return;
        };
        let link = sender.link();
        let behind_frames = self
            .clock
            .frames()
            .saturating_sub(link.sent_up_to.load(Ordering::Relaxed));
        let backlog =
            Duration::from_secs_f64(behind_frames as f64 / f64::from(self.spec.settings.fps));
        if let Some(kbps) = adapter.observe(backlog, now) {
            tracing::info!(kbps, ?backlog, "stream bitrate follows the connection");
            if let Some(encoder) = self.encoder.as_mut() {
                encoder.set_bitrate(kbps);
            }
        }
        let status = StreamStatus {
            connected: link.connected.load(Ordering::Relaxed),
            reconnects: link.reconnects.load(Ordering::Relaxed),
            bitrate_kbps: adapter.current(),
            skipped: link.skipped.load(Ordering::Relaxed),
            sent: link.bytes.load(Ordering::Relaxed),
            error: link.error.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        };
        self.set(|s| s.stream = Some(status));
    }

    fn finish(&mut self, at: Duration) -> Result<(), String> {
        let slots = self.clock.finish(at);
        self.place(slots, None)?;
        let mut packets = Vec::new();
        if let Some(encoder) = self.encoder.as_mut() {
            encoder.finish(&mut packets).map_err(|e| e.to_string())?;
        }
        self.deliver(packets)?;
        self.adapt_rate();
        let mut bytes = 0;
        match &mut self.out {
            Out::File(Some(sink)) => self.tracks.finish(at, |i, p| {
                bytes += p.size() as u64;
                sink.write_to(i, p)
            })?,
            Out::Stream(Some(sender), _) => self.tracks.finish(at, |i, p| {
                bytes += p.size() as u64;
                sender.send(i, p.clone());
                Ok(())
            })?,
            _ => {}
        }
        self.set(|s| s.bytes += bytes);
        match std::mem::replace(&mut self.out, Out::File(None)) {
            Out::File(Some(sink)) => {
                sink.finish()?;
            }
            Out::Stream(Some(sender), _) => sender.finish(),
            _ => {}
        }
        Ok(())
    }

    /// Encodes the sound captured since the last call into the file.
    fn pump_audio(&mut self) -> Result<(), String> {
        let mut bytes = 0;
        match &mut self.out {
            Out::File(Some(sink)) => self.tracks.pump(|i, p| {
                bytes += p.size() as u64;
                sink.write_to(i, p)
            })?,
            Out::Stream(Some(sender), _) => self.tracks.pump(|i, p| {
                bytes += p.size() as u64;
                sender.send(i, p.clone());
                Ok(())
            })?,
            _ => {}
        }
        if bytes > 0 {
            self.set(|s| s.bytes += bytes);
        }
        Ok(())
    }

    fn save_replay(&mut self, path: PathBuf) -> Result<SavedReplay, String> {
        let (Out::Ring(ring), Some(encoder)) = (&self.out, &self.encoder) else {
            return Err("nothing recorded for a replay yet".into());
        };
        let held: Vec<&Held<Packet>> = ring.replay().collect();
        let Some(first) = held.first() else {
            return Err("nothing recorded for a replay yet".into());
        };
        let base = first.packet.dts().or(first.packet.pts()).unwrap_or(0);
        let tmp = path.with_extension("part.mp4");
        let mut sink = Sink::open(
            &tmp.to_string_lossy(),
            encoder.parameters(),
            encoder.time_base(),
            &self.spec.signal,
            Duration::from_secs(5),
        )?;
        let mut bytes = 0;
        for h in &held {
            let mut packet = h.packet.clone();
            packet.set_pts(packet.pts().map(|p| p - base));
            packet.set_dts(packet.dts().map(|d| d - base));
            bytes += h.size as u64;
            sink.write(&packet)?;
        }
        sink.finish()?;
        std::fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))?;
        let frames = held.len() as u64;
        Ok(SavedReplay {
            path,
            frames,
            seconds: frames as f64 / f64::from(self.spec.settings.fps),
            bytes,
        })
    }
}
