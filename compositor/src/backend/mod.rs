//! Display backends: headless (virtual outputs rendered with pixman, or GLES for HDR),
//! winit (a window in the host desktop, rendered with GLES), and KMS (the displays of
//! the machine, from a virtual terminal; GLES on GPUs, pixman without one).

pub mod headless;
pub mod kms;
pub mod winit;

use smithay::{
    backend::allocator::dmabuf::Dmabuf,
    desktop::Window,
    input::pointer::CursorImageStatus,
    output::{Mode, Output},
    reexports::wayland_server::{backend::GlobalId, protocol::wl_surface::WlSurface},
    utils::{Logical, Rectangle},
};

use crate::{render::Scene, state::Ghost};

/// The active backend.
pub enum Backend {
    /// Virtual outputs, no display hardware.
    Headless(Box<headless::HeadlessBackend>),
    /// A window inside another compositor or X server.
    Winit(Box<winit::WinitBackend>),
    /// The machine's own displays through kernel modesetting.
    Kms(Box<kms::KmsBackend>),
    /// Placeholder while the real backend is being set up (the state must exist first).
    Starting,
}

/// Which renderer draws the outputs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RendererChoice {
    /// Headless: GLES when a configured output wants HDR. KMS: GLES on a GPU (a device
    /// with a render node). Else pixman.
    #[default]
    Auto,
    /// pixman on the CPU: SDR only.
    Pixman,
    /// GLES: on an EGL device (headless, colour-managed) or on the KMS device's GBM.
    Gles,
}

/// [`Ghost::capture_scene_of`] on `$state`'s fields one by one, so the backend stays
/// free to be borrowed mutably beside the scene.
macro_rules! capture_scene {
    ($state:expr, $shows:expr, $cursor:expr) => {
        Self::capture_scene_of(
            &$state.space,
            &$state.cursor_status,
            &$state.seat,
            $state.notification.as_ref(),
            &$state.capture_arrow,
            $shows,
            $cursor,
        )
        .locked(&$state.lock)
        .overlay($crate::telemetry::overlay::view(
            &$state.telemetry.overlay,
            &$state.space,
            $state.config.telemetry.overlay_corner,
        ))
    };
}
pub(crate) use capture_scene;

/// A screenshot as read back: an 8-bit sRGB picture, or an HDR output's signal.
pub enum Captured {
    /// 8-bit sRGB (HDR outputs tone mapped).
    Sdr(ghost_capture::Frame),
    /// 16-bit PQ / BT.2020 signal of an HDR output.
    Hdr(ghost_capture::HdrFrame),
}

/// The modes an output offers (for wlr-output-management), kept in its user data.
#[derive(Debug)]
pub struct OutputModes {
    /// Every mode, preferred first.
    pub modes: std::sync::Mutex<Vec<Mode>>,
}

impl OutputModes {
    /// Wraps a mode list.
    pub fn new(modes: Vec<Mode>) -> Self {
        Self {
            modes: std::sync::Mutex::new(modes),
        }
    }

    /// A copy of the list.
    pub fn list(&self) -> Vec<Mode> {
        self.modes.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

/// What an output's frames cost: how many were repainted and how much of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameStats {
    /// Frames that repainted something and were presented.
    pub presented: u64,
    /// Wake-ups that found nothing to repaint (frame callbacks only).
    pub empty: u64,
    /// Pixels repainted by the last presented frame.
    pub last_damage_px: u64,
    /// Frames whose drawing was timed, and their time drawing (the GPU's finish
    /// included), for benchmarks: differences over a window give the mean frame time.
    pub timed_frames: u64,
    /// See `timed_frames`.
    pub drawing_ns: u64,
}

impl FrameStats {
    /// Counts one frame with `damage_px` repainted pixels (None: nothing changed).
    pub fn record(&mut self, damage_px: Option<u64>) {
        match damage_px {
            Some(px) => {
                self.presented += 1;
                self.last_damage_px = px;
            }
            None => self.empty += 1,
        }
    }

    /// Counts the time one frame took to draw.
    pub fn record_drawing(&mut self, took: std::time::Duration) {
        self.timed_frames += 1;
        self.drawing_ns += u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
    }
}

impl Backend {
    /// `output`'s picture read in place (see [`Ghost::shown_for_capture`] for when a
    /// capture may use it).
    pub fn shown(
        &self,
        output: &Output,
    ) -> Option<(
        ghost_capture::FrameView<'_>,
        &[smithay::utils::Rectangle<i32, smithay::utils::Physical>],
    )> {
        match self {
            Backend::Headless(h) => h.shown(output),
            _ => None,
        }
    }

