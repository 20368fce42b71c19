//! The pointer the compositor draws itself where no host draws one (KMS): a plain arrow
//! for every named cursor shape. Clients that set a cursor surface are drawn as they
//! ask.

use smithay::{
    backend::{allocator::Fourcc, renderer::element::memory::MemoryRenderBuffer},
    utils::{Logical, Point, Transform},
};

/// Rows of the arrow: `X` outline, `.` fill, anything else transparent.
const ARROW: [&str; 19] = [
    "X",
    "XX",
    "X.X",
    "X..X",
    "X...X",
    "X....X",
    "X.....X",
    "X......X",
    "X.......X",
    "X........X",
    "X.........X",
    "X......XXXXX",
    "X...X..X",
    "X..XX..X",
    "X.X  X..X",
    "XX   X..X",
    "X     X..X",
    "      X..X",
    "       XX",
];

/// The arrow image and where in it the pointer's position is.
#[derive(Debug)]
pub struct DefaultCursor {
    /// The pixels, for the renderer.
    pub buffer: MemoryRenderBuffer,
    /// The same pixels for a hardware cursor plane.
    pub image: ghost_kms::cursor::CursorImage,
    /// The tip of the arrow.
    pub hotspot: Point<i32, Logical>,
}

impl DefaultCursor {
    /// Width of the arrow in pixels.
    pub const WIDTH: i32 = 12;

    /// The arrow, with its tip at the top-left pixel.
    pub fn arrow() -> Self {
        let (w, h) = (Self::WIDTH as usize, ARROW.len());
        let mut pixels = vec![0u8; w * h * 4];
        for (y, row) in ARROW.iter().enumerate() {
            for (x, c) in row.bytes().enumerate().take(w) {
                // ARGB8888 little endian: B, G, R, A (premultiplied).
                let px: [u8; 4] = match c {
                    b'X' => [0, 0, 0, 255],
                    b'.' => [255, 255, 255, 255],
                    _ => [0, 0, 0, 0],
                };
                let at = (y * w + x) * 4;
                pixels[at..at + 4].copy_from_slice(&px);
            }
        }
        Self {
            image: ghost_kms::cursor::CursorImage {
                pixels: pixels.clone(),
                width: w as u32,
                height: h as u32,
                serial: 1,
            },
            buffer: MemoryRenderBuffer::from_slice(
                &pixels,
                Fourcc::Argb8888,
                (w as i32, h as i32),
                1,
                Transform::Normal,
                None,
            ),
            hotspot: (0, 0).into(),
        }
    }
}
