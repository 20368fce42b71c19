//! `ghostcomp msg`: sends one request and prints the reply.

use std::{
    io::{BufRead, BufReader, Write},
    os::unix::net::UnixStream,
    path::PathBuf,
    time::Duration,
};

use anyhow::Context;

use super::{Reply, Request};

/// Where the running compositor listens: `GHOSTCOMP_SOCKET`, else derived from
/// `WAYLAND_DISPLAY`.
pub fn find_socket() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("GHOSTCOMP_SOCKET") {
        return Ok(PathBuf::from(path));
    }
    let runtime = std::env::var_os("XDG_RUNTIME_DIR").context("XDG_RUNTIME_DIR is not set")?;
    let display = std::env::var("WAYLAND_DISPLAY")
        .context("neither GHOSTCOMP_SOCKET nor WAYLAND_DISPLAY is set: is ghostcomp running?")?;
    Ok(super::socket_path(runtime.as_ref(), &display))
}

/// Sends `request` and waits for the reply.
pub fn send(socket: &std::path::Path, request: &Request) -> anyhow::Result<Reply> {
    send_waiting(socket, request, Duration::from_secs(30))
}

/// Sends `request` and waits up to `patience` for the reply (a person choosing what to
/// share takes longer than a query).
pub fn send_waiting(
    socket: &std::path::Path,
    request: &Request,
    patience: Duration,
) -> anyhow::Result<Reply> {
    let mut stream = UnixStream::connect(socket)
        .with_context(|| format!("cannot connect to {}", socket.display()))?;
    stream.set_read_timeout(Some(patience))?;
    let mut line = serde_json::to_string(request)?;
    line.push('\n');
    stream.write_all(line.as_bytes())?;
    let mut reader = BufReader::new(stream);
    let mut reply = String::new();
    reader.read_line(&mut reply)?;
    serde_json::from_str(&reply).with_context(|| format!("malformed reply {reply:?}"))
}
