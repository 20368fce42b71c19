//! The chain between the microphone and the source: whole 10 ms frames in, cleaned
//! samples queued for the source, the queue kept as short as the graph allows, and a
//! report every second.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ghost_voice::{Chain, FRAME, RATE};

use super::meter::{Meter, Second};
use super::CleanMicStatus;

/// Cleaned samples kept for the source at most (four frames); older ones go, so that a
/// source nobody records from does not build up delay for whoever starts to.
const OUT_QUEUE_MAX: usize = 4 * FRAME;

/// The chain and its queues, shared by the source node's callback (PipeWire's
/// real-time thread), the reference's and settings changes (the clean mic's thread).
pub(super) struct Processing {
    pub(super) chain: Chain,
    /// Microphone samples waiting for a whole frame.
    pending: Vec<f32>,
    /// Cleaned samples waiting for the source.
    out: VecDeque<f32>,
    /// The queue's lowest level when the source took from it, this second.
    lowest: usize,
    /// Samples between the microphone and the source besides the chain's own delay (a
    /// partial frame and the queue), as left by the last source call: constant while
    /// the quantum is, since each call takes and gives as many samples.
    in_flight: usize,
    meter: Meter,
    status: Arc<Mutex<CleanMicStatus>>,
}

impl Processing {
    /// A chain with empty queues, reporting into `status`.
    pub(super) fn new(chain: Chain, status: Arc<Mutex<CleanMicStatus>>) -> Processing {
        Processing {
            chain,
            pending: Vec::with_capacity(FRAME),
            out: VecDeque::with_capacity(OUT_QUEUE_MAX + FRAME),
            lowest: usize::MAX,
            in_flight: 0,
            meter: Meter::default(),
            status,
        }
    }

    /// Microphone samples in; every frame they complete is cleaned and queued.
    pub(super) fn feed(&mut self, mut samples: &[f32]) {
        while !samples.is_empty() {
            let take = (FRAME - self.pending.len()).min(samples.len());
            self.pending.extend_from_slice(&samples[..take]);
            samples = &samples[take..];
            if self.pending.len() == FRAME {
                self.clean_pending();
            }
        }
        let excess = self.out.len().saturating_sub(OUT_QUEUE_MAX);
        self.out.drain(..excess);
    }

    /// `n` samples of silence in, where the microphone gave no buffer this cycle.
    pub(super) fn feed_silence(&mut self, n: usize) {
        const ZEROS: [f32; FRAME] = [0.0; FRAME];
        let mut left = n;
        while left > 0 {
            let take = left.min(FRAME);
            self.feed(&ZEROS[..take]);
            left -= take;
        }
    }

    fn clean_pending(&mut self) {
        let mut frame = [0f32; FRAME];
        frame.copy_from_slice(&self.pending);
        self.pending.clear();
        let input = frame;
        let started = Instant::now();
        self.chain.process_frame(&mut frame);
        let took = started.elapsed();
        self.out.extend(frame);
        if let Some(second) = self.meter.add(&input, &frame, self.chain.voice(), took) {
            self.trim();
            self.report(second);
        }
    }

    /// Drops the delay the graph's quantum (not a multiple of the chain's frame) does
    /// not need: whatever the queue never went below over a second. The microphone's
    /// samples and the source's come in the same call of the same node, so the queue
    /// can run down to empty; this happens once after a start or a change of quantum,
    /// then the level holds, and a shortfall (a larger quantum) is silence that
    /// rebuilds it.
    fn trim(&mut self) {
        if self.lowest != usize::MAX {
            let excess = self.lowest.min(self.out.len());
            self.out.drain(..excess);
        }
        self.lowest = usize::MAX;
    }

    fn report(&self, second: Second) {
        let echo = self.chain.echo_stats();
        let latency = self.chain.latency() + self.in_flight;
        // From PipeWire's real-time thread: a report that meets a reader is skipped.
        if let Ok(mut status) = self.status.try_lock() {
            status.latency_ms = latency as f64 * 1000.0 / f64::from(RATE);
            status.cpu_percent = second.cpu_percent;
            status.suppression_db = second.suppression_db;
            status.speech = second.speech;
            status.erle_db = echo.and_then(|(s, _)| s.erle_db);
            status.echo_delay_ms = echo.and_then(|(s, _)| s.delay_ms);
            status.reference_clock_ppm = echo.map(|(_, ppm)| ppm);
        }
    }

    /// Fills the source's buffer for this cycle; silence where the chain is behind.
    pub(super) fn drain_into(&mut self, out: &mut [f32]) {
        self.lowest = self.lowest.min(self.out.len().saturating_sub(out.len()));
        for sample in out.iter_mut() {
            *sample = self.out.pop_front().unwrap_or(0.0);
        }
        self.in_flight = self.pending.len() + self.out.len();
    }
}
