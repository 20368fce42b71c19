//! X11 programs on ghostcomp through Xwayland (`[xwayland]`). ghostcomp opens the X11
//! sockets (the first free display, abstract and in `/tmp/.X11-unix`) through smithay,
//! exports `DISPLAY` to what it starts, and runs Xwayland at the first X11 connection
//! (`mode = "on-demand"`, see [`on_demand`]) or at once (`"always"`). It is the X11
//! window manager itself (smithay's `X11Wm`, glue in [`wm`]). If Xwayland exits or
//! crashes, its X11 windows go, the rest of the session stays, and the same display
//! is armed again for the next X11 program.

mod connection;
mod focus;
pub mod on_demand;
mod tie;
pub mod transfer;
mod wm;

use std::{
    path::Path,
    process::Stdio,
    time::{Duration, Instant},
};

use ghost_config::XwaylandMode;
use serde_json::{json, Value};
use smithay::{
    reexports::{calloop::RegistrationToken, wayland_server::Client},
    xwayland::{X11Wm, XWayland, XWaylandEvent},
};

pub use focus::KeyboardFocus;
pub use tie::{surface_of, tied_by_id};

use crate::state::Ghost;

/// Xwayland's state in the compositor.
#[derive(Default)]
pub struct Xwayland {
    /// The display number (`:N`) X11 programs use; kept across restarts so the
    /// `DISPLAY` exported stays right.
    display: Option<u32>,
    /// The server's event source (dropping it ends the server) and its client.
    server: Option<(RegistrationToken, Client)>,
    /// The watch that dispatches the server's Wayland requests.
    requests: Option<RegistrationToken>,
    /// The window manager's connection, while the server runs.
    pub wm: Option<X11Wm>,
    /// When the running server was started (for the start-up time in `msg`).
    started_at: Option<Instant>,
    /// How long the last start took, from the first X11 connection's wake-up (or the
    /// start itself, when not on demand) to the window manager's connection.
    ready_after: Option<Duration>,
    /// The scale Xwayland's client was last given (None: none yet, or a new server).
    applied_scale: Option<f64>,
    /// The scale XSETTINGS last said (None: none yet, or a new window manager).
    announced_scale: Option<f64>,
    /// ghostcomp's own X connection (the X resources, window properties smithay does
    /// not read), queued before the server started; and its updates' event source.
    own: Option<connection::OwnConnection>,
    own_updates: Option<RegistrationToken>,
    /// Servers that reached the window manager so far.
    starts: u32,
    /// Servers that went away (exited or crashed).
    ends: u32,
    /// When the last server got its window manager, to tell a server that dies at
    /// once (armed again only after a pause) from one that ran a while.
    ready_at: Option<Instant>,
    /// A window mapped before Xwayland tied it to its surface: it takes the focus at
    /// its surface's first commit.
    pub(crate) focus_pending: Option<smithay::xwayland::X11Surface>,
}

impl Xwayland {
    /// Xwayland's Wayland client, while it runs.
    pub fn client(&self) -> Option<Client> {
        self.server.as_ref().map(|(_, client)| client.clone())
    }

    /// `DISPLAY` for X11 programs, once the sockets exist.
    pub fn display(&self) -> Option<String> {
        self.display.map(|n| format!(":{n}"))
    }
}

/// The X server ghostcomp started: its child named Xwayland (its Wayland connection
/// is a socket pair, whose peer credentials name ghostcomp itself).
fn server_pid() -> Option<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // pid (comm) state ppid …: comm may hold spaces, so split at its last ')'.
            let (head, tail) = stat.rsplit_once(')')?;
            let comm = head.split_once('(')?.1;
            let ppid: u32 = tail.split_whitespace().nth(1)?.parse().ok()?;
            (comm == "Xwayland" && ppid == me).then_some(pid)
        })
}

