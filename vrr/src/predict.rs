//! Render-time prediction: how long before a deadline compositing must start.
//!
//! The prediction is a high percentile of recent measured render durations (what the
//! renderer reports from start of compositing to GPU completion, not page-flip
//! timestamps, which some drivers deliver early) plus a safety margin. A missed deadline
//! doubles the margin at once; every frame on time lets it decay back, so one spike
//! costs a few frames of latency rather than a stutter every time it recurs.

use std::collections::VecDeque;

/// Tuning of the predictor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PredictorConfig {
    /// How many recent frames are remembered.
    pub window: usize,
    /// Which percentile of them is predicted (0.0–1.0).
    pub percentile: f64,
    /// The smallest safety margin, ns.
    pub base_margin_ns: u64,
    /// The largest safety margin, ns.
    pub max_margin_ns: u64,
    /// How much of the excess margin is kept after a frame on time (0.0–1.0).
    pub decay: f64,
}

impl Default for PredictorConfig {
    fn default() -> Self {
        Self {
            window: 120,
            percentile: 0.95,
            base_margin_ns: 500_000,
            max_margin_ns: 8_000_000,
            decay: 0.97,
        }
    }
}

/// Predicts render durations from measured ones.
#[derive(Debug, Clone)]
pub struct RenderTimePredictor {
    config: PredictorConfig,
    samples: VecDeque<u64>,
    margin_ns: f64,
}

impl RenderTimePredictor {
    /// A predictor with no history (it predicts the base margin plus 1 ms at first).
    pub fn new(config: PredictorConfig) -> Self {
        Self {
            samples: VecDeque::with_capacity(config.window),
            margin_ns: config.base_margin_ns as f64,
            config,
        }
    }

    /// Records one frame: how long it took, and whether it missed its deadline.
    pub fn record(&mut self, duration_ns: u64, missed: bool) {
        if self.samples.len() == self.config.window {
            self.samples.pop_front();
        }
        self.samples.push_back(duration_ns);
        let base = self.config.base_margin_ns as f64;
        self.margin_ns = if missed {
            (self.margin_ns * 2.0 + base).min(self.config.max_margin_ns as f64)
        } else {
            base + (self.margin_ns - base) * self.config.decay
        };
    }

    /// How long before the deadline compositing should start, ns.
    pub fn predict(&self) -> u64 {
        let percentile = if self.samples.is_empty() {
            1_000_000
        } else {
            let mut sorted: Vec<u64> = self.samples.iter().copied().collect();
            sorted.sort_unstable();
            let rank = ((sorted.len() - 1) as f64 * self.config.percentile).round() as usize;
            sorted[rank.min(sorted.len() - 1)]
        };
        percentile + self.margin_ns as u64
    }

    /// The current safety margin, ns.
    pub fn margin(&self) -> u64 {
        self.margin_ns as u64
    }
}

/// Outcome of replaying a trace of render durations against deadlines.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Replay {
    /// Frames that finished after their deadline.
    pub missed: usize,
    /// Mean time from starting to composite to the deadline (added latency), ns.
    pub mean_lead_ns: f64,
}

/// Replays `durations` with starts `lead(frame)` before each deadline.
pub fn replay(durations: &[u64], mut lead: impl FnMut(Option<(u64, bool)>) -> u64) -> Replay {
    let mut missed = 0;
    let mut total = 0u128;
    let mut last = None;
    for &d in durations {
        let l = lead(last);
        let miss = d > l;
        missed += usize::from(miss);
        total += l as u128;
        last = Some((d, miss));
    }
    Replay {
        missed,
        mean_lead_ns: total as f64 / durations.len().max(1) as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_grows_on_a_miss_and_decays_back() {
        let mut p = RenderTimePredictor::new(PredictorConfig::default());
        for _ in 0..50 {
            p.record(2_000_000, false);
        }
        let calm = p.predict();
        p.record(6_000_000, true);
        assert!(p.margin() >= 1_500_000);
        for _ in 0..300 {
            p.record(2_000_000, false);
        }
        assert!(
            p.predict() <= calm + 10_000,
            "decays back: {} vs {calm}",
            p.predict()
        );
    }
}
