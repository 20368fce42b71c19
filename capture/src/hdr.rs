//! HDR screenshots: 16-bit PNGs that say what their numbers mean. The cICP chunk (PNG
//! third edition, ITU-T H.273 code points) tags the pixels as BT.2020 primaries with
//! the PQ transfer function, full range RGB, so HDR-aware viewers show them right and
//! others at least know they are not sRGB.

use std::io::Write;

use crate::{frame::FrameError, screenshot::ScreenshotError, Region};

/// H.273 colour primaries code point for BT.2020.
pub const CICP_PRIMARIES_BT2020: u8 = 9;
/// H.273 transfer characteristics code point for SMPTE ST 2084 (PQ).
pub const CICP_TRANSFER_PQ: u8 = 16;

/// An RGB frame of 16-bit signal values (PQ-encoded BT.2020 on HDR outputs).
#[derive(Debug, Clone, PartialEq)]
pub struct HdrFrame {
    width: u32,
    height: u32,
    rgb: Vec<u16>,
}

impl HdrFrame {
    /// Wraps `rgb` (three values per pixel, rows top first).
    pub fn new(width: u32, height: u32, rgb: Vec<u16>) -> Result<Self, FrameError> {
        let needed = width as usize * height as usize * 3;
        if rgb.len() < needed {
            return Err(FrameError::BufferTooSmall {
                width,
                height,
                stride: width as usize * 6,
                len: rgb.len() * 2,
            });
        }
        Ok(Self { width, height, rgb })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Every signal value, three per pixel, rows top first.
    pub fn rgb(&self) -> &[u16] {
        &self.rgb
    }

    /// The signal values of the pixel at (x, y).
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u16; 3]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let at = (y as usize * self.width as usize + x as usize) * 3;
        let p = self.rgb.get(at..at + 3)?;
        Some([p[0], p[1], p[2]])
    }

    /// The part inside `region`, clipped to the frame.
    pub fn crop(&self, region: Region) -> Result<HdrFrame, FrameError> {
        let outside = FrameError::RegionOutside(region, self.width, self.height);
        let x0 = region.x.max(0) as usize;
        let y0 = region.y.max(0) as usize;
        let x1 = (i64::from(region.x) + i64::from(region.width)).min(i64::from(self.width));
        let y1 = (i64::from(region.y) + i64::from(region.height)).min(i64::from(self.height));
        if region.width <= 0 || region.height <= 0 || x1 <= x0 as i64 || y1 <= y0 as i64 {
            return Err(outside);
        }
        let (x1, y1) = (x1 as usize, y1 as usize);
        let mut rgb = Vec::with_capacity((x1 - x0) * (y1 - y0) * 3);
        for y in y0..y1 {
            let row = y * self.width as usize * 3;
            rgb.extend_from_slice(&self.rgb[row + x0 * 3..row + x1 * 3]);
        }
        HdrFrame::new((x1 - x0) as u32, (y1 - y0) as u32, rgb)
    }

    /// Writes the frame as 10-bit values packed x:R:G:B 2:10:10:10 in little-endian
    /// 32-bit words (DRM's XRGB2101010, PipeWire's xRGB_210LE), rows `stride` bytes
    /// apart: what a 10-bit screen share carries. False where `out` is too small.
    pub fn pack_xrgb2101010(&self, out: &mut [u8], stride: usize) -> bool {
        self.pack_2101010(out, stride, [20, 10, 0], false)
    }

    /// The same word stored big-endian: GStreamer's `r210`, the one 10-bit RGB layout
    /// PipeWire's GStreamer elements name.
    pub fn pack_r210(&self, out: &mut [u8], stride: usize) -> bool {
        self.pack_2101010(out, stride, [20, 10, 0], true)
    }

    /// The same with red in the low bits, x:B:G:R (DRM's XBGR2101010): the 10-bit
    /// screencopy target, a format both renderers also take from clients.
    pub fn pack_xbgr2101010(&self, out: &mut [u8], stride: usize) -> bool {
        self.pack_2101010(out, stride, [0, 10, 20], false)
    }

    /// Packs with red, green and blue shifted by `shifts`, each word little- or
    /// big-endian.
    fn pack_2101010(&self, out: &mut [u8], stride: usize, shifts: [u32; 3], big: bool) -> bool {
        let (w, h) = (self.width as usize, self.height as usize);
        if stride < w * 4 || out.len() < stride * h.saturating_sub(1) + w * 4 {
            return false;
        }
        let ten = |v: u16| (u32::from(v) * 1023 + 32767) / 65535;
        for (y, row) in self.rgb.chunks_exact(w * 3).take(h).enumerate() {
            let line = &mut out[y * stride..y * stride + w * 4];
            for (px, rgb) in line.chunks_exact_mut(4).zip(row.chunks_exact(3)) {
                let word = (ten(rgb[0]) << shifts[0])
                    | (ten(rgb[1]) << shifts[1])
                    | (ten(rgb[2]) << shifts[2]);
                px.copy_from_slice(&if big {
                    word.to_be_bytes()
                } else {
                    word.to_le_bytes()
                });
            }
        }
        true
    }
}

