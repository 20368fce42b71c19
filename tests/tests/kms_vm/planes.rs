//! Client buffers on planes: dmabufs on overlays and scanned out directly, a client's
//! cursor on the cursor plane, and the dmabuf feedback that steers clients there.

use std::{path::Path, time::Duration};

use anyhow::Result;
use ghost_hdr::{ImageDescription, Pipeline};
use ghost_tests::{client::TestClient, wait_for, Compositor, Image};
use serde_json::json;

use super::{
    close, devices::Devices, input_handled, plane_state, point_at, start, writeback_until,
    BACKGROUND_RGB, WINDOW, WINDOW_RGB,
};

/// Where `a` and `b` differ (more than rounding), as a bounding box (x, y, w, h).
fn differing_box(a: &Image, b: &Image) -> Option<(u32, u32, u32, u32)> {
    let mut found: Option<(u32, u32, u32, u32)> = None;
    for y in 0..a.height.min(b.height) {
        for x in 0..a.width.min(b.width) {
            if !close(a.pixel(x, y), b.pixel(x, y)) {
                found = Some(match found {
                    None => (x, y, x, y),
                    Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
                });
            }
        }
    }
    found.map(|(x0, y0, x1, y1)| (x0, y0, x1 - x0 + 1, y1 - y0 + 1))
}

/// The scanned-out frame equals the composited reference (a screenshot, which draws
/// every window with pixman), except where the pointer's plane shows the arrow.
fn assert_matches_composition(comp: &Compositor, frame: &Image, what: &str) -> Result<()> {
    let reference = comp.screenshot(json!({}))?;
    assert_eq!(
        (frame.width, frame.height),
        (reference.width, reference.height)
    );
    if let Some((x, y, w, h)) = differing_box(frame, &reference) {
        assert!(
            w <= 64 && h <= 64,
            "{what}: the scanned-out frame differs from composition in {w}x{h} at {x},{y} \
             (more than the pointer)"
        );
    }
    Ok(())
}

/// `ghostcomp msg outputs`' client planes of the first output: (plane, app_id, direct).
fn client_planes(comp: &Compositor) -> Result<Vec<(u64, String, bool)>> {
    let outputs = comp.request(json!({"request": "outputs"}))?;
    Ok(outputs[0]["kms"]["client_planes"]["planes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| {
                    (
                        p["plane"].as_u64().unwrap_or(0),
                        p["app_id"].as_str().unwrap_or("").to_owned(),
                        p["direct_scanout"].as_bool().unwrap_or(false),
                    )
                })
                .collect()
        })
        .unwrap_or_default())
}

#[test]
#[ignore = "needs a KMS device and root: run scripts/kms-vm-test.sh"]
fn kms_client_dmabufs_go_onto_an_overlay_and_fullscreen_is_scanned_out_directly() -> Result<()> {
    let card = Path::new("/dev/dri/card0");
    let comp = start("planes", "")?;
    client_dmabufs_on_planes(&comp, card, false)
        .map_err(|e| anyhow::anyhow!("{e:#}; log:\n{}", comp.log()))
}

/// The same with GLES compositing into GBM buffers: the primary plane's buffer is the
/// GPU's, and the planes are decided around it.
#[test]
#[ignore = "needs a KMS device and root: run scripts/kms-vm-test.sh"]
fn kms_client_dmabufs_on_planes_beside_gles_composition() -> Result<()> {
    let card = Path::new("/dev/dri/card0");
    let comp = Compositor::start_kms_with(
        &super::config_home("planes-gles", "")?,
        &["--renderer", "gles"],
    )?;
    client_dmabufs_on_planes(&comp, card, true)
        .map_err(|e| anyhow::anyhow!("{e:#}; log:\n{}", comp.log()))
}

