//! A finished frame in CPU memory, as read back from a renderer.

/// Pixel layouts a frame read back from the renderer can have. Names follow DRM fourcc
/// codes: the bytes of a little-endian 32-bit word, so `Xrgb8888` is stored B, G, R, X.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelFormat {
    /// DRM_FORMAT_XRGB8888: opaque, alpha byte ignored.
    Xrgb8888,
    /// DRM_FORMAT_ARGB8888: premultiplied alpha.
    Argb8888,
    /// DRM_FORMAT_XBGR8888: opaque, stored R, G, B, X (what GLES reads back as RGBA).
    Xbgr8888,
    /// DRM_FORMAT_ABGR8888: premultiplied alpha, stored R, G, B, A.
    Abgr8888,
}

impl PixelFormat {
    /// Bytes per pixel; every format ghostcomp reads back today is 32-bit.
    pub fn bytes_per_pixel(self) -> usize {
        4
    }

    /// Straight (R, G, B, A) of one stored pixel. Alpha is 255 for the X formats.
    pub fn rgba(self, px: [u8; 4]) -> [u8; 4] {
        match self {
            PixelFormat::Xrgb8888 => [px[2], px[1], px[0], 255],
            PixelFormat::Argb8888 => unpremultiply([px[2], px[1], px[0], px[3]]),
            PixelFormat::Xbgr8888 => [px[0], px[1], px[2], 255],
            PixelFormat::Abgr8888 => unpremultiply(px),
        }
    }
}

impl PixelFormat {
    fn red_first(self) -> bool {
        matches!(self, PixelFormat::Xbgr8888 | PixelFormat::Abgr8888)
    }

    fn has_alpha(self) -> bool {
        matches!(self, PixelFormat::Argb8888 | PixelFormat::Abgr8888)
    }

    /// How this layout's bytes become `to`'s with 32-bit word operations: whether red
    /// and blue trade places. An X format's padding may then carry the source's alpha,
    /// which X formats ignore. None when pixels need converting one by one (padding
    /// would become alpha).
    fn reorder(self, to: PixelFormat) -> Option<bool> {
        if !self.has_alpha() && to.has_alpha() {
            return None;
        }
        Some(self.red_first() != to.red_first())
    }

    /// (R, G, B, A) of one stored pixel with alpha still premultiplied; 255 for X.
    pub(crate) fn premultiplied_rgba(self, px: [u8; 4]) -> [u8; 4] {
        match self {
            PixelFormat::Xrgb8888 => [px[2], px[1], px[0], 255],
            PixelFormat::Argb8888 => [px[2], px[1], px[0], px[3]],
            PixelFormat::Xbgr8888 => [px[0], px[1], px[2], 255],
            PixelFormat::Abgr8888 => px,
        }
    }

    /// The stored bytes of a premultiplied (R, G, B, A) pixel.
    pub(crate) fn store(self, [r, g, b, a]: [u8; 4]) -> [u8; 4] {
        match self {
            PixelFormat::Xrgb8888 => [b, g, r, 255],
            PixelFormat::Argb8888 => [b, g, r, a],
            PixelFormat::Xbgr8888 => [r, g, b, 255],
            PixelFormat::Abgr8888 => [r, g, b, a],
        }
    }
}

fn unpremultiply(px: [u8; 4]) -> [u8; 4] {
    let a = px[3] as u32;
    if a == 0 || a == 255 {
        return px;
    }
    let un = |c: u8| ((c as u32 * 255 + a / 2) / a).min(255) as u8;
    [un(px[0]), un(px[1]), un(px[2]), px[3]]
}

/// A rectangle in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// Left edge.
    pub x: i32,
    /// Top edge.
    pub y: i32,
    /// Width, must be positive.
    pub width: i32,
    /// Height, must be positive.
    pub height: i32,
}

impl Region {
    /// The part of `self` inside `area`, in `area`'s own coordinates: how damage of a
    /// whole picture lands on a cut of it. None when they do not overlap.
    pub fn within(&self, area: Region) -> Option<Region> {
        let x0 = self.x.max(area.x);
        let y0 = self.y.max(area.y);
        let x1 = (self.x + self.width).min(area.x + area.width);
        let y1 = (self.y + self.height).min(area.y + area.height);
        (x1 > x0 && y1 > y0).then(|| Region {
            x: x0 - area.x,
            y: y0 - area.y,
            width: x1 - x0,
            height: y1 - y0,
        })
    }
}

