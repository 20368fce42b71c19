//! Streaming out to a media server (nginx-rtmp, an SRT listener, a platform's ingest):
//! a thread of its own owns the connection, so a slow or dead server never stalls
//! encoding. It reconnects with backoff when the server goes away, starts again at a
//! key frame (asking the encoder for one), skips what is too old to be worth sending,
//! and tells the encoder how far behind it is so the bitrate can follow.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering},
        mpsc, Arc, Mutex,
    },
    thread,
    time::{Duration, Instant},
};

use ffmpeg_next::{codec, Packet, Rational};

use super::{
    adapt::Backoff,
    mux::{Sink, Track},
    settings::Signal,
};

/// What the sender thread and the encoder share.
#[derive(Debug, Default)]
pub struct Link {
    /// The frame after the last one handed to the server.
    pub sent_up_to: AtomicU64,
    /// The next frame should be a key frame (just connected).
    pub want_key: AtomicBool,
    /// Whether a connection is open now.
    pub connected: AtomicBool,
    /// Connections lost (and tried again) so far.
    pub reconnects: AtomicU32,
    /// Bytes sent.
    pub bytes: AtomicU64,
    /// Frames skipped: sent while disconnected, or too old to send.
    pub skipped: AtomicU64,
    /// The last connection error.
    pub error: Mutex<Option<String>>,
}

/// The sending half of a stream.
pub struct Sender {
    packets: Option<mpsc::Sender<(usize, Packet)>>,
    link: Arc<Link>,
    thread: Option<thread::JoinHandle<()>>,
}

/// How long one connection attempt or one blocked write may take.
const TIMEOUT: Duration = Duration::from_secs(5);
/// How long a stopped stream keeps sending what was queued before it closes: a live
/// stream ends when the user stops it, not when a slow link has carried its backlog.
const STOP_DRAIN: Duration = Duration::from_secs(2);

impl Sender {
    /// Starts the thread that connects to `url` and sends what it is given.
    pub fn start(
        url: String,
        parameters: codec::Parameters,
        time_base: Rational,
        tracks: Vec<Track>,
        signal: Signal,
    ) -> Sender {
        let (tx, rx) = mpsc::channel();
        let link = Arc::new(Link::default());
        let shared = link.clone();
        let thread = thread::Builder::new()
            .name("ghost-stream".into())
            .spawn(move || send(url, parameters, time_base, tracks, signal, rx, shared))
            .ok();
        if thread.is_none() {
            *link.error.lock().unwrap_or_else(|p| p.into_inner()) =
                Some("no thread for the stream".into());
        }
        Sender {
            packets: Some(tx),
            link,
            thread,
        }
    }

    /// The shared counters.
    pub fn link(&self) -> &Arc<Link> {
        &self.link
    }

    /// Queues one packet of stream `index` (0 the video, then the sound tracks); never
    /// blocks.
    pub fn send(&self, index: usize, packet: Packet) {
        if let Some(tx) = &self.packets {
            let _ = tx.send((index, packet));
        }
    }

    /// Sends what is queued, closes the connection, and waits for the thread.
    pub fn finish(mut self) {
        self.packets = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn send(
    url: String,
    parameters: codec::Parameters,
    time_base: Rational,
    tracks: Vec<Track>,
    signal: Signal,
    packets: mpsc::Receiver<(usize, Packet)>,
    link: Arc<Link>,
) {
    let fps =
        (f64::from(time_base.denominator()) / f64::from(time_base.numerator().max(1))).max(1.0);
    let too_old = (3.0 * fps) as i64;
    let mut backoff = Backoff::default();
    let mut sink: Option<Sink> = None;
    let mut retry_at = Instant::now();
    let mut waiting_for_key = true;
    let mut open = true;
    let mut drain_until: Option<Instant> = None;
    while open {
        let mut batch: Vec<(usize, Packet)> = Vec::new();
        match packets.recv_timeout(Duration::from_millis(100)) {
            Ok(p) => batch.push(p),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                open = false;
                drain_until = Some(Instant::now() + STOP_DRAIN);
            }
        }
        batch.extend(packets.try_iter());
        if sink.is_none() && Instant::now() >= retry_at && open {
            match Sink::open_with(
                &url,
                parameters.clone(),
                time_base,
                &tracks,
                &signal,
                TIMEOUT,
            ) {
                Ok(s) => {
                    tracing::info!(url, "streaming");
                    sink = Some(s);
                    backoff.connected();
                    link.connected.store(true, Ordering::Relaxed);
                    link.want_key.store(true, Ordering::Relaxed);
                    *link.error.lock().unwrap_or_else(|p| p.into_inner()) = None;
                    waiting_for_key = true;
                }
                Err(err) => {
                    let wait = backoff.failed();
                    tracing::warn!(url, "cannot stream, trying again in {wait:?}: {err}");
                    *link.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(err);
                    retry_at = Instant::now() + wait;
                }
            }
        }
        // Too far behind: only the newest group of pictures is worth sending. Sound
        // follows the pictures: none is sent before the first key frame.
        let video = || batch.iter().filter(|(i, _)| *i == 0).map(|(_, p)| p);
        let span = match (
            video().next().and_then(Packet::pts),
            video().next_back().and_then(Packet::pts),
        ) {
            (Some(a), Some(b)) => b - a,
            _ => 0,
        };
        let mut from = 0;
        if span > too_old {
            from = batch
                .iter()
                .rposition(|(i, p)| *i == 0 && p.is_key())
                .unwrap_or(batch.len());
            waiting_for_key = from == batch.len();
        }
        for (at, (index, packet)) in batch.into_iter().enumerate() {
            let is_video = index == 0;
            let frame = packet.pts().unwrap_or(0).max(0) as u64;
            let skip = |link: &Link| {
                if is_video {
                    link.skipped.fetch_add(1, Ordering::Relaxed);
                    link.sent_up_to.store(frame + 1, Ordering::Relaxed);
                }
            };
            let Some(out) = sink.as_mut() else {
                skip(&link);
                continue;
            };
            if drain_until.is_some_and(|until| Instant::now() >= until) {
                skip(&link);
                continue;
            }
            if at < from || (waiting_for_key && !(is_video && packet.is_key())) {
                skip(&link);
                continue;
            }
            waiting_for_key = false;
            match out.write_to(index, &packet) {
                Ok(()) => {
                    link.bytes
                        .fetch_add(packet.size() as u64, Ordering::Relaxed);
                    if is_video {
                        link.sent_up_to.store(frame + 1, Ordering::Relaxed);
                    }
                }
                Err(err) => {
                    let wait = backoff.failed();
                    tracing::warn!(url, "the stream broke, reconnecting in {wait:?}: {err}");
                    *link.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(err);
                    link.connected.store(false, Ordering::Relaxed);
                    link.reconnects.fetch_add(1, Ordering::Relaxed);
                    sink = None;
                    retry_at = Instant::now() + wait;
                }
            }
        }
    }
    if let Some(out) = sink {
        if let Err(err) = out.finish() {
            tracing::warn!(url, "closing the stream: {err}");
        }
    }
    link.connected.store(false, Ordering::Relaxed);
}
