//! Plane assignment on a real kernel driver (vkms in the test VM), on the scenes of the
//! libliftoff comparison (S1–S11: the same layers, coordinates, formats, z-order and
//! per-frame changes), with real TEST_ONLY commits and one real blocking commit a
//! frame. Prints a table in the same columns as the libliftoff program prints, so
//! `bench/planes.sh` can set the two side by side. A program, not a test: it measures
//! and prints, and takes the VM a minute. Run `bench/planes.sh`.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use anyhow::Context;
use drm::{buffer::DrmFourcc, control::framebuffer};
use ghost_planes::assign::{exact, Assigner, Assignment, Kind, Layer, Plane, PlaneTest, Rect};
use ghostnv_backend::{
    device::{KmsDevice, Submit},
    sim::{AtomicRequest, CrtcState, Framebuffer, PlaneState},
    MODIFIER_LINEAR,
};

const XR: u32 = 0x3432_5258;
const AR: u32 = 0x3432_5241;
const FRAMES: usize = 120;
/// TEST_ONLY commits one frame may spend (the compositor's own default).
const BUDGET: usize = 8;

/// One layer of a scene as its table gives it.
#[derive(Clone, Copy)]
struct LayerDef {
    name: &'static str,
    rect: (i32, i32, u32, u32),
    format: u32,
    flip: bool,
    /// Framebuffer size where larger than the rectangle (the resizing window).
    fb: Option<(u32, u32)>,
    /// Asks for the plane `alpha` property (S9), which vkms lacks.
    plane_alpha: bool,
}

const fn layer(name: &'static str, x: i32, y: i32, w: u32, h: u32, format: u32) -> LayerDef {
    LayerDef {
        name,
        rect: (x, y, w, h),
        format,
        flip: false,
        fb: None,
        plane_alpha: false,
    }
}

const DESKTOP: LayerDef = layer("desktop", 0, 0, 1920, 1080, XR);
const fn cursor(x: i32, y: i32) -> LayerDef {
    layer("cursor", x, y, 64, 64, AR)
}
const fn flipping(mut l: LayerDef) -> LayerDef {
    l.flip = true;
    l
}

/// Where each layer is at frame `f`, and whether it shows.
type Update = fn(&mut [(i32, i32, u32, u32, bool)], usize);

struct Scene {
    id: &'static str,
    layers: Vec<LayerDef>,
    update: Update,
}

fn still(_: &mut [(i32, i32, u32, u32, bool)], _: usize) {}

fn scenes() -> Vec<Scene> {
    let s4 = vec![
        DESKTOP,
        layer("win1", 100, 100, 800, 600, XR),
        layer("win2", 500, 300, 800, 600, AR),
        layer("win3", 900, 200, 640, 480, XR),
        layer("win4", 1200, 500, 640, 480, AR),
    ];
    let s8 = vec![
        DESKTOP,
        layer("win1", 100, 100, 800, 600, XR),
        layer("win2", 600, 250, 640, 480, AR),
        layer("win3", 1100, 150, 640, 480, XR),
        layer("win4", 300, 650, 500, 350, AR),
        cursor(700, 400),
    ];
    let mut s5 = vec![DESKTOP];
    const WINDOWS: [&str; 10] = [
        "win1", "win2", "win3", "win4", "win5", "win6", "win7", "win8", "win9", "win10",
    ];
    for (k, name) in WINDOWS.iter().enumerate() {
        let (x, y) = if k == 9 {
            (1430, 740)
        } else {
            (80 + 150 * k as i32, 60 + 80 * k as i32)
        };
        s5.push(layer(
            name,
            x,
            y,
            400,
            300,
            if k % 2 == 0 { XR } else { AR },
        ));
    }
    s5.push(cursor(1700, 900));
    let mut s9 = s4.clone();
    s9[2].plane_alpha = true;
    let mut resizing = layer("resizing", 600, 300, 400, 300, AR);
    resizing.fb = Some((900, 600));
    vec![
        Scene {
            id: "S1",
            layers: vec![DESKTOP, cursor(960, 540)],
            update: |st, f| {
                st[1].0 = 200 + ((f * 13) % 1500) as i32;
                st[1].1 = 150 + ((f * 7) % 700) as i32;
            },
        },
        Scene {
            id: "S2",
            layers: vec![DESKTOP, flipping(layer("video", 0, 0, 1920, 1080, XR))],
            update: still,
        },
        Scene {
            id: "S3",
            layers: vec![
                DESKTOP,
                flipping(layer("video", 320, 180, 1280, 720, XR)),
                cursor(1000, 600),
            ],
            update: still,
        },
        Scene {
            id: "S4",
            layers: s4,
            update: still,
        },
        Scene {
            id: "S5",
            layers: s5,
            update: still,
        },
        Scene {
            id: "S6",
            layers: vec![
                DESKTOP,
                layer("win1", 200, 150, 800, 600, XR),
                layer("moving", 100, 100, 640, 480, AR),
                cursor(1500, 800),
            ],
            update: |st, f| {
                st[2].0 = 100 + ((f * 17) % 1100) as i32;
                st[2].1 = 100 + ((f * 9) % 500) as i32;
            },
        },
        Scene {
            id: "S7",
            layers: vec![
                DESKTOP,
                layer("win1", 100, 100, 600, 400, XR),
                layer("win2", 500, 300, 600, 400, AR),
                layer("win3", 900, 150, 600, 400, XR),
                layer("win4", 1200, 550, 600, 400, AR),
                cursor(1000, 500),
            ],
            update: |st, f| {
                let period = f / 10;
                for (i, layer) in st.iter_mut().enumerate().take(5).skip(1) {
                    layer.4 = (period + i) % 2 == 1;
                }
            },
        },
        Scene {
            id: "S8",
            layers: s8.clone(),
            update: still,
        },
        Scene {
            id: "S9",
            layers: s9,
            update: still,
        },
        Scene {
            id: "S10",
            layers: vec![
                DESKTOP,
                layer("win1", 200, 150, 800, 600, XR),
                resizing,
                cursor(1500, 800),
            ],
            update: |st, f| {
                st[2].2 = 400 + ((f * 23) % 500) as u32;
                st[2].3 = 300 + ((f * 11) % 300) as u32;
            },
        },
        Scene {
            id: "S11",
            layers: s8.into_iter().map(flipping).collect(),
            update: still,
        },
    ]
}

