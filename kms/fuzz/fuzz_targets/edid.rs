//! EDID bytes from a monitor → DisplayInfo, its summary, JSON form and identity.
#![no_main]

use ghost_kms::{display_info::DECODER_FAULT, DisplayInfo, OutputIdentity};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let info = DisplayInfo::parse(data);
    // The parser catches panics of the decoder binding to protect the compositor; the
    // fuzzer must still see them.
    assert!(!info.problems.iter().any(|p| p == DECODER_FAULT), "decoder panicked");
    let _ = info.summary();
    let _ = serde_json::to_string(&info);
    let _ = info.preferred_mode();
    let _ = OutputIdentity::new("DP-1", Some(&info)).key();
});
