//! The instant-replay ring: the last seconds of encoded video, held as compressed
//! packets so saving needs no second encoding. It keeps whole groups of pictures: the
//! oldest key frame kept is the last one at or before the window's start, so a save
//! always covers the whole window and begins where a decoder can.

use std::collections::VecDeque;

/// One encoded packet as the ring sees it.
#[derive(Debug, Clone)]
pub struct Held<P> {
    /// Its frame number (presentation order).
    pub frame: u64,
    /// Whether decoding can start here.
    pub key: bool,
    /// Bytes it takes.
    pub size: usize,
    /// The packet itself.
    pub packet: P,
}

/// A ring bounded by time (`frames` of window) and by memory (`max_bytes`).
#[derive(Debug)]
pub struct ReplayRing<P> {
    window: u64,
    max_bytes: usize,
    held: VecDeque<Held<P>>,
    bytes: usize,
}

impl<P> ReplayRing<P> {
    /// A ring keeping `window` frames (seconds × fps), never more than `max_bytes`.
    pub fn new(window: u64, max_bytes: usize) -> Self {
        Self {
            window: window.max(1),
            max_bytes,
            held: VecDeque::new(),
            bytes: 0,
        }
    }

    /// Bytes held now.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Packets held now.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// Adds the newest packet and lets go of groups that fell out of the window.
    pub fn push(&mut self, packet: Held<P>) {
        self.bytes += packet.size;
        self.held.push_back(packet);
        let window_start = self.window_start();
        // Drop the oldest group while the next key frame still starts at or before the
        // window (so the window stays covered), or while memory is over its bound and
        // another group remains.
        while let Some(next_key) = self.second_key() {
            let next_key_frame = self.held[next_key].frame;
            if next_key_frame <= window_start || self.bytes > self.max_bytes {
                for p in self.held.drain(..next_key) {
                    self.bytes -= p.size;
                }
            } else {
                break;
            }
        }
        // Packets before the first key frame can never be decoded.
        while self.held.front().is_some_and(|p| !p.key) {
            if let Some(p) = self.held.pop_front() {
                self.bytes -= p.size;
            }
        }
    }

    /// The index of the second key frame held (where the oldest group ends).
    fn second_key(&self) -> Option<usize> {
        self.held
            .iter()
            .enumerate()
            .skip(1)
            .find(|(_, p)| p.key)
            .map(|(i, _)| i)
    }

    /// What a save writes: from the key frame nearest the window's start (the earlier
    /// of two as near) to the newest packet, so the replay is the window's length give
    /// or take less than half a group.
    pub fn replay(&self) -> impl Iterator<Item = &Held<P>> {
        let window_start = self.window_start();
        let from = self
            .held
            .iter()
            .enumerate()
            .filter(|(_, p)| p.key)
            .min_by_key(|(_, p)| p.frame.abs_diff(window_start))
            .map_or(0, |(i, _)| i);
        self.held.iter().skip(from)
    }

    /// The first frame of the window: `window` frames up to and with the newest.
    fn window_start(&self) -> u64 {
        let newest = self.held.back().map_or(0, |p| p.frame);
        (newest + 1).saturating_sub(self.window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fill(ring: &mut ReplayRing<()>, frames: u64, gop: u64, size: usize) {
        for frame in 0..frames {
            ring.push(Held {
                frame,
                key: frame % gop == 0,
                size,
                packet: (),
            });
        }
    }

    #[test]
    fn five_seconds_in_a_three_second_ring_saves_three_seconds_from_a_key_frame() {
        let mut ring = ReplayRing::new(180, usize::MAX);
        fill(&mut ring, 300, 60, 1000);
        let saved: Vec<u64> = ring.replay().map(|p| p.frame).collect();
        assert_eq!(
            saved.first(),
            Some(&120),
            "the key frame at the window's start"
        );
        assert!(ring.replay().next().unwrap().key);
        assert_eq!(saved.len(), 180);
        assert!(ring.bytes() <= 1000 * (180 + 60));
    }

    #[test]
    fn memory_bound_wins_over_the_window_but_keeps_one_group() {
        let mut ring = ReplayRing::new(600, 50_000);
        fill(&mut ring, 300, 30, 1000);
        assert!(ring.bytes() <= 50_000 + 30 * 1000);
        assert!(ring.replay().next().unwrap().key);
    }

    proptest! {
        #[test]
        fn a_save_starts_on_a_key_frame_and_covers_the_window(
            frames in 1u64..2000, gop in 1u64..300, window in 1u64..600,
        ) {
            let mut ring = ReplayRing::new(window, usize::MAX);
            fill(&mut ring, frames, gop, 10);
            let saved: Vec<&Held<()>> = ring.replay().collect();
            prop_assert!(saved[0].key);
            let start = frames.saturating_sub(window);
            let nearest = (0..frames).step_by(gop as usize).map(|k| k.abs_diff(start)).min();
            prop_assert_eq!(Some(saved[0].frame.abs_diff(start)), nearest, "the nearest key frame ever made");
            prop_assert_eq!(ring.bytes(), ring.len() * 10);
        }
    }
}
