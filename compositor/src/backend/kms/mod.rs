//! The KMS backend: the compositor as the login session's display server. A libseat
//! session (logind, seatd, or the noop backend as root) hands out the DRM node and the
//! input devices; `ghost-kms` lights the connected displays and flips frames; libinput
//! reads the keyboard, pointer and touch; udev (or the kernel's uevents where no udev
//! daemon runs) reports displays coming and going.
//!
//! On a GPU, GLES draws each frame into a swapchain of GBM buffers that goes on screen
//! as it is; without one (vkms, simpledrm), pixman draws into memory and what changed
//! is copied into the dumb buffer that goes on screen next ([`paint`]). A frame starts
//! when a client asks for one and no flip is in flight; the page-flip event stamps
//! presentation feedback with the vblank's time and sequence.

mod dmabuf;
mod frame;
pub mod hdr;
mod hotplug;
mod input;
mod modes;
mod outputs;
pub mod pacing;
pub mod paint;
mod planes;

pub use frame::{cursor_moved, deliver_waiting_flips, schedule};

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use ghost_kms::scanout::Scanout;
use ghostnv_backend::device::KmsDevice;
use smithay::{
    backend::{
        renderer::{damage::OutputDamageTracker, element::RenderElementStates},
        session::{libseat::LibSeatSession, Event as SessionEvent, Session},
        udev,
    },
    output::Output,
    reexports::{
        calloop::{generic::Generic, Interest, Mode as FdMode, PostAction, RegistrationToken},
        input::Libinput,
        rustix::fs::OFlags,
        wayland_server::backend::GlobalId,
    },
};
use tracing::{debug, info, warn};

use super::{Backend, FrameStats};
use crate::{render::Scene, state::Ghost};

/// One lit display.
struct KmsOutput {
    output: Output,
    global: GlobalId,
    connector: u32,
    crtc: u32,
    /// The primary buffer's format the canvas draws (10-bit while HDR is on).
    format: u32,
    canvas: paint::Canvas,
    /// The canvas before a fall back to pixman, kept until a frame of the new one is
    /// on screen.
    retired: Option<paint::Canvas>,
    tracker: OutputDamageTracker,
    rendered_once: bool,
    /// When frames start.
    scheduler: ghost_vrr::schedule::FrameScheduler,
    /// The armed start of the next frame: its time (ns) and timer.
    start_timer: Option<(u64, RegistrationToken)>,
    /// Frame callbacks for a frame that changed nothing wait for this timer.
    idle_timer: Option<RegistrationToken>,
    /// The frame on its way to the screen: its element states (none for a repeat)
    /// and what it shows.
    in_flight: Option<(Option<RenderElementStates>, ghost_vrr::vrr::Flip)>,
    last_vblank: Option<Duration>,
    period: Duration,
    failures: u32,
    stats: FrameStats,
    /// What the display's EDID says (its VRR range decides VRR capability too).
    display: Option<ghost_kms::DisplayInfo>,
    /// VRR is on for the frames now.
    vrr: bool,
    /// Client buffers on planes in the frame on its way to the screen, and in the one
    /// on screen: held so their clients do not reuse them while they are scanned out.
    planes_pending: Vec<(
        ghost_kms::client_planes::ClientBuffer,
        smithay::backend::renderer::utils::Buffer,
    )>,
    planes_shown: Vec<(
        ghost_kms::client_planes::ClientBuffer,
        smithay::backend::renderer::utils::Buffer,
    )>,
    /// What the last frame put on planes, for `msg outputs`: (plane, window app id).
    on_planes: Vec<(u32, String)>,
    /// The last frame's client planes (a frame whose composited part did not change
    /// still flips when these did).
    last_clients: ghost_kms::client_planes::ClientPlanes,
    /// Frames whose client planes the device refused (they were composited).
    refused_client_frames: u64,
    /// How the mode's timing was made when the display does not list it.
    timing_made_by: Option<ghost_kms::timing::Formula>,
}