/// Why a frame cannot be built or cut as asked.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    /// The byte buffer is shorter than stride × height or the stride is too small.
    #[error("frame of {width}x{height} with stride {stride} needs more than {len} bytes")]
    BufferTooSmall {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Bytes per row.
        stride: usize,
        /// Bytes given.
        len: usize,
    },
    /// The requested region does not overlap the frame at all, or is empty.
    #[error("region {0:?} lies outside the {1}x{2} frame")]
    RegionOutside(Region, u32, u32),
}

/// Pixels of one output (or a part of one), top row first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    width: u32,
    height: u32,
    stride: usize,
    format: PixelFormat,
    data: Vec<u8>,
}

/// Pixels someone else owns (an output's buffer), seen as a frame without copying.
#[derive(Debug, Clone, Copy)]
pub struct FrameView<'a> {
    width: u32,
    height: u32,
    stride: usize,
    format: PixelFormat,
    data: &'a [u8],
}

impl<'a> FrameView<'a> {
    /// Views `data`, checking that it covers the whole frame.
    pub fn new(
        width: u32,
        height: u32,
        stride: usize,
        format: PixelFormat,
        data: &'a [u8],
    ) -> Result<Self, FrameError> {
        let row = width as usize * format.bytes_per_pixel();
        let needed = if height == 0 {
            0
        } else {
            stride * (height as usize - 1) + row
        };
        if stride < row || data.len() < needed {
            return Err(FrameError::BufferTooSmall {
                width,
                height,
                stride,
                len: data.len(),
            });
        }
        Ok(Self {
            width,
            height,
            stride,
            format,
            data,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The part inside `region`, clipped to the frame, still without copying.
    pub fn crop(&self, region: Region) -> Result<FrameView<'a>, FrameError> {
        let x0 = region.x.clamp(0, self.width as i32) as usize;
        let y0 = region.y.clamp(0, self.height as i32) as usize;
        let x1 = (region.x.saturating_add(region.width)).clamp(0, self.width as i32) as usize;
        let y1 = (region.y.saturating_add(region.height)).clamp(0, self.height as i32) as usize;
        if x1 <= x0 || y1 <= y0 {
            return Err(FrameError::RegionOutside(region, self.width, self.height));
        }
        let start = y0 * self.stride + x0 * self.format.bytes_per_pixel();
        Ok(FrameView {
            width: (x1 - x0) as u32,
            height: (y1 - y0) as u32,
            stride: self.stride,
            format: self.format,
            data: &self.data[start..],
        })
    }

    /// Whether a buffer of `len` bytes at `stride` bytes a row holds this frame.
    fn fits(&self, len: usize, stride: usize) -> bool {
        let row = self.width as usize * 4;
        let rows = self.height as usize;
        stride >= row && (rows == 0 || len >= stride * (rows - 1) + row)
    }

    /// Copies the pixels into a client's buffer of the same size laid out as `format`
    /// with `stride` bytes per row, converting the channel order (alpha stays
    /// premultiplied, as wl_shm's alpha formats are). Returns false, writing nothing,
    /// when `dst` is too small.
    pub fn copy_into(&self, dst: &mut [u8], stride: usize, format: PixelFormat) -> bool {
        let row = self.width as usize * 4;
        let rows = self.height as usize;
        if !self.fits(dst.len(), stride) {
            return false;
        }
        for y in 0..rows {
            let src = &self.data[y * self.stride..y * self.stride + row];
            let out = &mut dst[y * stride..y * stride + row];
            match self.format.reorder(format) {
                Some(false) => {
                    out.copy_from_slice(src);
                    continue;
                }
                Some(true) => {
                    for (o, s) in out.chunks_exact_mut(4).zip(src.chunks_exact(4)) {
                        o.copy_from_slice(&[s[2], s[1], s[0], s[3]]);
                    }
                    continue;
                }
                None => {}
            }
            for (o, s) in out.chunks_exact_mut(4).zip(src.chunks_exact(4)) {
                let premultiplied = self.format.premultiplied_rgba([s[0], s[1], s[2], s[3]]);
                o.copy_from_slice(&format.store(premultiplied));
            }
        }
        true
    }
}

impl FrameView<'_> {
    /// Copies only the pixels inside `regions` (clipped to the frame) into `dst`, laid
    /// out as in [`FrameView::copy_into`]: a buffer that already holds an older picture
    /// gets just what changed since. Returns false, writing nothing, when `dst` is too
    /// small for the whole frame.
    pub fn copy_regions_into(
        &self,
        dst: &mut [u8],
        stride: usize,
        format: PixelFormat,
        regions: &[Region],
    ) -> bool {
        if !self.fits(dst.len(), stride) {
            return false;
        }
        // Overlapping boxes would copy some pixels twice: past the frame's own area,
        // one whole copy is cheaper.
        let area: i64 = regions
            .iter()
            .map(|r| i64::from(r.width.max(0)) * i64::from(r.height.max(0)))
            .sum();
        if area >= i64::from(self.width) * i64::from(self.height) {
            return self.copy_into(dst, stride, format);
        }
        for region in regions {
            let Ok(part) = self.crop(*region) else {
                continue;
            };
            // The crop's corner, clipped as the crop was.
            let x0 = region.x.clamp(0, self.width as i32) as usize;
            let y0 = region.y.clamp(0, self.height as i32) as usize;
            part.copy_into(&mut dst[y0 * stride + x0 * 4..], stride, format);
        }
        true
    }
}

impl Frame {
    /// Wraps read-back bytes, checking that they cover the whole frame.
    pub fn new(
        width: u32,
        height: u32,
        stride: usize,
        format: PixelFormat,
        data: Vec<u8>,
    ) -> Result<Self, FrameError> {
        FrameView::new(width, height, stride, format, &data)?;
        Ok(Self {
            width,
            height,
            stride,
            format,
            data,
        })
    }

