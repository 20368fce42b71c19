//! Input-to-photon latency through a VNC server (`bench/remote.sh`): moves the remote
//! pointer onto an empty spot of the desktop and times, from sending the move, the
//! first framebuffer update in which the pointer (drawn into the frames: wayvnc -r)
//! shows there; then moves it away and waits for the spot to clear. Prints
//! `median_ms p90_ms runs`.
//!
//! Usage: ghost-vnc-latency PORT [RUNS]

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use ghost_tests::rfb::Viewer;

/// Whether any pixel of the 24x24 square at (x, y) differs from `background`.
fn drawn_at(viewer: &Viewer, x: u16, y: u16, background: [u8; 3]) -> bool {
    (y..y + 24).any(|py| (x..x + 24).any(|px| viewer.pixel(px, py) != background))
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args
        .next()
        .context("usage: ghost-vnc-latency PORT [RUNS]")?
        .parse()?;
    let runs: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(30);
    let mut viewer = Viewer::connect(port, Duration::from_secs(20))?;
    let (w, h) = (viewer.width, viewer.height);
    // Park the pointer in a corner and learn the desktop's colour at the target spot.
    let (spot_x, spot_y) = (w / 2, h / 4);
    viewer.pointer(4, 4, 0)?;
    std::thread::sleep(Duration::from_millis(300));
    viewer.refresh()?;
    let background = viewer.pixel(spot_x + 12, spot_y + 12);
    if drawn_at(&viewer, spot_x, spot_y, background) {
        bail!("the target spot is not empty desktop");
    }
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        viewer.pointer(spot_x + 2, spot_y + 2, 0)?;
        loop {
            viewer.refresh_incremental()?;
            if drawn_at(&viewer, spot_x, spot_y, background) {
                break;
            }
            if start.elapsed() > Duration::from_secs(5) {
                bail!("the pointer never showed at the target");
            }
        }
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        viewer.pointer(4, 4, 0)?;
        let cleared = Instant::now();
        while drawn_at(&viewer, spot_x, spot_y, background) {
            viewer.refresh_incremental()?;
            if cleared.elapsed() > Duration::from_secs(5) {
                bail!("the pointer never left the target");
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    println!("{}", ghost_tests::latency_line(times));
    Ok(())
}
