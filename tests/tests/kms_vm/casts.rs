//! Screen casts on the KMS device: PipeWire and WirePlumber run in the guest beside
//! ghostcomp drawing with GLES into GBM buffers, and a consumer that imports DMA-BUF
//! gets the device's buffers, drawn on the GPU, while one that takes only shared memory
//! gets that.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::{Context, Result};
use ghost_tests::{
    client::TestClient,
    pw_consumer::{consume_as, Wants},
    wait_for, Compositor,
};
use serde_json::json;

use super::{close, config_home, writeback_until, BACKGROUND_RGB, WINDOW, WINDOW_RGB};

/// PipeWire and WirePlumber for one compositor, killed on drop.
struct Graph {
    children: Vec<Child>,
    socket: PathBuf,
    runtime_dir: PathBuf,
}

impl Graph {
    /// Starts both in `runtime_dir`, where the compositor looks for PipeWire.
    fn start(runtime_dir: &Path) -> Result<Self> {
        let mut graph = Self {
            children: Vec::new(),
            socket: runtime_dir.join("pipewire-0"),
            runtime_dir: runtime_dir.to_path_buf(),
        };
        for daemon in ["pipewire", "wireplumber"] {
            let log = std::fs::File::create(runtime_dir.join(format!("{daemon}.log")))?;
            let child = Command::new(daemon)
                .env("XDG_RUNTIME_DIR", runtime_dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .with_context(|| format!("cannot start {daemon}"))?;
            graph.children.push(child);
            if daemon == "pipewire" {
                wait_for(Duration::from_secs(20), "PipeWire's socket", || {
                    graph.socket.exists().then_some(())
                })?;
            }
        }
        Ok(graph)
    }
}

impl Graph {
    /// Both daemons' logs, for failure messages.
    fn logs(&self) -> String {
        ["pipewire", "wireplumber"]
            .iter()
            .map(|d| {
                let log = std::fs::read_to_string(self.runtime_dir.join(format!("{d}.log")));
                format!("--- {d}:\n{}", log.unwrap_or_default())
            })
            .collect()
    }
}

impl Drop for Graph {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The pixels of `picture` (BGRx rows at `stride`) that differ from the writeback
/// frame `frame`, leaving out the top-right corner where the screen shows that it is
/// being shared and a cast does not.
fn differing(picture: &[u8], stride: usize, frame: &ghost_tests::Image) -> usize {
    let mut count = 0;
    for y in 0..frame.height {
        for x in 0..frame.width.saturating_sub(64) {
            let at = y as usize * stride + x as usize * 4;
            let Some(p) = picture.get(at..at + 4) else {
                return usize::MAX;
            };
            if !close([p[2], p[1], p[0]], frame.pixel(x, y)) {
                count += 1;
            }
        }
    }
    count
}

#[test]
#[ignore = "needs a KMS device and root: run scripts/kms-vm-test.sh"]
fn kms_gles_casts_hand_dmabuf_consumers_gpu_buffers_and_others_shared_memory() -> Result<()> {
    let comp = Compositor::start_kms_with(&config_home("casts", "")?, &["--renderer", "gles"])?;
    let graph = Graph::start(comp.runtime_dir())?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    let _window = client.color_window("kms-cast", 300, 200, &[WINDOW])?;
    let info = comp.wait_window("kms-cast")?;
    let g = &info["geometry"];
    let (x, y) = (
        g["x"].as_u64().context("x")? as u32 + 150,
        g["y"].as_u64().context("y")? as u32 + 100,
    );
    writeback_until(&comp, "the window", |f| close(f.pixel(x, y), WINDOW_RGB))?;
    // The pointer drawn in, as the screen shows it.
    let cast = comp.request(json!({"request": "cast-start", "cursor": "embedded"}))?;
    let node = cast["node_id"].as_u64().context("no node")? as u32;

    // A consumer that imports DMA-BUF (linear or the driver's layout) gets the
    // device's buffers, drawn by GLES.
    let mut buffers = None;
    let seen = consume_as(
        &graph.socket,
        node,
        Duration::from_secs(20),
        Wants::Dmabuf,
        || {
            wait_for(Duration::from_secs(15), "the cast to stream", || {
                let casts = comp.request(json!({"request": "casts"})).ok()?;
                (casts[0]["state"] == "streaming").then_some(())
            })?;
            buffers = Some(comp.request(json!({"request": "casts"}))?[0]["buffers"].clone());
            Ok(())
        },
    )
    .map_err(|e| anyhow::anyhow!("{e:#}; log:\n{}\n{}", comp.log(), graph.logs()))?;
    assert!(
        seen.modifier.is_some(),
        "a DMA-BUF format was agreed: {seen:?}; log:\n{}",
        comp.log()
    );
    assert_eq!(buffers, Some(json!("dmabuf")));
    assert!(seen.dmabuf_frames > 0, "frames came as DMA-BUF: {seen:?}");
    assert_eq!(seen.size, Some((1024, 768)));
    let at = |px: u32, py: u32| {
        let i = py as usize * seen.stride + px as usize * 4;
        seen.last_picture
            .get(i..i + 3)
            .map(|p| [p[2], p[1], p[0]])
            .unwrap_or_default()
    };
    assert!(close(at(x, y), WINDOW_RGB), "the window: {:?}", at(x, y));
    assert!(
        close(at(5, 760), BACKGROUND_RGB),
        "the background: {:?}",
        at(5, 760)
    );
    // The GPU drew what the display engine scans out.
    let frame = writeback_until(&comp, "a frame", |_| true)?;
    assert_eq!(
        differing(&seen.last_picture, seen.stride, &frame),
        0,
        "pixels of the cast that differ from the writeback frame"
    );

    // A consumer of shared memory only gets that, with the same picture.
    let seen = consume_as(
        &graph.socket,
        node,
        Duration::from_secs(8),
        Wants::Bgrx,
        || Ok(()),
    )?;
    assert_eq!(seen.modifier, None, "{seen:?}");
    assert!(seen.frames > 0 && seen.dmabuf_frames == 0, "{seen:?}");
    assert!(close(seen.pixel(x, y).unwrap_or_default(), WINDOW_RGB));
    Ok(())
}
