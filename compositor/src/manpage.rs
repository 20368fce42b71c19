//! `ghostcomp manpages DIR`: the manual pages, rendered by clap_mangen from the command
//! line's own definitions (so a new option is documented the day it exists), with the
//! sections a command line cannot say: files, environment, signals and exit status.

use std::{io::Write, path::Path};

use clap::CommandFactory;

use crate::cli::Cli;

/// What ghostcomp(1) says beyond its options, in roff.
const MORE: &str = r#".SH FILES
.TP
.I $XDG_CONFIG_HOME/ghostcomp/config.toml
The configuration (then
.IR /etc/ghostcomp/config.toml ).
.B ghostcomp validate
checks a file; a file with errors is refused with file:line:column and the running
configuration stays.
.TP
.I $XDG_RUNTIME_DIR/ghostcomp.$WAYLAND_DISPLAY.sock
The IPC socket that
.B ghostcomp msg
talks to.
.TP
.I share/wayland-sessions/ghostcomp.desktop
The session display managers list; it runs
.BR "ghostcomp \-\-session" .
.TP
.I lib/systemd/user/ghostcomp-session.target
Started by
.B \-\-session
with a systemd user manager, bound to
.IR graphical-session.target ;
stopped when ghostcomp exits.
.SH ENVIRONMENT
.TP
.B WAYLAND_DISPLAY\fR, \fBDISPLAY
Set: ghostcomp runs nested in that desktop (backend auto).
.TP
.B LIBSEAT_BACKEND
The session backend on KMS: logind, seatd, or noop (as root).
.TP
.B RUST_LOG
Log filter (default info), e.g.
.IR ghost_compositor=debug .
.TP
.B GHOSTCOMP_SOCKET
The IPC socket for
.B ghostcomp msg
(set for every program ghostcomp starts).
.SH SIGNALS
SIGTERM, SIGINT and SIGHUP leave as
.B ghostcomp msg quit
does: every program ghostcomp started gets SIGTERM, then SIGKILL two seconds later.
.SH EXIT STATUS
0 on a normal exit; in kiosk mode the kiosk program's status; 1 when ghostcomp cannot
start.
.SH SEE ALSO
.BR swaylock (1),
.BR swayidle (1),
.BR xdg-desktop-portal (8),
.BR Xwayland (1)
"#;

/// Writes ghostcomp.1 and a page for each visible subcommand into `dir`.
pub fn write(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let command = Cli::command();
    clap_mangen::generate_to(command, dir)?;
    let mut main = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("ghostcomp.1"))?;
    main.write_all(MORE.as_bytes())?;
    Ok(())
}
