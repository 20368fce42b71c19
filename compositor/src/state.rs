//! The compositor's state: every smithay protocol state, the window space, the seat, and
//! the backend, in one struct the event loop hands to every callback.

use std::{ffi::OsString, time::Duration};

use smithay::{
    desktop::{PopupManager, Space, Window},
    input::{pointer::CursorImageStatus, Seat, SeatState},
    output::Output,
    reexports::{
        calloop::{LoopHandle, LoopSignal},
        wayland_server::{
            backend::{ClientData, ClientId, DisconnectReason},
            Client, Display, DisplayHandle,
        },
    },
    utils::{Clock, Monotonic},
    wayland::{
        commit_timing::CommitTimingManagerState,
        compositor::{CompositorClientState, CompositorState},
        content_type::ContentTypeState,
        cursor_shape::CursorShapeManagerState,
        dmabuf::DmabufState,
        fifo::FifoManagerState,
        foreign_toplevel_list::ForeignToplevelListState,
        fractional_scale::FractionalScaleManagerState,
        idle_inhibit::IdleInhibitManagerState,
        keyboard_shortcuts_inhibit::KeyboardShortcutsInhibitState,
        output::OutputManagerState,
        pointer_constraints::PointerConstraintsState,
        presentation::PresentationState,
        relative_pointer::RelativePointerManagerState,
        security_context::{SecurityContext, SecurityContextState},
        selection::{data_device::DataDeviceState, primary_selection::PrimarySelectionState},
        shell::{
            wlr_layer::WlrLayerShellState,
            xdg::{decoration::XdgDecorationState, XdgShellState},
        },
        shm::ShmState,
        single_pixel_buffer::SinglePixelBufferState,
        viewporter::ViewporterState,
        xdg_activation::XdgActivationState,
    },
};
use tracing::warn;

use crate::{
    backend::Backend,
    input::KeyboardTyping,
    protocols::{
        color_management::ColorManagementState, output_management::OutputManagementState,
        screencopy::ScreencopyState, tearing_control::TearingControlState,
    },
};

/// Per-client data: smithay's compositor bookkeeping and, for clients that connected
/// through a security context, that context (such clients are sandboxed).
#[derive(Debug, Default)]
pub struct ClientState {
    /// smithay's per-client compositor state.
    pub compositor_state: CompositorClientState,
    /// Set when the client came through `wp_security_context_v1`.
    pub security_context: Option<SecurityContext>,
}

impl ClientData for ClientState {
    fn initialized(&self, _client_id: ClientId) {}
    fn disconnected(&self, client_id: ClientId, reason: DisconnectReason) {
        crate::clients::SOME_CLIENT_LEFT.store(true, std::sync::atomic::Ordering::Release);
        if let DisconnectReason::ProtocolError(err) = reason {
            warn!(?client_id, %err, "client disconnected after a protocol error");
        }
    }
}

/// Whether `client` may see privileged globals (output management, layer shell,
/// screencopy, virtual input). Sandboxed clients may not.
pub fn client_is_privileged(client: &Client) -> bool {
    // X11 programs reach Wayland through Xwayland's connection: none of them is.
    if client
        .get_data::<smithay::xwayland::XWaylandClientData>()
        .is_some()
    {
        return false;
    }
    client
        .get_data::<ClientState>()
        .is_none_or(|state| state.security_context.is_none())
}

/// The surface bookkeeping smithay keeps for `client`: in ghostcomp's own client data,
/// or in smithay's for Xwayland.
pub fn compositor_client_state(
    client: &Client,
) -> Option<&smithay::wayland::compositor::CompositorClientState> {
    if let Some(state) = client.get_data::<ClientState>() {
        return Some(&state.compositor_state);
    }
    client
        .get_data::<smithay::xwayland::XWaylandClientData>()
        .map(|state| &state.compositor_state)
}

