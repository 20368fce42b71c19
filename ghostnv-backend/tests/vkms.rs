//! On a real kernel DRM driver (vkms in the test VM; `scripts/kms-vm-test.sh` runs
//! this with `--ignored`): the device model read through ioctls, an atomic modeset
//! with primary, overlay and cursor planes built by property name, and the writeback
//! connector's copy of what was scanned out, checked pixel by pixel. The simulated
//! device built from the same model must agree with the driver on what it refuses.

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use drm::buffer::DrmFourcc;
use ghostnv_backend::{
    device::{KmsDevice, Submit},
    sim::{AtomicRequest, CrtcState, Framebuffer, PlaneState, SimDevice},
    PlaneKind, MODIFIER_LINEAR,
};

const BACKGROUND: u32 = 0xff20_4060;
const OVERLAY: u32 = 0xffe0_3020;
const CURSOR: u32 = 0xff30_e040;
const XRGB8888: u32 = 0x3432_5258;
const ARGB8888: u32 = 0x3432_5241;

fn node() -> PathBuf {
    std::env::var_os("GHOST_KMS_NODE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/dev/dri/card0"))
}

#[test]
#[ignore = "needs a real KMS device: run scripts/kms-vm-test.sh"]
fn vkms_shows_three_planes_and_writeback_reads_them_back() {
    let dev = KmsDevice::open(&node()).expect("open the DRM node");
    let model = dev.model.clone();
    eprintln!(
        "driver {}: {} CRTCs, {} planes, {} connectors",
        model.driver,
        model.crtcs.len(),
        model.planes.len(),
        model.connectors.len()
    );
    let writeback = model
        .connectors
        .iter()
        .find(|c| c.connector_type == ghostnv_backend::CONNECTOR_WRITEBACK)
        .expect("a writeback connector");
    let (output, crtc_index) = model.first_display().expect("a connected output");
    let mode = output.preferred_mode().expect("a mode").clone();
    let (w, h) = (u32::from(mode.width), u32::from(mode.height));
    let crtc = model.crtcs[crtc_index].id;
    let plane = |kind: PlaneKind| {
        model
            .planes_for_crtc(crtc_index)
            .find(|p| p.kind == kind)
            .unwrap_or_else(|| panic!("a {kind:?} plane"))
            .id
    };
    let (primary, overlay, cursor) = (
        plane(PlaneKind::Primary),
        plane(PlaneKind::Overlay),
        plane(PlaneKind::Cursor),
    );

    let (_bg, bg_fb) = dev
        .dumb_framebuffer(w, h, DrmFourcc::Xrgb8888, |_, _| BACKGROUND)
        .expect("background");
    let (_ov, ov_fb) = dev
        .dumb_framebuffer(128, 96, DrmFourcc::Xrgb8888, |_, _| OVERLAY)
        .expect("overlay");
    let (_cu, cu_fb) = dev
        .dumb_framebuffer(64, 64, DrmFourcc::Argb8888, |_, _| CURSOR)
        .expect("cursor");
    let (mut wb, wb_fb) = dev
        .dumb_framebuffer(w, h, DrmFourcc::Xrgb8888, |_, _| 0)
        .expect("writeback");
    let fbs: BTreeMap<u32, drm::control::framebuffer::Handle> =
        [(primary, bg_fb), (overlay, ov_fb), (cursor, cu_fb)].into();

    let fb = |format, width, height| Framebuffer {
        format,
        modifier: MODIFIER_LINEAR,
        width,
        height,
    };
    let request = AtomicRequest {
        crtcs: vec![CrtcState {
            crtc,
            mode: Some(mode.clone()),
            connectors: vec![output.id],
        }],
        planes: vec![
            PlaneState {
                plane: primary,
                crtc: Some(crtc),
                fb: fb(XRGB8888, w, h),
                src: (0, 0, w, h),
                dst: (0, 0, w, h),
            },
            PlaneState {
                plane: overlay,
                crtc: Some(crtc),
                fb: fb(XRGB8888, 128, 96),
                src: (0, 0, 128, 96),
                dst: (100, 80, 128, 96),
            },
            PlaneState {
                plane: cursor,
                crtc: Some(crtc),
                fb: fb(ARGB8888, 64, 64),
                src: (0, 0, 64, 64),
                dst: (400, 300, 64, 64),
            },
        ],
        allow_modeset: true,
        ..AtomicRequest::default()
    };
    let mut sim = SimDevice::new(model.clone());
    sim.test(&request)
        .expect("the simulated device accepts the request");
    dev.submit(
        &request,
        &fbs,
        Some((writeback.id, wb_fb)),
        Submit::TestOnly,
    )
    .expect("TEST_ONLY");
    dev.submit(
        &request,
        &fbs,
        Some((writeback.id, wb_fb)),
        Submit::Blocking,
    )
    .expect("commit");
    sim.commit(&request)
        .expect("the simulated device takes the same commit");
    std::thread::sleep(Duration::from_millis(300));
    let frame = dev.read_dumb(&mut wb).expect("read the writeback buffer");
    let at = |x: u32, y: u32| frame[(y * w + x) as usize] & 0x00ff_ffff;
    assert_eq!(at(10, 10), BACKGROUND & 0x00ff_ffff, "background");
    assert_eq!(at(150, 120), OVERLAY & 0x00ff_ffff, "overlay");
    assert_eq!(at(420, 320), CURSOR & 0x00ff_ffff, "cursor");
    assert_eq!(
        at(99, 79),
        BACKGROUND & 0x00ff_ffff,
        "just outside the overlay"
    );

    // What the driver refuses, the simulated device refuses too: a scaled primary.
    let scaled = AtomicRequest {
        crtcs: Vec::new(),
        planes: vec![PlaneState {
            plane: primary,
            crtc: Some(crtc),
            fb: fb(XRGB8888, w, h),
            src: (0, 0, w / 2, h / 2),
            dst: (0, 0, w, h),
        }],
        allow_modeset: false,
        ..AtomicRequest::default()
    };
    let driver = dev.submit(&scaled, &fbs, None, Submit::TestOnly);
    let simulated = sim.test(&scaled);
    eprintln!("scaled primary: driver {driver:?}, simulated {simulated:?}");
    assert!(driver.is_err(), "vkms has no scaler");
    assert!(
        matches!(simulated, Err(ghostnv_backend::sim::Refusal::Scaling(_))),
        "{simulated:?}"
    );
}