    /// The bytes of row `y` (width × 4 of them), or None past the last row.
    pub fn row(&self, y: u32) -> Option<&[u8]> {
        if y >= self.height {
            return None;
        }
        let start = y as usize * self.stride;
        self.data
            .get(start..start + self.width as usize * self.format.bytes_per_pixel())
    }

    /// Copies the frame into a client's buffer of the same size laid out as `format`
    /// with `stride` bytes per row, converting the channel order (alpha stays
    /// premultiplied, as wl_shm's alpha formats are). Returns false, writing nothing,
    /// when `dst` is too small.
    pub fn copy_into(&self, dst: &mut [u8], stride: usize, format: PixelFormat) -> bool {
        self.view().copy_into(dst, stride, format)
    }

    /// The stored bytes, `stride` apart, rows top first (for converters that read
    /// the whole buffer at once).
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// Bytes from one row to the next.
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// The frame as a borrowed view.
    pub fn view(&self) -> FrameView<'_> {
        FrameView {
            width: self.width,
            height: self.height,
            stride: self.stride,
            format: self.format,
            data: &self.data,
        }
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The stored layout.
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// Straight RGBA of the pixel at (x, y), or None outside the frame.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 4]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let bpp = self.format.bytes_per_pixel();
        let at = y as usize * self.stride + x as usize * bpp;
        let px = self.data.get(at..at + 4)?;
        Some(self.format.rgba([px[0], px[1], px[2], px[3]]))
    }

    /// The part of the frame inside `region`, clipped to the frame's bounds.
    pub fn crop(&self, region: Region) -> Result<Frame, FrameError> {
        let outside = FrameError::RegionOutside(region, self.width, self.height);
        let x0 = region.x.max(0) as i64;
        let y0 = region.y.max(0) as i64;
        let x1 = (region.x as i64 + region.width as i64).min(self.width as i64);
        let y1 = (region.y as i64 + region.height as i64).min(self.height as i64);
        if region.width <= 0 || region.height <= 0 || x1 <= x0 || y1 <= y0 {
            return Err(outside);
        }
        let bpp = self.format.bytes_per_pixel();
        let (w, h) = ((x1 - x0) as usize, (y1 - y0) as usize);
        let mut data = Vec::with_capacity(w * h * bpp);
        for y in y0 as usize..y1 as usize {
            let start = y * self.stride + x0 as usize * bpp;
            data.extend_from_slice(&self.data[start..start + w * bpp]);
        }
        Frame::new(w as u32, h as u32, w * bpp, self.format, data)
    }