    /// What `output`'s last repaint changed, where the backend knows (headless), whether
    /// or not its buffer was drawn.
    pub fn repainted(
        &self,
        output: &Output,
    ) -> Option<&[smithay::utils::Rectangle<i32, smithay::utils::Physical>]> {
        match self {
            Backend::Headless(h) => h.last_damage(output),
            _ => None,
        }
    }

    /// Frame counters of `output`, where the backend keeps them.
    pub fn frame_stats(&self, output: &Output) -> Option<FrameStats> {
        match self {
            Backend::Headless(h) => h.stats(output),
            Backend::Winit(w) => w.stats(output),
            Backend::Kms(k) => k.stats(output),
            Backend::Starting => None,
        }
    }

    /// Short name for logs and `ghostcomp msg version`.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Headless(_) => "headless",
            Backend::Winit(_) => "winit",
            Backend::Kms(_) => "kms",
            Backend::Starting => "starting",
        }
    }

    /// Whether the renderer converts surfaces' colour descriptions to the output's (the
    /// GLES renderers with their colour shaders; not pixman).
    pub fn converts_colour(&self) -> bool {
        match self {
            Backend::Headless(h) => h.supports_hdr(),
            Backend::Winit(w) => w.converts_colour(),
            Backend::Kms(k) => k.converts_colour(),
            Backend::Starting => false,
        }
    }

    /// Imports a client's dmabuf into the renderer; false when it cannot be used.
    pub fn import_dmabuf(&mut self, dmabuf: &Dmabuf) -> bool {
        match self {
            Backend::Winit(w) => w.import_dmabuf(dmabuf),
            Backend::Kms(k) => k.import_dmabuf(dmabuf),
            // No dmabuf global is advertised on the headless backend.
            _ => false,
        }
    }

    /// The device (dev_t) capture protocols offer dmabuf targets on: where clients
    /// share dmabufs with the compositor and it writes linear ones (the KMS device's).
    /// None: shm only.
    pub fn dmabuf_device(&self) -> Option<u64> {
        match self {
            Backend::Kms(k) => k.dmabuf_device(),
            _ => None,
        }
    }

    /// The client changed the pointer image.
    pub fn cursor_changed(&mut self, status: &CursorImageStatus) {
        if let Backend::Winit(w) = self {
            w.cursor_changed(status);
        }
    }

    /// Whether outputs can be driven in HDR.
    pub fn supports_hdr(&self) -> bool {
        match self {
            Backend::Headless(h) => h.supports_hdr(),
            Backend::Kms(k) => k.converts_colour(),
            _ => false,
        }
    }

    /// How presentation feedback describes this backend's frames: KMS page-flip events
    /// carry the display engine's own vblank time, the others a clock's.
    pub fn presentation_kind(
        &self,
    ) -> smithay::reexports::wayland_protocols::wp::presentation_time::server::wp_presentation_feedback::Kind
    {
        use smithay::reexports::wayland_protocols::wp::presentation_time::server::wp_presentation_feedback::Kind;
        match self {
            Backend::Kms(_) => Kind::Vsync | Kind::HwClock | Kind::HwCompletion,
            Backend::Headless(_) => Kind::Vsync,
            Backend::Winit(_) | Backend::Starting => Kind::empty(),
        }
    }

    /// Switches virtual terminals, where the session has them.
    pub fn change_vt(&mut self, vt: i32) {
        match self {
            Backend::Kms(k) => k.change_vt(vt),
            _ => tracing::debug!(vt, "no virtual terminals on this backend"),
        }
    }

    /// Test input injection over IPC is only allowed where no real user types.
    pub fn allows_input_injection(&self) -> bool {
        matches!(self, Backend::Headless(_))
    }
}

/// What a capture shows, drawn at an output's scale and in its colours.
#[derive(Debug, Clone, Copy)]
pub enum Shows<'a> {
    /// The whole output.
    Output,
    /// One window alone, its geometry being the picture.
    Window(&'a Window),
    /// The pointer's image alone.
    Cursor,
}

impl Ghost {
    /// Asks for a new frame on `output` at its next refresh.
    pub fn queue_redraw(&mut self, output: &Output) {
        match &mut self.backend {
            Backend::Headless(_) => headless::schedule(self, output),
            Backend::Winit(w) => w.request_redraw(),
            Backend::Kms(_) => kms::schedule(self, output),
            Backend::Starting => {}
        }
    }

