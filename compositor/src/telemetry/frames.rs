//! Frame statistics, pure: an output's presented frames ([`OutputFrames`]) and a
//! window's own cadence from its commits ([`ClientCadence`]), in, summaries out. Times
//! are nanoseconds of the monotonic clock.

use std::collections::VecDeque;

use serde::Serialize;

/// Frames an output keeps (two seconds at 120 Hz): the summary's last second and the
/// overlay's graph come from them.
const OUTPUT_HISTORY: usize = 240;
/// Commits a window keeps: five seconds at 400 frames a second.
const CLIENT_HISTORY: usize = 2000;
/// The span a window's figures cover.
const CLIENT_SPAN_NS: u64 = 5_000_000_000;
/// A window that has not committed for this long is idle (its figures are zero).
const CLIENT_IDLE_NS: u64 = 1_000_000_000;
const SECOND_NS: u64 = 1_000_000_000;

/// One presented frame of an output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    /// When it reached the screen (the vblank on KMS).
    pub presented_ns: u64,
    /// Drawing it took (the GPU's finish included), where it was drawn at all.
    pub render_ns: Option<u64>,
    /// From the end of drawing to the screen.
    pub to_vblank_ns: Option<u64>,
    /// It reached the screen a refresh or more later than it was meant to.
    pub missed: bool,
}

/// What an output's frames look like over the last second.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OutputSummary {
    /// Frames presented in the last second.
    pub fps: f64,
    /// Time between presented frames: mean and 99th percentile, in ms.
    pub frame_ms: f64,
    /// See `frame_ms`.
    pub frame_ms_p99: f64,
    /// Drawing time: mean and worst, in ms.
    pub render_ms: f64,
    /// See `render_ms`.
    pub render_ms_max: f64,
    /// From the end of drawing to the screen, mean, in ms.
    pub to_vblank_ms: f64,
    /// Frames that missed their refresh in the last second.
    pub missed_last_second: u64,
    /// Frames that missed their refresh since the output appeared.
    pub missed_total: u64,
    /// Frames presented since the output appeared.
    pub presented_total: u64,
}

/// An output's recent frames.
#[derive(Debug, Clone, Default)]
pub struct OutputFrames {
    recent: VecDeque<Frame>,
    presented_total: u64,
    missed_total: u64,
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// The `p`-th percentile (0..=100) of `values`, nearest rank; 0 when empty.
pub fn percentile(values: &mut [u64], p: f64) -> u64 {
    if values.is_empty() {
        return 0;
    }
    values.sort_unstable();
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

impl OutputFrames {
    /// Counts one presented frame.
    pub fn record(&mut self, frame: Frame) {
        self.presented_total += 1;
        self.missed_total += u64::from(frame.missed);
        if self.recent.len() == OUTPUT_HISTORY {
            self.recent.pop_front();
        }
        self.recent.push_back(frame);
    }

    /// The last second before `now`.
    pub fn summary(&self, now_ns: u64) -> OutputSummary {
        let since = now_ns.saturating_sub(SECOND_NS);
        let last: Vec<&Frame> = self
            .recent
            .iter()
            .filter(|f| f.presented_ns > since)
            .collect();
        let mut intervals = self.intervals(since);
        let renders: Vec<u64> = last.iter().filter_map(|f| f.render_ns).collect();
        let vblank: Vec<u64> = last.iter().filter_map(|f| f.to_vblank_ns).collect();
        let mean = |v: &[u64]| match v.len() {
            0 => 0.0,
            n => ms(v.iter().sum::<u64>()) / n as f64,
        };
        OutputSummary {
            fps: last.len() as f64,
            frame_ms: mean(&intervals),
            frame_ms_p99: ms(percentile(&mut intervals, 99.0)),
            render_ms: mean(&renders),
            render_ms_max: ms(renders.iter().copied().max().unwrap_or(0)),
            to_vblank_ms: mean(&vblank),
            missed_last_second: last.iter().filter(|f| f.missed).count() as u64,
            missed_total: self.missed_total,
            presented_total: self.presented_total,
        }
    }

    /// Times between frames presented after `since`.
    fn intervals(&self, since: u64) -> Vec<u64> {
        self.recent
            .iter()
            .zip(self.recent.iter().skip(1))
            .filter(|(_, b)| b.presented_ns > since)
            .map(|(a, b)| b.presented_ns.saturating_sub(a.presented_ns))
            .collect()
    }

    /// The last `count` frame times in ms, oldest first (the overlay's graph).
    pub fn graph(&self, count: usize) -> Vec<f64> {
        let all = self.intervals(0);
        all[all.len().saturating_sub(count)..]
            .iter()
            .map(|n| ms(*n))
            .collect()
    }
}

/// A window's own frame rate, from the buffers it commits.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClientSummary {
    /// Frames a second over the last five seconds (0 when idle).
    pub fps: f64,
    /// Frame time percentiles, in ms.
    pub frame_ms_p50: f64,
    /// See `frame_ms_p50`.
    pub frame_ms_p99: f64,
    /// The "1% low": the frame rate of the slowest 1% of frames (1000 / p99).
    pub low_1pct_fps: f64,
    /// Frames counted.
    pub frames: u64,
}

/// A window's recent commits.
#[derive(Debug, Clone, Default)]
pub struct ClientCadence {
    commits: VecDeque<u64>,
}

impl ClientCadence {
    /// The window committed a new buffer at `at_ns`.
    pub fn commit(&mut self, at_ns: u64) {
        if self.commits.back().is_some_and(|last| at_ns < *last) {
            return;
        }
        if self.commits.len() == CLIENT_HISTORY {
            self.commits.pop_front();
        }
        self.commits.push_back(at_ns);
    }