impl Ghost {
    /// Opens the X11 sockets and arms Xwayland as `[xwayland] mode` says (nothing for
    /// "off"). An error leaves the session without X11, which it logs.
    pub fn xwayland_start(&mut self) {
        let mode = self.config.xwayland.mode;
        if mode == XwaylandMode::Off || self.xwayland.server.is_some() {
            return;
        }
        let runtime_dir = std::env::var_os("XDG_RUNTIME_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        // Both modes start the stand-in: on demand it waits for the first X11
        // program; either way it passes on the resources client's -initfd.
        let mut envs = match on_demand::prepare(&runtime_dir, &self.socket_name.to_string_lossy()) {
            Ok(envs) => envs,
            Err(err) => {
                tracing::warn!(%err, "no X11: cannot prepare Xwayland");
                return;
            }
        };
        if mode == XwaylandMode::Always {
            envs.push((on_demand::AT_ONCE.into(), "1".into()));
        }
        let dpi = connection::dpi_for_scale(self.xwayland_wanted_scale());
        let init = match self.own_connection(dpi) {
            Ok((listener, own)) => {
                use std::os::fd::AsRawFd;
                envs.push((
                    connection::INIT_FD.into(),
                    listener.as_raw_fd().to_string().into(),
                ));
                Some((listener, own))
            }
            Err(err) => {
                tracing::warn!(%err, "X11 programs get no X resources");
                None
            }
        };
        if let Err(err) = on_demand::ensure_socket_dir(Path::new(on_demand::SOCKET_DIR)) {
            tracing::warn!(%err, dir = on_demand::SOCKET_DIR, "no X11: no socket folder");
            return;
        }
        // Xwayland's own messages, for when X11 programs misbehave.
        let log = std::fs::File::create(runtime_dir.join(format!(
            "ghostcomp-xwayland-{}.log",
            self.socket_name.to_string_lossy()
        )))
        .map(Stdio::from)
        .unwrap_or_else(|_| Stdio::null());
        let spawned = XWayland::spawn(
            &self.display_handle,
            self.xwayland.display,
            envs,
            true,
            Stdio::null(),
            log,
            |_| {},
        );
        // The stand-in has the listener now; this copy goes, so a server that dies
        // also ends the writer's wait.
        let (init_listener, own) = init.unzip();
        drop(init_listener);
        let (server, client) = match spawned {
            Ok(s) => s,
            Err(err) => {
                tracing::warn!(%err, "no X11: cannot start Xwayland");
                return;
            }
        };
        self.xwayland.own = own;
        let display = server.display_number();
        let wm_client = client.clone();
        let armed_at = Instant::now();
        let inserted = self
            .loop_handle
            .insert_source(server, move |event, _, state| match event {
                XWaylandEvent::Ready { x11_socket, .. } => {
                    // Taking WM_S0 lets the ordinary X11 programs in: the resources
                    // they read at connection go first.
                    if let Some(own) = state.xwayland.own.as_mut() {
                        own.wait_written(Duration::from_millis(500));
                    }
                    let handle = state.loop_handle.clone();
                    match X11Wm::start_wm(handle, x11_socket, wm_client.clone()) {
                        Ok(wm) => {
                            state.xwayland.wm = Some(wm);
                            state.xwayland.announced_scale = None;
                            state.xwayland.starts += 1;
                            state.xwayland.ready_at = Some(Instant::now());
                            // On demand, the start began at an X11 connection only the
                            // stand-in saw: no time is known then.
                            state.xwayland.ready_after =
                                state.xwayland.started_at.map(|at| at.elapsed());
                            tracing::info!(
                                display = ?state.xwayland.display(),
                                took_ms = ?state.xwayland.ready_after.map(|d| d.as_millis()),
                                "Xwayland ready"
                            );
                        }
                        Err(err) => {
                            tracing::warn!(%err, "cannot be Xwayland's window manager");
                            state.xwayland_gone();
                        }
                    }
                }
                XWaylandEvent::Error => {
                    tracing::warn!("Xwayland exited while starting");
                    state.xwayland_gone();
                }
            });
        match self.watch_inserted_client(&client) {
            Ok(token) => self.xwayland.requests = Some(token),
            Err(err) => tracing::warn!(%err, "cannot read Xwayland's requests"),
        }
        match inserted {
            Ok(token) => {
                self.xwayland.display = Some(display);
                self.xwayland.server = Some((token, client));
                self.xwayland.applied_scale = None;
                self.xwayland.started_at = (mode == XwaylandMode::Always).then_some(armed_at);
                let name = format!(":{display}");
                tracing::info!(display = name, ?mode, "X11 sockets open");
                self.xwayland_watch_start();
            }
            Err(err) => tracing::warn!(%err, "no X11: cannot watch Xwayland"),
        }
    }

    /// The running Xwayland went away (exit, crash, or a failed start): its X11
    /// windows go, and the display is armed again for the next X11 program: at once
    /// after a server that ran a while, after a pause where it died at start (so a
    /// server that cannot run does not spin).
    pub fn xwayland_gone(&mut self) {
        self.xwayland.wm = None;
        self.xwayland.own = None;
        if let Some(token) = self.xwayland.own_updates.take() {
            self.loop_handle.remove(token);
        }
        self.xwayland.started_at = None;
        if let Some((token, _client)) = self.xwayland.server.take() {
            // Dropping the source drops smithay's XWayland, which disconnects its client.
            self.loop_handle.remove(token);
            self.xwayland.ends += 1;
        }
        if let Some(token) = self.xwayland.requests.take() {
            self.loop_handle.remove(token);
        }
        self.remove_x11_windows();
        tracing::warn!("Xwayland went away; X11 programs start it again");
        let ran = self
            .xwayland
            .ready_at
            .take()
            .is_some_and(|at| at.elapsed() > Duration::from_secs(2));
        let pause = if ran {
            Duration::ZERO
        } else {
            Duration::from_millis(500)
        };
        let timer = smithay::reexports::calloop::timer::Timer::from_duration(pause);
        let armed = self.loop_handle.insert_source(timer, |_, _, state| {
            state.xwayland_start();
            smithay::reexports::calloop::timer::TimeoutAction::Drop
        });
        if let Err(err) = armed {
            tracing::warn!(%err, "cannot arm Xwayland again");
        }
    }

    /// Gives X11 programs the scale `[xwayland] scaling` asks for (checked after each
    /// event-loop iteration; acts only on a change). "upscale": scale 1, the renderer
    /// upscales. "native": Xwayland's client scale is the largest output scale, so its
    /// screen and windows are in the outputs' pixels (smithay converts X11 geometry and
    /// wl_output sizes for it), and XSETTINGS' Xft/DPI tells toolkits to scale up.
    pub fn xwayland_apply_scaling(&mut self) {
        let Some(client) = self.xwayland.client() else {
            return;
        };
        let scale = self.xwayland_wanted_scale();
        if self.xwayland.applied_scale != Some(scale) {
            self.xwayland.applied_scale = Some(scale);
            if let Some(data) = client.get_data::<smithay::xwayland::XWaylandClientData>() {
                data.compositor_state.set_client_scale(scale);
            }
            // wl_output and xdg_output go out again, in the client's new scale.
            for output in self.space.outputs() {
                output.change_current_state(None, None, None, None);
            }
            tracing::info!(scale, "X11 programs' scale");
        }
        if self.xwayland.wm.is_none() || self.xwayland.announced_scale == Some(scale) {
            return;
        }
        self.xwayland.announced_scale = Some(scale);
        use smithay::xwayland::xwm::settings::Value;
        let dpi = (96.0 * scale * 1024.0).round() as i32;
        let settings = [
            ("Xft/DPI".to_string(), Value::Integer(dpi)),
            (
                "Gdk/WindowScalingFactor".to_string(),
                Value::Integer(scale.round().max(1.0) as i32),
            ),
            ("Gdk/UnscaledDPI".to_string(), Value::Integer(96 * 1024)),
        ];
        if let Some(wm) = self.xwayland.wm.as_mut() {
            if let Err(err) = wm.set_xsettings(settings.into_iter()) {
                tracing::warn!(%err, "cannot set XSETTINGS for X11 programs");
            }
        }
        if let Some(own) = self.xwayland.own.as_mut() {
            own.set_dpi(connection::dpi_for_scale(scale));
        }
    }

    /// Queues ghostcomp's own X connection for the next server (see [`connection`]):
    /// the listener to pass as `-initfd` (made inheritable) and the connection, whose
    /// property updates reach the event loop.
    fn own_connection(
        &mut self,
        dpi: u32,
    ) -> std::io::Result<(std::os::fd::OwnedFd, connection::OwnConnection)> {
        use smithay::reexports::calloop::channel::{channel, Event};
        let (updates, received) = channel();
        let (listener, own) = connection::prepare(dpi, updates)?;
        connection::inheritable(&listener)?;
        let token = self
            .loop_handle
            .insert_source(received, |event, _, state| {
                if let Event::Msg(update) = event {
                    state.x11_property_update(update);
                }
            })
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        if let Some(old) = self.xwayland.own_updates.replace(token) {
            self.loop_handle.remove(old);
        }
        Ok((listener, own))
    }

    /// Follows a managed X11 window's properties that smithay does not read.
    pub(crate) fn x11_watch_properties(&mut self, window: u32) {
        if let Some(own) = self.xwayland.own.as_mut() {
            own.watch(window);
        }
    }

    /// A watched property of an X11 window changed (or was read at its map).
    fn x11_property_update(&mut self, update: connection::Update) {
        let connection::Update::Bypass { window, value } = update;
        let found = self
            .space
            .elements()
            .find(|w| w.x11_surface().is_some_and(|x| x.window_id() == window))
            .cloned();
        if let Some(w) = found {
            let data = crate::shell::window_data(&w);
            if data.bypass_compositor.replace(value) != value {
                tracing::debug!(window, value, "_NET_WM_BYPASS_COMPOSITOR");
                self.queue_redraw_all();
            }
        }
    }

    /// The scale X11 programs should have: 1 when upscaled, the largest output scale
    /// at native resolution.
    fn xwayland_wanted_scale(&self) -> f64 {
        match self.config.xwayland.scaling {
            ghost_config::XwaylandScaling::Upscale => 1.0,
            ghost_config::XwaylandScaling::Native => self
                .space
                .outputs()
                .map(|o| o.current_scale().fractional_scale())
                .fold(1.0, f64::max),
        }
    }

    /// Where the Xwayland on demand stands, for `msg version`.
    pub fn xwayland_json(&self) -> Value {
        let x = &self.xwayland;
        json!({
            "mode": match self.config.xwayland.mode {
                XwaylandMode::Off => "off",
                XwaylandMode::OnDemand => "on-demand",
                XwaylandMode::Always => "always",
            },
            "display": x.display(),
            "running": x.wm.is_some(),
            "armed": x.server.is_some(),
            "scale": x.applied_scale,
            "starts": x.starts,
            "ends": x.ends,
            "ready_ms": x.ready_after.map(|d| d.as_secs_f64() * 1000.0),
            "pid": x.wm.as_ref().and_then(|_| server_pid()),
        })
    }

    /// Checks every second, until the window manager connects, that the server's
    /// Wayland connection is still up: smithay does not report a server that dies
    /// before it is ready.
    fn xwayland_watch_start(&mut self) {
        let timer =
            smithay::reexports::calloop::timer::Timer::from_duration(Duration::from_secs(1));
        let watched = self.loop_handle.insert_source(timer, |_, _, state| {
            use smithay::reexports::calloop::timer::TimeoutAction;
            let Some((_, client)) = state.xwayland.server.as_ref() else {
                return TimeoutAction::Drop;
            };
            if state.xwayland.wm.is_some() {
                return TimeoutAction::Drop;
            }
            if state
                .display_handle
                .backend_handle()
                .get_client_data(client.id())
                .is_err()
            {
                tracing::warn!("Xwayland exited while starting");
                state.xwayland_gone();
                return TimeoutAction::Drop;
            }
            TimeoutAction::ToDuration(Duration::from_secs(1))
        });
        if let Err(err) = watched {
            tracing::warn!(%err, "cannot watch Xwayland's start");
        }
    }
}
