//! A second-order Butterworth high-pass (RBJ audio-EQ cookbook biquad), to take away
//! rumble and handling noise below speech before anything else sees the signal.

/// One biquad section, transposed direct form II.
#[derive(Debug, Clone)]
pub struct HighPass {
    b: [f32; 3],
    a: [f32; 2],
    z: [f32; 2],
}

impl HighPass {
    /// A high-pass at `cutoff` Hz for `rate` samples a second (Q = 1/√2).
    pub fn new(cutoff: f32, rate: f32) -> HighPass {
        let w0 = 2.0 * std::f32::consts::PI * cutoff / rate;
        let (sin, cos) = w0.sin_cos();
        let alpha = sin / (2.0 * std::f32::consts::FRAC_1_SQRT_2);
        let a0 = 1.0 + alpha;
        let b0 = (1.0 + cos) / 2.0 / a0;
        HighPass {
            b: [b0, -(1.0 + cos) / a0, b0],
            a: [-2.0 * cos / a0, (1.0 - alpha) / a0],
            z: [0.0; 2],
        }
    }

    /// Filters `samples` in place.
    pub fn process(&mut self, samples: &mut [f32]) {
        for x in samples {
            let y = self.b[0] * *x + self.z[0];
            self.z[0] = self.b[1] * *x - self.a[0] * y + self.z[1];
            self.z[1] = self.b[2] * *x - self.a[1] * y;
            *x = y;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gain_at(hz: f32) -> f32 {
        let mut f = HighPass::new(80.0, 48_000.0);
        let mut s: Vec<f32> = (0..48_000)
            .map(|i| (2.0 * std::f32::consts::PI * hz * i as f32 / 48_000.0).sin())
            .collect();
        f.process(&mut s);
        let tail = &s[24_000..];
        (tail.iter().map(|v| v * v).sum::<f32>() / tail.len() as f32 * 2.0).sqrt()
    }

    #[test]
    fn rumble_goes_and_speech_stays() {
        assert!(gain_at(20.0) < 0.07, "20 Hz: {}", gain_at(20.0));
        assert!(
            (gain_at(80.0) - std::f32::consts::FRAC_1_SQRT_2).abs() < 0.02,
            "-3 dB at the cutoff"
        );
        assert!((gain_at(1000.0) - 1.0).abs() < 0.01, "1 kHz passes");
    }
}
