//! Which parts of a captured picture changed since the last one a consumer received.
//!
//! Capture protocols and streams report damage so consumers (VNC servers, encoders,
//! recorders) touch only what changed. The renderer's own damage is per output and per
//! frame, while a capture session may skip frames, crop, or show a single window; so the
//! session keeps the last picture it delivered and compares. Comparing 32×32 tiles costs
//! one pass over memory the capture has just written anyway.

use crate::frame::{Frame, Region};

/// Edge of the square tiles compared; changed tiles are merged into rectangles.
pub const TILE: u32 = 32;

/// More boxes than a consumer takes (PipeWire's damage meta holds 16, protocols send
/// each as an event): past this, the bounding box is as useful and cheaper.
pub const MAX_BOXES: usize = 64;

fn contains(outer: &Region, inner: &Region) -> bool {
    inner.x >= outer.x
        && inner.y >= outer.y
        && inner.x + inner.width <= outer.x + outer.width
        && inner.y + inner.height <= outer.y + outer.height
}

/// Adds `more` to the damage a consumer has not been told about yet: a box inside one
/// already there adds nothing (a client redrawing the same rectangle every frame stays
/// one box, copied once); past [`MAX_BOXES`] the boxes become their bounding box.
pub fn accumulate(unsent: &mut Vec<Region>, more: impl IntoIterator<Item = Region>) {
    for region in more {
        if region.width <= 0 || region.height <= 0 || unsent.iter().any(|r| contains(r, &region)) {
            continue;
        }
        unsent.retain(|r| !contains(&region, r));
        unsent.push(region);
    }
    if unsent.len() <= MAX_BOXES {
        return;
    }
    let x0 = unsent.iter().map(|r| r.x).min().unwrap_or(0);
    let y0 = unsent.iter().map(|r| r.y).min().unwrap_or(0);
    let x1 = unsent.iter().map(|r| r.x + r.width).max().unwrap_or(0);
    let y1 = unsent.iter().map(|r| r.y + r.height).max().unwrap_or(0);
    unsent.clear();
    unsent.push(Region {
        x: x0,
        y: y0,
        width: x1 - x0,
        height: y1 - y0,
    });
}

