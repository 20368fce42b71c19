//! Any text given as a configuration file: the parser never panics, every error it
//! reports formats, and whatever it accepts serialises and parses back to the same thing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match ghost_config::Config::parse(text, Path::new("fuzz.toml")) {
        Ok(config) => {
            let again = toml::to_string(&config).expect("a parsed config serialises");
            let back = ghost_config::Config::parse(&again, Path::new("again.toml"))
                .expect("a serialised config parses");
            assert_eq!(back, config);
        }
        Err(err) => {
            let _ = err.to_string();
        }
    }
});
