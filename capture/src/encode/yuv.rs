//! HDR pictures into 10-bit 4:2:0 Y'CbCr with ghost-hdr's own matrix and code values,
//! so what a recording carries is exactly what `ghost_hdr::ycbcr` says (swscale's
//! 16-bit path lands a code value or two off). Chroma is the matrix applied to the
//! average R'G'B' of each 2×2 block, which is the same as averaging the four pixels'
//! chroma, the matrix being linear.

use ghost_hdr::ycbcr::Matrix;

use crate::YuvFrame;

/// Where the planes go: planar (`yuv420p10le`) or semi-planar (`p010le`, NVENC's and
/// VA-API's layout, values in the top ten bits).
pub enum Planes<'a> {
    /// Y, Cb, Cr planes of 16-bit samples, with their strides in samples.
    Planar {
        /// Luma.
        y: (&'a mut [u16], usize),
        /// Blue difference.
        cb: (&'a mut [u16], usize),
        /// Red difference.
        cr: (&'a mut [u16], usize),
    },
    /// Y plane and interleaved CbCr plane, strides in samples.
    SemiPlanar {
        /// Luma.
        y: (&'a mut [u16], usize),
        /// Cb, Cr pairs.
        cbcr: (&'a mut [u16], usize),
    },
}

/// Converts `rgb` (three 16-bit signal values per pixel, `width` × `height`, rows top
/// first) into `planes` of `width & !1` × `height & !1`.
pub fn rgb16_to_420_10bit(
    rgb: &[u16],
    width: usize,
    height: usize,
    matrix: Matrix,
    planes: Planes<'_>,
) {
    let (kr, kb) = matrix.weights();
    let (kr, kb) = (kr as f32, kb as f32);
    let kg = 1.0 - kr - kb;
    let (cb_scale, cr_scale) = (0.5 / (1.0 - kb), 0.5 / (1.0 - kr));
    let to_unit = 1.0 / 65535.0;
    let luma = |r: f32, g: f32, b: f32| kr * r + kg * g + kb * b;
    let code_y = |y: f32| ((219.0 * y + 16.0) * 4.0).round().clamp(0.0, 1023.0) as u16;
    let code_c = |c: f32| ((224.0 * c + 128.0) * 4.0).round().clamp(0.0, 1023.0) as u16;
    let (w, h) = (width & !1, height & !1);
    if rgb.len() < width * height * 3 {
        return;
    }
    let shift = match &planes {
        Planes::Planar { .. } => 0u32,
        Planes::SemiPlanar { .. } => 6,
    };
    let mut planes = planes;
    for by in (0..h).step_by(2) {
        for bx in (0..w).step_by(2) {
            let mut sum = [0f32; 3];
            for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                let (x, y) = (bx + dx, by + dy);
                let at = (y * width + x) * 3;
                let r = f32::from(rgb[at]) * to_unit;
                let g = f32::from(rgb[at + 1]) * to_unit;
                let b = f32::from(rgb[at + 2]) * to_unit;
                sum[0] += r;
                sum[1] += g;
                sum[2] += b;
                let code = code_y(luma(r, g, b)) << shift;
                match &mut planes {
                    Planes::Planar {
                        y: (plane, stride), ..
                    }
                    | Planes::SemiPlanar {
                        y: (plane, stride), ..
                    } => {
                        if let Some(s) = plane.get_mut(y * *stride + x) {
                            *s = code;
                        }
                    }
                }
            }
            let [r, g, b] = sum.map(|v| v * 0.25);
            let y = luma(r, g, b);
            let (cb, cr) = (
                code_c((b - y) * cb_scale) << shift,
                code_c((r - y) * cr_scale) << shift,
            );
            let (cx, cy) = (bx / 2, by / 2);
            match &mut planes {
                Planes::Planar {
                    cb: (cb_plane, cb_stride),
                    cr: (cr_plane, cr_stride),
                    ..
                } => {
                    if let Some(s) = cb_plane.get_mut(cy * *cb_stride + cx) {
                        *s = cb;
                    }
                    if let Some(s) = cr_plane.get_mut(cy * *cr_stride + cx) {
                        *s = cr;
                    }
                }
                Planes::SemiPlanar {
                    cbcr: (plane, stride),
                    ..
                } => {
                    let at = cy * *stride + cx * 2;
                    if let Some(pair) = plane.get_mut(at..at + 2) {
                        pair[0] = cb;
                        pair[1] = cr;
                    }
                }
            }
        }
    }
}

/// An encoder frame's planes of bytes, with their strides.
pub enum Layout<'a> {
    /// Y, Cb, Cr planes (`yuv420p`, `yuv420p10le`).
    Planar {
        /// Luma.
        y: (&'a mut [u8], usize),
        /// Blue difference.
        cb: (&'a mut [u8], usize),
        /// Red difference.
        cr: (&'a mut [u8], usize),
    },
    /// Y plane and interleaved CbCr (`nv12`, `p010le`).
    SemiPlanar {
        /// Luma.
        y: (&'a mut [u8], usize),
        /// Cb, Cr pairs.
        cbcr: (&'a mut [u8], usize),
    },
}

/// Copies a packed NV12/P010 picture into an encoder frame of the same size: row by
/// row where the layout is the same, splitting chroma (and, for 10-bit planar, moving
/// samples to the low bits) where the encoder wants it planar.
pub fn copy_packed(picture: &YuvFrame, layout: Layout<'_>) {
    let row = picture.row_bytes();
    let h = picture.height() as usize;
    let copy_rows = |src: &[u8], (dst, stride): (&mut [u8], usize), rows: usize| {
        for r in 0..rows {
            if let (Some(from), Some(to)) = (
                src.get(r * row..(r + 1) * row),
                dst.get_mut(r * stride..r * stride + row),
            ) {
                to.copy_from_slice(from);
            }
        }
    };
    match layout {
        Layout::SemiPlanar { y, cbcr } => {
            copy_rows(picture.luma(), y, h);
            copy_rows(picture.chroma(), cbcr, h / 2);
        }
        Layout::Planar { y, cb, cr } => {
            let ten = picture.ten_bit();
            // 10-bit planar holds values in the low bits; P010 in the high ones.
            let unshift = |src: &[u8], dst: &mut [u8]| {
                for (s, d) in src.chunks_exact(2).zip(dst.chunks_exact_mut(2)) {
                    d.copy_from_slice(&(u16::from_le_bytes([s[0], s[1]]) >> 6).to_le_bytes());
                }
            };
            let (ydst, ystride) = y;
            for r in 0..h {
                let from = &picture.luma()[r * row..(r + 1) * row];
                if let Some(to) = ydst.get_mut(r * ystride..r * ystride + row) {
                    if ten {
                        unshift(from, to);
                    } else {
                        to.copy_from_slice(from);
                    }
                }
            }
            let sample = if ten { 2 } else { 1 };
            let ((cbdst, cbstride), (crdst, crstride)) = (cb, cr);
            for r in 0..h / 2 {
                let from = &picture.chroma()[r * row..(r + 1) * row];
                for (i, pair) in from.chunks_exact(2 * sample).enumerate() {
                    let (b, c) = pair.split_at(sample);
                    let (bi, ci) = (r * cbstride + i * sample, r * crstride + i * sample);
                    if let (Some(bd), Some(cd)) = (
                        cbdst.get_mut(bi..bi + sample),
                        crdst.get_mut(ci..ci + sample),
                    ) {
                        if ten {
                            unshift(b, bd);
                            unshift(c, cd);
                        } else {
                            bd.copy_from_slice(b);
                            cd.copy_from_slice(c);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ghost_hdr::ycbcr::narrow_codes;

    #[test]
    fn a_flat_picture_gets_ghost_hdr_s_codes_in_both_layouts() {
        let value = [40000u16, 30000, 12000];
        let (w, h) = (4usize, 2usize);
        let rgb: Vec<u16> = (0..w * h).flat_map(|_| value).collect();
        let want = narrow_codes(
            Matrix::Bt2020Ncl.from_rgb(value.map(|v| f64::from(v) / 65535.0)),
            10,
        );
        let (mut y, mut cb, mut cr) = (vec![0u16; w * h], vec![0u16; 2], vec![0u16; 2]);
        rgb16_to_420_10bit(
            &rgb,
            w,
            h,
            Matrix::Bt2020Ncl,
            Planes::Planar {
                y: (&mut y, w),
                cb: (&mut cb, 2),
                cr: (&mut cr, 2),
            },
        );
        assert!(y.iter().all(|&v| v == want[0]), "{y:?} {want:?}");
        assert_eq!((cb[0], cr[1]), (want[1], want[2]));
        let (mut y, mut cbcr) = (vec![0u16; w * h], vec![0u16; 4]);
        rgb16_to_420_10bit(
            &rgb,
            w,
            h,
            Matrix::Bt2020Ncl,
            Planes::SemiPlanar {
                y: (&mut y, w),
                cbcr: (&mut cbcr, 4),
            },
        );
        assert_eq!(y[5], want[0] << 6);
        assert_eq!(&cbcr[2..4], &[want[1] << 6, want[2] << 6]);
    }

    #[test]
    fn packed_pictures_land_in_every_encoder_layout() {
        let mut data: Vec<u8> = (0..8).collect();
        data.extend([100, 200, 101, 201]);
        let nv12 = YuvFrame::new(4, 2, false, data).unwrap();
        let (mut y, mut cb, mut cr) = (vec![0u8; 16], vec![0u8; 8], vec![0u8; 8]);
        copy_packed(
            &nv12,
            Layout::Planar {
                y: (&mut y, 8),
                cb: (&mut cb, 8),
                cr: (&mut cr, 8),
            },
        );
        assert_eq!(&y[8..12], &[4, 5, 6, 7]);
        assert_eq!((&cb[..2], &cr[..2]), (&[100u8, 101][..], &[200u8, 201][..]));
        let (mut y, mut cbcr) = (vec![0u8; 16], vec![0u8; 8]);
        copy_packed(
            &nv12,
            Layout::SemiPlanar {
                y: (&mut y, 8),
                cbcr: (&mut cbcr, 8),
            },
        );
        assert_eq!(&cbcr[..4], &[100, 200, 101, 201]);
        let mut p010 = Vec::new();
        for v in (0..8u16)
            .map(|v| (v + 64) << 6)
            .chain([512 << 6, 600 << 6, 513 << 6, 601 << 6])
        {
            p010.extend(v.to_le_bytes());
        }
        let p010 = YuvFrame::new(4, 2, true, p010).unwrap();
        let (mut y, mut cb, mut cr) = (vec![0u8; 16], vec![0u8; 4], vec![0u8; 4]);
        copy_packed(
            &p010,
            Layout::Planar {
                y: (&mut y, 8),
                cb: (&mut cb, 4),
                cr: (&mut cr, 4),
            },
        );
        assert_eq!(u16::from_le_bytes([y[2], y[3]]), 65);
        assert_eq!(u16::from_le_bytes([cb[2], cb[3]]), 513);
        assert_eq!(u16::from_le_bytes([cr[0], cr[1]]), 600);
    }
}
