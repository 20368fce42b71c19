//! A small Wayland client of our own, for what no Debian client does: measure
//! presentation feedback, commit a solid colour of our choosing, break the protocol on
//! purpose, and create a security context.

use std::{
    os::{
        fd::{AsFd, OwnedFd},
        unix::net::{UnixListener, UnixStream},
    },
    path::Path,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use wayland_client::{
    delegate_noop,
    globals::Global,
    protocol::{
        wl_buffer::WlBuffer,
        wl_callback::WlCallback,
        wl_compositor::WlCompositor,
        wl_registry::WlRegistry,
        wl_shm::{self, WlShm},
        wl_shm_pool::WlShmPool,
        wl_surface::WlSurface,
    },
    Connection, Dispatch, EventQueue, Proxy, QueueHandle,
};
use wayland_protocols::{
    wp::{
        presentation_time::client::{
            wp_presentation::WpPresentation,
            wp_presentation_feedback::{self, WpPresentationFeedback},
        },
        security_context::v1::client::{
            wp_security_context_manager_v1::WpSecurityContextManagerV1,
            wp_security_context_v1::WpSecurityContextV1,
        },
    },
    xdg::shell::client::{
        xdg_surface::{self, XdgSurface},
        xdg_toplevel::{self, XdgToplevel},
        xdg_wm_base::{self, XdgWmBase},
    },
};

/// One presentation the compositor reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presented {
    /// Monotonic timestamp in nanoseconds.
    pub time_ns: u128,
    /// Refresh period the compositor reported, in nanoseconds.
    pub refresh_ns: u32,
    /// vblank sequence number.
    pub seq: u64,
    /// wp_presentation_feedback.kind bits (vsync, hw clock, hw completion, zero copy).
    pub flags: u32,
}

/// Client state: the objects and what the compositor told us.
#[derive(Default)]
pub struct State {
    configured: bool,
    configure_size: (i32, i32),
    frame_done: bool,
    closed: bool,
    /// Every presentation, in order.
    pub presented: Vec<Presented>,
    /// Feedbacks the compositor discarded.
    pub discarded: usize,
    /// The latest configure of the toplevel: size and states.
    pub toplevel_configure: Option<((i32, i32), Vec<xdg_toplevel::State>)>,
    registry_globals: Vec<Global>,
    /// The decoration mode the compositor chose, if asked.
    pub decoration_mode: Option<u32>,
    /// The latest layer-surface configure (serial, width, height).
    pub layer_configure: Option<(u32, u32, u32)>,
    /// The latest popup configure (x, y, width, height) relative to its parent.
    pub popup_configure: Option<(i32, i32, i32, i32)>,
    /// The preferred fractional scale in 120ths, once sent.
    pub preferred_scale_120: Option<u32>,
    /// The compositor closed a popup (xdg_popup.popup_done).
    pub popup_done: bool,
    /// Serial of the latest xdg_surface configure of a popup, to ack.
    pub popup_serial: Option<u32>,
    /// wp_color_management_v1 events.
    pub colour: crate::colour_client::ColourEvents,
    /// linux-dmabuf feedback (after `watch_dmabuf_feedback`).
    pub dmabuf_feedback: crate::dmabuf_client::FeedbackEvents,
    /// Seat events (after `watch_seat`).
    pub seat: crate::seat_client::SeatEvents,
    /// Whether a keyboard shortcuts inhibitor is active (after `inhibit_shortcuts`).
    pub shortcuts_inhibited: Option<bool>,
    /// What a workspace bar was told (after `workspace_bar`).
    pub bar: crate::workspace_client::BarEvents,
    /// The windows a taskbar was told of (after `taskbar`).
    pub taskbar: Vec<crate::taskbar_client::TaskbarEntry>,
    /// What the session lock reported (after `lock_session`).
    pub lock: crate::lock_client::LockEvents,
    /// What the seat's tablets reported (after `watch_tablets`).
    pub tablet: crate::tablet_client::TabletEvents,
    /// What the seat's input method was told (after `become_input_method`).
    pub input_method: crate::input_method_client::InputMethodEvents,
    /// What pointer constraints and relative motion reported.
    pub constraint: crate::constraint_client::ConstraintEvents,
    /// Toplevels ext-foreign-toplevel-list announced (after `list_toplevels`), with
    /// their app_ids.
    pub toplevels: Vec<(
        wayland_protocols::ext::foreign_toplevel_list::v1::client::ext_foreign_toplevel_handle_v1::ExtForeignToplevelHandleV1,
        String,
    )>,
}

