//! Input-to-photon latency of a remote-input path (`bench/remote.sh`): moves the
//! pointer onto an empty spot of the desktop through the path and times, from the
//! injection, the first wlr-screencopy frame (pointer drawn in) that shows it there;
//! then parks it in a corner and waits for the spot to clear, and waits a little more
//! (a different part of a frame each run). Prints `median_ms p90_ms runs`.
//!
//!   ghost-input-latency RUNS WIDTHxHEIGHT virtual-pointer
//!   ghost-input-latency RUNS WIDTHxHEIGHT -- INJECTOR [ARGS…]
//!
//! `virtual-pointer` injects here, through zwlr_virtual_pointer_v1 (what VNC servers
//! use). Otherwise INJECTOR runs as a child that prints `ready` once it can inject and
//! then moves the pointer to each `X Y` line it reads (desktop coordinates; the portal
//! and libei clients in `tests/portal` do so with `--serve`).

use std::{
    io::{BufRead, BufReader, Write},
    path::PathBuf,
    process::{Child, ChildStdin, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use ghost_tests::{
    client::TestClient,
    wlr_copy::{wait_frame, WlrFrameEvents},
};
use wayland_client::protocol::{wl_output::WlOutput, wl_shm};
use wayland_protocols_wlr::{
    screencopy::v1::client::zwlr_screencopy_manager_v1::ZwlrScreencopyManagerV1,
    virtual_pointer::v1::client::{
        zwlr_virtual_pointer_manager_v1::ZwlrVirtualPointerManagerV1,
        zwlr_virtual_pointer_v1::ZwlrVirtualPointerV1,
    },
};

/// The square looked at, around the spot the pointer goes to.
const SPOT: u32 = 24;

/// How the pointer is moved.
enum Injector {
    VirtualPointer(ZwlrVirtualPointerV1, (u32, u32)),
    Child(Child, ChildStdin),
}

impl Injector {
    fn move_to(&mut self, client: &mut TestClient, x: u32, y: u32) -> Result<()> {
        match self {
            Injector::VirtualPointer(pointer, (w, h)) => {
                pointer.motion_absolute(0, x, y, *w, *h);
                pointer.frame();
                client.conn.flush()?;
            }
            Injector::Child(_, stdin) => {
                writeln!(stdin, "{x} {y}")?;
                stdin.flush()?;
            }
        }
        Ok(())
    }
}

impl Drop for Injector {
    fn drop(&mut self) {
        if let Injector::Child(child, _) = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The screen's square at (x, y), pointer drawn in.
struct Looker {
    manager: ZwlrScreencopyManagerV1,
    output: WlOutput,
    buffer: Option<(wayland_client::protocol::wl_buffer::WlBuffer, std::fs::File)>,
}

impl Looker {
    fn look(&mut self, client: &mut TestClient, x: u32, y: u32) -> Result<Vec<u8>> {
        let events: Arc<Mutex<WlrFrameEvents>> = Arc::default();
        let frame = self.manager.capture_output_region(
            1,
            &self.output,
            x as i32,
            y as i32,
            SPOT as i32,
            SPOT as i32,
            &client.qh(),
            events.clone(),
        );
        let named = wait_frame(client, &events, |e| e.buffer_done || e.failed)?;
        let (format, w, h, stride) = named.buffer.context("no shm buffer named")?;
        if self.buffer.is_none() {
            let format = wl_shm::Format::try_from(format).unwrap_or(wl_shm::Format::Xrgb8888);
            self.buffer = Some(client.shm_buffer(w, h, stride, format)?);
        }
        let Some((buffer, file)) = &self.buffer else {
            bail!("no buffer");
        };
        frame.copy(buffer);
        let done = wait_frame(client, &events, |e| e.ready || e.failed)?;
        frame.destroy();
        if !done.ready {
            bail!("a copy failed");
        }
        let mut raw = vec![0u8; (stride * h) as usize];
        rustix::io::pread(file, &mut raw, 0)?;
        Ok(raw)
    }
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let usage =
        "usage: ghost-input-latency RUNS WIDTHxHEIGHT (virtual-pointer | -- INJECTOR [ARGS…])";
    let runs: usize = args.next().context(usage)?.parse().context(usage)?;
    let size = args.next().context(usage)?;
    let (width, height) = size.split_once('x').context(usage)?;
    let (width, height): (u32, u32) = (width.parse()?, height.parse()?);
    let how = args.next().context(usage)?;
    let runtime = std::env::var_os("XDG_RUNTIME_DIR").context("XDG_RUNTIME_DIR is not set")?;
    let display = std::env::var_os("WAYLAND_DISPLAY").context("WAYLAND_DISPLAY is not set")?;
    let mut client = TestClient::connect(&PathBuf::from(runtime).join(display))?;
    let output: WlOutput = client.bind(1..=4, ())?;
    let manager: ZwlrScreencopyManagerV1 = client.wlr_screencopy()?;
    client.roundtrip()?;
    let mut injector = match how.as_str() {
        "virtual-pointer" => {
            let pointers: ZwlrVirtualPointerManagerV1 = client.bind(1..=2, ())?;
            let pointer = pointers.create_virtual_pointer(None, &client.qh(), ());
            Injector::VirtualPointer(pointer, (width, height))
        }
        "--" => {
            let program: Vec<String> = args.collect();
            let (first, rest) = program.split_first().context(usage)?;
            let mut child = Command::new(first)
                .args(rest)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .with_context(|| format!("cannot start {first}"))?;
            let stdin = child.stdin.take().context("the injector's stdin")?;
            let stdout = child.stdout.take().context("the injector's stdout")?;
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line)?;
            if line.trim() != "ready" {
                bail!("the injector said {line:?} instead of ready");
            }
            Injector::Child(child, stdin)
        }
        _ => bail!("{usage}"),
    };
    let mut looker = Looker {
        manager,
        output,
        buffer: None,
    };
    let (spot_x, spot_y) = (width / 2, height / 4);
    injector.move_to(&mut client, 4, 4)?;
    std::thread::sleep(Duration::from_millis(500));
    let empty = looker.look(&mut client, spot_x, spot_y)?;
    if empty.chunks_exact(4).any(|p| p != &empty[..4]) {
        bail!("the target spot is not empty desktop");
    }
    let mut times = Vec::with_capacity(runs);
    for run in 0..runs {
        let start = Instant::now();
        injector.move_to(&mut client, spot_x + 2, spot_y + 2)?;
        while looker.look(&mut client, spot_x, spot_y)? == empty {
            if start.elapsed() > Duration::from_secs(5) {
                bail!("the pointer never showed at the target");
            }
        }
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        injector.move_to(&mut client, 4, 4)?;
        let parked = Instant::now();
        while looker.look(&mut client, spot_x, spot_y)? != empty {
            if parked.elapsed() > Duration::from_secs(5) {
                bail!("the pointer never left the target");
            }
        }
        // 50 ms and a part of a 60 Hz frame that differs from run to run, so the moves
        // meet every point of the display's cycle rather than one.
        let spread = (run as u64 * 6_151) % 16_667;
        std::thread::sleep(Duration::from_micros(50_000 + spread));
    }
    println!("{}", ghost_tests::latency_line(times));
    Ok(())
}