/// The device, the CRTC, and each scene layer's framebuffers.
struct Bench<'a> {
    dev: &'a KmsDevice,
    planes: Vec<u32>,
    /// Per layer id: its framebuffers (two for flipping layers) and which shows now.
    fbs: Vec<(Vec<framebuffer::Handle>, usize)>,
    /// Per layer id: its framebuffer's size.
    fb_sizes: Vec<(u32, u32)>,
    crtc: u32,
    /// The desktop's framebuffer: what the composited primary shows.
    desktop: usize,
    tests: usize,
    in_tests: Duration,
}

impl Bench<'_> {
    /// The atomic request for `a`: every plane named, the unused ones off.
    fn request(
        &self,
        layers: &[Layer],
        a: &Assignment,
    ) -> (AtomicRequest, BTreeMap<u32, framebuffer::Handle>) {
        let mut fbs = BTreeMap::new();
        let mut states = Vec::new();
        let primary = self.planes[0];
        let on = |plane: u32, id: u64, fbs: &mut BTreeMap<u32, framebuffer::Handle>| {
            let l = layers.iter().find(|l| l.id == id)?;
            let (handles, shown) = &self.fbs[id as usize];
            fbs.insert(plane, handles[*shown]);
            let (fw, fh) = self.fb_sizes[id as usize];
            Some(PlaneState {
                plane,
                crtc: Some(self.crtc),
                fb: Framebuffer {
                    format: l.format.map_or(XR, |f| f.0),
                    modifier: MODIFIER_LINEAR,
                    width: fw,
                    height: fh,
                },
                src: (0, 0, l.buffer.0, l.buffer.1),
                dst: (l.dst.x, l.dst.y, l.dst.w, l.dst.h),
            })
        };
        let bottom = a.primary.unwrap_or(self.desktop as u64);
        states.extend(on(primary, bottom, &mut fbs));
        for (plane, id) in &a.planes {
            states.extend(on(*plane, *id, &mut fbs));
        }
        for plane in &self.planes {
            if !states.iter().any(|s| s.plane == *plane) {
                states.push(PlaneState {
                    plane: *plane,
                    crtc: None,
                    fb: Framebuffer {
                        format: XR,
                        modifier: MODIFIER_LINEAR,
                        width: 0,
                        height: 0,
                    },
                    src: (0, 0, 0, 0),
                    dst: (0, 0, 0, 0),
                });
            }
        }
        let request = AtomicRequest {
            planes: states,
            ..AtomicRequest::default()
        };
        (request, fbs)
    }
}