    /// The pointer moved: redraw where a cursor is drawn (with VRR, riding client
    /// frames on KMS).
    pub fn queue_cursor_redraw(&mut self) {
        if let Backend::Kms(_) = self.backend {
            kms::cursor_moved(self);
        } else {
            self.queue_redraw_all();
        }
    }

    /// Asks for a new frame on every output.
    pub fn queue_redraw_all(&mut self) {
        for output in self.outputs() {
            self.queue_redraw(&output);
        }
    }

    /// Asks for a new frame where `root`'s window is shown (everywhere if unknown).
    pub fn queue_redraw_for_surface(&mut self, root: &WlSurface) {
        let outputs = self
            .window_for_surface(root)
            .map(|w| self.space.outputs_for_element(&w))
            .filter(|o| !o.is_empty());
        match outputs {
            Some(outputs) => {
                for output in outputs {
                    self.queue_redraw(&output);
                }
            }
            None => self.queue_redraw_all(),
        }
    }

    /// Switches `output` to `mode` (must be one of its modes on real hardware).
    pub fn set_output_mode(&mut self, output: &Output, mode: Mode) -> anyhow::Result<()> {
        match &mut self.backend {
            Backend::Headless(h) => h.set_mode(output, mode)?,
            Backend::Winit(_) => anyhow::bail!("the nested window's size is set by the host"),
            Backend::Kms(_) => {
                // The mode shown is the timing's exact one (a custom timing's refresh
                // may differ from the asked one by a little).
                kms::set_mode(self, output, mode)?;
                self.relayout_after_output_change(output);
                return Ok(());
            }
            Backend::Starting => anyhow::bail!("no backend yet"),
        }
        if let Some(old) = output.current_mode() {
            output.delete_mode(old);
        }
        output.add_mode(mode);
        output.change_current_state(Some(mode), None, None, None);
        self.relayout_after_output_change(output);
        Ok(())
    }

    /// Switches `output` to a whole timing from the config: on KMS exactly that timing;
    /// a virtual output takes its size and rate.
    pub fn set_output_modeline(
        &mut self,
        output: &Output,
        line: &ghost_config::Modeline,
    ) -> anyhow::Result<()> {
        let timing = kms::from_modeline(line);
        if matches!(self.backend, Backend::Kms(_)) {
            if kms::is_current_timing(self, output, &timing) {
                return Ok(());
            }
            kms::set_timing(self, output, timing)?;
            self.relayout_after_output_change(output);
            return Ok(());
        }
        let mode = Mode {
            size: (i32::from(timing.width), i32::from(timing.height)).into(),
            refresh: timing.refresh_mhz(),
        };
        if output.current_mode() == Some(mode) {
            return Ok(());
        }
        self.set_output_mode(output, mode)
    }

    /// A display went away (unplugged, or a virtual output removed): its global goes,
    /// its layer surfaces are closed (their clients may open them again elsewhere), and
    /// windows left on no output move onto a remaining one.
    pub fn output_gone(&mut self, output: &Output, global: GlobalId) {
        tracing::info!(output = output.name(), "display disconnected");
        let layers: Vec<_> = smithay::desktop::layer_map_for_output(output)
            .layers()
            .cloned()
            .collect();
        for layer in layers {
            layer.layer_surface().send_close();
        }
        self.space.unmap_output(output);
        self.disabled_outputs.retain(|o| o != output);
        self.display_handle.remove_global::<Ghost>(global);
        self.image_copy_sources_changed();
        self.rescue_windows();
        self.output_management_changed();
        self.queue_redraw_all();
    }

    /// Windows outside every output (their display went away) move onto the first one,
    /// cascaded so they do not hide each other; fullscreen and maximized ones fill it.
    pub fn rescue_windows(&mut self) {
        let Some(first) = self.space.outputs().next().cloned() else {
            return;
        };
        let areas: Vec<Rectangle<i32, Logical>> = self
            .space
            .outputs()
            .filter_map(|o| self.space.output_geometry(o))
            .collect();
        let Some(area) = self.space.output_geometry(&first) else {
            return;
        };
        let stranded: Vec<Window> = self
            .space
            .elements()
            .filter(|w| {
                self.space
                    .element_geometry(w)
                    .is_some_and(|g| !areas.iter().any(|a| a.overlaps(g)))
            })
            .cloned()
            .collect();
        for (i, window) in stranded.into_iter().enumerate() {
            let offset = 40 * (i as i32 + 1);
            self.space.map_element(
                window.clone(),
                (area.loc.x + offset, area.loc.y + offset),
                false,
            );
            self.refit_window(&window, &first);
        }
    }

