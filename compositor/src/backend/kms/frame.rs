//! The frame loop of a KMS output. Requests for a frame go to the output's
//! [`FrameScheduler`]: at a fixed refresh compositing starts as late as the predicted
//! render time allows before the next vblank; with VRR the pacer decides (client
//! frames at once, repeats for slow clients, the cursor riding client frames). One
//! flip is in flight at a time; its page-flip event stamps presentation feedback and
//! lets the next frame start.

use std::{
    os::fd::AsFd,
    time::{Duration, Instant},
};

use ghost_kms::{
    client_planes::ClientBuffer,
    cursor::CursorImage,
    scanout::{Composited, FrameError, Scanout},
};
use ghost_vrr::{
    schedule::{FrameScheduler, Want},
    vrr::{Flip, VrrRange},
};
use ghostnv_backend::device::Flipped;
use smithay::{
    backend::renderer::{
        element::{Id, RenderElementStates},
        utils::Buffer,
    },
    output::Output,
    reexports::{
        calloop::timer::{TimeoutAction, Timer},
        wayland_server::{protocol::wl_surface::WlSurface, Resource},
    },
    utils::{Logical, Point},
};
use tracing::{debug, warn};

use super::{dmabuf, outputs, pacing, paint, planes, KmsOutput};
use crate::{backend::Backend, state::Ghost};

fn nanos(d: Duration) -> u64 {
    d.as_nanos().min(u128::from(u64::MAX)) as u64
}

/// A scheduler for a head refreshing every `period`.
pub fn scheduler(period: Duration) -> FrameScheduler {
    FrameScheduler::new(nanos(period))
}

/// Asks for a frame of `output` because its content changed.
pub fn schedule(state: &mut Ghost, output: &Output) {
    request(state, output, Want::Content);
}

/// The pointer moved. Where the cursor plane shows it, the plane moves and nothing is
/// redrawn: in a commit of its own at a fixed refresh, with the next flip the pacer
/// makes with VRR (every commit refreshes a VRR panel, and a mouse must not drive it);
/// elsewhere the output gets a frame, which with VRR rides the next client frame too.
pub fn cursor_moved(state: &mut Ghost) {
    let now = nanos(state.now());
    for output in state.outputs() {
        if !place_cursor(state, &output) {
            request(state, &output, Want::Cursor);
            continue;
        }
        let Backend::Kms(backend) = &mut state.backend else {
            return;
        };
        let at_once = backend
            .find_mut(&output)
            .is_some_and(|o| o.scheduler.cursor_plane_moved(now));
        if at_once {
            commit_cursor(state, &output);
        } else {
            arm(state, &output);
        }
    }
}

