//! A constant frame rate out of pictures that come when the screen changes. A compositor
//! draws only when something moved, and a busy one misses a refresh now and then; a
//! recording still wants one frame per refresh, so players, editors and streaming
//! servers see a steady rate and the file's length is its frame count over the rate.
//!
//! Each picture takes the grid slot nearest the moment it was drawn; a gap is filled by
//! repeating the picture before it; a picture that came too early for any free slot
//! (a burst: another picture took the slot before) is dropped. The clock's own timer
//! fills gaps while the screen is still, one slot behind "now" so a picture drawn this
//! instant still gets its own; a picture that reaches the encoder after the timer
//! already repeated past its moment (a busy machine) takes the next slot instead of
//! being lost, so the newest content always makes it in.

use std::time::Duration;

/// What to encode for one event, in grid slots (frame numbers from 0).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Slots {
    /// Slots to fill with the previous picture, before anything else: `first..end`.
    pub repeat: std::ops::Range<u64>,
    /// The slot the new picture takes; None when it was dropped (or there is none).
    pub picture: Option<u64>,
}

/// The grid: `fps` slots a second from `start`.
#[derive(Debug, Clone)]
pub struct FrameClock {
    fps: u64,
    start: Duration,
    /// The next free slot.
    next: u64,
    /// The slot the last picture took (the others hold repeats).
    last_picture: Option<u64>,
}

impl FrameClock {
    /// A grid starting at `start` (the compositor's monotonic clock).
    pub fn new(fps: u32, start: Duration) -> FrameClock {
        FrameClock {
            fps: u64::from(fps.max(1)),
            start,
            next: 0,
            last_picture: None,
        }
    }

    /// Frames placed so far.
    pub fn frames(&self) -> u64 {
        self.next
    }

    /// The slot nearest `at`.
    pub fn slot_at(&self, at: Duration) -> u64 {
        let since = at.saturating_sub(self.start).as_nanos();
        ((since * u128::from(self.fps) + 500_000_000) / 1_000_000_000) as u64
    }

    /// When slot `slot` begins.
    pub fn time_of(&self, slot: u64) -> Duration {
        self.start
            + Duration::from_nanos((u128::from(slot) * 1_000_000_000 / u128::from(self.fps)) as u64)
    }

    /// A picture drawn at `at`.
    pub fn picture(&mut self, at: Duration) -> Slots {
        let due = self.slot_at(at);
        if self.next == 0 {
            // The first picture opens the recording, whenever it came.
            self.next = 1;
            self.last_picture = Some(0);
            return Slots {
                repeat: 0..0,
                picture: Some(0),
            };
        }
        // One slot early is jitter (two draws rounded to one slot); more is a surplus
        // where a picture holds the slot before; after the timer's repeats it is late.
        let burst = self.last_picture.is_some_and(|p| p + 1 == self.next);
        if due + 1 < self.next && burst {
            return Slots {
                repeat: self.next..self.next,
                picture: None,
            };
        }
        let slot = due.max(self.next);
        let repeat = self.next..slot;
        self.next = slot + 1;
        self.last_picture = Some(slot);
        Slots {
            repeat,
            picture: Some(slot),
        }
    }

    /// The timer at `now`: repeats for every slot that passed with no picture, leaving
    /// the current one free.
    pub fn tick(&mut self, now: Duration) -> Slots {
        let current = self.slot_at(now);
        if self.next == 0 || current <= self.next {
            return Slots::default();
        }
        let repeat = self.next..current;
        self.next = current;
        Slots {
            repeat,
            picture: None,
        }
    }

    /// The end of the recording at `at`: repeats up to it, so the frame count is the
    /// length times the rate.
    pub fn finish(&mut self, at: Duration) -> Slots {
        self.tick(at)
    }

    /// When the timer should next look: the end of the slot after the next free one.
    pub fn next_deadline(&self) -> Duration {
        self.time_of(self.next + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FRAME: Duration = Duration::from_nanos(16_666_667);

    #[test]
    fn a_steady_60_hz_source_fills_every_slot_once() {
        let start = Duration::from_secs(10);
        let mut clock = FrameClock::new(60, start);
        for i in 0..180u32 {
            let s = clock.picture(start + FRAME * i + Duration::from_micros(300));
            assert_eq!(s.picture, Some(u64::from(i)));
            assert!(s.repeat.is_empty());
        }
        assert!(clock
            .finish(start + Duration::from_secs(3))
            .repeat
            .is_empty());
        assert_eq!(clock.frames(), 180);
    }

    #[test]
    fn a_still_screen_is_repeated_and_a_burst_is_dropped() {
        let start = Duration::ZERO;
        let mut clock = FrameClock::new(60, start);
        clock.picture(start);
        // Nothing for half a second: the timer repeats, one slot behind now.
        let s = clock.tick(Duration::from_millis(500));
        assert_eq!(s.repeat, 1..30);
        // Three pictures in one instant: the first takes slot 30, the next slot 31
        // (jitter), the third has no slot left.
        let at = Duration::from_millis(500);
        assert_eq!(clock.picture(at).picture, Some(30));
        assert_eq!(clock.picture(at).picture, Some(31));
        assert_eq!(clock.picture(at).picture, None);
        assert_eq!(clock.finish(Duration::from_secs(1)).repeat, 32..60);
        assert_eq!(clock.frames(), 60);
    }

    #[test]
    fn a_picture_that_arrives_after_the_timer_repeated_past_it_is_kept() {
        let start = Duration::ZERO;
        let mut clock = FrameClock::new(60, start);
        clock.picture(start);
        // The encoder fell behind: its timer ran at 500 ms before it saw the picture
        // drawn at 400 ms, which must still make it into the file.
        assert_eq!(clock.tick(Duration::from_millis(500)).repeat, 1..30);
        assert_eq!(clock.picture(Duration::from_millis(400)).picture, Some(30));
        // A second one drawn then is a surplus now.
        assert_eq!(clock.picture(Duration::from_millis(400)).picture, None);
        assert_eq!(clock.finish(Duration::from_secs(1)).repeat, 31..60);
    }

    proptest! {
        /// Whatever the arrivals, slots come out contiguous from 0 with no gap or
        /// repeat of a number, and finishing at T leaves round(T × fps) frames.
        #[test]
        fn slots_are_contiguous_and_the_count_is_the_length(
            gaps in proptest::collection::vec(0u64..80_000, 1..300),
            ticks in proptest::collection::vec(any::<bool>(), 300),
            fps in prop_oneof![Just(30u32), Just(60), Just(144)],
        ) {
            let start = Duration::from_secs(1);
            let mut clock = FrameClock::new(fps, start);
            let mut at = start;
            let mut seen = Vec::new();
            for (i, gap) in gaps.iter().enumerate() {
                at += Duration::from_micros(*gap);
                let s = if ticks[i] && i > 0 { clock.tick(at) } else { clock.picture(at) };
                seen.extend(s.repeat.clone());
                seen.extend(s.picture);
            }
            let end = at + Duration::from_millis(100);
            let s = clock.finish(end);
            seen.extend(s.repeat);
            let expected: Vec<u64> = (0..seen.len() as u64).collect();
            prop_assert_eq!(&seen, &expected);
            let want = clock.slot_at(end);
            prop_assert!(clock.frames() == want || clock.frames() == want + 1,
                "{} frames for {} slots", clock.frames(), want);
        }
    }
}
