//! Keeping the compositor's outputs in step with the lit heads: a display that came
//! gets an output (named after its connector, with make, model and size from its
//! EDID), one that went takes its output away and its windows move to a remaining
//! one, and a relit head (new mode, new buffers) is drawn again in full.

use ghost_kms::{DisplayInfo, OutputIdentity};
use ghostnv_backend::ModeInfo;
use smithay::{
    backend::renderer::damage::OutputDamageTracker,
    output::{Mode, Output, PhysicalProperties, Subpixel},
    utils::{Physical, Size, Transform},
};
use tracing::{info, warn};

use super::{paint, Backend, KmsBackend, KmsOutput};
use crate::{backend::OutputModes, state::Ghost};

pub(super) fn to_mode(m: &ModeInfo) -> Mode {
    Mode {
        size: (i32::from(m.width), i32::from(m.height)).into(),
        refresh: m.refresh_mhz(),
    }
}

/// What an output is made from.
struct HeadView {
    connector: u32,
    crtc: u32,
    /// The primary plane and the format it was lit with.
    plane: u32,
    format: u32,
    name: String,
    mode: ModeInfo,
    modes: Vec<ModeInfo>,
    edid: Option<Vec<u8>>,
}

/// What wl_output tells clients of the monitor: its identity's make and model (the
/// ones `[[output]]` sections match), and its size.
fn physical(identity: &OutputIdentity, info: Option<&DisplayInfo>) -> PhysicalProperties {
    let size = info
        .and_then(|i| i.physical_size_mm)
        .map(|(w, h)| (w as i32, h as i32))
        .unwrap_or((0, 0));
    PhysicalProperties {
        size: size.into(),
        subpixel: Subpixel::Unknown,
        make: identity.make.clone(),
        model: identity.model.clone(),
    }
}

/// Brings the outputs in line with the scanout's heads, then redraws everything.
pub fn sync(state: &mut Ghost) {
    let Backend::Kms(backend) = &mut state.backend else {
        return;
    };
    let model = backend.scanout.model();
    let heads: Vec<HeadView> = backend
        .scanout
        .heads()
        .iter()
        .filter_map(|h| {
            let c = model.connectors.iter().find(|c| c.id == h.lit.connector)?;
            Some(HeadView {
                connector: c.id,
                crtc: h.lit.crtc,
                plane: h.lit.plane,
                format: h.lit.format,
                name: c.name(),
                mode: h.lit.mode.clone(),
                modes: c.modes.clone(),
                edid: c.edid.clone(),
            })
        })
        .collect();

    // Outputs whose display went away.
    let mut gone = Vec::new();
    backend.outputs.retain(|o| {
        let keep = heads.iter().any(|h| h.connector == o.connector);
        if !keep {
            gone.push((o.output.clone(), o.global.clone()));
        }
        keep
    });
    for (output, global) in gone {
        state.output_gone(&output, global);
    }

    let mut added = Vec::new();
    for head in heads {
        let x = state.layout_right_edge();
        let Backend::Kms(backend) = &mut state.backend else {
            return;
        };
        let mode = to_mode(&head.mode);
        if let Some(i) = backend
            .outputs
            .iter()
            .position(|o| o.connector == head.connector)
        {
            let mode_changed = backend.outputs[i].output.current_mode() != Some(mode);
            let format_changed = backend.outputs[i].format != head.format;
            let canvas = if mode_changed || format_changed {
                new_canvas(backend, &head, mode.size)
            } else {
                None
            };
            let o = &mut backend.outputs[i];
            o.crtc = head.crtc;
            o.format = head.format;
            o.in_flight = None;
            o.scheduler.set_period(period(&head.mode).as_nanos() as u64);
            o.rendered_once = false;
            // The modeset put its own buffer on screen.
            if let Some(gpu) = o.canvas.gpu() {
                gpu.pending = None;
                gpu.shown = None;
            }
            if mode_changed || format_changed {
                match canvas {
                    Some(canvas) => o.canvas = canvas,
                    None => warn!("no buffer for the new mode"),
                }
            }
            if mode_changed {
                if let Some(old) = o.output.current_mode() {
                    o.output.delete_mode(old);
                }
                o.output.add_mode(mode);
                o.output.change_current_state(Some(mode), None, None, None);
                o.tracker = OutputDamageTracker::from_output(&o.output);
            }
            o.period = period(&head.mode);
            continue;
        }
        let display = head.edid.as_deref().map(DisplayInfo::parse);
        let identity = OutputIdentity::new(&head.name, display.as_ref());
        let output = Output::new(head.name.clone(), physical(&identity, display.as_ref()));
        output.user_data().insert_if_missing(|| identity);
        let preferred = head
            .modes
            .iter()
            .find(|m| m.preferred)
            .map(to_mode)
            .unwrap_or(mode);
        let mut modes: Vec<Mode> = vec![preferred];
        for m in head.modes.iter().map(to_mode) {
            if !modes.contains(&m) {
                modes.push(m);
            }
        }
        output.add_mode(mode);
        output.set_preferred(preferred);
        output.change_current_state(
            Some(mode),
            Some(Transform::Normal),
            None,
            Some((x, 0).into()),
        );
        output
            .user_data()
            .insert_if_missing(|| OutputModes::new(modes));
        let global = output.create_global::<Ghost>(&state.display_handle);
        state.space.map_output(&output, (x, 0));
        let Some(canvas) = new_canvas(backend, &head, mode.size) else {
            warn!(output = head.name, "no buffer to draw into");
            continue;
        };
        info!(
            output = head.name,
            width = mode.size.w,
            height = mode.size.h,
            refresh_mhz = mode.refresh,
            "display lit"
        );
        backend.outputs.push(KmsOutput {
            tracker: OutputDamageTracker::from_output(&output),
            output: output.clone(),
            global,
            connector: head.connector,
            crtc: head.crtc,
            format: head.format,
            canvas,
            retired: None,
            rendered_once: false,
            scheduler: super::frame::scheduler(period(&head.mode)),
            start_timer: None,
            idle_timer: None,
            in_flight: None,
            last_vblank: None,
            period: period(&head.mode),
            failures: 0,
            stats: Default::default(),
            display,
            vrr: false,
            planes_pending: Vec::new(),
            planes_shown: Vec::new(),
            on_planes: Vec::new(),
            last_clients: Default::default(),
            refused_client_frames: 0,
            timing_made_by: None,
        });
        added.push(output);
    }
    for output in added {
        state.apply_output_settings(&output);
    }
    // Windows stranded while no display was left come onto the new ones.
    state.rescue_windows();
    state.output_management_changed();
    state.queue_redraw_all();
}

