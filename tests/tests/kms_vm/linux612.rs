//! What needs the VM's Linux 6.12 flavour with virtio-gpu beside vkms
//! (scripts/kms-vm-test.sh runs this module there). Explicit sync
//! (linux-drm-syncobj-v1): vkms has no syncobj timelines, so ghostcomp imports clients'
//! timelines through virtio-gpu's render node, the way a client's GPU driver makes
//! them; the pictures still come back through vkms's writeback connector. Damage
//! clips: virtio-gpu's primary plane has FB_DAMAGE_CLIPS, which vkms's lacks.

use std::{path::PathBuf, time::Duration};

use anyhow::{Context, Result};
use ghost_tests::{
    client::TestClient,
    syncobj_client::{set_points, Timeline},
    wait_for,
};

use super::{close, start, writeback, writeback_until};

const FIRST: u32 = 0xff20_60c0;
const SECOND: u32 = 0xff30_c040;
const THIRD: u32 = 0xffc0_4080;
const OTHER_A: u32 = 0xff80_8080;
const OTHER_B: u32 = 0xffe0_e020;

fn rgb(c: u32) -> [u8; 3] {
    [(c >> 16) as u8, (c >> 8) as u8, c as u8]
}

/// The render node of the device that has syncobj timelines (virtio-gpu here).
fn timeline_node() -> Result<PathBuf> {
    virtio_node("renderD")
}

/// virtio-gpu's node whose name starts with `prefix` ("card", "renderD").
fn virtio_node(prefix: &str) -> Result<PathBuf> {
    let mut nodes: Vec<PathBuf> = std::fs::read_dir("/sys/class/drm")?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && !n.contains('-'))
        })
        .collect();
    nodes.sort();
    nodes
        .into_iter()
        .find(|p| {
            std::fs::read_link(p.join("device/driver"))
                .ok()
                .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
                .is_some_and(|d| d.contains("virtio"))
        })
        .and_then(|p| p.file_name().map(|n| PathBuf::from("/dev/dri").join(n)))
        .context("no virtio-gpu render node: run in the VM's backports flavour")
}

/// A point 8 px inside the top-left corner of the window with `app_id` (a later,
/// smaller window opens over the middle of an earlier one).
fn inside(comp: &ghost_tests::Compositor, app_id: &str) -> Result<(u32, u32)> {
    let info = comp.wait_window(app_id)?;
    let g = &info["geometry"];
    let x = g["x"].as_i64().context("x")? + 8;
    let y = g["y"].as_i64().context("y")? + 8;
    Ok((x as u32, y as u32))
}

