//! Pictures already in an encoder's layout: NV12 (8-bit) or P010 (10-bit samples in the
//! top bits of 16), a luma plane then an interleaved CbCr plane, rows packed. The GPU
//! makes them (the compositor's packing pass), so the CPU neither converts colour nor
//! reads the four bytes a pixel of RGB back.

use crate::frame::FrameError;

/// An NV12 or P010 picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YuvFrame {
    width: u32,
    height: u32,
    ten_bit: bool,
    data: Vec<u8>,
}

impl YuvFrame {
    /// Wraps `data` (luma plane, then chroma plane), checking its size; the width must
    /// be a multiple of 4 and the height of 2.
    pub fn new(width: u32, height: u32, ten_bit: bool, data: Vec<u8>) -> Result<Self, FrameError> {
        let sample = if ten_bit { 2 } else { 1 };
        let needed = (width * height) as usize * sample * 3 / 2;
        if width % 4 != 0 || height % 2 != 0 || data.len() < needed {
            return Err(FrameError::BufferTooSmall {
                width,
                height,
                stride: width as usize * sample,
                len: data.len(),
            });
        }
        Ok(Self {
            width,
            height,
            ten_bit,
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

    /// P010 (else NV12).
    pub fn ten_bit(&self) -> bool {
        self.ten_bit
    }

    /// Bytes of one row of either plane.
    pub fn row_bytes(&self) -> usize {
        self.width as usize * if self.ten_bit { 2 } else { 1 }
    }

    /// The luma plane.
    pub fn luma(&self) -> &[u8] {
        &self.data[..self.row_bytes() * self.height as usize]
    }

    /// The interleaved CbCr plane.
    pub fn chroma(&self) -> &[u8] {
        let luma = self.row_bytes() * self.height as usize;
        &self.data[luma..luma + self.row_bytes() * self.height as usize / 2]
    }

    /// Y', Cb, Cr code values at (x, y) (10-bit values for P010).
    pub fn sample(&self, x: u32, y: u32) -> Option<[u16; 3]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let (x, y) = (x as usize, y as usize);
        let row = self.row_bytes();
        if self.ten_bit {
            let at = |plane: &[u8], i: usize| u16::from_le_bytes([plane[i], plane[i + 1]]) >> 6;
            let c = (y / 2) * row + (x / 2) * 4;
            Some([
                at(self.luma(), y * row + x * 2),
                at(self.chroma(), c),
                at(self.chroma(), c + 2),
            ])
        } else {
            let c = (y / 2) * row + (x / 2) * 2;
            let chroma = self.chroma();
            Some([
                u16::from(self.luma()[y * row + x]),
                u16::from(chroma[c]),
                u16::from(chroma[c + 1]),
            ])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_come_from_both_layouts() {
        // 4x2 NV12: luma 0..8, chroma (100, 200) (101, 201).
        let mut data: Vec<u8> = (0..8).collect();
        data.extend([100, 200, 101, 201]);
        let f = YuvFrame::new(4, 2, false, data).unwrap();
        assert_eq!(f.sample(3, 1), Some([7, 101, 201]));
        let mut p010 = Vec::new();
        for v in (0..8u16).map(|v| (v + 64) << 6) {
            p010.extend(v.to_le_bytes());
        }
        for v in [512u16, 600, 513, 601] {
            p010.extend((v << 6).to_le_bytes());
        }
        let f = YuvFrame::new(4, 2, true, p010).unwrap();
        assert_eq!(f.sample(2, 0), Some([66, 513, 601]));
        assert!(YuvFrame::new(6, 2, false, vec![0; 18]).is_err());
    }
}
