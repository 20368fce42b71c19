//! When a real output composites its next frame. At a fixed refresh, new client
//! content composites at once (it lands on the next vblank either way, and an early
//! start keeps a slow frame from missing it), while a frame for the pointer alone
//! starts as late as the render-time prediction allows before the vblank, so it shows
//! where the pointer is at the last moment.
//! With VRR on, the [`VrrPacer`] decides: client frames flip as soon as they are ready
//! (within the panel's range), slow clients get repeated frames, and cursor movement
//! rides the client's frames. Flip timestamps (and render durations) come back in, and
//! a flip that landed a vblank late makes the prediction more careful.

use crate::{
    predict::{PredictorConfig, RenderTimePredictor},
    vrr::{Flip, PacerConfig, VrrPacer, VrrRange},
};

/// What asked for a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// A client committed new content (or the scene changed otherwise).
    Content,
    /// Only the pointer moved.
    Cursor,
}

/// Paces one output's frames.
#[derive(Debug, Clone)]
pub struct FrameScheduler {
    period_ns: u64,
    predictor: RenderTimePredictor,
    vrr: Option<VrrPacer>,
    last_vblank: Option<u64>,
    pending: Option<Want>,
    /// The vblank the frame being composited aims at.
    target: Option<u64>,
    /// When the frame was meant to start (a late wake-up counts as render time).
    armed_for: Option<u64>,
    started_at: Option<u64>,
    render_ns: Option<u64>,
}

impl FrameScheduler {
    /// A scheduler for a fixed refresh of `period_ns`, with the prediction tuned for
    /// a real display, where a missed vblank is a visible stutter: the 99th percentile
    /// of recent render times plus at least 1.5 ms.
    pub fn new(period_ns: u64) -> Self {
        Self::with_predictor(
            period_ns,
            PredictorConfig {
                percentile: 0.99,
                base_margin_ns: 1_500_000,
                ..PredictorConfig::default()
            },
        )
    }

    /// A scheduler with a predictor of its own tuning.
    pub fn with_predictor(period_ns: u64, config: PredictorConfig) -> Self {
        Self {
            period_ns: period_ns.max(1),
            predictor: RenderTimePredictor::new(config),
            vrr: None,
            last_vblank: None,
            pending: None,
            target: None,
            armed_for: None,
            started_at: None,
            render_ns: None,
        }
    }

    /// The caller armed its timer for `start` (from [`Self::next_start`]): the time
    /// from then until submission is what the prediction learns, so a wake-up that
    /// comes late is planned for too.
    pub fn armed(&mut self, start: u64) {
        self.armed_for = Some(start);
    }

    /// The fixed refresh period changed (a new mode).
    pub fn set_period(&mut self, period_ns: u64) {
        self.period_ns = period_ns.max(1);
        self.last_vblank = None;
    }

    /// VRR goes on within `range`, or off (None). Keeps the pacer while the range stays.
    pub fn set_vrr(&mut self, range: Option<VrrRange>) {
        match (range, &self.vrr) {
            (Some(r), Some(p)) if p.range() == r => {}
            (Some(r), _) => self.vrr = Some(VrrPacer::new(r, PacerConfig::default())),
            (None, _) => self.vrr = None,
        }
    }

    /// Whether VRR pacing is in force.
    pub fn vrr(&self) -> bool {
        self.vrr.is_some()
    }

    /// Something wants a frame, seen at `now`.
    pub fn request(&mut self, want: Want, now: u64) {
        self.pending = Some(match (self.pending, want) {
            (Some(Want::Content), _) | (_, Want::Content) => Want::Content,
            _ => Want::Cursor,
        });
        if let Some(pacer) = &mut self.vrr {
            match want {
                Want::Content => pacer.client_frame_ready(now),
                Want::Cursor => pacer.cursor_moved(now),
            }
        }
    }

    /// The pointer moved on a cursor plane at `now`; returns whether to commit the
    /// plane at once. At a fixed refresh it may (the move lands on the next vblank like
    /// any frame). With VRR every commit is a refresh, so a pointer moved a thousand
    /// times a second would drive the panel at its highest rate over a 30 fps game:
    /// the move waits for the pacer instead, riding the next client frame or repeat,
    /// or flipping on its own at a capped rate when the client stalls.
    pub fn cursor_plane_moved(&mut self, now: u64) -> bool {
        if self.vrr.is_none() {
            return true;
        }
        self.request(Want::Cursor, now);
        false
    }

    /// The predicted time from starting to composite until the frame can flip, ns.
    pub fn lead_ns(&self) -> u64 {
        self.predictor.predict()
    }

    /// When to start compositing, and what the flip will show, as seen at `now`; None
    /// while nothing needs a frame. The caller must not start while a flip is pending.
    pub fn next_start(&self, now: u64) -> Option<(u64, Flip)> {
        if let Some(pacer) = &self.vrr {
            // The panel refreshes on our flip: start when the pacer says to flip.
            return pacer.next_flip(now).map(|(at, flip)| {
                let start = at.saturating_sub(self.lead_ns() / 2).max(now);
                (start, flip)
            });
        }
        let want = self.pending?;
        let Some(last) = self.last_vblank else {
            return Some((now, Flip::Client));
        };
        // New content composites at once: it lands on the next vblank either way, and
        // starting early keeps a slow frame from missing it. A frame for the pointer
        // alone starts as late as the prediction allows, so it shows where the pointer
        // is at the last moment. When the next vblank is out of reach by the
        // prediction, it starts at once anyway (a later aim would only skip it).
        if want == Want::Content {
            return Some((now, Flip::Client));
        }
        let vblank = self.vblank_after(last, now);
        Some((vblank.saturating_sub(self.lead_ns()).max(now), Flip::Cursor))
    }

