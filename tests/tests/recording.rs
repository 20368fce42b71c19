//! Recording, instant replay and a crash while recording, on the software encoder:
//! `ghostcomp msg record …` and `msg replay save` write files that Debian's `ffprobe`
//! and `ffmpeg` read back, with the frames the time promised and the picture the
//! screen showed.

use std::{
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{ensure, Context, Result};
use ghost_tests::{client::TestClient, Compositor, Image};
use serde_json::json;

/// A 1920x1080 picture that moves: diagonal stripes sliding by 24 pixels a frame over
/// a colour ramp, so every frame differs everywhere and the encoder has real work.
fn moving(frame: usize, x: i32, y: i32) -> u32 {
    let shift = frame as i32 * 24;
    let stripe = ((x + y + shift) / 48) % 2 == 0;
    let r = (x * 255 / 1920) as u32;
    let g = (y * 255 / 1080) as u32;
    let b = if stripe { 230 } else { 40 };
    0xff00_0000 | r << 16 | g << 8 | b
}

fn ffprobe(path: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("ffprobe")
        .args(["-v", "error"])
        .args(args)
        .args(["-of", "default=nw=1"])
        .arg(path)
        .output()
        .context("ffprobe runs")?;
    ensure!(
        out.status.success(),
        "ffprobe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn field(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .map(str::to_owned)
}

fn frame_count(path: &Path) -> Result<u64> {
    let got = ffprobe(
        path,
        &[
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=nb_read_frames",
        ],
    )?;
    field(&got, "nb_read_frames")
        .and_then(|v| v.parse().ok())
        .context("a frame count")
}

/// The last frame of `path` as RGB.
fn last_frame(path: &Path, frames: u64) -> Result<Vec<u8>> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args([
            "-vf",
            &format!("select=eq(n\\,{})", frames - 1),
            "-frames:v",
            "1",
        ])
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()?;
    ensure!(
        out.status.success(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(out.stdout)
}

/// FFmpeg's psnr filter (average of Y', Cb, Cr) between the last frame of `video` and
/// `png` converted to BT.709 narrow-range 4:2:0.
fn ycbcr_psnr(video: &Path, frames: u64, png: &Path) -> Result<f64> {
    let graph = format!(
        "[0:v]select=eq(n\\,{}),setpts=PTS-STARTPTS[r];\
         [1:v]scale=out_color_matrix=bt709:out_range=tv,format=yuv420p[s];[r][s]psnr",
        frames - 1
    );
    let out = Command::new("ffmpeg")
        .args(["-v", "info", "-i"])
        .arg(video)
        .arg("-i")
        .arg(png)
        .args(["-filter_complex", &graph, "-f", "null", "-"])
        .output()?;
    let log = String::from_utf8_lossy(&out.stderr);
    log.lines()
        .filter(|l| l.contains("PSNR"))
        .find_map(|l| l.split("average:").nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no PSNR from ffmpeg: {log}"))
}

/// Peak signal-to-noise ratio of `decoded` (RGB) against `shot`, over every channel.
fn psnr(decoded: &[u8], shot: &Image) -> f64 {
    let mut squared = 0f64;
    let mut n = 0f64;
    for y in 0..shot.height {
        for x in 0..shot.width {
            let at = ((y * shot.width + x) * 3) as usize;
            let want = shot.pixel(x, y);
            for c in 0..3 {
                let d = f64::from(decoded[at + c]) - f64::from(want[c]);
                squared += d * d;
                n += 1.0;
            }
        }
    }
    let mse = squared / n;
    if mse == 0.0 {
        return f64::INFINITY;
    }
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

fn config_home(name: &str, capture: &str) -> Result<std::path::PathBuf> {
    let home = std::env::temp_dir().join(format!("ghost-rec-{name}-{}", std::process::id()));
    std::fs::create_dir_all(home.join("ghostcomp"))?;
    std::fs::write(
        home.join("ghostcomp/config.toml"),
        format!("[capture]\nencoders = [\"nvenc\", \"vaapi\", \"software\"]\n{capture}"),
    )?;
    Ok(home)
}

#[test]
fn three_seconds_of_a_moving_1080p_window_are_180_frames_that_match_the_screen() -> Result<()> {
    let home = config_home("record", "")?;
    let comp = Compositor::start_with_config_home(&["--output", "1920x1080@60"], &home)?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    let mut window = client.painted_window("org.ghostnv.moving", 1920, 1080, 6, moving)?;
    let path = comp.runtime_dir().join("three.mp4");
    let started = Instant::now();
    let reply = comp.request(json!({"request": "record-start", "path": path}))?;
    ensure!(
        reply["target"] == json!(path.display().to_string()),
        "{reply:#}"
    );
    client.animate(&mut window, Duration::from_millis(2600))?;
    // The last commit is drawn at the next refresh; then the screen holds its last
    // picture: what the recording's last frame shows.
    client.roundtrip()?;
    std::thread::sleep(Duration::from_millis(100));
    let shot_path = comp.runtime_dir().join("still.png");
    comp.request(json!({"request": "screenshot", "path": shot_path}))?;
    let shot = ghost_tests::read_png(&shot_path)?;
    let status = comp.request(json!({"request": "record-status"}))?;
    ensure!(
        status["running"] == true && status["backend"] == "software",
        "{status:#}"
    );
    ensure!(
        status["refused"].as_array().map_or(0, Vec::len) == 2,
        "NVENC and VA-API said why: {status:#}"
    );
    std::thread::sleep(Duration::from_millis(3000).saturating_sub(started.elapsed()));
    let done = comp.request(json!({"request": "record-stop"}))?;
    let elapsed = started.elapsed();
    eprintln!("recording: {done:#}");
    let got = ffprobe(&path, &["-count_frames", "-select_streams", "v:0", "-show_entries",
        "stream=codec_name,width,height,nb_read_frames,color_space,color_transfer,color_primaries"])?;
    for want in [
        "codec_name=h264",
        "width=1920",
        "height=1080",
        "color_space=bt709",
        "color_primaries=bt709",
    ] {
        ensure!(got.contains(want), "{want} in {got}");
    }
    let frames: u64 = field(&got, "nb_read_frames")
        .and_then(|v| v.parse().ok())
        .context("frames")?;
    let expected = elapsed.as_secs_f64() * 60.0;
    ensure!(
        (frames as f64 - 180.0).abs() <= 180.0 * 0.02,
        "{frames} frames for 3 s at 60 fps"
    );
    ensure!(
        (frames as f64 - expected).abs() <= 3.0,
        "{frames} frames in {elapsed:?}"
    );
    ensure!(
        done["frames"] == json!(frames),
        "the status counts what the file holds: {done:#}"
    );
    // Video fidelity as video people measure it: Y', Cb and Cr planes of the decoded
    // frame against the screenshot put through BT.709 4:2:0, by FFmpeg's psnr filter.
    let quality = ycbcr_psnr(&path, frames, &shot_path)?;
    let rgb = psnr(&last_frame(&path, frames)?, &shot);
    eprintln!("last frame against the screenshot: {quality:.1} dB Y'CbCr, {rgb:.1} dB RGB");
    ensure!(quality >= 35.0, "PSNR {quality:.1} dB");
    let _ = std::fs::remove_dir_all(&home);
    Ok(())
}

#[test]
fn a_recording_survives_kill_9_up_to_its_last_fragment() -> Result<()> {
    let home = config_home("kill", "keyframe_interval = 1.0\n")?;
    let mut comp = Compositor::start_with_config_home(&["--output", "1280x720@60"], &home)?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    let mut window = client.painted_window("org.ghostnv.moving", 1280, 720, 4, moving)?;
    let path = comp.runtime_dir().join("crash.mp4");
    let started = Instant::now();
    comp.request(json!({"request": "record-start", "path": path}))?;
    let _ = client.animate(&mut window, Duration::from_millis(3500));
    let elapsed = started.elapsed();
    let killed = Command::new("kill")
        .args(["-9", &comp.pid().to_string()])
        .status()?;
    ensure!(killed.success());
    let _ = comp.is_running();
    let frames = frame_count(&path)?;
    // Fragments are a second long: at most that (and the frames still in the encoder)
    // is lost.
    let expected = elapsed.as_secs_f64() * 60.0;
    eprintln!("{frames} frames survived of {expected:.0}");
    ensure!(
        frames as f64 <= expected + 1.0,
        "{frames} frames in {elapsed:?}"
    );
    ensure!(
        frames as f64 >= expected - 60.0 - 10.0,
        "{frames} frames of {expected:.0}: more than one fragment lost"
    );
    let _ = std::fs::remove_dir_all(&home);
    Ok(())
}

#[test]
fn replay_saves_the_last_three_seconds_from_a_key_frame() -> Result<()> {
    let home = config_home("replay", "replay_seconds = 3\nkeyframe_interval = 1.0\n")?;
    let comp = Compositor::start_with_config_home(&["--output", "1280x720@60"], &home)?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    let mut window = client.painted_window("org.ghostnv.moving", 1280, 720, 4, moving)?;
    client.animate(&mut window, Duration::from_secs(5))?;
    let status = comp.request(json!({"request": "replay-status"}))?;
    ensure!(status["running"] == true, "{status:#}");
    let ring = status["ring_bytes"].as_u64().unwrap_or(0);
    ensure!(ring > 0, "the ring holds video: {status:#}");
    let path = comp.runtime_dir().join("replay.mp4");
    let saved = comp.request(json!({"request": "replay-save", "path": path}))?;
    eprintln!("replay: {saved:#}, ring {ring} bytes");
    let frames = frame_count(&path)?;
    let seconds = frames as f64 / 60.0;
    ensure!(
        (seconds - 3.0).abs() <= 1.0,
        "{seconds:.2} s saved for a 3 s replay of 1 s groups"
    );
    let first = ffprobe(
        &path,
        &[
            "-select_streams",
            "v:0",
            "-read_intervals",
            "%+#1",
            "-show_entries",
            "packet=flags,pts",
        ],
    )?;
    ensure!(
        field(&first, "flags").is_some_and(|f| f.starts_with('K')),
        "starts with a key frame: {first}"
    );
    ensure!(
        field(&first, "pts") == Some("0".into()),
        "starts at zero: {first}"
    );
    // Nothing set, nothing to save.
    let home2 = config_home("noreplay", "")?;
    let bare = Compositor::start_with_config_home(&[], &home2)?;
    let refused = bare.raw_request(&json!({"request": "replay-save", "path": path}).to_string())?;
    ensure!(
        refused["ok"] == false
            && refused["error"]
                .as_str()
                .unwrap_or("")
                .contains("replay_seconds"),
        "{refused:#}"
    );
    let _ = std::fs::remove_dir_all(&home);
    let _ = std::fs::remove_dir_all(&home2);
    Ok(())
}

/// Y', Cb, Cr of pixel (x, y) of frame 0 of a recording, as FFmpeg decodes it to
/// planar 4:2:0 of `bits` (8 or 10).
fn decoded_ycbcr(
    path: &Path,
    bits: u32,
    (width, height): (usize, usize),
    (x, y): (usize, usize),
) -> Result<[u16; 3]> {
    let format = if bits == 10 { "yuv420p10le" } else { "yuv420p" };
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", format, "-"])
        .output()?;
    ensure!(
        out.status.success(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let raw = out.stdout;
    let size = if bits == 10 { 2 } else { 1 };
    let sample = |at: usize| match size {
        2 => u16::from_le_bytes([raw[at * 2], raw[at * 2 + 1]]),
        _ => u16::from(raw[at]),
    };
    let luma = width * height;
    let chroma = luma / 4;
    let c = (y / 2) * (width / 2) + x / 2;
    Ok([
        sample(y * width + x),
        sample(luma + c),
        sample(luma + chroma + c),
    ])
}

#[test]
fn gles_packs_nv12_on_the_gpu_with_the_bt709_reference_values() -> Result<()> {
    use ghost_hdr::ycbcr::{narrow_codes, Matrix};
    let home = config_home("gles", "")?;
    let comp = Compositor::start_with_config_home(
        &["--renderer", "gles", "--output", "320x240@30"],
        &home,
    )?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    let _window = client.color_window("sdr-client", 96, 96, &[0xff_c0_60_30])?;
    let w = comp.wait_window("sdr-client")?;
    let at = (
        w["geometry"]["x"].as_u64().context("x")? as usize + 48,
        w["geometry"]["y"].as_u64().context("y")? as usize + 48,
    );
    std::thread::sleep(Duration::from_millis(100));
    let path = comp.runtime_dir().join("gles.mp4");
    comp.request(json!({"request": "record-start", "path": path}))?;
    std::thread::sleep(Duration::from_millis(400));
    let status = comp.request(json!({"request": "record-status"}))?;
    ensure!(
        status["conversion"] == "gpu",
        "GLES packs NV12 itself: {status:#}"
    );
    comp.request(json!({"request": "record-stop"}))?;
    let reference = narrow_codes(
        Matrix::Bt709.from_rgb([192.0 / 255.0, 96.0 / 255.0, 48.0 / 255.0]),
        8,
    );
    let decoded = decoded_ycbcr(&path, 8, (320, 240), at)?;
    eprintln!("decoded {decoded:?}, reference {reference:?}");
    for c in 0..3 {
        ensure!(
            decoded[c].abs_diff(reference[c]) <= 1,
            "decoded {decoded:?}, reference {reference:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&home);
    Ok(())
}

#[test]
fn an_hdr_output_records_10_bit_pq_hevc_with_the_reference_values() -> Result<()> {
    use ghost_hdr::{
        ycbcr::{narrow_codes, Matrix},
        ImageDescription, Luminances, Pipeline,
    };
    let home = std::env::temp_dir().join(format!("ghost-rec-hdr-{}", std::process::id()));
    std::fs::create_dir_all(home.join("ghostcomp"))?;
    std::fs::write(
        home.join("ghostcomp/config.toml"),
        "[capture]\nencoders = [\"software\"]\n\
         [[output]]\nname = \"HEADLESS-1\"\nhdr = \"on\"\nmax_luminance = 600.0\nmin_luminance = 0.005\n",
    )?;
    let comp = Compositor::start_with_config_home(
        &["--renderer", "gles", "--output", "320x240@30"],
        &home,
    )?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    let manager = client.color_manager()?;
    let description = client.pq_description(&manager)?;
    let mut pq = client.color_window("pq-client", 96, 96, &[0xff_c0_60_30])?;
    let _surface = client.set_surface_description(&manager, &pq, &description);
    client.commit_next(&mut pq, false)?;
    client.roundtrip()?;
    let w = comp.wait_window("pq-client")?;
    let (x, y) = (
        w["geometry"]["x"].as_u64().context("x")? as usize + 48,
        w["geometry"]["y"].as_u64().context("y")? as usize + 48,
    );
    std::thread::sleep(Duration::from_millis(100));
    let path = comp.runtime_dir().join("hdr.mp4");
    comp.request(json!({"request": "record-start", "path": path}))?;
    std::thread::sleep(Duration::from_millis(500));
    let status = comp.request(json!({"request": "record-status"}))?;
    ensure!(
        status["conversion"] == "gpu",
        "GLES packs P010 itself: {status:#}"
    );
    let done = comp.request(json!({"request": "record-stop"}))?;
    ensure!(done["encoder"] == "libx265", "HDR records HEVC: {done:#}");
    let got = ffprobe(
        &path,
        &[
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=codec_name,pix_fmt,color_space,color_primaries,color_transfer",
        ],
    )?;
    for want in [
        "codec_name=hevc",
        "pix_fmt=yuv420p10le",
        "color_space=bt2020nc",
        "color_primaries=bt2020",
        "color_transfer=smpte2084",
    ] {
        ensure!(got.contains(want), "{want} in {got}");
    }
    let frames = ffprobe(&path, &["-read_intervals", "%+#1", "-show_frames"])?;
    ensure!(
        frames.contains("Mastering display metadata")
            && frames.contains("max_luminance=6000000/10000"),
        "{frames}"
    );
    // ghost-hdr's reference: the client's PQ numbers on this output, as a 10-bit
    // BT.2020 narrow-range Y'CbCr.
    let output = ImageDescription {
        luminances: Luminances {
            min: 0.005,
            max: 600.0,
            reference: 203.0,
        },
        ..ImageDescription::bt2100_pq()
    };
    let signal = [192.0 / 255.0, 96.0 / 255.0, 48.0 / 255.0];
    let rgb = Pipeline::encode(&output)
        .apply(Pipeline::decode(&ImageDescription::bt2100_pq(), &output).apply(signal));
    let reference = narrow_codes(Matrix::Bt2020Ncl.from_rgb(rgb), 10);
    let decoded = decoded_ycbcr(&path, 10, (320, 240), (x, y))?;
    let shot = comp
        .screenshot_hdr()?
        .pixel(x as u32, y as u32)
        .map(|v| f64::from(v) / 65535.0);
    let from_shot = narrow_codes(Matrix::Bt2020Ncl.from_rgb(shot), 10);
    eprintln!("decoded {decoded:?}, reference {reference:?}, from the screenshot {from_shot:?}");
    for c in 0..3 {
        ensure!(
            decoded[c].abs_diff(reference[c]) <= 2,
            "decoded {decoded:?}, reference {reference:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&home);
    Ok(())
}

#[test]
fn a_recording_shows_the_red_dot_and_keeps_blocked_windows_black() -> Result<()> {
    let home = config_home(
        "blocked",
        "\n[[window_rule]]\napp_id = \"^rec\\\\.secret$\"\nblock_out_from_screencast = true\n",
    )?;
    let comp = Compositor::start_with_config_home(&["--output", "640x360@30"], &home)?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    let _public = client.color_window("rec.public", 120, 120, &[0xff_20_60_e0])?;
    let _secret = client.color_window("rec.secret", 120, 120, &[0xff_e0_20_20])?;
    // Windows cascade: the later one covers all but the top-left corner of the first.
    let inside = |app_id: &str, by: usize| -> Result<(usize, usize)> {
        let w = comp.wait_window(app_id)?;
        let g = &w["geometry"];
        Ok((
            g["x"].as_u64().context("x")? as usize + by,
            g["y"].as_u64().context("y")? as usize + by,
        ))
    };
    let (public, secret) = (inside("rec.public", 8)?, inside("rec.secret", 100)?);
    let dot =
        |comp: &Compositor| -> Result<[u8; 3]> { Ok(comp.screenshot(json!({}))?.pixel(625, 15)) };
    let before = dot(&comp)?;
    let path = comp.runtime_dir().join("blocked.mkv");
    comp.request(json!({"request": "record-start", "path": path}))?;
    std::thread::sleep(Duration::from_millis(300));
    let red = dot(&comp)?;
    ensure!(
        red[0] > 200 && red[1] < 60 && red[2] < 60,
        "the indicator shows: {red:?}"
    );
    std::thread::sleep(Duration::from_millis(300));
    comp.request(json!({"request": "record-stop"}))?;
    ensure!(dot(&comp)? == before, "and goes with the recording");
    let frame = last_frame(&path, frame_count(&path)?)?;
    let px = |(x, y): (usize, usize)| {
        let at = (y * 640 + x) * 3;
        [frame[at], frame[at + 1], frame[at + 2]]
    };
    let (p, s, d) = (px(public), px(secret), px((625, 15)));
    eprintln!("public {p:?}, secret {s:?}, dot corner {d:?}");
    ensure!(
        p[2] > 180 && p[0] < 70,
        "the public window is recorded: {p:?}"
    );
    ensure!(
        s.iter().all(|&c| c < 24),
        "the blocked window is black: {s:?}"
    );
    ensure!(
        d[0] < 150 || d[1] > 60,
        "the indicator stays out of the recording: {d:?}"
    );
    let _ = std::fs::remove_dir_all(&home);
    Ok(())
}

#[test]
fn the_record_and_save_replay_bindings_write_to_the_recordings_folder() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("ghost-rec-bindings-out-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let home = config_home(
        "bindings",
        &format!(
            "replay_seconds = 2\nrecordings_dir = \"{}\"\n\n[bindings]\n\"Super+R\" = \"record-toggle\"\n\"Super+Shift+R\" = \"save-replay\"\n",
            dir.display()
        ),
    )?;
    let comp = Compositor::start_with_config_home(&["--output", "640x360@30"], &home)?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    let mut window = client.painted_window("org.ghostnv.moving", 320, 180, 4, moving)?;
    let key = |combo: &str| comp.input(json!({"action": "key", "combo": combo}));
    key("Super+R")?;
    client.animate(&mut window, Duration::from_millis(1500))?;
    key("Super+Shift+R")?;
    key("Super+R")?;
    let files = ghost_tests::wait_for(Duration::from_secs(10), "two files", || {
        let mut names: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
            .collect();
        names.sort();
        (names.len() == 2 && names.iter().all(|p| frame_count(p).is_ok())).then_some(names)
    })?;
    let recording = files
        .iter()
        .find(|p| p.to_string_lossy().contains("ghostcomp-"))
        .context("a recording")?;
    let replay = files
        .iter()
        .find(|p| p.to_string_lossy().contains("replay-"))
        .context("a replay")?;
    let (r, s) = (frame_count(recording)?, frame_count(replay)?);
    eprintln!("recording {r} frames, replay {s} frames");
    ensure!(r >= 30, "{r} frames recorded in 1.5 s at 30 fps");
    ensure!(s >= 20, "{s} frames in the replay");
    let _ = std::fs::remove_dir_all(&home);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