/// Page flips on real vblanks: 300 frames flipped as the page-flip events arrive, each
/// stamped by the kernel. Every interval is a whole number of refreshes within 1 ms: a
/// flip that misses a vblank lands on the next one, never in between. How many are
/// missed depends on the emulated CPU of the test VM and the host's load, so it is
/// printed, not asserted.
/// The first display lit with a black primary: the device, the flip request, the
/// primary plane, a black and a white framebuffer, and the mode.
fn lit_primary() -> (
    KmsDevice,
    AtomicRequest,
    u32,
    [drm::control::framebuffer::Handle; 2],
    ghostnv_backend::ModeInfo,
) {
    let dev = KmsDevice::open(&node()).expect("open the DRM node");
    let model = dev.model.clone();
    let (output, crtc_index) = model.first_display().expect("a connected output");
    let mode = output.preferred_mode().expect("a mode").clone();
    let (w, h) = (u32::from(mode.width), u32::from(mode.height));
    let crtc = model.crtcs[crtc_index].id;
    let primary = model
        .planes_for_crtc(crtc_index)
        .find(|p| p.kind == PlaneKind::Primary)
        .expect("primary")
        .id;
    let (_a, fb_a) = dev
        .dumb_framebuffer(w, h, DrmFourcc::Xrgb8888, |_, _| 0xff00_0000)
        .expect("buffer a");
    let (_b, fb_b) = dev
        .dumb_framebuffer(w, h, DrmFourcc::Xrgb8888, |_, _| 0xffff_ffff)
        .expect("buffer b");
    let plane = PlaneState {
        plane: primary,
        crtc: Some(crtc),
        fb: Framebuffer {
            format: XRGB8888,
            modifier: MODIFIER_LINEAR,
            width: w,
            height: h,
        },
        src: (0, 0, w, h),
        dst: (0, 0, w, h),
    };
    let modeset = AtomicRequest {
        crtcs: vec![CrtcState {
            crtc,
            mode: Some(mode.clone()),
            connectors: vec![output.id],
        }],
        planes: vec![plane],
        allow_modeset: true,
        ..AtomicRequest::default()
    };
    dev.submit(&modeset, &[(primary, fb_a)].into(), None, Submit::Blocking)
        .expect("modeset");
    let flip = AtomicRequest {
        planes: vec![plane],
        ..AtomicRequest::default()
    };
    (dev, flip, primary, [fb_a, fb_b], mode)
}

