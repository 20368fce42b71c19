//! HDR static metadata as the kernel's `HDR_OUTPUT_METADATA` connector property takes it
//! (`struct hdr_output_metadata` in `drm_mode.h`, carrying the CTA-861-G Dynamic Range
//! and Mastering infoframe, static metadata type 1 = SMPTE ST 2086 + MaxCLL/MaxFALL), and
//! the values of the `Colorspace` connector property.

use crate::primaries::{Primaries, Xy};

/// The EOTF an HDR infoframe announces (CTA-861-G table 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InfoframeEotf {
    /// Traditional gamma, SDR luminance range.
    TraditionalSdr = 0,
    /// Traditional gamma, HDR luminance range.
    TraditionalHdr = 1,
    /// SMPTE ST 2084 (PQ).
    Pq = 2,
    /// ITU-R BT.2100 HLG.
    Hlg = 3,
}

/// Static metadata type 1: the mastering display and the content light levels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StaticMetadata {
    /// The transfer function of the signal.
    pub eotf: InfoframeEotf,
    /// Primaries and white point of the mastering display.
    pub mastering: Primaries,
    /// Peak luminance of the mastering display, cd/m².
    pub max_mastering_luminance: f64,
    /// Black luminance of the mastering display, cd/m².
    pub min_mastering_luminance: f64,
    /// Brightest pixel of the content (MaxCLL), cd/m²; 0 = unknown.
    pub max_cll: f64,
    /// Brightest frame average of the content (MaxFALL), cd/m²; 0 = unknown.
    pub max_fall: f64,
}

/// Size of `struct hdr_output_metadata`: a u32, then the 26-byte infoframe, padded to the
/// struct's 4-byte alignment.
pub const BLOB_SIZE: usize = 32;

fn chromaticity(v: f64) -> u16 {
    // Units of 0.00002, CTA-861-G 6.9.1.
    (v.clamp(0.0, 1.3107) * 50_000.0).round() as u16
}

fn luminance(v: f64, unit: f64) -> u16 {
    (v / unit).round().clamp(0.0, u16::MAX as f64) as u16
}

impl StaticMetadata {
    /// The property blob, byte for byte as `struct hdr_output_metadata` lays it out on a
    /// little-endian machine. Primaries go in red, green, blue order, as the kernel packs
    /// them into the infoframe.
    pub fn to_blob(&self) -> [u8; BLOB_SIZE] {
        let mut b = [0u8; BLOB_SIZE];
        // metadata_type = HDMI_STATIC_METADATA_TYPE1 (0); bytes 0..4 stay zero.
        b[4] = self.eotf as u8;
        b[5] = 0; // Static_Metadata_Descriptor_ID: type 1
        let mut at = 6;
        let mut put = |v: u16| {
            b[at..at + 2].copy_from_slice(&v.to_le_bytes());
            at += 2;
        };
        let p = &self.mastering;
        for Xy { x, y } in [p.red, p.green, p.blue, p.white] {
            put(chromaticity(x));
            put(chromaticity(y));
        }
        put(luminance(self.max_mastering_luminance, 1.0));
        put(luminance(self.min_mastering_luminance, 0.0001));
        put(luminance(self.max_cll, 1.0));
        put(luminance(self.max_fall, 1.0));
        b
    }
}

/// Values of the DRM `Colorspace` connector property that ghostcomp uses, by the names
/// the kernel gives them (their numbers differ between HDMI and DP connectors: look
/// them up by name in the property's enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colorspace {
    /// Whatever the sink assumes (BT.709 / sRGB).
    Default,
    /// BT.2020 RGB: HDR10 over RGB links.
    Bt2020Rgb,
    /// BT.2020 non-constant-luminance YCbCr.
    Bt2020Ycc,
}

impl Colorspace {
    /// The enum name in the kernel's property.
    pub fn drm_name(self) -> &'static str {
        match self {
            Colorspace::Default => "Default",
            Colorspace::Bt2020Rgb => "BT2020_RGB",
            Colorspace::Bt2020Ycc => "BT2020_YCC",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A typical HDR10 mastering display: BT.2020 primaries, D65, 1000 / 0.005 cd/m²,
    /// MaxCLL 1000, MaxFALL 400. Each field checked at its offset in the kernel struct.
    #[test]
    fn hdr10_blob_is_byte_exact() {
        let m = StaticMetadata {
            eotf: InfoframeEotf::Pq,
            mastering: Primaries::BT2020,
            max_mastering_luminance: 1000.0,
            min_mastering_luminance: 0.005,
            max_cll: 1000.0,
            max_fall: 400.0,
        };
        let b = m.to_blob();
        let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
        assert_eq!(
            &b[0..4],
            &[0, 0, 0, 0],
            "metadata_type = HDMI_STATIC_METADATA_TYPE1"
        );
        assert_eq!(b[4], 2, "eotf = SMPTE ST 2084");
        assert_eq!(b[5], 0, "Static_Metadata_Descriptor_ID");
        // 0.708 × 50000 = 35400, 0.292 → 14600; green 8500/39850; blue 6550/2300; D65 15635/16450
        let expected = [35400, 14600, 8500, 39850, 6550, 2300, 15635, 16450];
        for (i, want) in expected.iter().enumerate() {
            assert_eq!(u16_at(6 + 2 * i), *want, "chromaticity {i}");
        }
        assert_eq!(
            u16_at(22),
            1000,
            "max_display_mastering_luminance, 1 cd/m² units"
        );
        assert_eq!(
            u16_at(24),
            50,
            "min_display_mastering_luminance, 0.0001 cd/m² units"
        );
        assert_eq!(u16_at(26), 1000, "max_cll");
        assert_eq!(u16_at(28), 400, "max_fall");
        assert_eq!(&b[30..32], &[0, 0], "padding to the struct's alignment");
        assert_eq!(
            b,
            [
                0, 0, 0, 0, 2, 0, 0x48, 0x8a, 0x08, 0x39, 0x34, 0x21, 0xaa, 0x9b, 0x96, 0x19, 0xfc,
                0x08, 0x13, 0x3d, 0x42, 0x40, 0xe8, 0x03, 0x32, 0x00, 0xe8, 0x03, 0x90, 0x01, 0, 0
            ]
        );
    }

    #[test]
    fn out_of_range_values_saturate() {
        let m = StaticMetadata {
            eotf: InfoframeEotf::Hlg,
            mastering: Primaries::BT709,
            max_mastering_luminance: 1e9,
            min_mastering_luminance: -1.0,
            max_cll: 0.0,
            max_fall: 0.0,
        };
        let b = m.to_blob();
        assert_eq!(b[4], 3);
        assert_eq!(u16::from_le_bytes([b[22], b[23]]), u16::MAX);
        assert_eq!(u16::from_le_bytes([b[24], b[25]]), 0);
    }

    #[test]
    fn colorspace_names_match_the_kernel() {
        assert_eq!(Colorspace::Bt2020Rgb.drm_name(), "BT2020_RGB");
        assert_eq!(Colorspace::Default.drm_name(), "Default");
    }
}
