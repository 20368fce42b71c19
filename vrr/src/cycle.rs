//! Fixed refresh cycles and the phase-locked frame clock.

/// Why a refresh rate cannot drive a frame clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RefreshError {
    /// Zero or negative rates would make the clock never tick.
    #[error("refresh rate must be positive")]
    NotPositive,
    /// Rates above 1 MHz are not displays; they would spin the compositor.
    #[error("refresh rate is above 1 MHz")]
    TooHigh,
}

/// Nanoseconds in one second, the unit all timestamps here use.
pub const NANOS_PER_SEC: u64 = 1_000_000_000;

/// A fixed refresh cycle: the display scans out every `period_ns`, phase-locked to one
/// known vblank. Keeping the phase (rather than "now + period") is what keeps presentation
/// intervals exact when the compositor wakes up late.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshCycle {
    period_ns: u64,
    anchor_ns: u64,
}

impl RefreshCycle {
    /// A cycle of `millihertz` (the unit KMS and wl_output use) with a vblank at `anchor_ns`.
    pub fn from_millihertz(millihertz: i32, anchor_ns: u64) -> Result<Self, RefreshError> {
        if millihertz <= 0 {
            return Err(RefreshError::NotPositive);
        }
        if millihertz > 1_000_000_000 {
            return Err(RefreshError::TooHigh);
        }
        // Round to the nearest nanosecond: 60 Hz is 16_666_667 ns.
        let period_ns = (NANOS_PER_SEC * 1000 + millihertz as u64 / 2) / millihertz as u64;
        Ok(Self {
            period_ns,
            anchor_ns,
        })
    }

    /// The length of one refresh cycle, as reported to clients in presentation feedback.
    pub fn period_ns(&self) -> u64 {
        self.period_ns
    }

    /// The first vblank strictly after `now_ns`.
    pub fn next_vblank_after(&self, now_ns: u64) -> u64 {
        if now_ns < self.anchor_ns {
            return self.anchor_ns;
        }
        let cycles = (now_ns - self.anchor_ns) / self.period_ns + 1;
        self.anchor_ns + cycles * self.period_ns
    }

    /// The sequence number of the vblank at `vblank_ns` (cycles since the anchor), for the
    /// `seq` field of presentation feedback.
    pub fn sequence_of(&self, vblank_ns: u64) -> u64 {
        vblank_ns.saturating_sub(self.anchor_ns) / self.period_ns
    }
}

/// Paces one output's frames on a [`RefreshCycle`]: a frame is only ever scheduled for a
/// vblank after the last one presented, so a late wake-up skips no more than it must and
/// never presents two frames in one cycle.
#[derive(Debug, Clone)]
pub struct FrameClock {
    cycle: RefreshCycle,
    last_presented_ns: Option<u64>,
}

impl FrameClock {
    /// A clock with nothing presented yet.
    pub fn new(cycle: RefreshCycle) -> Self {
        Self {
            cycle,
            last_presented_ns: None,
        }
    }

    /// The refresh cycle this clock paces on.
    pub fn cycle(&self) -> &RefreshCycle {
        &self.cycle
    }

    /// Changes the refresh rate (a mode change) keeping the phase at the last vblank.
    pub fn set_cycle(&mut self, millihertz: i32) -> Result<(), RefreshError> {
        let anchor = self.last_presented_ns.unwrap_or(self.cycle.anchor_ns);
        self.cycle = RefreshCycle::from_millihertz(millihertz, anchor)?;
        Ok(())
    }

    /// When the next frame can be presented if rendering starts at `now_ns`.
    pub fn next_presentation(&self, now_ns: u64) -> u64 {
        let after = match self.last_presented_ns {
            Some(last) => now_ns.max(last),
            None => now_ns,
        };
        self.cycle.next_vblank_after(after)
    }

    /// Records that a frame was presented at `vblank_ns`.
    pub fn presented(&mut self, vblank_ns: u64) {
        self.last_presented_ns = Some(vblank_ns);
    }

    /// The last vblank at which a frame was presented.
    pub fn last_presented(&self) -> Option<u64> {
        self.last_presented_ns
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sixty_hertz_period_is_rounded_to_the_nanosecond() {
        let c = RefreshCycle::from_millihertz(60_000, 0).unwrap();
        assert_eq!(c.period_ns(), 16_666_667);
        let c = RefreshCycle::from_millihertz(59_940, 0).unwrap();
        assert_eq!(c.period_ns(), 16_683_350);
    }

    #[test]
    fn rejects_rates_that_cannot_tick() {
        assert_eq!(
            RefreshCycle::from_millihertz(0, 0),
            Err(RefreshError::NotPositive)
        );
        assert_eq!(
            RefreshCycle::from_millihertz(-5, 0),
            Err(RefreshError::NotPositive)
        );
    }

    #[test]
    fn late_wakeup_keeps_the_phase() {
        let mut clock = FrameClock::new(RefreshCycle::from_millihertz(60_000, 1_000).unwrap());
        let first = clock.next_presentation(1_000);
        assert_eq!(first, 1_000 + 16_666_667);
        clock.presented(first);
        // Woken 3 ms late: the next vblank is still one period after the last.
        let next = clock.next_presentation(first + 3_000_000);
        assert_eq!(next, first + 16_666_667);
        clock.presented(next);
        // Woken 1.5 periods late: one cycle is skipped, the phase is kept.
        let later = clock.next_presentation(next + 25_000_000);
        assert_eq!(later, next + 2 * 16_666_667);
    }

    #[test]
    fn mode_change_keeps_the_last_vblank_as_phase() {
        let mut clock = FrameClock::new(RefreshCycle::from_millihertz(60_000, 0).unwrap());
        clock.presented(16_666_667);
        clock.set_cycle(144_000).unwrap();
        assert_eq!(clock.next_presentation(16_666_667), 16_666_667 + 6_944_444);
    }

    proptest! {
        #[test]
        fn next_vblank_is_after_now_and_within_one_period(
            mhz in 1_000i32..500_000, anchor in 0u64..1_000_000_000, now in 0u64..100_000_000_000
        ) {
            let c = RefreshCycle::from_millihertz(mhz, anchor).unwrap();
            let v = c.next_vblank_after(now);
            prop_assert!(v > now || (now < anchor && v == anchor));
            if now >= anchor {
                prop_assert!(v - now <= c.period_ns());
                prop_assert_eq!((v - anchor) % c.period_ns(), 0);
            }
        }

        #[test]
        fn presented_frames_never_share_a_cycle(
            wakeups in proptest::collection::vec(0u64..40_000_000, 1..50)
        ) {
            let mut clock = FrameClock::new(RefreshCycle::from_millihertz(60_000, 0).unwrap());
            let mut now = 0;
            let mut last = None;
            for w in wakeups {
                now += w;
                let t = clock.next_presentation(now);
                if let Some(l) = last { prop_assert!(t >= l + clock.cycle().period_ns()); }
                clock.presented(t);
                last = Some(t);
                now = now.max(t);
            }
        }
    }
}
