//! Plane assignment on the simulated devices (Intel dumps, nvidia-drm): a cursor and a
//! video leave composition where the device has the planes, in a request the device
//! accepts, and a steady scene costs no test after its first frame.

use std::path::Path;

use ghost_planes::assign::{Assigner, Assignment, Kind, Layer, Plane, PlaneTest, Rect};
use ghostnv_backend::{
    sim::{AtomicRequest, CrtcState, Framebuffer, PlaneState, SimDevice},
    DeviceModel,
};

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
    let nvidia = std::fs::read_to_string(root.join("../../shared/data/drm/nvidia-drm-sim.json"));
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
