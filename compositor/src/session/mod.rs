//! The session ghostcomp runs: locking (`lock`), idling (`idle`), login-session
//! integration (`login`), the programs it started (each in its own process group,
//! ended with the compositor, so quitting leaves nothing of the session behind) and
//! kiosk mode (one program fullscreen, no bindings but switching virtual terminals, the
//! compositor exiting with it, as greeters and kiosks want).

use std::{
    process::Command,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use rustix::process::{kill_process_group, Pid, Signal};
use smithay::reexports::calloop::{
    channel::{self, Event, Sender},
    generic::Generic,
    Interest, LoopHandle, Mode, PostAction,
};
use tracing::{info, warn};

use crate::state::Ghost;

pub mod idle;
pub mod lock;
pub mod login;

/// How long children get to exit after SIGTERM before SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(2);

/// A program ghostcomp started that still runs.
#[derive(Debug, Clone)]
struct Child {
    pid: u32,
    program: String,
}

/// What the session keeps.
#[derive(Debug, Default)]
pub struct Session {
    running: Arc<Mutex<Vec<Child>>>,
    /// Kiosk mode: one program, which ghostcomp exits with.
    kiosk: bool,
    /// Started with `--session`: programs get the session's variables.
    pub login: bool,
    /// The session's systemd target was started (and is stopped at the end).
    pub systemd: bool,
    /// The exit code ghostcomp ends with (the kiosk program's).
    pub exit_code: i32,
}

impl Session {
    /// Whether ghostcomp runs in kiosk mode.
    pub fn kiosk(&self) -> bool {
        self.kiosk
    }

    /// Pids of the programs started that still run.
    pub fn running(&self) -> Vec<u32> {
        self.running
            .lock()
            .map(|r| r.iter().map(|c| c.pid).collect())
            .unwrap_or_default()
    }
}

impl Ghost {
    /// Starts `cmd` as a child of the session: in its own process group (so its own
    /// children end with it), reaped when it exits, its exit code sent to `on_exit`.
    /// Returns its pid.
    pub fn spawn_child(
        &self,
        mut cmd: Command,
        program: &str,
        on_exit: Option<Sender<i32>>,
    ) -> Option<u32> {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
        let child = match cmd.spawn() {
            Ok(child) => child,
            Err(err) => {
                warn!(%err, program, "could not start");
                return None;
            }
        };
        let pid = child.id();
        let running = self.session.running.clone();
        if let Ok(mut list) = running.lock() {
            list.push(Child {
                pid,
                program: program.to_owned(),
            });
        }
        // Reap the child when it exits so no zombie stays behind.
        std::thread::spawn(move || {
            let mut child = child;
            let code = child.wait().ok().and_then(|s| s.code()).unwrap_or(1);
            if let Ok(mut list) = running.lock() {
                list.retain(|c| c.pid != pid);
            }
            if let Some(exit) = on_exit {
                let _ = exit.send(code);
            }
        });
        Some(pid)
    }

    /// Kiosk mode: starts `argv`, every toplevel opens fullscreen, and the compositor
    /// exits with the program's exit code when it exits.
    pub fn start_kiosk(&mut self, argv: &[String]) -> anyhow::Result<()> {
        let (sender, receiver) = channel::channel::<i32>();
        self.loop_handle
            .insert_source(receiver, |event, _, state| {
                if let Event::Msg(code) = event {
                    info!(code, "the kiosk program exited; leaving");
                    state.session.exit_code = code;
                    state.loop_signal.stop();
                }
            })
            .map_err(|e| anyhow::anyhow!("cannot watch the kiosk program: {e}"))?;
        let (Some(command), Some(program)) = (self.command_for(argv), argv.first()) else {
            anyhow::bail!("the kiosk command is empty");
        };
        self.spawn_child(command, program, Some(sender))
            .ok_or_else(|| anyhow::anyhow!("cannot start {program}"))?;
        self.session.kiosk = true;
        Ok(())
    }

    /// Ends every program the session started: SIGTERM to each one's process group,
    /// then SIGKILL to what still runs after [`TERM_GRACE`].
    pub fn end_children(&mut self) {
        let children: Vec<Child> = match self.session.running.lock() {
            Ok(list) => list.clone(),
            Err(_) => return,
        };
        if children.is_empty() {
            return;
        }
        for child in &children {
            info!(pid = child.pid, program = child.program, "ending");
            signal_group(child.pid, Signal::TERM);
        }
        let deadline = Instant::now() + TERM_GRACE;
        while Instant::now() < deadline && !self.session.running().is_empty() {
            std::thread::sleep(Duration::from_millis(20));
        }
        for pid in self.session.running() {
            warn!(pid, "did not end on SIGTERM; killing it");
            signal_group(pid, Signal::KILL);
        }
    }
}

/// Sends `signal` to the process group led by `pid`.
fn signal_group(pid: u32, signal: Signal) {
    let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
        return;
    };
    // The group may be gone already; nothing to do then.
    let _ = kill_process_group(pid, signal);
}

/// Stops the event loop on SIGTERM, SIGINT or SIGHUP: each is written to a pipe the loop
/// reads (signal-hook's self-pipe), so no signal mask is changed for children to inherit.
pub fn stop_on_signals(handle: &LoopHandle<'static, Ghost>) -> anyhow::Result<()> {
    use std::os::unix::net::UnixStream;
    let (reader, writer) = UnixStream::pair()?;
    reader.set_nonblocking(true)?;
    for signal in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::low_level::pipe::register(signal, writer.try_clone()?)?;
    }
    let source = Generic::new(reader, Interest::READ, Mode::Level);
    handle
        .insert_source(source, |_, reader, state| {
            use std::io::Read;
            let mut buf = [0u8; 16];
            // SAFETY: the stream is not closed while the source is registered; reading
            // only drains the bytes the signal handler wrote.
            let _ = unsafe { reader.get_mut() }.read(&mut buf);
            info!("asked to stop by a signal");
            state.loop_signal.stop();
            Ok(PostAction::Continue)
        })
        .map_err(|e| anyhow::anyhow!("cannot watch signals: {e}"))?;
    Ok(())
}
