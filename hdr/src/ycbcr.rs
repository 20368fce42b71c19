//! Y'CbCr: how video encoders want colour. Non-linear R'G'B' becomes a luma and two
//! colour differences through the matrix of the colour's standard (ITU-R BT.709-6 item
//! 3.2–3.5, BT.2020-2 table 4 for non-constant luminance), then integer code values of
//! "narrow" (studio) range: luma 16–235 and chroma 16–240 around 128 at 8 bits, scaled by
//! 2^(bits−8) at 10 and 12 (BT.2100-2 table 9). Recordings, the encoder's colour pass and
//! tests of decoded video all take their numbers from here.

/// The matrix a video stream declares (H.273 `MatrixCoefficients`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matrix {
    /// BT.709: HD video and SDR recordings.
    Bt709,
    /// BT.2020 non-constant luminance: HDR (PQ, HLG) and wide-gamut video.
    Bt2020Ncl,
}

impl Matrix {
    /// (Kr, Kb), the red and blue weights of luma.
    pub fn weights(self) -> (f64, f64) {
        match self {
            Matrix::Bt709 => (0.2126, 0.0722),
            Matrix::Bt2020Ncl => (0.2627, 0.0593),
        }
    }

    /// H.273 code point (`MatrixCoefficients`), as containers and bitstreams tag it.
    pub fn h273(self) -> u8 {
        match self {
            Matrix::Bt709 => 1,
            Matrix::Bt2020Ncl => 9,
        }
    }

    /// Non-linear R'G'B' in \[0, 1\] → (Y', Cb, Cr), Y' in \[0, 1\], Cb and Cr in
    /// \[−0.5, 0.5\]. Inputs outside \[0, 1\] are clamped first.
    pub fn from_rgb(self, rgb: [f64; 3]) -> [f64; 3] {
        let (kr, kb) = self.weights();
        let [r, g, b] = rgb.map(|v| v.clamp(0.0, 1.0));
        let y = kr * r + (1.0 - kr - kb) * g + kb * b;
        let cb = (b - y) / (2.0 * (1.0 - kb));
        let cr = (r - y) / (2.0 * (1.0 - kr));
        [y, cb, cr]
    }

    /// (Y', Cb, Cr) → non-linear R'G'B', each clamped to \[0, 1\].
    pub fn to_rgb(self, ycbcr: [f64; 3]) -> [f64; 3] {
        let (kr, kb) = self.weights();
        let [y, cb, cr] = ycbcr;
        let r = y + 2.0 * (1.0 - kr) * cr;
        let b = y + 2.0 * (1.0 - kb) * cb;
        let g = (y - kr * r - kb * b) / (1.0 - kr - kb);
        [r, g, b].map(|v| v.clamp(0.0, 1.0))
    }
}

/// Narrow-range integer code values of (Y', Cb, Cr) at `bits` (8, 10 or 12).
pub fn narrow_codes(ycbcr: [f64; 3], bits: u32) -> [u16; 3] {
    let scale = f64::from(1u32 << bits.saturating_sub(8));
    let max = f64::from((1u32 << bits) - 1);
    let code = |v: f64| (v * scale).round().clamp(0.0, max) as u16;
    [
        code(219.0 * ycbcr[0] + 16.0),
        code(224.0 * ycbcr[1] + 128.0),
        code(224.0 * ycbcr[2] + 128.0),
    ]
}

/// Narrow-range code values back to (Y', Cb, Cr).
pub fn from_narrow_codes(codes: [u16; 3], bits: u32) -> [f64; 3] {
    let scale = f64::from(1u32 << bits.saturating_sub(8));
    let [y, cb, cr] = codes.map(|c| f64::from(c) / scale);
    [
        (y - 16.0) / 219.0,
        (cb - 128.0) / 224.0,
        (cr - 128.0) / 224.0,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn white_black_and_primaries_land_on_the_standard_codes() {
        for m in [Matrix::Bt709, Matrix::Bt2020Ncl] {
            assert_eq!(narrow_codes(m.from_rgb([1.0; 3]), 8), [235, 128, 128]);
            assert_eq!(narrow_codes(m.from_rgb([0.0; 3]), 8), [16, 128, 128]);
            assert_eq!(narrow_codes(m.from_rgb([1.0; 3]), 10), [940, 512, 512]);
            assert_eq!(narrow_codes(m.from_rgb([0.0; 3]), 10), [64, 512, 512]);
        }
        // Saturated red reaches the top of Cr (BT.709-6 and BT.2020-2 both define Cr so).
        assert_eq!(
            narrow_codes(Matrix::Bt709.from_rgb([1.0, 0.0, 0.0]), 8)[2],
            240
        );
        assert_eq!(
            narrow_codes(Matrix::Bt709.from_rgb([1.0, 0.0, 0.0]), 8)[0],
            63
        );
        assert_eq!(
            narrow_codes(Matrix::Bt2020Ncl.from_rgb([0.0, 0.0, 1.0]), 10)[1],
            960
        );
        assert_eq!(Matrix::Bt709.h273(), 1);
        assert_eq!(Matrix::Bt2020Ncl.h273(), 9);
    }

    proptest! {
        #[test]
        fn the_matrices_invert(r in 0.0..1.0f64, g in 0.0..1.0f64, b in 0.0..1.0f64) {
            for m in [Matrix::Bt709, Matrix::Bt2020Ncl] {
                let back = m.to_rgb(m.from_rgb([r, g, b]));
                for (a, z) in back.iter().zip([r, g, b]) {
                    prop_assert!((a - z).abs() < 1e-9);
                }
                let codes = narrow_codes(m.from_rgb([r, g, b]), 10);
                let again = m.to_rgb(from_narrow_codes(codes, 10));
                for (a, z) in again.iter().zip([r, g, b]) {
                    prop_assert!((a - z).abs() < 4.0 / 876.0, "10-bit round trip {a} {z}");
                }
            }
        }
    }
}
