//! The quality suppressor. RNNoise 0.2 decides, band by band, how much of each 20 ms
//! window is voice; a per-bin MMSE-LSA estimator (noise learnt while RNNoise hears no
//! speech) decides the same between the harmonics. Their geometric mean is applied to
//! the input's own spectrum, with the input's phase: RNNoise's output is used only for
//! its magnitudes, so its internal high-pass and pitch filter no longer bend the low
//! harmonics (what cost the light mode 6 to 8 dB of SI-SDR on clean speech).

use std::collections::VecDeque;

use realfft::num_complex::Complex32;

use crate::lsa::Lsa;
use crate::rnnoise::{self, Rnnoise};
use crate::spectral::{Stft, BINS};
use crate::FRAME;

/// Frames between a sample going in and coming out: RNNoise's delay and one hop of
/// overlap-add.
pub const DELAY_FRAMES: usize = rnnoise::DELAY_FRAMES + 1;

/// One microphone's quality suppressor.
pub struct Quality {
    rnnoise: Rnnoise,
    /// Input hops waiting for RNNoise's output for them.
    waiting: VecDeque<[f32; FRAME]>,
    input: Stft,
    denoised: Stft,
    lsa: Lsa,
    input_spectrum: Vec<Complex32>,
    denoised_spectrum: Vec<Complex32>,
    gains: Vec<f32>,
    power: Vec<f32>,
}

impl Quality {
    /// A suppressor, or `None` where RNNoise cannot start.
    pub fn new() -> Option<Quality> {
        let mut waiting = VecDeque::with_capacity(rnnoise::DELAY_FRAMES + 1);
        waiting.extend(std::iter::repeat_n([0f32; FRAME], rnnoise::DELAY_FRAMES));
        Some(Quality {
            rnnoise: Rnnoise::new()?,
            waiting,
            input: Stft::default(),
            denoised: Stft::default(),
            lsa: Lsa::new(BINS),
            input_spectrum: vec![Complex32::default(); BINS],
            denoised_spectrum: vec![Complex32::default(); BINS],
            gains: vec![1.0; BINS],
            power: vec![0.0; BINS],
        })
    }

    /// Cleans one frame in place (full scale 1.0), `DELAY_FRAMES` late; returns
    /// RNNoise's speech probability.
    pub fn process(&mut self, frame: &mut [f32; FRAME]) -> f32 {
        let scaled = frame.map(|v| v * 32768.0);
        let mut denoised = [0f32; FRAME];
        let speech = self.rnnoise.process(&mut denoised, &scaled);
        for v in &mut denoised {
            *v /= 32768.0;
        }
        self.waiting.push_back(*frame);
        // The queue is refilled above before each pop, so it is never empty here.
        let matching = self.waiting.pop_front().unwrap_or([0.0; FRAME]);

        self.input.analyze(&matching, &mut self.input_spectrum);
        self.denoised
            .analyze(&denoised, &mut self.denoised_spectrum);
        for (p, x) in self.power.iter_mut().zip(&self.input_spectrum) {
            *p = x.norm_sqr();
        }
        self.lsa.gains(&self.power, speech, &mut self.gains);
        for ((x, y), lsa) in self
            .input_spectrum
            .iter_mut()
            .zip(&self.denoised_spectrum)
            .zip(&self.gains)
        {
            let network = (y.norm() / (x.norm() + 1e-9)).min(1.0);
            *x *= (network * lsa).sqrt();
        }
        self.input.synthesize(&self.input_spectrum, frame);
        speech
    }
}
