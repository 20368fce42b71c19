//! Variable refresh: when to flip an output whose panel refreshes whenever it is sent a
//! frame, as long as frames come between its fastest and slowest rate.
//!
//! - A client frame is flipped as soon as it is ready, but never sooner than the panel's
//!   fastest rate allows after the previous flip.
//! - Low-framerate compensation in the compositor: when a client runs slower than the
//!   panel's slowest rate, its frames are repeated at an even fraction of its own
//!   interval (30 fps → 60 Hz, 20 fps → 60 Hz), so the panel stays in range without the
//!   uneven repeats a driver inserts on its own.
//! - Cursor (and other small) updates do not drive the refresh: they ride the next client
//!   frame. Only when the client stalls do they flip on their own, at a capped rate.

use crate::NANOS_PER_SEC;

/// The refresh range of a panel, as intervals between flips.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VrrRange {
    /// Shortest interval (at the highest refresh rate), ns.
    pub min_interval_ns: u64,
    /// Longest interval (at the lowest refresh rate), ns.
    pub max_interval_ns: u64,
}

/// Why a range cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a VRR range needs 1 Hz <= min < max <= 1000 Hz")]
pub struct RangeError;

impl VrrRange {
    /// The range from `min_hz` to `max_hz` (e.g. 48–144 from the monitor's EDID).
    pub fn from_hz(min_hz: f64, max_hz: f64) -> Result<Self, RangeError> {
        if !(1.0..=1000.0).contains(&min_hz)
            || !(1.0..=1000.0).contains(&max_hz)
            || min_hz >= max_hz
        {
            return Err(RangeError);
        }
        let ns = |hz: f64| (NANOS_PER_SEC as f64 / hz).round() as u64;
        Ok(Self {
            min_interval_ns: ns(max_hz),
            max_interval_ns: ns(min_hz),
        })
    }

    /// Whether an interval between flips keeps the panel in range (1 µs tolerance).
    pub fn contains(&self, interval_ns: u64) -> bool {
        interval_ns + 1_000 >= self.min_interval_ns && interval_ns <= self.max_interval_ns + 1_000
    }
}

/// What a flip shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flip {
    /// A new client frame.
    Client,
    /// The last frame again, to keep the panel in range (low-framerate compensation).
    Repeat,
    /// Only the cursor (or another small update) changed, while the client stalls.
    Cursor,
}

/// Tuning of the pacer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacerConfig {
    /// After this long without a client frame, the client counts as stalled and cursor
    /// updates flip on their own, ns.
    pub stall_ns: u64,
    /// Cursor-only flips come at most this often, ns.
    pub cursor_interval_ns: u64,
}

impl Default for PacerConfig {
    fn default() -> Self {
        Self {
            stall_ns: 50_000_000,
            cursor_interval_ns: 16_666_667,
        }
    }
}

/// Paces one VRR output.
#[derive(Debug, Clone)]
pub struct VrrPacer {
    range: VrrRange,
    config: PacerConfig,
    last_flip: Option<u64>,
    last_client_flip: Option<u64>,
    client_interval_ns: Option<f64>,
    pending_client: Option<u64>,
    pending_cursor: Option<u64>,
}

impl VrrPacer {
    /// A pacer for a panel of `range`.
    pub fn new(range: VrrRange, config: PacerConfig) -> Self {
        Self {
            range,
            config,
            last_flip: None,
            last_client_flip: None,
            client_interval_ns: None,
            pending_client: None,
            pending_cursor: None,
        }
    }

    /// The panel's range.
    pub fn range(&self) -> VrrRange {
        self.range
    }

    /// A client frame became ready (its buffer and fences) at `at`.
    pub fn client_frame_ready(&mut self, at: u64) {
        self.pending_client.get_or_insert(at);
    }

    /// The cursor moved at `at`.
    pub fn cursor_moved(&mut self, at: u64) {
        self.pending_cursor.get_or_insert(at);
    }

    /// The client's estimated frame interval, ns.
    pub fn client_interval(&self) -> Option<u64> {
        self.client_interval_ns.map(|i| i as u64)
    }

