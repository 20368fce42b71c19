//! The light chain's real-time factor on one core: CPU seconds per second of audio over
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
    for (name, options) in [
        ("light", Options::default()),
        (
            "light + high-pass + gain control",
            Options {
                high_pass: true,
                gain_control: true,
            },
        ),
    ] {
        let rounds = 5;
        let started = Instant::now();
        for _ in 0..rounds {
            for clip in &clips {
                let out = Chain::new(Mode::Light, options).process_all(clip);
                std::hint::black_box(out);
            }
        }
        let rtf = started.elapsed().as_secs_f64() / (seconds * f64::from(rounds));
        println!(
            "{name}: real-time factor {rtf:.4} ({:.0}x faster than real time), latency 10 ms",
            1.0 / rtf
        );
    }
}