/// Rectangles covering every pixel that differs between `previous` and `next`. A size
/// change or no previous picture damages the whole frame; identical frames give none.
pub fn changed_regions(previous: Option<&Frame>, next: &Frame) -> Vec<Region> {
    let full = || {
        vec![Region {
            x: 0,
            y: 0,
            width: next.width() as i32,
            height: next.height() as i32,
        }]
    };
    let Some(previous) = previous else {
        return full();
    };
    if (previous.width(), previous.height()) != (next.width(), next.height())
        || previous.format() != next.format()
    {
        return full();
    }
    let (w, h) = (next.width(), next.height());
    let columns = w.div_ceil(TILE);
    let mut rectangles: Vec<Region> = Vec::new();
    // Runs of changed tiles in the band above, to extend downwards when they repeat.
    let mut open: Vec<usize> = Vec::new();
    for band in 0..h.div_ceil(TILE) {
        let y0 = band * TILE;
        let y1 = (y0 + TILE).min(h);
        let mut changed = vec![false; columns as usize];
        for y in y0..y1 {
            let (Some(a), Some(b)) = (previous.row(y), next.row(y)) else {
                continue;
            };
            for (column, flag) in changed.iter_mut().enumerate() {
                if *flag {
                    continue;
                }
                let start = column * TILE as usize * 4;
                let end = (start + TILE as usize * 4).min(a.len());
                *flag = a[start..end] != b[start..end];
            }
        }
        let mut runs = Vec::new();
        let mut column = 0;
        while column < changed.len() {
            if !changed[column] {
                column += 1;
                continue;
            }
            let first = column;
            while column < changed.len() && changed[column] {
                column += 1;
            }
            let x = first as u32 * TILE;
            let right = (column as u32 * TILE).min(w);
            runs.push((x as i32, (right - x) as i32));
        }
        let mut still_open = Vec::new();
        for (x, width) in runs {
            let above = open
                .iter()
                .copied()
                .find(|&i| rectangles[i].x == x && rectangles[i].width == width);
            match above {
                Some(i) => {
                    rectangles[i].height += (y1 - y0) as i32;
                    still_open.push(i);
                }
                None => {
                    rectangles.push(Region {
                        x,
                        y: y0 as i32,
                        width,
                        height: (y1 - y0) as i32,
                    });
                    still_open.push(rectangles.len() - 1);
                }
            }
        }
        open = still_open;
    }
    rectangles
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::PixelFormat;
    use proptest::prelude::*;

    fn frame(w: u32, h: u32, data: Vec<u8>) -> Frame {
        Frame::new(w, h, w as usize * 4, PixelFormat::Xrgb8888, data).unwrap()
    }

    #[test]
    fn a_box_repeated_or_inside_another_adds_nothing() {
        let r = |x, y, width, height| Region {
            x,
            y,
            width,
            height,
        };
        let mut unsent = vec![r(10, 10, 100, 100)];
        accumulate(&mut unsent, [r(10, 10, 100, 100), r(20, 20, 5, 5)]);
        assert_eq!(unsent, vec![r(10, 10, 100, 100)]);
        accumulate(&mut unsent, [r(0, 0, 200, 200)]);
        assert_eq!(
            unsent,
            vec![r(0, 0, 200, 200)],
            "a larger box replaces those inside"
        );
        accumulate(&mut unsent, [r(300, 0, 10, 10)]);
        assert_eq!(unsent.len(), 2);
    }

    #[test]
    fn many_boxes_become_their_bounding_box() {
        let at = |x| Region {
            x,
            y: x / 2,
            width: 4,
            height: 4,
        };
        let mut unsent = Vec::new();
        accumulate(&mut unsent, (0..MAX_BOXES as i32).map(|i| at(i * 10)));
        assert_eq!(unsent.len(), MAX_BOXES, "up to the limit they stay apart");
        accumulate(&mut unsent, [at(1000)]);
        assert_eq!(
            unsent,
            vec![Region {
                x: 0,
                y: 0,
                width: 1004,
                height: 504
            }]
        );
    }

    fn covers(regions: &[Region], x: u32, y: u32) -> bool {
        let (x, y) = (x as i32, y as i32);
        regions
            .iter()
            .any(|r| x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height)
    }

    #[test]
    fn first_frame_and_resizes_are_fully_damaged() {
        let a = frame(10, 5, vec![0; 200]);
        assert_eq!(changed_regions(None, &a).len(), 1);
        let b = frame(5, 10, vec![0; 200]);
        assert_eq!(
            changed_regions(Some(&a), &b),
            vec![Region {
                x: 0,
                y: 0,
                width: 5,
                height: 10
            }]
        );
    }

    #[test]
    fn identical_frames_have_no_damage() {
        let a = frame(100, 70, vec![7; 100 * 70 * 4]);
        assert!(changed_regions(Some(&a), &a.clone()).is_empty());
    }

    #[test]
    fn a_moved_square_damages_its_tiles_only() {
        let (w, h) = (200u32, 150u32);
        let mut data = vec![0u8; (w * h * 4) as usize];
        let a = frame(w, h, data.clone());
        // A 20×20 square at (70, 40): tiles x 64..96, y 32..64.
        for y in 40..60 {
            for x in 70..90 {
                data[((y * w + x) * 4) as usize] = 255;
            }
        }
        let b = frame(w, h, data);
        let regions = changed_regions(Some(&a), &b);
        assert_eq!(
            regions,
            vec![Region {
                x: 64,
                y: 32,
                width: 32,
                height: 32
            }]
        );
    }

    proptest! {
        /// Every changed pixel is covered, rectangles stay inside the frame and do not
        /// overlap, and nothing is reported for a tile that did not change.
        #[test]
        fn damage_covers_every_change_and_only_changed_tiles(
            w in 1u32..150, h in 1u32..120,
            changes in proptest::collection::vec((0u32..150, 0u32..120), 0..12),
        ) {
            let a = frame(w, h, vec![0; (w * h * 4) as usize]);
            let mut data = vec![0u8; (w * h * 4) as usize];
            let mut changed_tiles = std::collections::HashSet::new();
            for (x, y) in changes {
                let (x, y) = (x % w, y % h);
                data[((y * w + x) * 4 + 1) as usize] = 9;
                changed_tiles.insert((x / TILE, y / TILE));
            }
            let b = frame(w, h, data);
            let regions = changed_regions(Some(&a), &b);
            for y in 0..h {
                for x in 0..w {
                    let differs = b.pixel(x, y) != a.pixel(x, y);
                    if differs {
                        prop_assert!(covers(&regions, x, y));
                    }
                    if covers(&regions, x, y) {
                        prop_assert!(changed_tiles.contains(&(x / TILE, y / TILE)));
                    }
                }
            }
            for (i, r) in regions.iter().enumerate() {
                prop_assert!(r.x >= 0 && r.y >= 0 && r.width > 0 && r.height > 0);
                prop_assert!(r.x + r.width <= w as i32 && r.y + r.height <= h as i32);
                for s in &regions[i + 1..] {
                    let apart = r.x + r.width <= s.x || s.x + s.width <= r.x
                        || r.y + r.height <= s.y || s.y + s.height <= r.y;
                    prop_assert!(apart);
                }
            }
        }

        /// A buffer holding the older picture, given only the damaged pixels (in a
        /// consumer's channel order, at a padded stride), ends up equal to a full copy
        /// of the newer one.
        #[test]
        fn copying_the_damage_over_the_old_picture_gives_the_new_one(
            w in 1u32..100, h in 1u32..80,
            changes in proptest::collection::vec((0u32..100, 0u32..80, 0u8..255), 0..12),
        ) {
            let old: Vec<u8> = (0..w * h * 4).map(|i| (i % 251) as u8).collect();
            let mut new = old.clone();
            for (x, y, v) in changes {
                let (x, y) = ((x % w) as usize, (y % h) as usize);
                new[(y * w as usize + x) * 4] = v;
            }
            let (old, new) = (frame(w, h, old), frame(w, h, new));
            let stride = w as usize * 4 + 12;
            let mut buffer = vec![0u8; stride * h as usize];
            prop_assert!(old.copy_into(&mut buffer, stride, PixelFormat::Abgr8888));
            let damage = changed_regions(Some(&old), &new);
            prop_assert!(new.view().copy_regions_into(&mut buffer, stride, PixelFormat::Abgr8888, &damage));
            let mut whole = vec![0u8; stride * h as usize];
            prop_assert!(new.copy_into(&mut whole, stride, PixelFormat::Abgr8888));
            prop_assert_eq!(buffer, whole);
        }
    }
}
