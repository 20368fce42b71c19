//! Gamut mapping by soft compression: colours of a wide gamut (BT.2020) that fall outside
//! a smaller one (BT.709) are pulled toward the neutral axis along a smooth curve, so
//! saturated gradients keep their shape instead of flattening where clipping would cut
//! them. The curve is the parametric compression of the ACES Reference Gamut Compression
//! (Academy S-2020-001): a channel's distance from the achromatic value is untouched
//! below a threshold and compressed above it so the source gamut's edge lands on the
//! target's.

use crate::primaries::{mul_vec, Primaries};

/// Distances below this stay as they are (the inner 80 % of the target gamut).
pub const THRESHOLD: f64 = 0.8;
/// How sharply the curve bends toward its limit.
pub const POWER: f64 = 1.2;

/// The compression from one gamut into another, per channel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GamutCompression {
    /// The distance (per channel) the source gamut's edge reaches in the target.
    pub limits: [f64; 3],
    /// The scale that maps each limit exactly to 1 (the target's edge).
    pub scales: [f64; 3],
}

fn distances(rgb: [f64; 3]) -> Option<[f64; 3]> {
    let achromatic = rgb[0].max(rgb[1]).max(rgb[2]);
    (achromatic > 0.0).then(|| rgb.map(|c| (achromatic - c) / achromatic))
}

impl GamutCompression {
    /// The compression that brings `source` (converted to `target`'s RGB) inside
    /// `target`, or `None` when `source` already fits.
    pub fn between(source: &Primaries, target: &Primaries) -> Option<Self> {
        let m = source.conversion_to(target);
        // The largest distance is reached somewhere on the source gamut's outer edges
        // (mixtures of two primaries), not only at the primaries: sample those edges.
        let primaries = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
        let mut limits = [0.0f64; 3];
        for (a, b) in [(0, 1), (1, 2), (2, 0)] {
            for step in 0..=256 {
                let t = f64::from(step) / 256.0;
                let mix = [0, 1, 2].map(|i| primaries[a][i] * (1.0 - t) + primaries[b][i] * t);
                if let Some(d) = distances(mul_vec(&m, mix)) {
                    for (limit, d) in limits.iter_mut().zip(d) {
                        *limit = limit.max(d);
                    }
                }
            }
        }
        if limits.iter().all(|l| *l <= 1.0 + 1e-9) {
            return None;
        }
        // The edges are sampled, so the true largest distance can sit a hair beyond the
        // largest sample: a small margin keeps every source colour inside. Channels the
        // source never pushes out of gamut still get a valid curve.
        let limits = limits.map(|l| (l * 1.002).max(1.0 + 1e-6));
        let scales = limits.map(|limit| {
            (limit - THRESHOLD)
                / (((1.0 - THRESHOLD) / (limit - THRESHOLD)).powf(-POWER) - 1.0).powf(1.0 / POWER)
        });
        Some(Self { limits, scales })
    }

    /// Compresses one linear colour (in the target's RGB).
    pub fn apply(&self, rgb: [f64; 3]) -> [f64; 3] {
        let Some(d) = distances(rgb) else {
            return rgb;
        };
        let achromatic = rgb[0].max(rgb[1]).max(rgb[2]);
        let mut out = rgb;
        for i in 0..3 {
            if d[i] >= THRESHOLD {
                out[i] = achromatic - compress(d[i], self.scales[i]) * achromatic;
            }
        }
        out
    }
}

/// The compression curve for one distance.
pub fn compress(distance: f64, scale: f64) -> f64 {
    if distance < THRESHOLD {
        return distance;
    }
    let x = (distance - THRESHOLD) / scale;
    THRESHOLD + scale * x / (1.0 + x.powf(POWER)).powf(1.0 / POWER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_bt2020_edge_lands_on_the_bt709_edge() {
        let c = GamutCompression::between(&Primaries::BT2020, &Primaries::BT709).unwrap();
        let m = Primaries::BT2020.conversion_to(&Primaries::BT709);
        let mut lowest = [f64::MAX; 3];
        for primary in [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]] {
            let out = c.apply(mul_vec(&m, primary));
            assert!(out.iter().all(|v| *v >= -1e-9), "{out:?}");
            for (low, v) in lowest.iter_mut().zip(out) {
                *low = low.min(v);
            }
        }
        // Each channel reaches 0 (the target's edge) for some colour, and no further.
        assert!(
            lowest.iter().all(|v| (-1e-9..0.02).contains(v)),
            "{lowest:?}"
        );
        assert!(GamutCompression::between(&Primaries::BT709, &Primaries::BT2020).is_none());
    }

    #[test]
    fn the_red_green_edge_stays_in_gamut() {
        // Found by the property test below before the limits had a margin.
        let comp = GamutCompression::between(&Primaries::BT2020, &Primaries::BT709).unwrap();
        let m = Primaries::BT2020.conversion_to(&Primaries::BT709);
        let out = comp.apply(mul_vec(
            &m,
            [
                0.707_138_048_300_250_3 / 2.0,
                0.737_191_226_322_910_1 / 2.0,
                0.0,
            ],
        ));
        assert!(out.iter().all(|v| *v >= -1e-9), "{out:?}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        #[test]
        fn in_gamut_colours_near_neutral_are_untouched(r in 0.2f64..1.0, g in 0.2f64..1.0, b in 0.2f64..1.0) {
            let c = GamutCompression::between(&Primaries::BT2020, &Primaries::BT709).unwrap();
            let rgb = [r, g, b];
            if distances(rgb).unwrap().iter().all(|d| *d < THRESHOLD) {
                prop_assert_eq!(c.apply(rgb), rgb);
            }
        }

        #[test]
        fn compression_is_monotonic_and_stays_in_gamut(a in 0.0f64..2.0, b in 0.0f64..2.0, c in 0.0f64..2.0) {
            let comp = GamutCompression::between(&Primaries::BT2020, &Primaries::BT709).unwrap();
            let (lo, hi) = (a.min(b), a.max(b));
            for scale in comp.scales {
                prop_assert!(compress(lo, scale) <= compress(hi, scale) + 1e-12);
            }
            let m = Primaries::BT2020.conversion_to(&Primaries::BT709);
            for rgb in [[a / 2.0, b / 2.0, 0.0], [0.0, a / 2.0, b / 2.0], [b / 2.0, 0.0, a / 2.0], [a / 2.0, b / 2.0, c / 2.0]] {
                let out = comp.apply(mul_vec(&m, rgb));
                prop_assert!(out.iter().all(|v| *v >= -1e-9), "{rgb:?} -> {out:?}");
            }
        }
    }
}
