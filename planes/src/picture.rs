//! Reference pictures of a scene, to check an assignment against: every layer gets a
//! distinct colour (half transparent where it is not opaque), and the picture the
//! planes would show (the primary's content, then each plane's layer in z-order) is
//! compared with full composition, pixel by pixel. Used by the property tests here and
//! on the simulated devices.

use crate::assign::{Assignment, Layer};

/// A premultiplied RGBA pixel.
pub type Pixel = [f64; 4];

const BACKGROUND: Pixel = [0.05, 0.05, 0.05, 1.0];

/// Colour of the `i`-th layer from the top (premultiplied).
fn colour(i: usize, opaque: bool) -> Pixel {
    let a = if opaque { 1.0 } else { 0.5 };
    let i = (i % 10) as f64;
    [0.1 * (i + 1.0) * a, 0.3 * a, (1.0 - 0.1 * i) * a, a]
}

fn over(dst: Pixel, src: Pixel) -> Pixel {
    [0, 1, 2, 3].map(|c| src[c] + dst[c] * (1.0 - src[3]))
}

fn covers(l: &Layer, x: i32, y: i32) -> bool {
    x >= l.dst.x && y >= l.dst.y && x < l.dst.x + l.dst.w as i32 && y < l.dst.y + l.dst.h as i32
}

fn pixels(size: (u32, u32), f: impl Fn(i32, i32) -> Pixel) -> Vec<Pixel> {
    (0..size.1 as i32)
        .flat_map(|y| (0..size.0 as i32).map(move |x| (x, y)))
        .map(|(x, y)| f(x, y))
        .collect()
}

/// Full composition of `layers` (top to bottom) on an output of `size`.
pub fn composited(layers: &[Layer], size: (u32, u32)) -> Vec<Pixel> {
    pixels(size, |x, y| {
        layers
            .iter()
            .enumerate()
            .rev()
            .fold(BACKGROUND, |px, (i, l)| {
                if covers(l, x, y) {
                    over(px, colour(i, l.opaque))
                } else {
                    px
                }
            })
    })
}

/// What the planes show for assignment `a`: the primary (the composited layers, or
/// the one scanned out directly), then each plane's layer in z-order.
pub fn on_planes(layers: &[Layer], a: &Assignment, size: (u32, u32)) -> Vec<Pixel> {
    let index = |id: u64| layers.iter().position(|l| l.id == id).unwrap_or(0);
    pixels(size, |x, y| {
        let mut px = match a.primary {
            Some(id) => colour(index(id), layers[index(id)].opaque),
            None => layers
                .iter()
                .enumerate()
                .rev()
                .fold(BACKGROUND, |px, (i, l)| {
                    let composited = a.composited(layers).any(|c| c.id == l.id);
                    if composited && covers(l, x, y) {
                        over(px, colour(i, l.opaque))
                    } else {
                        px
                    }
                }),
        };
        for (_, id) in &a.planes {
            let i = index(*id);
            if covers(&layers[i], x, y) {
                px = over(px, colour(i, layers[i].opaque));
            }
        }
        px
    })
}