/// `gles`: GLES composites (and converts colour descriptions); else pixman, which shows
/// every buffer as sRGB and so offers no colour management.
fn client_dmabufs_on_planes(comp: &Compositor, card: &Path, gles: bool) -> Result<()> {
    const VIDEO_A: u32 = 0xff20_60c0;
    const VIDEO_B: u32 = 0xff30_c040;
    const FULL: u32 = 0xffc0_a020;
    let rgb = |c: u32| [(c >> 16) as u8, (c >> 8) as u8, c as u8];
    let mut client = TestClient::connect(&comp.socket_path())?;

    // A window showing device memory (what a video decoder hands over).
    let mut video =
        client.dmabuf_window("kms-video", card, (320, 240), false, &[VIDEO_A, VIDEO_B])?;
    let info = comp.wait_window("kms-video")?;
    let (wx, wy) = (
        info["geometry"]["x"].as_i64().unwrap_or(0) as u32,
        info["geometry"]["y"].as_i64().unwrap_or(0) as u32,
    );
    let planes = wait_for(Duration::from_secs(20), "the video on a plane", || {
        let planes = client_planes(comp).ok()?;
        planes
            .iter()
            .find(|(_, app, direct)| app == "kms-video" && !direct)
            .map(|(plane, ..)| *plane)
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", comp.log()))?;
    let overlay = plane_state(planes)?;
    assert!(
        overlay.contains("crtc=crtc-0") && overlay.contains("size=320x240"),
        "the overlay plane in the kernel's state:\n{overlay}"
    );
    assert!(
        overlay.contains(&format!("crtc-pos=320x240+{wx}+{wy}")),
        "the overlay at the window's place ({wx},{wy}):\n{overlay}"
    );
    let centre = (wx + 160, wy + 120);
    let frame = writeback_until(comp, "the video", |f| {
        close(f.pixel(centre.0, centre.1), rgb(VIDEO_A))
    })?;
    assert_matches_composition(comp, &frame, "video on an overlay")?;

    // The client's next buffer reaches the screen on the plane (nothing composited
    // changed).
    client.commit_next(&mut video, true)?;
    let presented = wait_for(Duration::from_secs(10), "the next buffer presented", || {
        client.roundtrip().ok()?;
        client.state.presented.last().copied()
    })?;
    // wp_presentation_feedback.kind: vsync 1, hw_clock 2, hw_completion 4, zero_copy 8.
    assert_eq!(
        presented.flags & 0x9,
        0x9,
        "a buffer on a plane is presented at a vblank without a copy: {presented:?}"
    );
    let frame = writeback_until(comp, "the video's next buffer", |f| {
        close(f.pixel(centre.0, centre.1), rgb(VIDEO_B))
    })?;
    assert_matches_composition(comp, &frame, "the next buffer on the overlay")?;
    assert!(client_planes(comp)?
        .iter()
        .any(|(p, app, _)| *p == planes && app == "kms-video"));

    // A fullscreen window of device memory replaces the composited frame.
    let full = client.dmabuf_window("kms-full", card, (1024, 768), true, &[FULL])?;
    let direct = wait_for(
        Duration::from_secs(20),
        "the fullscreen window scanned out",
        || {
            let planes = client_planes(comp).ok()?;
            planes
                .iter()
                .find(|(_, app, direct)| app == "kms-full" && *direct)
                .map(|(plane, ..)| *plane)
        },
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "{e}; log:\n{}; planes {:?}",
            comp.log(),
            client_planes(comp)
        )
    })?;
    let outputs = comp.request(json!({"request": "outputs"}))?;
    assert_eq!(outputs[0]["kms"]["primary_plane"].as_u64(), Some(direct));
    let primary = plane_state(direct)?;
    assert!(primary.contains("size=1024x768"), "{primary}");
    let frame = writeback_until(comp, "the fullscreen window", |f| {
        // Corners away from the pointer (which starts at the top left).
        close(f.pixel(1018, 5), rgb(FULL)) && close(f.pixel(1018, 762), rgb(FULL))
    })?;
    assert_matches_composition(comp, &frame, "direct scanout")?;
    // The video's overlay was switched off (it is under the fullscreen window).
    let overlay = plane_state(planes)?;
    assert!(
        overlay.contains("fb=0"),
        "the overlay after fullscreen:\n{overlay}"
    );

    // Closed, the desktop is composited again with the video back on its plane.
    full.destroy();
    client.roundtrip()?;
    writeback_until(comp, "the desktop after fullscreen", |f| {
        close(f.pixel(1018, 762), BACKGROUND_RGB)
            && close(f.pixel(centre.0, centre.1), rgb(VIDEO_B))
    })?;
    assert!(client_planes(comp)?
        .iter()
        .any(|(_, app, _)| app == "kms-video"));

    if !gles {
        assert!(
            client.color_manager().is_err(),
            "pixman converts nothing, so wp_color_manager_v1 is not offered"
        );
        let outputs = comp.request(json!({"request": "outputs"}))?;
        assert_eq!(outputs[0]["colour"]["surfaces_converted"], false);
        drop(video);
        return Ok(());
    }
    // Described as BT.2020/PQ, the video is no longer in the output's (sRGB) colour
    // space: composition converts it, so it leaves its plane, and the screen shows what
    // the reference pipeline makes of its numbers read as PQ.
    let manager = client.color_manager()?;
    let description = client.pq_description(&manager)?;
    let _colour = client.set_surface_description(&manager, &video, &description);
    client.commit_next(&mut video, false)?;
    wait_for(Duration::from_secs(20), "the PQ video composited", || {
        let planes = client_planes(comp).ok()?;
        (!planes.iter().any(|(_, app, _)| app == "kms-video")).then_some(())
    })?;
    // The commit above brought the video's next buffer: the first colour again.
    let srgb = ImageDescription::srgb();
    let signal = rgb(VIDEO_A).map(|v| f64::from(v) / 255.0);
    let converted = Pipeline::encode(&srgb)
        .apply(Pipeline::decode(&ImageDescription::bt2100_pq(), &srgb).apply(signal))
        .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8);
    assert!(
        !close(converted, rgb(VIDEO_A)),
        "the conversion is visible: {converted:?}"
    );
    let mut seen = None;
    writeback_until(
        comp,
        &format!("the PQ video converted to sRGB, {converted:?}"),
        |f| {
            seen = Some(f.pixel(centre.0, centre.1));
            close(f.pixel(centre.0, centre.1), converted)
        },
    )
    .map_err(|e| anyhow::anyhow!("{e} (last seen {seen:?}); log:\n{}", comp.log()))?;
    drop(video);
    Ok(())
}

