//! A per-bin MMSE log-spectral-amplitude estimator (Ephraim and Malah, 1985) with a
//! decision-directed a priori SNR. RNNoise's gains live on 22 bands, too coarse to reach
//! between a voice's harmonics or to notch a hum; this one works on every 50 Hz bin and
//! learns the noise while RNNoise says nobody speaks.

/// Speech probability under which a frame teaches the noise estimate.
const NOISE_ONLY: f32 = 0.3;
/// Frames averaged, whatever their speech probability, before the estimate is trusted.
const WARM_UP: u32 = 10;
/// How fast the noise estimate follows (per 10 ms frame).
const NOISE_SMOOTHING: f32 = 0.9;
/// Weight of the previous frame's estimate in the a priori SNR.
const DECISION_DIRECTED: f32 = 0.98;
/// The least a bin is turned down to (-20 dB), which keeps the residue noise-like.
const FLOOR: f32 = 0.1;

/// The estimator's state over all bins.
pub struct Lsa {
    noise: Vec<f32>,
    previous: Vec<f32>,
    frames: u32,
}

impl Lsa {
    /// An estimator for spectra of `bins` bins.
    pub fn new(bins: usize) -> Lsa {
        Lsa {
            noise: vec![0.0; bins],
            previous: vec![1.0; bins],
            frames: 0,
        }
    }

    /// Gains for one frame's power spectrum, given the probability that it holds speech.
    pub fn gains(&mut self, power: &[f32], speech: f32, gains: &mut [f32]) {
        self.frames += 1;
        if self.frames <= WARM_UP {
            let weight = 1.0 / self.frames as f32;
            for (n, p) in self.noise.iter_mut().zip(power) {
                *n += (p - *n) * weight;
            }
        } else if speech < NOISE_ONLY {
            for (n, p) in self.noise.iter_mut().zip(power) {
                *n = NOISE_SMOOTHING * *n + (1.0 - NOISE_SMOOTHING) * p;
            }
        }
        let prior_floor = FLOOR * FLOOR;
        for (((gain, p), n), previous) in gains
            .iter_mut()
            .zip(power)
            .zip(&self.noise)
            .zip(self.previous.iter_mut())
        {
            let posterior = (p / (n + 1e-12)).min(1e3);
            let prior = (DECISION_DIRECTED * *previous
                + (1.0 - DECISION_DIRECTED) * (posterior - 1.0).max(0.0))
            .max(prior_floor);
            let wiener = prior / (1.0 + prior);
            let v = (wiener * posterior).max(1e-8);
            let g = (wiener * (0.5 * exp_integral(v)).exp()).clamp(FLOOR, 1.0);
            *gain = g;
            *previous = g * g * posterior;
        }
    }
}

/// The exponential integral E1(x) for x > 0 (Abramowitz and Stegun 5.1.53 and 5.1.56,
/// both within 5e-5 of the function, far below what a gain can show).
pub fn exp_integral(x: f32) -> f32 {
    let x = f64::from(x);
    let e1 = if x <= 1.0 {
        let series = -0.577_215_66
            + x * (0.999_991_93
                + x * (-0.249_910_55
                    + x * (0.055_199_68 + x * (-0.009_760_04 + x * 0.001_078_57))));
        series - x.ln()
    } else {
        let ratio = (x * x + 2.334_733 * x + 0.250_621) / (x * x + 3.330_657 * x + 1.681_534);
        ratio / (x * x.exp())
    };
    e1 as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exponential_integral_matches_tabulated_values() {
        // Abramowitz and Stegun, table 5.1.
        for (x, e1) in [
            (0.01, 4.037_929_6),
            (0.5, 0.559_773_6),
            (1.0, 0.219_383_9),
            (2.0, 0.048_900_5),
            (5.0, 0.001_148_3),
        ] {
            let got = exp_integral(x);
            assert!((got - e1).abs() / e1 < 1e-3, "E1({x}) = {got}, table {e1}");
        }
    }

    #[test]
    fn steady_noise_is_turned_down_and_a_loud_bin_is_kept() {
        let mut lsa = Lsa::new(4);
        let mut gains = [0f32; 4];
        for _ in 0..50 {
            lsa.gains(&[1.0, 1.0, 1.0, 1.0], 0.0, &mut gains);
        }
        assert!(gains.iter().all(|g| *g < 0.2), "{gains:?}");
        for _ in 0..5 {
            lsa.gains(&[1.0, 1000.0, 1.0, 1.0], 1.0, &mut gains);
        }
        assert!(gains[1] > 0.95 && gains[0] < 0.2, "{gains:?}");
    }
}