#[test]
#[ignore = "needs a real KMS device: run scripts/kms-vm-test.sh"]
fn a_flips_out_fence_signals_with_it_and_holds_a_later_flip_as_its_in_fence() {
    use std::os::fd::AsRawFd;
    let (dev, mut flip, primary, [fb_a, fb_b], _) = lit_primary();
    let crtc = flip.planes[0].crtc.expect("on a CRTC");
    flip.out_fence = Some(crtc);
    let fence = dev
        .submit(&flip, &[(primary, fb_b)].into(), None, Submit::Flip)
        .expect("flip")
        .expect("an out-fence");
    let (flipped_crtc, _, _) = dev.wait_flip().expect("page-flip event");
    assert_eq!(flipped_crtc, crtc);
    assert!(
        KmsDevice::wait_fence(&fence, std::time::Duration::from_secs(1)).expect("poll"),
        "the out-fence had not signalled after the flip"
    );

    // The same sync_file as the next flip's IN_FENCE_FD (what a GPU's render fence is
    // to the display: a dma-fence it waits on before scanning out).
    flip.out_fence = None;
    let mut fenced = flip.clone();
    fenced
        .properties
        .push((primary, "IN_FENCE_FD".into(), fence.as_raw_fd() as u64));
    dev.submit(&fenced, &[(primary, fb_a)].into(), None, Submit::Flip)
        .expect("a flip behind a signalled fence");
    let (flipped_crtc, _, _) = dev.wait_flip().expect("its page-flip event");
    assert_eq!(flipped_crtc, crtc);
    // The kernel reads the property: a file that is not a sync_file is refused.
    let not_a_fence = std::fs::File::open("/proc/self/status").expect("a file");
    fenced.properties[0].2 = not_a_fence.as_raw_fd() as u64;
    assert!(
        dev.submit(&fenced, &[(primary, fb_b)].into(), None, Submit::Flip)
            .is_err(),
        "IN_FENCE_FD of a plain file was taken"
    );
}

#[test]
#[ignore = "needs a real KMS device: run scripts/kms-vm-test.sh"]
fn page_flips_land_on_every_vblank() {
    let (dev, flip, primary, [fb_a, fb_b], mode) = lit_primary();
    let mut stamps = Vec::new();
    for frame in 0..301 {
        let fb = if frame % 2 == 0 { fb_b } else { fb_a };
        dev.submit(&flip, &[(primary, fb)].into(), None, Submit::Flip)
            .expect("flip");
        let (_, seq, time) = dev.wait_flip().expect("page-flip event");
        stamps.push((seq, time));
    }
    let refresh_ns = mode.htotal as f64 * mode.vtotal as f64 / (mode.clock_khz as f64 * 1e3) * 1e9;
    let intervals: Vec<f64> = stamps
        .windows(2)
        .map(|p| (p[1].1 - p[0].1).as_nanos() as f64)
        .collect();
    let off_grid = |i: &f64| {
        let periods = (i / refresh_ns).round().max(1.0);
        (i - periods * refresh_ns).abs()
    };
    let worst = intervals.iter().map(off_grid).fold(0.0, f64::max);
    let missed: u32 = stamps.windows(2).map(|p| p[1].0 - p[0].0 - 1).sum();
    let mut sorted = intervals.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    eprintln!(
        "{} flips: refresh {:.3} ms, median interval {:.3} ms, worst distance from the vblank grid {:.3} ms, {} vblanks missed",
        intervals.len(),
        refresh_ns / 1e6,
        median / 1e6,
        worst / 1e6,
        missed
    );
    assert!(
        worst <= 1e6,
        "a flip landed {:.3} ms off the vblank grid",
        worst / 1e6
    );
}
