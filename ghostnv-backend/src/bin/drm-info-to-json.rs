//! Converts a `drm_info` text dump (a file, or standard input) to `drm_info -j` JSON on
//! standard output, for the simulated devices in `ghostnv-backend/devices/`.

use std::io::Read;

fn main() -> std::process::ExitCode {
    let mut text = String::new();
    let read = match std::env::args().nth(1) {
        Some(path) => std::fs::read_to_string(&path).map(|t| text = t),
        None => std::io::stdin().read_to_string(&mut text).map(|_| ()),
    };
    if let Err(e) = read {
        eprintln!("drm-info-to-json: {e}");
        return std::process::ExitCode::FAILURE;
    }
    match ghostnv_backend::drm_info_text::to_json(&text) {
        Ok(json) => {
            println!("{json:#}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("drm-info-to-json: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
