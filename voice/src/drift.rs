//! Keeps the echo reference in step with the microphone. The two come from different
//! devices, each with its own crystal: a sink that plays 48 000 samples while the
//! microphone records 48 004.8 (100 ppm) lets the echo slide 0.1 ms a second against
//! its reference, and a queue between them that grows or empties without end. The
//! aligner resamples the reference to the microphone's clock, steering its ratio by how
//! full its queue is, like a PLL steers a clock by phase.

use std::collections::VecDeque;

use crate::FRAME;

/// Reference samples the aligner keeps queued (20 ms): enough to absorb the two
/// streams' scheduling jitter (PipeWire hands over up to a 1024-sample quantum at a
/// time); each sample of it delays the reference, which must still arrive before its
/// echo (the sink's own buffering and the room add more than this).
pub const TARGET_QUEUE: f64 = 2.0 * FRAME as f64;
/// Weight of each frame in the smoothed queue level (a time constant of half a second,
/// which averages chunk jitter away).
const LEVEL_SMOOTHING: f64 = 0.02;
/// Proportional and integral weights of the steering, per sample of level error: a
/// critically damped loop with a natural frequency of 0.005 rad a frame, which settles
/// in about ten seconds (the queue's level is the integral of the rate error over 480
/// samples a frame).
const PROPORTIONAL: f64 = 2.0 * 0.005 / FRAME as f64;
const INTEGRAL: f64 = 0.005 * 0.005 / FRAME as f64;
/// The furthest the ratio may stray from 1: real crystals are within 100 ppm, so 0.5%
/// means the numbers are not a clock but a stall or a burst.
const MAX_SKEW: f64 = 0.005;

/// The aligner for one reference stream.
pub struct Aligner {
    queue: VecDeque<f32>,
    /// Where the next output sample lies between queue[1] and queue[2].
    position: f64,
    level: f64,
    integral: f64,
    ratio: f64,
    /// The applied ratio averaged over about twenty seconds: the clocks' offset.
    average_ratio: f64,
    primed: bool,
    underruns: u64,
}

impl Default for Aligner {
    fn default() -> Self {
        Aligner {
            queue: VecDeque::with_capacity(FRAME * 8),
            position: 0.0,
            level: TARGET_QUEUE,
            integral: 0.0,
            ratio: 1.0,
            average_ratio: 1.0,
            primed: false,
            underruns: 0,
        }
    }
}

impl Aligner {
    /// Reference samples as they arrive, at the sink's pace.
    pub fn push(&mut self, samples: &[f32]) {
        self.queue.extend(samples);
        // Seconds of backlog mean the microphone stopped; keep only what is recent.
        let most = FRAME * 50;
        if self.queue.len() > most {
            let excess = self.queue.len() - FRAME * 2;
            self.queue.drain(..excess);
        }
    }

    /// One microphone frame's worth of reference, resampled to the microphone's clock
    /// (silence until the queue first fills, and for whatever is missing on a stall).
    pub fn pull(&mut self) -> [f32; FRAME] {
        let mut out = [0f32; FRAME];
        if !self.primed {
            if (self.queue.len() as f64) < TARGET_QUEUE + 4.0 {
                return out;
            }
            self.primed = true;
            self.level = self.queue.len() as f64;
        }
        self.level += (self.queue.len() as f64 - self.level) * LEVEL_SMOOTHING;
        let error = self.level - TARGET_QUEUE;
        self.integral = (self.integral + error * INTEGRAL).clamp(-MAX_SKEW, MAX_SKEW);
        self.ratio =
            (1.0 + error * PROPORTIONAL + self.integral).clamp(1.0 - MAX_SKEW, 1.0 + MAX_SKEW);
        self.average_ratio += (self.ratio - self.average_ratio) * 0.0005;
        for sample in &mut out {
            if self.queue.len() < 4 {
                self.underruns += 1;
                self.primed = false;
                self.position = 0.0;
                self.queue.clear();
                break;
            }
            *sample = self.interpolate();
            self.position += self.ratio;
            while self.position >= 1.0 && self.queue.len() >= 4 {
                self.queue.pop_front();
                self.position -= 1.0;
            }
        }
        out
    }

    /// Cubic (Catmull-Rom) interpolation at `position` past queue[1].
    fn interpolate(&self) -> f32 {
        let t = self.position as f32;
        let (a, b, c, d) = (self.queue[0], self.queue[1], self.queue[2], self.queue[3]);
        b + 0.5 * t * (c - a + t * (2.0 * a - 5.0 * b + 4.0 * c - d + t * (3.0 * (b - c) + d - a)))
    }

    /// Reference samples read per microphone sample, averaged over about twenty seconds:
    /// the sink's clock against the microphone's (1.0001: the sink runs 100 ppm fast).
    pub fn clock_ratio(&self) -> f64 {
        self.average_ratio
    }

    /// Frames that found the queue empty (a stalled or moving reference).
    pub fn underruns(&self) -> u64 {
        self.underruns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds a tone from a sink whose clock runs `ppm` against the microphone's, in
    /// bursts (every third frame's samples come a frame late), and returns the
    /// aligner and its output after `seconds`.
    fn run(ppm: f64, seconds: usize) -> (Aligner, Vec<f32>) {
        let mut aligner = Aligner::default();
        let step = 1.0 + ppm * 1e-6;
        let (mut made, mut sent, mut out) = (0.0, 0usize, Vec::new());
        for frame in 0..seconds * 100 {
            made += FRAME as f64 * step;
            if frame % 3 != 1 {
                let due = made as usize;
                let samples: Vec<f32> = (sent..due)
                    .map(|i| (i as f64 * 0.01).sin() as f32)
                    .collect();
                aligner.push(&samples);
                sent = due;
            }
            out.extend(aligner.pull());
        }
        (aligner, out)
    }

    #[test]
    fn a_100_ppm_offset_is_found_and_followed_without_gaps() {
        for ppm in [100.0, -100.0, 0.0] {
            let (aligner, out) = run(ppm, 120);
            let found = (aligner.clock_ratio() - 1.0) * 1e6;
            assert!((found - ppm).abs() < 30.0, "{ppm} ppm: found {found:.1}");
            assert!(
                aligner.underruns() <= 1,
                "{ppm}: {} underruns",
                aligner.underruns()
            );
            // The last ten seconds: a continuous tone (no step between samples larger
            // than the tone's own slope allows).
            let tail = &out[out.len() - 48_000 * 10..];
            let worst = tail
                .windows(2)
                .map(|w| (w[1] - w[0]).abs())
                .fold(0f32, f32::max);
            assert!(worst < 0.0102, "{ppm}: a jump of {worst}");
        }
    }

    #[test]
    fn a_stall_is_silence_then_the_stream_resumes() {
        let mut aligner = Aligner::default();
        aligner.push(&[0.5; FRAME * 3]);
        assert!(aligner.pull().iter().all(|s| *s == 0.5));
        assert!(aligner.pull().iter().all(|s| *s == 0.5));
        let partial = aligner.pull();
        assert!(partial.contains(&0.0) || aligner.underruns() == 0);
        for _ in 0..5 {
            aligner.pull();
        }
        aligner.push(&[0.25; FRAME * 4]);
        assert!(aligner.pull().iter().all(|s| *s == 0.25));
    }
}
