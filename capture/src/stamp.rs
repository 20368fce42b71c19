//! A small image laid over a picture already copied into a client's buffer: the
//! pointer a capture asks for, blended on the CPU over the output's shown picture,
//! where drawing the whole output again only to add a few hundred pixels would cost a
//! frame's rendering and a read back.

use crate::{PixelFormat, Region};

/// A premultiplied ARGB8888 image (stored B, G, R, A) and where its top left lands in
/// the picture it is laid over; it may hang over the picture's edges.
#[derive(Debug, Clone, Copy)]
pub struct Stamp<'a> {
    /// `width` × `height` pixels, rows packed.
    pub pixels: &'a [u8],
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Left edge in the picture's pixels.
    pub x: i32,
    /// Top edge in the picture's pixels.
    pub y: i32,
}

impl Stamp<'_> {
    /// Blends the image over the `width` × `height` picture in `dst` (`stride` bytes a
    /// row, in `format`) the way renderers composite a premultiplied image: each
    /// channel becomes `src + dst × (255 − src alpha) / 255`, rounded. Returns the
    /// picture's area it covered, None where it covers none of it (or `dst` or the
    /// image is too short, when nothing is written).
    pub fn blend_into(
        &self,
        dst: &mut [u8],
        stride: usize,
        format: PixelFormat,
        width: u32,
        height: u32,
    ) -> Option<Region> {
        let (w, h) = (self.width as usize, self.height as usize);
        if self.pixels.len() < w.checked_mul(h)?.checked_mul(4)? {
            return None;
        }
        let area = self.area(width, height)?;
        let row_end = (area.x + area.width) as usize * 4;
        let last_row = (area.y + area.height - 1) as usize;
        if stride < row_end || dst.len() < last_row * stride + row_end {
            return None;
        }
        for py in area.y..area.y + area.height {
            let sy = (py - self.y) as usize;
            for px in area.x..area.x + area.width {
                let sx = (px - self.x) as usize;
                let s = &self.pixels[(sy * w + sx) * 4..][..4];
                let alpha = s[3];
                if alpha == 0 {
                    continue;
                }
                let at = py as usize * stride + px as usize * 4;
                let d = &mut dst[at..at + 4];
                let src = [s[2], s[1], s[0], alpha];
                let under = format.premultiplied_rgba([d[0], d[1], d[2], d[3]]);
                let over = |i: usize| src[i].saturating_add(scale(under[i], 255 - alpha));
                d.copy_from_slice(&format.store([over(0), over(1), over(2), over(3)]));
            }
        }
        Some(area)
    }
}

impl Stamp<'_> {
    /// The part of a `width` × `height` picture the image covers (None: none of it):
    /// what a picture that had the image laid over it must have redrawn once the
    /// image moves.
    pub fn area(&self, width: u32, height: u32) -> Option<Region> {
        let picture = Region {
            x: 0,
            y: 0,
            width: i32::try_from(width).ok()?,
            height: i32::try_from(height).ok()?,
        };
        Region {
            x: self.x,
            y: self.y,
            width: i32::try_from(self.width).ok()?,
            height: i32::try_from(self.height).ok()?,
        }
        .within(picture)
    }
}