    /// The first vblank of the grid through `last` that is later than `t`.
    fn vblank_after(&self, last: u64, t: u64) -> u64 {
        if t < last {
            return last;
        }
        let periods = (t - last) / self.period_ns + 1;
        last + periods * self.period_ns
    }

    /// Compositing starts at `now`; returns the vblank it aims at (None with VRR).
    pub fn started(&mut self, now: u64) -> Option<u64> {
        self.pending = None;
        self.started_at = Some(self.armed_for.take().map_or(now, |a| a.min(now)));
        self.render_ns = None;
        self.target = match (&self.vrr, self.last_vblank) {
            (None, Some(last)) => Some(self.vblank_after(last, now)),
            _ => None,
        };
        self.target
    }

    /// The frame was composited and submitted at `now`.
    pub fn submitted(&mut self, now: u64) {
        if let Some(start) = self.started_at {
            self.render_ns = Some(now.saturating_sub(start));
        }
    }

    /// The frame started last produced nothing to flip.
    pub fn nothing_to_flip(&mut self) {
        self.target = None;
        self.started_at = None;
    }

    /// A flip of `flip` landed at vblank time `at`.
    pub fn flipped(&mut self, at: u64, flip: Flip) {
        if let Some(duration) = self.render_ns.take() {
            // Later than half a period after the aim: it missed that vblank.
            let missed = self
                .target
                .is_some_and(|target| at > target + self.period_ns / 2);
            self.predictor.record(duration, missed);
        }
        self.target = None;
        self.started_at = None;
        self.last_vblank = Some(at);
        if let Some(pacer) = &mut self.vrr {
            pacer.flipped(at, flip);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: u64 = 16_666_667;

    #[test]
    fn at_a_fixed_refresh_content_starts_at_once_and_the_cursor_late() {
        let mut s = FrameScheduler::new(P);
        assert_eq!(s.next_start(0), None, "nothing asked for a frame");
        s.request(Want::Content, 0);
        // No vblank seen yet: at once.
        assert_eq!(s.next_start(0), Some((0, Flip::Client)));
        s.started(0);
        s.submitted(2_000_000);
        s.flipped(P, Flip::Client);
        // A client commits right after the flip: composited at once.
        s.request(Want::Content, P + 1_000_000);
        assert_eq!(
            s.next_start(P + 1_000_000),
            Some((P + 1_000_000, Flip::Client))
        );
        s.started(P + 1_000_000);
        s.flipped(2 * P, Flip::Client);
        // The pointer moves: its frame waits until the lead before the next vblank.
        s.request(Want::Cursor, 2 * P + 1_000_000);
        let (start, flip) = s.next_start(2 * P + 1_000_000).expect("a frame");
        assert_eq!((start, flip), (3 * P - s.lead_ns(), Flip::Cursor));
        // Asked too late for the next vblank by the prediction: starts at once rather
        // than skip it.
        assert_eq!(s.next_start(3 * P - 100), Some((3 * P - 100, Flip::Cursor)));
    }

    #[test]
    fn a_missed_vblank_makes_the_lead_longer() {
        let mut s = FrameScheduler::new(P);
        s.request(Want::Content, 0);
        s.started(0);
        s.flipped(0, Flip::Client);
        let before = s.lead_ns();
        s.request(Want::Cursor, 1);
        let (start, _) = s.next_start(1).expect("a frame");
        let target = s.started(start).expect("a target");
        s.submitted(start + 3_000_000);
        // It landed one vblank late.
        s.flipped(target + P, Flip::Client);
        assert!(s.lead_ns() > before, "{} > {before}", s.lead_ns());
    }

    #[test]
    fn with_vrr_a_client_frame_flips_at_once_and_the_cursor_waits_for_it() {
        let mut s = FrameScheduler::new(P);
        s.set_vrr(Some(VrrRange::from_hz(48.0, 144.0).expect("range")));
        s.request(Want::Content, 0);
        s.started(0);
        s.flipped(1_000_000, Flip::Client);
        // A game frame 11 ms later goes out at once, not at a 60 Hz grid.
        s.request(Want::Content, 12_000_000);
        assert_eq!(s.next_start(12_000_000), Some((12_000_000, Flip::Client)));
        s.started(12_000_000);
        s.flipped(13_000_000, Flip::Client);
        // The mouse moves while the game is running: no flip of its own.
        s.request(Want::Cursor, 14_000_000);
        assert_eq!(s.next_start(14_000_000), None);
    }

    #[test]
    fn vrr_repeats_a_slow_clients_frames_to_stay_in_range() {
        let mut s = FrameScheduler::new(P);
        s.set_vrr(Some(VrrRange::from_hz(48.0, 144.0).expect("range")));
        // A 20 fps client.
        for i in 0..4u64 {
            let t = i * 50_000_000;
            s.request(Want::Content, t);
            s.started(t);
            s.flipped(t, Flip::Client);
        }
        let last = 150_000_000;
        let (at, flip) = s.next_start(last + 1).expect("a repeat");
        assert_eq!(flip, Flip::Repeat);
        assert!(at - last <= 20_833_334, "repeat after {} ns", at - last);
    }
}
