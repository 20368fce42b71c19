//! Monospace text drawn by the compositor itself (notifications, the performance
//! overlay) into premultiplied ARGB8888 pixels, with each glyph rasterised once.

use std::collections::HashMap;

const FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/TTF/DejaVuSansMono.ttf",
];

/// A monospace font at one size, with the glyphs drawn so far.
pub struct Monospace {
    font: Option<fontdue::Font>,
    px: f32,
    /// Width of every cell, in pixels.
    pub advance: usize,
    glyphs: HashMap<char, (fontdue::Metrics, Vec<u8>)>,
}

/// A picture being drawn: premultiplied ARGB8888 (in memory B, G, R, A), row after row.
pub struct Canvas {
    /// The pixels.
    pub pixels: Vec<u8>,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
}

impl Canvas {
    /// A canvas filled with `background` (B, G, R, A, premultiplied).
    pub fn new(width: usize, height: usize, background: [u8; 4]) -> Self {
        Self {
            pixels: background
                .iter()
                .copied()
                .cycle()
                .take(width * height * 4)
                .collect(),
            width,
            height,
        }
    }

    /// Fills a rectangle with `colour` (B, G, R, A, premultiplied), clipped.
    pub fn fill(&mut self, x: usize, y: usize, w: usize, h: usize, colour: [u8; 4]) {
        for row in y.min(self.height)..(y + h).min(self.height) {
            for col in x.min(self.width)..(x + w).min(self.width) {
                let at = (row * self.width + col) * 4;
                self.pixels[at..at + 4].copy_from_slice(&colour);
            }
        }
    }

    /// Blends `colour` (opaque B, G, R) over the pixel at (x, y) with coverage `a`.
    fn blend(&mut self, x: usize, y: usize, colour: [u8; 3], a: u8) {
        let at = (y * self.width + x) * 4;
        let a = u32::from(a);
        for (c, value) in colour.iter().enumerate() {
            let bg = u32::from(self.pixels[at + c]);
            self.pixels[at + c] = ((u32::from(*value) * a + bg * (255 - a)) / 255) as u8;
        }
        let bg = u32::from(self.pixels[at + 3]);
        self.pixels[at + 3] = (a + bg * (255 - a) / 255).min(255) as u8;
    }
}

impl Monospace {
    /// DejaVu Sans Mono at `px` pixels; without the font, text is left out (and the
    /// caller says so where it matters).
    pub fn load(px: f32) -> Self {
        let font = FONT_PATHS.iter().find_map(|p| {
            let bytes = std::fs::read(p).ok()?;
            fontdue::Font::from_bytes(bytes, fontdue::FontSettings::default()).ok()
        });
        let advance = font
            .as_ref()
            .map(|f| f.metrics('M', px).advance_width.ceil() as usize)
            .unwrap_or(8);
        Self {
            font,
            px,
            advance,
            glyphs: HashMap::new(),
        }
    }

    /// Whether a font was found.
    pub fn available(&self) -> bool {
        self.font.is_some()
    }

    /// Draws `text` in `colour` (B, G, R) with its first cell at `x` and its baseline
    /// at `baseline`.
    pub fn draw(
        &mut self,
        canvas: &mut Canvas,
        x: usize,
        baseline: usize,
        text: &str,
        colour: [u8; 3],
    ) {
        let Some(font) = &self.font else {
            return;
        };
        for (col, ch) in text.chars().enumerate() {
            let (metrics, coverage) = self
                .glyphs
                .entry(ch)
                .or_insert_with(|| font.rasterize(ch, self.px));
            let x0 = (x + col * self.advance) as i64 + i64::from(metrics.xmin);
            let y0 = baseline as i64 - metrics.height as i64 - i64::from(metrics.ymin);
            for gy in 0..metrics.height {
                for gx in 0..metrics.width {
                    let (px, py) = (x0 + gx as i64, y0 + gy as i64);
                    if px < 0
                        || py < 0
                        || px as usize >= canvas.width
                        || py as usize >= canvas.height
                    {
                        continue;
                    }
                    let a = coverage[gy * metrics.width + gx];
                    if a > 0 {
                        canvas.blend(px as usize, py as usize, colour, a);
                    }
                }
            }
        }
    }
}
