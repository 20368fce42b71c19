//! The IPC socket under fire: random well-formed requests of every kind with extreme
//! values, and lines that are no request at all (invalid UTF-8, wrong types, deep
//! nesting, too long). ghostcomp must answer each with a reply (an error where it does
//! not make sense) and keep serving, IPC and Wayland alike.
//!
//! A fixed seed runs every time; a second seed is drawn at random and printed, so a
//! failure can be replayed with `GHOST_FUZZ_SEED=<seed>`.

use std::{
    io::{BufRead, BufReader, Write},
    os::unix::net::UnixStream,
    path::Path,
    time::Duration,
};

use anyhow::{bail, Context, Result};
use ghost_compositor::ipc::{InputRequest, Request};
use ghost_tests::{fuzz::Rng, Compositor};

/// Values that find edges, by type.
trait Values {
    fn i32(&mut self) -> i32;
    fn u64(&mut self) -> u64;
    fn f64(&mut self) -> f64;
    fn text(&mut self) -> String;
    fn maybe<T>(&mut self, value: impl FnOnce(&mut Self) -> T) -> Option<T>;
    fn region(&mut self) -> [i32; 4];
}

impl Values for Rng {
    fn i32(&mut self) -> i32 {
        let any = self.next_u64() as i32;
        self.pick(&[0, 1, -1, 7, 100, 1920, 8192, 8193, i32::MAX, i32::MIN, any])
    }
    fn u64(&mut self) -> u64 {
        let any = self.next_u64();
        self.pick(&[0, 1, 2, 3, 999_999, u64::MAX, any])
    }
    fn f64(&mut self) -> f64 {
        let any = self.next_u64() as f64;
        self.pick(&[0.0, -0.0, 0.5, -1.0, 1e308, -1e308, 1e-300, 960.0, any])
    }
    fn text(&mut self) -> String {
        let long = "x".repeat(self.below(20_000));
        self.pick(&[
            String::new(),
            "HEADLESS-1".into(),
            "HEADLESS-99".into(),
            "Super+Return".into(),
            "Ctrl+Alt+Shift+Super+Hyper+Meta+a".into(),
            "left".into(),
            "output:HEADLESS-1".into(),
            "region:HEADLESS-1:1,2,3,4".into(),
            "region:HEADLESS-1:-2147483648,0,2147483647,2147483647".into(),
            "ünïcødé ✓ \u{202e}".into(),
            "\n\t\u{0}".into(),
            long,
        ])
    }
    fn maybe<T>(&mut self, value: impl FnOnce(&mut Self) -> T) -> Option<T> {
        (self.below(2) == 0).then(|| value(self))
    }
    fn region(&mut self) -> [i32; 4] {
        [self.i32(), self.i32(), self.i32(), self.i32()]
    }
}

/// A request of a random kind with random values. Never `quit`, and screenshots only
/// into `dir`.
fn request(rng: &mut Rng, dir: &Path) -> Request {
    match rng.below(28) {
        0 => Request::Version,
        1 => Request::Outputs,
        2 => Request::Windows,
        3 => Request::Focus { id: rng.u64() },
        4 => Request::Close { id: rng.u64() },
        5 => Request::Screenshot {
            output: rng.maybe(Rng::text),
            region: rng.maybe(Rng::region),
            path: dir.join(format!("shot-{}.png", rng.below(4))),
            hdr: rng.below(2) == 0,
            writeback: rng.below(2) == 0,
        },
        6 => Request::Power {
            output: rng.maybe(Rng::text),
            on: rng.below(2) == 0,
        },
        7 => Request::CastStart {
            output: rng.maybe(Rng::text),
            window: rng.maybe(Rng::u64),
            region: rng.maybe(Rng::region),
            cursor: None,
            requester: rng.maybe(Rng::text),
            portal: false,
        },
        8 => Request::CastStop { id: rng.u64() },
        9 => Request::Casts,
        10 => Request::CastPick {
            output: rng.maybe(Rng::text),
            window: rng.maybe(Rng::u64),
            region: rng.maybe(Rng::region),
            cancel: rng.below(2) == 0,
        },
        11 => Request::CreateOutput {
            width: rng.i32(),
            height: rng.i32(),
            refresh_mhz: rng.maybe(Rng::i32),
            scale: rng.maybe(Rng::f64),
        },
        12 => Request::RemoveOutput { name: rng.text() },
        13 => Request::Reload,
        14 => Request::Input(InputRequest::Key { combo: rng.text() }),
        15 => Request::Input(InputRequest::Type { text: rng.text() }),
        16 => Request::Input(InputRequest::PointerMove {
            x: rng.f64(),
            y: rng.f64(),
        }),
        17 => Request::Input(InputRequest::Click { button: rng.text() }),
        18 => Request::Input(InputRequest::Press { button: rng.text() }),
        19 => Request::RecordStart {
            output: rng.maybe(Rng::text),
            window: rng.maybe(Rng::u64),
            region: rng.maybe(Rng::region),
            path: dir.join(format!(
                "rec-{}.{}",
                rng.below(4),
                ["mp4", "mkv", "avi", "ts"][rng.below(4)]
            )),
            audio: (0..rng.below(3)).map(|_| rng.text()).collect(),
        },
        20 => Request::RecordStop,
        21 => Request::RecordStatus,
        22 => Request::ReplaySave {
            path: dir.join(format!("replay-{}.mp4", rng.below(4))),
        },
        23 => Request::ReplayStatus,
        24 => Request::StreamStart {
            // Nothing listens there: the sender keeps trying with backoff.
            url: rng.maybe(|r| {
                if r.below(2) == 0 {
                    "srt://127.0.0.1:9".into()
                } else {
                    r.text()
                }
            }),
            output: rng.maybe(Rng::text),
            window: rng.maybe(Rng::u64),
            region: rng.maybe(Rng::region),
            audio: Vec::new(),
        },
        25 => Request::StreamStop,
        26 => Request::StreamStatus,
        _ => Request::Input(InputRequest::Release { button: rng.text() }),
    }
}