    /// Its figures at `now`.
    pub fn summary(&self, now_ns: u64) -> ClientSummary {
        let Some(&last) = self.commits.back() else {
            return ClientSummary::default();
        };
        if now_ns.saturating_sub(last) > CLIENT_IDLE_NS {
            return ClientSummary::default();
        }
        let since = now_ns.saturating_sub(CLIENT_SPAN_NS);
        let times: Vec<u64> = self
            .commits
            .iter()
            .copied()
            .filter(|t| *t >= since)
            .collect();
        let mut intervals: Vec<u64> = times.windows(2).map(|w| w[1] - w[0]).collect();
        if intervals.is_empty() {
            return ClientSummary::default();
        }
        let span = times[times.len() - 1] - times[0];
        let p99 = ms(percentile(&mut intervals, 99.0));
        ClientSummary {
            fps: if span == 0 {
                0.0
            } else {
                intervals.len() as f64 * 1e9 / span as f64
            },
            frame_ms_p50: ms(percentile(&mut intervals, 50.0)),
            frame_ms_p99: p99,
            low_1pct_fps: if p99 > 0.0 { 1000.0 / p99 } else { 0.0 },
            frames: intervals.len() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_steady_60_hz_output_and_a_hitch() {
        let mut o = OutputFrames::default();
        let period = 16_666_667;
        for n in 0..120u64 {
            // Frame 100 missed: it came one refresh late.
            let late = if n >= 100 { period } else { 0 };
            o.record(Frame {
                presented_ns: n * period + late,
                render_ns: Some(2_000_000),
                to_vblank_ns: Some(1_000_000),
                missed: n == 100,
            });
        }
        let s = o.summary(119 * period + period);
        assert_eq!(s.missed_last_second, 1);
        assert_eq!(s.missed_total, 1);
        assert_eq!(s.presented_total, 120);
        assert!((s.frame_ms_p99 - 33.3).abs() < 0.1, "{s:?}");
        assert!((s.render_ms - 2.0).abs() < 1e-9);
        assert!((s.to_vblank_ms - 1.0).abs() < 1e-9);
        assert_eq!(o.graph(10).len(), 10);
    }

    #[test]
    fn a_game_with_stutters_shows_them_in_its_1_percent_low() {
        let mut c = ClientCadence::default();
        let mut t = 0;
        for n in 0..600 {
            // 144 fps with a 50 ms stall every 100 frames.
            t += if n % 100 == 99 { 50_000_000 } else { 6_944_444 };
            c.commit(t);
        }
        let s = c.summary(t);
        assert!(s.fps > 100.0 && s.fps < 144.0, "{s:?}");
        assert!((s.frame_ms_p50 - 6.94).abs() < 0.01);
        assert!(s.low_1pct_fps < 25.0, "{s:?}");
        assert_eq!(c.summary(t + 2_000_000_000), ClientSummary::default());
    }

    proptest! {
        #[test]
        fn client_figures_stay_within_what_the_commits_allow(
            gaps in proptest::collection::vec(1_000_000u64..100_000_000, 2..400)
        ) {
            let mut c = ClientCadence::default();
            let mut t = 10_000_000_000u64;
            for g in &gaps {
                t += g;
                c.commit(t);
            }
            let s = c.summary(t);
            let min = ms(*gaps.iter().min().unwrap());
            let max = ms(*gaps.iter().max().unwrap());
            prop_assert!(s.frame_ms_p50 >= min - 1e-9 && s.frame_ms_p50 <= max + 1e-9);
            prop_assert!(s.frame_ms_p99 >= s.frame_ms_p50);
            prop_assert!(s.frame_ms_p99 <= max + 1e-9);
            // The 1% low is never above the mean rate.
            prop_assert!(s.low_1pct_fps <= s.fps + 1e-6);
        }

        #[test]
        fn output_summary_is_bounded_by_its_frames(
            gaps in proptest::collection::vec(1_000_000u64..50_000_000, 1..300),
            renders in proptest::collection::vec(0u64..30_000_000, 300),
        ) {
            let mut o = OutputFrames::default();
            let mut t = 5_000_000_000u64;
            for (g, r) in gaps.iter().zip(&renders) {
                t += g;
                o.record(Frame { presented_ns: t, render_ns: Some(*r), to_vblank_ns: None, missed: false });
            }
            let s = o.summary(t);
            prop_assert!(s.fps <= gaps.len() as f64);
            prop_assert!(s.frame_ms_p99 <= ms(*gaps.iter().max().unwrap()) + 1e-9);
            prop_assert!(s.render_ms <= s.render_ms_max + 1e-9);
            prop_assert_eq!(s.presented_total, gaps.len() as u64);
        }
    }
}
