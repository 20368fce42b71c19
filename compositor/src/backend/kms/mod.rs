//! The KMS backend: the compositor as the login session's display server. A libseat
//! session (logind, seatd, or the noop backend as root) hands out the DRM node and the
//! input devices; `ghost-kms` lights the connected displays and flips frames; libinput
//! reads the keyboard, pointer and touch; udev reports displays coming and going.
//!
//! Frames are drawn with pixman into an output-sized buffer and copied (only what
//! changed) into the dumb buffer that goes on screen next: this runs on every KMS
//! device, including those without a GPU (vkms, simpledrm). A frame starts when a
//! client asks for one and no flip is in flight; the page-flip event stamps
//! presentation feedback with the vblank's time and sequence.

mod input;
mod outputs;
pub mod pacing;

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::Context;
use ghost_kms::scanout::{FrameError, Scanout};
use ghostnv_backend::device::{Flipped, KmsDevice};
use smithay::{
    backend::{
        renderer::{
            damage::OutputDamageTracker, element::RenderElementStates, pixman::PixmanRenderer, Bind,
        },
        session::{libseat::LibSeatSession, Event as SessionEvent, Session},
        udev::{self, UdevBackend, UdevEvent},
    },
    output::{Mode, Output},
    reexports::{
        calloop::{
            generic::Generic,
            timer::{TimeoutAction, Timer},
            Interest, Mode as FdMode, PostAction, RegistrationToken,
        },
        input::Libinput,
        pixman::Image,
        rustix::fs::OFlags,
        wayland_server::backend::GlobalId,
    },
};
use tracing::{debug, info, warn};

use super::{Backend, FrameStats};
use crate::{
    render::{Scene, CLEAR_COLOR},
    state::Ghost,
};

/// One lit display.
struct KmsOutput {
    output: Output,
    global: GlobalId,
    connector: u32,
    crtc: u32,
    image: Image<'static, 'static>,
    tracker: OutputDamageTracker,
    rendered_once: bool,
    /// A frame was asked for while a flip was in flight.
    redraw: bool,
    /// A render is queued on the event loop.
    scheduled: bool,
    /// Frame callbacks for a frame that changed nothing wait for this timer.
    idle_timer: Option<RegistrationToken>,
    /// The element states of the frame on its way to the screen.
    in_flight: Option<RenderElementStates>,
    last_vblank: Option<Duration>,
    period: Duration,
    failures: u32,
    stats: FrameStats,
    /// What the display's EDID says (its VRR range decides VRR capability too).
    display: Option<ghost_kms::DisplayInfo>,
    /// VRR is on for the frames now.
    vrr: bool,
}

/// The session, the device and its outputs, and the input devices.
pub struct KmsBackend {
    session: LibSeatSession,
    scanout: Scanout,
    renderer: PixmanRenderer,
    outputs: Vec<KmsOutput>,
    libinput: Libinput,
    node: PathBuf,
}

impl KmsBackend {
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