#[test]
#[ignore = "needs a KMS device and root: run scripts/kms-vm-test.sh"]
fn kms_client_cursor_surface_goes_onto_the_cursor_plane() -> Result<()> {
    const CURSOR: u32 = 0xff10_d0e0;
    let cursor_rgb = [0x10, 0xd0, 0xe0];
    let mut devices = Devices::create()?;
    let comp = start("cursor", "")?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    client.watch_seat()?;
    let window = client.color_window("kms-cursor", 300, 200, &[WINDOW])?;
    let info = comp.wait_window("kms-cursor")?;
    let (wx, wy) = (
        info["geometry"]["x"].as_i64().unwrap_or(0) as i32,
        info["geometry"]["y"].as_i64().unwrap_or(0) as i32,
    );
    point_at(
        &mut devices,
        &comp,
        &mut client,
        &window.surface,
        (wx + 100, wy + 100),
    )?;
    let (px, py) = client.state.seat.pointer_at;
    let at = (
        (wx as f64 + px).round() as u32,
        (wy as f64 + py).round() as u32,
    );
    // The client's own cursor: a 24-pixel square with its hotspot in the middle.
    let _cursor = client.set_cursor_surface(CURSOR, 24, (12, 12))?;
    let frame = writeback_until(&comp, "the client's cursor", |f| {
        close(f.pixel(at.0, at.1), cursor_rgb) && close(f.pixel(at.0 + 14, at.1), WINDOW_RGB)
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", comp.log()))?;
    assert!(close(frame.pixel(at.0 - 11, at.1 - 11), cursor_rgb));
    let outputs = comp.request(json!({"request": "outputs"}))?;
    assert_eq!(
        outputs[0]["kms"]["cursor_plane"]["visible"], true,
        "{outputs:#}"
    );
    // Moving it is a commit of the plane's position: nothing is repainted.
    let presented = |v: &serde_json::Value| v[0]["frames"]["presented"].as_u64().unwrap_or(0);
    let before = presented(&outputs);
    devices.move_by(40, 0)?;
    input_handled(&comp)?;
    writeback_until(&comp, "the client's cursor moved on its plane", |f| {
        close(f.pixel(at.0 + 40, at.1), cursor_rgb) && close(f.pixel(at.0, at.1), WINDOW_RGB)
    })?;
    let after = comp.request(json!({"request": "outputs"}))?;
    assert_eq!(
        presented(&after),
        before,
        "a move of the client's cursor on the cursor plane repainted the output"
    );
    // The composited picture (screenshots leave the pointer out) has no trace of it.
    let rendered = comp.screenshot(json!({}))?;
    assert!(close(rendered.pixel(at.0 + 40, at.1), WINDOW_RGB));
    drop(window);
    Ok(())
}

#[test]
#[ignore = "needs a KMS device and root: run scripts/kms-vm-test.sh"]
fn kms_dmabuf_feedback_offers_plane_formats_to_a_fullscreen_window() -> Result<()> {
    const XRGB8888: u32 = 0x3432_5258;
    let comp = start("feedback", "")?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    // An shm window: composited, so it hears only the render tranche.
    let mut window = client.color_window("kms-feedback", 300, 200, &[WINDOW, WINDOW])?;
    let _feedback = client.watch_dmabuf_feedback(&window.surface)?;
    let latest = |client: &mut TestClient| -> Option<Vec<ghost_tests::dmabuf_client::Tranche>> {
        client.roundtrip().ok()?;
        client.state.dmabuf_feedback.received.last().cloned()
    };
    let first = wait_for(Duration::from_secs(10), "dmabuf feedback", || {
        latest(&mut client)
    })?;
    assert!(
        first.iter().all(|t| !t.scanout)
            && first.iter().any(|t| t.formats.contains(&(XRGB8888, 0))),
        "a window in a stack hears the render tranche only: {first:?}"
    );
    // Fullscreen, it could be scanned out directly if its buffer allowed: the scanout
    // tranche comes first, with what the primary plane shows.
    window.toplevel.set_fullscreen(None);
    // Fullscreen becomes the window's state with the commit after it acks that
    // configure: wait for the configure first, or the commit may come too early.
    wait_for(Duration::from_secs(10), "the fullscreen configure", || {
        client.roundtrip().ok()?;
        (client.configured_size() == (1024, 768)).then_some(())
    })?;
    client.commit_next(&mut window, false)?;
    let full = wait_for(Duration::from_secs(10), "scanout feedback", || {
        latest(&mut client).filter(|t| t.first().is_some_and(|t| t.scanout))
    })
    .map_err(|e| anyhow::anyhow!("{e}; received {:?}", client.state.dmabuf_feedback.received))?;
    assert!(full[0].formats.contains(&(XRGB8888, 0)), "{full:?}");
    // Back in the stack: the render tranche again.
    window.toplevel.unset_fullscreen();
    wait_for(
        Duration::from_secs(10),
        "the configure out of fullscreen",
        || {
            client.roundtrip().ok()?;
            (client.configured_size() != (1024, 768)).then_some(())
        },
    )?;
    client.commit_next(&mut window, false)?;
    wait_for(Duration::from_secs(10), "render feedback again", || {
        latest(&mut client).filter(|t| t.iter().all(|t| !t.scanout))
    })?;
    Ok(())
}
