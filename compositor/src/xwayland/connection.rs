//! ghostcomp's own X connection, for what smithay's window manager does not do:
//!
//! - **The X resource database** (`RESOURCE_MANAGER` on the root window), where Xt and
//!   Xlib programs (xterm, xclock, Motif and Tk applications, Xft itself) read
//!   `Xft.dpi`. XSETTINGS tells GTK and Qt; these programs read only the resources,
//!   and only once, when they connect. So the first X11 program, the one that starts
//!   Xwayland on demand, must already find them: the connection is queued as an
//!   *initialization client* (Xwayland's `-initfd`: served at once, while the ordinary
//!   sockets wait until the window manager has taken `WM_S0`), writes the resources,
//!   and only then does ghostcomp become the window manager. Later scale changes are
//!   written through the same connection.
//! - **`_NET_WM_BYPASS_COMPOSITOR`** of managed windows (0 no preference, 1 the program
//!   wants the fastest path to the screen, as SDL games and Wine ask when fullscreen, 2
//!   it wants to stay composited), read when a window maps and whenever it changes.
//!
//! The connection lives on a thread of its own: an X request that waits for a reply
//! must never hold up the compositor, which Xwayland may itself be waiting for.

use std::{
    io::{Read, Write},
    os::{
        fd::{AsFd, OwnedFd},
        linux::net::SocketAddrExt,
        unix::net::{SocketAddr, UnixListener, UnixStream},
    },
    sync::mpsc,
    time::Duration,
};

use smithay::reexports::calloop::channel::Sender as LoopSender;
use x11rb::{
    connection::Connection,
    protocol::{
        xproto::{AtomEnum, ChangeWindowAttributesAux, ConnectionExt, EventMask, PropMode, Window},
        Event,
    },
    rust_connection::{DefaultStream, RustConnection},
    wrapper::ConnectionExt as _,
};

/// The environment variable that hands the stand-in the listening descriptor to pass
/// on as `-initfd`.
pub const INIT_FD: &str = "GHOSTCOMP_X11_INIT_FD";

/// The resource that carries the DPI X11 programs draw text for.
const DPI_RESOURCE: &str = "Xft.dpi";
/// The EWMH property a program sets to ask for (1) or against (2) bypassing
/// composition.
const BYPASS: &str = "_NET_WM_BYPASS_COMPOSITOR";

/// What the compositor asks of the connection.
enum Request {
    /// Write this DPI as `Xft.dpi`.
    Dpi(u32),
    /// Follow this window's properties.
    Watch(Window),
}

/// What the connection tells the compositor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Update {
    /// A window's `_NET_WM_BYPASS_COMPOSITOR` (0 where unset).
    Bypass { window: Window, value: u32 },
}

/// ghostcomp's X connection to one Xwayland server.
pub struct OwnConnection {
    requests: mpsc::Sender<Request>,
    /// One byte per request wakes the thread's poll.
    wake: UnixStream,
    /// Told once the first DPI is on the root window (or the connection failed).
    written: mpsc::Receiver<()>,
    /// Whether `written` has answered already.
    ready: bool,
}

/// The listening socket Xwayland serves as `-initfd`, and the connection already
/// queued on it, which reports property changes through `updates`. The listener must
/// reach the server (inherited) and then be closed here, so a server that dies also
/// ends the connection's wait.
pub fn prepare(dpi: u32, updates: LoopSender<Update>) -> std::io::Result<(OwnedFd, OwnConnection)> {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let name = format!(
        "ghostcomp-x11-init-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let address = SocketAddr::from_abstract_name(name.as_bytes())?;
    let listener = UnixListener::bind_addr(&address)?;
    // The connection waits in the listener's queue until Xwayland runs.
    let stream = UnixStream::connect_addr(&address)?;
    let (request_tx, request_rx) = mpsc::channel();
    let (written_tx, written_rx) = mpsc::channel();
    let (wake, woken) = UnixStream::pair()?;
    woken.set_nonblocking(true)?;
    request_tx
        .send(Request::Dpi(dpi))
        .map_err(|_| std::io::Error::other("X connection gone"))?;
    std::thread::Builder::new()
        .name("x11-own".into())
        .spawn(move || {
            let mut thread = Thread {
                requests: request_rx,
                woken,
                written: written_tx,
                updates,
            };
            if let Err(err) = thread.run(stream) {
                tracing::debug!(%err, "ghostcomp's X connection ended");
            }
            // A connection that failed still lets the window manager start.
            let _ = thread.written.send(());
        })?;
    Ok((
        listener.into(),
        OwnConnection {
            requests: request_tx,
            wake,
            written: written_rx,
            ready: false,
        },
    ))
}

impl OwnConnection {
    /// Waits (at most `limit`) until the first resources are on the root window: the
    /// window manager's start lets the ordinary X11 programs in.
    pub fn wait_written(&mut self, limit: Duration) {
        if !self.ready {
            self.ready = true;
            if self.written.recv_timeout(limit).is_err() {
                tracing::warn!("X resources not written in time; X11 programs may miss Xft.dpi");
            }
        }
    }

    /// Writes `dpi` as `Xft.dpi` (for programs that start from now on).
    pub fn set_dpi(&mut self, dpi: u32) {
        self.send(Request::Dpi(dpi));
    }

    /// Follows `window`'s `_NET_WM_BYPASS_COMPOSITOR` (reported at once and on each
    /// change).
    pub fn watch(&mut self, window: Window) {
        self.send(Request::Watch(window));
    }

    fn send(&mut self, request: Request) {
        if self.requests.send(request).is_ok() {
            let _ = self.wake.write(&[1]);
        }
    }
}

/// The connection's thread.
struct Thread {
    requests: mpsc::Receiver<Request>,
    woken: UnixStream,
    written: mpsc::Sender<()>,
    updates: LoopSender<Update>,
}

type Error = Box<dyn std::error::Error>;

impl Thread {
    /// Connects through the queued stream (Xwayland accepts it at start-up), then
    /// serves requests and reports property changes until either side goes away.
    fn run(&mut self, stream: UnixStream) -> Result<(), Error> {
        let (stream, _) = DefaultStream::from_unix_stream(stream)?;
        let conn = RustConnection::connect_to_stream(stream, 0)?;
        let root = conn.setup().roots.first().ok_or("no X screen")?.root;
        let bypass = conn.intern_atom(false, BYPASS.as_bytes())?.reply()?.atom;
        loop {
            loop {
                match self.requests.try_recv() {
                    Ok(Request::Dpi(dpi)) => {
                        write_dpi(&conn, root, dpi)?;
                        let _ = self.written.send(());
                    }
                    Ok(Request::Watch(window)) => {
                        // A window that is already gone answers with an error: skipped.
                        let aux =
                            ChangeWindowAttributesAux::new().event_mask(EventMask::PROPERTY_CHANGE);
                        if conn.change_window_attributes(window, &aux)?.check().is_ok() {
                            self.report_bypass(&conn, window, bypass)?;
                        }
                    }
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => return Ok(()),
                }
            }
            while let Some(event) = conn.poll_for_event()? {
                if let Event::PropertyNotify(n) = event {
                    if n.atom == bypass {
                        self.report_bypass(&conn, n.window, bypass)?;
                    }
                }
            }
            conn.flush()?;
            let x = conn.stream().as_fd();
            let mut fds = [
                rustix::event::PollFd::from_borrowed_fd(x, rustix::event::PollFlags::IN),
                rustix::event::PollFd::new(&self.woken, rustix::event::PollFlags::IN),
            ];
            match rustix::event::poll(&mut fds, None) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(err) => return Err(err.into()),
            }
            let mut drain = [0u8; 64];
            while matches!(self.woken.read(&mut drain), Ok(n) if n > 0) {}
        }
    }

    fn report_bypass(&self, conn: &RustConnection, window: Window, atom: u32) -> Result<(), Error> {
        let Ok(reply) = conn
            .get_property(false, window, atom, AtomEnum::CARDINAL, 0, 1)?
            .reply()
        else {
            return Ok(());
        };
        let value = reply.value32().and_then(|mut v| v.next()).unwrap_or(0);
        self.updates
            .send(Update::Bypass { window, value })
            .map_err(|_| "the compositor went away")?;
        Ok(())
    }
}

