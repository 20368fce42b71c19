//! Transfer functions: how an encoded signal value maps to light.
//!
//! Conventions: "EOTF" maps a non-linear signal in \[0, 1\] to display light; for sRGB and
//! gamma that light is relative (\[0, 1\] of the display's white), for PQ it is absolute
//! luminance in cd/m². Inverses map back. All functions clamp their input to the domain
//! the standard defines, so no caller can get NaN from an out-of-range pixel.

/// The transfer functions ghostcomp can decode from and encode to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TransferFunction {
    /// IEC 61966-2-1 sRGB, the piecewise curve with the linear toe.
    Srgb,
    /// A pure power law, e.g. 2.2 (what most SDR monitors actually do) or 2.4.
    Gamma(f64),
    /// SMPTE ST 2084 perceptual quantiser, absolute luminance up to 10 000 cd/m².
    Pq,
    /// ITU-R BT.1886 with a black level of 0: a 2.4 power law, relative light.
    Bt1886,
}

impl TransferFunction {
    /// Signal → light (relative for SDR curves, cd/m² for PQ).
    pub fn eotf(self, signal: f64) -> f64 {
        match self {
            TransferFunction::Srgb => srgb_eotf(signal),
            TransferFunction::Gamma(g) => signal.clamp(0.0, 1.0).powf(g),
            TransferFunction::Pq => pq_eotf(signal),
            TransferFunction::Bt1886 => signal.clamp(0.0, 1.0).powf(2.4),
        }
    }

    /// Light → signal, the exact inverse of [`TransferFunction::eotf`].
    pub fn inverse_eotf(self, light: f64) -> f64 {
        match self {
            TransferFunction::Srgb => srgb_inverse_eotf(light),
            TransferFunction::Gamma(g) => light.clamp(0.0, 1.0).powf(1.0 / g),
            TransferFunction::Pq => pq_inverse_eotf(light),
            TransferFunction::Bt1886 => light.clamp(0.0, 1.0).powf(1.0 / 2.4),
        }
    }
}

