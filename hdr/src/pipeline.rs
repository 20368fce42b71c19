//! The colour pipeline as data: the steps from a surface's encoded pixels to the
//! output's blending space, and from there to the output's signal. Renderers turn the
//! steps into shader uniforms (or LUTs); [`Pipeline::apply`] is the CPU reference the
//! shaders are tested against.
//!
//! The blending space is linear light in the output's primaries, scaled so 1.0 is the
//! output's reference white (SDR white on an HDR output, `sdr_brightness`). A surface's
//! reference white maps onto it, so SDR windows on an HDR screen look as bright as the
//! user asked, and HDR content keeps its headroom above it.

use crate::{
    description::{ImageDescription, Transfer},
    eetf::{Eetf, Range},
    gamut::GamutCompression,
    primaries::{mul_vec, Mat3},
    transfer::{
        hlg_eotf_rgb, hlg_system_gamma, pq_eotf, pq_inverse_eotf, srgb_eotf, srgb_inverse_eotf,
    },
};

/// One step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step {
    /// Signal → absolute light in cd/m²; `nits_at_one` is the light of signal 1.0 for
    /// relative curves (the description's peak, or its reference white for linear).
    Linearise {
        /// The curve.
        transfer: Transfer,
        /// cd/m² of signal 1.0 (HLG: the display peak its OOTF is computed for).
        nits_at_one: f64,
    },
    /// Multiply every channel.
    Scale(f64),
    /// BT.2390 tone mapping of each channel's luminance (cd/m²).
    ToneMap(Eetf),
    /// Linear RGB → linear RGB in other primaries.
    Matrix(Mat3),
    /// Soft gamut compression into the current primaries.
    GamutCompress(GamutCompression),
    /// Absolute light in cd/m² → signal; relative curves are clipped to \[0, 1\] of
    /// `nits_at_one`.
    Encode {
        /// The curve.
        transfer: Transfer,
        /// cd/m² of signal 1.0.
        nits_at_one: f64,
    },
}

/// An ordered list of steps.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    /// The steps, applied first to last.
    pub steps: Vec<Step>,
}

fn nits_at_one(description: &ImageDescription) -> f64 {
    match description.transfer {
        Transfer::Pq => 1.0,
        Transfer::ExtLinear => description.luminances.reference,
        _ => description.luminances.max,
    }
}

impl Pipeline {
    /// A surface described by `source`, shown on an output described by `output`:
    /// encoded pixels → the output's blending space.
    pub fn decode(source: &ImageDescription, output: &ImageDescription) -> Self {
        let mut steps = vec![Step::Linearise {
            transfer: source.transfer,
            nits_at_one: nits_at_one(source),
        }];
        let scale = output.luminances.reference / source.luminances.reference;
        if (scale - 1.0).abs() > 1e-12 {
            steps.push(Step::Scale(scale));
        }
        let peak = source.content_peak() * scale;
        if peak > output.luminances.max * (1.0 + 1e-9) {
            steps.push(Step::ToneMap(Eetf::new(
                Range {
                    peak,
                    black: source.luminances.min * scale,
                },
                Range {
                    peak: output.luminances.max,
                    black: output.luminances.min.min(source.luminances.min * scale),
                },
            )));
        }
        if source.primaries != output.primaries {
            steps.push(Step::Matrix(
                source.primaries.conversion_to(&output.primaries),
            ));
            if let Some(c) = GamutCompression::between(&source.primaries, &output.primaries) {
                steps.push(Step::GamutCompress(c));
            }
        }
        steps.push(Step::Scale(1.0 / output.luminances.reference));
        Self { steps }
    }

    /// The output's blending space → the signal the output is driven with.
    pub fn encode(output: &ImageDescription) -> Self {
        Self {
            steps: vec![
                Step::Scale(output.luminances.reference),
                Step::Encode {
                    transfer: output.transfer,
                    nits_at_one: nits_at_one(output),
                },
            ],
        }
    }

    /// Runs the pipeline on one colour, in f64: the reference for every renderer.
    pub fn apply(&self, rgb: [f64; 3]) -> [f64; 3] {
        self.steps.iter().fold(rgb, |c, step| step.apply(c))
    }
}

impl Step {
    /// Runs this step on one colour.
    pub fn apply(&self, c: [f64; 3]) -> [f64; 3] {
        match *self {
            Step::Linearise {
                transfer,
                nits_at_one,
            } => linearise(transfer, nits_at_one, c),
            Step::Scale(s) => c.map(|v| v * s),
            Step::ToneMap(eetf) => c.map(|v| eetf.apply_luminance(v.max(0.0))),
            Step::Matrix(m) => mul_vec(&m, c),
            Step::GamutCompress(g) => g.apply(c),
            Step::Encode {
                transfer,
                nits_at_one,
            } => c.map(|v| encode(transfer, nits_at_one, v)),
        }
    }
}

fn odd(v: f64, f: impl Fn(f64) -> f64) -> f64 {
    v.signum() * f(v.abs())
}

fn linearise(transfer: Transfer, nits_at_one: f64, c: [f64; 3]) -> [f64; 3] {
    match transfer {
        Transfer::Srgb => c.map(|v| srgb_eotf(v) * nits_at_one),
        Transfer::ExtSrgb => c.map(|v| odd(v, srgb_eotf_unclamped) * nits_at_one),
        Transfer::Power(g) => c.map(|v| v.clamp(0.0, 1.0).powf(g) * nits_at_one),
        Transfer::Bt1886 => c.map(|v| v.clamp(0.0, 1.0).powf(2.4) * nits_at_one),
        Transfer::ExtLinear => c.map(|v| v * nits_at_one),
        Transfer::Pq => c.map(pq_eotf),
        Transfer::Hlg => hlg_eotf_rgb(c, nits_at_one),
    }
}

