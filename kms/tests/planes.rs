//! Plane assignment on the simulated devices (Intel dumps, nvidia-drm): a cursor and a
//! video leave composition where the device has the planes, in a request the device
//! accepts, and a steady scene costs no test after its first frame.

use std::path::Path;

use ghost_planes::{
    assign::{exact, Assigner, Assignment, Kind, Layer, Plane, PlaneTest, Rect},
    picture,
};
use ghostnv_backend::{
    sim::{AtomicRequest, CrtcState, Framebuffer, PlaneState, SimDevice},
    DeviceModel,
};
use proptest::prelude::*;

const XRGB: u32 = 0x3432_5258;
const ARGB: u32 = 0x3432_5241;

/// A simulated device as a PlaneTest: the assignment becomes an atomic request.
struct Sim {
    dev: SimDevice,
    crtc: u32,
    connector: u32,
    mode: ghostnv_backend::ModeInfo,
    primary: u32,
}

impl PlaneTest for Sim {
    fn test(&mut self, layers: &[Layer], a: &Assignment) -> bool {
        let (w, h) = (u32::from(self.mode.width), u32::from(self.mode.height));
        let layer = |id: u64| layers.iter().find(|l| l.id == id);
        let state = |plane: u32, l: &Layer| PlaneState {
            plane,
            crtc: Some(self.crtc),
            fb: Framebuffer {
                format: l.format.map_or(XRGB, |f| f.0),
                modifier: 0,
                width: l.buffer.0,
                height: l.buffer.1,
            },
            src: (0, 0, l.buffer.0, l.buffer.1),
            dst: (l.dst.x, l.dst.y, l.dst.w, l.dst.h),
        };
        let mut planes = vec![match a.primary.and_then(layer) {
            Some(l) => state(self.primary, l),
            None => PlaneState {
                plane: self.primary,
                crtc: Some(self.crtc),
                fb: Framebuffer {
                    format: XRGB,
                    modifier: 0,
                    width: w,
                    height: h,
                },
                src: (0, 0, w, h),
                dst: (0, 0, w, h),
            },
        }];
        for (plane, id) in &a.planes {
            if let Some(l) = layer(*id) {
                planes.push(state(*plane, l));
            }
        }
        let request = AtomicRequest {
            crtcs: vec![CrtcState {
                crtc: self.crtc,
                mode: Some(self.mode.clone()),
                connectors: vec![self.connector],
            }],
            planes,
            allow_modeset: true,
            ..AtomicRequest::default()
        };
        self.dev.test(&request).is_ok()
    }
}

fn devices() -> Vec<DeviceModel> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out: Vec<DeviceModel> = DeviceModel::load_dir(&root.join("../ghostnv-backend/devices"))
        .expect("device files")
        .into_iter()
        .map(|(_, model)| model)
        .collect();
    let nvidia = std::fs::read_to_string(root.join("../testdata/drm/nvidia-drm-sim.json"));
    out.push(DeviceModel::from_drm_info_json(&nvidia.expect("nvidia")).expect("loads"));
    out
}

#[test]
fn video_and_cursor_leave_composition_on_every_simulated_device() {
    for model in devices() {
        let (connector, index) = model.first_display().expect("output");
        let mode = connector.preferred_mode().expect("a mode").clone();
        let crtc = model.crtcs[index].id;
        let planes: Vec<Plane> = ghost_kms::planes::for_crtc(&model, index);
        let primary = planes
            .iter()
            .find(|p| p.kind == Kind::Primary)
            .expect("primary")
            .id;
        let (w, h) = (u32::from(mode.width), u32::from(mode.height));
        let mut dev = SimDevice::new(model.clone());
        dev.commit(&AtomicRequest {
            crtcs: vec![CrtcState {
                crtc,
                mode: Some(mode.clone()),
                connectors: vec![connector.id],
            }],
            planes: vec![PlaneState {
                plane: primary,
                crtc: Some(crtc),
                fb: Framebuffer {
                    format: XRGB,
                    modifier: 0,
                    width: w,
                    height: h,
                },
                src: (0, 0, w, h),
                dst: (0, 0, w, h),
            }],
            allow_modeset: true,
            ..AtomicRequest::default()
        })
        .expect("modeset");
        let mut sim = Sim {
            dev,
            crtc,
            connector: connector.id,
            mode,
            primary,
        };
        // A cursor, a video (opaque, scanout-able) above a desktop window (shm).
        let layers = vec![
            Layer {
                id: 1,
                dst: Rect {
                    x: 100,
                    y: 100,
                    w: 64,
                    h: 64,
                },
                buffer: (64, 64),
                format: Some((ARGB, 0)),
                opaque: false,
                cursor: true,
            },
            Layer {
                id: 2,
                dst: Rect {
                    x: 200,
                    y: 150,
                    w: 640,
                    h: 360,
                },
                buffer: (640, 360),
                format: Some((XRGB, 0)),
                opaque: true,
                cursor: false,
            },
            Layer {
                id: 3,
                dst: Rect {
                    x: 0,
                    y: 0,
                    w: w / 2,
                    h: h / 2,
                },
                buffer: (w / 2, h / 2),
                format: None,
                opaque: true,
                cursor: false,
            },
        ];
        let mut assigner = Assigner::new(8);
        let a = assigner.assign(&layers, &planes, (w, h), &mut sim);
        eprintln!(
            "{}: {a:?} after {} tests",
            model.driver, assigner.last_tests
        );
        let cursor_plane = planes.iter().any(|p| p.kind == Kind::Cursor);
        let overlay = planes
            .iter()
            .any(|p| p.kind == Kind::Overlay && p.formats.contains(&(XRGB, 0)));
        assert_eq!(
            a.planes.iter().any(|(_, id)| *id == 1),
            cursor_plane,
            "{}: the cursor",
            model.driver
        );
        // The composited cursor (no cursor plane) does not overlap the video, so
        // it does not keep the video off an overlay.
        assert_eq!(
            a.planes.iter().any(|(_, id)| *id == 2),
            overlay,
            "{}: the video",
            model.driver
        );
        assert!(
            sim.test(&layers, &a),
            "{}: the device takes it",
            model.driver
        );
        assigner.assign(&layers, &planes, (w, h), &mut sim);
        assert_eq!(assigner.last_tests, 0, "a steady scene costs no test");
    }
}