/// `value × factor / 255`, rounded to nearest (exact for every pair of bytes).
fn scale(value: u8, factor: u8) -> u8 {
    let t = u32::from(value) * u32::from(factor) + 128;
    (((t >> 8) + t) >> 8) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn scaling_by_a_byte_rounds_to_nearest() {
        for v in 0..=255u8 {
            for f in 0..=255u8 {
                let exact = f64::from(v) * f64::from(f) / 255.0;
                assert_eq!(scale(v, f), exact.round() as u8, "{v} × {f} / 255");
            }
        }
    }

    #[test]
    fn an_opaque_pixel_replaces_and_a_clear_one_keeps_what_is_under_it() {
        // 2x1 image: opaque red, fully transparent.
        let pixels = [0, 0, 255, 255, 0, 0, 0, 0];
        let stamp = Stamp {
            pixels: &pixels,
            width: 2,
            height: 1,
            x: 1,
            y: 1,
        };
        let mut dst = vec![10u8; 3 * 3 * 4];
        let area = stamp.blend_into(&mut dst, 12, PixelFormat::Xbgr8888, 3, 3);
        assert_eq!(
            area,
            Some(Region {
                x: 1,
                y: 1,
                width: 2,
                height: 1
            })
        );
        assert_eq!(&dst[16..20], &[255, 0, 0, 255]);
        assert_eq!(&dst[20..24], &[10, 10, 10, 10]);
        assert!(dst[..16].iter().chain(&dst[24..]).all(|b| *b == 10));
    }

    #[test]
    fn half_covered_pixels_mix_and_the_image_is_clipped_at_the_edges() {
        // Half-transparent white (premultiplied 128) over black, hanging off the top left.
        let pixels = [128u8; 2 * 2 * 4];
        let stamp = Stamp {
            pixels: &pixels,
            width: 2,
            height: 2,
            x: -1,
            y: -1,
        };
        let mut dst = vec![0u8; 2 * 2 * 4];
        let area = stamp.blend_into(&mut dst, 8, PixelFormat::Xrgb8888, 2, 2);
        assert_eq!(
            area,
            Some(Region {
                x: 0,
                y: 0,
                width: 1,
                height: 1
            })
        );
        assert_eq!(&dst[..4], &[128, 128, 128, 255]);
        assert!(dst[4..].iter().all(|b| *b == 0));
        let outside = Stamp { x: 5, ..stamp };
        assert_eq!(
            outside.blend_into(&mut dst, 8, PixelFormat::Xrgb8888, 2, 2),
            None
        );
    }

    proptest! {
        /// Whatever the image and wherever it lands, pixels outside it stay as they
        /// were, and each covered pixel lies between what was there and the image's
        /// own colour (never darker than the image, never beyond white).
        #[test]
        fn only_covered_pixels_change_and_each_becomes_a_mix(
            (w, h) in (1u32..8, 1u32..8),
            (x, y) in (-10i32..20, -10i32..20),
            seed in any::<u64>(),
            fill in any::<u8>(),
        ) {
            let mut rng = seed;
            let mut next = || {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (rng >> 33) as u8
            };
            let pixels: Vec<u8> = (0..w * h)
                .flat_map(|_| {
                    let a = next();
                    let c = |v: u8| scale(v, a);
                    [c(next()), c(next()), c(next()), a]
                })
                .collect();
            let stamp = Stamp { pixels: &pixels, width: w, height: h, x, y };
            let (pw, ph) = (12u32, 9u32);
            let before = vec![fill; (pw * ph * 4) as usize];
            let mut dst = before.clone();
            let area = stamp.blend_into(&mut dst, pw as usize * 4, PixelFormat::Xrgb8888, pw, ph);
            for py in 0..ph as i32 {
                for px in 0..pw as i32 {
                    let at = (py as u32 * pw + px as u32) as usize * 4;
                    let inside = px >= x && py >= y && px < x + w as i32 && py < y + h as i32;
                    if !inside {
                        prop_assert_eq!(&dst[at..at + 4], &before[at..at + 4]);
                        continue;
                    }
                    prop_assert!(area.is_some());
                    let s = &pixels[(((py - y) as u32 * w + (px - x) as u32) * 4) as usize..][..4];
                    for (c, src) in [(0, s[0]), (1, s[1]), (2, s[2])] {
                        prop_assert!(dst[at + c] >= src, "never darker than the image");
                        let most = u32::from(src) + u32::from(fill) * u32::from(255 - s[3]) / 255 + 1;
                        prop_assert!(u32::from(dst[at + c]) <= most);
                    }
                }
            }
        }
    }
}
