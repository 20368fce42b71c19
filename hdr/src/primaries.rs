//! Colour primaries and the matrices between RGB spaces and CIE XYZ.
//!
//! The RGB→XYZ ("normalised primary") matrix follows SMPTE RP 177: the columns are the
//! primaries' XYZ scaled so that RGB (1, 1, 1) lands on the white point with Y = 1.
//! Conversions between spaces with different white points adapt with the Bradford
//! transform.

/// A 3×3 matrix, row-major: `out[i] = Σ m[i][j] · in[j]`.
pub type Mat3 = [[f64; 3]; 3];

/// CIE 1931 xy chromaticity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Xy {
    /// x.
    pub x: f64,
    /// y.
    pub y: f64,
}

const fn xy(x: f64, y: f64) -> Xy {
    Xy { x, y }
}

/// CIE D65, the white of sRGB, BT.709, BT.2020 and Display P3 (4-digit values as the
/// standards write them).
pub const D65: Xy = xy(0.3127, 0.3290);

/// The primaries and white of an RGB space.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Primaries {
    /// Red.
    pub red: Xy,
    /// Green.
    pub green: Xy,
    /// Blue.
    pub blue: Xy,
    /// White.
    pub white: Xy,
}

impl Primaries {
    /// ITU-R BT.709 (and sRGB).
    pub const BT709: Primaries = Primaries {
        red: xy(0.64, 0.33),
        green: xy(0.30, 0.60),
        blue: xy(0.15, 0.06),
        white: D65,
    };
    /// ITU-R BT.2020 / BT.2100.
    pub const BT2020: Primaries = Primaries {
        red: xy(0.708, 0.292),
        green: xy(0.170, 0.797),
        blue: xy(0.131, 0.046),
        white: D65,
    };
    /// Display P3 (DCI-P3 primaries, D65 white).
    pub const DISPLAY_P3: Primaries = Primaries {
        red: xy(0.680, 0.320),
        green: xy(0.265, 0.690),
        blue: xy(0.150, 0.060),
        white: D65,
    };
    /// DCI-P3 as cinema projects it (SMPTE RP 431-2: the P3 primaries with the DCI white).
    pub const DCI_P3: Primaries = Primaries {
        red: xy(0.680, 0.320),
        green: xy(0.265, 0.690),
        blue: xy(0.150, 0.060),
        white: xy(0.314, 0.351),
    };
    /// Adobe RGB (1998).
    pub const ADOBE_RGB: Primaries = Primaries {
        red: xy(0.64, 0.33),
        green: xy(0.21, 0.71),
        blue: xy(0.15, 0.06),
        white: D65,
    };

    /// Linear RGB → XYZ (Y of white = 1).
    pub fn rgb_to_xyz(&self) -> Mat3 {
        let column = |c: Xy| [c.x / c.y, 1.0, (1.0 - c.x - c.y) / c.y];
        let (r, g, b) = (column(self.red), column(self.green), column(self.blue));
        let m = [[r[0], g[0], b[0]], [r[1], g[1], b[1]], [r[2], g[2], b[2]]];
        let w = column(self.white);
        let s = mul_vec(&invert(&m), w);
        [
            [m[0][0] * s[0], m[0][1] * s[1], m[0][2] * s[2]],
            [m[1][0] * s[0], m[1][1] * s[1], m[1][2] * s[2]],
            [m[2][0] * s[0], m[2][1] * s[1], m[2][2] * s[2]],
        ]
    }

    /// XYZ → linear RGB.
    pub fn xyz_to_rgb(&self) -> Mat3 {
        invert(&self.rgb_to_xyz())
    }

    /// Linear RGB in `self` → linear RGB in `to`, adapting whites with Bradford when
    /// they differ. Out-of-gamut colours come out negative or above 1 (not clipped).
    pub fn conversion_to(&self, to: &Primaries) -> Mat3 {
        let adapt = if self.white == to.white {
            IDENTITY
        } else {
            bradford(self.white, to.white)
        };
        mul(&to.xyz_to_rgb(), &mul(&adapt, &self.rgb_to_xyz()))
    }
}

/// The identity matrix.
pub const IDENTITY: Mat3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

const BRADFORD: Mat3 = [
    [0.8951, 0.2664, -0.1614],
    [-0.7502, 1.7135, 0.0367],
    [0.0389, -0.0685, 1.0296],
];

/// The Bradford chromatic adaptation from white `from` to white `to`, in XYZ.
pub fn bradford(from: Xy, to: Xy) -> Mat3 {
    let xyz = |w: Xy| [w.x / w.y, 1.0, (1.0 - w.x - w.y) / w.y];
    let (src, dst) = (mul_vec(&BRADFORD, xyz(from)), mul_vec(&BRADFORD, xyz(to)));
    let scale = [
        [dst[0] / src[0], 0.0, 0.0],
        [0.0, dst[1] / src[1], 0.0],
        [0.0, 0.0, dst[2] / src[2]],
    ];
    mul(&invert(&BRADFORD), &mul(&scale, &BRADFORD))
}

