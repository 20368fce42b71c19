//! Client connections, kept apart so that no client can end the session.
//!
//! - Each client's socket is its own event source: its requests are dispatched alone,
//!   inside `catch_unwind`. A panic while handling them (a malformed message the
//!   generated parser trips over, or a bug of ours that a request reaches) disconnects
//!   that client with a protocol error; every other client, and the session, carry on.
//!   State the handler had half-changed stays as it was left: the client's objects are
//!   destroyed through the ordinary disconnect path, which cleans up after it.
//! - The listening socket survives file-descriptor exhaustion: when `accept` fails with
//!   EMFILE or ENFILE the socket stops being watched for [`ACCEPT_PAUSE`] and connections
//!   wait in its backlog, instead of the event loop spinning or failing.
//! - A client may hold only so much ([`limits`]): past it, it is disconnected. So is
//!   one whose requests keep the event loop reading them without a pause ([`flood`]).
//! - The soft `RLIMIT_NOFILE` is raised to the hard limit at start ([`raise_fd_limit`]);
//!   programs ghostcomp starts get the original back ([`restore_fd_limit`]).

use std::{
    cell::{Cell, RefCell},
    collections::HashMap,
    io,
    os::{
        fd::{AsFd, BorrowedFd},
        unix::net::UnixStream,
    },
    panic::{catch_unwind, AssertUnwindSafe},
    rc::Rc,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, OnceLock,
    },
    time::{Duration, Instant},
};

use smithay::reexports::{
    calloop::{
        generic::Generic, timer::TimeoutAction, timer::Timer, Interest, Mode, PostAction,
        RegistrationToken,
    },
    wayland_server::{
        backend::{protocol::ProtocolError, ClientId, DisconnectReason},
        Client, Display, ListeningSocket,
    },
};
use tracing::{error, info, warn};

use crate::state::{ClientState, Ghost};

pub mod flood;
pub mod limits;
pub mod stall;

/// How long the listening socket rests after the process ran out of file descriptors.
pub const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// wl_display's error codes (wayland.xml).
pub(crate) const WL_DISPLAY_INVALID_METHOD: u32 = 1;
const WL_DISPLAY_NO_MEMORY: u32 = 2;
const WL_DISPLAY_IMPLEMENTATION: u32 = 3;

/// Set by [`ClientState`] when any client goes (hung up, or disconnected by us), so that
/// the next loop iteration drops the watches of the clients that went (one flag for the
/// process is enough: a spurious check costs one lookup per client).
pub(crate) static SOME_CLIENT_LEFT: AtomicBool = AtomicBool::new(false);

/// The Wayland display and the watch on each client's socket.
pub struct Clients {
    display: Rc<RefCell<Display<Ghost>>>,
    watches: HashMap<ClientId, RegistrationToken>,
    listener: Option<RegistrationToken>,
}

impl Clients {
    /// Takes the display: from now on clients are dispatched one by one.
    pub fn new(display: Display<Ghost>) -> Self {
        Self {
            display: Rc::new(RefCell::new(display)),
            watches: HashMap::new(),
            listener: None,
        }
    }
}

impl Ghost {
    /// Adds a client on `stream` and watches its socket. Every way a client comes in
    /// (the Wayland socket, a security context, tests) goes through here.
    pub fn add_client(&mut self, stream: UnixStream, data: ClientState) -> io::Result<Client> {
        // A second descriptor of the same socket for the event loop: the display keeps
        // the stream itself.
        let watched = Arc::new(stream.as_fd().try_clone_to_owned()?);
        let client = self.display_handle.insert_client(stream, Arc::new(data))?;
        let id = client.id();
        let mut client_watch = ClientWatch {
            display: self.clients.display.clone(),
            id: id.clone(),
            audit: limits::Audit::default(),
            stall: stall::Stall::default(),
            flood: flood::Watched::new(watched.clone()),
        };
        let watch = self.loop_handle.insert_source(
            Generic::new(watched, Interest::READ, Mode::Level),
            move |_, socket, state| Ok(client_watch.dispatch(state, socket.as_fd())),
        );
        match watch {
            Ok(token) => {
                self.clients.watches.insert(id, token);
                Ok(client)
            }
            Err(err) => {
                // Unwatched, it would never be served: it goes at once.
                self.display_handle
                    .backend_handle()
                    .kill_client(id, DisconnectReason::ConnectionClosed);
                Err(io::Error::other(err.to_string()))
            }
        }
    }

