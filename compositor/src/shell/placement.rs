//! Where windows go, pure: rectangles in, a position or a rectangle out. A new window
//! is placed where it covers least of the windows already there ([`place`]); a window
//! snaps to a half or a quarter of the usable area ([`snapped`]), by keyboard or by
//! being dragged against an edge ([`snap_at_edge`]).

use smithay::utils::{Logical, Point, Rectangle, Size};

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

fn overlap(a: Rectangle<i32, Logical>, b: Rectangle<i32, Logical>) -> i64 {
    a.intersection(b)
        .map_or(0, |i| i64::from(i.size.w) * i64::from(i.size.h))
}

/// How much of the `others` a window at `rect` hides: the sum of the shares of each
/// it covers, so hiding a small window entirely weighs more than a corner of a big one.
pub fn cover(rect: Rectangle<i32, Logical>, others: &[Rectangle<i32, Logical>]) -> f64 {
    others
        .iter()
        .filter(|o| o.size.w > 0 && o.size.h > 0)
        .map(|o| overlap(rect, *o) as f64 / (i64::from(o.size.w) * i64::from(o.size.h)) as f64)
        .sum()
}

/// Where a new window of `size` (its title bar included) goes in `area`: where it
/// covers the least of `others` (their title bars included), the nearest to the centre
/// among equals. The candidates are the centre and every position that lines the
/// window up with an edge of the area or of another window (where a free spot exists,
/// one of them is free), kept inside the area where the window fits.
pub fn place(
    area: Rectangle<i32, Logical>,
    size: Size<i32, Logical>,
    others: &[Rectangle<i32, Logical>],
) -> Point<i32, Logical> {
    let clamp = |v: i32, lo: i32, len: i32, span: i32| {
        if len >= span {
            lo
        } else {
            v.clamp(lo, lo + span - len)
        }
    };
    let centre: Point<i32, Logical> = Point::from((
        area.loc.x + (area.size.w - size.w) / 2,
        area.loc.y + (area.size.h - size.h) / 2,
    ));
    let centre = Point::from((
        clamp(centre.x, area.loc.x, size.w, area.size.w),
        clamp(centre.y, area.loc.y, size.h, area.size.h),
    ));
    let mut xs = vec![centre.x, area.loc.x, area.loc.x + area.size.w - size.w];
    let mut ys = vec![centre.y, area.loc.y, area.loc.y + area.size.h - size.h];
    for o in others {
        xs.extend([o.loc.x + o.size.w, o.loc.x - size.w, o.loc.x]);
        ys.extend([o.loc.y + o.size.h, o.loc.y - size.h, o.loc.y]);
    }
    let fix = |v: &mut Vec<i32>, lo: i32, len: i32, span: i32| {
        for x in v.iter_mut() {
            *x = clamp(*x, lo, len, span);
        }
        v.sort_unstable();
        v.dedup();
    };
    fix(&mut xs, area.loc.x, size.w, area.size.w);
    fix(&mut ys, area.loc.y, size.h, area.size.h);
    let distance = |p: Point<i32, Logical>| {
        let (dx, dy) = (i64::from(p.x - centre.x), i64::from(p.y - centre.y));
        dx * dx + dy * dy
    };
    let mut best = (cover(Rectangle::new(centre, size), others), 0i64, centre);
    for &x in &xs {
        for &y in &ys {
            let p = Point::from((x, y));
            let c = cover(Rectangle::new(p, size), others);
            let d = distance(p);
            // Shares compare with a little slack: float sums of the same windows.
            if c < best.0 - 1e-9 || ((c - best.0).abs() <= 1e-9 && d < best.1) {
                best = (c, d, p);
            }
        }
    }
    best.2
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn r(x: i32, y: i32, w: i32, h: i32) -> Rectangle<i32, Logical> {
        Rectangle::new((x, y).into(), (w, h).into())
    }

    #[allow(non_snake_case)]
    fn AREA() -> Rectangle<i32, Logical> {
        r(0, 0, 1920, 1080)
    }

    #[test]
    fn the_first_window_is_centred() {
        assert_eq!(place(AREA(), (800, 600).into(), &[]), (560, 240).into());
    }

    #[test]
    fn a_larger_window_does_not_hide_a_smaller_one() {
        // A small window in the centre, then a bigger one: centring (or cascading from
        // the centre) would hide the small one entirely; no spot is free of it.
        let small = r(810, 440, 300, 200);
        let at = place(AREA(), (1000, 700).into(), &[small]);
        let new = Rectangle::new(at, (1000, 700).into());
        assert!(overlap(new, small) < 300 * 200, "hid it entirely: {new:?}");
        // Where a free spot exists, it is taken.
        let corner = r(0, 0, 500, 400);
        let new = Rectangle::new(
            place(AREA(), (800, 600).into(), &[corner]),
            (800, 600).into(),
        );
        assert_eq!(overlap(new, corner), 0, "{new:?}");
    }

    #[test]
    fn with_no_free_spot_it_covers_least() {
        // Four windows in the quarters' middles; a window half the screen can avoid at
        // most hiding two of them.
        let others = [
            r(200, 100, 400, 300),
            r(1300, 100, 400, 300),
            r(200, 650, 400, 300),
            r(1300, 650, 400, 300),
        ];
        let at = place(AREA(), (1100, 700).into(), &others);
        let c = cover(Rectangle::new(at, (1100, 700).into()), &others);
        let centred = cover(r(410, 190, 1100, 700), &others);
        assert!(c < centred, "{c} vs centred {centred}");
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

    fn rects() -> impl Strategy<Value = Vec<Rectangle<i32, Logical>>> {
        proptest::collection::vec(
            (0i32..1800, 0i32..1000, 50i32..1200, 50i32..900)
                .prop_map(|(x, y, w, h)| r(x, y, w, h)),
            0..6,
        )
    }

    proptest! {
        #[test]
        fn never_worse_than_centring_and_inside_the_area(
            others in rects(),
            w in 100i32..1900,
            h in 100i32..1060,
        ) {
            let size: Size<i32, Logical> = (w, h).into();
            let at = place(AREA(), size, &others);
            let placed = Rectangle::new(at, size);
            prop_assert!(AREA().contains_rect(placed), "{placed:?}");
            let centre = r((1920 - w) / 2, (1080 - h) / 2, w, h);
            prop_assert!(cover(placed, &others) <= cover(centre, &others) + 1e-9);
        }

        #[test]
        fn a_free_spot_is_found_when_there_is_one(
            others in rects(),
            w in 100i32..900,
            h in 100i32..600,
        ) {
            let size: Size<i32, Logical> = (w, h).into();
            // Any free spot on a coarse grid means the placement is free too.
            let free_somewhere = (0..=(1920 - w)).step_by(16).any(|x| {
                (0..=(1080 - h)).step_by(16).any(|y| cover(r(x, y, w, h), &others) == 0.0)
            });
            let placed = Rectangle::new(place(AREA(), size, &others), size);
            if free_somewhere {
                prop_assert_eq!(cover(placed, &others), 0.0, "{:?} among {:?}", placed, others);
            }
        }
    }
}
