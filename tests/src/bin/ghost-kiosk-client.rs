//! A program for kiosk mode, as `ghostcomp --kiosk` runs one: it maps one window of a
//! single colour at the size the compositor asks for, and exits (status 0) when Return
//! is pressed in it, or with status 3 when the compositor closes it.
//!
//!   ghost-kiosk-client [ARGB-HEX]   (default ff20c060)

use std::path::PathBuf;

use anyhow::{Context, Result};
use ghost_tests::client::TestClient;

/// Return's evdev code.
const KEY_ENTER: u32 = 28;

fn main() -> Result<()> {
    let color = match std::env::args().nth(1) {
        Some(hex) => u32::from_str_radix(hex.trim_start_matches("0x"), 16)
            .context("the colour is ARGB in hexadecimal")?,
        None => 0xff20_c060,
    };
    let runtime = std::env::var_os("XDG_RUNTIME_DIR").context("XDG_RUNTIME_DIR is not set")?;
    let display = std::env::var_os("WAYLAND_DISPLAY").context("WAYLAND_DISPLAY is not set")?;
    let mut client = TestClient::connect(&PathBuf::from(runtime).join(display))?;
    client.watch_seat()?;
    let _window = client.sized_window("ghost-kiosk-client", (640, 480), color)?;
    loop {
        // A program that waits as long as it takes (a kiosk may sit unused for hours).
        std::thread::sleep(std::time::Duration::from_millis(20));
        client.roundtrip()?;
        if client.state.seat.pressed.contains(&KEY_ENTER) {
            return Ok(());
        }
        if client.state_closed() {
            std::process::exit(3);
        }
    }
}