/// Writes `dpi` as `Xft.dpi` into the resources, keeping the others.
fn write_dpi(conn: &RustConnection, root: Window, dpi: u32) -> Result<(), Error> {
    let current = conn
        .get_property(
            false,
            root,
            AtomEnum::RESOURCE_MANAGER,
            AtomEnum::STRING,
            0,
            u32::MAX / 4,
        )?
        .reply()?;
    let merged = merge(
        &String::from_utf8_lossy(&current.value),
        DPI_RESOURCE,
        &dpi.to_string(),
    );
    conn.change_property8(
        PropMode::REPLACE,
        root,
        AtomEnum::RESOURCE_MANAGER,
        AtomEnum::STRING,
        merged.as_bytes(),
    )?;
    conn.sync()?;
    tracing::debug!(dpi, "X resources written");
    Ok(())
}

/// `database` with `key` set to `value`: its line replaced where there is one, added
/// at the end otherwise; every other line kept as it was (a user's `xrdb -merge`).
pub fn merge(database: &str, key: &str, value: &str) -> String {
    let mut out = String::with_capacity(database.len() + key.len() + value.len() + 2);
    let mut found = false;
    for line in database.lines() {
        let is_key = line
            .split_once(':')
            .is_some_and(|(name, _)| name.trim() == key);
        if is_key {
            if !found {
                out.push_str(&format!("{key}:\t{value}\n"));
                found = true;
            }
        } else if !line.is_empty() {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !found {
        out.push_str(&format!("{key}:\t{value}\n"));
    }
    out
}

/// The `Xft.dpi` for a scale: 96 per unit, as toolkits count.
pub fn dpi_for_scale(scale: f64) -> u32 {
    (96.0 * scale).round().clamp(1.0, 9600.0) as u32
}

/// Lets the listener reach the child started next (the stand-in), as the number
/// [`INIT_FD`] names; the caller closes its own copy right after the start.
pub fn inheritable(listener: &OwnedFd) -> std::io::Result<()> {
    rustix::io::fcntl_setfd(listener, rustix::io::FdFlags::empty())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dpi_is_added_to_an_empty_database() {
        assert_eq!(merge("", "Xft.dpi", "192"), "Xft.dpi:\t192\n");
    }

    #[test]
    fn the_dpi_replaces_its_line_and_keeps_the_users_others() {
        let db = "XTerm*faceName:\tMonospace\nXft.dpi:\t96\n*background:\tblack\nXft.dpi: 120\n";
        assert_eq!(
            merge(db, "Xft.dpi", "144"),
            "XTerm*faceName:\tMonospace\nXft.dpi:\t144\n*background:\tblack\n"
        );
    }

    #[test]
    fn a_resource_that_only_starts_with_the_name_is_not_replaced() {
        let db = "Xft.dpiX:\t1\n";
        assert_eq!(merge(db, "Xft.dpi", "96"), "Xft.dpiX:\t1\nXft.dpi:\t96\n");
    }

    #[test]
    fn scales_give_whole_dpis() {
        assert_eq!(dpi_for_scale(1.0), 96);
        assert_eq!(dpi_for_scale(1.25), 120);
        assert_eq!(dpi_for_scale(2.0), 192);
    }
}
