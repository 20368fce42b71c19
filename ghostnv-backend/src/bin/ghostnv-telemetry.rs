//! Reads the GPU telemetry of this machine once (JSON on standard output), records
//! NVML's raw answers for the tests' fixtures (`--record`), or measures what a sample
//! costs (`--cost N`: N samples, then the median and the worst in microseconds).

use std::path::Path;
use std::time::Instant;

use ghostnv_backend::telemetry::{nvml, Telemetry};

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let drm = Path::new("/sys/class/drm");
    match args.first().map(String::as_str) {
        Some("--record") => match nvml::record_real() {
            Ok(recording) => println!("{recording:#}"),
            Err(why) => {
                eprintln!("ghostnv-telemetry: {why}");
                return std::process::ExitCode::FAILURE;
            }
        },
        Some("--cost") => {
            let count: usize = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(100);
            let mut telemetry = Telemetry::detect(drm);
            // The first round loads and opens everything; it is reported apart.
            let first = Instant::now();
            telemetry.sample(Instant::now());
            let first_us = first.elapsed().as_micros();
            let mut costs: Vec<u64> = (0..count.max(1))
                .map(|_| telemetry.sample(Instant::now()).cost_us)
                .collect();
            costs.sort_unstable();
            println!(
                "{{\"samples\": {}, \"first_us\": {first_us}, \"median_us\": {}, \"worst_us\": {}}}",
                costs.len(),
                costs[costs.len() / 2],
                costs[costs.len() - 1]
            );
        }
        _ => {
            let snapshot = Telemetry::detect(drm).sample(Instant::now());
            match serde_json::to_string_pretty(&snapshot) {
                Ok(text) => println!("{text}"),
                Err(e) => {
                    eprintln!("ghostnv-telemetry: {e}");
                    return std::process::ExitCode::FAILURE;
                }
            }
        }
    }
    std::process::ExitCode::SUCCESS
}
