//! Living with a network: how long to wait before connecting again to a media server
//! that went away, and how far to lower the bitrate when the connection cannot carry it.
//! Plain arithmetic on what the sender observed.

use std::time::Duration;

/// Waits between reconnection attempts: doubling from half a second to ten.
#[derive(Debug, Clone, Default)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    /// The first wait.
    pub const FIRST: Duration = Duration::from_millis(500);
    /// The longest wait.
    pub const LONGEST: Duration = Duration::from_secs(10);

    /// One more failure: how long to wait before the next try.
    pub fn failed(&mut self) -> Duration {
        let wait = Self::FIRST.saturating_mul(1 << self.failures.min(8));
        self.failures = self.failures.saturating_add(1);
        wait.min(Self::LONGEST)
    }

    /// Connected: the next failure starts from the first wait again.
    pub fn connected(&mut self) {
        self.failures = 0;
    }
}

/// The bitrate a stream asks of its encoder, following what the connection carries.
#[derive(Debug, Clone)]
pub struct RateAdapter {
    target: u32,
    floor: u32,
    current: u32,
    /// When the rate last changed (or the stream started).
    since: Duration,
}

impl RateAdapter {
    /// Backlog past which the connection is falling behind.
    pub const BEHIND: Duration = Duration::from_millis(500);
    /// Backlog under which the connection keeps up.
    pub const KEEPING_UP: Duration = Duration::from_millis(100);
    /// How long the connection must keep up before the rate rises again.
    pub const SETTLE: Duration = Duration::from_secs(5);

    /// Starts at `target` kbit/s; never goes under a quarter of it (or 300).
    pub fn new(target: u32, now: Duration) -> Self {
        Self {
            target,
            floor: (target / 4).max(300).min(target),
            current: target,
            since: now,
        }
    }

    /// The rate now.
    pub fn current(&self) -> u32 {
        self.current
    }

    /// What was still waiting to be sent at `now`: the new rate when it should change.
    pub fn observe(&mut self, backlog: Duration, now: Duration) -> Option<u32> {
        let before = self.current;
        if backlog > Self::BEHIND {
            // At most one cut per second: the encoder needs a moment to show it.
            if now.saturating_sub(self.since) < Duration::from_secs(1) {
                return None;
            }
            self.current = (self.current / 4 * 3).max(self.floor);
        } else if backlog < Self::KEEPING_UP && now.saturating_sub(self.since) >= Self::SETTLE {
            self.current = (self.current + self.current / 10).min(self.target);
        }
        if self.current != before {
            self.since = now;
            Some(self.current)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_cap_and_starts_over_after_a_success() {
        let mut b = Backoff::default();
        let waits: Vec<u64> = (0..7).map(|_| b.failed().as_millis() as u64).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
        b.connected();
        assert_eq!(b.failed(), Backoff::FIRST);
    }

    #[test]
    fn a_slow_link_cuts_the_rate_to_its_floor_and_a_good_one_brings_it_back() {
        let s = Duration::from_secs;
        let mut r = RateAdapter::new(6000, s(0));
        assert_eq!(
            r.observe(Duration::from_secs(1), s(0)),
            None,
            "too soon after the start"
        );
        assert_eq!(r.observe(Duration::from_secs(1), s(1)), Some(4500));
        assert_eq!(
            r.observe(Duration::from_secs(1), s(1)),
            None,
            "one cut a second"
        );
        let mut t = 2;
        while r.observe(Duration::from_secs(2), s(t)).is_some() {
            t += 1;
        }
        assert_eq!(r.current(), 1500, "the floor is a quarter");
        // Keeping up: nothing for five seconds, then 10% steps back to the target.
        assert_eq!(r.observe(Duration::ZERO, s(t + 1)), None);
        let mut rises = 0;
        for step in 0..100 {
            if r.observe(Duration::ZERO, s(t + 5 + step * 5)).is_some() {
                rises += 1;
            }
        }
        assert_eq!(r.current(), 6000);
        assert!(rises > 5);
    }
}