/// Puts the pointer on `output`'s cursor plane: our arrow for named shapes, or a copy
/// of a client's cursor surface (or takes it off when the pointer is elsewhere or
/// hidden). Returns true when the plane shows it, false when the frame must composite
/// it.
fn place_cursor(state: &mut Ghost, output: &Output) -> bool {
    use smithay::input::pointer::CursorImageStatus;
    let pointer = state.seat.get_pointer().map(|p| p.current_location());
    let geometry = state.space.output_geometry(output);
    let scale = output.current_scale().fractional_scale();
    // `[debug] cursor_plane = false` composites the pointer everywhere; a client's
    // cursor goes on the plane pixel for pixel, so only on unscaled outputs.
    let plane_allowed = state.config.debug.cursor_plane;
    let client = match &state.cursor_status {
        CursorImageStatus::Surface(surface)
            if plane_allowed && scale == 1.0 && surface.is_alive() =>
        {
            Some(surface.clone())
        }
        _ => None,
    };
    // Disjoint fields of the state: the arrow is borrowed, not copied, each frame.
    let arrow = match &state.cursor_status {
        CursorImageStatus::Named(_) if plane_allowed => state.default_cursor.as_ref(),
        _ => None,
    };
    let hidden = matches!(state.cursor_status, CursorImageStatus::Hidden);
    let Backend::Kms(backend) = &mut state.backend else {
        return false;
    };
    let Some(crtc) = backend.find(output).map(|o| o.crtc) else {
        return false;
    };
    let image: Option<(&CursorImage, Point<i32, Logical>)> = match (arrow, &client) {
        (Some(arrow), _) => Some((&arrow.image, arrow.hotspot)),
        (None, Some(surface)) => backend
            .client_cursor
            .image(surface)
            .map(|image| (image, crate::render::cursor::hotspot(surface))),
        (None, None) => None,
    };
    match (image, pointer, geometry) {
        (Some((image, hotspot)), Some(at), Some(geo)) if geo.to_f64().contains(at) => {
            let local = (at - geo.loc.to_f64()).to_physical(scale);
            let top_left = (
                local.x.round() as i32 - hotspot.x,
                local.y.round() as i32 - hotspot.y,
            );
            backend.scanout.set_cursor(crtc, Some(image), top_left)
        }
        // Off this output or hidden: the plane shows nothing, nothing to composite.
        (Some(_), ..) => backend.scanout.set_cursor(crtc, None, (0, 0)),
        _ if hidden => backend.scanout.set_cursor(crtc, None, (0, 0)),
        // Composited (switched off, scaled output, a surface the plane cannot show).
        _ => {
            backend.scanout.set_cursor(crtc, None, (0, 0));
            false
        }
    }
}

/// Commits a moved cursor plane now, or after the flip in flight.
fn commit_cursor(state: &mut Ghost, output: &Output) {
    let Backend::Kms(backend) = &mut state.backend else {
        return;
    };
    let Some(o) = backend.outputs.iter_mut().find(|o| &o.output == output) else {
        return;
    };
    match backend.scanout.commit_cursor(o.crtc) {
        Ok(true) => o.in_flight = Some((None, Flip::Cursor)),
        Ok(false) => {}
        Err(err) => {
            // The plane would not move: composite the pointer from now on.
            warn!(%err, "cursor plane commit refused; drawing the pointer instead");
            if let Some(head) = backend.scanout.head_mut(o.crtc) {
                head.cursor_refused = true;
            }
            request(state, output, Want::Cursor);
        }
    }
}

fn request(state: &mut Ghost, output: &Output, want: Want) {
    let now = nanos(state.now());
    let Backend::Kms(backend) = &mut state.backend else {
        return;
    };
    let Some(o) = backend.find_mut(output) else {
        return;
    };
    o.scheduler.request(want, now);
    arm(state, output);
}

/// Arms the start of the next frame where the scheduler wants one and no flip is in
/// flight (the flip's event arms it otherwise).
fn arm(state: &mut Ghost, output: &Output) {
    let now = nanos(state.now());
    let Backend::Kms(backend) = &mut state.backend else {
        return;
    };
    let busy = backend.scanout.paused();
    let Some(o) = backend.outputs.iter_mut().find(|o| &o.output == output) else {
        return;
    };
    let in_flight = backend
        .scanout
        .heads()
        .iter()
        .find(|h| h.lit.crtc == o.crtc)
        .is_none_or(|h| h.flip_pending || !h.active);
    if busy || in_flight {
        return;
    }
    let Some((start, flip)) = o.scheduler.next_start(now) else {
        return;
    };
    if let Some((armed, token)) = o.start_timer.take() {
        if armed <= start {
            o.start_timer = Some((armed, token));
            return;
        }
        state.loop_handle.remove(token);
    }
    let wait = Duration::from_nanos(start.saturating_sub(now));
    let target = output.clone();
    let token = state.loop_handle.insert_source(
        Timer::from_deadline(Instant::now() + wait),
        move |_, _, state| {
            if let Backend::Kms(backend) = &mut state.backend {
                if let Some(o) = backend.find_mut(&target) {
                    o.start_timer = None;
                }
            }
            match flip {
                Flip::Repeat => repeat(state, &target),
                Flip::Client | Flip::Cursor => render(state, &target, flip),
            }
            TimeoutAction::Drop
        },
    );
    o.scheduler.armed(start);
    match token {
        Ok(token) => o.start_timer = Some((start, token)),
        Err(err) => warn!(%err, "cannot arm the frame timer"),
    }
}

