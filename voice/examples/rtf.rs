//! Each chain's real-time factor on one core: CPU seconds per second of audio over
//! the noisy clips of `tests/data`, for each set of options.
//!
//! `cargo run --release -p ghost-voice --example rtf`

use std::time::Instant;

use ghost_voice::{wav, Chain, Mode, Options};

fn main() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/noisy");
    let mut clips: Vec<Vec<f32>> = std::fs::read_dir(&data)
        .expect("the clips")
        .filter_map(Result::ok)
        .filter_map(|e| wav::read(&e.path()).ok())
        .collect();
    clips.sort_by_key(Vec::len);
    let seconds: f64 = clips.iter().map(|c| c.len() as f64 / 48_000.0).sum();
    let echo = Options {
        echo_cancel: true,
        ..Options::default()
    };
    let everything = Options {
        high_pass: true,
        gain_control: true,
        echo_cancel: true,
    };
    for (name, mode, options) in [
        ("light", Mode::Light, Options::default()),
        ("light + echo cancellation", Mode::Light, echo),
        (
            "light + high-pass + AEC + gain control",
            Mode::Light,
            everything,
        ),
        ("quality", Mode::Quality, Options::default()),
        ("quality + echo cancellation", Mode::Quality, echo),
    ] {
        let rounds = 3;
        let mut latency = 0;
        let started = Instant::now();
        for _ in 0..rounds {
            for clip in &clips {
                let mut chain = Chain::new(mode, options).expect("chain");
                latency = chain.latency();
                // The far end plays the clip itself, so the canceller has work to do.
                let out = chain.process_all_with_reference(clip, clip);
                std::hint::black_box(out);
            }
        }
        let rtf = started.elapsed().as_secs_f64() / (seconds * f64::from(rounds));
        println!(
            "{name}: real-time factor {rtf:.4} ({:.0}x faster than real time), latency {:.1} ms",
            1.0 / rtf,
            latency as f64 / 48.0
        );
    }
}