/// Runs the compositor's side once (in-process tests, where server and client share a
/// thread): dispatch its event loop without blocking and flush its clients.
pub type Pump = Box<dyn FnMut()>;

/// A connected client.
pub struct TestClient {
    /// The connection (check `protocol_error()` after a failure).
    pub conn: Connection,
    queue: EventQueue<State>,
    /// What the compositor told us.
    pub state: State,
    registry: WlRegistry,
    pump: Option<Pump>,
}

/// A mapped toplevel showing one solid colour.
pub struct ColorWindow {
    /// The surface.
    pub surface: WlSurface,
    /// Its xdg_surface.
    pub xdg_surface: XdgSurface,
    /// Its toplevel role.
    pub toplevel: XdgToplevel,
    pub(crate) buffers: Vec<WlBuffer>,
    /// What the buffers' memory lives in (an shm pool, device buffers).
    pub(crate) _backing: Box<dyn std::any::Any>,
    pub(crate) next: usize,
}

impl ColorWindow {
    /// Closes the window: toplevel, xdg_surface and surface destroyed, in that order.
    pub fn destroy(self) {
        self.toplevel.destroy();
        self.xdg_surface.destroy();
        self.surface.destroy();
    }
}

type SyncDone = Arc<AtomicBool>;

impl TestClient {
    /// Connects to the Wayland socket at `path`.
    pub fn connect(path: &Path) -> Result<Self> {
        let stream =
            UnixStream::connect(path).with_context(|| format!("connect {}", path.display()))?;
        Self::init(Connection::from_socket(stream)?, None)
    }

    /// A client on one end of a socket pair whose other end an in-process compositor
    /// serves; `pump` runs the compositor whenever the client waits.
    pub fn in_process(stream: UnixStream, pump: Pump) -> Result<Self> {
        Self::init(Connection::from_socket(stream)?, Some(pump))
    }

    fn init(conn: Connection, pump: Option<Pump>) -> Result<Self> {
        let queue = conn.new_event_queue::<State>();
        let registry = conn.display().get_registry(&queue.handle(), ());
        let mut client = Self {
            conn,
            queue,
            state: State::default(),
            registry,
            pump,
        };
        client.roundtrip()?;
        Ok(client)
    }

    /// Binds the global `I` at the highest version in `versions` the compositor has.
    pub fn bind<I, U>(&self, versions: std::ops::RangeInclusive<u32>, udata: U) -> Result<I>
    where
        I: Proxy + 'static,
        U: Send + Sync + 'static,
        State: Dispatch<I, U>,
    {
        let name = I::interface().name;
        let global = self
            .state
            .registry_globals
            .iter()
            .find(|g| g.interface == name)
            .with_context(|| format!("the compositor has no {name}"))?;
        let version = global.version.min(*versions.end());
        anyhow::ensure!(
            version >= *versions.start(),
            "{name} version {} is too old",
            global.version
        );
        Ok(self
            .registry
            .bind::<I, U, State>(global.name, version, &self.qh(), udata))
    }

    /// Binds every global `I` (every output, say) at version `version`.
    pub fn bind_each<I>(&self, version: u32) -> Vec<I>
    where
        I: Proxy + 'static,
        State: Dispatch<I, ()>,
    {
        let name = I::interface().name;
        self.state
            .registry_globals
            .iter()
            .filter(|g| g.interface == name)
            .map(|g| {
                self.registry
                    .bind::<I, (), State>(g.name, version.min(g.version), &self.qh(), ())
            })
            .collect()
    }

    /// Names of every global the compositor shows this client.
    pub fn global_names(&self) -> Vec<String> {
        self.state
            .registry_globals
            .iter()
            .map(|g| g.interface.clone())
            .collect()
    }

