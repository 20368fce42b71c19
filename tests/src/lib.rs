//! `ghost-tests` holds the end-to-end tests: each starts `ghostcomp --backend headless`
//! in a private runtime directory, drives real Debian clients (and small Wayland clients of
//! our own, in [`client`]) against it, and checks what a user would notice: pixels in
//! screenshots, windows in IPC, files created by typed commands, presentation timing.

pub mod browser;
pub mod capture_client;
pub mod client;
pub mod colour_client;
pub mod constraint_client;
pub mod dmabuf_client;
pub mod fuzz;
pub mod idle_client;
pub mod inhibit_client;
pub mod input_method_client;
pub mod lock_client;
pub mod media_server;
pub mod obs;
pub mod pacing_client;
pub mod pw_consumer;
pub mod rfb;
pub mod seat_client;
pub mod share_session;
pub mod shell_client;
pub mod syncobj_client;
pub mod tablet_client;
pub mod taskbar_client;
pub mod wire;
pub mod wlr_copy;
pub mod workspace_client;

pub use pipewire;
pub use wayland_client;
pub use wayland_protocols;

use std::{
    io::{BufRead, BufReader, Write},
    os::unix::net::UnixStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// The ghostcomp binary built by `cargo build -p ghost-compositor`.
pub fn ghostcomp_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("GHOSTCOMP_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("debug/ghostcomp")
}

/// The (R, G, B) of a client's ARGB8888 colour, as screenshots and casts give it.
pub fn rgb(argb: u32) -> [u8; 3] {
    [(argb >> 16) as u8, (argb >> 8) as u8, argb as u8]
}

/// The `median_ms p90_ms runs` line the latency probes print, from times in ms.
pub fn latency_line(mut times: Vec<f64>) -> String {
    times.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let last = times.len().saturating_sub(1);
        times
            .get((last as f64 * q).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    format!("{:.2} {:.2} {}", at(0.5), at(0.9), times.len())
}

/// Fails with a useful message when a Debian client the test drives is missing.
pub fn require_program(name: &str) -> Result<()> {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false);
    if !found {
        bail!("{name} is not installed: run ./scripts/install-deps.sh");
    }
    Ok(())
}

/// Polls `f` every 20 ms until it returns Some, or fails after `timeout`.
pub fn wait_for<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> Result<T> {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Ok(v);
        }
        if Instant::now() > end {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A running headless ghostcomp in its own runtime directory; killed on drop.
pub struct Compositor {
    child: Child,
    runtime_dir: PathBuf,
    socket: String,
    ipc: PathBuf,
    clients: Vec<Child>,
}

/// A decoded screenshot.
pub struct Image {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    rgb: Vec<u8>,
}

impl Image {
    /// RGB at (x, y).
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// All pixels of a rectangle, row by row.
    pub fn region(&self, x: u32, y: u32, w: u32, h: u32) -> Vec<[u8; 3]> {
        let mut out = Vec::new();
        for yy in y..(y + h).min(self.height) {
            for xx in x..(x + w).min(self.width) {
                out.push(self.pixel(xx, yy));
            }
        }
        out
    }
}

/// Reads an 8-bit RGB or RGBA PNG.
pub fn read_png(path: &Path) -> Result<Image> {
    let decoder = png::Decoder::new(std::fs::File::open(path)?);
    let mut reader = decoder.read_info()?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf)?;
    let rgb = match info.color_type {
        png::ColorType::Rgb => buf[..info.buffer_size()].to_vec(),
        png::ColorType::Rgba => buf[..info.buffer_size()]
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
        other => bail!("unexpected PNG colour type {other:?}"),
    };
    Ok(Image {
        width: info.width,
        height: info.height,
        rgb,
    })
}

/// A decoded 16-bit RGB screenshot (an HDR output's signal) and its cICP code points.
pub struct Image16 {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    rgb: Vec<u16>,
    /// The cICP chunk: primaries, transfer, matrix, full range.
    pub cicp: Option<[u8; 4]>,
}

impl Image16 {
    /// RGB at (x, y).
    pub fn pixel(&self, x: u32, y: u32) -> [u16; 3] {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }
}

/// Reads a 16-bit RGB PNG and its cICP chunk.
pub fn read_png16(path: &Path) -> Result<Image16> {
    let bytes = std::fs::read(path)?;
    let cicp = bytes
        .windows(4)
        .position(|w| w == b"cICP")
        .and_then(|at| bytes.get(at + 4..at + 8))
        .map(|c| [c[0], c[1], c[2], c[3]]);
    let mut reader = png::Decoder::new(bytes.as_slice()).read_info()?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf)?;
    if info.bit_depth != png::BitDepth::Sixteen || info.color_type != png::ColorType::Rgb {
        bail!(
            "not a 16-bit RGB PNG: {:?} {:?}",
            info.bit_depth,
            info.color_type
        );
    }
    let rgb = buf[..info.buffer_size()]
        .chunks_exact(2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .collect();
    Ok(Image16 {
        width: info.width,
        height: info.height,
        rgb,
        cicp,
    })
}

impl Compositor {
    /// Starts ghostcomp headless with extra arguments and waits until IPC answers.
    pub fn start(args: &[&str]) -> Result<Self> {
        Self::start_inner(args, None)
    }

    /// Like [`Compositor::start`] with `XDG_CONFIG_HOME` set to `config_home`.
    pub fn start_with_config_home(args: &[&str], config_home: &Path) -> Result<Self> {
        Self::start_inner(args, Some(config_home))
    }

    /// Headless with `XDG_CONFIG_HOME` set to `config_home` and the variables `env`.
    pub fn start_with_env(args: &[&str], config_home: &Path, env: &[(&str, &str)]) -> Result<Self> {
        Self::launch(args, Some(config_home), "headless", env)
    }

    /// Starts ghostcomp nested (winit) inside the X server at `display`, rendering with
    /// Mesa's software GL.
    pub fn start_nested(display: &str) -> Result<Self> {
        Self::launch(
            &[],
            None,
            "winit",
            &[("DISPLAY", display), ("LIBGL_ALWAYS_SOFTWARE", "1")],
        )
    }

    /// Starts ghostcomp on the machine's KMS device (as root, through libseat's noop
    /// backend), with `XDG_CONFIG_HOME` at `config_home`.
    pub fn start_kms(config_home: &Path) -> Result<Self> {
        Self::start_kms_with(config_home, &[])
    }

    /// [`Self::start_kms_with`] on the KMS device at `card` (a machine with several).
    pub fn start_kms_on(config_home: &Path, card: &Path, args: &[&str]) -> Result<Self> {
        let card = card.to_string_lossy().into_owned();
        Self::launch(
            args,
            Some(config_home),
            "kms",
            &[("LIBSEAT_BACKEND", "noop"), ("GHOSTCOMP_DRM_DEVICE", &card)],
        )
    }

    /// [`Self::start_kms`] with more command-line arguments (`--renderer gles`).
    pub fn start_kms_with(config_home: &Path, args: &[&str]) -> Result<Self> {
        Self::launch(
            args,
            Some(config_home),
            "kms",
            &[("LIBSEAT_BACKEND", "noop")],
        )
    }

    /// Starts ghostcomp on the machine's KMS device through a running seatd (libseat's
    /// seatd backend), which hands the devices over on virtual-terminal switches.
    pub fn start_kms_on_seatd(config_home: &Path, args: &[&str]) -> Result<Self> {
        Self::launch(
            args,
            Some(config_home),
            "kms",
            &[("LIBSEAT_BACKEND", "seatd")],
        )
    }

    /// Starts ghostcomp on the machine's KMS device through logind (libseat's logind
    /// backend), as a display manager's session does: the caller runs in a logind
    /// session. `env`: more of the session's variables (the user bus).
    pub fn start_kms_on_logind(
        config_home: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Self> {
        let mut all = vec![("LIBSEAT_BACKEND", "logind")];
        all.extend_from_slice(env);
        Self::launch(args, Some(config_home), "kms", &all)
    }

    fn start_inner(args: &[&str], config_home: Option<&Path>) -> Result<Self> {
        Self::launch(args, config_home, "headless", &[])
    }

    /// Starts ghostcomp headless with at most `limit` open files (soft and hard), so
    /// that a test reaches the limit with a few hundred connections.
    pub fn start_with_fd_limit(limit: u64) -> Result<Self> {
        Self::launch_limited(&[], None, "headless", &[], Some(limit))
    }

    fn launch(
        args: &[&str],
        config_home: Option<&Path>,
        backend: &str,
        env: &[(&str, &str)],
    ) -> Result<Self> {
        Self::launch_limited(args, config_home, backend, env, None)
    }

    fn launch_limited(
        args: &[&str],
        config_home: Option<&Path>,
        backend: &str,
        env: &[(&str, &str)],
        fd_limit: Option<u64>,
    ) -> Result<Self> {
        let bin = ghostcomp_bin();
        if !bin.exists() {
            bail!(
                "{} is missing: run `cargo build -p ghost-compositor` first",
                bin.display()
            );
        }
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let runtime_dir =
            std::env::temp_dir().join(format!("ghost-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&runtime_dir);
        std::fs::create_dir_all(&runtime_dir)?;
        std::fs::set_permissions(
            &runtime_dir,
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )?;
        let socket = format!("ghost-test-{n}");
        let log = std::fs::File::create(runtime_dir.join("ghostcomp.log"))?;
        let mut command = Command::new(&bin);
        if let Some(limit) = fd_limit {
            use std::os::unix::process::CommandExt;
            let limit = rustix::process::Rlimit {
                current: Some(limit),
                maximum: Some(limit),
            };
            // SAFETY: runs in the child between fork and exec and only makes the
            // setrlimit system call on a value copied before the fork.
            unsafe {
                command.pre_exec(move || {
                    rustix::process::setrlimit(rustix::process::Resource::Nofile, limit)
                        .map_err(std::io::Error::from)
                });
            }
        }
        let child = command
            .args(["--backend", backend, "--socket", &socket])
            .args(args)
            .env("XDG_RUNTIME_DIR", &runtime_dir)
            .env(
                "XDG_CONFIG_HOME",
                config_home
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| runtime_dir.join("config")),
            )
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("DISPLAY")
            .envs(env.iter().copied())
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("cannot start ghostcomp")?;
        let ipc = runtime_dir.join(format!("ghostcomp.{socket}.sock"));
        let comp = Self {
            child,
            runtime_dir,
            socket,
            ipc,
            clients: Vec::new(),
        };
        let up = wait_for(Duration::from_secs(20), "ghostcomp's IPC socket", || {
            comp.request(json!({"request": "version"})).ok()
        });
        if let Err(err) = up {
            bail!("{err}; ghostcomp's log:\n{}", comp.log());
        }
        Ok(comp)
    }

    /// The compositor's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The private runtime directory (XDG_RUNTIME_DIR of compositor and clients).
    pub fn runtime_dir(&self) -> &Path {
        &self.runtime_dir
    }

    /// The Wayland socket name.
    pub fn socket(&self) -> &str {
        &self.socket
    }

    /// Full path of the Wayland socket.
    pub fn socket_path(&self) -> PathBuf {
        self.runtime_dir.join(&self.socket)
    }

    /// The compositor's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.runtime_dir.join("ghostcomp.log")).unwrap_or_default()
    }

    /// Waits up to `within` for the compositor to exit, and returns how it exited.
    pub fn wait_exit(&mut self, within: Duration) -> Result<std::process::ExitStatus> {
        wait_for(within, "ghostcomp to exit", || {
            self.child.try_wait().ok().flatten()
        })
    }

    /// Whether the compositor process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends one raw IPC line and returns the reply object.
    pub fn raw_request(&self, line: &str) -> Result<Value> {
        let mut stream = UnixStream::connect(&self.ipc)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        // The compositor may answer an oversized line and hang up before it has all of
        // it: the refusal then waits to be read although the write failed.
        let written = stream
            .write_all(line.as_bytes())
            .and_then(|()| stream.write_all(b"\n"));
        if let Err(err) = written {
            if err.kind() != std::io::ErrorKind::BrokenPipe {
                return Err(err.into());
            }
        }
        let mut reply = String::new();
        BufReader::new(stream).read_line(&mut reply)?;
        Ok(serde_json::from_str(&reply)?)
    }

    /// Synthetic input (`{"action": "pointer-move", "x": .., "y": ..}` and so on), as the
    /// `input` request takes it.
    pub fn input(&self, action: Value) -> Result<Value> {
        let mut request = json!({"request": "input"});
        if let (Some(r), Some(a)) = (request.as_object_mut(), action.as_object()) {
            r.extend(a.clone());
        }
        self.request(request)
    }

    /// Sends a request; Err when the compositor refused it.
    pub fn request(&self, request: Value) -> Result<Value> {
        let reply = self.raw_request(&request.to_string())?;
        if reply["ok"] != json!(true) {
            bail!("request {request} failed: {}", reply["error"]);
        }
        Ok(reply.get("result").cloned().unwrap_or(Value::Null))
    }

    /// `ghostcomp msg windows`.
    pub fn windows(&self) -> Result<Vec<Value>> {
        Ok(self
            .request(json!({"request": "windows"}))?
            .as_array()
            .cloned()
            .unwrap_or_default())
    }

    /// Waits for a window whose app_id is `app_id`.
    pub fn wait_window(&self, app_id: &str) -> Result<Value> {
        wait_for(
            Duration::from_secs(20),
            &format!("a window with app_id {app_id}"),
            || {
                self.windows()
                    .ok()?
                    .into_iter()
                    .find(|w| w["app_id"] == app_id && w["geometry"]["width"].as_i64() > Some(0))
            },
        )
    }

    /// Takes a screenshot through IPC and decodes it.
    pub fn screenshot(&self, extra: Value) -> Result<Image> {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = self.runtime_dir.join(format!("shot-{n}.png"));
        let mut req = json!({"request": "screenshot", "path": path});
        if let (Some(obj), Some(extra)) = (req.as_object_mut(), extra.as_object()) {
            obj.extend(extra.clone());
        }
        self.request(req)?;
        read_png(&path)
    }

    /// Takes an HDR screenshot (`--hdr`: the 16-bit PQ signal) through IPC.
    pub fn screenshot_hdr(&self) -> Result<Image16> {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = self.runtime_dir.join(format!("shot-hdr-{n}.png"));
        self.request(json!({"request": "screenshot", "path": path, "hdr": true}))?;
        read_png16(&path)
    }

    /// Runs `ghostcomp msg ARGS` as a user would, returning stdout.
    pub fn msg_cli(&self, args: &[&str]) -> Result<std::process::Output> {
        Ok(Command::new(ghostcomp_bin())
            .arg("msg")
            .args(args)
            .env("XDG_RUNTIME_DIR", &self.runtime_dir)
            .env("WAYLAND_DISPLAY", &self.socket)
            .env_remove("GHOSTCOMP_SOCKET")
            .output()?)
    }

    /// A command set up to run as a client of this compositor.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("XDG_RUNTIME_DIR", &self.runtime_dir)
            .env("WAYLAND_DISPLAY", &self.socket)
            .env("GHOSTCOMP_SOCKET", &self.ipc)
            .env_remove("DISPLAY")
            .stdin(Stdio::null());
        cmd
    }

    /// Starts a client that is killed with the compositor.
    pub fn spawn_client(&mut self, mut cmd: Command) -> Result<()> {
        let child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn()?;
        self.clients.push(child);
        Ok(())
    }
}

impl Drop for Compositor {
    fn drop(&mut self) {
        for c in &mut self.clients {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::env::var_os("GHOST_KEEP_TEST_DIRS").is_none() {
            let _ = std::fs::remove_dir_all(&self.runtime_dir);
        }
    }
}
