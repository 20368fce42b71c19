//! Sound with a screen share, in a private PipeWire session: two real applications
//! (ffplay, each a Wayland window playing a tone through PipeWire, 440 Hz and 1 kHz);
//! a portal share of one window names its audio node to the consumer and that node
//! carries the window's tone and not the other's; an output share carries what the
//! default output plays (both); the node goes when the share ends; `msg casts` lists
//! it.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use ghost_tests::{share_session::ShareSession, wait_for, Compositor};
use serde_json::{json, Value};

/// A real application with a window and sound: ffplay playing a `hz` tone.
fn tone_window(session: &ShareSession, comp: &Compositor, hz: u32) -> Result<Child> {
    session
        .command("ffplay")
        .args(["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i"])
        .arg(format!("sine=frequency={hz}:sample_rate=48000"))
        .args(["-window_title", &format!("tone{hz}")])
        .env("WAYLAND_DISPLAY", comp.socket())
        .env("SDL_VIDEODRIVER", "wayland")
        .env("SDL_AUDIODRIVER", "pipewire")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("ffplay (Debian's ffmpeg) runs")
}

/// The audio part of cast `id` in `msg casts`, once it carries something.
fn cast_audio(comp: &Compositor, id: u64) -> Result<Value> {
    wait_for(Duration::from_secs(10), "the share's audio linked", || {
        let casts = comp.request(json!({"request": "casts"})).ok()?;
        let audio = casts.as_array()?.iter().find(|c| c["id"] == id)?["audio"].clone();
        (!audio["sources"].as_array()?.is_empty() && audio["node_id"].is_u64()).then_some(audio)
    })
}