/// Writes `frame` as a 16-bit RGB PNG tagged BT.2020 + PQ with a cICP chunk.
pub fn encode_png_hdr<W: Write>(frame: &HdrFrame, out: W) -> Result<(), ScreenshotError> {
    let mut encoder = png::Encoder::new(out, frame.width, frame.height);
    encoder.set_depth(png::BitDepth::Sixteen);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header()?;
    // cICP: primaries, transfer, matrix (0 = RGB), full range. Before IDAT, as required.
    writer.write_chunk(
        png::chunk::ChunkType(*b"cICP"),
        &[CICP_PRIMARIES_BT2020, CICP_TRANSFER_PQ, 0, 1],
    )?;
    let bytes: Vec<u8> = frame.rgb.iter().flat_map(|v| v.to_be_bytes()).collect();
    writer.write_image_data(&bytes)?;
    writer.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_png_is_16_bit_and_tagged_pq_bt2020() {
        let rgb: Vec<u16> = (0..12u16).map(|i| i * 5000).collect();
        let frame = HdrFrame::new(2, 2, rgb.clone()).unwrap();
        let mut bytes = Vec::new();
        encode_png_hdr(&frame, &mut bytes).unwrap();
        let at = bytes
            .windows(4)
            .position(|w| w == b"cICP")
            .expect("cICP chunk");
        assert_eq!(&bytes[at + 4..at + 8], &[9, 16, 0, 1]);
        assert!(at < bytes.windows(4).position(|w| w == b"IDAT").unwrap());
        let mut reader = png::Decoder::new(bytes.as_slice()).read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.bit_depth, png::BitDepth::Sixteen);
        let back: Vec<u16> = buf
            .chunks_exact(2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(back, rgb);
        let cropped = frame
            .crop(Region {
                x: 1,
                y: 1,
                width: 5,
                height: 5,
            })
            .unwrap();
        assert_eq!(cropped.pixel(0, 0), Some([45000, 50000, 55000]));
    }

    #[test]
    fn ten_bit_packing_puts_red_high_and_blue_low() {
        // 10-bit 1023, 512 and 0 as 16-bit signal values (v * 65535 / 1023).
        let frame = HdrFrame::new(2, 1, vec![65535, 32800, 0, 0, 0, 64]).unwrap();
        let mut out = vec![0xffu8; 12];
        assert!(frame.pack_xrgb2101010(&mut out, 12));
        let first = u32::from_le_bytes([out[0], out[1], out[2], out[3]]);
        assert_eq!((first >> 20) & 1023, 1023);
        assert_eq!((first >> 10) & 1023, 512);
        assert_eq!(first & 1023, 0);
        let second = u32::from_le_bytes([out[4], out[5], out[6], out[7]]);
        assert_eq!(second, 1);
        assert_eq!(&out[8..], &[0xff; 4], "past the row is left alone");
        assert!(!frame.pack_xrgb2101010(&mut out[..7], 8));
        assert!(frame.pack_xbgr2101010(&mut out, 12));
        let first = u32::from_le_bytes([out[0], out[1], out[2], out[3]]);
        assert_eq!(
            (first & 1023, (first >> 10) & 1023, first >> 20),
            (1023, 512, 0)
        );
    }
}