fn srgb_eotf_unclamped(v: f64) -> f64 {
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

fn encode(transfer: Transfer, nits_at_one: f64, nits: f64) -> f64 {
    let relative = nits / nits_at_one;
    match transfer {
        Transfer::Srgb => srgb_inverse_eotf(relative),
        Transfer::ExtSrgb => odd(relative, |a| srgb_inverse_eotf(a.min(1.0))),
        Transfer::Power(g) => relative.clamp(0.0, 1.0).powf(1.0 / g),
        Transfer::Bt1886 => relative.clamp(0.0, 1.0).powf(1.0 / 2.4),
        Transfer::ExtLinear => relative,
        Transfer::Pq => pq_inverse_eotf(nits.max(0.0)),
        // Outputs are never driven with HLG; encode through PQ's absolute scale so the
        // function stays total.
        Transfer::Hlg => pq_inverse_eotf(nits.max(0.0)),
    }
}

/// The HLG system gamma an output of peak `peak` applies (for shaders).
pub fn hlg_gamma(peak: f64) -> f64 {
    hlg_system_gamma(peak)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{description::Luminances, primaries::Primaries};
    use proptest::prelude::*;

    fn hdr_output() -> ImageDescription {
        ImageDescription {
            luminances: Luminances {
                min: 0.05,
                max: 600.0,
                reference: 203.0,
            },
            ..ImageDescription::bt2100_pq()
        }
    }

    fn sdr_output() -> ImageDescription {
        ImageDescription::srgb()
    }

    fn round_trip(source: &ImageDescription, output: &ImageDescription, rgb: [f64; 3]) -> [f64; 3] {
        Pipeline::encode(output).apply(Pipeline::decode(source, output).apply(rgb))
    }

    #[test]
    fn srgb_on_an_sdr_output_is_the_identity() {
        let p = Pipeline::decode(&ImageDescription::srgb(), &sdr_output());
        assert_eq!(p.steps.len(), 2, "{:?}", p.steps);
        for v in [0.0, 0.01, 0.2, 0.5, 0.99, 1.0] {
            let out = round_trip(&ImageDescription::srgb(), &sdr_output(), [v, v, v]);
            assert!((out[0] - v).abs() < 1e-12);
        }
    }

    #[test]
    fn sdr_white_on_an_hdr_output_is_the_reference_white() {
        let out = round_trip(&ImageDescription::srgb(), &hdr_output(), [1.0; 3]);
        let nits = pq_eotf(out[1]);
        assert!((nits - 203.0).abs() < 1e-6, "{nits}");
    }

    #[test]
    fn pq_content_is_tone_mapped_to_the_output_peak() {
        let source = ImageDescription::bt2100_pq();
        let out = round_trip(&source, &hdr_output(), [1.0; 3]);
        assert!((pq_eotf(out[0]) - 600.0).abs() < 1e-6);
        // Below the knee, PQ passes through untouched.
        let signal = pq_inverse_eotf(100.0);
        let out = round_trip(&source, &hdr_output(), [signal; 3]);
        assert!((pq_eotf(out[0]) - 100.0).abs() < 1e-6);
    }

    #[test]
    fn hdr_on_an_sdr_output_maps_the_reference_white_to_sdr_white() {
        let source = ImageDescription::bt2100_pq();
        let white = pq_inverse_eotf(203.0);
        let out = round_trip(&source, &sdr_output(), [white; 3]);
        // Without mastering metadata the content may reach 10 000 cd/m², so the EETF
        // rolls off early and reference white lands below SDR white, not above it.
        assert!(out[0] > 0.7 && out[0] <= 1.0, "{out:?}");
        let out = round_trip(&source, &sdr_output(), [1.0; 3]);
        assert!((out[0] - 1.0).abs() < 1e-9);
    }

    proptest! {
        #[test]
        fn decoding_is_monotonic_in_the_signal(a in 0.0f64..1.0, b in 0.0f64..1.0) {
            let (lo, hi) = (a.min(b), a.max(b));
            for source in [ImageDescription::srgb(), ImageDescription::bt2100_pq(),
                           ImageDescription::new(Primaries::BT2020, Transfer::Hlg)] {
                for output in [sdr_output(), hdr_output()] {
                    let p = Pipeline::decode(&source, &output);
                    prop_assert!(p.apply([lo; 3])[1] <= p.apply([hi; 3])[1] + 1e-12);
                }
            }
        }

        #[test]
        fn sdr_colours_survive_an_hdr_output(r in 0.0f64..1.0, g in 0.0f64..1.0, b in 0.0f64..1.0) {
            // sRGB → BT.2020 PQ → back: the output loses nothing an sRGB client sent.
            let hdr = hdr_output();
            let signal = round_trip(&ImageDescription::srgb(), &hdr, [r, g, b]);
            let back = Pipeline {
                steps: vec![
                    Step::Linearise { transfer: Transfer::Pq, nits_at_one: 1.0 },
                    Step::Scale(1.0 / 203.0 * 80.0),
                    Step::Matrix(Primaries::BT2020.conversion_to(&Primaries::BT709)),
                    Step::Encode { transfer: Transfer::Srgb, nits_at_one: 80.0 },
                ],
            }
            .apply(signal);
            for (x, y) in back.iter().zip([r, g, b]) {
                prop_assert!((x - y).abs() < 1e-6, "{back:?} vs {:?}", [r, g, b]);
            }
        }
    }
}
