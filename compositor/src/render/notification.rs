//! On-screen notifications: a box of text at the top of every output (today: why the
//! configuration was not reloaded). A click on it dismisses it.

use smithay::{
    backend::{allocator::Fourcc, renderer::element::memory::MemoryRenderBuffer},
    utils::{Logical, Point, Rectangle, Size, Transform},
};
use tracing::warn;

use crate::state::Ghost;

const FONT_PX: f32 = 14.0;
const LINE_HEIGHT: usize = 18;
const PADDING: usize = 12;
const MAX_LINES: usize = 24;
const MAX_COLUMNS: usize = 110;
/// Distance from the top of the output.
pub const TOP_MARGIN: i32 = 16;
/// Background (premultiplied ARGB, opaque): a dark red that reads as "problem".
const BACKGROUND: [u8; 4] = [0x24, 0x1c, 0x5a, 0xff];

/// A notification ready to draw.
#[derive(Debug)]
pub struct Notification {
    /// Its text.
    pub text: String,
    /// The rendered box.
    pub buffer: MemoryRenderBuffer,
    /// Its size in logical pixels (drawn at scale 1).
    pub size: Size<i32, Logical>,
}

/// Renders `text` into a box: white monospace text on the notification background.
/// Without a font the box is drawn empty (the log still has the text).
pub fn render_box(text: &str) -> Notification {
    let lines: Vec<String> = text
        .lines()
        .take(MAX_LINES)
        .map(|l| l.chars().take(MAX_COLUMNS).collect())
        .collect();
    let mut font = super::text::Monospace::load(FONT_PX);
    if !font.available() {
        warn!("no font for notifications (install fonts-dejavu-core)");
    }
    let columns = lines
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .max(20);
    let width = columns * font.advance + 2 * PADDING;
    let height = lines.len().max(1) * LINE_HEIGHT + 2 * PADDING;
    let mut canvas = super::text::Canvas::new(width, height, BACKGROUND);
    for (row, line) in lines.iter().enumerate() {
        let baseline = PADDING + row * LINE_HEIGHT + (FONT_PX as usize);
        font.draw(&mut canvas, PADDING, baseline, line, [255, 255, 255]);
    }
    let pixels = canvas.pixels;
    let buffer = MemoryRenderBuffer::from_slice(
        &pixels,
        Fourcc::Argb8888,
        (width as i32, height as i32),
        1,
        Transform::Normal,
        None,
    );
    Notification {
        text: text.to_owned(),
        buffer,
        size: (width as i32, height as i32).into(),
    }
}

/// Where the notification sits on an output whose logical geometry is `output`.
pub fn placement(
    size: Size<i32, Logical>,
    output: Rectangle<i32, Logical>,
) -> Rectangle<i32, Logical> {
    let x = output.loc.x + ((output.size.w - size.w) / 2).max(0);
    Rectangle::new(Point::from((x, output.loc.y + TOP_MARGIN)), size)
}

impl Ghost {
    /// Shows `text` as a notification (None hides it).
    pub fn set_notification(&mut self, text: Option<String>) {
        self.notification = text.map(|t| render_box(&t));
        self.queue_redraw_all();
    }

    /// Whether a click at `pos` (global) lands on the notification.
    pub fn notification_hit(&self, pos: Point<f64, Logical>) -> bool {
        let Some(n) = &self.notification else {
            return false;
        };
        self.space
            .outputs()
            .filter_map(|o| self.space.output_geometry(o))
            .any(|g| placement(n.size, g).to_f64().contains(pos))
    }
}