/// Everything the compositor knows.
#[allow(dead_code)] // protocol states that are only held, never read, keep their globals
pub struct Ghost {
    /// Handle to the Wayland display, for creating globals and sending events.
    pub display_handle: DisplayHandle,
    /// The display itself and the watch on each client's socket.
    pub clients: crate::clients::Clients,
    /// Handle to the event loop, for adding sources (timers, sockets).
    pub loop_handle: LoopHandle<'static, Ghost>,
    /// Stops the event loop (quit).
    pub loop_signal: LoopSignal,
    /// The monotonic clock presentation timestamps are on.
    pub clock: Clock<Monotonic>,
    /// Name of the Wayland socket clients connect to.
    pub socket_name: OsString,
    /// Path of the IPC socket.
    pub ipc_socket: Option<std::path::PathBuf>,

    /// The windows and outputs, laid out in one logical plane.
    pub space: Space<Window>,
    /// Outputs switched off through output management (they keep their settings).
    pub disabled_outputs: Vec<Output>,
    /// Minimized windows, kept out of the space until restored.
    pub minimized: Vec<Window>,
    /// Which workspace of which output each shown or parked window is on.
    pub workspaces: crate::shell::workspaces::Workspaces<Window>,
    /// Open popups.
    pub popups: PopupManager,
    /// The one seat.
    pub seat: Seat<Ghost>,
    /// What the pointer's image is, set by the focused client.
    pub cursor_status: CursorImageStatus,
    /// Where a locked pointer's client says the pointer is (global), to put it there
    /// once the lock ends.
    pub pointer_lock_hint: Option<smithay::utils::Point<f64, smithay::utils::Logical>>,
    /// The surface the pointer was last given and where that surface's origin was, to
    /// notice when what is under a still pointer changes.
    pub pointer_under: Option<(
        smithay::reexports::wayland_server::protocol::wl_surface::WlSurface,
        smithay::utils::Point<f64, smithay::utils::Logical>,
    )>,
    /// Keep the pointer on the outputs (real pointers); a test harness whose virtual
    /// pointer goes anywhere turns this off.
    pub clamp_pointer: bool,
    /// Reverse keymap for injected text, built on first use (only tests inject).
    pub typing: Option<KeyboardTyping>,
    /// Settings from the configuration file.
    pub config: ghost_config::Config,
    /// Where the settings came from, for reloads.
    pub config_source: crate::settings::ConfigSource,
    /// Clients that asked for the seat's tablets (the others get a pen's touch as a
    /// click).
    pub tablet_clients: Vec<smithay::reexports::wayland_server::backend::ClientId>,
    /// The client whose input method holds the seat (zwp_input_method_v2).
    pub input_method_owner: Option<smithay::reexports::wayland_server::backend::ClientId>,
    /// GPU figures, frame statistics and the performance overlay.
    pub telemetry: crate::telemetry::TelemetryState,
    /// The notification on screen, if any.
    pub notification: Option<crate::render::notification::Notification>,
    /// The arrow drawn for named pointer shapes where no host draws the pointer.
    pub default_cursor: Option<crate::render::cursor::DefaultCursor>,
    /// The arrow captures draw for named pointer shapes on every backend.
    pub capture_arrow: crate::render::cursor::DefaultCursor,
    /// When the displays go off for lack of input.
    pub idle: crate::session::idle::IdleState,

    /// The display backend (headless or nested).
    pub backend: Backend,

