//! Tiling, pure: rectangles out for a count of windows. A tiled workspace shows its
//! first window in a master column on the left and the others stacked in a column on
//! the right (dwm's and river's default layout), with gaps between them and around
//! them. The glue in `tiling_glue.rs` decides which windows take part.

use smithay::utils::{Logical, Rectangle};

/// How a tiled workspace is laid out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TileParams {
    /// Pixels between windows and around them.
    pub gap: i32,
    /// The master column's share of the width, 0.1 to 0.9.
    pub master_ratio: f64,
}

impl Default for TileParams {
    fn default() -> Self {
        Self {
            gap: 8,
            master_ratio: 0.5,
        }
    }
}

/// `n` parts of `len` pixels with `gap` pixels between them, as (offset, length):
/// the remainder goes to the first parts, so the parts and gaps fill `len` exactly.
fn split(len: i32, n: usize, gap: i32) -> Vec<(i32, i32)> {
    let n_i = i32::try_from(n).unwrap_or(i32::MAX).max(1);
    let avail = (len - gap * (n_i - 1)).max(n_i);
    let (base, extra) = (avail / n_i, avail % n_i);
    let mut at = 0;
    (0..n_i)
        .map(|i| {
            let size = base + i32::from(i < extra);
            let part = (at, size);
            at += size + gap;
            part
        })
        .collect()
}

/// Where each of `count` tiled windows goes in `area`: the first in the master column,
/// the rest stacked top to bottom beside it. Every rectangle is at least 1×1 and inside
/// `area` when the area has room for the gaps.
pub fn tile(
    area: Rectangle<i32, Logical>,
    count: usize,
    params: TileParams,
) -> Vec<Rectangle<i32, Logical>> {
    if count == 0 {
        return Vec::new();
    }
    let gap = params.gap.max(0);
    // The gap around the windows, when the area leaves room for it.
    let outer = if area.size.w > 4 * gap && area.size.h > 4 * gap {
        gap
    } else {
        0
    };
    let inner = Rectangle::<i32, Logical>::new(
        (area.loc.x + outer, area.loc.y + outer).into(),
        (
            (area.size.w - 2 * outer).max(1),
            (area.size.h - 2 * outer).max(1),
        )
            .into(),
    );
    let r = |x, y, w: i32, h: i32| -> Rectangle<i32, Logical> {
        Rectangle::new((x, y).into(), (w.max(1), h.max(1)).into())
    };
    if count == 1 {
        return vec![inner];
    }
    let inner_gap = if inner.size.w > 2 * gap { gap } else { 0 };
    let ratio = params.master_ratio.clamp(0.1, 0.9);
    let usable = (inner.size.w - inner_gap).max(2);
    let master_w = ((f64::from(usable) * ratio).round() as i32).clamp(1, usable - 1);
    let stack_w = usable - master_w;
    let stack_x = inner.loc.x + master_w + inner_gap;
    let mut out = vec![r(inner.loc.x, inner.loc.y, master_w, inner.size.h)];
    let row_gap = if inner.size.h > gap * (count as i32) {
        gap
    } else {
        0
    };
    out.extend(
        split(inner.size.h, count - 1, row_gap)
            .into_iter()
            .map(|(y, h)| r(stack_x, inner.loc.y + y, stack_w, h)),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rect(x: i32, y: i32, w: i32, h: i32) -> Rectangle<i32, Logical> {
        Rectangle::new((x, y).into(), (w, h).into())
    }

    #[test]
    fn one_window_fills_the_area_inside_the_gap_and_three_make_a_master_and_a_stack() {
        let area = rect(0, 0, 1280, 720);
        let params = TileParams {
            gap: 10,
            master_ratio: 0.5,
        };
        assert_eq!(tile(area, 1, params), vec![rect(10, 10, 1260, 700)]);
        let three = tile(area, 3, params);
        assert_eq!(three[0], rect(10, 10, 625, 700));
        assert_eq!(three[1], rect(645, 10, 625, 345));
        assert_eq!(three[2], rect(645, 365, 625, 345));
    }

    proptest! {
        /// Whatever the area and count: one rectangle per window, all inside the area,
        /// none overlapping another; without gaps they cover the area exactly.
        #[test]
        fn tiles_stay_inside_never_overlap_and_fill_without_gaps(
            x in -2000i32..2000, y in -2000i32..2000,
            w in 100i32..4000, h in 100i32..3000,
            count in 0usize..12, gap in 0i32..30, ratio in 0.0f64..1.0,
        ) {
            let area = rect(x, y, w, h);
            let params = TileParams { gap, master_ratio: ratio };
            let tiles = tile(area, count, params);
            prop_assert_eq!(tiles.len(), count);
            for (i, t) in tiles.iter().enumerate() {
                prop_assert!(t.size.w >= 1 && t.size.h >= 1);
                prop_assert!(area.contains_rect(*t), "{:?} outside {:?}", t, area);
                for other in &tiles[i + 1..] {
                    prop_assert!(!t.overlaps(*other), "{:?} overlaps {:?}", t, other);
                }
            }
            if gap == 0 && count > 0 {
                let covered: i64 = tiles.iter().map(|t| i64::from(t.size.w) * i64::from(t.size.h)).sum();
                prop_assert_eq!(covered, i64::from(w) * i64::from(h));
            }
        }
    }
}