/// Records `seconds` of node `target` (a name or an id); (left channel, level of
/// `hz` in dB relative to full scale) for each tone asked about.
fn record(session: &ShareSession, dir: &Path, target: &str, tones: &[u32]) -> Result<Vec<f64>> {
    let path = dir.join(format!("share-{target}.wav"));
    let mut rec = session
        .command("pw-record")
        .args(["--target", target, "--rate", "48000", "--channels", "2"])
        .args(["--format", "f32"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    std::thread::sleep(Duration::from_millis(2500));
    let _ = Command::new("kill")
        .arg("-INT")
        .arg(rec.id().to_string())
        .status();
    let _ = rec.wait();
    let mut reader = hound::WavReader::open(&path)?;
    let samples: Vec<f32> = reader.samples::<f32>().collect::<Result<_, _>>()?;
    let left: Vec<f32> = samples.chunks_exact(2).map(|p| p[0]).collect();
    // The last second: the links are made well before.
    ensure!(left.len() >= 48_000, "{} samples recorded", left.len());
    let last = &left[left.len() - 48_000..];
    Ok(tones.iter().map(|&hz| level_db(last, hz)).collect())
}

/// Cast `id`'s audio (once linked) and the levels of both tones in a recording of it.
fn record_cast(
    comp: &Compositor,
    session: &ShareSession,
    dir: &Path,
    id: u64,
) -> Result<(Value, Vec<f64>)> {
    let audio = cast_audio(comp, id)?;
    let name = audio["node_name"].as_str().context("a node name")?;
    let levels = record(session, dir, name, &[440, 1000])?;
    Ok((audio, levels))
}

/// The level of the `hz` component of one second at 48 kHz, dB relative to a
/// full-scale sine.
fn level_db(second: &[f32], hz: u32) -> f64 {
    let (mut re, mut im) = (0f64, 0f64);
    for (n, v) in second.iter().enumerate() {
        let phase = std::f64::consts::TAU * f64::from(hz) * n as f64 / 48_000.0;
        re += f64::from(*v) * phase.cos();
        im += f64::from(*v) * phase.sin();
    }
    let amplitude = 2.0 * (re * re + im * im).sqrt() / second.len() as f64;
    20.0 * amplitude.max(1e-9).log10()
}

#[test]
fn a_window_share_carries_its_applications_sound_and_an_output_share_the_desktops() -> Result<()> {
    if let Some(why) = ghost_tests::share_session::missing_parts() {
        bail!("{why}: scripts/install-deps.sh installs it");
    }
    ghost_tests::require_program("ffplay")?;
    let home = std::env::temp_dir().join(format!("ghost-share-audio-{}", std::process::id()));
    std::fs::create_dir_all(home.join("ghostcomp"))?;
    std::fs::write(
        home.join("ghostcomp/config.toml"),
        "[capture]\nunattended = \"grant\"\n",
    )?;
    let comp = Compositor::start_with_config_home(&["--output", "1280x720@30"], &home)?;
    let session = ShareSession::start(&comp)?;
    let dir = comp.runtime_dir().to_path_buf();
    session.tool_output(
        "pw-cli",
        &[
            "create-node",
            "adapter",
            "{ factory.name=support.null-audio-sink node.name=ghost-test-out \
             media.class=Audio/Sink object.linger=true audio.position=[FL FR] }",
        ],
    )?;

    // Two windows; the 440 Hz one gets the focus, which a window share takes.
    let mut other = tone_window(&session, &comp, 1000)?;
    let mut shared = tone_window(&session, &comp, 440)?;
    let window = wait_for(Duration::from_secs(10), "the 440 Hz window", || {
        let windows = comp.windows().ok()?;
        // Titled and drawn.
        let titled = |t: &str| {
            windows
                .iter()
                .find(|w| w["title"] == t && w["geometry"]["width"].as_u64() > Some(0))
                .cloned()
        };
        titled("tone1000")?;
        titled("tone440")
    })?;
    comp.request(json!({"request": "focus", "id": window["id"]}))?;
    // ffplay's first pictures.
    std::thread::sleep(Duration::from_millis(500));
    let result = (|| -> Result<()> {
        // A portal share of the window: the consumer is told the audio node, which
        // carries the shared window's tone and not the other window's.
        let (report, audio, levels) = std::thread::scope(|scope| -> Result<_> {
            let consumer = scope.spawn(|| session.consume(&["--types", "2", "--seconds", "5"]));
            let id = wait_for(Duration::from_secs(10), "the portal's share", || {
                let casts = comp.request(json!({"request": "casts"})).ok()?;
                casts.as_array()?.first()?["id"].as_u64()
            })?;
            let (audio, levels) = record_cast(&comp, &session, &dir, id)?;
            let report = consumer
                .join()
                .map_err(|_| anyhow::anyhow!("the consumer panicked"))??;
            Ok((report, audio, levels))
        })?;
        eprintln!(
            "window share: {audio}; 440 Hz {:.1} dB, 1 kHz {:.1} dB",
            levels[0], levels[1]
        );
        ensure!(report["source_type"] == 2, "{report}");
        ensure!(
            report["audio_node_id"] == audio["node_id"],
            "the portal named {} for audio node {}",
            report["audio_node_id"],
            audio["node_id"]
        );
        ensure!(
            levels[0] > -30.0,
            "the shared window's tone: {:.1} dB",
            levels[0]
        );
        ensure!(
            levels[1] < levels[0] - 40.0,
            "the other window's tone leaks in: {levels:?}"
        );
        // The share ended with the consumer: its node went with it.
        wait_for(
            Duration::from_secs(5),
            "the share's audio node gone",
            || {
                (!session
                    .tool_output("pw-cli", &["ls", "Node"])
                    .ok()?
                    .contains("ghostnv_share_"))
                .then_some(())
            },
        )?;

        // An output share: what the default output plays, both tones.
        let cast = comp.request(json!({"request": "cast-start"}))?;
        let id = cast["id"].as_u64().context("a cast id")?;
        let (audio, levels) = record_cast(&comp, &session, &dir, id)?;
        eprintln!(
            "output share: {audio}; 440 Hz {:.1} dB, 1 kHz {:.1} dB",
            levels[0], levels[1]
        );
        ensure!(
            audio["sources"] == json!(["ghost-test-out"]),
            "the output share hears the default output: {audio}"
        );
        ensure!(
            levels.iter().all(|l| *l > -30.0),
            "both tones in the output share: {levels:?}"
        );
        comp.request(json!({"request": "cast-stop", "id": id}))?;
        Ok(())
    })();
    for child in [&mut shared, &mut other] {
        let _ = child.kill();
        let _ = child.wait();
    }
    result.map_err(|e| anyhow::anyhow!("{e:#}\n{}", session.logs()))
}
