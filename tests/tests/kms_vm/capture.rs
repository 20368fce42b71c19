//! Capture into device memory: both screencopy protocols fill PRIME dumb buffers.

use std::path::Path;

use anyhow::Result;
use ghost_tests::client::TestClient;
use serde_json::json;

use super::{close, start, WINDOW, WINDOW_RGB};

#[test]
#[ignore = "needs a KMS device and root: run scripts/kms-vm-test.sh"]
fn kms_screencopy_protocols_copy_into_dmabufs_exactly_what_the_screenshot_shows() -> Result<()> {
    let comp = start("dmabuf-copy", "")?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    let _window = client.color_window("kms-copied", 300, 200, &[WINDOW])?;
    comp.wait_window("kms-copied")?;
    let output: wayland_client::protocol::wl_output::WlOutput = client.bind(1..=4, ())?;
    let manager = client.wlr_screencopy()?;
    let copied = client
        .wlr_copy_into_dmabuf(&manager, &output, Path::new("/dev/dri/card0"))
        .map_err(|e| anyhow::anyhow!("{e:#}; log:\n{}", comp.log()))?;
    let shot = comp.screenshot(json!({}))?;
    assert_eq!((copied.width, copied.height), (shot.width, shot.height));
    let differing = copied
        .rgb
        .iter()
        .zip(shot.region(0, 0, shot.width, shot.height))
        .filter(|(a, b)| **a != *b)
        .count();
    assert_eq!(
        differing, 0,
        "pixels of the dmabuf copy that differ from the screenshot"
    );
    assert!(
        copied.rgb.iter().any(|p| close(*p, WINDOW_RGB)),
        "the window is in the copy"
    );

    // ext-image-copy-capture names the device and its linear formats, and fills a
    // dmabuf of it the same way.
    let mut session = client.capture_output(&output, false)?;
    client.wait_constraints(&mut session)?;
    let rdev = std::os::unix::fs::MetadataExt::rdev(&std::fs::metadata("/dev/dri/card0")?);
    {
        let events = session
            .events
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?;
        assert_eq!(events.dmabuf_device, Some(rdev), "{events:?}");
        assert!(
            events
                .dmabuf_formats
                .iter()
                .any(|(f, m)| *f == 0x3432_5258 && m.contains(&0)),
            "XRGB8888 linear among {:?}",
            events.dmabuf_formats
        );
    }
    let captured = client
        .capture_frame_into_dmabuf(&session, Path::new("/dev/dri/card0"))
        .map_err(|e| anyhow::anyhow!("{e:#}; log:\n{}", comp.log()))?;
    let differing = captured
        .iter()
        .zip(shot.region(0, 0, shot.width, shot.height))
        .filter(|(a, b)| **a != *b)
        .count();
    assert_eq!(
        differing, 0,
        "pixels of the ext-image-copy dmabuf that differ"
    );
    Ok(())
}

/// With GLES, a screencopy into a client's dmabuf is drawn there by the GPU (nothing
/// read back or copied by the CPU), and shows what the screenshot shows.
#[test]
#[ignore = "needs a KMS device and root: run scripts/kms-vm-test.sh"]
fn kms_gles_draws_screencopy_straight_into_the_clients_dmabuf() -> Result<()> {
    let comp = ghost_tests::Compositor::start_kms_with(
        &super::config_home("dmabuf-draw", "")?,
        &["--renderer", "gles"],
    )?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    let _window = client.color_window("kms-drawn-copy", 300, 200, &[WINDOW])?;
    comp.wait_window("kms-drawn-copy")?;
    let output: wayland_client::protocol::wl_output::WlOutput = client.bind(1..=4, ())?;
    let manager = client.wlr_screencopy()?;
    let copied = client
        .wlr_copy_into_dmabuf(&manager, &output, Path::new("/dev/dri/card0"))
        .map_err(|e| anyhow::anyhow!("{e:#}; log:\n{}", comp.log()))?;
    let outputs = comp.request(json!({"request": "outputs"}))?;
    let kms = &outputs[0]["kms"];
    assert_eq!(kms["renderer"], "gles", "{outputs:#}");
    assert_eq!(
        kms["captures_drawn_into_dmabufs"],
        1,
        "the copy was drawn by the GPU: {outputs:#}; log:\n{}",
        comp.log()
    );
    let shot = comp.screenshot(json!({}))?;
    assert_eq!((copied.width, copied.height), (shot.width, shot.height));
    let differing = copied
        .rgb
        .iter()
        .zip(shot.region(0, 0, shot.width, shot.height))
        .filter(|(a, b)| !close(**a, *b))
        .count();
    assert_eq!(
        differing, 0,
        "pixels of the drawn copy that differ from the screenshot"
    );
    assert!(
        copied.rgb.iter().any(|p| close(*p, WINDOW_RGB)),
        "the window is in the copy"
    );
    Ok(())
}
