//! The IPC socket inside the event loop: accept, read a line, answer, close.

use std::{
    cell::Cell,
    io::{ErrorKind, Read, Write},
    os::unix::{
        fs::PermissionsExt,
        net::{UnixListener, UnixStream},
    },
    path::{Path, PathBuf},
    rc::Rc,
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use smithay::reexports::calloop::{generic::Generic, Interest, Mode, PostAction};
use tracing::{debug, error, info, warn};

use super::{Reply, Request};
use crate::state::Ghost;

/// Longest request accepted; anything longer is a misbehaving client.
const MAX_REQUEST: usize = 64 * 1024;

/// Connections that have not sent their request yet: more are closed at once, so that
/// idle connections cannot use up the compositor's file descriptors.
const MAX_WAITING: usize = 64;

/// How many connections wait for their request line now.
static WAITING: AtomicUsize = AtomicUsize::new(0);

/// Counts one waiting connection for as long as it lives (inside its source).
struct Waiting;

impl Waiting {
    fn new() -> Option<Self> {
        let admitted = WAITING
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_WAITING).then_some(n + 1)
            })
            .is_ok();
        // Made only when admitted: one made and dropped on refusal would uncount one.
        if admitted {
            Some(Self)
        } else {
            None
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        WAITING.fetch_sub(1, Ordering::AcqRel);
    }
}

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
    let own_token = Rc::new(Cell::new(None));
    let token_inside = own_token.clone();
    let token = state
        .loop_handle
        .insert_source(
            Generic::new(listener, Interest::READ, Mode::Level),
            move |_, listener, state| loop {
                match listener.accept() {
                    Ok((stream, _)) => accept(state, stream),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(PostAction::Continue),
                    Err(e) if crate::clients::is_fd_exhaustion(&e) => {
                        return Ok(crate::clients::rest_listener(state, token_inside.get(), &e))
                    }
                    Err(e) => {
                        warn!(%e, "IPC accept failed");
                        return Ok(PostAction::Continue);
                    }
                }
            },
        )
        .map_err(|e| anyhow::anyhow!("cannot watch the IPC socket: {e}"))?;
    own_token.set(Some(token));
    info!(path = %path.display(), "IPC listening");
    state.ipc_socket = Some(path);
    Ok(())
}

/// Removes the socket file on shutdown.
pub fn stop(path: &Path) {
    let _ = std::fs::remove_file(path);
}

fn accept(state: &mut Ghost, stream: UnixStream) {
    let Some(waiting) = Waiting::new() else {
        debug!("too many IPC connections wait for their request; closing a new one");
        return;
    };
    if let Err(e) = stream.set_nonblocking(true) {
        warn!(%e, "IPC stream setup failed");
        return;
    }
    let mut buffer = Vec::new();
    let source = Generic::new(stream, Interest::READ, Mode::Level);
    let result = state
        .loop_handle
        .insert_source(source, move |_, stream, state| {
            let _counted = &waiting;
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
                        Ok(owned) => handle_contained(state, request, owned),
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

/// Handles one request; a panic while handling it becomes an error reply instead of the
/// end of the session (what the handler had changed stays as it was left).
fn handle_contained(state: &mut Ghost, request: Request, stream: UnixStream) -> Answer {
    let what = format!("{request:?}");
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        state.handle_ipc(request, stream)
    }))
    .unwrap_or_else(|_| {
        error!(request = %what, "handling an IPC request panicked");
        Answer::Now(Reply::error("internal error while handling the request"))
    })
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