/// A line that is not a valid request.
fn garbage(rng: &mut Rng) -> Vec<u8> {
    match rng.below(7) {
        0 => (0..rng.below(300))
            .map(|_| rng.next_u64() as u8)
            .filter(|b| *b != b'\n')
            .collect(),
        1 => br#"{"request": 7}"#.to_vec(),
        2 => br#"{"request": "focus", "id": "seven"}"#.to_vec(),
        3 => br#"{"request": "create-output", "width": 1e400, "height": -0.5}"#.to_vec(),
        4 => [b"[".repeat(100_000), b"]".repeat(100_000)].concat(),
        5 => br#"{"request": "no-such-thing", "extra": {"a": [1, 2, {"b": null}]}}"#.to_vec(),
        _ => vec![b'{'; 70_000],
    }
}

/// Sends one line, reads one reply line; a closed connection counts as a reply only
/// for lines over the size limit.
fn exchange(socket: &Path, line: &[u8]) -> Result<String> {
    let mut stream = UnixStream::connect(socket).context("IPC connect")?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    // A line over the limit is refused before it is all written: the write may fail,
    // the reply still comes.
    let _ = stream.write_all(line).and_then(|_| stream.write_all(b"\n"));
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply)?;
    Ok(reply)
}

fn run(comp: &mut Compositor, seed: u64, rounds: usize) -> Result<()> {
    let mut rng = Rng(seed);
    let dir = comp.runtime_dir().join("fuzz-shots");
    std::fs::create_dir_all(&dir)?;
    let socket = comp
        .runtime_dir()
        .join(format!("ghostcomp.{}.sock", comp.socket()));
    for round in 0..rounds {
        let line = if rng.below(4) == 0 {
            garbage(&mut rng)
        } else {
            serde_json::to_vec(&request(&mut rng, &dir))?
        };
        let shown = String::from_utf8_lossy(&line[..line.len().min(200)]).into_owned();
        let reply = exchange(&socket, &line);
        if !comp.is_running() {
            bail!(
                "seed {seed}, round {round}: ghostcomp died on {shown}\n{}",
                comp.log()
            );
        }
        let reply = reply.with_context(|| format!("seed {seed}, round {round}: {shown}"))?;
        let parsed: serde_json::Value = serde_json::from_str(&reply)
            .with_context(|| format!("seed {seed}, round {round}: reply {reply:?} to {shown}"))?;
        if parsed.get("ok").and_then(|v| v.as_bool()).is_none() {
            bail!("seed {seed}, round {round}: a reply without ok: {reply}");
        }
    }
    // A panic that was contained is still a bug of ours.
    if comp.log().contains("panicked") {
        bail!(
            "seed {seed}: a request made ghostcomp panic:\n{}",
            comp.log()
        );
    }
    // Still serving, on both sockets.
    comp.request(serde_json::json!({"request": "version"}))?;
    let mut probe = ghost_tests::wire::WireClient::connect(&comp.socket_path())?;
    if probe.roundtrip(Duration::from_secs(2))? != ghost_tests::wire::Answer::Done {
        bail!("seed {seed}: Wayland clients are no longer served");
    }
    Ok(())
}

#[test]
fn random_requests_and_garbage_on_the_ipc_socket_get_replies_and_no_crash() -> Result<()> {
    let rounds = std::env::var("GHOST_FUZZ_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(250);
    let fixed = 0x6873_6f67;
    let random = ghost_tests::fuzz::seed("GHOST_FUZZ_SEED");
    eprintln!("IPC fuzz seeds: {fixed} (fixed) and {random} (GHOST_FUZZ_SEED={random} replays it)");
    for seed in [fixed, random] {
        let mut comp = Compositor::start(&[])?;
        // Windows to focus, close and share.
        comp.spawn_client(comp.command("weston-simple-shm"))?;
        run(&mut comp, seed, rounds)?;
    }
    Ok(())
}

#[test]
fn idle_ipc_connections_cannot_use_up_the_compositors_descriptors() -> Result<()> {
    let comp = Compositor::start(&[])?;
    let socket = comp
        .runtime_dir()
        .join(format!("ghostcomp.{}.sock", comp.socket()));
    // Far more silent connections than are allowed to wait.
    let idle: Vec<UnixStream> = (0..500)
        .filter_map(|_| UnixStream::connect(&socket).ok())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let fds = std::fs::read_dir(format!("/proc/{}/fd", comp.pid()))?.count();
    let kinds: Vec<String> = std::fs::read_dir(format!("/proc/{}/fd", comp.pid()))?
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        fds < 200,
        "{fds} descriptors open with {} idle connections: {kinds:?}",
        idle.len()
    );
    drop(idle);
    // Once they are gone, requests are served again.
    ghost_tests::wait_for(Duration::from_secs(5), "IPC served again", || {
        comp.request(serde_json::json!({"request": "version"})).ok()
    })?;
    Ok(())
}
