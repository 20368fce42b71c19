//! The X resource database (`RESOURCE_MANAGER` on the root window), where Xt and Xlib
//! programs (xterm, xclock, Motif and Tk applications, Xft itself) read `Xft.dpi`.
//! XSETTINGS tells GTK and Qt; these programs read only the resources, and only once,
//! when they connect. So the first X11 program, the one that starts Xwayland on
//! demand, must already find them: ghostcomp connects as an *initialization client*
//! (Xwayland's `-initfd`: served at once, while the ordinary sockets wait until the
//! window manager has taken `WM_S0`), sets the resources, and only then becomes the
//! window manager. Later scale changes are written through the same connection.
//!
//! The connection lives on a thread of its own: an X request that waits for a reply
//! must never hold up the compositor, which Xwayland may itself be waiting for.

use std::{
    os::{
        fd::OwnedFd,
        linux::net::SocketAddrExt,
        unix::net::{SocketAddr, UnixListener, UnixStream},
    },
    sync::mpsc,
    time::Duration,
};

use x11rb::{
    connection::Connection,
    protocol::xproto::{AtomEnum, ConnectionExt, PropMode},
    rust_connection::{DefaultStream, RustConnection},
    wrapper::ConnectionExt as _,
};

/// The environment variable that hands the stand-in the listening descriptor to pass
/// on as `-initfd`.
pub const INIT_FD: &str = "GHOSTCOMP_X11_INIT_FD";

/// The resource that carries the DPI X11 programs draw text for.
const DPI_RESOURCE: &str = "Xft.dpi";

/// The resources writer of one Xwayland server.
pub struct Resources {
    /// The DPI to write next (the thread writes each one it receives).
    dpi: mpsc::Sender<u32>,
    /// Told once the first DPI is on the root window (or the connection failed).
    written: mpsc::Receiver<()>,
    /// Whether `written` has answered already.
    ready: bool,
}

/// The listening socket Xwayland serves as `-initfd`, and the writer already queued on
/// it. The listener must reach the server (inherited) and then be closed here, so a
/// server that dies also ends the writer's wait.
pub fn prepare(dpi: u32) -> std::io::Result<(OwnedFd, Resources)> {
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
    let (dpi_tx, dpi_rx) = mpsc::channel();
    let (written_tx, written_rx) = mpsc::channel();
    dpi_tx
        .send(dpi)
        .map_err(|_| std::io::Error::other("resources writer gone"))?;
    std::thread::Builder::new()
        .name("x11-resources".into())
        .spawn(move || {
            if let Err(err) = write_resources(stream, &dpi_rx, &written_tx) {
                tracing::debug!(%err, "X resources connection ended");
            }
            // A writer that failed still lets the window manager start.
            let _ = written_tx.send(());
        })?;
    Ok((
        listener.into(),
        Resources {
            dpi: dpi_tx,
            written: written_rx,
            ready: false,
        },
    ))
}

impl Resources {
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
    pub fn set_dpi(&self, dpi: u32) {
        let _ = self.dpi.send(dpi);
    }
}

/// The writer's thread: connects through the queued stream (Xwayland accepts it at
/// start-up) and writes each DPI it is sent into the resources, keeping the others.
fn write_resources(
    stream: UnixStream,
    dpis: &mpsc::Receiver<u32>,
    written: &mpsc::Sender<()>,
) -> Result<(), Box<dyn std::error::Error>> {
    let (stream, _) = DefaultStream::from_unix_stream(stream)?;
    let conn = RustConnection::connect_to_stream(stream, 0)?;
    let root = conn.setup().roots.first().ok_or("no X screen")?.root;
    while let Ok(dpi) = dpis.recv() {
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
        let _ = written.send(());
    }
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
