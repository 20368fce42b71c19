//! linux-dmabuf on the KMS device, with feedback that steers clients towards buffers a
//! plane can show. Every client hears the render tranche: the linear formats pixman
//! composites. A surface that could leave composition (one on a plane now, or a
//! fullscreen window, which the primary plane scans out directly when its buffer
//! allows) hears the scanout feedback instead: first a tranche flagged scanout with
//! what the device's primary and overlay planes show, then the render tranche. So a
//! client that can pick its format (a video player, a game) picks one the planes take,
//! and one that cannot leave composition is not asked to.

use std::os::unix::fs::MetadataExt;

use smithay::{
    backend::allocator::{Format, Fourcc, Modifier},
    desktop::{utils::surface_primary_scanout_output, Space, Window},
    output::Output,
    reexports::{
        wayland_protocols::{
            wp::linux_dmabuf::zv1::server::zwp_linux_dmabuf_feedback_v1::TrancheFlags,
            xdg::shell::server::xdg_toplevel,
        },
        wayland_server::protocol::wl_surface::WlSurface,
    },
    wayland::dmabuf::{DmabufFeedback, DmabufFeedbackBuilder},
};
use tracing::{info, warn};

use crate::state::Ghost;
use ghostnv_backend::device::KmsDevice;

/// The two feedbacks surfaces hear, and the device they name.
pub struct Feedbacks {
    /// The KMS node's device number (the main device of both).
    pub device: u64,
    /// Composition only.
    render: DmabufFeedback,
    /// The planes' formats first.
    scanout: DmabufFeedback,
}

/// Formats and modifiers that the device's primary and overlay planes show (IN_FORMATS,
/// or linear where the driver lists no modifiers) and the renderer can also read, so a
/// buffer in one of them works on a plane and in composition alike. Implicit modifiers
/// are left out: nothing promises a plane takes whatever layout the driver picked.
fn scanout_formats(model: &ghostnv_backend::DeviceModel, render: &[Format]) -> Vec<Format> {
    let mut out: Vec<Format> = Vec::new();
    for plane in &model.planes {
        if plane.kind == ghostnv_backend::PlaneKind::Cursor {
            continue;
        }
        for code in &plane.formats {
            let Ok(fourcc) = Fourcc::try_from(*code) else {
                continue;
            };
            for format in render.iter().filter(|f| f.code == fourcc) {
                let modifier = u64::from(format.modifier);
                if format.modifier != Modifier::Invalid
                    && plane.supports(*code, modifier)
                    && !out.contains(format)
                {
                    out.push(*format);
                }
            }
        }
    }
    out
}

/// Creates the linux-dmabuf global for the device at `node`, with the render feedback
/// as everyone's default. None (no global) where the device number cannot be read or
/// the feedback cannot be built.
pub fn advertise(
    state: &mut Ghost,
    node: &std::path::Path,
    device: &KmsDevice,
    render_formats: Vec<Format>,
) -> Option<Feedbacks> {
    let dev = match std::fs::metadata(node) {
        Ok(m) => m.rdev(),
        Err(err) => {
            warn!(%err, "no device number for dmabuf feedback; no dmabuf global");
            return None;
        }
    };
    let scanout = scanout_formats(&device.model, &render_formats);
    let built = DmabufFeedbackBuilder::new(dev, render_formats.clone())
        .build()
        .and_then(|render| {
            DmabufFeedbackBuilder::new(dev, render_formats.clone())
                .add_preference_tranche(dev, Some(TrancheFlags::Scanout), scanout.clone())
                .build()
                .map(|scanout| Feedbacks {
                    device: dev,
                    render,
                    scanout,
                })
        });
    match built {
        Ok(feedbacks) => {
            info!(
                formats = render_formats.len(),
                scanout = scanout.len(),
                "clients may share dmabufs; planes scan out some of them"
            );
            let _global = state
                .dmabuf_state
                .create_global_with_default_feedback::<Ghost>(
                    &state.display_handle,
                    &feedbacks.render,
                );
            Some(feedbacks)
        }
        Err(err) => {
            warn!(%err, "no dmabuf feedback; no dmabuf global");
            None
        }
    }
}

/// Tells each window on `output` which feedback applies to it now: scanout for those
/// on a plane (`on_planes`) and for fullscreen windows, render for the rest. Sent only
/// when a surface's feedback changes.
pub fn send_surface_feedback(
    space: &Space<Window>,
    output: &Output,
    feedbacks: &Feedbacks,
    on_planes: &[WlSurface],
) {
    for window in space.elements() {
        let Some(toplevel) = window.toplevel() else {
            continue;
        };
        let fullscreen =
            toplevel.with_pending_state(|s| s.states.contains(xdg_toplevel::State::Fullscreen));
        let root = toplevel.wl_surface();
        let scanout = fullscreen || on_planes.contains(root);
        let chosen = if scanout {
            &feedbacks.scanout
        } else {
            &feedbacks.render
        };
        window.send_dmabuf_feedback(output, surface_primary_scanout_output, |_, _| chosen);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format(code: Fourcc, modifier: u64) -> Format {
        Format {
            code,
            modifier: Modifier::from(modifier),
        }
    }

    #[test]
    fn a_gpu_renderers_tiled_layouts_reach_the_scanout_tranche_where_planes_take_them() {
        let model = super::super::nvidia_description();
        // What the primary plane lists for XRGB8888 beyond linear: NVIDIA's
        // block-linear layouts.
        let plane = model
            .planes
            .iter()
            .find(|p| p.kind == ghostnv_backend::PlaneKind::Primary)
            .expect("a primary plane");
        let xrgb = Fourcc::Xrgb8888 as u32;
        let tiled = *plane.in_formats[&xrgb]
            .iter()
            .find(|m| **m != ghostnv_backend::MODIFIER_LINEAR)
            .expect("a tiled modifier");
        let render = vec![
            format(Fourcc::Xrgb8888, tiled),
            format(Fourcc::Xrgb8888, ghostnv_backend::MODIFIER_LINEAR),
            format(Fourcc::Xrgb8888, ghostnv_backend::MODIFIER_INVALID),
            // A layout no plane lists.
            format(Fourcc::Xrgb8888, 0x0100_0000_0000_00ff),
        ];
        let scanout = scanout_formats(&model, &render);
        assert!(scanout.contains(&render[0]), "{scanout:?}");
        assert!(scanout.contains(&render[1]), "{scanout:?}");
        assert!(!scanout.contains(&render[2]), "implicit: {scanout:?}");
        assert!(!scanout.contains(&render[3]), "unlisted: {scanout:?}");
    }

    #[test]
    fn without_in_formats_only_linear_buffers_are_offered_for_planes() {
        let mut model = super::super::nvidia_description();
        for plane in &mut model.planes {
            plane.in_formats.clear();
        }
        let render = vec![
            format(Fourcc::Argb8888, ghostnv_backend::MODIFIER_LINEAR),
            format(Fourcc::Argb8888, 0x0300_0000_0060_6015),
        ];
        assert_eq!(scanout_formats(&model, &render), vec![render[0]]);
    }
}