    /// Renders `output` offscreen for a screenshot.
    pub fn capture(
        &mut self,
        scene: &Scene<'_>,
        output: &Output,
    ) -> anyhow::Result<ghost_capture::Frame> {
        crate::render::capture_output(scene, &mut self.renderer, output)
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
        Some(serde_json::json!({
            "device": self.node.display().to_string(),
            "driver": self.scanout.model().driver,
            "connector": o.connector,
            "crtc": o.crtc,
            "primary_plane": head.lit.plane,
            "format": format!("{:#010x}", head.lit.format),
            "active": head.active,
            "properties": head.properties.iter().map(|(obj, name, value)| {
                serde_json::json!({"object": obj, "name": name, "value": value})
            }).collect::<Vec<_>>(),
            "refused_property_frames": head.refused_properties,
            "vrr": {
                "capable": ghost_kms::vrr::vrr_capable(self.scanout.model(), o.connector, o.crtc)
                    && o.display.as_ref().is_none_or(|d| d.vrr.range.is_some()),
                "range_hz": o.display.as_ref().and_then(|d| d.vrr.range.as_ref()).map(|r| [r.min_hz, r.max_hz]),
                "enabled": o.vrr,
            },
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
pub fn init(state: &mut Ghost) -> anyhow::Result<()> {
    let (mut session, notifier) = LibSeatSession::new().map_err(|e| {
        anyhow::anyhow!(
            "cannot open a seat session ({e}); start ghostcomp from a virtual terminal \
             with logind or seatd, or as root with LIBSEAT_BACKEND=noop"
        )
    })?;
    let seat = session.seat();
    let node = match std::env::var_os("GHOSTCOMP_DRM_DEVICE") {
        Some(path) => PathBuf::from(path),
        None => udev::primary_gpu(&seat)
            .ok()
            .flatten()
            .or_else(|| {
                udev::all_gpus(&seat)
                    .ok()
                    .and_then(|all| all.into_iter().next())
            })
            .or_else(first_card_node)
            .context("no KMS device on this seat")?,
    };
    let fd = session
        .open(
            &node,
            OFlags::RDWR | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK,
        )
        .with_context(|| format!("cannot open {}", node.display()))?;
    let device = KmsDevice::from_fd(fd)
        .with_context(|| format!("{} is not an atomic KMS device", node.display()))?;
    info!(node = %node.display(), driver = device.model.driver, "KMS device");
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
                on_device_events(state);
                Ok(PostAction::Continue)
            },
        )
        .map_err(|e| anyhow::anyhow!("cannot watch the DRM node: {e}"))?;
    state
        .loop_handle
        .insert_source(notifier, |event, _, state| on_session_event(state, event))
        .map_err(|e| anyhow::anyhow!("cannot watch the session: {e}"))?;
    match UdevBackend::new(&seat) {
        Ok(udev) => {
            let token = state.loop_handle.insert_source(udev, |event, _, state| {
                if let UdevEvent::Changed { .. } | UdevEvent::Added { .. } = event {
                    on_hotplug(state);
                }
            });
            if let Err(err) = token {
                warn!(%err, "display hotplug will not be seen");
            }
        }
        Err(err) => warn!(%err, "no udev monitor: display hotplug will not be seen"),
    }
    let libinput = input::start(state, &session)?;
    // Nobody else draws the pointer on a bare display.
    state.default_cursor = Some(crate::render::cursor::DefaultCursor::arrow());

    state.backend = Backend::Kms(Box::new(KmsBackend {
        session,
        scanout,
        renderer: PixmanRenderer::new()?,
        outputs: Vec::new(),
        libinput,
        node,
    }));
    outputs::sync(state);
    Ok(())
}

/// The first /dev/dri/cardN, for systems where udev knows no devices (no daemon ran).
fn first_card_node() -> Option<PathBuf> {
    let mut cards: Vec<PathBuf> = std::fs::read_dir("/dev/dri")
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("card"))
        })
        .collect();
    cards.sort();
    cards.into_iter().next()
}

/// Asks for a frame of `output`: drawn on the next turn of the event loop, or when the
/// flip in flight completes.
pub fn schedule(state: &mut Ghost, output: &Output) {
    let Backend::Kms(backend) = &mut state.backend else {
        return;
    };
    let Some(o) = backend.find_mut(output) else {
        return;
    };
    if o.scheduled {
        return;
    }
    o.scheduled = true;
    let output = output.clone();
    state.loop_handle.insert_idle(move |state| {
        if let Backend::Kms(backend) = &mut state.backend {
            if let Some(o) = backend.find_mut(&output) {
                o.scheduled = false;
            }
        }
        render(state, &output);
    });
}

fn render(state: &mut Ghost, output: &Output) {
    let started = Instant::now();
    let wishes = state.frame_scene(output);
    let scene = Scene::new(
        &state.space,
        &state.cursor_status,
        &state.seat,
        state.notification.as_ref(),
    )
    .with_default_cursor(state.default_cursor.as_ref());
    let Backend::Kms(backend) = &mut state.backend else {
        return;
    };
    let paused = backend.scanout.paused();
    let Some(o) = backend.outputs.iter_mut().find(|o| &o.output == output) else {
        return;
    };
    let head = backend
        .scanout
        .heads()
        .iter()
        .find(|h| h.lit.crtc == o.crtc);
    if paused || head.is_none_or(|h| h.flip_pending || !h.active) {
        o.redraw = true;
        return;
    }
    let elements = scene.elements(&mut backend.renderer, output, true);
    let age = usize::from(o.rendered_once);
    let drawn = match backend.renderer.bind(&mut o.image) {
        Ok(mut framebuffer) => o
            .tracker
            .render_output(
                &mut backend.renderer,
                &mut framebuffer,
                age,
                &elements,
                CLEAR_COLOR,
            )
            .map(|r| (r.damage.cloned(), r.states))
            .map_err(|e| anyhow::anyhow!("{e:?}")),
        Err(e) => Err(anyhow::anyhow!("{e:?}")),
    };
    drop(elements);
    let (damage, states) = match drawn {
        Ok(r) => r,
        Err(err) => {
            warn!(%err, output = output.name(), "rendering failed");
            return;
        }
    };
    o.rendered_once = true;
    let Some(damage) = damage else {
        o.stats.record(None);
        idle_frame(state, output, states);
        return;
    };
    let rects: Vec<_> = damage
        .iter()
        .map(|r| {
            (
                r.loc.x.max(0) as u32,
                r.loc.y.max(0) as u32,
                r.size.w.max(0) as u32,
                r.size.h.max(0) as u32,
            )
        })
        .collect();
    let rendered_at = Instant::now();
    let vrr = set_frame_properties(&mut backend.scanout, o, &wishes);
    o.vrr = vrr;
    let stride = o.image.stride();
    let len = stride * o.image.height();
    // SAFETY: the image owns its pixels (created by pixman with its own storage) and
    // lives in `o` for this whole block; nothing renders into it until the slice is
    // gone at the end of this statement.
    let pixels = unsafe { std::slice::from_raw_parts(o.image.data() as *const u8, len) };
    let result = backend
        .scanout
        .present(o.crtc, pixels, stride, &rects, wishes.tearing);
    debug!(
        output = output.name(),
        render_us = rendered_at.duration_since(started).as_micros() as u64,
        copy_and_flip_us = rendered_at.elapsed().as_micros() as u64,
        "frame"
    );
    match result {
        Ok(()) => {
            o.failures = 0;
            o.in_flight = Some(states);
            o.stats.record(Some(
                rects.iter().map(|r| u64::from(r.2) * u64::from(r.3)).sum(),
            ));
        }
        Err(FrameError::Busy) => {
            // Drawn but not shown: draw everything again for the next chance.
            o.rendered_once = false;
            o.redraw = true;
        }
        Err(err) => {
            o.failures += 1;
            o.rendered_once = false;
            warn!(%err, output = output.name(), failures = o.failures, "frame not shown");
            let relight = o.failures >= 3;
            idle_frame(state, output, states);
            if relight {
                outputs::relight(state);
            }
        }
    }
}