/// `a · b`.
pub fn mul(a: &Mat3, b: &Mat3) -> Mat3 {
    let mut out = [[0.0; 3]; 3];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, cell) in row.iter_mut().enumerate() {
            *cell = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    out
}

/// `m · v`.
pub fn mul_vec(m: &Mat3, v: [f64; 3]) -> [f64; 3] {
    [0, 1, 2].map(|i| m[i][0] * v[0] + m[i][1] * v[1] + m[i][2] * v[2])
}

/// The inverse of `m` (primaries matrices are always invertible: the primaries span a
/// triangle of non-zero area).
pub fn invert(m: &Mat3) -> Mat3 {
    let c = |r: usize, k: usize| {
        let (r1, r2) = ((r + 1) % 3, (r + 2) % 3);
        let (k1, k2) = ((k + 1) % 3, (k + 2) % 3);
        m[r1][k1] * m[r2][k2] - m[r1][k2] * m[r2][k1]
    };
    let det = m[0][0] * c(0, 0) + m[0][1] * c(0, 1) + m[0][2] * c(0, 2);
    let mut out = [[0.0; 3]; 3];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, cell) in row.iter_mut().enumerate() {
            *cell = c(j, i) / det;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn table(name: &str) -> Vec<Vec<String>> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testdata/hdr")
            .join(name);
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| l.split(',').map(str::to_owned).collect())
            .collect()
    }

    fn matrix(name: &str) -> Mat3 {
        match name {
            "BT709_to_BT2020" => Primaries::BT709.conversion_to(&Primaries::BT2020),
            "BT709_to_XYZ" => Primaries::BT709.rgb_to_xyz(),
            "XYZ_to_BT2020" => Primaries::BT2020.xyz_to_rgb(),
            other => panic!("unknown matrix {other}"),
        }
    }

    /// Bound: every coefficient within 1e-9 of colour-science's.
    #[test]
    fn matrices_match_colour_science() {
        let rows = table("matrices.csv");
        assert!(!rows.is_empty());
        for row in rows {
            let m = matrix(&row[0]);
            let r: usize = row[1].parse().unwrap();
            for c in 0..3 {
                let want: f64 = row[2 + c].parse().unwrap();
                assert!(
                    (m[r][c] - want).abs() < 1e-9,
                    "{}[{r}][{c}] = {}, want {want}",
                    row[0],
                    m[r][c]
                );
            }
        }
    }

    /// Bound: 1e-9 absolute on converted test colours, out-of-gamut ones included.
    #[test]
    fn gamut_conversion_matches_colour_science() {
        let rows = table("gamut_conversion.csv");
        assert!(!rows.is_empty());
        for row in rows {
            let v: Vec<f64> = row[1..].iter().map(|c| c.parse().unwrap()).collect();
            let m = match row[0].as_str() {
                "BT709_to_BT2020" => Primaries::BT709.conversion_to(&Primaries::BT2020),
                "BT2020_to_BT709" => Primaries::BT2020.conversion_to(&Primaries::BT709),
                other => panic!("unknown direction {other}"),
            };
            let out = mul_vec(&m, [v[0], v[1], v[2]]);
            for i in 0..3 {
                assert!((out[i] - v[3 + i]).abs() < 1e-9, "{row:?}: {out:?}");
            }
        }
    }

    #[test]
    fn white_maps_to_white_and_adaptation_keeps_white() {
        for p in [
            Primaries::BT709,
            Primaries::BT2020,
            Primaries::DISPLAY_P3,
            Primaries::ADOBE_RGB,
        ] {
            let w = mul_vec(&p.rgb_to_xyz(), [1.0, 1.0, 1.0]);
            assert!((w[1] - 1.0).abs() < 1e-12);
            let same = mul_vec(&p.conversion_to(&Primaries::BT2020), [1.0, 1.0, 1.0]);
            assert!(same.iter().all(|c| (c - 1.0).abs() < 1e-12), "{same:?}");
        }
        let d50 = xy(0.3457, 0.3585);
        let adapted = mul_vec(
            &bradford(D65, d50),
            [D65.x / D65.y, 1.0, (1.0 - D65.x - D65.y) / D65.y],
        );
        let want = [d50.x / d50.y, 1.0, (1.0 - d50.x - d50.y) / d50.y];
        assert!(adapted.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-9));
    }

    proptest! {
        #[test]
        fn conversions_invert(r in -0.5f64..1.5, g in -0.5f64..1.5, b in -0.5f64..1.5) {
            let there = Primaries::DISPLAY_P3.conversion_to(&Primaries::BT709);
            let back = Primaries::BT709.conversion_to(&Primaries::DISPLAY_P3);
            let v = mul_vec(&back, mul_vec(&there, [r, g, b]));
            prop_assert!((v[0] - r).abs() < 1e-9 && (v[1] - g).abs() < 1e-9 && (v[2] - b).abs() < 1e-9);
        }
    }
}
