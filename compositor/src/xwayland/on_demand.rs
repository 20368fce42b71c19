//! Xwayland on demand. smithay starts the X server with the X11 sockets it opened
//! (`-listenfd`); ghostcomp has it start this stand-in instead (`Xwayland` in a
//! private folder ahead of the real one on PATH, a link to ghostcomp itself), which
//! waits until an X11 program connects to one of those sockets and then becomes the
//! real Xwayland with the same arguments: the connection waits in the socket's queue
//! meanwhile, so the first X11 program costs only Xwayland's start, and a session that
//! runs none costs a sleeping process.

use std::{
    ffi::OsString,
    os::{fd::BorrowedFd, unix::process::CommandExt},
    path::{Path, PathBuf},
    process::Command,
};

/// The real Xwayland, for the stand-in to become.
pub const REAL_XWAYLAND: &str = "GHOSTCOMP_REAL_XWAYLAND";
/// PATH as it was before the stand-in's folder went in front.
pub const REAL_PATH: &str = "GHOSTCOMP_REAL_PATH";

/// Whether this process was started as the stand-in (its name is `Xwayland`).
pub fn is_stand_in() -> bool {
    std::env::args_os()
        .next()
        .is_some_and(|arg0| Path::new(&arg0).file_name() == Some(std::ffi::OsStr::new("Xwayland")))
}

/// Set (to anything) where the stand-in should become Xwayland at once
/// (`mode = "always"`): it still adds the resources client's `-initfd`.
pub const AT_ONCE: &str = "GHOSTCOMP_XWAYLAND_AT_ONCE";

/// The stand-in: waits for the first X11 connection (unless [`AT_ONCE`]), then execs
/// the real Xwayland, with `-initfd` added where ghostcomp queued its resources client
/// ([`super::connection`]). Returns only where that failed (or exits quietly when the
/// compositor went away first).
pub fn wait_then_exec() -> std::io::Error {
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if std::env::var_os(AT_ONCE).is_none() {
        if let Some(err) = wait_for_connection(&args) {
            return err;
        }
    }
    if let Some(fd) = std::env::var(super::connection::INIT_FD)
        .ok()
        .filter(|fd| fd.parse::<i32>().is_ok())
    {
        args.extend(["-initfd".into(), fd.into()]);
    }
    let real = std::env::var_os(REAL_XWAYLAND).unwrap_or_else(|| "/usr/bin/Xwayland".into());
    let mut command = Command::new(real);
    command
        .args(&args)
        .env_remove(REAL_XWAYLAND)
        .env_remove(AT_ONCE)
        .env_remove(super::connection::INIT_FD);
    match std::env::var_os(REAL_PATH) {
        Some(path) => command.env("PATH", path).env_remove(REAL_PATH),
        None => &mut command,
    };
    command.exec()
}

/// Sleeps until an X11 program connects to one of the `-listenfd` sockets in `args`;
/// exits quietly when the compositor goes away first. Some(error) where polling failed.
fn wait_for_connection(args: &[OsString]) -> Option<std::io::Error> {
    let listening: Vec<i32> = args
        .windows(2)
        .filter(|pair| pair[0] == "-listenfd")
        .filter_map(|pair| pair[1].to_str()?.parse().ok())
        .collect();
    let wayland: Option<i32> = std::env::var("WAYLAND_SOCKET")
        .ok()
        .and_then(|v| v.parse().ok());
    loop {
        // SAFETY: smithay handed these descriptors to this process (they are its
        // -listenfd arguments and WAYLAND_SOCKET) and nothing closes them here.
        let mut fds: Vec<rustix::event::PollFd<'_>> = listening
            .iter()
            .map(|fd| unsafe { BorrowedFd::borrow_raw(*fd) })
            .map(|fd| rustix::event::PollFd::from_borrowed_fd(fd, rustix::event::PollFlags::IN))
            .collect();
        if let Some(fd) = wayland {
            // SAFETY: as above.
            let fd = unsafe { BorrowedFd::borrow_raw(fd) };
            fds.push(rustix::event::PollFd::from_borrowed_fd(
                fd,
                rustix::event::PollFlags::empty(),
            ));
        }
        match rustix::event::poll(&mut fds, None) {
            Err(rustix::io::Errno::INTR) => continue,
            Err(err) => return Some(err.into()),
            Ok(_) => {}
        }
        let compositor_gone = wayland.is_some()
            && fds.last().is_some_and(|fd| {
                fd.revents()
                    .intersects(rustix::event::PollFlags::HUP | rustix::event::PollFlags::ERR)
            });
        if compositor_gone {
            std::process::exit(0);
        }
        if fds[..listening.len()]
            .iter()
            .any(|fd| !fd.revents().is_empty())
        {
            return None;
        }
    }
}

/// Makes the folder with the stand-in (a link to this executable named `Xwayland`) in
/// `runtime_dir`, and returns the environment smithay should start "Xwayland" with:
/// that folder first on PATH, and where the real one is.
pub fn prepare(runtime_dir: &Path, name: &str) -> std::io::Result<Vec<(String, OsString)>> {
    let real = find_in_path("Xwayland").ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, "Xwayland is not installed")
    })?;
    let dir = runtime_dir.join(format!("ghostcomp-xwayland-{name}"));
    std::fs::create_dir_all(&dir)?;
    let link = dir.join("Xwayland");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(std::env::current_exe()?, &link)?;
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut ours = OsString::from(dir.as_os_str());
    ours.push(":");
    ours.push(&path);
    Ok(vec![
        ("PATH".into(), ours),
        (REAL_PATH.into(), path),
        (REAL_XWAYLAND.into(), real.into_os_string()),
    ])
}

/// Where X11 servers put their sockets.
pub const SOCKET_DIR: &str = "/tmp/.X11-unix";

/// Makes the X11 socket folder where the system has not (a machine without X11's
/// start-up scripts, a fresh container): world-writable with the sticky bit, as those
/// scripts make it, so other users' servers can still put their sockets beside ours.
pub fn ensure_socket_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if dir.is_dir() {
        return Ok(());
    }
    match std::fs::DirBuilder::new().mode(0o1777).create(dir) {
        Ok(()) => {
            // The umask took bits off the mode; set it whole.
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o1777))?;
            tracing::info!(dir = %dir.display(), "made the X11 socket folder");
            Ok(())
        }
        // Another server made it meanwhile.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// The first `program` on PATH.
pub fn find_in_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_missing_socket_folder_is_made_sticky_and_world_writable() {
        let base = std::env::temp_dir().join(format!("ghost-x11-dir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        let dir = base.join(".X11-unix");
        super::ensure_socket_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o1777);
        // A second time finds it there.
        super::ensure_socket_dir(&dir).unwrap();
        std::fs::remove_dir_all(&base).unwrap();
    }
}