    // smithay protocol states; some are only held so their globals stay alive.
    pub compositor_state: CompositorState,
    pub xdg_shell_state: XdgShellState,
    /// xwayland_shell_v1, which newer Xwayland uses to tie its windows to surfaces
    /// (visible to Xwayland alone).
    pub xwayland_shell_state: smithay::wayland::xwayland_shell::XWaylandShellState,
    /// X11 programs' server and window manager.
    pub xwayland: crate::xwayland::Xwayland,
    pub xdg_decoration_state: XdgDecorationState,
    pub layer_shell_state: WlrLayerShellState,
    pub shm_state: ShmState,
    pub dmabuf_state: DmabufState,
    pub output_manager_state: OutputManagerState,
    pub seat_state: SeatState<Ghost>,
    pub data_device_state: DataDeviceState,
    pub primary_selection_state: PrimarySelectionState,
    /// wlr-data-control (wl-clipboard, clipboard managers).
    pub wlr_data_control_state: smithay::wayland::selection::wlr_data_control::DataControlState,
    /// ext-data-control-v1, the same for newer clients.
    pub ext_data_control_state: smithay::wayland::selection::ext_data_control::DataControlState,
    pub xdg_activation_state: XdgActivationState,
    pub presentation_state: PresentationState,
    pub viewporter_state: ViewporterState,
    pub fractional_scale_state: FractionalScaleManagerState,
    pub single_pixel_buffer_state: SinglePixelBufferState,
    pub cursor_shape_state: CursorShapeManagerState,
    pub pointer_constraints_state: PointerConstraintsState,
    pub relative_pointer_state: RelativePointerManagerState,
    pub keyboard_shortcuts_inhibit_state: KeyboardShortcutsInhibitState,
    pub idle_inhibit_state: IdleInhibitManagerState,
    /// ext-idle-notify-v1 (swayidle and the like).
    pub idle_notifier_state: smithay::wayland::idle_notify::IdleNotifierState<Ghost>,
    /// ext-session-lock-v1's global.
    pub session_lock_state: smithay::wayland::session_lock::SessionLockManagerState,
    /// Whether the session is locked, and by whom.
    pub lock: crate::session::lock::SessionLock,
    /// wlr-foreign-toplevel-management (taskbars).
    pub foreign_toplevel_management:
        crate::protocols::foreign_toplevel_management::ForeignToplevelManagement,
    /// ext-workspace-v1 managers (bars' workspace lists).
    pub ext_workspaces: crate::protocols::ext_workspace::ExtWorkspaces,
    /// The menus holding a popup grab.
    pub popup_grab: crate::shell::popup_grab::PopupGrab,
    /// The programs the session started, and kiosk mode.
    pub session: crate::session::Session,
    pub foreign_toplevel_list_state: ForeignToplevelListState,
    pub security_context_state: SecurityContextState,
    pub output_management_state: OutputManagementState,
    pub color_management_state: ColorManagementState,
    /// linux-drm-syncobj-v1, where a device imports timelines (KMS only).
    pub syncobj_state: Option<smithay::wayland::drm_syncobj::DrmSyncobjState>,
    pub tearing_control_state: TearingControlState,
    pub screencopy_state: ScreencopyState,
    /// Screen casts (PipeWire streams) and the connection they use.
    pub casts: crate::casts::Casts,
    /// Recordings, the replay ring and streams out.
    pub recordings: crate::casts::record::Recordings,
    /// The clean mic (`[voice]`).
    pub voice: crate::voice::Voice,
    /// Screen-share requests waiting for the user's choice.
    pub picks: crate::casts::pick::Picks,
    /// Input control granted to remote peers through the portal.
    pub remotes: crate::remote::RemoteControls,
    /// Keys and buttons remote peers hold down.
    pub remote_held: crate::remote::Held,
    /// The EIS socket and its libei clients.
    pub eis: crate::remote::EisServer,
    /// ext-image-copy-capture sessions and their waiting frames.
    pub image_copy_state: crate::protocols::image_copy_capture::ImageCopyCaptureState,
    pub fifo_state: FifoManagerState,
    pub commit_timing_state: CommitTimingManagerState,
    pub content_type_state: ContentTypeState,
}