    /// Watches a client that smithay put into the display itself (Xwayland's), whose
    /// socket ghostcomp never sees: the display's own descriptor, readable when any
    /// client has sent something, wakes a dispatch of that client alone (the others
    /// are read by their own watches). A panic disconnects it, as for any client.
    pub fn watch_inserted_client(&mut self, client: &Client) -> io::Result<RegistrationToken> {
        let fd = self
            .clients
            .display
            .borrow_mut()
            .backend()
            .poll_fd()
            .try_clone_to_owned()?;
        let display = self.clients.display.clone();
        let id = client.id();
        self.loop_handle
            .insert_source(
                Generic::new(fd, Interest::READ, Mode::Level),
                move |_, _, state| {
                    let outcome = catch_unwind(AssertUnwindSafe(|| {
                        display
                            .borrow_mut()
                            .backend()
                            .dispatch_single_client(state, id.clone())
                    }));
                    Ok(match outcome {
                        Ok(Ok(_)) => PostAction::Continue,
                        Ok(Err(err)) if err.kind() == io::ErrorKind::WouldBlock => {
                            PostAction::Continue
                        }
                        Ok(Err(_)) => PostAction::Remove,
                        Err(panic) => {
                            error!(client = ?id, what = %panic_message(&panic), "handling a request panicked; disconnecting that client");
                            state
                                .display_handle
                                .backend_handle()
                                .kill_client(id.clone(), DisconnectReason::ConnectionClosed);
                            PostAction::Remove
                        }
                    })
                },
            )
            .map_err(|e| io::Error::other(e.to_string()))
    }

    /// Stops watching clients that are gone (called after each loop iteration).
    pub(crate) fn forget_departed_clients(&mut self) {
        if !SOME_CLIENT_LEFT.swap(false, Ordering::AcqRel) {
            return;
        }
        // Clients that were disconnected but not yet cleaned up are no longer listed.
        let mut live = std::collections::HashSet::new();
        self.display_handle.backend_handle().with_all_clients(|id| {
            live.insert(id);
        });
        let gone: Vec<ClientId> = self
            .clients
            .watches
            .keys()
            .filter(|id| !live.contains(*id))
            .cloned()
            .collect();
        for id in gone {
            if let Some(token) = self.clients.watches.remove(&id) {
                self.loop_handle.remove(token);
            }
        }
        give_back_free_memory();
    }

    /// Accepts clients on `listener` until the compositor stops.
    pub fn listen(&mut self, listener: ListeningSocket) -> anyhow::Result<()> {
        self.socket_name = listener
            .socket_name()
            .map(|name| name.to_os_string())
            .unwrap_or_default();
        let token = self
            .loop_handle
            .insert_source(
                Generic::new(listener, Interest::READ, Mode::Level),
                |_, listener, state| Ok(accept_waiting(listener.as_ref(), state)),
            )
            .map_err(|e| anyhow::anyhow!("cannot listen on the Wayland socket: {e}"))?;
        self.clients.listener = Some(token);
        info!(socket = ?self.socket_name, "listening");
        Ok(())
    }

    /// Opens the Wayland socket `name` in XDG_RUNTIME_DIR (the first free wayland-N when
    /// None). Done first thing, so clients started alongside find it at once; they wait
    /// in its backlog until [`Ghost::listen`] accepts them.
    pub fn bind_socket(name: Option<&str>) -> anyhow::Result<ListeningSocket> {
        Ok(match name {
            Some(name) => ListeningSocket::bind(name)?,
            None => ListeningSocket::bind_auto("wayland", 1..33)?,
        })
    }
}

/// What the event loop keeps for one client's socket.
struct ClientWatch {
    display: Rc<RefCell<Display<Ghost>>>,
    id: ClientId,
    audit: limits::Audit,
    stall: stall::Stall,
    flood: flood::Watched,
}

