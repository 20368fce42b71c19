//! Sound in recordings: with `--audio desktop,mic`, what the default output plays and
//! what the default input hears become two AAC tracks beside the video, in a private
//! PipeWire session whose output and microphone are PipeWire's null devices, fed with
//! tones by `pw-play`.

use std::{path::Path, process::Command, time::Duration};

use anyhow::{ensure, Context, Result};
use ghost_tests::{client::TestClient, share_session::ShareSession, Compositor};
use serde_json::json;

/// A WAV of a `hz` tone, stereo 48 kHz, made by ffmpeg.
fn tone(dir: &Path, hz: u32) -> Result<std::path::PathBuf> {
    let path = dir.join(format!("tone{hz}.wav"));
    let ok = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("sine=frequency={hz}:duration=8:sample_rate=48000"))
        .args(["-ac", "2", "-ar", "48000"])
        .arg(&path)
        .status()?;
    ensure!(ok.success(), "ffmpeg makes the tone");
    Ok(path)
}

/// Track `index` (0-based among the audio streams) of `path`, decoded to mono floats.
fn track(path: &Path, index: usize) -> Result<Vec<f32>> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args([
            "-map",
            &format!("0:a:{index}"),
            "-ac",
            "1",
            "-f",
            "f32le",
            "-",
        ])
        .output()?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(out
        .stdout
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// "codec,type,duration" of each stream of `path`, a line each, from ffprobe.
fn stream_list(path: &Path) -> Result<String> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,codec_type,duration",
        ])
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn stop(players: Vec<std::process::Child>) {
    for mut p in players {
        let _ = p.kill();
        let _ = p.wait();
    }
}

/// Power of `samples` at `hz` (Goertzel), per sample.
fn power_at(samples: &[f32], hz: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * hz / 48_000.0;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0f64, 0f64);
    for &x in samples {
        let s0 = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - coeff * s1 * s2) / samples.len().max(1) as f64
}

/// ghostcomp in a PipeWire session whose default output and microphone are null
/// devices, the output playing a 440 Hz tone and the microphone hearing 1 kHz; the
/// players stop when the returned children are killed.
fn sound_session() -> Result<(Compositor, ShareSession, Vec<std::process::Child>)> {
    if let Some(why) = ghost_tests::share_session::missing_parts() {
        anyhow::bail!("{why}: scripts/install-deps.sh installs it");
    }
    let comp = Compositor::start(&["--output", "640x360@30"])?;
    let session = ShareSession::start(&comp)?;
    let dir = comp.runtime_dir().to_path_buf();
    // A null output and a virtual microphone, made the defaults.
    for (name, class) in [
        ("ghost-test-out", "Audio/Sink"),
        ("ghost-test-mic", "Audio/Source/Virtual"),
    ] {
        let made = session
            .command("pw-cli")
            .args([
                "create-node",
                "adapter",
                &format!(
                    "{{ factory.name=support.null-audio-sink node.name={name} media.class={class} \
                     object.linger=true audio.position=[FL FR] }}"
                ),
            ])
            .output()?;
        ensure!(
            made.status.success(),
            "pw-cli: {}",
            String::from_utf8_lossy(&made.stderr)
        );
    }
    for (key, name) in [
        ("default.configured.audio.sink", "ghost-test-out"),
        ("default.configured.audio.source", "ghost-test-mic"),
    ] {
        session
            .command("pw-metadata")
            .args([
                "-n",
                "default",
                "0",
                key,
                &format!("{{ \"name\": \"{name}\" }}"),
            ])
            .output()?;
    }
    std::thread::sleep(Duration::from_millis(500));
    // The output's tone goes where WirePlumber links it (the default output); the
    // microphone's is linked by hand, as WirePlumber links no player into a source.
    let mut players = Vec::new();
    for (hz, node) in [(440, "tone-out"), (1000, "tone-mic")] {
        let wav = tone(&dir, hz)?;
        let mut play = session.command("pw-play");
        if node == "tone-mic" {
            play.args(["-P", "{ node.autoconnect = false, node.name = tone-mic }"]);
        }
        players.push(
            play.arg(&wav)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()?,
        );
    }
    ghost_tests::wait_for(
        Duration::from_secs(5),
        "the microphone's tone linked",
        || {
            let linked = ["FL", "FR"].iter().all(|ch| {
                session
                    .command("pw-link")
                    .args([
                        &format!("tone-mic:output_{ch}"),
                        &format!("ghost-test-mic:input_{ch}"),
                    ])
                    .output()
                    .is_ok_and(|o| {
                        o.status.success() || String::from_utf8_lossy(&o.stderr).contains("exists")
                    })
            });
            linked.then_some(())
        },
    )?;
    Ok((comp, session, players))
}