    /// Waits for events: blocks on the socket, or pumps the in-process compositor once.
    pub fn wait(&mut self) -> Result<()> {
        match &mut self.pump {
            None => {
                // Like blocking_dispatch, but a compositor that never answers fails the
                // test after 10 s instead of hanging it.
                self.conn.flush()?;
                if self.queue.dispatch_pending(&mut self.state)? > 0 {
                    return Ok(());
                }
                if let Some(guard) = self.queue.prepare_read() {
                    use rustix::event::{poll, PollFd, PollFlags, Timespec};
                    let fd = guard.connection_fd();
                    let mut fds = [PollFd::new(&fd, PollFlags::IN | PollFlags::ERR)];
                    let timeout = Timespec {
                        tv_sec: 10,
                        tv_nsec: 0,
                    };
                    if poll(&mut fds, Some(&timeout))? == 0 {
                        bail!("the compositor sent nothing for 10 s");
                    }
                    match guard.read() {
                        Ok(_) => {}
                        // Part of a message (its file descriptors still on the way):
                        // the caller waits again.
                        Err(wayland_client::backend::WaylandError::Io(e))
                            if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                self.queue.dispatch_pending(&mut self.state)?;
            }
            Some(pump) => {
                self.conn.flush()?;
                pump();
                if let Some(guard) = self.conn.prepare_read() {
                    // Nothing to read is fine: the socket is non-blocking.
                    let _ = guard.read();
                }
                self.queue.dispatch_pending(&mut self.state)?;
            }
        }
        Ok(())
    }

    /// Round trip: everything sent so far is processed and answered.
    pub fn roundtrip(&mut self) -> Result<()> {
        let done: SyncDone = Arc::new(AtomicBool::new(false));
        let _sync = self.conn.display().sync(&self.qh(), done.clone());
        for _ in 0..10_000 {
            self.wait()?;
            if done.load(Ordering::Acquire) {
                return Ok(());
            }
        }
        bail!("the compositor never answered a sync")
    }

    /// Whether the compositor asked the window to close.
    pub fn state_closed(&self) -> bool {
        self.state.closed
    }

    /// The queue handle, for creating objects.
    pub fn qh(&self) -> QueueHandle<State> {
        self.queue.handle()
    }

    /// Maps a `width`×`height` toplevel with `app_id`; each commit alternates between
    /// `colors` (ARGB). Returns once the first buffer is committed.
    pub fn color_window(
        &mut self,
        app_id: &str,
        width: i32,
        height: i32,
        colors: &[u32],
    ) -> Result<ColorWindow> {
        self.painted_window(app_id, width, height, colors.len(), |frame, _, _| {
            colors[frame]
        })
    }

    /// Maps a `width`×`height` toplevel with `app_id` whose commits cycle through
    /// `frames` pictures, pixel (x, y) of picture `frame` being `paint(frame, x, y)`
    /// (ARGB): moving detail, for tests of encoders and damage.
    pub fn painted_window(
        &mut self,
        app_id: &str,
        width: i32,
        height: i32,
        frames: usize,
        paint: impl Fn(usize, i32, i32) -> u32,
    ) -> Result<ColorWindow> {
        let role = self.toplevel(app_id, false)?;
        self.paint_toplevel(role, width, height, frames, paint)
    }

    /// Maps a toplevel of one colour (ARGB) at the size the compositor's first configure
    /// asks for (`fallback` where it leaves the size to the client), as toolkits do:
    /// what a kiosk or fullscreen program shows.
    pub fn sized_window(
        &mut self,
        app_id: &str,
        fallback: (i32, i32),
        color: u32,
    ) -> Result<ColorWindow> {
        let role = self.toplevel(app_id, false)?;
        let (w, h) = self.state.configure_size;
        let (width, height) = if w > 0 && h > 0 { (w, h) } else { fallback };
        self.paint_toplevel(role, width, height, 1, |_, _, _| color)
    }

    fn paint_toplevel(
        &mut self,
        (surface, xdg_surface, toplevel): (WlSurface, XdgSurface, XdgToplevel),
        width: i32,
        height: i32,
        frames: usize,
        paint: impl Fn(usize, i32, i32) -> u32,
    ) -> Result<ColorWindow> {
        let qh = self.qh();
        let shm: WlShm = self.bind(1..=1, ())?;
        let frame_bytes = (width * height * 4) as usize;
        let fd: OwnedFd = rustix::fs::memfd_create("ghost-test", rustix::fs::MemfdFlags::CLOEXEC)?;
        let file = std::fs::File::from(fd);
        file.set_len((frame_bytes * frames) as u64)?;
        {
            use std::io::Write;
            let mut w = std::io::BufWriter::new(&file);
            for frame in 0..frames {
                for y in 0..height {
                    for x in 0..width {
                        w.write_all(&paint(frame, x, y).to_le_bytes())?;
                    }
                }
            }
            w.flush()?;
        }
        let pool = shm.create_pool(file.as_fd(), (frame_bytes * frames) as i32, &qh, ());
        let buffers = (0..frames)
            .map(|i| {
                pool.create_buffer(
                    (i * frame_bytes) as i32,
                    width,
                    height,
                    width * 4,
                    wl_shm::Format::Argb8888,
                    &qh,
                    (),
                )
            })
            .collect();
        let mut window = ColorWindow {
            surface,
            xdg_surface,
            toplevel,
            buffers,
            _backing: Box::new(pool),
            next: 0,
        };
        self.commit_next(&mut window, false)?;
        self.roundtrip()?;
        Ok(window)
    }

    /// A mapped-to-be toplevel: created, configured (fullscreen when asked), nothing
    /// attached yet.
    pub(crate) fn toplevel(
        &mut self,
        app_id: &str,
        fullscreen: bool,
    ) -> Result<(WlSurface, XdgSurface, XdgToplevel)> {
        let qh = self.qh();
        let compositor: WlCompositor = self.bind(4..=5, ())?;
        let wm_base: XdgWmBase = self.bind(1..=1, ())?;
        let surface = compositor.create_surface(&qh, ());
        let xdg_surface = wm_base.get_xdg_surface(&surface, &qh, ());
        let toplevel = xdg_surface.get_toplevel(&qh, ());
        toplevel.set_app_id(app_id.into());
        toplevel.set_title(app_id.into());
        if fullscreen {
            toplevel.set_fullscreen(None);
        }
        self.state.configured = false;
        surface.commit();
        while !self.state.configured {
            self.wait()?;
        }
        Ok((surface, xdg_surface, toplevel))
    }

    /// The size the compositor asked for in its latest configure (0 = client's choice).
    pub fn configured_size(&self) -> (i32, i32) {
        self.state.configure_size
    }

    /// Whether a frame callback arrived since the last commit.
    pub fn frame_done(&self) -> bool {
        self.state.frame_done
    }

    /// Attaches the next colour, asks for a frame callback (and presentation feedback).
    pub fn commit_next(&mut self, window: &mut ColorWindow, feedback: bool) -> Result<()> {
        let qh = self.qh();
        let buffer = &window.buffers[window.next % window.buffers.len()];
        window.next += 1;
        window.surface.attach(Some(buffer), 0, 0);
        window.surface.damage_buffer(0, 0, i32::MAX, i32::MAX);
        window.surface.frame(&qh, ());
        if feedback {
            let presentation: WpPresentation = self.bind(1..=1, ())?;
            presentation.feedback(&window.surface, &qh, ());
        }
        self.state.frame_done = false;
        window.surface.commit();
        self.conn.flush()?;
        Ok(())
    }

    /// Commits a new frame on every frame callback for `duration`, with presentation
    /// feedback; returns how many frames were committed.
    pub fn animate(&mut self, window: &mut ColorWindow, duration: Duration) -> Result<usize> {
        let end = Instant::now() + duration;
        let mut frames = 0;
        self.commit_next(window, true)?;
        while Instant::now() < end {
            self.wait()?;
            if self.state.frame_done {
                self.commit_next(window, true)?;
                frames += 1;
            }
            if self.state.closed {
                bail!("the compositor closed the window");
            }
        }
        Ok(frames)
    }

    /// Breaks the protocol: an shm pool of size zero (wl_shm.error.invalid_stride).
    pub fn send_protocol_error(&mut self) -> Result<()> {
        let qh = self.qh();
        let shm: WlShm = self.bind(1..=1, ())?;
        let fd: OwnedFd = rustix::fs::memfd_create("ghost-bad", rustix::fs::MemfdFlags::CLOEXEC)?;
        let _pool = shm.create_pool(fd.as_fd(), 0, &qh, ());
        let result = self.queue.roundtrip(&mut self.state);
        anyhow::ensure!(result.is_err(), "the compositor accepted a zero-sized pool");
        Ok(())
    }

    /// Creates a security context whose clients connect at `listen_path`; the context
    /// lives while the returned listener is kept.
    pub fn create_security_context(
        &mut self,
        listen_path: &Path,
        app_id: &str,
    ) -> Result<(UnixListener, OwnedFd)> {
        let qh = self.qh();
        let manager: WpSecurityContextManagerV1 = self.bind(1..=1, ())?;
        let listener = UnixListener::bind(listen_path)?;
        // The compositor watches the read end; closing our write end ends the context.
        let (close_read, close_keep) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
        let context = manager.create_listener(listener.as_fd(), close_read.as_fd(), &qh, ());
        context.set_sandbox_engine("org.ghostnv.test".into());
        context.set_app_id(app_id.into());
        context.commit();
        self.roundtrip()?;
        drop(close_read);
        Ok((listener, close_keep))
    }
}

impl Dispatch<WlRegistry, ()> for State {
    fn event(
        state: &mut Self,
        _: &WlRegistry,
        event: wayland_client::protocol::wl_registry::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        use wayland_client::protocol::wl_registry::Event;
        match event {
            Event::Global {
                name,
                interface,
                version,
            } => state.registry_globals.push(Global {
                name,
                interface,
                version,
            }),
            Event::GlobalRemove { name } => state.registry_globals.retain(|g| g.name != name),
            _ => {}
        }
    }
}

impl Dispatch<WlCallback, SyncDone> for State {
    fn event(
        _: &mut Self,
        _: &WlCallback,
        _: wayland_client::protocol::wl_callback::Event,
        done: &SyncDone,
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        done.store(true, Ordering::Release);
    }
}

impl Dispatch<XdgWmBase, ()> for State {
    fn event(
        _: &mut Self,
        base: &XdgWmBase,
        event: xdg_wm_base::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        if let xdg_wm_base::Event::Ping { serial } = event {
            base.pong(serial);
        }
    }
}

impl Dispatch<XdgSurface, ()> for State {
    fn event(
        state: &mut Self,
        surface: &XdgSurface,
        event: xdg_surface::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        if let xdg_surface::Event::Configure { serial } = event {
            surface.ack_configure(serial);
            state.configured = true;
        }
    }
}

impl Dispatch<XdgToplevel, ()> for State {
    fn event(
        state: &mut Self,
        _: &XdgToplevel,
        event: xdg_toplevel::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        match event {
            xdg_toplevel::Event::Configure {
                width,
                height,
                states,
            } => {
                state.configure_size = (width, height);
                let states = states
                    .chunks_exact(4)
                    .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
                    .filter_map(|v| xdg_toplevel::State::try_from(v).ok())
                    .collect();
                state.toplevel_configure = Some(((width, height), states));
            }
            xdg_toplevel::Event::Close => state.closed = true,
            _ => {}
        }
    }
}

impl Dispatch<WlCallback, ()> for State {
    fn event(
        state: &mut Self,
        _: &WlCallback,
        _: wayland_client::protocol::wl_callback::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        state.frame_done = true;
    }
}

impl Dispatch<WpPresentationFeedback, ()> for State {
    fn event(
        state: &mut Self,
        _: &WpPresentationFeedback,
        event: wp_presentation_feedback::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        match event {
            wp_presentation_feedback::Event::Presented {
                tv_sec_hi,
                tv_sec_lo,
                tv_nsec,
                refresh,
                seq_hi,
                seq_lo,
                flags,
            } => {
                let secs = ((tv_sec_hi as u64) << 32) | tv_sec_lo as u64;
                state.presented.push(Presented {
                    time_ns: secs as u128 * 1_000_000_000 + tv_nsec as u128,
                    refresh_ns: refresh,
                    seq: ((seq_hi as u64) << 32) | seq_lo as u64,
                    flags: match flags {
                        wayland_client::WEnum::Value(kind) => kind.bits(),
                        wayland_client::WEnum::Unknown(bits) => bits,
                    },
                });
            }
            wp_presentation_feedback::Event::Discarded => state.discarded += 1,
            _ => {}
        }
    }
}

delegate_noop!(State: ignore WlCompositor);
delegate_noop!(State: ignore WlSurface);
delegate_noop!(State: ignore WlShm);
delegate_noop!(State: ignore WlShmPool);
delegate_noop!(State: ignore WlBuffer);
delegate_noop!(State: ignore WpPresentation);
delegate_noop!(State: ignore WpSecurityContextManagerV1);
delegate_noop!(State: ignore WpSecurityContextV1);

/// Whether `err` (from a dispatch) means the compositor sent a protocol error.
pub fn is_protocol_error(conn: &Connection) -> bool {
    conn.protocol_error().is_some()
}