impl ClientWatch {
    /// Reads and handles everything the client sent. A panic disconnects it, and so do
    /// holdings beyond [`limits`] (counted now and then) and data that stays without a
    /// request ([`stall`]).
    fn dispatch(&mut self, state: &mut Ghost, socket: BorrowedFd<'_>) -> PostAction {
        let (display, id) = (&self.display, &self.id);
        let reading = flood::reading(&self.flood);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            display
                .borrow_mut()
                .backend()
                .dispatch_single_client(state, id.clone())
        }));
        drop(reading);
        if self.flood.was_cut() {
            warn!(client = ?id, limit = ?flood::FLOOD_LIMIT, "a client's requests kept coming without a pause; disconnected it");
            release(display, state, id, socket);
            return PostAction::Remove;
        }
        match outcome {
            Ok(Ok(handled)) => {
                self.stall.progressed();
                if !self.audit.due(Instant::now(), handled) {
                    return PostAction::Continue;
                }
                let holdings = limits::Holdings::of(&state.display_handle, id.clone());
                let Some(why) = holdings.excess() else {
                    return PostAction::Continue;
                };
                warn!(client = ?id, ?holdings, "a client holds too much; disconnecting it");
                post_display_error(state, id, WL_DISPLAY_NO_MEMORY, &why);
                release(display, state, id, socket);
                PostAction::Remove
            }
            Ok(Err(err)) if err.kind() == io::ErrorKind::WouldBlock => {
                if let Some(began) = self.stall.nothing_read(Instant::now()) {
                    self.check_stall_later(state, began);
                }
                PostAction::Continue
            }
            // The client hung up or was disconnected: its watch goes with it (closing the
            // second descriptor, so the socket closes once the backend drops it too).
            Ok(Err(_)) => PostAction::Remove,
            Err(panic) => {
                let what = panic_message(&panic);
                let in_parser = LAST_PANIC_IN_PROTOCOL_CODE.with(Cell::get);
                error!(client = ?id, %what, in_parser, "handling a client's request panicked; disconnecting that client");
                let (code, message) = if in_parser {
                    (WL_DISPLAY_INVALID_METHOD, "malformed request")
                } else {
                    (
                        WL_DISPLAY_IMPLEMENTATION,
                        "the compositor failed to handle a request",
                    )
                };
                post_display_error(state, id, code, message);
                release(display, state, id, socket);
                PostAction::Remove
            }
        }
    }

    /// After [`stall::STALL_LIMIT`]: a stall that began at `began` and still goes on
    /// disconnects the client as malformed.
    fn check_stall_later(&self, state: &mut Ghost, began: Instant) {
        let (display, id, stall) = (self.display.clone(), self.id.clone(), self.stall.clone());
        let timer = Timer::from_duration(stall::STALL_LIMIT);
        let scheduled = state.loop_handle.insert_source(timer, move |_, _, state| {
            if stall.still_since(began) {
                warn!(client = ?id, "a client's data yields no request; disconnecting it");
                post_display_error(state, &id, WL_DISPLAY_INVALID_METHOD, "malformed request");
                // Dispatching a dead client only runs the backend's clean-up.
                let _ = catch_unwind(AssertUnwindSafe(|| {
                    display
                        .borrow_mut()
                        .backend()
                        .dispatch_single_client(state, id.clone())
                }));
            }
            TimeoutAction::Drop
        });
        if let Err(err) = scheduled {
            warn!(%err, "cannot watch a stalled client");
        }
    }
}

/// Sends `id` a wl_display.error and disconnects it (the error goes out at once, as
/// libwayland's clients expect before the socket closes).
pub(crate) fn post_display_error(state: &mut Ghost, id: &ClientId, code: u32, message: &str) {
    let handle = state.display_handle.backend_handle();
    // wl_display is always the client's object 1.
    let mut display = None;
    let _ = handle.with_all_objects_for(id.clone(), |object| {
        if object.protocol_id() == 1 {
            display = Some(object);
        }
    });
    let text = std::ffi::CString::new(message).unwrap_or_default();
    match display {
        Some(display) => handle.post_error(display, code, text),
        None => handle.kill_client(
            id.clone(),
            DisconnectReason::ProtocolError(ProtocolError {
                code,
                object_id: 1,
                object_interface: "wl_display".into(),
                message: message.into(),
            }),
        ),
    }
}

/// After disconnecting `id` ourselves: ends the connection for the client at once (what
/// was written before, the error, stays readable), has the backend drop the client's
/// objects now rather than at its next clean-up, and gives the memory they held back to
/// the system (a client disconnected for its holdings may have held many megabytes).
fn release(
    display: &Rc<RefCell<Display<Ghost>>>,
    state: &mut Ghost,
    id: &ClientId,
    socket: BorrowedFd<'_>,
) {
    let _ = rustix::net::shutdown(socket, rustix::net::Shutdown::Both);
    // Dispatching a dead client only runs the backend's clean-up.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        display
            .borrow_mut()
            .backend()
            .dispatch_single_client(state, id.clone())
    }));
    give_back_free_memory();
}

