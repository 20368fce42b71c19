//! The measures a suppressor is judged by that need no perceptual model: scale-invariant
//! signal-to-distortion ratio against the clean speech, and how far the noise-only
//! lead-in of a clip is attenuated. Both as the project's scorer defines them (whole
//! clip, full band; the lead-in is the first second).

/// SI-SDR of `estimate` against `reference`, in dB (both made zero-mean first, as the
/// measure's definition has it).
pub fn si_sdr(estimate: &[f32], reference: &[f32]) -> f64 {
    let n = estimate.len().min(reference.len());
    let centred = |s: &[f32]| {
        let mean = s.iter().map(|v| f64::from(*v)).sum::<f64>() / s.len().max(1) as f64;
        s.iter()
            .map(|v| (f64::from(*v) - mean) as f32)
            .collect::<Vec<f32>>()
    };
    let (e, r) = (centred(&estimate[..n]), centred(&reference[..n]));
    let (e, r) = (e.as_slice(), r.as_slice());
    let dot: f64 = e
        .iter()
        .zip(r)
        .map(|(a, b)| f64::from(*a) * f64::from(*b))
        .sum();
    let energy: f64 = r.iter().map(|v| f64::from(*v).powi(2)).sum();
    if energy == 0.0 {
        return f64::NEG_INFINITY;
    }
    let alpha = dot / energy;
    let (mut target, mut noise) = (0f64, 0f64);
    for (a, b) in e.iter().zip(r) {
        let t = alpha * f64::from(*b);
        target += t * t;
        noise += (f64::from(*a) - t).powi(2);
    }
    10.0 * (target / noise.max(1e-20)).log10()
}

/// How much quieter the first second of `output` is than that of `input`, in dB.
pub fn lead_in_attenuation(input: &[f32], output: &[f32]) -> f64 {
    let second = crate::RATE as usize;
    let energy = |s: &[f32]| {
        s.iter()
            .take(second)
            .map(|v| f64::from(*v).powi(2))
            .sum::<f64>()
    };
    10.0 * (energy(input) / energy(output).max(1e-20)).log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn si_sdr_ignores_scale_and_counts_distortion() {
        let r: Vec<f32> = (0..4800).map(|i| (i as f32 * 0.05).sin()).collect();
        let scaled: Vec<f32> = r.iter().map(|v| v * 0.3).collect();
        assert!(si_sdr(&scaled, &r) > 100.0);
        let noisy: Vec<f32> = r
            .iter()
            .enumerate()
            .map(|(i, v)| v + if i % 2 == 0 { 0.1 } else { -0.1 })
            .collect();
        // Signal power 0.5, noise power 0.01: 17 dB.
        assert!(
            (si_sdr(&noisy, &r) - 16.99).abs() < 0.1,
            "{}",
            si_sdr(&noisy, &r)
        );
        let quieter: Vec<f32> = noisy.iter().map(|v| v * 0.1).collect();
        assert!((lead_in_attenuation(&noisy, &quieter) - 20.0).abs() < 1e-6);
    }
}
