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
pub(super) const OUT_QUEUE_MAX: usize = 4 * FRAME;
/// What the source's queue may keep at its lowest over a second: the rest is delay
/// that the graph's quantum (not a multiple of the chain's frame) does not need, and
/// is dropped (once, after a start or a change of quantum; then the level holds). The
/// microphone's samples and the source's come in the same call of the same node, so the
/// queue can run down to empty; a shortfall (a larger quantum) is silence that rebuilds
/// it.
const SLACK: usize = 0;
/// The chain and its queues, shared by the source node's callback (PipeWire's
/// real-time thread), the reference's and settings changes (the clean mic's thread).
pub(super) struct Processing {
    pub(super) chain: Chain,
    pub(super) pending: Vec<f32>,
    pub(super) out: VecDeque<f32>,
    /// The queue's lowest level when the source took from it, this second.
    pub(super) lowest: usize,
    /// Samples between the microphone and the source besides the chain's own delay (a
    /// partial frame and the queue), as left by the last source call: constant while
    /// the quantum is, since each call takes and gives as many samples.
    pub(super) in_flight: usize,
    pub(super) meter: Meter,
    pub(super) status: Arc<Mutex<CleanMicStatus>>,
}

impl Processing {
    pub(super) fn feed(&mut self, samples: &[f32]) {
        for &s in samples {
            self.pending.push(s);
            if self.pending.len() < FRAME {
                continue;
            }
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
        let excess = self.out.len().saturating_sub(OUT_QUEUE_MAX);
        self.out.drain(..excess);
    }

    /// Drops the queue's unneeded delay.
    fn trim(&mut self) {
        if self.lowest != usize::MAX && self.lowest > SLACK {
            let excess = (self.lowest - SLACK).min(self.out.len());
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

    /// Fills a source buffer of `capacity` samples; silence where the chain is behind.
    pub(super) fn drain_into(&mut self, out: &mut [f32]) -> usize {
        let n = out.len();
        self.lowest = self.lowest.min(self.out.len().saturating_sub(n));
        for sample in out.iter_mut() {
            *sample = self.out.pop_front().unwrap_or(0.0);
        }
        self.in_flight = self.pending.len() + self.out.len();
        n
    }
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
}
