//! Server-side decorations: a title bar above the window with a close button, drawn by
//! the compositor for clients that ask for it (xdg-decoration).

use smithay::{
    backend::renderer::element::{
        solid::{SolidColorBuffer, SolidColorRenderElement},
        Kind,
    },
    desktop::Window,
    utils::{Logical, Physical, Point, Rectangle, Scale},
};

use super::window_data;
use crate::state::Ghost;

/// Height of the title bar in logical pixels.
pub const TITLE_BAR_HEIGHT: i32 = 24;
const FOCUSED: [f32; 4] = [0.16, 0.22, 0.34, 1.0];
const UNFOCUSED: [f32; 4] = [0.22, 0.22, 0.24, 1.0];
const CLOSE: [f32; 4] = [0.80, 0.25, 0.22, 1.0];

/// The buffers a title bar is drawn from; they keep their ids across frames so damage
/// tracking sees only real changes (focus, resize).
#[derive(Debug)]
pub struct TitleBar {
    bar: SolidColorBuffer,
    close: SolidColorBuffer,
}

impl Default for TitleBar {
    fn default() -> Self {
        Self {
            bar: SolidColorBuffer::new((0, 0), UNFOCUSED),
            close: SolidColorBuffer::new((TITLE_BAR_HEIGHT, TITLE_BAR_HEIGHT), CLOSE),
        }
    }
}

/// Where a point on a decorated window's title bar lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TitleBarHit {
    /// The bar itself: dragging moves the window.
    Bar,
    /// The close button.
    Close,
}

/// Whether `window` gets a title bar now (decorated and not fullscreen).
pub fn has_title_bar(window: &Window) -> bool {
    window_data(window).server_side_decorations.get() && !Ghost::is_fullscreen(window)
}

/// The title bar's rectangle in global coordinates, for a window whose geometry starts at
/// `window_location`.
pub fn title_bar_rect(
    window: &Window,
    window_location: Point<i32, Logical>,
) -> Rectangle<i32, Logical> {
    let width = window.geometry().size.w;
    Rectangle::new(
        (window_location.x, window_location.y - TITLE_BAR_HEIGHT).into(),
        (width, TITLE_BAR_HEIGHT).into(),
    )
}

/// What part of the title bar (if any) is at `point`.
pub fn hit_test(
    window: &Window,
    window_location: Point<i32, Logical>,
    point: Point<f64, Logical>,
) -> Option<TitleBarHit> {
    if !has_title_bar(window) {
        return None;
    }
    let bar = title_bar_rect(window, window_location);
    if !bar.to_f64().contains(point) {
        return None;
    }
    let close_x = bar.loc.x + bar.size.w - TITLE_BAR_HEIGHT;
    Some(if point.x >= close_x as f64 {
        TitleBarHit::Close
    } else {
        TitleBarHit::Bar
    })
}

/// Render elements of the title bar (close button first: front to back).
pub fn title_bar_elements(
    window: &Window,
    window_location: Point<i32, Logical>,
    output_origin: Point<i32, Logical>,
    scale: Scale<f64>,
    focused: bool,
) -> Vec<SolidColorRenderElement> {
    if !has_title_bar(window) {
        return Vec::new();
    }
    let rect = title_bar_rect(window, window_location);
    let data = window_data(window);
    let mut bar = data.decorations.borrow_mut();
    bar.bar
        .update(rect.size, if focused { FOCUSED } else { UNFOCUSED });
    let to_physical = |p: Point<i32, Logical>| -> Point<i32, Physical> {
        (p - output_origin).to_physical_precise_round(scale)
    };
    let close_loc = Point::from((rect.loc.x + rect.size.w - TITLE_BAR_HEIGHT, rect.loc.y));
    vec![
        SolidColorRenderElement::from_buffer(
            &bar.close,
            to_physical(close_loc),
            scale,
            1.0,
            Kind::Unspecified,
        ),
        SolidColorRenderElement::from_buffer(
            &bar.bar,
            to_physical(rect.loc),
            scale,
            1.0,
            Kind::Unspecified,
        ),
    ]
}
