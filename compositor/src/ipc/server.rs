//! The IPC socket inside the event loop: accept, read a line, answer, close.

use std::{
    io::{ErrorKind, Read, Write},
    os::unix::{
        fs::PermissionsExt,
        net::{UnixListener, UnixStream},
    },
    path::{Path, PathBuf},
    time::Duration,
};

use smithay::reexports::calloop::{generic::Generic, Interest, Mode, PostAction};
use tracing::{debug, info, warn};

use super::{Reply, Request};
use crate::state::Ghost;

/// Longest request accepted; anything longer is a misbehaving client.
const MAX_REQUEST: usize = 64 * 1024;

/// Where a reply goes: straight back now, or later from a worker (screenshots).
pub enum Answer {
    /// Reply now.
    Now(Reply),
    /// The handler took the stream and answers itself.
    Deferred,
}

/// Listens at `path` with mode 0600 and serves requests from the event loop.
pub fn start(state: &mut Ghost, path: PathBuf) -> anyhow::Result<()> {
    if path.exists() {
        // A stale socket from a compositor that died; a live one would still answer.
        if UnixStream::connect(&path).is_ok() {
            anyhow::bail!("another compositor serves {}", path.display());
        }
        std::fs::remove_file(&path)?;
    }
    let listener = UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    listener.set_nonblocking(true)?;
    state
        .loop_handle
        .insert_source(
            Generic::new(listener, Interest::READ, Mode::Level),
            |_, listener, state| {
                loop {
                    match listener.accept() {
                        Ok((stream, _)) => accept(state, stream),
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) => {
                            warn!(%e, "IPC accept failed");
                            break;
                        }
                    }
                }
                Ok(PostAction::Continue)
            },
        )
        .map_err(|e| anyhow::anyhow!("cannot watch the IPC socket: {e}"))?;
    info!(path = %path.display(), "IPC listening");
    state.ipc_socket = Some(path);
    Ok(())
}

/// Removes the socket file on shutdown.
pub fn stop(path: &Path) {
    let _ = std::fs::remove_file(path);
}

fn accept(state: &mut Ghost, stream: UnixStream) {
    if let Err(e) = stream.set_nonblocking(true) {
        warn!(%e, "IPC stream setup failed");
        return;
    }
    let mut buffer = Vec::new();
    let source = Generic::new(stream, Interest::READ, Mode::Level);
    let result = state
        .loop_handle
        .insert_source(source, move |_, stream, state| {
            // SAFETY: the stream is only read here and is not closed while registered.
            let stream = unsafe { stream.get_mut() };
            let mut chunk = [0u8; 4096];
            loop {
                match stream.read(&mut chunk) {
                    Ok(0) => return Ok(PostAction::Remove),
                    Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => return Ok(PostAction::Remove),
                }
                if buffer.len() > MAX_REQUEST {
                    respond(stream, &Reply::error("request too long"));
                    return Ok(PostAction::Remove);
                }
            }
            let Some(end) = buffer.iter().position(|b| *b == b'\n') else {
                return Ok(PostAction::Continue);
            };
            let line = String::from_utf8_lossy(&buffer[..end]).into_owned();
            let answer = match serde_json::from_str::<Request>(&line) {
                Ok(request) => {
                    debug!(?request, "IPC request");
                    match stream.try_clone() {
                        Ok(owned) => state.handle_ipc(request, owned),
                        Err(e) => Answer::Now(Reply::error(format!("internal: {e}"))),
                    }
                }
                Err(e) => Answer::Now(Reply::error(format!("malformed request: {e}"))),
            };
            if let Answer::Now(reply) = answer {
                respond(stream, &reply);
            }
            Ok(PostAction::Remove)
        });
    if let Err(e) = result {
        warn!(%e, "cannot watch an IPC connection");
    }
}

/// Writes one reply line (blocking, with a timeout so a stuck reader cannot hang us).
pub fn respond(stream: &mut UnixStream, reply: &Reply) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let mut line = serde_json::to_string(reply).unwrap_or_else(|_| r#"{"ok":false}"#.into());
    line.push('\n');
    if let Err(e) = stream.write_all(line.as_bytes()) {
        debug!(%e, "IPC client went away before the reply");
    }
}