impl Ghost {
    /// Creates every global and the seat. Clients connect once [`Ghost::listen`] opened
    /// the socket, or through [`Ghost::add_client`] (tests).
    pub fn new(
        display: Display<Ghost>,
        loop_handle: LoopHandle<'static, Ghost>,
        loop_signal: LoopSignal,
        config: ghost_config::Config,
    ) -> anyhow::Result<Self> {
        let dh = display.handle();
        let clients = crate::clients::Clients::new(display);
        let clock = Clock::new();

        let privileged = |client: &Client| client_is_privileged(client);

        let compositor_state = CompositorState::new::<Self>(&dh);
        let xdg_shell_state = XdgShellState::new::<Self>(&dh);
        let xwayland_shell_state =
            smithay::wayland::xwayland_shell::XWaylandShellState::new::<Self>(&dh);
        let xdg_decoration_state = XdgDecorationState::new::<Self>(&dh);
        let layer_shell_state = WlrLayerShellState::new_with_filter::<Self, _>(&dh, privileged);
        // Input methods: text-input for every client; the input method, which reads
        // every key typed and types into every window, only outside sandboxes.
        smithay::wayland::text_input::TextInputManagerState::new::<Self>(&dh);
        smithay::wayland::input_method::InputMethodManagerState::new::<Self, _>(&dh, privileged);
        // Drawing tablets.
        smithay::wayland::tablet_manager::TabletManagerState::new::<Self>(&dh);
        // Beside the two every compositor takes, what capture clients are told they
        // may hand over (both renderers import these from clients too).
        let shm_state = ShmState::new::<Self>(&dh, crate::protocols::capture_buffer::shm_formats());
        let dmabuf_state = DmabufState::new();
        let output_manager_state = OutputManagerState::new_with_xdg_output::<Self>(&dh);
        let mut seat_state = SeatState::new();
        let data_device_state = DataDeviceState::new::<Self>(&dh);
        let primary_selection_state = PrimarySelectionState::new::<Self>(&dh);
        let wlr_data_control_state =
            smithay::wayland::selection::wlr_data_control::DataControlState::new::<Self, _>(
                &dh,
                Some(&primary_selection_state),
                privileged,
            );
        let ext_data_control_state =
            smithay::wayland::selection::ext_data_control::DataControlState::new::<Self, _>(
                &dh,
                Some(&primary_selection_state),
                privileged,
            );
        let xdg_activation_state = XdgActivationState::new::<Self>(&dh);
        let presentation_state = PresentationState::new::<Self>(&dh, clock.id() as u32);
        let viewporter_state = ViewporterState::new::<Self>(&dh);
        let fractional_scale_state = FractionalScaleManagerState::new::<Self>(&dh);
        let single_pixel_buffer_state = SinglePixelBufferState::new::<Self>(&dh);
        let cursor_shape_state = CursorShapeManagerState::new::<Self>(&dh);
        let pointer_constraints_state = PointerConstraintsState::new::<Self>(&dh);
        let relative_pointer_state = RelativePointerManagerState::new::<Self>(&dh);
        let keyboard_shortcuts_inhibit_state = KeyboardShortcutsInhibitState::new::<Self>(&dh);
        let idle_inhibit_state = IdleInhibitManagerState::new::<Self>(&dh);
        let idle_notifier_state =
            smithay::wayland::idle_notify::IdleNotifierState::new(&dh, loop_handle.clone());
        // A sandboxed app must not be able to lock the user out.
        let session_lock_state = smithay::wayland::session_lock::SessionLockManagerState::new::<
            Self,
            _,
        >(&dh, privileged);
        let foreign_toplevel_list_state =
            ForeignToplevelListState::new_with_filter::<Self>(&dh, privileged);
        let security_context_state = SecurityContextState::new::<Self, _>(&dh, privileged);
        let output_management_state = OutputManagementState::new::<Self, _>(&dh, privileged);
        let color_management_state = ColorManagementState::new::<Self>(&dh);
        let tearing_control_state = TearingControlState::new::<Self>(&dh);
        let screencopy_state = ScreencopyState::new::<Self, _>(&dh, privileged);
        let image_copy_state =
            crate::protocols::image_copy_capture::ImageCopyCaptureState::new(&dh, privileged);
        let fifo_state = FifoManagerState::new::<Self>(&dh);
        let commit_timing_state = CommitTimingManagerState::new::<Self>(&dh);
        let content_type_state = ContentTypeState::new::<Self>(&dh);
        let foreign_toplevel_management =
            crate::protocols::foreign_toplevel_management::ForeignToplevelManagement::new(
                &dh, privileged,
            );
        let ext_workspaces = crate::protocols::ext_workspace::ExtWorkspaces::new(&dh, privileged);
        crate::protocols::virtual_input::create_globals(&dh, privileged);

        let mut seat = seat_state.new_wl_seat(&dh, "seat0");
        let input = &config.input;
        seat.add_keyboard(
            crate::settings::xkb_config(input),
            input.repeat_delay,
            input.repeat_rate,
        )
        .map_err(|e| anyhow::anyhow!("keyboard setup failed: {e}"))?;
        seat.add_pointer();
        seat.add_touch();

        Ok(Self {
            display_handle: dh,
            clients,
            loop_handle,
            loop_signal,
            clock,
            socket_name: OsString::new(),
            ipc_socket: None,
            space: Space::default(),
            disabled_outputs: Vec::new(),
            minimized: Vec::new(),
            workspaces: Default::default(),
            popups: PopupManager::default(),
            seat,
            cursor_status: CursorImageStatus::default_named(),
            pointer_lock_hint: None,
            pointer_under: None,
            clamp_pointer: true,
            typing: None,
            config,
            config_source: crate::settings::ConfigSource::default(),
            input_method_owner: None,
            tablet_clients: Vec::new(),
            telemetry: Default::default(),
            notification: None,
            default_cursor: None,
            capture_arrow: crate::render::cursor::DefaultCursor::arrow(),
            idle: Default::default(),
            backend: Backend::Starting,
            compositor_state,
            xdg_shell_state,
            xwayland_shell_state,
            xwayland: Default::default(),
            xdg_decoration_state,
            layer_shell_state,
            shm_state,
            dmabuf_state,
            output_manager_state,
            seat_state,
            data_device_state,
            primary_selection_state,
            wlr_data_control_state,
            ext_data_control_state,
            xdg_activation_state,
            presentation_state,
            viewporter_state,
            fractional_scale_state,
            single_pixel_buffer_state,
            cursor_shape_state,
            pointer_constraints_state,
            relative_pointer_state,
            keyboard_shortcuts_inhibit_state,
            idle_inhibit_state,
            idle_notifier_state,
            session_lock_state,
            lock: Default::default(),
            session: Default::default(),
            popup_grab: Default::default(),
            foreign_toplevel_management,
            ext_workspaces,
            foreign_toplevel_list_state,
            security_context_state,
            output_management_state,
            color_management_state,
            syncobj_state: None,
            tearing_control_state,
            screencopy_state,
            image_copy_state,
            casts: Default::default(),
            recordings: Default::default(),
            voice: Default::default(),
            picks: Default::default(),
            remotes: Default::default(),
            remote_held: Default::default(),
            eis: Default::default(),
            fifo_state,
            commit_timing_state,
            content_type_state,
        })
    }

    /// Housekeeping after each event-loop iteration: which outputs windows are on,
    /// dead popups, and flushing what clients were sent.
    pub fn after_dispatch(&mut self) {
        self.space.refresh();
        self.x11_tie_surfaces();
        self.x11_sync_positions();
        self.x11_focus_when_tied();
        self.xwayland_apply_scaling();
        self.popups.cleanup();
        self.popup_grab_refresh();
        self.workspaces_sync_outputs();
        self.tiling_refresh();
        self.foreign_toplevels_refresh();
        self.ext_workspaces_refresh();
        self.lock_refresh();
        self.pointer_focus_refresh();
        crate::backend::kms::deliver_waiting_flips(self);
        self.forget_departed_clients();
        if let Err(err) = self.display_handle.flush_clients() {
            warn!(%err, "flushing clients failed");
        }
    }

    /// Monotonic time now, as a duration since the clock's epoch (boot).
    pub fn now(&self) -> Duration {
        self.clock.now().into()
    }

    /// The outputs in layout order.
    pub fn outputs(&self) -> Vec<Output> {
        self.space.outputs().cloned().collect()
    }
}
