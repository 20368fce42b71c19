//! Pasting what an X11 program copied, for the types smithay's bridge cannot read.
//! smithay 0.7 finds the X11 target of a type other than text in a property that is
//! never there, so an image copied in GIMP or xclip would not paste into a Wayland
//! program. Here ghostcomp asks the owner for the target named like the MIME type (as
//! X11 programs name them) over a connection of its own, on a thread of its own,
//! follows the owner's incremental transfer (INCR) for large data, and writes what
//! arrives into the Wayland client's descriptor.

use std::{
    os::fd::{AsFd, OwnedFd},
    time::{Duration, Instant},
};

use smithay::wayland::selection::SelectionTarget;
use x11rb::{
    connection::Connection,
    protocol::{
        xproto::{
            AtomEnum, ConnectionExt, CreateWindowAux, EventMask, Property, Window, WindowClass,
        },
        Event,
    },
    rust_connection::RustConnection,
    COPY_DEPTH_FROM_PARENT, CURRENT_TIME,
};

/// How long the owner may take to answer, and to send each increment.
const OWNER_LIMIT: Duration = Duration::from_secs(5);
/// How long the pasting client may leave its end unread before the paste is dropped.
const READER_LIMIT: Duration = Duration::from_secs(10);
/// The property the owner writes the data into, on ghostcomp's window.
const PROPERTY: &str = "GHOST_SELECTION";

/// Whether smithay's own bridge carries `mime_type` (the text types: UTF8_STRING and
/// TEXT, which it maps itself).
pub fn bridged_by_smithay(mime_type: &str) -> bool {
    matches!(mime_type, "text/plain;charset=utf-8" | "text/plain")
}

/// Reads `selection` from its X11 owner as `mime_type` and writes it to `fd`, on a
/// thread; the descriptor is closed at the end (or on failure, which is logged), so
/// the pasting client always sees the end of the data.
pub fn read_selection(display: String, selection: SelectionTarget, mime_type: String, fd: OwnedFd) {
    let spawned =
        std::thread::Builder::new()
            .name("x11-paste".into())
            .spawn(
                move || match transfer(&display, selection, &mime_type, &fd) {
                    Ok(bytes) => tracing::debug!(mime_type, bytes, "pasted from an X11 program"),
                    Err(err) => tracing::warn!(%err, mime_type, "cannot paste from an X11 program"),
                },
            );
    if let Err(err) = spawned {
        tracing::warn!(%err, "cannot start a paste from an X11 program");
    }
}

type Error = Box<dyn std::error::Error + Send + Sync>;

fn transfer(
    display: &str,
    selection: SelectionTarget,
    mime_type: &str,
    fd: &OwnedFd,
) -> Result<usize, Error> {
    // Writes wait in poll, with a limit, never in write itself.
    rustix::io::ioctl_fionbio(fd, true)?;
    let (conn, screen) = RustConnection::connect(Some(display))?;
    let root = conn.setup().roots.get(screen).ok_or("no X screen")?.root;
    let window = conn.generate_id()?;
    conn.create_window(
        COPY_DEPTH_FROM_PARENT,
        window,
        root,
        0,
        0,
        1,
        1,
        0,
        WindowClass::INPUT_OUTPUT,
        0,
        &CreateWindowAux::new().event_mask(EventMask::PROPERTY_CHANGE),
    )?;
    let selection_atom = match selection {
        SelectionTarget::Clipboard => intern(&conn, "CLIPBOARD")?,
        SelectionTarget::Primary => AtomEnum::PRIMARY.into(),
    };
    let target = intern(&conn, mime_type)?;
    let property = intern(&conn, PROPERTY)?;
    let incr = intern(&conn, "INCR")?;
    conn.convert_selection(window, selection_atom, target, property, CURRENT_TIME)?;
    conn.flush()?;

    let notify = loop {
        match next_event(&conn)? {
            Event::SelectionNotify(n) if n.requestor == window => break n,
            _ => {}
        }
    };
    if notify.property == u32::from(AtomEnum::NONE) {
        return Err(format!("the owner has no {mime_type}").into());
    }
    let first = take_property(&conn, window, property)?;
    if first.type_ != incr {
        write_all(fd, &first.value)?;
        return Ok(first.value.len());
    }
    // Incremental: each new value of the property is the next piece; an empty one
    // ends it.
    let mut total = 0;
    loop {
        match next_event(&conn)? {
            Event::PropertyNotify(n)
                if n.window == window && n.atom == property && n.state == Property::NEW_VALUE =>
            {
                let piece = take_property(&conn, window, property)?;
                if piece.value.is_empty() {
                    return Ok(total);
                }
                write_all(fd, &piece.value)?;
                total += piece.value.len();
            }
            _ => {}
        }
    }
}

fn intern(conn: &RustConnection, name: &str) -> Result<u32, Error> {
    Ok(conn.intern_atom(false, name.as_bytes())?.reply()?.atom)
}

/// Reads and deletes the property (deleting it asks an incremental owner for more).
fn take_property(
    conn: &RustConnection,
    window: Window,
    property: u32,
) -> Result<x11rb::protocol::xproto::GetPropertyReply, Error> {
    Ok(conn
        .get_property(true, window, property, AtomEnum::ANY, 0, u32::MAX / 4)?
        .reply()?)
}

/// The next X event, waiting at most [`OWNER_LIMIT`].
fn next_event(conn: &RustConnection) -> Result<Event, Error> {
    let end = Instant::now() + OWNER_LIMIT;
    loop {
        if let Some(event) = conn.poll_for_event()? {
            return Ok(event);
        }
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("the X11 owner stopped answering".into());
        }
        wait_for(conn.stream().as_fd(), rustix::event::PollFlags::IN, left)?;
    }
}

/// Writes all of `data` to the pasting client, waiting at most [`READER_LIMIT`] for
/// room each time its pipe is full.
fn write_all(fd: &OwnedFd, mut data: &[u8]) -> Result<(), Error> {
    while !data.is_empty() {
        match rustix::io::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(rustix::io::Errno::AGAIN) => {
                wait_for(fd.as_fd(), rustix::event::PollFlags::OUT, READER_LIMIT)?;
            }
            Err(rustix::io::Errno::INTR) => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(())
}

/// Waits until `fd` is ready for `flags`, or fails after `limit`.
fn wait_for(
    fd: std::os::fd::BorrowedFd<'_>,
    flags: rustix::event::PollFlags,
    limit: Duration,
) -> Result<(), Error> {
    let timeout = rustix::time::Timespec::try_from(limit)?;
    let mut fds = [rustix::event::PollFd::from_borrowed_fd(fd, flags)];
    match rustix::event::poll(&mut fds, Some(&timeout)) {
        Ok(0) => Err("timed out".into()),
        Ok(_) | Err(rustix::io::Errno::INTR) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_text_types_go_through_smithays_bridge() {
        assert!(super::bridged_by_smithay("text/plain;charset=utf-8"));
        assert!(super::bridged_by_smithay("text/plain"));
        assert!(!super::bridged_by_smithay("image/png"));
        assert!(!super::bridged_by_smithay("text/html"));
    }
}