    /// Re-fits layer surfaces, maximized and fullscreen windows after an output changed.
    pub fn relayout_after_output_change(&mut self, output: &Output) {
        smithay::desktop::layer_map_for_output(output).arrange();
        let windows: Vec<_> = self.space.elements_for_output(output).cloned().collect();
        for window in windows {
            self.refit_window(&window, output);
        }
        self.output_management_changed();
        self.queue_redraw(output);
    }

    /// Renders `output` for the user's own screenshot (`ghostcomp msg screenshot`, the
    /// screenshot binding) and reads it back: 8-bit sRGB, or with `hdr` the signal of an
    /// HDR output; the cursor is drawn in only with `cursor`. Like the screen itself it
    /// shows windows that are blocked out of captures clients make.
    pub fn screenshot(
        &mut self,
        output: &Output,
        hdr: bool,
        cursor: bool,
    ) -> anyhow::Result<Captured> {
        self.render_picture(output, Shows::Output, hdr, cursor, false)
    }

    /// The scene a capture of `shows` draws from.
    fn capture_scene(&self, shows: Shows<'_>, cursor: bool) -> Scene<'_> {
        capture_scene!(self, shows, cursor)
    }

    /// [`Ghost::capture_scene`] from borrowed fields, so the backend stays free to
    /// borrow mutably for the rendering.
    pub(crate) fn capture_scene_of<'a>(
        space: &'a smithay::desktop::Space<Window>,
        cursor_status: &CursorImageStatus,
        seat: &smithay::input::Seat<Ghost>,
        notification: Option<&'a crate::render::notification::Notification>,
        arrow: &'a crate::render::cursor::DefaultCursor,
        shows: Shows<'_>,
        cursor: bool,
    ) -> Scene<'a> {
        let mut scene =
            Scene::new(space, cursor_status, seat, notification).with_default_cursor(Some(arrow));
        scene.capture_cursor = cursor;
        scene.block_out = true;
        match shows {
            Shows::Output => {}
            Shows::Window(window) => scene.only_window = Some(window.clone()),
            Shows::Cursor => scene.only_cursor = true,
        }
        scene
    }

    /// The picture size a capture of `shows` at `output`'s scale has now; None when it
    /// shows nothing (a hidden pointer, an unmapped window).
    pub fn capture_size(
        &self,
        output: &Output,
        shows: Shows<'_>,
    ) -> Option<smithay::utils::Size<i32, smithay::utils::Physical>> {
        self.capture_scene(shows, false).capture_size(output)
    }

    /// Where the pointer's image is (global logical) and its hotspot, as captures draw it.
    pub fn capture_cursor_image(
        &self,
    ) -> Option<(
        smithay::utils::Rectangle<i32, smithay::utils::Logical>,
        smithay::utils::Point<i32, smithay::utils::Logical>,
    )> {
        self.capture_scene(Shows::Cursor, false).cursor_image()
    }

    /// `output`'s picture read in place from the buffer it was drawn into, where a
    /// client's capture of the whole output (or a part) may use it, with the arrow to
    /// lay over the copy where the capture wants the pointer painted and the output
    /// shows none (see [`Ghost::arrow_for_capture`]). None where the picture must be
    /// drawn.
    pub fn shown_for_capture(
        &self,
        output: &Output,
        cursor: bool,
    ) -> Option<(
        ghost_capture::FrameView<'_>,
        Option<ghost_capture::Stamp<'_>>,
    )> {
        let at = self.arrow_for_capture(output, cursor)?;
        let (view, _) = self.backend.shown(output)?;
        Some((view, at.map(|at| arrow_stamp(&self.capture_arrow, at))))
    }

    /// Whether `output`'s own picture (where the backend draws it into memory) can
    /// serve a capture that paints the pointer (`cursor`) or leaves it out, and where
    /// the arrow then goes over it (output pixels). None where it cannot: the output
    /// is rotated or holds a window blocked out of captures; a capture without the
    /// pointer while a client's cursor surface is drawn into the output; one with it
    /// on a scaled output with the arrow, which captures draw scaled. Some(None) where
    /// nothing is laid over it (no pointer wanted or shown, or the client's cursor
    /// surface the picture already holds, as the screen does).
    pub fn arrow_for_capture(&self, output: &Output, cursor: bool) -> Option<Option<(i32, i32)>> {
        if !self.shown_as_captured(output) {
            return None;
        }
        match (&self.cursor_status, cursor) {
            (CursorImageStatus::Surface(_), false) => None,
            (CursorImageStatus::Named(_), true) => {
                if output.current_scale().fractional_scale() != 1.0 {
                    return None;
                }
                let origin = self.space.output_geometry(output)?.loc;
                Some(
                    self.capture_cursor_image()
                        .map(|(image, _)| (image.loc.x - origin.x, image.loc.y - origin.y)),
                )
            }
            _ => Some(None),
        }
    }

    /// Whether `output`'s own buffer shows what a capture of it shows, the pointer
    /// aside: not rotated, and no window on it blocked out of captures.
    fn shown_as_captured(&self, output: &Output) -> bool {
        output.current_transform() == smithay::utils::Transform::Normal
            && !self
                .space
                .elements_for_output(output)
                .any(|w| crate::shell::window_data(w).block_out.get())
    }

    /// Draws a client's capture of the whole `output` straight into its dmabuf on the
    /// GPU, where it can (KMS with GLES, an SDR output, a buffer the size of the
    /// picture that the renderer draws into): nothing read back, nothing copied by the
    /// CPU. False where it cannot; the caller copies through memory instead.
    pub fn capture_into_dmabuf(
        &mut self,
        output: &Output,
        buffer: &smithay::reexports::wayland_server::protocol::wl_buffer::WlBuffer,
        cursor: bool,
    ) -> bool {
        let Ok(dmabuf) = smithay::wayland::dmabuf::get_dmabuf(buffer) else {
            return false;
        };
        let mut dmabuf = dmabuf.clone();
        if crate::protocols::color_management::output_is_hdr(output) {
            return false;
        }
        let scene = capture_scene!(self, Shows::Output, cursor);
        let Backend::Kms(kms) = &mut self.backend else {
            return false;
        };
        let size = smithay::backend::allocator::Buffer::size(&dmabuf);
        if scene.capture_size(output) != Some((size.w, size.h).into()) {
            return false;
        }
        match kms.capture_into_dmabuf(&scene, output, &mut dmabuf) {
            Ok(()) => true,
            Err(err) => {
                tracing::debug!("capture read back instead of drawn into the dmabuf: {err:#}");
                false
            }
        }
    }

    /// Renders what a client's capture (screencopy, a stream) shows and reads it back,
    /// at `output`'s scale and in its colours: windows blocked out of captures are black.
    pub fn capture(
        &mut self,
        output: &Output,
        shows: Shows<'_>,
        hdr: bool,
        cursor: bool,
    ) -> anyhow::Result<Captured> {
        self.render_picture(output, shows, hdr, cursor, true)
    }

    /// What a capture of `output` shows, packed for a video encoder on the GPU (NV12,
    /// or P010 of an HDR output's signal with `hdr`); windows blocked out of captures
    /// are black. None where the renderer cannot pack (pixman, the nested window).
    pub fn capture_packed(
        &mut self,
        output: &Output,
        shows: Shows<'_>,
        hdr: bool,
        cursor: bool,
    ) -> Option<anyhow::Result<ghost_capture::YuvFrame>> {
        let mut scene = capture_scene!(self, shows, cursor);
        scene.block_out = true;
        match &mut self.backend {
            Backend::Headless(h) => h.capture_packed(&scene, output, hdr),
            Backend::Kms(k) => k.capture_packed(&scene, output, hdr),
            _ => None,
        }
    }

    fn render_picture(
        &mut self,
        output: &Output,
        shows: Shows<'_>,
        hdr: bool,
        cursor: bool,
        block_out: bool,
    ) -> anyhow::Result<Captured> {
        let mut scene = capture_scene!(self, shows, cursor);
        scene.block_out = block_out;
        // The user's own screenshot shows the screen as it is, sharing and
        // remote-control indicators and the share prompt's outline too.
        let scene = scene
            .sharing(!block_out && (self.casts.active() || self.recordings.active()))
            .remote_control(!block_out && self.remotes.active())
            .selection(self.picks.selection().filter(|_| !block_out));
        match &mut self.backend {
            Backend::Headless(h) => h.capture(&scene, output, hdr),
            Backend::Winit(_) if hdr => anyhow::bail!("the nested window is SDR"),
            Backend::Winit(w) => Ok(Captured::Sdr(w.capture(&scene, output)?)),
            Backend::Kms(k) => k.capture(&scene, output, hdr),
            Backend::Starting => anyhow::bail!("no backend yet"),
        }
    }
}

/// The captures' arrow laid with its top left at `at` (picture pixels).
pub fn arrow_stamp(
    arrow: &crate::render::cursor::DefaultCursor,
    (x, y): (i32, i32),
) -> ghost_capture::Stamp<'_> {
    ghost_capture::Stamp {
        pixels: &arrow.image.pixels,
        width: arrow.image.width,
        height: arrow.image.height,
        x,
        y,
    }
}