/// A canvas of `size` for `head`'s output. Where GLES cannot give one, every output
/// goes over to pixman rather than this one staying dark.
fn new_canvas(
    backend: &mut KmsBackend,
    head: &HeadView,
    size: Size<i32, Physical>,
) -> Option<paint::Canvas> {
    let modifiers = backend
        .scanout
        .model()
        .planes
        .iter()
        .find(|p| p.id == head.plane)
        .and_then(|p| p.in_formats.get(&head.format).cloned())
        .unwrap_or_default();
    match backend.painter.canvas(size, head.format, &modifiers) {
        Ok(canvas) => Some(canvas),
        Err(err) if backend.painter.is_gles() => {
            warn!(
                err = format!("{err:#}"),
                output = head.name,
                "GLES cannot draw this output"
            );
            fall_back_to_pixman(backend);
            backend.painter.canvas(size, head.format, &modifiers).ok()
        }
        Err(err) => {
            warn!(err = format!("{err:#}"), output = head.name, "no canvas");
            None
        }
    }
}

/// Draws every output with pixman from now on (GLES failed on this device): each gets
/// an image in memory and is drawn again in full.
pub(super) fn fall_back_to_pixman(backend: &mut KmsBackend) {
    let painter = match paint::Painter::new(backend.scanout.device(), false) {
        Ok(p) => p,
        Err(err) => {
            warn!(%err, "no pixman renderer either");
            return;
        }
    };
    warn!("frames are drawn by pixman from now on");
    backend.painter = painter;
    // pixman draws 8-bit sRGB: a display in HDR or on a 10-bit buffer goes back to SDR.
    let deep = backend
        .scanout
        .heads()
        .iter()
        .any(|h| h.lit.hdr.is_some() || h.lit.format != ghost_kms::setup::XRGB8888);
    if deep {
        let mut wishes = backend.scanout.wishes().clone();
        for wish in wishes.values_mut() {
            wish.hdr = None;
            wish.formats.clear();
        }
        if let Err(err) = backend.scanout.light(wishes) {
            warn!(%err, "the displays could not be lit in SDR for pixman");
        }
        for o in &mut backend.outputs {
            if let Some(head) = backend.scanout.head_of_connector(o.connector) {
                o.format = head.lit.format;
                o.crtc = head.lit.crtc;
            }
        }
    }
    for o in &mut backend.outputs {
        let size = o.output.current_mode().map_or((0, 0).into(), |m| m.size);
        match backend.painter.canvas(size, 0, &[]) {
            // The GPU's buffer on screen stays until a frame replaces it: removing
            // its framebuffer now would switch the display off.
            Ok(canvas) => o.retired = Some(std::mem::replace(&mut o.canvas, canvas)),
            Err(err) => warn!(%err, output = o.output.name(), "no image to draw into"),
        }
        o.rendered_once = false;
    }
}

fn period(mode: &ModeInfo) -> std::time::Duration {
    let mhz = mode.refresh_mhz().max(1) as u64;
    std::time::Duration::from_nanos(1_000_000_000_000 / mhz)
}

/// Lights the displays again with the last wishes (after frames kept failing).
pub fn relight(state: &mut Ghost) {
    let Backend::Kms(backend) = &mut state.backend else {
        return;
    };
    let wishes = backend.scanout.wishes().clone();
    match backend.scanout.light(wishes) {
        Ok(()) => info!("displays lit again after refused frames"),
        Err(err) => warn!(%err, "displays could not be lit again"),
    }
    for o in &mut backend.outputs {
        o.failures = 0;
    }
    sync(state);
}

/// After a fall back to pixman: pixman converts no colour descriptions, so the protocol
/// is withdrawn and every output is described (and driven) as sRGB again.
pub fn colour_after_fall_back(state: &mut Ghost) {
    if state.backend.converts_colour() {
        return;
    }
    let dh = state.display_handle.clone();
    state.color_management_state.withdraw::<Ghost>(&dh);
    for output in state.outputs() {
        state.set_output_description(&output, ghost_hdr::ImageDescription::srgb());
    }
}
