//! `ghostcomp voice process`: the clean-microphone chain offline, as a user cleans a
//! recording: noisy speech in, speech out with the noise taken away.

use std::{path::Path, process::Command};

use anyhow::{ensure, Result};
use ghost_voice::{metrics, wav};

#[test]
fn voice_process_cleans_a_noisy_recording_and_refuses_what_it_cannot_read() -> Result<()> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../voice/tests/data");
    let dir = std::env::temp_dir().join(format!("ghost-voice-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let out = dir.join("clean.wav");
    let run = Command::new(ghost_tests::ghostcomp_bin())
        .args(["voice", "process", "--mode", "light"])
        .arg(data.join("noisy/dev_006_pink_snr05.wav"))
        .arg(&out)
        .output()?;
    ensure!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let noisy = wav::read(&data.join("noisy/dev_006_pink_snr05.wav"))?;
    let clean = wav::read(&data.join("clean/dev_006_pink_snr05.wav"))?;
    let cleaned = wav::read(&out)?;
    ensure!(
        cleaned.len() == noisy.len(),
        "the same length, delay removed"
    );
    let (before, after) = (
        metrics::si_sdr(&noisy, &clean),
        metrics::si_sdr(&cleaned, &clean),
    );
    let lead_in = metrics::lead_in_attenuation(&noisy, &cleaned);
    eprintln!("SI-SDR {before:.2} → {after:.2} dB, lead-in attenuated {lead_in:.1} dB");
    ensure!(after > before + 4.0, "SI-SDR {before:.2} → {after:.2}");
    ensure!(
        lead_in > 25.0,
        "the noise before the speech is gone: {lead_in:.1} dB"
    );
    // A stereo 44.1 kHz file is refused with what the chain takes.
    let bad = dir.join("bad.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    hound::WavWriter::create(&bad, spec)?.finalize()?;
    let refused = Command::new(ghost_tests::ghostcomp_bin())
        .args(["voice", "process"])
        .arg(&bad)
        .arg(dir.join("never.wav"))
        .output()?;
    let said = String::from_utf8_lossy(&refused.stderr);
    ensure!(
        !refused.status.success() && said.contains("48000 Hz mono"),
        "{said}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[test]
fn voice_process_quality_mode_and_an_echo_reference() -> Result<()> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../voice/tests/data");
    let dir = std::env::temp_dir().join(format!("ghost-voice-q-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let run = |args: &[&str], input: &Path, out: &Path| -> Result<Vec<f32>> {
        let run = Command::new(ghost_tests::ghostcomp_bin())
            .args(["voice", "process"])
            .args(args)
            .arg(input)
            .arg(out)
            .output()?;
        ensure!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        Ok(wav::read(out)?)
    };
    // Quality mode: clearly cleaner than light on the same clip.
    let noisy_path = data.join("noisy/dev_005_white_snr05.wav");
    let clean = wav::read(&data.join("clean/dev_005_white_snr05.wav"))?;
    let light = run(&["--mode", "light"], &noisy_path, &dir.join("light.wav"))?;
    let quality = run(
        &["--mode", "quality"],
        &noisy_path,
        &dir.join("quality.wav"),
    )?;
    let (l, q) = (
        metrics::si_sdr(&light, &clean),
        metrics::si_sdr(&quality, &clean),
    );
    eprintln!("SI-SDR light {l:.2} dB, quality {q:.2} dB");
    ensure!(
        quality.len() == clean.len() && q > l + 2.0,
        "light {l:.2}, quality {q:.2}"
    );

    // An echo reference: speech from the speakers comes back 30 ms later at half its
    // level, with nobody talking; given the reference, it is gone.
    let far = wav::read(&data.join("clean/dev_004_fan_hum_snr05.wav"))?;
    let delay = 1440;
    let mic: Vec<f32> = (0..far.len())
        .map(|n| {
            if n >= delay {
                0.5 * far[n - delay]
            } else {
                0.0
            }
        })
        .collect();
    wav::write(&dir.join("far.wav"), &far)?;
    wav::write(&dir.join("mic.wav"), &mic)?;
    let far_ref = dir.join("far.wav");
    let out = run(
        &["--echo-reference", far_ref.to_str().unwrap_or_default()],
        &dir.join("mic.wav"),
        &dir.join("out.wav"),
    )?;
    let energy = |s: &[f32]| {
        s[48_000 * 3..]
            .iter()
            .map(|v| f64::from(*v).powi(2))
            .sum::<f64>()
    };
    let erle = 10.0 * (energy(&mic) / energy(&out).max(1e-12)).log10();
    eprintln!("echo removed: {erle:.1} dB after 3 s");
    ensure!(erle > 25.0, "echo return loss enhancement {erle:.1} dB");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
