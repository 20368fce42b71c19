//! Tone mapping: the ITU-R BT.2390 EETF (Report ITU-R BT.2390, section 5.4), which maps a
//! PQ signal mastered for a source display onto a target display's range: unchanged up
//! to a knee, a Hermite-spline roll-off to the target peak above it, and a lift of the
//! black level in the shadows. All arithmetic is in the PQ domain.

use crate::transfer::{pq_eotf, pq_inverse_eotf};

/// Luminance range of a display, in cd/m².
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    /// Peak (white) luminance.
    pub peak: f64,
    /// Black luminance.
    pub black: f64,
}

/// The BT.2390 EETF for one source/target pair, with its constants precomputed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Eetf {
    source_black_pq: f64,
    source_span_pq: f64,
    min_lum: f64,
    max_lum: f64,
    knee: f64,
}

impl Eetf {
    /// Maps content mastered on `source` to a display of range `target`.
    pub fn new(source: Range, target: Range) -> Self {
        let source_black_pq = pq_inverse_eotf(source.black);
        let source_span_pq = (pq_inverse_eotf(source.peak) - source_black_pq).max(f64::EPSILON);
        let normalise = |l: f64| (pq_inverse_eotf(l) - source_black_pq) / source_span_pq;
        let max_lum = normalise(target.peak);
        Self {
            source_black_pq,
            source_span_pq,
            min_lum: normalise(target.black),
            max_lum,
            knee: 1.5 * max_lum - 0.5,
        }
    }

    /// The constants a shader needs, in PQ signal units: source black, source span,
    /// normalised target black (minLum), normalised target peak (maxLum) and the knee.
    pub fn params(&self) -> [f64; 5] {
        [
            self.source_black_pq,
            self.source_span_pq,
            self.min_lum,
            self.max_lum,
            self.knee,
        ]
    }

    /// The knee (KS): normalised signals below it pass unchanged (apart from the black lift).
    pub fn knee(&self) -> f64 {
        self.knee
    }

    /// Maps a PQ signal in \[0, 1\] to the PQ signal for the target display.
    pub fn apply_pq(&self, signal: f64) -> f64 {
        let e1 = ((signal - self.source_black_pq) / self.source_span_pq).clamp(0.0, 1.0);
        let e2 = if e1 < self.knee || self.knee >= 1.0 {
            e1
        } else {
            let t = (e1 - self.knee) / (1.0 - self.knee);
            let (t2, t3) = (t * t, t * t * t);
            (2.0 * t3 - 3.0 * t2 + 1.0) * self.knee
                + (t3 - 2.0 * t2 + t) * (1.0 - self.knee)
                + (-2.0 * t3 + 3.0 * t2) * self.max_lum
        };
        let e3 = e2 + self.min_lum * (1.0 - e2).powi(4);
        e3 * self.source_span_pq + self.source_black_pq
    }

    /// Maps a luminance in cd/m² (the source's) to the target's.
    pub fn apply_luminance(&self, luminance: f64) -> f64 {
        pq_eotf(self.apply_pq(pq_inverse_eotf(luminance)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Bound: output PQ signal within 1e-9 of the ITU formulas' table.
    #[test]
    fn matches_the_bt2390_table() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testdata/hdr/bt2390_eetf.csv");
        let text = std::fs::read_to_string(path).unwrap();
        let mut rows = 0;
        for line in text.lines().skip(1) {
            let v: Vec<f64> = line.split(',').map(|c| c.parse().unwrap()).collect();
            let eetf = Eetf::new(
                Range {
                    peak: v[0],
                    black: v[1],
                },
                Range {
                    peak: v[2],
                    black: v[3],
                },
            );
            assert!((eetf.knee() - v[6]).abs() < 1e-9, "KS {line}");
            let out = eetf.apply_pq(v[4]);
            assert!((out - v[12]).abs() < 1e-9, "{line}: got {out}");
            rows += 1;
        }
        assert!(rows > 50);
    }

    fn hdr10_to_sdr() -> Eetf {
        Eetf::new(
            Range {
                peak: 1000.0,
                black: 0.0,
            },
            Range {
                peak: 203.0,
                black: 0.0,
            },
        )
    }

    #[test]
    fn source_peak_lands_on_target_peak() {
        for target in [100.0, 203.0, 400.0, 600.0] {
            let e = Eetf::new(
                Range {
                    peak: 1000.0,
                    black: 0.0,
                },
                Range {
                    peak: target,
                    black: 0.0,
                },
            );
            assert!((e.apply_luminance(1000.0) - target).abs() / target < 1e-6);
        }
    }

    proptest! {
        #[test]
        fn monotonic(a in 0.0f64..=1.0, b in 0.0f64..=1.0) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let e = hdr10_to_sdr();
            prop_assert!(e.apply_pq(lo) <= e.apply_pq(hi) + 1e-12);
        }

        #[test]
        fn below_the_knee_is_unchanged(l in 0.0f64..1000.0) {
            let e = hdr10_to_sdr();
            let s = pq_inverse_eotf(l);
            let normalised = s / pq_inverse_eotf(1000.0);
            if normalised < e.knee() {
                prop_assert!((e.apply_pq(s) - s).abs() < 1e-12);
            }
        }
    }
}
