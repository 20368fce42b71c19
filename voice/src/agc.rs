//! Automatic gain control: brings speech to a steady level, and only moves while
//! someone speaks (the suppressor's voice probability says when), so noise between
//! words is never pumped up. Gain changes slowly upwards and faster downwards, and a
//! peak limiter keeps samples inside full scale.

/// Speech level aimed at: RMS of a 10 ms frame of speech, full scale 1.0 (-20 dBFS).
pub const TARGET: f32 = 0.1;
/// The most it amplifies (+12 dB) and attenuates (-12 dB).
const MAX_GAIN: f32 = 4.0;
const MIN_GAIN: f32 = 0.25;

/// The controller's state.
#[derive(Debug, Clone)]
pub struct Agc {
    gain: f32,
    /// Slow estimate of the speech level.
    level: f32,
}

impl Default for Agc {
    fn default() -> Self {
        Agc {
            gain: 1.0,
            level: TARGET,
        }
    }
}

impl Agc {
    /// The gain applied now.
    pub fn gain(&self) -> f32 {
        self.gain
    }

    /// Applies the gain to one frame; `voice` is the probability (0–1) that it holds
    /// speech.
    pub fn process(&mut self, frame: &mut [f32], voice: f32) {
        let rms = (frame.iter().map(|v| v * v).sum::<f32>() / frame.len().max(1) as f32).sqrt();
        if voice > 0.6 && rms > 1e-4 {
            // About 2 s to follow a louder or quieter talker.
            self.level += (rms - self.level) * 0.005;
            let wanted = (TARGET / self.level.max(1e-4)).clamp(MIN_GAIN, MAX_GAIN);
            let rate = if wanted < self.gain { 0.05 } else { 0.005 };
            self.gain += (wanted - self.gain) * rate;
        }
        let peak = frame.iter().fold(0f32, |m, v| m.max(v.abs())) * self.gain;
        let limit = if peak > 0.98 { 0.98 / peak } else { 1.0 };
        for v in frame {
            *v *= self.gain * limit;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_speech_comes_up_and_silence_does_not_move_it() {
        let mut agc = Agc::default();
        let quiet: Vec<f32> = (0..480).map(|i| 0.025 * (i as f32 * 0.3).sin()).collect();
        for _ in 0..3000 {
            let mut f = quiet.clone();
            agc.process(&mut f, 0.9);
        }
        assert!(agc.gain() > 3.0, "quiet talker raised: {}", agc.gain());
        let before = agc.gain();
        for _ in 0..500 {
            let mut noise = vec![0.01; 480];
            agc.process(&mut noise, 0.1);
        }
        assert_eq!(agc.gain(), before, "no speech, no change");
        let mut loud: Vec<f32> = (0..480).map(|i| 0.9 * (i as f32 * 0.3).sin()).collect();
        agc.process(&mut loud, 0.9);
        assert!(
            loud.iter().all(|v| v.abs() <= 0.981),
            "the limiter keeps full scale"
        );
    }
}