/// The session, the device and its outputs, and the input devices.
pub struct KmsBackend {
    session: LibSeatSession,
    scanout: Scanout,
    painter: paint::Painter,
    outputs: Vec<KmsOutput>,
    libinput: Libinput,
    node: PathBuf,
    /// What sysfs says of the device (render node, PCI ids, boot GPU).
    gpu: Option<ghostnv_backend::discover::GpuNode>,
    driver_version: String,
    /// Client dmabufs imported as framebuffers.
    framebuffers: planes::ClientFramebuffers,
    /// linux-dmabuf feedback for surfaces (None: no dmabuf global).
    feedbacks: Option<dmabuf::Feedbacks>,
    /// A client's cursor surface, copied for the cursor plane once per commit.
    client_cursor: crate::render::cursor::ClientCursor,
    /// The colour path's state for captures drawn into clients' dmabufs.
    capture_colour: crate::render::colour_frames::ColourFrames,
    /// Client captures drawn by the GPU straight into their dmabufs.
    gpu_captures: u64,
}

impl KmsBackend {
    /// Whether surfaces' colour descriptions are converted (GLES draws).
    pub fn converts_colour(&self) -> bool {
        self.painter.converts_colour()
    }

    /// Frame counters of `output`.
    pub fn stats(&self, output: &Output) -> Option<FrameStats> {
        self.find(output).map(|o| o.stats)
    }

    fn find(&self, output: &Output) -> Option<&KmsOutput> {
        self.outputs.iter().find(|o| &o.output == output)
    }

    fn find_mut(&mut self, output: &Output) -> Option<&mut KmsOutput> {
        self.outputs.iter_mut().find(|o| &o.output == output)
    }

    /// The DRM node driven.
    pub fn node(&self) -> &std::path::Path {
        &self.node
    }

    /// Switches to another virtual terminal (Ctrl+Alt+Fn).
    pub fn change_vt(&mut self, vt: i32) {
        if let Err(err) = self.session.change_vt(vt) {
            warn!(%err, vt, "cannot switch virtual terminals");
        }
    }

    /// Draws a client's capture of `scene` into its `dmabuf` on the GPU (see
    /// [`crate::state::Ghost::capture_into_dmabuf`]); an error where GLES cannot.
    pub fn capture_into_dmabuf(
        &mut self,
        scene: &crate::render::Scene<'_>,
        output: &Output,
        dmabuf: &mut smithay::backend::allocator::dmabuf::Dmabuf,
    ) -> anyhow::Result<()> {
        self.painter
            .render_cast(scene, output, &mut self.capture_colour, dmabuf)?;
        self.gpu_captures += 1;
        Ok(())
    }

    /// The device clients share dmabufs with, while the linux-dmabuf global is up.
    pub fn dmabuf_device(&self) -> Option<u64> {
        self.feedbacks.as_ref().map(|f| f.device)
    }

    /// Imports a client's dmabuf for composition (pixman reads linear buffers).
    pub fn import_dmabuf(&mut self, dmabuf: &smithay::backend::allocator::dmabuf::Dmabuf) -> bool {
        self.painter.import_dmabuf(dmabuf)
    }

    /// What draws the outputs, for casts drawn on the GPU.
    pub fn painter(&mut self) -> &mut paint::Painter {
        &mut self.painter
    }

    /// Renders `output` offscreen for a screenshot (with `hdr`, its PQ signal).
    pub fn capture(
        &mut self,
        scene: &Scene<'_>,
        output: &Output,
        hdr: bool,
    ) -> anyhow::Result<super::Captured> {
        self.painter.capture(scene, output, hdr)
    }

    /// A capture packed for a video encoder on the GPU, where the painter can.
    pub fn capture_packed(
        &mut self,
        scene: &Scene<'_>,
        output: &Output,
        hdr: bool,
    ) -> Option<anyhow::Result<ghost_capture::YuvFrame>> {
        self.painter.capture_packed(scene, output, hdr)
    }