#[test]
#[ignore = "needs the VM's Linux 6.12 flavour with virtio-gpu: run scripts/kms-vm-test.sh"]
fn kms_explicit_sync_waits_for_acquire_points_and_releases_after_the_screen() -> Result<()> {
    let node = timeline_node()?;
    let card = std::path::Path::new("/dev/dri/card0");
    let comp = start("syncobj", "")?;
    let run = || -> Result<()> {
        let mut client = TestClient::connect(&comp.socket_path())?;
        let manager = client.syncobj_manager()?;
        let mut video = client.dmabuf_window(
            "sync-video",
            card,
            (320, 240),
            false,
            &[FIRST, SECOND, THIRD],
        )?;
        let at = inside(&comp, "sync-video")?;
        writeback_until(&comp, "the first buffer", |f| {
            close(f.pixel(at.0, at.1), rgb(FIRST))
        })?;
        let mut other = client.color_window("sync-other", 120, 90, &[OTHER_A, OTHER_B])?;
        let other_at = inside(&comp, "sync-other")?;

        let timeline: Timeline = client.timeline(&manager, &node)?;
        let sync = client.syncobj_surface(&manager, &video.surface);
        // The second buffer waits for point 1, which the "GPU" has not reached.
        set_points(&sync, &timeline, 1, 2);
        client.commit_next(&mut video, false)?;
        client.roundtrip()?;
        // Only that surface waits: the other window's next picture shows meanwhile.
        client.commit_next(&mut other, false)?;
        let frame = writeback_until(&comp, "the other window's update", |f| {
            close(f.pixel(other_at.0, other_at.1), rgb(OTHER_B))
        })?;
        assert!(
            close(frame.pixel(at.0, at.1), rgb(FIRST)),
            "a buffer whose acquire point has not signalled is not shown: {:?}",
            frame.pixel(at.0, at.1)
        );
        std::thread::sleep(Duration::from_millis(300));
        assert!(close(writeback(&comp)?.pixel(at.0, at.1), rgb(FIRST)));
        assert_eq!(timeline.signalled()?, 0, "nothing released yet");

        timeline.signal(1)?;
        writeback_until(&comp, "the second buffer once its point signalled", |f| {
            close(f.pixel(at.0, at.1), rgb(SECOND))
        })?;
        // On screen, so not released.
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(
            timeline.signalled()?,
            1,
            "the release point waits while the buffer is shown"
        );

        // The third buffer replaces it: once that is on screen, point 2 signals.
        set_points(&sync, &timeline, 3, 4);
        client.commit_next(&mut video, false)?;
        timeline.signal(3)?;
        writeback_until(&comp, "the third buffer", |f| {
            close(f.pixel(at.0, at.1), rgb(THIRD))
        })?;
        wait_for(
            Duration::from_secs(10),
            "the second buffer released",
            || {
                client.roundtrip().ok()?;
                (timeline.signalled().ok()? >= 2).then_some(())
            },
        )?;
        assert!(
            timeline.signalled()? < 4,
            "the shown buffer is not released"
        );
        drop(sync);
        drop(video);
        drop(other);

        // A file that is no syncobj is a protocol error for that client alone.
        let mut hostile = TestClient::connect(&comp.socket_path())?;
        let manager = hostile.syncobj_manager()?;
        let not_a_timeline = std::fs::File::open("/proc/self/stat")?;
        hostile.import_any(&manager, std::os::fd::AsFd::as_fd(&not_a_timeline));
        assert!(
            hostile.roundtrip().is_err(),
            "an invalid timeline is refused"
        );
        client.roundtrip()?;
        Ok(())
    };
    run().map_err(|e| anyhow::anyhow!("{e:#}; log:\n{}", comp.log()))
}

/// ghostcomp on virtio-gpu: frames that change only a window go out with FB_DAMAGE_CLIPS,
/// which a real driver takes. (What the host shows cannot tell whether the clips were
/// exact: virtio-gpu uploads a whole framebuffer when it differs from the last one
/// flipped, and ghostcomp flips between two.)
#[test]
#[ignore = "needs the VM's Linux 6.12 flavour with virtio-gpu: run scripts/kms-vm-test.sh"]
fn kms_virtio_gpu_takes_damage_clips_for_partial_frames() -> Result<()> {
    let card = virtio_node("card")?;
    let comp = ghost_tests::Compositor::start_kms_on(
        &super::config_home("clips", "")?,
        &card,
        &["--renderer", "pixman"],
    )?;
    let run = || -> Result<()> {
        let outputs = comp.request(serde_json::json!({"request": "outputs"}))?;
        assert_eq!(outputs[0]["kms"]["driver"], "virtio_gpu", "{outputs:#}");
        let mut client = TestClient::connect(&comp.socket_path())?;
        let mut window = client.color_window("clips", 200, 150, &[FIRST, SECOND])?;
        comp.wait_window("clips")?;
        for _ in 0..20 {
            client.commit_next(&mut window, false)?;
            wait_for(Duration::from_secs(10), "the frame shown", || {
                client.roundtrip().ok()?;
                client.frame_done().then_some(())
            })?;
        }
        let outputs = comp.request(serde_json::json!({"request": "outputs"}))?;
        let kms = &outputs[0]["kms"];
        let clipped = kms["damage_clipped_frames"].as_u64().unwrap_or(0);
        assert!(
            clipped >= 10,
            "frames with damage clips: {clipped}; {outputs:#}"
        );
        assert_eq!(kms["refused_property_frames"], 0, "{outputs:#}");
        let damage = outputs[0]["frames"]["last_damage_px"].as_u64().unwrap_or(0);
        assert!(
            damage > 0 && damage < 1024 * 768 / 4,
            "the last frame changed the window only: {damage} px"
        );
        // The window showed FIRST, then twenty more buffers in turn: FIRST again.
        let shot = comp.screenshot(serde_json::json!({}))?;
        let at = inside(&comp, "clips")?;
        assert!(
            close(shot.pixel(at.0, at.1), rgb(FIRST)),
            "{:?}",
            shot.pixel(at.0, at.1)
        );
        Ok(())
    };
    run().map_err(|e| anyhow::anyhow!("{e:#}; log:\n{}", comp.log()))
}
