//! A streaming short-time Fourier transform on 10 ms hops: 20 ms windows, half
//! overlapping, square-root Hann on both sides so that untouched spectra give the input
//! back exactly (one hop later).

use std::sync::Arc;

use realfft::num_complex::Complex32;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use crate::FRAME;

/// Window length in samples.
pub const WINDOW: usize = 2 * FRAME;
/// Bins of one spectrum.
pub const BINS: usize = WINDOW / 2 + 1;

/// Analysis and synthesis for one signal.
pub struct Stft {
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
    window: Vec<f32>,
    /// The previous hop's input.
    previous: Vec<f32>,
    /// The second half of the last synthesised window, waiting for its overlap.
    tail: Vec<f32>,
    time: Vec<f32>,
    scratch: Vec<Complex32>,
}

impl Default for Stft {
    fn default() -> Self {
        let mut planner = RealFftPlanner::<f32>::new();
        let forward = planner.plan_fft_forward(WINDOW);
        let inverse = planner.plan_fft_inverse(WINDOW);
        let scratch = forward.make_output_vec();
        // Periodic Hann: its half-overlapped copies sum to one.
        let window = (0..WINDOW)
            .map(|n| {
                let hann = 0.5 - 0.5 * (std::f32::consts::TAU * n as f32 / WINDOW as f32).cos();
                hann.sqrt()
            })
            .collect();
        Stft {
            forward,
            inverse,
            window,
            previous: vec![0.0; FRAME],
            tail: vec![0.0; FRAME],
            time: vec![0.0; WINDOW],
            scratch,
        }
    }
}

impl Stft {
    /// The spectrum of the window ending with `hop`, into `spectrum` (`BINS` long).
    pub fn analyze(&mut self, hop: &[f32; FRAME], spectrum: &mut [Complex32]) {
        let (first, second) = self.time.split_at_mut(FRAME);
        first.copy_from_slice(&self.previous);
        second.copy_from_slice(hop);
        self.previous.copy_from_slice(hop);
        for (t, w) in self.time.iter_mut().zip(&self.window) {
            *t *= w;
        }
        // Lengths are the plan's own, so the transform cannot fail.
        let _ = self.forward.process(&mut self.time, spectrum);
    }

    /// Turns a (modified) spectrum back into the hop that is now complete.
    pub fn synthesize(&mut self, spectrum: &[Complex32], hop: &mut [f32; FRAME]) {
        self.scratch.copy_from_slice(spectrum);
        // A real signal's spectrum has real end bins; rounding must not make the
        // inverse refuse it.
        self.scratch[0].im = 0.0;
        self.scratch[BINS - 1].im = 0.0;
        let _ = self.inverse.process(&mut self.scratch, &mut self.time);
        let scale = 1.0 / WINDOW as f32;
        for (t, w) in self.time.iter_mut().zip(&self.window) {
            *t *= w * scale;
        }
        for ((out, tail), t) in hop.iter_mut().zip(&self.tail).zip(&self.time[..FRAME]) {
            *out = tail + t;
        }
        self.tail.copy_from_slice(&self.time[FRAME..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_untouched_spectrum_gives_the_input_back_one_hop_later() {
        let mut stft = Stft::default();
        let input: Vec<f32> = (0..FRAME * 6)
            .map(|n| (n as f32 * 0.05).sin() * 0.5 + ((n * 7919) % 97) as f32 / 970.0)
            .collect();
        let mut spectrum = vec![Complex32::default(); BINS];
        let mut out = Vec::new();
        for chunk in input.chunks_exact(FRAME) {
            let hop: &[f32; FRAME] = chunk.try_into().unwrap();
            stft.analyze(hop, &mut spectrum);
            let mut back = [0f32; FRAME];
            stft.synthesize(&spectrum, &mut back);
            out.extend_from_slice(&back);
        }
        for (a, b) in input.iter().zip(&out[FRAME..]) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
    }
}
