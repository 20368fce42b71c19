//! How long a compositor takes to answer a screencopy, as a recorder that reuses its
//! buffer sees it (OBS, wf-recorder): one wl_shm buffer made once, then frame after
//! frame of the first output through wlr-screencopy (`capture_output`, then `copy` as
//! soon as the compositor named the buffer it takes), on whatever compositor
//! `WAYLAND_DISPLAY` names, for `bench/capture.sh` to run against ghostcomp and sway.
//!
//!   ghost-copy-loop [FRAMES]
//!
//! Prints medians over FRAMES (50, after 5 not counted) of `request_to_ready_ms` (from
//! sending `capture_output` to receiving `ready`: everything the compositor does for a
//! frame) and `copy_to_ready_ms` (from `copy` to `ready`: the copy itself), and the
//! picture's size.

use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Instant,
};

use anyhow::{bail, Context, Result};
use ghost_tests::{
    client::TestClient,
    wlr_copy::{wait_frame, WlrFrameEvents},
};
use wayland_client::protocol::{wl_output::WlOutput, wl_shm};

const WARM_UP: usize = 5;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() -> Result<()> {
    let frames: usize = match std::env::args().nth(1) {
        Some(n) => n.parse().context("FRAMES is a number")?,
        None => 50,
    };
    let runtime = std::env::var_os("XDG_RUNTIME_DIR").context("XDG_RUNTIME_DIR is not set")?;
    let display = std::env::var_os("WAYLAND_DISPLAY").context("WAYLAND_DISPLAY is not set")?;
    let mut client = TestClient::connect(&PathBuf::from(runtime).join(display))?;
    let output: WlOutput = client.bind(1..=4, ())?;
    let manager = client.wlr_screencopy()?;
    client.roundtrip()?;

    let mut buffer = None;
    let (mut whole, mut copy) = (Vec::new(), Vec::new());
    for n in 0..WARM_UP + frames {
        let events: Arc<Mutex<WlrFrameEvents>> = Arc::default();
        let started = Instant::now();
        let frame = manager.capture_output(0, &output, &client.qh(), events.clone());
        let named = wait_frame(&mut client, &events, |e| e.buffer_done || e.failed)?;
        if named.failed {
            bail!("the compositor failed frame {n}");
        }
        let (format, width, height, stride) =
            named.buffer.context("the compositor named no shm buffer")?;
        if buffer.is_none() {
            let format = wl_shm::Format::try_from(format).unwrap_or(wl_shm::Format::Xrgb8888);
            buffer = Some((
                client.shm_buffer(width, height, stride, format)?,
                (width, height),
            ));
        }
        let Some(((wl_buffer, _memory), size)) = &buffer else {
            unreachable!("made above");
        };
        let copying = Instant::now();
        frame.copy(wl_buffer);
        let done = wait_frame(&mut client, &events, |e| e.ready || e.failed)?;
        if !done.ready {
            bail!("the copy of frame {n} failed");
        }
        if n >= WARM_UP {
            whole.push(started.elapsed().as_secs_f64() * 1e3);
            copy.push(copying.elapsed().as_secs_f64() * 1e3);
        }
        frame.destroy();
        if *size != (width, height) {
            bail!("the output changed size during the run");
        }
    }
    let (width, height) = buffer.map(|(_, size)| size).unwrap_or_default();
    println!("size: {width}x{height}");
    println!("request_to_ready_ms: {:.3}", median(whole));
    println!("copy_to_ready_ms: {:.3}", median(copy));
    Ok(())
}
