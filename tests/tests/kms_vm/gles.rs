//! Frames drawn by GLES into GBM buffers that the display scans out as they are. On
//! vkms, Mesa's GBM hands out the device's own buffers and its software rasteriser
//! (llvmpipe) draws: the path a GPU takes with its own driver, minus the GPU.

use anyhow::{Context, Result};
use ghost_tests::{client::TestClient, Compositor, Image};
use serde_json::json;

use super::{close, config_home, writeback_until, BACKGROUND_RGB, WINDOW, WINDOW_RGB};

const GREEN: u32 = 0xff30_c050;
const GREEN_RGB: [u8; 3] = [0x30, 0xc0, 0x50];
const BLUE: u32 = 0xff20_50d0;
const STILL: u32 = 0xffd0_c040;
const STILL_RGB: [u8; 3] = [0xd0, 0xc0, 0x40];

/// A window's rectangle on the output: x, y, width, height.
type Rect = (u32, u32, u32, u32);

fn geometry(comp: &Compositor, app_id: &str) -> Result<Rect> {
    let info = comp.wait_window(app_id)?;
    let g = &info["geometry"];
    let n = |k: &str| g[k].as_u64().context("window geometry");
    Ok((
        n("x")? as u32,
        n("y")? as u32,
        n("width")? as u32,
        n("height")? as u32,
    ))
}

/// The box around every pixel of `frame` that differs from a picture of the background
/// with `windows` (rectangle and colour, bottom first) on it; None when none does.
fn mismatches(frame: &Image, windows: &[(Rect, [u8; 3])]) -> Option<Rect> {
    let mut bounds: Option<(u32, u32, u32, u32)> = None;
    for y in 0..frame.height {
        for x in 0..frame.width {
            let expected = windows
                .iter()
                .rev()
                .find(|((wx, wy, ww, wh), _)| x >= *wx && x < wx + ww && y >= *wy && y < wy + wh)
                .map_or(BACKGROUND_RGB, |(_, c)| *c);
            if !close(frame.pixel(x, y), expected) {
                let b = bounds.get_or_insert((x, y, x, y));
                *b = (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y));
            }
        }
    }
    bounds.map(|(x0, y0, x1, y1)| (x0, y0, x1 - x0 + 1, y1 - y0 + 1))
}

/// A point of `below` that `above` leaves visible.
fn uncovered(below: Rect, above: Rect) -> (u32, u32) {
    let inside =
        |(x, y): (u32, u32), r: Rect| x >= r.0 && x < r.0 + r.2 && y >= r.1 && y < r.1 + r.3;
    [(1, 1), (2, 1), (1, 2), (2, 2)]
        .into_iter()
        .map(|(i, j)| (below.0 + below.2 * i / 3, below.1 + below.3 * j / 3))
        .find(|p| !inside(*p, above))
        .unwrap_or((below.0 + 2, below.1 + 2))
}

/// Everything but the arrow (at most one cursor plane's 64×64 differs).
fn only_the_arrow_differs(frame: &Image, windows: &[(Rect, [u8; 3])]) -> bool {
    mismatches(frame, windows).is_none_or(|(_, _, w, h)| w <= 64 && h <= 64)
}

#[test]
#[ignore = "needs a KMS device and root: run scripts/kms-vm-test.sh"]
fn kms_gles_swapchain_scans_out_what_the_gpu_drew() -> Result<()> {
    // vkms's connector has no HDR_OUTPUT_METADATA or Colorspace: asked for HDR, the
    // output stays SDR (and says so) instead of going dark.
    let comp = Compositor::start_kms_with(
        &config_home("gles", "[[output]]\nname = \"Virtual-1\"\nhdr = \"on\"\n")?,
        &["--renderer", "gles"],
    )?;
    let outputs = comp.request(json!({"request": "outputs"}))?;
    let kms = &outputs[0]["kms"];
    assert_eq!(kms["renderer"], "gles", "{outputs:#}");
    assert!(kms["hdr"].is_null(), "{outputs:#}");
    assert_eq!(outputs[0]["colour"]["hdr"], false, "{outputs:#}");
    assert!(
        comp.log().contains("refused HDR"),
        "the log says why: {}",
        comp.log()
    );
    assert!(
        kms["gl"].as_str().unwrap_or("").contains("llvmpipe"),
        "{outputs:#}"
    );

    // A window that changes colour, and one that keeps still.
    let mut client = TestClient::connect(&comp.socket_path())?;
    let mut window = client.color_window("kms-gles", 300, 200, &[WINDOW, GREEN, BLUE])?;
    let moving = geometry(&comp, "kms-gles")?;
    let still = client.color_window("kms-gles-still", 120, 90, &[STILL])?;
    let resting = geometry(&comp, "kms-gles-still")?;
    let scene = [(moving, WINDOW_RGB), (resting, STILL_RGB)];
    let frame = writeback_until(&comp, "both windows", |f| only_the_arrow_differs(f, &scene))?;
    assert_eq!((frame.width, frame.height), (1024, 768));
    let outputs = comp.request(json!({"request": "outputs"}))?;
    assert_eq!(
        outputs[0]["kms"]["gpu_buffer_on_screen"], true,
        "the GBM buffer GLES drew is on the primary plane: {outputs:#}"
    );

    // Seven new frames of the moving window: more than the swapchain has buffers, each
    // redrawn only where it is older than the newest picture. A buffer that skipped
    // what changed while it waited would show an old colour.
    for _ in 0..7 {
        client.commit_next(&mut window, false)?;
        while !client.frame_done() {
            client.wait()?;
        }
    }
    // Colours go WINDOW, GREEN, BLUE, …: the eighth is GREEN.
    let scene = [(moving, GREEN_RGB), (resting, STILL_RGB)];
    let (px, py) = uncovered(moving, resting);
    let mut seen = [0; 3];
    let frame = writeback_until(&comp, "the window's eighth colour", |f| {
        seen = f.pixel(px, py);
        close(seen, GREEN_RGB)
    })
    .map_err(|e| anyhow::anyhow!("{e} (the window showed {seen:?}); log:\n{}", comp.log()))?;
    assert!(
        only_the_arrow_differs(&frame, &scene),
        "pixels off the expected picture within {:?}",
        mismatches(&frame, &scene)
    );

    // A screenshot (drawn again by GLES, not read back) shows the same.
    let shot = comp.screenshot(json!({}))?;
    assert!(close(shot.pixel(px, py), GREEN_RGB));
    assert!(close(shot.pixel(resting.0 + 60, resting.1 + 45), STILL_RGB));

    // A new mode gets a new swapchain, and the windows on it.
    let frame = super::switch_to_800x600(&comp)?;
    let moving = geometry(&comp, "kms-gles")?;
    let resting = geometry(&comp, "kms-gles-still")?;
    let scene = [(moving, GREEN_RGB), (resting, STILL_RGB)];
    let frame = if only_the_arrow_differs(&frame, &scene) {
        frame
    } else {
        writeback_until(&comp, "the windows at 800x600", |f| {
            only_the_arrow_differs(f, &scene)
        })?
    };
    assert!(close(frame.pixel(799, 599), BACKGROUND_RGB));
    let outputs = comp.request(json!({"request": "outputs"}))?;
    assert_eq!(outputs[0]["kms"]["renderer"], "gles", "{outputs:#}");
    assert_eq!(
        outputs[0]["kms"]["gpu_buffer_on_screen"], true,
        "{outputs:#}"
    );
    drop(still);
    Ok(())
}
