//! Snapping, pure: rectangles in, a rectangle out. A window snaps to a half or a quarter
//! of the usable area ([`snapped`]), by keyboard or by being dragged against an edge
//! ([`snap_at_edge`]).

use smithay::utils::{Logical, Point, Rectangle};

/// Which half or quarter: the configuration's own word for it (`{ snap = "left" }`).
pub use ghost_config::SnapTarget as Snap;

/// The part of `area` a window snapped to `snap` fills (odd pixels go to the right and
/// bottom parts, so the parts tile the area exactly).
pub fn snapped(area: Rectangle<i32, Logical>, snap: Snap) -> Rectangle<i32, Logical> {
    let (x, y, w, h) = (area.loc.x, area.loc.y, area.size.w, area.size.h);
    let (left_w, top_h) = (w / 2, h / 2);
    let (right_w, bottom_h) = (w - left_w, h - top_h);
    let (xl, xr, yt, yb) = (x, x + left_w, y, y + top_h);
    let r = |x, y, w, h| Rectangle::new((x, y).into(), (w, h).into());
    match snap {
        Snap::Left => r(xl, y, left_w, h),
        Snap::Right => r(xr, y, right_w, h),
        Snap::Top => r(x, yt, w, top_h),
        Snap::Bottom => r(x, yb, w, bottom_h),
        Snap::TopLeft => r(xl, yt, left_w, top_h),
        Snap::TopRight => r(xr, yt, right_w, top_h),
        Snap::BottomLeft => r(xl, yb, left_w, bottom_h),
        Snap::BottomRight => r(xr, yb, right_w, bottom_h),
    }
}

/// What dropping a dragged window with the pointer at `pointer` does on an output of
/// geometry `output`: against the left or right edge a half, in a corner a quarter
/// (within `corner` pixels of it), against the top edge maximized (`None` inside: the
/// window just stays where it was dropped).
pub fn snap_at_edge(
    output: Rectangle<i32, Logical>,
    pointer: Point<f64, Logical>,
    corner: f64,
) -> Option<EdgeDrop> {
    let (left, top) = (f64::from(output.loc.x), f64::from(output.loc.y));
    let (right, bottom) = (
        left + f64::from(output.size.w),
        top + f64::from(output.size.h),
    );
    let at_left = pointer.x <= left + 1.0;
    let at_right = pointer.x >= right - 2.0;
    let at_top = pointer.y <= top + 1.0;
    let near_top = pointer.y <= top + corner;
    let near_bottom = pointer.y >= bottom - corner;
    let near_left = pointer.x <= left + corner;
    let near_right = pointer.x >= right - corner;
    Some(EdgeDrop::Snap(match () {
        _ if (at_left && near_top) || (at_top && near_left) => Snap::TopLeft,
        _ if (at_right && near_top) || (at_top && near_right) => Snap::TopRight,
        _ if at_left && near_bottom => Snap::BottomLeft,
        _ if at_right && near_bottom => Snap::BottomRight,
        _ if at_left => Snap::Left,
        _ if at_right => Snap::Right,
        _ if at_top => return Some(EdgeDrop::Maximize),
        _ => return None,
    }))
}

/// What an edge drop does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeDrop {
    /// Snap to a half or quarter.
    Snap(Snap),
    /// Maximize.
    Maximize,
}

#[cfg(test)]
fn overlap(a: Rectangle<i32, Logical>, b: Rectangle<i32, Logical>) -> i64 {
    a.intersection(b)
        .map_or(0, |i| i64::from(i.size.w) * i64::from(i.size.h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(x: i32, y: i32, w: i32, h: i32) -> Rectangle<i32, Logical> {
        Rectangle::new((x, y).into(), (w, h).into())
    }

    #[test]
    fn snapped_parts_tile_the_area() {
        let area = r(0, 30, 1921, 1051);
        let l = snapped(area, Snap::Left);
        let rt = snapped(area, Snap::Right);
        assert_eq!(l.size.w + rt.size.w, 1921);
        assert_eq!(rt.loc.x, l.loc.x + l.size.w);
        let q = [
            Snap::TopLeft,
            Snap::TopRight,
            Snap::BottomLeft,
            Snap::BottomRight,
        ]
        .map(|s| snapped(area, s));
        let total: i64 = q
            .iter()
            .map(|q| i64::from(q.size.w) * i64::from(q.size.h))
            .sum();
        assert_eq!(total, 1921 * 1051);
        for (i, a) in q.iter().enumerate() {
            for b in &q[i + 1..] {
                assert_eq!(overlap(*a, *b), 0);
            }
        }
    }

    #[test]
    fn edges_and_corners_of_the_output() {
        let out = r(1920, 0, 1280, 720);
        let at = |x, y| snap_at_edge(out, (x, y).into(), 48.0);
        assert_eq!(at(1920.0, 400.0), Some(EdgeDrop::Snap(Snap::Left)));
        assert_eq!(at(3199.0, 400.0), Some(EdgeDrop::Snap(Snap::Right)));
        assert_eq!(at(1920.0, 10.0), Some(EdgeDrop::Snap(Snap::TopLeft)));
        assert_eq!(at(3199.0, 700.0), Some(EdgeDrop::Snap(Snap::BottomRight)));
        assert_eq!(at(2500.0, 0.0), Some(EdgeDrop::Maximize));
        assert_eq!(at(2500.0, 400.0), None);
    }
}
