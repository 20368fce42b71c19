//! Streaming out to real media servers on localhost: nginx's RTMP module and
//! `srt-live-transmit`. The stream arrives and plays back from the server; when the
//! server dies and comes back, the stream resumes by itself.

use std::{
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{ensure, Context, Result};
use ghost_tests::{
    client::TestClient,
    media_server::{RtmpServer, SrtListener},
    Compositor,
};
use serde_json::json;

fn moving(frame: usize, x: i32, y: i32) -> u32 {
    let stripe = ((x + y + frame as i32 * 16) / 32) % 2 == 0;
    0xff00_0000
        | ((x as u32 * 255 / 640) << 16)
        | ((y as u32 * 255 / 360) << 8)
        | if stripe { 200 } else { 30 }
}

fn probe(target: &str, entries: &str, count: bool) -> Result<String> {
    let mut cmd = Command::new("ffprobe");
    cmd.args(["-v", "error", "-rw_timeout", "10000000"]);
    if count {
        cmd.arg("-count_frames");
    }
    let out = cmd
        .args([
            "-select_streams",
            "v:0",
            "-show_entries",
            entries,
            "-of",
            "default=nw=1",
            target,
        ])
        .output()
        .context("ffprobe runs")?;
    ensure!(
        out.status.success(),
        "ffprobe {target}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn frames_in(path: &Path) -> Result<u64> {
    let got = probe(&path.to_string_lossy(), "stream=nb_read_frames", true)?;
    got.lines()
        .find_map(|l| l.strip_prefix("nb_read_frames="))
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no frame count: {got}"))
}

fn start(name: &str) -> Result<(Compositor, std::path::PathBuf)> {
    let home = std::env::temp_dir().join(format!("ghost-stream-{name}-{}", std::process::id()));
    std::fs::create_dir_all(home.join("ghostcomp"))?;
    std::fs::write(
        home.join("ghostcomp/config.toml"),
        "[capture]\nencoders = [\"software\"]\nkeyframe_interval = 1.0\nstream_bitrate_kbps = 1500\n",
    )?;
    let comp = Compositor::start_with_config_home(&["--output", "640x360@30"], &home)?;
    Ok((comp, home))
}

#[test]
fn an_rtmp_stream_reaches_nginx_and_resumes_after_the_server_restarts() -> Result<()> {
    let (comp, home) = start("rtmp")?;
    let mut server = RtmpServer::start(&comp.runtime_dir().join("nginx"))?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    let mut window = client.painted_window("org.ghostnv.live", 640, 360, 4, moving)?;
    let url = server.url("desk");
    let out = comp.msg_cli(&["stream", "start", &url])?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A player reads the stream back from the server while it runs.
    let player_url = url.clone();
    let player = std::thread::spawn(move || {
        // Played once the publisher is there; nginx turns a player away before that.
        let mut tries = 0;
        loop {
            std::thread::sleep(Duration::from_millis(700));
            match probe(&player_url, "stream=codec_name,width,height", false) {
                Ok(got) => return Ok(got),
                Err(e) if tries >= 4 => return Err(e),
                Err(_) => tries += 1,
            }
        }
    });
    client.animate(&mut window, Duration::from_secs(5))?;
    let played = player
        .join()
        .map_err(|_| anyhow::anyhow!("the player panicked"))??;
    for want in ["codec_name=h264", "width=640", "height=360"] {
        ensure!(played.contains(want), "{want} from the server: {played}");
    }
    let status = comp.request(json!({"request": "stream-status"}))?;
    ensure!(status["stream"]["connected"] == true, "{status:#}");
    // The server dies; the stream keeps encoding and tries again with backoff.
    server.kill();
    let _ = client.animate(&mut window, Duration::from_secs(2));
    let broken = comp.request(json!({"request": "stream-status"}))?;
    eprintln!("while the server is gone: {broken:#}");
    ensure!(broken["stream"]["connected"] == false, "{broken:#}");
    server.restart()?;
    let resumed_at = Instant::now();
    client.animate(&mut window, Duration::from_secs(5))?;
    let status = comp.request(json!({"request": "stream-status"}))?;
    eprintln!("after the restart: {status:#}");
    ensure!(
        status["stream"]["connected"] == true,
        "reconnected: {status:#}"
    );
    ensure!(
        status["stream"]["reconnects"].as_u64() >= Some(1),
        "{status:#}"
    );
    comp.request(json!({"request": "stream-stop"}))?;
    let files = server.recordings()?;
    ensure!(files.len() >= 2, "one recording per connection: {files:?}");
    let first = frames_in(&files[0])?;
    let last = frames_in(files.last().context("a file")?)?;
    let after = resumed_at.elapsed().as_secs_f64();
    eprintln!("nginx recorded {first} frames before and {last} after the restart ({after:.1} s)");
    ensure!(
        first >= 4 * 30,
        "5 s arrived before the restart: {first} frames"
    );
    ensure!(
        last as f64 >= (after - 3.0) * 30.0,
        "the stream resumed: {last} frames in {after:.1} s"
    );
    let _ = std::fs::remove_dir_all(&home);
    Ok(())
}

#[test]
fn an_srt_stream_arrives_as_mpeg_ts() -> Result<()> {
    let (comp, home) = start("srt")?;
    let listener = SrtListener::start(&comp.runtime_dir().join("srt.ts"))?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    let mut window = client.painted_window("org.ghostnv.live", 640, 360, 4, moving)?;
    comp.request(json!({"request": "stream-start", "url": listener.url()}))?;
    client.animate(&mut window, Duration::from_secs(4))?;
    let done = comp.request(json!({"request": "stream-stop"}))?;
    eprintln!("srt: {done:#}");
    std::thread::sleep(Duration::from_millis(500));
    let got = probe(
        &listener.out().to_string_lossy(),
        "stream=codec_name,width,height",
        false,
    )?;
    ensure!(
        got.contains("codec_name=h264") && got.contains("width=640"),
        "{got}"
    );
    let frames = frames_in(listener.out())?;
    ensure!(frames >= 3 * 30, "{frames} frames of 4 s arrived");
    let _ = std::fs::remove_dir_all(&home);
    Ok(())
}

#[test]
fn a_slow_link_lowers_the_bitrate_instead_of_falling_behind() -> Result<()> {
    let home = std::env::temp_dir().join(format!("ghost-stream-slow-{}", std::process::id()));
    std::fs::create_dir_all(home.join("ghostcomp"))?;
    std::fs::write(
        home.join("ghostcomp/config.toml"),
        "[capture]\nencoders = [\"software\"]\nkeyframe_interval = 1.0\nstream_bitrate_kbps = 4000\n",
    )?;
    let comp = Compositor::start_with_config_home(&["--output", "640x360@30"], &home)?;
    let server = RtmpServer::start(&comp.runtime_dir().join("nginx"))?;
    // 40 kB/s: a tenth of what the stream starts at.
    let link = ghost_tests::media_server::SlowLink::start(server.port(), 40_000)?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    // Noise-like stripes: every frame costs bits.
    let busy = |frame: usize, x: i32, y: i32| -> u32 {
        let v = ((x * 7919 + y * 104_729 + frame as i32 * 13) % 251) as u32;
        0xff00_0000 | (v << 16) | (((v * 3) % 256) << 8) | ((v * 7) % 256)
    };
    let mut window = client.painted_window("org.ghostnv.busy", 640, 360, 6, busy)?;
    let url = format!("rtmp://127.0.0.1:{}/live/slow", link.port());
    comp.request(json!({"request": "stream-start", "url": url}))?;
    let mut lowest = u64::MAX;
    for _ in 0..6 {
        client.animate(&mut window, Duration::from_secs(2))?;
        let status = comp.request(json!({"request": "stream-status"}))?;
        let kbps = status["stream"]["bitrate_kbps"]
            .as_u64()
            .unwrap_or(u64::MAX);
        eprintln!(
            "bitrate {kbps} kbit/s, skipped {}",
            status["stream"]["skipped"]
        );
        lowest = lowest.min(kbps);
    }
    let status = comp.request(json!({"request": "stream-stop"}))?;
    eprintln!("{status:#}");
    ensure!(lowest <= 2000, "the bitrate came down from 4000: {lowest}");
    ensure!(
        lowest >= 1000,
        "never under a quarter of the target: {lowest}"
    );
    ensure!(
        status["stream"]["reconnects"] == 0,
        "slow is not gone: {status:#}"
    );
    let _ = std::fs::remove_dir_all(&home);
    Ok(())
}
