//! The chain itself: (high-pass) → noise suppression → (gain control), on 10 ms frames
//! of 48 kHz mono. It takes any number of samples and gives back as many, one frame
//! later (the suppressor's look-ahead); [`Chain::process_all`] removes that delay for
//! files.
//!
//! The high-pass and the gain control are off unless asked for: RNNoise already takes
//! away rumble and hum (36 dB of a fan's hum in the tests' clips), while even a 20 Hz
//! high-pass turns the phase of a voice's lowest harmonics enough to cost 3.7 dB of
//! SI-SDR on them, and gain control changes the level on purpose, which SI-SDR counts
//! as distortion. Both are there for microphones that need them.

use nnnoiseless::DenoiseState;

use crate::{agc::Agc, highpass::HighPass, FRAME, RATE};

/// How hard the chain works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// RNNoise (nnnoiseless): one frame of delay, about 1% of a core.
    Light,
}

impl Mode {
    /// The word the CLI and config use.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Light => "light",
        }
    }

    /// Parses that word.
    pub fn from_name(word: &str) -> Option<Mode> {
        match word {
            "light" => Some(Mode::Light),
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
}

/// One microphone's chain.
pub struct Chain {
    mode: Mode,
    options: Options,
    highpass: HighPass,
    denoise: Box<DenoiseState<'static>>,
    agc: Agc,
    /// Samples waiting for a whole frame.
    pending: Vec<f32>,
    /// The last frame's voice probability.
    voice: f32,
}

impl Chain {
    /// A chain in `mode` with `options`.
    pub fn new(mode: Mode, options: Options) -> Chain {
        Chain {
            mode,
            options,
            highpass: HighPass::new(80.0, RATE as f32),
            denoise: DenoiseState::new(),
            agc: Agc::default(),
            pending: Vec::with_capacity(FRAME),
            voice: 0.0,
        }
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Delay the chain adds, in samples.
    pub fn latency(&self) -> usize {
        FRAME
    }

    /// The last frame's probability of speech.
    pub fn voice(&self) -> f32 {
        self.voice
    }

    /// Cleans one 10 ms frame in place (full scale 1.0).
    pub fn process_frame(&mut self, frame: &mut [f32; FRAME]) {
        if self.options.high_pass {
            self.highpass.process(frame);
        }
        // RNNoise works on 16-bit sample values.
        let input: Vec<f32> = frame.iter().map(|v| v * 32768.0).collect();
        let mut output = [0f32; FRAME];
        self.voice = self.denoise.process_frame(&mut output, &input);
        for (o, v) in frame.iter_mut().zip(output) {
            *o = v / 32768.0;
        }
        if self.options.gain_control {
            self.agc.process(frame, self.voice);
        }
    }

    /// Cleans `input`, returning whole frames as they complete (a stream's pace).
    pub fn process(&mut self, input: &[f32]) -> Vec<f32> {
        let mut out = Vec::with_capacity(input.len() + FRAME);
        for &s in input {
            self.pending.push(s);
            if self.pending.len() == FRAME {
                let mut frame = [0f32; FRAME];
                frame.copy_from_slice(&self.pending);
                self.pending.clear();
                self.process_frame(&mut frame);
                out.extend_from_slice(&frame);
            }
        }
        out
    }

    /// A whole recording: cleaned, delay removed, the same length as `input`.
    pub fn process_all(&mut self, input: &[f32]) -> Vec<f32> {
        let mut padded = input.to_vec();
        padded.extend(std::iter::repeat_n(0.0, FRAME * 2));
        let out = self.process(&padded);
        out.get(self.latency()..self.latency() + input.len())
            .unwrap_or_default()
            .to_vec()
    }
}
