//! Image descriptions: what a buffer's numbers mean (primaries, transfer function,
//! luminances), as wp_color_management_v1 describes them, and the output descriptions
//! the compositor renders to. Pure data with validation, so the protocol glue stays thin.

use crate::primaries::{Primaries, Xy};

/// Transfer functions a surface may be encoded with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Transfer {
    /// IEC 61966-2-1 sRGB piecewise curve.
    Srgb,
    /// sRGB extended below 0 and above 1 by odd symmetry (scRGB-style buffers).
    ExtSrgb,
    /// Pure power law with this exponent (gamma 2.2, 2.8, or any from set_tf_power).
    Power(f64),
    /// ITU-R BT.1886 (a 2.4 power law with black at 0).
    Bt1886,
    /// Linear light, values beyond \[0, 1\] allowed (1.0 = reference white).
    ExtLinear,
    /// SMPTE ST 2084 (PQ), absolute luminance.
    Pq,
    /// ITU-R BT.2100 HLG, relative to the display peak.
    Hlg,
}

impl Transfer {
    /// Whether the curve encodes absolute luminance or HDR headroom (PQ, HLG).
    pub fn is_hdr(self) -> bool {
        matches!(self, Transfer::Pq | Transfer::Hlg)
    }
}

/// Luminance levels in cd/m².
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Luminances {
    /// Black.
    pub min: f64,
    /// Peak (for SDR curves: the white the signal's 1.0 means).
    pub max: f64,
    /// Reference (diffuse, "paper") white.
    pub reference: f64,
}

impl Luminances {
    /// The defaults wp_color_management_v1 gives each transfer function: 0.005–10000
    /// with 203 reference for PQ, 0.005–1000 with 203 for HLG, 0.2–80 with 80 for the
    /// rest (the sRGB display's values).
    pub fn default_for(transfer: Transfer) -> Self {
        match transfer {
            Transfer::Pq => Self {
                min: 0.005,
                max: 10_000.0,
                reference: 203.0,
            },
            Transfer::Hlg => Self {
                min: 0.005,
                max: 1_000.0,
                reference: 203.0,
            },
            _ => Self {
                min: 0.2,
                max: 80.0,
                reference: 80.0,
            },
        }
    }
}

/// The display the content was mastered on (SMPTE ST 2086), when the client says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mastering {
    /// The mastering display's primaries.
    pub primaries: Option<Primaries>,
    /// Its black and peak, in cd/m².
    pub luminance: Option<(f64, f64)>,
}

/// What a buffer's values mean.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImageDescription {
    /// Container primaries and white.
    pub primaries: Primaries,
    /// Transfer function.
    pub transfer: Transfer,
    /// Luminance levels.
    pub luminances: Luminances,
    /// Mastering display.
    pub mastering: Mastering,
    /// Largest light level of any pixel (MaxCLL), cd/m².
    pub max_cll: Option<f64>,
    /// Largest frame-average light level (MaxFALL), cd/m².
    pub max_fall: Option<f64>,
}

/// Why a parametric description cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DescriptionError {
    /// Primaries or transfer function were not given.
    #[error("primaries and transfer function must both be set")]
    Incomplete,
    /// Luminances out of order or non-positive.
    #[error("luminances must satisfy 0 <= min < reference <= max (got {0}, {1}, {2})")]
    Luminance(f64, f64, f64),
    /// A power-law exponent outside 1.0–10.0.
    #[error("a power transfer function needs an exponent from 1.0 to 10.0 (got {0})")]
    Exponent(f64),
    /// Primaries that do not span a triangle, or a white outside it.
    #[error("the primaries do not describe a usable RGB space")]
    Primaries,
}

impl ImageDescription {
    /// sRGB: what every client without a description is assumed to send.
    pub fn srgb() -> Self {
        Self::new(Primaries::BT709, Transfer::Srgb)
    }

    /// BT.2100 PQ: what an HDR output is driven with.
    pub fn bt2100_pq() -> Self {
        Self::new(Primaries::BT2020, Transfer::Pq)
    }

    /// A description with the default luminances of its transfer function.
    pub fn new(primaries: Primaries, transfer: Transfer) -> Self {
        Self {
            primaries,
            transfer,
            luminances: Luminances::default_for(transfer),
            mastering: Mastering {
                primaries: None,
                luminance: None,
            },
            max_cll: None,
            max_fall: None,
        }
    }

    /// The brightest light the content holds: MaxCLL, else the mastering peak, else
    /// the transfer function's peak.
    pub fn content_peak(&self) -> f64 {
        self.max_cll
            .or(self.mastering.luminance.map(|(_, max)| max))
            .unwrap_or(self.luminances.max)
            .min(self.luminances.max)
    }

    /// Builds a description from the parts a parametric creator collected.
    pub fn from_parts(
        primaries: Option<Primaries>,
        transfer: Option<Transfer>,
        luminances: Option<Luminances>,
        mastering: Mastering,
        max_cll: Option<f64>,
        max_fall: Option<f64>,
    ) -> Result<Self, DescriptionError> {
        let (Some(primaries), Some(transfer)) = (primaries, transfer) else {
            return Err(DescriptionError::Incomplete);
        };
        if let Transfer::Power(exponent) = transfer {
            if !(1.0..=10.0).contains(&exponent) {
                return Err(DescriptionError::Exponent(exponent));
            }
        }
        if !usable(&primaries) {
            return Err(DescriptionError::Primaries);
        }
        let luminances = luminances.unwrap_or_else(|| Luminances::default_for(transfer));
        let Luminances {
            min,
            max,
            reference,
        } = luminances;
        if !(min >= 0.0 && min < reference && reference <= max && max.is_finite()) {
            return Err(DescriptionError::Luminance(min, max, reference));
        }
        Ok(Self {
            primaries,
            transfer,
            luminances,
            mastering,
            max_cll,
            max_fall,
        })
    }
}

/// Primaries span a triangle of non-zero area with every y positive.
fn usable(p: &Primaries) -> bool {
    let points = [p.red, p.green, p.blue, p.white];
    let finite = points
        .iter()
        .all(|c: &Xy| c.x.is_finite() && c.y.is_finite() && c.y > 0.0);
    let area =
        (p.green.x - p.red.x) * (p.blue.y - p.red.y) - (p.blue.x - p.red.x) * (p.green.y - p.red.y);
    finite && area.abs() > 1e-6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_validated() {
        let none = Mastering {
            primaries: None,
            luminance: None,
        };
        let build = |p, t, l| ImageDescription::from_parts(p, t, l, none, None, None);
        assert_eq!(
            build(None, Some(Transfer::Srgb), None),
            Err(DescriptionError::Incomplete)
        );
        assert_eq!(
            build(Some(Primaries::BT709), Some(Transfer::Power(0.5)), None),
            Err(DescriptionError::Exponent(0.5))
        );
        let bad = Luminances {
            min: 10.0,
            max: 100.0,
            reference: 5.0,
        };
        assert!(build(Some(Primaries::BT709), Some(Transfer::Srgb), Some(bad)).is_err());
        let flat = Primaries {
            green: Primaries::BT709.red,
            ..Primaries::BT709
        };
        assert_eq!(
            build(Some(flat), Some(Transfer::Srgb), None),
            Err(DescriptionError::Primaries)
        );
        let pq = build(Some(Primaries::BT2020), Some(Transfer::Pq), None).unwrap();
        assert_eq!(pq, ImageDescription::bt2100_pq());
        assert_eq!(pq.content_peak(), 10_000.0);
    }
}
