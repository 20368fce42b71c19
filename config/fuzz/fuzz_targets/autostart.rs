//! Any bytes given as an XDG autostart entry: deciding what it runs never panics, and a
//! command it returns is never empty.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(argv) = ghost_config::autostart::command(data, "ghost", |p| p.len() % 2 == 0) {
        assert!(!argv.is_empty());
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = ghost_config::autostart::split_exec(text);
    }
});