/// Scenes are laid out on a grid of this many pixels, so the pictures can be compared
/// one sample per cell.
const CELL: u32 = 32;

/// A random layer in grid cells: x, y, w, h, opaque, scanout-able, scaled.
type RawLayer = (u32, u32, u32, u32, bool, bool, bool);

fn arb_layer() -> impl Strategy<Value = RawLayer> {
    (
        0u32..60,
        0u32..33,
        1u32..40,
        1u32..25,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
}

/// `layers` shrunk to one pixel per grid cell (their edges lie on the grid, or on the
/// output's edge).
fn in_cells(layers: &[Layer]) -> Vec<Layer> {
    layers
        .iter()
        .map(|l| {
            let (x0, y0) = (l.dst.x as u32 / CELL, l.dst.y as u32 / CELL);
            let x1 = (l.dst.x as u32 + l.dst.w).div_ceil(CELL);
            let y1 = (l.dst.y as u32 + l.dst.h).div_ceil(CELL);
            Layer {
                dst: Rect {
                    x: x0 as i32,
                    y: y0 as i32,
                    w: x1 - x0,
                    h: y1 - y0,
                },
                ..l.clone()
            }
        })
        .collect()
}

/// A simulated device with its first display lit, as a PlaneTest, and its planes.
fn lit(model: &DeviceModel) -> (Sim, Vec<Plane>) {
    let (connector, index) = model.first_display().expect("output");
    let mode = connector.preferred_mode().expect("a mode").clone();
    let crtc = model.crtcs[index].id;
    let planes: Vec<Plane> = ghost_kms::planes::for_crtc(model, index);
    let primary = planes
        .iter()
        .find(|p| p.kind == Kind::Primary)
        .expect("primary")
        .id;
    (
        Sim {
            dev: SimDevice::new(model.clone()),
            crtc,
            connector: connector.id,
            mode,
            primary,
        },
        planes,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// On every simulated device, whatever the assigner returns for a random scene is
    /// accepted by the device and shows the fully composited picture; the same scene
    /// again needs no test.
    #[test]
    fn every_assignment_on_every_device_shows_full_composition(
        raw in prop::collection::vec(arb_layer(), 1..8),
        cursor_at in prop::option::of((0u32..60, 0u32..33)),
        fullscreen_bottom in any::<bool>(),
    ) {
        for model in devices() {
            let (mut sim, planes) = lit(&model);
            let (w, h) = (u32::from(sim.mode.width), u32::from(sim.mode.height));
            // Whole cells inside the mode.
            let (cols, rows) = (w / CELL, h / CELL);
            let mut layers: Vec<Layer> = Vec::new();
            if let Some((cx, cy)) = cursor_at {
                layers.push(Layer {
                    id: 1,
                    dst: Rect { x: (cx.min(cols - 2) * CELL) as i32, y: (cy.min(rows - 2) * CELL) as i32, w: 64, h: 64 },
                    buffer: (64, 64),
                    format: Some((ARGB, 0)),
                    opaque: false,
                    cursor: true,
                });
            }
            for (i, (x, y, lw, lh, opaque, scanout, scaled)) in raw.iter().enumerate() {
                let (x, y) = ((*x).min(cols - 1), (*y).min(rows - 1));
                let (lw, lh) = ((*lw).min(cols - x) * CELL, (*lh).min(rows - y) * CELL);
                layers.push(Layer {
                    id: i as u64 + 10,
                    dst: Rect { x: (x * CELL) as i32, y: (y * CELL) as i32, w: lw, h: lh },
                    buffer: if *scaled { (lw / 2, lh / 2) } else { (lw, lh) },
                    format: scanout.then_some((if *opaque { XRGB } else { ARGB }, 0)),
                    opaque: *opaque,
                    cursor: false,
                });
            }
            if fullscreen_bottom {
                let full = (w, h);
                layers.push(Layer {
                    id: 99,
                    dst: Rect { x: 0, y: 0, w: full.0, h: full.1 },
                    buffer: full,
                    format: Some((XRGB, 0)),
                    opaque: true,
                    cursor: false,
                });
            }
            let mut assigner = Assigner::new(8);
            let a = assigner.assign(&layers, &planes, (w, h), &mut sim);
            prop_assert!(exact(&layers, &a), "{}: {a:?}", model.driver);
            let cells = in_cells(&layers);
            let size = (w.div_ceil(CELL), h.div_ceil(CELL));
            let shown = picture::on_planes(&cells, &a, size);
            let reference = picture::composited(&cells, size);
            let differing = shown.iter().zip(&reference).filter(|(a, b)| a != b).count();
            prop_assert_eq!(differing, 0, "{}: {:?} differs from composition", model.driver, a);
            if a != Assignment::default() {
                prop_assert!(sim.test(&layers, &a), "{}: the device refuses {a:?}", model.driver);
            }
            let again = assigner.assign(&layers, &planes, (w, h), &mut sim);
            prop_assert_eq!(assigner.last_tests, 0, "{}: a steady scene costs no test", model.driver);
            prop_assert_eq!(again, a);
        }
    }
}
