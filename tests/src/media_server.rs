//! Real media servers for streaming tests, run as the test user on localhost: Debian's
//! nginx with its RTMP module (recording each publish to an FLV file, and serving it
//! live to players), and `srt-live-transmit` listening for SRT and writing what arrives
//! to a file.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::{Context, Result};

/// A free TCP (or, by luck of the same number, UDP) port on localhost.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// nginx serving RTMP at `rtmp://127.0.0.1:PORT/live/…`.
pub struct RtmpServer {
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

const RTMP_MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

impl RtmpServer {
    /// Starts nginx with a configuration of its own under `dir`.
    pub fn start(dir: &Path) -> Result<RtmpServer> {
        crate::require_program("nginx")?;
        anyhow::ensure!(
            Path::new(RTMP_MODULE).exists(),
            "{RTMP_MODULE} is missing: install libnginx-mod-rtmp"
        );
        std::fs::create_dir_all(dir.join("rec"))?;
        let port = free_port()?;
        let conf = format!(
            "load_module {RTMP_MODULE};\n\
             daemon off;\nmaster_process off;\n\
             pid {dir}/nginx.pid;\nerror_log {dir}/error.log info;\n\
             events {{ worker_connections 64; }}\n\
             rtmp {{\n  server {{\n    listen 127.0.0.1:{port};\n\
             \x20   application live {{\n      live on;\n      record all;\n\
             \x20     record_path {dir}/rec;\n      record_unique on;\n    }}\n  }}\n}}\n",
            dir = dir.display()
        );
        std::fs::write(dir.join("nginx.conf"), conf)?;
        let mut server = RtmpServer {
            dir: dir.to_owned(),
            port,
            child: None,
        };
        server.restart()?;
        Ok(server)
    }

    /// The URL of stream `name`.
    pub fn url(&self, name: &str) -> String {
        format!("rtmp://127.0.0.1:{}/live/{name}", self.port)
    }

    /// The port nginx listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops nginx as a crash would (SIGKILL).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts nginx again on the same port; returns once it listens.
    pub fn restart(&mut self) -> Result<()> {
        self.kill();
        let child = Command::new("nginx")
            .arg("-p")
            .arg(&self.dir)
            .arg("-e")
            .arg(self.dir.join("error.log"))
            .arg("-c")
            .arg(self.dir.join("nginx.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("nginx starts")?;
        self.child = Some(child);
        let port = self.port;
        crate::wait_for(Duration::from_secs(10), "nginx to listen", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        })
        .with_context(|| std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default())?;
        Ok(())
    }

    /// The FLV files nginx recorded, oldest first.
    pub fn recordings(&self) -> Result<Vec<PathBuf>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.join("rec"))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "flv"))
            .collect();
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        Ok(files)
    }
}

impl Drop for RtmpServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `srt-live-transmit` listening at `srt://127.0.0.1:PORT`, writing what arrives to a file.
pub struct SrtListener {
    port: u16,
    out: PathBuf,
    child: Child,
}

impl SrtListener {
    /// Starts listening; what arrives goes to `out`.
    pub fn start(out: &Path) -> Result<SrtListener> {
        crate::require_program("srt-live-transmit")?;
        let port = free_port()?;
        let file = std::fs::File::create(out)?;
        let child = Command::new("srt-live-transmit")
            .args([
                "-q",
                &format!("srt://127.0.0.1:{port}?mode=listener"),
                "file://con",
            ])
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(Stdio::null())
            .spawn()
            .context("srt-live-transmit starts")?;
        // It binds at once; a moment for the socket to exist.
        std::thread::sleep(Duration::from_millis(300));
        Ok(SrtListener {
            port,
            out: out.to_owned(),
            child,
        })
    }

    /// The URL a caller connects to.
    pub fn url(&self) -> String {
        format!("srt://127.0.0.1:{}", self.port)
    }

    /// The file it writes.
    pub fn out(&self) -> &Path {
        &self.out
    }
}

impl Drop for SrtListener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP proxy on localhost that carries one direction at a fixed rate: a slow uplink
/// between a streamer and its server.
pub struct SlowLink {
    port: u16,
    _thread: std::thread::JoinHandle<()>,
}

impl SlowLink {
    /// Listens on a free port and forwards each connection to `target_port`, the
    /// client's bytes at most `bytes_per_second`, the server's at full speed.
    pub fn start(target_port: u16, bytes_per_second: usize) -> Result<SlowLink> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let thread = std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", target_port)) else {
                    continue;
                };
                // Small buffers, so the slowness reaches the sender quickly.
                let (Ok(client_read), Ok(server_read)) = (client.try_clone(), server.try_clone())
                else {
                    continue;
                };
                std::thread::spawn(move || throttle(client_read, server, bytes_per_second));
                std::thread::spawn(move || {
                    let (mut from, mut to) = (server_read, client);
                    let _ = std::io::copy(&mut from, &mut to);
                });
            }
        });
        Ok(SlowLink {
            port,
            _thread: thread,
        })
    }

    /// The port to connect to.
    pub fn port(&self) -> u16 {
        self.port
    }
}

fn throttle(mut from: std::net::TcpStream, mut to: std::net::TcpStream, rate: usize) {
    use std::io::{Read, Write};
    let mut buffer = vec![0u8; 4096];
    let started = std::time::Instant::now();
    let mut sent = 0usize;
    while let Ok(n) = from.read(&mut buffer) {
        if n == 0 || to.write_all(&buffer[..n]).is_err() {
            break;
        }
        sent += n;
        let due = Duration::from_secs_f64(sent as f64 / rate as f64);
        std::thread::sleep(due.saturating_sub(started.elapsed()));
    }
    let _ = to.shutdown(std::net::Shutdown::Both);
}