    /// When to flip next, and what, as seen at `now`; None when nothing needs a flip (an
    /// idle panel refreshes by itself at its slowest rate).
    pub fn next_flip(&self, now: u64) -> Option<(u64, Flip)> {
        let earliest = self.last_flip.map_or(0, |t| t + self.range.min_interval_ns);
        if let Some(ready) = self.pending_client {
            return Some((ready.max(earliest), Flip::Client));
        }
        let mut best: Option<(u64, Flip)> = None;
        let mut consider = |candidate: (u64, Flip)| {
            if best.is_none_or(|b| candidate.0 < b.0) {
                best = Some(candidate);
            }
        };
        if let Some(repeat) = self.next_repeat(now) {
            consider((repeat.max(earliest), Flip::Repeat));
        }
        if let Some(moved) = self.pending_cursor {
            let stalled = self
                .last_client_flip
                .is_none_or(|t| now.saturating_sub(t) >= self.config.stall_ns);
            if stalled {
                let capped = self
                    .last_flip
                    .map_or(0, |t| t + self.config.cursor_interval_ns);
                consider((moved.max(capped).max(earliest), Flip::Cursor));
            }
        }
        best
    }

    /// The next low-framerate repeat: the interval of a client slower than the panel's
    /// slowest rate, split into the fewest equal parts that each fit the range with 10%
    /// headroom, anchored on the last client frame so the next real frame lands on the
    /// same cadence.
    fn next_repeat(&self, now: u64) -> Option<u64> {
        let (last_client, interval) = (self.last_client_flip?, self.client_interval_ns?);
        // Only clients slower than the panel's slowest rate need repeats; their frames
        // are split into parts with 10% headroom below that rate.
        if interval <= self.range.max_interval_ns as f64 + 1_000.0 {
            return None;
        }
        let target = self.range.max_interval_ns as f64 * 0.9;
        // The client stopped: let the panel idle rather than repeat forever.
        if now.saturating_sub(last_client) as f64 > interval * 1.5 {
            return None;
        }
        let parts = (interval / target).ceil().max(2.0);
        let spacing = (interval / parts).max(self.range.min_interval_ns as f64);
        let last = self.last_flip.unwrap_or(last_client);
        (1..parts as u64)
            .map(|j| last_client + (spacing * j as f64).round() as u64)
            .find(|t| *t > last)
    }

    /// Records that a flip happened at `at`.
    pub fn flipped(&mut self, at: u64, flip: Flip) {
        self.last_flip = Some(at);
        self.pending_cursor = None;
        if flip == Flip::Client {
            if let Some(previous) = self.last_client_flip {
                let measured = at.saturating_sub(previous) as f64;
                // Follow a steady client closely, shrug off a single outlier.
                self.client_interval_ns = Some(match self.client_interval_ns {
                    Some(old) if (measured - old).abs() < old * 0.5 => old * 0.8 + measured * 0.2,
                    _ => measured,
                });
            }
            self.last_client_flip = Some(at);
            self.pending_client = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let r = VrrRange::from_hz(48.0, 144.0).unwrap();
        assert_eq!(
            (r.min_interval_ns, r.max_interval_ns),
            (6_944_444, 20_833_333)
        );
        assert!(VrrRange::from_hz(144.0, 48.0).is_err());
        assert!(VrrRange::from_hz(0.0, 60.0).is_err());
    }

    #[test]
    fn a_client_frame_is_not_flipped_faster_than_the_panel_allows() {
        let mut p = VrrPacer::new(
            VrrRange::from_hz(48.0, 144.0).unwrap(),
            PacerConfig::default(),
        );
        p.client_frame_ready(0);
        assert_eq!(p.next_flip(0), Some((0, Flip::Client)));
        p.flipped(0, Flip::Client);
        p.client_frame_ready(1_000_000);
        assert_eq!(p.next_flip(1_000_000), Some((6_944_444, Flip::Client)));
    }

    #[test]
    fn an_idle_panel_needs_no_flips() {
        let p = VrrPacer::new(
            VrrRange::from_hz(48.0, 144.0).unwrap(),
            PacerConfig::default(),
        );
        assert_eq!(p.next_flip(123), None);
    }
}