impl PlaneTest for Bench<'_> {
    fn test(&mut self, layers: &[Layer], a: &Assignment) -> bool {
        let (request, fbs) = self.request(layers, a);
        self.tests += 1;
        let start = Instant::now();
        let ok = self
            .dev
            .submit(&request, &fbs, None, Submit::TestOnly)
            .is_ok();
        self.in_tests += start.elapsed();
        ok
    }
}

fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let node = std::env::var_os("GHOST_KMS_NODE").unwrap_or_else(|| "/dev/dri/card0".into());
    let dev = KmsDevice::open(std::path::Path::new(&node)).context("open the DRM node")?;
    let model = dev.model.clone();
    let (output, crtc_index) = model.first_display().context("an output")?;
    let mode = output
        .modes
        .iter()
        .find(|m| (m.width, m.height) == (1920, 1080))
        .or_else(|| output.preferred_mode())
        .context("a mode")?
        .clone();
    let crtc = model.crtcs[crtc_index].id;
    let device_planes: Vec<Plane> = ghost_kms::planes::for_crtc(&model, crtc_index);
    let mut plane_ids: Vec<u32> = device_planes
        .iter()
        .filter(|p| p.kind == Kind::Primary)
        .map(|p| p.id)
        .collect();
    plane_ids.extend(
        device_planes
            .iter()
            .filter(|p| p.kind != Kind::Primary)
            .map(|p| p.id),
    );
    // The modeset, with a grey desktop, is not counted.
    let (_grey, grey_fb) = dev
        .dumb_framebuffer(1920, 1080, DrmFourcc::Xrgb8888, |_, _| 0xff80_8080)
        .context("desktop buffer")?;
    dev.submit(
        &AtomicRequest {
            crtcs: vec![CrtcState {
                crtc,
                mode: Some(mode.clone()),
                connectors: vec![output.id],
            }],
            planes: vec![PlaneState {
                plane: plane_ids[0],
                crtc: Some(crtc),
                fb: Framebuffer {
                    format: XR,
                    modifier: MODIFIER_LINEAR,
                    width: 1920,
                    height: 1080,
                },
                src: (0, 0, 1920, 1080),
                dst: (0, 0, 1920, 1080),
            }],
            allow_modeset: true,
            ..AtomicRequest::default()
        },
        &[(plane_ids[0], grey_fb)].into(),
        None,
        Submit::Blocking,
    )
    .context("modeset")?;
    // Reading the thread's CPU clock is itself a system call, slow under emulation:
    // what two readings in a row cost is part of every CPU figure below.
    let clock_cost = median(
        (0..200)
            .map(|_| {
                let start = thread_cpu();
                (thread_cpu() - start).as_secs_f64() * 1e6
            })
            .collect(),
    );
    println!(
        "driver {}; mode {}x{}; crtc {crtc}; planes {plane_ids:?}; {FRAMES} frames a scene; \
         reading the CPU clock costs {clock_cost:.0} us (median), included in the CPU figures",
        model.driver, mode.width, mode.height
    );
    println!();
    println!("| scene | layers | visible (mean) | on planes first | on planes mean [min-max] | composited mean | TEST_ONLY first | TEST_ONLY steady mean [max] | assign wall first | assign wall median | assign CPU median | in TEST_ONLY median | assign minus tests median | composited frames | commits ok | z-order bad frames |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut maps = Vec::new();
    for scene in scenes() {
        let mut buffers = Vec::new();
        let mut fbs = Vec::new();
        let mut fb_sizes = Vec::new();
        for (i, def) in scene.layers.iter().enumerate() {
            let (w, h) = def.fb.unwrap_or((def.rect.2, def.rect.3));
            let fourcc = if def.format == AR {
                DrmFourcc::Argb8888
            } else {
                DrmFourcc::Xrgb8888
            };
            let alpha = if def.format == AR {
                0x8000_0000
            } else {
                0xff00_0000
            };
            let mut handles = Vec::new();
            for copy in 0..if def.flip { 2 } else { 1 } {
                let colour = alpha | (0x30 * (i as u32 + 1) + 0x40 * copy) & 0x00ff_ffff;
                let (buffer, fb) = dev
                    .dumb_framebuffer(w, h, fourcc, move |_, _| colour)
                    .context("a layer buffer")?;
                buffers.push((buffer, fb));
                handles.push(fb);
            }
            fbs.push((handles, 0));
            fb_sizes.push((w, h));
        }
        let mut bench = Bench {
            dev: &dev,
            planes: plane_ids.clone(),
            fbs,
            fb_sizes,
            crtc,
            desktop: 0,
            tests: 0,
            in_tests: Duration::ZERO,
        };
        let mut assigner = Assigner::new(BUDGET);
        let mut state: Vec<(i32, i32, u32, u32, bool)> = scene
            .layers
            .iter()
            .map(|l| (l.rect.0, l.rect.1, l.rect.2, l.rect.3, true))
            .collect();
        let (mut on, mut composited, mut tests, mut wall, mut cpu, mut in_tests) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        let (mut visible, mut comp_frames, mut ok, mut bad) = (0usize, 0, 0, 0);
        for f in 0..FRAMES {
            (scene.update)(&mut state, f);
            for (i, def) in scene.layers.iter().enumerate() {
                if def.flip {
                    bench.fbs[i].1 = f % 2;
                }
            }
            // Top to bottom, visible layers only.
            let layers: Vec<Layer> = scene
                .layers
                .iter()
                .zip(&state)
                .enumerate()
                .rev()
                .filter(|(_, (_, s))| s.4)
                .map(|(i, (def, s))| Layer {
                    id: i as u64,
                    dst: Rect {
                        x: s.0,
                        y: s.1,
                        w: s.2,
                        h: s.3,
                    },
                    buffer: (s.2, s.3),
                    format: (!def.plane_alpha).then_some((def.format, MODIFIER_LINEAR)),
                    opaque: def.format == XR,
                    cursor: def.name == "cursor",
                })
                .collect();
            visible += layers.len();
            bench.tests = 0;
            bench.in_tests = Duration::ZERO;
            let (wall_start, cpu_start) = (Instant::now(), thread_cpu());
            let a = assigner.assign(&layers, &device_planes, (1920, 1080), &mut bench);
            let (w, c) = (wall_start.elapsed(), thread_cpu() - cpu_start);
            let offloaded = a.planes.len() + usize::from(a.primary.is_some());
            let left = a.composited(&layers).count();
            on.push(offloaded as f64);
            composited.push(left as f64);
            if left > 0 {
                comp_frames += 1;
            }
            tests.push(bench.tests as f64);
            wall.push(w.as_secs_f64() * 1e6);
            cpu.push(c.as_secs_f64() * 1e6);
            in_tests.push(bench.in_tests.as_secs_f64() * 1e6);
            if !exact(&layers, &a) {
                bad += 1;
            }
            if f == 0 {
                let name = |id: u64| scene.layers[id as usize].name;
                let mut map: Vec<String> = layers
                    .iter()
                    .rev()
                    .map(|l| {
                        let at = match (
                            a.primary == Some(l.id),
                            a.planes.iter().find(|p| p.1 == l.id),
                        ) {
                            (true, _) => "P".to_string(),
                            (_, Some((plane, _))) => format!("{plane}"),
                            _ => "comp".to_string(),
                        };
                        format!("{}={at}", name(l.id))
                    })
                    .collect();
                map.push(format!(
                    "| composited buffer {}",
                    if left > 0 { "on P" } else { "unused" }
                ));
                maps.push(format!("{}: {}", scene.id, map.join(" ")));
            }
            let (request, fbs) = bench.request(&layers, &a);
            match dev.submit(&request, &fbs, None, Submit::Blocking) {
                Ok(_) => ok += 1,
                Err(_) => assigner.invalidate(&layers),
            }
        }
        let n = FRAMES as f64;
        let steady = &tests[1..];
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        let minus: Vec<f64> = cpu
            .iter()
            .zip(&in_tests)
            .map(|(c, t)| (c - t).max(0.0))
            .collect();
        println!(
            "| {} | {} | {:.2} | {} | {:.2} [{}-{}] | {:.2} | {} | {:.2} [{}] | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {}/{} | {}/{} | {} |",
            scene.id,
            scene.layers.len(),
            visible as f64 / n,
            on[0],
            mean(&on),
            on.iter().copied().fold(f64::MAX, f64::min),
            on.iter().copied().fold(0.0, f64::max),
            mean(&composited),
            tests[0],
            mean(steady),
            steady.iter().copied().fold(0.0, f64::max),
            wall[0],
            median(wall.clone()),
            median(cpu.clone()),
            median(in_tests.clone()),
            median(minus),
            comp_frames,
            FRAMES,
            ok,
            FRAMES,
            bad,
        );
        for (buffer, fb) in buffers {
            dev.destroy_dumb(buffer, fb);
        }
    }
    println!();
    println!("first-frame assignments (layer=plane id, P = scanned out on the primary):");
    for m in maps {
        println!("  {m}");
    }
    Ok(())
}