    /// All pixels as straight RGBA rows, top first, tightly packed.
    pub fn to_rgba(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.width as usize * self.height as usize * 4);
        for y in 0..self.height as usize {
            let row = &self.data[y * self.stride..][..self.width as usize * 4];
            for px in row.chunks_exact(4) {
                out.extend_from_slice(&self.format.rgba([px[0], px[1], px[2], px[3]]));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: u32, h: u32) -> Frame {
        let mut data = Vec::new();
        for y in 0..h {
            for x in 0..w {
                data.extend_from_slice(&[x as u8, y as u8, 7, 0xff]);
            }
            data.extend_from_slice(&[0; 8]); // padding past the row
        }
        Frame::new(w, h, w as usize * 4 + 8, PixelFormat::Xrgb8888, data).unwrap()
    }

    #[test]
    fn xrgb_pixels_read_as_rgb() {
        let f = gradient(4, 3);
        assert_eq!(f.pixel(2, 1), Some([7, 1, 2, 255]));
        assert_eq!(f.pixel(4, 0), None);
    }

    #[test]
    fn damage_lands_on_a_cut_in_its_coordinates() {
        let r = |x, y, width, height| Region {
            x,
            y,
            width,
            height,
        };
        let cut = r(100, 50, 200, 100);
        assert_eq!(r(90, 40, 20, 20).within(cut), Some(r(0, 0, 10, 10)));
        assert_eq!(r(150, 60, 10, 10).within(cut), Some(r(50, 10, 10, 10)));
        assert_eq!(r(0, 0, 1000, 1000).within(cut), Some(r(0, 0, 200, 100)));
        assert_eq!(
            r(300, 50, 10, 10).within(cut),
            None,
            "touching is not inside"
        );
    }

    #[test]
    fn crop_clips_to_the_frame() {
        let f = gradient(10, 10);
        let c = f
            .crop(Region {
                x: 8,
                y: -2,
                width: 5,
                height: 4,
            })
            .unwrap();
        assert_eq!((c.width(), c.height()), (2, 2));
        assert_eq!(c.pixel(0, 0), Some([7, 0, 8, 255]));
        assert_eq!(c.pixel(1, 1), Some([7, 1, 9, 255]));
        // A view crops the same way without copying.
        let region = Region {
            x: 8,
            y: -2,
            width: 5,
            height: 4,
        };
        let v = f.view().crop(region).unwrap();
        assert_eq!((v.width(), v.height()), (2, 2));
        let mut out = [0u8; 16];
        assert!(v.copy_into(&mut out, 8, f.format()));
        let mut want = [0u8; 16];
        assert!(c.copy_into(&mut want, 8, f.format()));
        assert_eq!(out, want);
    }

    #[test]
    fn crop_outside_is_an_error() {
        let f = gradient(4, 4);
        let r = Region {
            x: 10,
            y: 0,
            width: 2,
            height: 2,
        };
        assert_eq!(f.crop(r), Err(FrameError::RegionOutside(r, 4, 4)));
    }

    #[test]
    fn short_buffers_are_refused() {
        assert!(Frame::new(2, 2, 8, PixelFormat::Xrgb8888, vec![0; 15]).is_err());
        assert!(Frame::new(2, 2, 4, PixelFormat::Xrgb8888, vec![0; 64]).is_err());
    }

    #[test]
    fn copies_convert_channel_order_and_keep_premultiplied_alpha() {
        // One premultiplied half-transparent red pixel, stored R, G, B, A.
        let frame = Frame::new(1, 1, 4, PixelFormat::Abgr8888, vec![128, 0, 0, 128]).unwrap();
        let mut out = [0u8; 8];
        assert!(frame.copy_into(&mut out, 8, PixelFormat::Argb8888));
        assert_eq!(out[..4], [0, 0, 128, 128]);
        assert!(frame.copy_into(&mut out, 4, PixelFormat::Xrgb8888));
        assert_eq!(out[..3], [0, 0, 128], "the padding byte is ignored");
        let opaque = Frame::new(1, 1, 4, PixelFormat::Xrgb8888, vec![1, 2, 3, 0]).unwrap();
        assert!(opaque.copy_into(&mut out, 4, PixelFormat::Abgr8888));
        assert_eq!(out[..4], [3, 2, 1, 255], "padding never becomes alpha");
        assert!(!frame.copy_into(&mut out[..3], 4, PixelFormat::Xrgb8888));
        assert_eq!(frame.row(0), Some(&[128u8, 0, 0, 128][..]));
        assert_eq!(frame.row(1), None);
    }

    #[test]
    fn premultiplied_alpha_is_undone() {
        assert_eq!(
            PixelFormat::Argb8888.rgba([0, 0, 64, 128]),
            [128, 0, 0, 128]
        );
    }
}