    /// What the display engine scans out for `output`, read back through the device's
    /// writeback connector (planes and all), not re-rendered.
    pub fn writeback(&mut self, output: &Output) -> anyhow::Result<ghost_capture::Frame> {
        let crtc = self
            .find(output)
            .map(|o| o.crtc)
            .context("not a KMS output")?;
        let (w, h, pixels) = self
            .scanout
            .writeback(crtc)
            .map_err(|e| anyhow::anyhow!(e))?;
        let bytes = pixels.iter().flat_map(|p| p.to_le_bytes()).collect();
        ghost_capture::Frame::new(
            w,
            h,
            w as usize * 4,
            ghost_capture::PixelFormat::Xrgb8888,
            bytes,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// Per-output KMS state for `ghostcomp msg outputs`.
    pub fn describe(&self, output: &Output) -> Option<serde_json::Value> {
        let o = self.find(output)?;
        let head = self.scanout.heads().iter().find(|h| h.lit.crtc == o.crtc)?;
        let gates = ghostnv_backend::quirks::gates(self.scanout.model());
        Some(serde_json::json!({
            "device": self.node.display().to_string(),
            "driver": self.scanout.model().driver,
            "driver_version": self.driver_version,
            "driver_gates": {
                "in_fence": gates.in_fence,
                "syncobj_timeline": gates.syncobj_timeline,
                "hdr_connector_properties": gates.hdr_connector_properties,
            },
            "render_node": self.gpu.as_ref().and_then(|g| g.render.as_ref()).map(|p| p.display().to_string()),
            "pci_id": self.gpu.as_ref().and_then(|g| g.pci).map(|(v, d)| format!("{v:04x}:{d:04x}")),
            "boot_vga": self.gpu.as_ref().is_some_and(|g| g.boot_vga),
            "connector": o.connector,
            "crtc": o.crtc,
            "primary_plane": head.lit.plane,
            "format": format!("{:#010x}", head.lit.format),
            "renderer": self.painter.name(),
            "captures_drawn_into_dmabufs": self.gpu_captures,
            "gl": match &self.painter {
                paint::Painter::Gles(g) => Some(g.name.clone()),
                paint::Painter::Pixman(_) => None,
            },
            "gpu_buffer_on_screen": head.rendered.is_some(),
            "active": head.active,
            "session_active": !self.scanout.paused(),
            "properties": head.properties.iter().map(|(obj, name, value)| {
                serde_json::json!({"object": obj, "name": name, "value": value})
            }).collect::<Vec<_>>(),
            "refused_property_frames": head.refused_properties,
            "damage_clipped_frames": head.clipped_frames,
            "cursor_plane": head.cursor.as_ref().map(|c| serde_json::json!({
                "plane": c.plane,
                "side": c.side,
                "visible": c.visible,
            })),
            "timing": {
                "modeline": ghost_kms::timing::AsModeline(&head.lit.mode).to_string(),
                "made_by": o.timing_made_by.map_or("the display's list", ghost_kms::timing::Formula::name),
            },
            "vrr": {
                "capable": ghost_kms::vrr::vrr_capable(self.scanout.model(), o.connector, o.crtc)
                    && o.display.as_ref().is_none_or(|d| d.vrr.range.is_some()),
                "range_hz": o.display.as_ref().and_then(|d| d.vrr.range.as_ref()).map(|r| [r.min_hz, r.max_hz]),
                "enabled": o.vrr,
            },
            "client_planes": {
                "planes": o.on_planes.iter().map(|(plane, app_id)| serde_json::json!({
                    "plane": plane,
                    "direct_scanout": *plane == head.lit.plane,
                    "app_id": app_id,
                })).collect::<Vec<_>>(),
                "tests_last_frame": self.scanout.client_plane_tests(o.crtc),
                "refused_frames": o.refused_client_frames,
            },
            "hdr": head.lit.hdr.map(|h| serde_json::json!({
                "eotf": format!("{:?}", h.metadata.eotf),
                "max_mastering_luminance": h.metadata.max_mastering_luminance,
                "min_mastering_luminance": h.metadata.min_mastering_luminance,
                "bpc": h.bpc,
            })),
            "tearing": {
                "async_flips": self.scanout.model().caps.get("ASYNC_PAGE_FLIP") == Some(&1),
                "last_frame_async": head.last_async,
                "refused_async_frames": head.refused_async,
            },
        }))
    }
}

/// Opens the session and the GPU, lights every connected display and starts reading
/// input. Fails (so `auto` can fall back) when there is no session or no KMS device.
/// Frames are drawn by GLES on a GPU (a device with a render node) or when `renderer`
/// asks for it, else by pixman.
pub fn init(state: &mut Ghost, renderer: super::RendererChoice) -> anyhow::Result<()> {
    let (mut session, notifier) = LibSeatSession::new().map_err(|e| {
        anyhow::anyhow!(
            "cannot open a seat session ({e}); start ghostcomp from a virtual terminal \
             with logind or seatd, or as root with LIBSEAT_BACKEND=noop"
        )
    })?;
    let seat = session.seat();
    let gpus = ghostnv_backend::discover::discover(
        std::path::Path::new("/sys/class/drm"),
        std::path::Path::new("/dev/dri"),
    );
    let node = match std::env::var_os("GHOSTCOMP_DRM_DEVICE") {
        Some(path) => PathBuf::from(path),
        // The boot GPU first (what the firmware showed its screen on).
        None => gpus
            .first()
            .map(|g| g.card.clone())
            .or_else(|| udev::primary_gpu(&seat).ok().flatten())
            .context("no KMS device on this machine")?,
    };
    let gpu = gpus.iter().find(|g| g.card == node).cloned();
    let fd = session
        .open(
            &node,
            OFlags::RDWR | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK,
        )
        .with_context(|| format!("cannot open {}", node.display()))?;
    let device = KmsDevice::from_fd(fd)
        .with_context(|| format!("{} is not an atomic KMS device", node.display()))?;
    let driver_version = device.driver_version().unwrap_or_default();
    let gates = ghostnv_backend::quirks::gates(&device.model);
    info!(node = %node.display(), driver = driver_version, ?gpu, ?gates, "KMS device");
    if !gates.atomic {
        anyhow::bail!(
            "{driver_version} predates the atomic modesetting ghostcomp needs (from {})",
            ghostnv_backend::quirks::for_driver(&device.model.driver)
                .atomic_since
                .map_or_else(String::new, |v| v.to_string())
        );
    }
    let mut scanout = Scanout::new(device);
    scanout
        .light(Default::default())
        .context("no display could be lit")?;

    let watch = scanout
        .fd()
        .try_clone_to_owned()
        .context("cannot watch the DRM node")?;
    state
        .loop_handle
        .insert_source(
            Generic::new(watch, Interest::READ, FdMode::Level),
            |_, _, state| {
                frame::on_device_events(state);
                Ok(PostAction::Continue)
            },
        )
        .map_err(|e| anyhow::anyhow!("cannot watch the DRM node: {e}"))?;
    state
        .loop_handle
        .insert_source(notifier, |event, _, state| on_session_event(state, event))
        .map_err(|e| anyhow::anyhow!("cannot watch the session: {e}"))?;
    hotplug::watch(state, &seat, on_hotplug);
    let libinput = input::start(state, &session)?;
    // Nobody else draws the pointer on a bare display.
    state.default_cursor = Some(crate::render::cursor::DefaultCursor::arrow());

    let on_gpu = gpu.as_ref().is_some_and(|g| g.render.is_some());
    let painter = match renderer {
        super::RendererChoice::Pixman => paint::Painter::new(scanout.device(), false)?,
        super::RendererChoice::Gles => paint::Painter::new(scanout.device(), true)?,
        super::RendererChoice::Auto => {
            paint::Painter::new(scanout.device(), on_gpu).or_else(|err| {
                warn!(%err, "no GLES on the GPU; frames are drawn by pixman");
                paint::Painter::new(scanout.device(), false)
            })?
        }
    };
    let feedbacks = dmabuf::advertise(state, &node, scanout.device(), painter.dmabuf_formats());
    // Explicit sync needs dmabufs (the protocol takes points with dmabufs only) and a
    // device that imports timelines.
    if feedbacks.is_some() {
        let own = gpu.as_ref().and_then(|g| g.render.clone());
        let render_nodes: Vec<PathBuf> = own
            .iter()
            .cloned()
            .chain(
                gpus.iter()
                    .filter_map(|g| g.render.clone())
                    .filter(|r| Some(r) != own.as_ref()),
            )
            .collect();
        // The quirk table speaks of the display GPU's release: its own node (the first,
        // where it has one) needs its word.
        let own_allowed =
            own.is_none() || ghostnv_backend::quirks::gates(scanout.model()).syncobj_timeline;
        match crate::handlers::syncobj::import_device(&render_nodes, own_allowed) {
            Some(device) => state.offer_explicit_sync(device),
            None => info!("no device imports syncobj timelines: explicit sync is not offered"),
        }
    }
    state.backend = Backend::Kms(Box::new(KmsBackend {
        session,
        scanout,
        painter,
        outputs: Vec::new(),
        libinput,
        node,
        gpu,
        driver_version,
        framebuffers: Default::default(),
        feedbacks,
        client_cursor: Default::default(),
        capture_colour: Default::default(),
        gpu_captures: 0,
    }));
    outputs::sync(state);
    state.arm_idle_timer();
    Ok(())
}

fn on_session_event(state: &mut Ghost, event: SessionEvent) {
    let Backend::Kms(backend) = &mut state.backend else {
        return;
    };
    match event {
        SessionEvent::PauseSession => {
            info!("session paused (another virtual terminal)");
            backend.libinput.suspend();
            backend.scanout.pause();
        }
        SessionEvent::ActivateSession => {
            info!("session active again");
            if backend.libinput.resume().is_err() {
                warn!("input devices could not be resumed");
            }
            match backend.scanout.resume() {
                Ok(changes) => debug!(?changes, "displays after the switch"),
                Err(err) => warn!(%err, "the displays could not be restored"),
            }
            outputs::sync(state);
        }
    }
}

fn on_hotplug(state: &mut Ghost) {
    let Backend::Kms(backend) = &mut state.backend else {
        return;
    };
    match backend.scanout.rescan() {
        Ok(changes) => {
            info!(?changes, "displays changed");
            outputs::sync(state);
        }
        Err(err) => warn!(%err, "displays changed but could not be lit"),
    }
}

pub use modes::{from_modeline, is_current_timing, set_mode, set_timing};

/// Switches `output`'s display on or off (DPMS), keeping its mode.
pub fn set_power(state: &mut Ghost, output: &Output, on: bool) -> anyhow::Result<()> {
    let Backend::Kms(backend) = &mut state.backend else {
        anyhow::bail!("only displays on KMS can be switched off");
    };
    let crtc = backend
        .find(output)
        .map(|o| o.crtc)
        .context("unknown output")?;
    backend
        .scanout
        .set_active(crtc, on)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(o) = backend.find_mut(output) {
        o.rendered_once = false;
    }
    if on {
        schedule(state, output);
    }
    Ok(())
}

/// The nvidia-drm description from the project's data, for tests of what the backend
/// offers and picks on NVIDIA's planes.
#[cfg(test)]
fn nvidia_description() -> ghostnv_backend::DeviceModel {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/drm/nvidia-drm-sim.json"
    );
    let text = std::fs::read_to_string(path).expect("the nvidia-drm description");
    ghostnv_backend::DeviceModel::from_drm_info_json(&text).expect("it loads")
}