/// IEC 61966-2-1 sRGB decoding.
pub fn srgb_eotf(signal: f64) -> f64 {
    let v = signal.clamp(0.0, 1.0);
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

/// IEC 61966-2-1 sRGB encoding.
pub fn srgb_inverse_eotf(light: f64) -> f64 {
    let l = light.clamp(0.0, 1.0);
    if l <= 0.0031308 {
        l * 12.92
    } else {
        1.055 * l.powf(1.0 / 2.4) - 0.055
    }
}

// SMPTE ST 2084 constants, exactly as the standard writes them.
const PQ_M1: f64 = 2610.0 / 16384.0;
const PQ_M2: f64 = 2523.0 / 4096.0 * 128.0;
const PQ_C1: f64 = 3424.0 / 4096.0;
const PQ_C2: f64 = 2413.0 / 4096.0 * 32.0;
const PQ_C3: f64 = 2392.0 / 4096.0 * 32.0;
/// The luminance a PQ signal of 1.0 stands for.
pub const PQ_PEAK_CD_M2: f64 = 10_000.0;

/// SMPTE ST 2084 EOTF: PQ signal → luminance in cd/m².
pub fn pq_eotf(signal: f64) -> f64 {
    let e = signal.clamp(0.0, 1.0).powf(1.0 / PQ_M2);
    let num = (e - PQ_C1).max(0.0);
    let den = PQ_C2 - PQ_C3 * e;
    PQ_PEAK_CD_M2 * (num / den).powf(1.0 / PQ_M1)
}

/// SMPTE ST 2084 inverse EOTF: luminance in cd/m² → PQ signal.
pub fn pq_inverse_eotf(luminance: f64) -> f64 {
    let y = (luminance / PQ_PEAK_CD_M2).clamp(0.0, 1.0).powf(PQ_M1);
    ((PQ_C1 + PQ_C2 * y) / (1.0 + PQ_C3 * y)).powf(PQ_M2)
}

// ITU-R BT.2100 HLG constants.
const HLG_A: f64 = 0.178_832_77;
const HLG_B: f64 = 1.0 - 4.0 * HLG_A;
const HLG_C: f64 = 0.559_910_729_529_9;

/// ITU-R BT.2100 HLG OETF: scene-linear light in \[0, 1\] → HLG signal.
pub fn hlg_oetf(scene: f64) -> f64 {
    let e = scene.clamp(0.0, 1.0);
    if e <= 1.0 / 12.0 {
        (3.0 * e).sqrt()
    } else {
        HLG_A * (12.0 * e - HLG_B).ln() + HLG_C
    }
}

/// ITU-R BT.2100 HLG inverse OETF: HLG signal → scene-linear light in \[0, 1\].
pub fn hlg_inverse_oetf(signal: f64) -> f64 {
    let v = signal.clamp(0.0, 1.0);
    if v <= 0.5 {
        v * v / 3.0
    } else {
        (((v - HLG_C) / HLG_A).exp() + HLG_B) / 12.0
    }
}

/// The HLG system gamma for a display of peak luminance `peak` cd/m² (BT.2100 note 5f,
/// extended range formula).
pub fn hlg_system_gamma(peak: f64) -> f64 {
    1.2 + 0.42 * (peak.max(1.0) / 1000.0).log10()
}

/// ITU-R BT.2100 HLG EOTF of one colour: R'G'B' signals → display light in cd/m² on a
/// display of peak `peak` with black level 0. The OOTF scales by the scene luminance
/// (BT.2100 luma weights), so colours keep their hue.
pub fn hlg_eotf_rgb(signal: [f64; 3], peak: f64) -> [f64; 3] {
    let scene = signal.map(hlg_inverse_oetf);
    let ys = 0.2627 * scene[0] + 0.6780 * scene[1] + 0.0593 * scene[2];
    let gamma = hlg_system_gamma(peak);
    let scale = if ys > 0.0 {
        peak * ys.powf(gamma - 1.0)
    } else {
        0.0
    };
    scene.map(|c| scale * c)
}

/// HLG EOTF of a grey (R' = G' = B'), in cd/m².
pub fn hlg_eotf(signal: f64, peak: f64) -> f64 {
    hlg_eotf_rgb([signal; 3], peak)[0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::path::PathBuf;

    fn reference_table(name: &str) -> Vec<Vec<String>> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../testdata/hdr")
            .join(name);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reference table {}: {e}", path.display()));
        text.lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.split(',').map(str::to_owned).collect())
            .collect()
    }

    fn close(actual: f64, expected: f64, rel: f64, abs: f64) -> bool {
        (actual - expected).abs() <= abs + rel * expected.abs()
    }

    /// Bound: relative error < 1e-9 (plus 1e-12 absolute near zero) in f64.
    #[test]
    fn pq_eotf_matches_colour_science() {
        let rows = reference_table("pq_eotf.csv");
        assert!(rows.len() > 10);
        for row in rows {
            let signal: f64 = row[2].parse().unwrap();
            let expected: f64 = row[3].parse().unwrap();
            let got = pq_eotf(signal);
            assert!(
                close(got, expected, 1e-9, 1e-12),
                "PQ({signal}) = {got}, want {expected}"
            );
        }
    }

    #[test]
    fn pq_inverse_matches_colour_science() {
        let rows = reference_table("pq_inverse_eotf.csv");
        assert!(rows.len() > 5);
        for row in rows {
            let luminance: f64 = row[0].parse().unwrap();
            let expected: f64 = row[1].parse().unwrap();
            let got = pq_inverse_eotf(luminance);
            assert!(
                close(got, expected, 1e-9, 1e-12),
                "PQ^-1({luminance}) = {got}, want {expected}"
            );
        }
    }

    #[test]
    fn srgb_matches_colour_science() {
        let rows = reference_table("srgb.csv");
        assert!(rows.len() > 5);
        for row in rows {
            let signal: f64 = row[2].parse().unwrap();
            let expected: f64 = row[3].parse().unwrap();
            assert!(close(srgb_eotf(signal), expected, 1e-9, 1e-12));
            assert!(close(srgb_inverse_eotf(expected), signal, 1e-9, 1e-12));
        }
    }

    /// Bound: relative error < 1e-9 in f64 (HLG OETF, inverse and EOTF at three peaks).
    #[test]
    fn hlg_matches_colour_science() {
        let rows = reference_table("hlg.csv");
        assert!(rows.len() > 10);
        for row in rows {
            let v: Vec<f64> = row.iter().map(|c| c.parse().unwrap()).collect();
            let (scene, signal) = (v[0], v[1]);
            assert!(close(hlg_oetf(scene), signal, 1e-9, 1e-12), "OETF({scene})");
            assert!(
                close(hlg_inverse_oetf(signal), v[2], 1e-9, 1e-12),
                "OETF^-1({signal})"
            );
            for (peak, want) in [(1000.0, v[3]), (400.0, v[4]), (2000.0, v[5])] {
                let got = hlg_eotf(signal, peak);
                assert!(
                    close(got, want, 1e-9, 1e-9),
                    "EOTF({signal}, {peak}) = {got}, want {want}"
                );
            }
        }
    }

    #[test]
    fn hlg_colours_match_colour_science() {
        for row in reference_table("hlg_eotf_rgb.csv") {
            let v: Vec<f64> = row.iter().map(|c| c.parse().unwrap()).collect();
            let got = hlg_eotf_rgb([v[0], v[1], v[2]], 1000.0);
            for i in 0..3 {
                assert!(close(got[i], v[3 + i], 1e-9, 1e-9), "{row:?}: {got:?}");
            }
        }
    }

    #[test]
    fn bt1886_matches_colour_science() {
        for row in reference_table("srgb.csv") {
            let signal: f64 = row[2].parse().unwrap();
            let want: f64 = row[5].parse().unwrap();
            assert!(close(
                TransferFunction::Bt1886.eotf(signal),
                want,
                1e-9,
                1e-12
            ));
        }
    }

    proptest! {
        #[test]
        fn every_curve_round_trips(v in 0.0f64..=1.0) {
            for tf in [TransferFunction::Srgb, TransferFunction::Gamma(2.2), TransferFunction::Gamma(2.4), TransferFunction::Pq, TransferFunction::Bt1886] {
                let back = tf.inverse_eotf(tf.eotf(v));
                prop_assert!((back - v).abs() < 1e-9, "{tf:?}: {v} -> {back}");
            }
        }

        #[test]
        fn hlg_round_trips(v in 0.0f64..=1.0) {
            prop_assert!((hlg_oetf(hlg_inverse_oetf(v)) - v).abs() < 1e-9);
        }

        #[test]
        fn curves_are_monotonic(a in 0.0f64..=1.0, b in 0.0f64..=1.0) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            for tf in [TransferFunction::Srgb, TransferFunction::Gamma(2.2), TransferFunction::Pq] {
                prop_assert!(tf.eotf(lo) <= tf.eotf(hi));
            }
        }
    }
}