#[test]
fn desktop_sound_and_the_microphone_become_two_tracks() -> Result<()> {
    let (comp, _session, players) = sound_session()?;
    let dir = comp.runtime_dir().to_path_buf();
    let mut client = TestClient::connect(&comp.socket_path())?;
    let mut window = client.color_window(
        "org.ghostnv.sound",
        320,
        180,
        &[0xff_20_40_c0, 0xff_c0_40_20],
    )?;
    std::thread::sleep(Duration::from_millis(700));
    let path = dir.join("sound.mp4");
    let out = comp.msg_cli(&[
        "record",
        "start",
        "--audio",
        "desktop,mic",
        &path.to_string_lossy(),
    ])?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    client.animate(&mut window, Duration::from_millis(2500))?;
    let done = comp.request(json!({"request": "record-stop"}))?;
    eprintln!("recording: {done:#}");
    for mut p in players {
        let _ = p.kill();
        let _ = p.wait();
    }
    ensure!(
        done["audio"] == json!(["desktop", "mic"]),
        "both tracks record: {done:#}"
    );
    let streams = stream_list(&path)?;
    eprintln!("{streams}");
    let lines: Vec<&str> = streams.lines().collect();
    ensure!(lines.len() == 3, "video and two sound tracks: {streams}");
    ensure!(lines[0].starts_with("h264,video"), "{streams}");
    for line in &lines[1..] {
        ensure!(line.starts_with("aac,audio"), "{streams}");
        let seconds: f64 = line
            .rsplit(',')
            .next()
            .and_then(|d| d.parse().ok())
            .context("duration")?;
        ensure!(
            (seconds - 2.5).abs() < 0.4,
            "a track as long as the video: {streams}"
        );
    }
    let desktop = track(&path, 0)?;
    let mic = track(&path, 1)?;
    // Skip the first half second (the tone reaches the graph as the recording starts).
    let tail = |s: &[f32]| s.get(24_000..).unwrap_or_default().to_vec();
    let (desktop, mic) = (tail(&desktop), tail(&mic));
    let (d440, d1000) = (power_at(&desktop, 440.0), power_at(&desktop, 1000.0));
    let (m440, m1000) = (power_at(&mic, 440.0), power_at(&mic, 1000.0));
    eprintln!(
        "desktop: 440 Hz {d440:.1}, 1 kHz {d1000:.1}; mic: 440 Hz {m440:.1}, 1 kHz {m1000:.1}"
    );
    ensure!(
        d440 > 10.0 * d1000 && d440 > 1.0,
        "the desktop track carries the output's tone"
    );
    ensure!(
        m1000 > 10.0 * m440 && m1000 > 1.0,
        "the mic track carries the microphone's tone"
    );
    Ok(())
}

#[test]
fn a_stream_carries_the_desktop_sound() -> Result<()> {
    let (comp, _session, players) = sound_session()?;
    let listener =
        ghost_tests::media_server::SrtListener::start(&comp.runtime_dir().join("live.ts"))?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    let mut window = client.color_window(
        "org.ghostnv.sound",
        320,
        180,
        &[0xff_20_40_c0, 0xff_c0_40_20],
    )?;
    comp.request(json!({"request": "stream-start", "url": listener.url(), "audio": ["desktop"]}))?;
    client.animate(&mut window, Duration::from_millis(3000))?;
    let done = comp.request(json!({"request": "stream-stop"}))?;
    stop(players);
    eprintln!("stream: {done:#}");
    ensure!(done["audio"] == json!(["desktop"]), "{done:#}");
    std::thread::sleep(Duration::from_millis(500));
    let path = listener.out();
    let streams = stream_list(path)?;
    ensure!(
        streams.contains("h264,video") && streams.contains("aac,audio"),
        "{streams}"
    );
    let sound = track(path, 0)?;
    let tail = sound.get(24_000..).unwrap_or_default().to_vec();
    let (p440, p1000) = (power_at(&tail, 440.0), power_at(&tail, 1000.0));
    eprintln!(
        "stream sound: 440 Hz {p440:.1}, 1 kHz {p1000:.1}, {} samples",
        sound.len()
    );
    ensure!(
        p440 > 10.0 * p1000 && p440 > 1.0,
        "the stream carries the output's tone"
    );
    Ok(())
}
