//! Plane assignment: on random scenes and devices that accept at random, the picture the
//! planes show equals full composition pixel for pixel, and a steady scene costs no
//! test after its first frame. (On the simulated devices: `kms/tests/planes.rs`.)

use ghost_planes::assign::{exact, Assigner, Assignment, Kind, Layer, Plane, PlaneTest, Rect};
use ghost_planes::picture::{self, Pixel};
use proptest::prelude::*;

const XRGB: u32 = 0x3432_5258;
const ARGB: u32 = 0x3432_5241;
const W: u32 = 32;
const H: u32 = 24;

fn full(layers: &[Layer]) -> Vec<Pixel> {
    picture::composited(layers, (W, H))
}

fn with_planes(layers: &[Layer], a: &Assignment) -> Vec<Pixel> {
    picture::on_planes(layers, a, (W, H))
}

fn planes(overlays: usize) -> Vec<Plane> {
    let formats = vec![(XRGB, 0), (ARGB, 0)];
    let mut out = vec![Plane {
        id: 1,
        kind: Kind::Primary,
        formats: formats.clone(),
        scaling: false,
    }];
    for i in 0..overlays {
        out.push(Plane {
            id: 10 + i as u32,
            kind: Kind::Overlay,
            formats: formats.clone(),
            scaling: false,
        });
    }
    out.push(Plane {
        id: 99,
        kind: Kind::Cursor,
        formats: vec![(ARGB, 0)],
        scaling: false,
    });
    out
}

/// A device that accepts three requests in four, at random.
struct Random(u64);

impl PlaneTest for Random {
    fn test(&mut self, _: &[Layer], _: &Assignment) -> bool {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 62 != 0
    }
}

type RawLayer = (i32, i32, u32, u32, bool, bool, bool);

fn arb_layer() -> impl Strategy<Value = RawLayer> {
    (
        0i32..W as i32,
        0i32..H as i32,
        1u32..W,
        1u32..H,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_assignment_shows_the_fully_composited_picture(
        raw in prop::collection::vec(arb_layer(), 1..7),
        overlays in 0usize..4,
        cursor_on_top in any::<bool>(),
        fullscreen_bottom in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let mut layers: Vec<Layer> = raw
            .iter()
            .enumerate()
            .map(|(i, (x, y, w, h, opaque, scanout, scaled))| Layer {
                id: i as u64 + 1,
                dst: Rect { x: *x, y: *y, w: *w, h: *h },
                buffer: if *scaled { (w * 2, h * 2) } else { (*w, *h) },
                format: scanout.then_some((if *opaque { XRGB } else { ARGB }, 0)),
                opaque: *opaque,
                cursor: false,
            })
            .collect();
        if cursor_on_top {
            layers[0].cursor = true;
            layers[0].format = Some((ARGB, 0));
            layers[0].opaque = false;
        }
        if fullscreen_bottom {
            let last = layers.len() - 1;
            layers[last].dst = Rect { x: 0, y: 0, w: W, h: H };
            layers[last].buffer = (W, H);
            layers[last].opaque = true;
            layers[last].format = Some((XRGB, 0));
        }
        let mut assigner = Assigner::new(8);
        let a = assigner.assign(&layers, &planes(overlays), (W, H), &mut Random(seed));
        prop_assert!(exact(&layers, &a));
        prop_assert_eq!(with_planes(&layers, &a), full(&layers), "{:?}", a);
        // The same scene again: no test, same answer.
        let again = assigner.assign(&layers, &planes(overlays), (W, H), &mut Random(seed));
        prop_assert_eq!(assigner.last_tests, 0);
        prop_assert_eq!(again, a);
    }
}

/// A device that takes everything.
struct Yes;

impl PlaneTest for Yes {
    fn test(&mut self, _: &[Layer], _: &Assignment) -> bool {
        true
    }
}

#[test]
fn an_opaque_fullscreen_bottom_layer_is_scanned_out_not_put_on_an_overlay() {
    let layer = |id: u64, x: i32, w: u32, h: u32, opaque: bool, cursor: bool| Layer {
        id,
        dst: Rect { x, y: 0, w, h },
        buffer: (w, h),
        format: Some((if opaque { XRGB } else { ARGB }, 0)),
        opaque,
        cursor,
    };
    // Top to bottom: the cursor, a window, the desktop.
    let layers = [
        layer(1, 3, 4, 4, false, true),
        layer(2, 5, 10, 8, false, false),
        layer(3, 0, W, H, true, false),
    ];
    let a = Assigner::new(4).assign(&layers, &planes(2), (W, H), &mut Yes);
    assert_eq!(a.primary, Some(3), "{a:?}");
    assert_eq!(
        a.planes,
        vec![(11, 2), (99, 1)],
        "the window on the top overlay"
    );
    assert_eq!(with_planes(&layers, &a), full(&layers));
}

#[test]
fn a_composited_layer_above_that_does_not_overlap_leaves_the_window_its_overlay() {
    let layer = |id: u64, y: i32, h: u32, format: Option<(u32, u64)>| Layer {
        id,
        dst: Rect { x: 4, y, w: 10, h },
        buffer: (10, h),
        format,
        opaque: true,
        cursor: false,
    };
    // Top to bottom: a title bar (composited) just above a window, a second window
    // the bar does overlap, the desktop.
    let layers = [
        layer(1, 0, 2, None),
        layer(2, 2, 6, Some((XRGB, 0))),
        layer(3, 1, 3, Some((XRGB, 0))),
        Layer {
            id: 4,
            dst: Rect {
                x: 0,
                y: 0,
                w: W,
                h: H,
            },
            buffer: (W, H),
            format: None,
            opaque: true,
            cursor: false,
        },
    ];
    let a = Assigner::new(4).assign(&layers, &planes(2), (W, H), &mut Yes);
    assert_eq!(a.planes, vec![(11, 2)], "{a:?}");
    assert_eq!(a.primary, None);
    assert_eq!(with_planes(&layers, &a), full(&layers));
}
