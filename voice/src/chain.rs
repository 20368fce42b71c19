//! The chain itself: (high-pass) → (echo cancellation) → noise suppression → (gain
//! control), on 10 ms frames of 48 kHz mono. Each frame comes out the mode's delay later
//! ([`Chain::latency`]); [`Chain::process_all`] removes that delay for files.
//!
//! The high-pass and the gain control are off unless asked for: RNNoise already takes
//! away rumble and hum (36 dB of a fan's hum in the tests' clips), while even a 20 Hz
//! high-pass turns the phase of a voice's lowest harmonics enough to cost 3.7 dB of
//! SI-SDR on them, and gain control changes the level on purpose, which SI-SDR counts
//! as distortion. Both are there for microphones that need them.

use nnnoiseless::DenoiseState;

use crate::drift::Aligner;
use crate::echo::{EchoCanceller, EchoError, EchoStats};
use crate::quality::{self, Quality};
use crate::{agc::Agc, highpass::HighPass, FRAME, RATE};

/// How hard the chain works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// RNNoise (nnnoiseless): one frame of delay, about 1% of a core.
    Light,
    /// RNNoise 0.2 with a per-bin estimator on the input's own spectrum
    /// ([`crate::quality`]): three frames of delay.
    Quality,
    /// No suppression (echo cancellation and the optional stages only).
    Off,
}

impl Mode {
    /// The word the CLI and config use.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Light => "light",
            Mode::Quality => "quality",
            Mode::Off => "off",
        }
    }

    /// Parses that word.
    pub fn from_name(word: &str) -> Option<Mode> {
        match word {
            "light" => Some(Mode::Light),
            "quality" => Some(Mode::Quality),
            "off" => Some(Mode::Off),
            _ => None,
        }
    }
}

/// What runs besides the suppressor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// An 80 Hz high-pass first (handling noise, rumble of a desk-mounted microphone).
    pub high_pass: bool,
    /// Automatic gain control last (a quiet or distant talker).
    pub gain_control: bool,
    /// Echo cancellation (AEC3) against a reference of what the speakers play, given
    /// with [`Chain::push_reference`] or [`Chain::process_all_with_reference`].
    pub echo_cancel: bool,
}

/// The suppressor a mode runs.
enum Suppressor {
    Light(Box<DenoiseState<'static>>),
    Quality(Box<Quality>),
    Off,
}

/// Why a chain could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The RNNoise 0.2 library refused to start.
    #[error("the quality suppressor (RNNoise 0.2) could not start")]
    QualityUnavailable,
    /// WebRTC's audio processing refused to start.
    #[error(transparent)]
    Echo(#[from] EchoError),
}

/// The echo canceller and the reference it is fed.
struct Echo {
    canceller: EchoCanceller,
    aligner: Aligner,
}

/// One microphone's chain.
pub struct Chain {
    mode: Mode,
    options: Options,
    highpass: HighPass,
    suppressor: Suppressor,
    echo: Option<Echo>,
    agc: Agc,
    /// The last frame's voice probability.
    voice: f32,
}

impl Chain {
    /// A chain in `mode` with `options`.
    pub fn new(mode: Mode, options: Options) -> Result<Chain, ChainError> {
        let suppressor = match mode {
            Mode::Light => Suppressor::Light(DenoiseState::new()),
            Mode::Quality => Suppressor::Quality(Box::new(
                Quality::new().ok_or(ChainError::QualityUnavailable)?,
            )),
            Mode::Off => Suppressor::Off,
        };
        let echo = match options.echo_cancel {
            true => Some(Echo {
                canceller: EchoCanceller::new()?,
                aligner: Aligner::default(),
            }),
            false => None,
        };
        Ok(Chain {
            mode,
            options,
            highpass: HighPass::new(80.0, RATE as f32),
            suppressor,
            echo,
            agc: Agc::default(),
            voice: 0.0,
        })
    }

    /// Delay the chain adds, in samples.
    pub fn latency(&self) -> usize {
        let suppressor = match self.mode {
            Mode::Light => FRAME,
            Mode::Quality => quality::DELAY_FRAMES * FRAME,
            Mode::Off => 0,
        };
        match self.echo {
            Some(_) => suppressor + crate::echo::PROCESSING_DELAY,
            None => suppressor,
        }
    }

    /// The last frame's probability of speech.
    pub fn voice(&self) -> f32 {
        self.voice
    }

    /// What the echo canceller measured, and the reference's clock against the
    /// microphone's (ppm), where echo cancellation is on.
    pub fn echo_stats(&self) -> Option<(EchoStats, f64)> {
        self.echo
            .as_ref()
            .map(|e| (e.canceller.stats(), (e.aligner.clock_ratio() - 1.0) * 1e6))
    }

    /// Reference samples (what the speakers play) as they arrive, at the sink's pace.
    pub fn push_reference(&mut self, samples: &[f32]) {
        if let Some(echo) = &mut self.echo {
            echo.aligner.push(samples);
        }
    }

    /// Cleans one 10 ms frame in place (full scale 1.0); the echo reference comes from
    /// what [`Chain::push_reference`] queued.
    pub fn process_frame(&mut self, frame: &mut [f32; FRAME]) {
        self.process_frame_against(frame, None);
    }

    /// Cleans one frame with `far` as its echo reference (from the same clock, as in
    /// files), or the queued reference where `None`.
    fn process_frame_against(&mut self, frame: &mut [f32; FRAME], far: Option<&[f32; FRAME]>) {
        if self.options.high_pass {
            self.highpass.process(frame);
        }
        if let Some(echo) = &mut self.echo {
            match far {
                Some(far) => echo.canceller.render(far),
                None => {
                    let far = echo.aligner.pull();
                    echo.canceller.render(&far);
                }
            }
            echo.canceller.capture(frame);
        }
        self.voice = match &mut self.suppressor {
            Suppressor::Light(denoise) => {
                // RNNoise works on 16-bit sample values.
                let input = frame.map(|v| v * 32768.0);
                let mut output = [0f32; FRAME];
                let voice = denoise.process_frame(&mut output, &input);
                for (o, v) in frame.iter_mut().zip(output) {
                    *o = v / 32768.0;
                }
                voice
            }
            Suppressor::Quality(quality) => quality.process(frame),
            // Without a suppressor nothing says who speaks; gain control treats
            // everything as speech.
            Suppressor::Off => 1.0,
        };
        if self.options.gain_control {
            self.agc.process(frame, self.voice);
        }
    }

    /// A whole recording: cleaned, delay removed, the same length as `input`.
    pub fn process_all(&mut self, input: &[f32]) -> Vec<f32> {
        self.process_all_with_reference(input, &[])
    }

    /// A whole recording with the echo reference recorded beside it (sample `n` of each
    /// at the same instant; a shorter reference is silence after its end).
    pub fn process_all_with_reference(&mut self, input: &[f32], reference: &[f32]) -> Vec<f32> {
        let frames = (input.len() + self.latency()).div_ceil(FRAME);
        let mut out = Vec::with_capacity(frames * FRAME);
        for n in 0..frames {
            let take = |signal: &[f32]| {
                let mut frame = [0f32; FRAME];
                for (i, s) in frame.iter_mut().enumerate() {
                    *s = signal.get(n * FRAME + i).copied().unwrap_or(0.0);
                }
                frame
            };
            let mut frame = take(input);
            let far = take(reference);
            self.process_frame_against(&mut frame, Some(&far));
            out.extend_from_slice(&frame);
        }
        out.get(self.latency()..self.latency() + input.len())
            .unwrap_or_default()
            .to_vec()
    }
}