/// Low-framerate compensation: the frame on screen goes out again, with the pointer
/// where it is now on the cursor plane.
fn repeat(state: &mut Ghost, output: &Output) {
    place_cursor(state, output);
    let now = nanos(state.now());
    let Backend::Kms(backend) = &mut state.backend else {
        return;
    };
    let Some(o) = backend.outputs.iter_mut().find(|o| &o.output == output) else {
        return;
    };
    o.scheduler.started(now);
    match backend.scanout.repeat(o.crtc) {
        Ok(()) => {
            o.in_flight = Some((None, Flip::Repeat));
            o.scheduler.submitted(now);
        }
        Err(err) => {
            debug!(%err, "no repeat flip");
            o.scheduler.nothing_to_flip();
        }
    }
}

fn render(state: &mut Ghost, output: &Output, flip: Flip) {
    let started = Instant::now();
    let now = nanos(state.now());
    if let Backend::Kms(backend) = &mut state.backend {
        // A cursor commit may be in flight: this frame goes after it.
        let busy = backend.find(output).is_some_and(|o| {
            backend
                .scanout
                .heads()
                .iter()
                .any(|h| h.lit.crtc == o.crtc && h.flip_pending)
        });
        if busy {
            if let Some(o) = backend.find_mut(output) {
                o.scheduler.request(Want::Content, now);
            }
            return;
        }
    }
    let cursor_on_plane = place_cursor(state, output);
    let wishes = state.frame_scene(output);
    let covered = planes::covered_by_compositor(state, output, cursor_on_plane);
    let scene = crate::screen_scene!(state)
        .with_default_cursor(state.default_cursor.as_ref())
        .with_pointer(!cursor_on_plane);
    let debug = &state.config.debug;
    let Backend::Kms(backend) = &mut state.backend else {
        return;
    };
    let Some(o) = backend.outputs.iter_mut().find(|o| &o.output == output) else {
        return;
    };
    let aim = o.scheduler.started(now);
    let layers = if debug.overlay_planes || debug.direct_scanout {
        planes::scene_layers(
            &state.space,
            output,
            &covered,
            backend.scanout.device(),
            &mut backend.framebuffers,
        )
    } else {
        planes::SceneLayers::default()
    };
    let mut clients = backend
        .scanout
        .assign_client_planes(o.crtc, &layers.layers, &layers.buffers);
    if (!debug.overlay_planes && !clients.overlays.is_empty())
        || (!debug.direct_scanout && clients.direct.is_some())
    {
        clients = Default::default();
    }
    let offloaded: Vec<&(WlSurface, Buffer)> = clients
        .layers
        .iter()
        .filter_map(|id| layers.surfaces.get(id))
        .collect();
    let drawn = if clients.direct.is_some() {
        // The client's buffer is the frame: nothing to draw, and the next composited
        // frame draws everything.
        o.rendered_once = false;
        Ok(paint::Drawn {
            damage: None,
            states: RenderElementStates::default(),
            buffer: None,
            ready: None,
        })
    } else {
        let ids: Vec<Id> = offloaded
            .iter()
            .map(|(s, _)| Id::from_wayland_resource(s))
            .collect();
        paint::draw(
            &mut backend.painter,
            &mut o.canvas,
            backend.scanout.device(),
            &mut o.tracker,
            !o.rendered_once,
            &scene,
            output,
            &ids,
        )
    };
    let paint::Drawn {
        damage,
        mut states,
        buffer,
        ready,
    } = match drawn {
        Ok(r) => r,
        Err(err) => {
            warn!(
                err = format!("{err:#}"),
                output = output.name(),
                "rendering failed"
            );
            o.scheduler.nothing_to_flip();
            o.rendered_once = false;
            if backend.painter.is_gles() {
                outputs::fall_back_to_pixman(backend);
                // Drawn again at once, by pixman.
                if let Some(o) = backend.find_mut(output) {
                    o.scheduler.request(Want::Content, now);
                }
                arm(state, output);
                outputs::colour_after_fall_back(state);
            }
            return;
        }
    };
    if clients.direct.is_none() {
        o.rendered_once = true;
    }
    let plane_cursor = match (&state.cursor_status, cursor_on_plane) {
        (smithay::input::pointer::CursorImageStatus::Surface(s), true) => Some(s),
        _ => None,
    };
    planes::mark_zero_copy(
        &mut states,
        offloaded.iter().map(|(s, _)| s).chain(plane_cursor),
    );
    let planes_changed = clients != o.last_clients;
    let rects: Vec<_> = match (&damage, planes_changed) {
        (None, false) => {
            o.stats.record(None);
            o.scheduler.nothing_to_flip();
            idle_frame(state, output, states);
            // The pointer may have moved on its plane with nothing else changing.
            commit_cursor(state, output);
            return;
        }
        (None, true) => Vec::new(),
        (Some(damage), _) => damage
            .iter()
            .map(|r| {
                (
                    r.loc.x.max(0) as u32,
                    r.loc.y.max(0) as u32,
                    r.size.w.max(0) as u32,
                    r.size.h.max(0) as u32,
                )
            })
            .collect(),
    };
    let rendered_at = Instant::now();
    let vrr = set_frame_properties(&mut backend.scanout, o, &wishes);
    o.vrr = vrr;
    let range = o
        .display
        .as_ref()
        .and_then(|d| d.vrr.range.as_ref())
        .and_then(|r| VrrRange::from_hz(f64::from(r.min_hz), f64::from(r.max_hz)).ok());
    o.scheduler.set_vrr(range.filter(|_| vrr));
    let composited = match (&buffer, o.canvas.pixels()) {
        _ if clients.direct.is_some() => None,
        (Some((drawn, _)), _) => Some(Composited::Buffer {
            buffer: *drawn,
            ready: ready.as_ref().map(AsFd::as_fd),
            damage: &rects,
        }),
        (None, Some((source, stride))) => Some(Composited::Pixels {
            source,
            stride,
            damage: &rects,
        }),
        (None, None) => None,
    };
    let gpu_frame = matches!(composited, Some(Composited::Buffer { .. }));
    let result = backend
        .scanout
        .present(o.crtc, composited, &clients, wishes.tearing);
    debug!(
        output = output.name(),
        render_us = rendered_at.duration_since(started).as_micros() as u64,
        copy_and_flip_us = rendered_at.elapsed().as_micros() as u64,
        planes = clients.layers.len(),
        "frame"
    );
    match result {
        Ok(()) => {
            o.failures = 0;
            if let (Some((_, slot)), Some(gpu)) = (buffer, o.canvas.gpu()) {
                gpu.chain.submitted(&slot);
                gpu.pending = Some(slot);
            }
            let finished = now + nanos(started.elapsed());
            o.scheduler.submitted(finished);
            o.in_flight = Some((Some(states), flip));
            // A directly scanned-out buffer was not drawn at all.
            let drawing = clients
                .direct
                .is_none()
                .then(|| rendered_at.duration_since(started));
            state
                .telemetry
                .frame_drawn(&output.name(), drawing, finished, aim);
            o.stats.record(Some(
                rects.iter().map(|r| u64::from(r.2) * u64::from(r.3)).sum(),
            ));
            let primary_plane = backend
                .scanout
                .heads()
                .iter()
                .find(|h| h.lit.crtc == o.crtc)
                .map_or(0, |h| h.lit.plane);
            planes::record_frame(o, clients, &layers, primary_plane);
            if let Some(feedbacks) = &backend.feedbacks {
                let on_planes: Vec<WlSurface> = offloaded.iter().map(|(s, _)| s.clone()).collect();
                dmabuf::send_surface_feedback(&state.space, output, feedbacks, &on_planes);
            }
        }
        Err(FrameError::Busy) => {
            // Drawn but not shown: draw everything again at the next chance.
            o.rendered_once = false;
            o.scheduler.nothing_to_flip();
            o.scheduler.request(Want::Content, now);
        }
        Err(FrameError::Refused(err)) if !clients.is_empty() => {
            // The device would not take the client planes after all: composite them
            // from the next frame on (the output keeps its last frame meanwhile).
            debug!(%err, output = output.name(), "client planes refused; compositing");
            o.refused_client_frames += 1;
            backend.scanout.forget_client_planes(o.crtc, &layers.layers);
            o.rendered_once = false;
            o.scheduler.nothing_to_flip();
            o.scheduler.request(Want::Content, now);
            arm(state, output);
        }
        Err(err) => {
            o.failures += 1;
            o.rendered_once = false;
            o.scheduler.nothing_to_flip();
            warn!(%err, output = output.name(), failures = o.failures, "frame not shown");
            let relight = o.failures >= 3;
            if relight && gpu_frame {
                // The display keeps refusing the GPU's buffers (a layout its planes
                // do not take after all): memory and dumb buffers always go.
                outputs::fall_back_to_pixman(backend);
            }
            idle_frame(state, output, states);
            if relight {
                outputs::relight(state);
                outputs::colour_after_fall_back(state);
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

/// Hands out flips whose events were read while the device was waited on for
/// something else (writeback, a modeset, DPMS): without this their outputs would wait
/// for an event that already came. Called after every dispatch of the event loop.
pub fn deliver_waiting_flips(state: &mut Ghost) {
    if let Backend::Kms(backend) = &state.backend {
        if backend.scanout.flips_waiting() {
            on_device_events(state);
        }
    }
}

/// The DRM node is readable: hand out the completed flips.
pub fn on_device_events(state: &mut Ghost) {
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
    if let Some(gpu) = o.canvas.gpu() {
        gpu.flipped();
    }
    if o.in_flight
        .as_ref()
        .is_some_and(|(states, _)| states.is_some())
    {
        // A frame of the new canvas is on screen: the old one's buffers may go.
        o.retired = None;
    }
    let output = o.output.clone();
    let period = o.period;
    let (states, kind) = o.in_flight.take().unwrap_or((None, Flip::Client));
    o.scheduler.flipped(nanos(flip.time), kind);
    if states.is_some() {
        // The frame's client buffers are on screen now; those it replaced go back to
        // their clients (released as their last holder drops).
        o.planes_shown = std::mem::take(&mut o.planes_pending);
        // Every output's, the frames on their way included.
        let in_use: Vec<ClientBuffer> = backend
            .outputs
            .iter()
            .flat_map(|o| o.planes_shown.iter().chain(&o.planes_pending))
            .map(|(b, _)| *b)
            .collect();
        backend
            .framebuffers
            .prune(backend.scanout.device(), &in_use);
    }
    if let Some(states) = states {
        debug!(output = output.name(), seq = flip.sequence, "flipped");
        state.post_render(
            &output,
            &states,
            Some((flip.time, period, u64::from(flip.sequence))),
        );
    }
    arm(state, &output);
    // A pointer move that waited for this flip goes now, unless a frame is armed to
    // take it along.
    let armed = match &state.backend {
        Backend::Kms(backend) => backend
            .find(&output)
            .is_some_and(|o| o.start_timer.is_some()),
        _ => true,
    };
    if !armed {
        commit_cursor(state, &output);
    }
}