/// Hands the heap pages a departed client's objects freed back to the system: the
/// allocator keeps them otherwise, and a client that made thousands of surfaces would
/// leave the compositor tens of megabytes larger for good. Called when clients go,
/// which is rare; it costs a walk over the heap's free lists.
fn give_back_free_memory() {
    // SAFETY: malloc_trim is thread-safe and only hands free heap pages back to the
    // system; memory in use is not touched.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

thread_local! {
    /// Whether the last panic on this thread came from the generated protocol code
    /// (the request parser), i.e. from a malformed message rather than a bug of ours.
    static LAST_PANIC_IN_PROTOCOL_CODE: Cell<bool> = const { Cell::new(false) };
}

/// Installs a panic hook that remembers where each panic came from (see
/// [`LAST_PANIC_IN_PROTOCOL_CODE`]). A panic of ours is reported as before, backtrace
/// and all; one in the generated protocol code is a client's malformed message, which
/// the disconnect already reports: printing (and symbolising) a backtrace for each would
/// let a client make ghostcomp spend time and, with RUST_BACKTRACE set, a hundred
/// megabytes or more on it.
pub fn remember_panic_origin() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let file = info.location().map(|l| l.file()).unwrap_or_default();
        let generated = ["wayland-protocols", "wayland-server", "wayland-backend"];
        let in_protocol_code = generated.iter().any(|g| file.contains(g));
        LAST_PANIC_IN_PROTOCOL_CODE.with(|c| c.set(in_protocol_code));
        if !in_protocol_code {
            previous(info);
        }
    }));
}

/// Takes every waiting connection. Out of file descriptors, the socket rests a moment
/// (connections wait in the backlog) rather than failing the loop or spinning on it.
fn accept_waiting(listener: &ListeningSocket, state: &mut Ghost) -> PostAction {
    loop {
        match listener.accept() {
            Ok(Some(stream)) => match state.add_client(stream, ClientState::default()) {
                Ok(_) => {}
                // The connection just taken is closed (refused); the rest wait.
                Err(err) if is_fd_exhaustion(&err) => {
                    return rest_listener(state, state.clients.listener, &err)
                }
                Err(err) => warn!(%err, "could not add a Wayland client"),
            },
            Ok(None) => return PostAction::Continue,
            Err(err) if is_fd_exhaustion(&err) => {
                return rest_listener(state, state.clients.listener, &err)
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => {
                // ECONNABORTED and the like concern one connection; the next may work.
                warn!(%err, "accepting a Wayland client failed");
                return PostAction::Continue;
            }
        }
    }
}

/// The answer of a listening socket's source that ran out of file descriptors: the
/// socket (`token`) is not watched for [`ACCEPT_PAUSE`], and connections wait in its
/// backlog. Without a token it is watched again at once.
pub(crate) fn rest_listener(
    state: &mut Ghost,
    token: Option<RegistrationToken>,
    err: &io::Error,
) -> PostAction {
    warn!(%err, pause = ?ACCEPT_PAUSE, "out of file descriptors: new clients wait");
    let Some(token) = token else {
        return PostAction::Continue;
    };
    let resume =
        state
            .loop_handle
            .insert_source(Timer::from_duration(ACCEPT_PAUSE), move |_, _, state| {
                if let Err(err) = state.loop_handle.enable(&token) {
                    error!(%err, "cannot watch a listening socket again");
                }
                TimeoutAction::Drop
            });
    match resume {
        Ok(_) => PostAction::Disable,
        Err(err) => {
            error!(%err, "cannot schedule accepting clients again; carrying on");
            PostAction::Continue
        }
    }
}

/// EMFILE (this process) or ENFILE (the whole system).
pub(crate) fn is_fd_exhaustion(err: &io::Error) -> bool {
    err.raw_os_error().is_some_and(|errno| {
        errno == rustix::io::Errno::MFILE.raw_os_error()
            || errno == rustix::io::Errno::NFILE.raw_os_error()
    })
}

/// The file-descriptor limit ghostcomp started with, handed back to its children.
static ORIGINAL_FD_LIMIT: OnceLock<rustix::process::Rlimit> = OnceLock::new();

/// Raises the soft limit on open files to the hard one: every client costs at least one
/// descriptor and every buffer pool or dmabuf another, and the default soft limit (1024
/// on many systems) is reached by a few busy clients.
pub fn raise_fd_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let original = getrlimit(Resource::Nofile);
    let _ = ORIGINAL_FD_LIMIT.set(original);
    if original.current == original.maximum {
        return;
    }
    let raised = Rlimit {
        current: original.maximum,
        maximum: original.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => {
            info!(from = ?original.current, to = ?original.maximum, "raised the open-file limit")
        }
        Err(err) => warn!(%err, "could not raise the open-file limit"),
    }
}

/// Gives a program about to be started the open-file limit ghostcomp started with:
/// some programs (select(2) users) break with descriptors above 1024.
pub fn restore_fd_limit(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    let Some(&original) = ORIGINAL_FD_LIMIT.get() else {
        return;
    };
    // SAFETY: the closure runs in the child between fork and exec; it only makes the
    // setrlimit system call (async-signal-safe) on a value copied before the fork.
    unsafe {
        command.pre_exec(move || {
            rustix::process::setrlimit(rustix::process::Resource::Nofile, original)
                .map_err(io::Error::from)
        });
    }
}
