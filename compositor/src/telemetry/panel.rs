//! The performance overlay's picture: lines of figures over a frame-time graph, drawn
//! into memory from plain data (no compositor state), so what it shows is testable
//! apart from the screen.

use crate::render::text::{Canvas, Monospace};

const FONT_PX: f32 = 13.0;
const LINE_HEIGHT: usize = 16;
const PADDING: usize = 8;
const COLUMNS: usize = 46;
const GRAPH_HEIGHT: usize = 48;
/// Translucent near-black (B, G, R, A, premultiplied).
pub const BACKGROUND: [u8; 4] = [0x0e, 0x0c, 0x0c, 0xe0];
/// The graph's bars: green for frames on time, red for frames over 1.5 periods.
const ON_TIME: [u8; 4] = [0x60, 0xd0, 0x40, 0xff];
const LATE: [u8; 4] = [0x30, 0x30, 0xe0, 0xff];
/// The line at one refresh period.
const PERIOD_LINE: [u8; 4] = [0x90, 0x90, 0x90, 0xff];
const TITLE: [u8; 3] = [0xf0, 0xd0, 0x70];
const TEXT: [u8; 3] = [0xee, 0xee, 0xee];

/// What the panel shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PanelData {
    /// The first line (output, refresh, VRR).
    pub title: String,
    /// The figures, a line each.
    pub lines: Vec<String>,
    /// Recent frame times in ms, oldest first.
    pub graph_ms: Vec<f64>,
    /// The output's refresh period in ms (the graph's reference line).
    pub period_ms: f64,
}

/// The panel's size in pixels for `lines` lines of figures.
pub fn size(font: &Monospace, lines: usize) -> (usize, usize) {
    (
        COLUMNS * font.advance + 2 * PADDING,
        (lines + 1) * LINE_HEIGHT + GRAPH_HEIGHT + 3 * PADDING,
    )
}

/// A font for the panel.
pub fn font() -> Monospace {
    Monospace::load(FONT_PX)
}

/// Draws `data`.
pub fn draw(font: &mut Monospace, data: &PanelData) -> Canvas {
    let (width, height) = size(font, data.lines.len());
    let mut canvas = Canvas::new(width, height, BACKGROUND);
    let clip = |s: &str| s.chars().take(COLUMNS).collect::<String>();
    font.draw(
        &mut canvas,
        PADDING,
        PADDING + FONT_PX as usize,
        &clip(&data.title),
        TITLE,
    );
    for (row, line) in data.lines.iter().enumerate() {
        let baseline = PADDING + (row + 1) * LINE_HEIGHT + FONT_PX as usize;
        font.draw(&mut canvas, PADDING, baseline, &clip(line), TEXT);
    }
    let top = height - PADDING - GRAPH_HEIGHT;
    let graph_width = width - 2 * PADDING;
    // The scale: two periods (33 ms at 60 Hz) or the worst frame, whichever is more.
    let period = if data.period_ms > 0.0 {
        data.period_ms
    } else {
        16.7
    };
    let full = data.graph_ms.iter().copied().fold(2.0 * period, f64::max);
    let bars = data.graph_ms.len().min(graph_width / 2);
    let shown = &data.graph_ms[data.graph_ms.len() - bars..];
    for (i, ms) in shown.iter().enumerate() {
        let h = ((ms / full) * GRAPH_HEIGHT as f64)
            .round()
            .clamp(1.0, GRAPH_HEIGHT as f64) as usize;
        let colour = if *ms > 1.5 * period { LATE } else { ON_TIME };
        let x = PADDING + graph_width - (bars - i) * 2;
        canvas.fill(x, top + GRAPH_HEIGHT - h, 1, h, colour);
    }
    let line_y = top + GRAPH_HEIGHT - ((period / full) * GRAPH_HEIGHT as f64).round() as usize;
    canvas.fill(PADDING, line_y, graph_width, 1, PERIOD_LINE);
    canvas
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pixel(c: &Canvas, x: usize, y: usize) -> [u8; 4] {
        let at = (y * c.width + x) * 4;
        c.pixels[at..at + 4].try_into().unwrap()
    }

    #[test]
    fn a_late_frame_is_a_tall_red_bar_at_the_right_edge() {
        let mut font = font();
        let mut graph = vec![16.7; 100];
        graph.push(50.0);
        let c = draw(
            &mut font,
            &PanelData {
                title: "HEADLESS-1 60 Hz".into(),
                lines: vec!["frame 16.7 ms".into()],
                graph_ms: graph,
                period_ms: 16.7,
            },
        );
        let x = c.width - PADDING - 2;
        let bottom = c.height - PADDING - 1;
        let top = c.height - PADDING - GRAPH_HEIGHT;
        assert_eq!(pixel(&c, x, bottom), LATE);
        assert_eq!(pixel(&c, x, top), LATE, "the worst frame fills the graph");
        // The bar before it is on time and a third as tall.
        assert_eq!(pixel(&c, x - 2, bottom), ON_TIME);
        assert_eq!(pixel(&c, x - 2, top + GRAPH_HEIGHT / 2), BACKGROUND);
        if font.available() {
            // Text was drawn somewhere in the title's row.
            let row = PADDING + 6;
            assert!((0..c.width).any(|x| pixel(&c, x, row) != BACKGROUND));
        }
    }
}