/// Puts VRR_ENABLED (where the CRTC has it) on the head's frame properties, as the
/// policy, the display and the fullscreen window decide. Returns whether VRR is on.
fn set_frame_properties(scanout: &mut Scanout, o: &KmsOutput, wishes: &pacing::FrameScene) -> bool {
    let mut scratch = ghostnv_backend::sim::AtomicRequest::default();
    let on = ghost_kms::vrr::apply_vrr(
        &mut scratch,
        scanout.model(),
        o.connector,
        o.crtc,
        ghost_kms::vrr::VrrInputs {
            policy: wishes.policy,
            fullscreen: wishes.fullscreen,
            content: wishes.content,
            display: o.display.as_ref(),
        },
    );
    if let Some(head) = scanout.head_mut(o.crtc) {
        head.properties = scratch.properties;
    }
    on
}

/// A frame that put nothing new on screen still answers frame callbacks, at the
/// output's next vblank (so a client that commits without changes is paced, not spun).
fn idle_frame(state: &mut Ghost, output: &Output, states: RenderElementStates) {
    let now = state.now();
    let Backend::Kms(backend) = &mut state.backend else {
        return;
    };
    let Some(o) = backend.find_mut(output) else {
        return;
    };
    if o.idle_timer.is_some() {
        return;
    }
    let period = o.period.max(Duration::from_millis(1));
    let wait = match o.last_vblank {
        Some(last) if last <= now => {
            let since = (now - last).as_nanos() % period.as_nanos();
            period - Duration::from_nanos(since as u64)
        }
        _ => period,
    };
    let output = output.clone();
    let token = state.loop_handle.insert_source(
        Timer::from_deadline(Instant::now() + wait),
        move |_, _, state| {
            if let Backend::Kms(backend) = &mut state.backend {
                if let Some(o) = backend.find_mut(&output) {
                    o.idle_timer = None;
                }
            }
            state.post_render(&output, &states, None);
            TimeoutAction::Drop
        },
    );
    match token {
        Ok(token) => o.idle_timer = Some(token),
        Err(err) => warn!(%err, "cannot arm the frame-callback timer"),
    }
}

fn on_device_events(state: &mut Ghost) {
    let Backend::Kms(backend) = &mut state.backend else {
        return;
    };
    let flips: Vec<Flipped> = backend.scanout.dispatch();
    for flip in flips {
        flip_done(state, flip);
    }
}

fn flip_done(state: &mut Ghost, flip: Flipped) {
    let Backend::Kms(backend) = &mut state.backend else {
        return;
    };
    let Some(o) = backend.outputs.iter_mut().find(|o| o.crtc == flip.crtc) else {
        return;
    };
    o.last_vblank = Some(flip.time);
    let output = o.output.clone();
    let period = o.period;
    let redraw = std::mem::take(&mut o.redraw);
    if let Some(states) = o.in_flight.take() {
        debug!(output = output.name(), seq = flip.sequence, "flipped");
        state.post_render(
            &output,
            &states,
            Some((flip.time, period, u64::from(flip.sequence))),
        );
    }
    if redraw {
        schedule(state, &output);
    }
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

/// Switches `output` to `mode` (one of its connector's modes) with a tested modeset.
pub fn set_mode(state: &mut Ghost, output: &Output, mode: Mode) -> anyhow::Result<()> {
    outputs::set_mode(state, output, mode)
}

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
