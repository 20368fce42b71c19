//! Client buffers straight to the display: the output's scene described as layers for
//! `ghost-kms`' plane assignment (windows whose whole content is one dmabuf the device
//! can scan out are candidates; everything else is composited), and the dmabufs
//! imported as framebuffers once per buffer. (The linux-dmabuf global and its feedback
//! are in `dmabuf`.)
//!
//! A window qualifies when it is one surface (no subsurfaces, no popups), unscaled and
//! untransformed, fully opaque to the compositor (window opacity 1), in the output's
//! colour space (its wp_color_management description equals the output's), and
//! entirely on the output; a window's title bar is its own composited layer beside it. Anything
//! the compositor draws on top (the share prompt, notifications, the sharing dot, a
//! composited pointer) is a composited layer over what it covers, so only what lies
//! above all composited content leaves composition.

use std::{
    collections::BTreeMap,
    hash::{Hash, Hasher},
};

use ghost_kms::client_planes::{ClientBuffer, ClientPlanes};
use ghost_planes::assign::{Layer, Rect};
use ghostnv_backend::{
    device::KmsDevice,
    prime::{ClientFramebuffer, ClientLayout},
};
use smithay::{
    backend::{
        allocator::{
            dmabuf::{Dmabuf, WeakDmabuf},
            Buffer as _,
        },
        renderer::{
            element::{
                Id, RenderElementPresentationState, RenderElementState, RenderElementStates,
            },
            utils::{with_renderer_surface_state, Buffer},
        },
    },
    desktop::{layer_map_for_output, PopupManager, Space, Window},
    output::Output,
    reexports::wayland_server::{protocol::wl_surface::WlSurface, Resource},
    utils::{Logical, Point, Rectangle, Transform},
    wayland::{compositor::get_children, dmabuf::get_dmabuf, shell::wlr_layer},
};
use tracing::debug;

use super::KmsOutput;
use crate::{shell::decorations, state::Ghost};

/// Framebuffers of client dmabufs, one per buffer, kept while the buffer lives
/// (None: the device refused it, so it is not tried again).
#[derive(Default)]
pub struct ClientFramebuffers {
    entries: Vec<(WeakDmabuf, Option<ClientFramebuffer>)>,
}

impl ClientFramebuffers {
    /// The framebuffer of `dmabuf`, imported on first use.
    fn get(&mut self, device: &KmsDevice, dmabuf: &Dmabuf) -> Option<ClientBuffer> {
        let found = self
            .entries
            .iter()
            .find(|(weak, _)| weak.upgrade().as_ref() == Some(dmabuf));
        if let Some((_, imported)) = found {
            return imported.as_ref().map(|c| ClientBuffer {
                fb: c.fb,
                layout: c.layout,
            });
        }
        let imported = import(device, dmabuf);
        let buffer = imported.as_ref().map(|c| ClientBuffer {
            fb: c.fb,
            layout: c.layout,
        });
        self.entries.push((dmabuf.weak(), imported));
        buffer
    }

    /// Lets go of the framebuffers of buffers their clients destroyed, except those
    /// `in_use` (still on a plane, or on their way there).
    pub fn prune(&mut self, device: &KmsDevice, in_use: &[ClientBuffer]) {
        let mut kept = Vec::with_capacity(self.entries.len());
        for (weak, imported) in self.entries.drain(..) {
            let shown = imported
                .as_ref()
                .is_some_and(|c| in_use.iter().any(|u| u.fb == c.fb));
            if weak.is_gone() && !shown {
                if let Some(c) = imported {
                    device.release_client(c);
                }
            } else {
                kept.push((weak, imported));
            }
        }
        self.entries = kept;
    }
}

fn import(device: &KmsDevice, dmabuf: &Dmabuf) -> Option<ClientFramebuffer> {
    if dmabuf.num_planes() != 1 {
        return None;
    }
    let fd = dmabuf.handles().next()?;
    let size = dmabuf.size();
    let layout = ClientLayout {
        size: (u32::try_from(size.w).ok()?, u32::try_from(size.h).ok()?),
        format: dmabuf.format().code as u32,
        modifier: u64::from(dmabuf.format().modifier),
        stride: dmabuf.strides().next()?,
        offset: dmabuf.offsets().next()?,
    };
    match device.import_client(fd, layout) {
        Ok(c) => Some(c),
        Err(err) => {
            debug!(%err, ?layout, "this client buffer is composited");
            None
        }
    }
}

/// The output's scene as layers, top to bottom, and the client buffers of those that
/// could go onto a plane.
#[derive(Default)]
pub struct SceneLayers {
    /// For the assigner.
    pub layers: Vec<Layer>,
    /// Framebuffers of the candidate layers, by layer id.
    pub buffers: BTreeMap<u64, ClientBuffer>,
    /// Each candidate's surface and buffer (the buffer is held while it is on screen).
    pub surfaces: BTreeMap<u64, (WlSurface, Buffer)>,
}

/// A stable layer id for a surface.
fn layer_id(surface: &WlSurface) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    surface.id().hash(&mut hasher);
    // Ids 1 and 2 belong to the cursor plane's own test.
    hasher.finish() | 0x100
}

fn composited(id: u64, r: Rectangle<i32, Logical>, origin: Rectangle<i32, Logical>) -> Layer {
    Layer {
        id,
        dst: Rect {
            x: r.loc.x - origin.loc.x,
            y: r.loc.y - origin.loc.y,
            w: r.size.w.max(0) as u32,
            h: r.size.h.max(0) as u32,
        },
        buffer: (r.size.w.max(0) as u32, r.size.h.max(0) as u32),
        format: None,
        opaque: false,
        cursor: false,
    }
}

/// A window whose content can be one plane on `output`: its surface, buffer, dmabuf
/// and where it goes (None: composite it).
fn candidate(
    window: &Window,
    space: &Space<Window>,
    output: &Output,
    output_geo: Rectangle<i32, Logical>,
) -> Option<(WlSurface, Buffer, Dmabuf, Rectangle<i32, Logical>)> {
    // A fullscreen X11 window's surface is a candidate as a Wayland one's is.
    let surface = crate::shell::toplevel_surface(window)?;
    if !get_children(&surface).is_empty()
        || PopupManager::popups_for_surface(&surface).next().is_some()
    {
        return None;
    }
    let data = crate::shell::window_data(window);
    // Translucent windows, and X11 programs that asked to stay composited
    // (_NET_WM_BYPASS_COMPOSITOR = 2), are drawn by the compositor.
    if (data.opacity.get() - 1.0).abs() > f32::EPSILON || data.bypass_compositor.get() == 2 {
        return None;
    }
    let loc = space.element_location(window)?;
    let (buffer, view) = with_renderer_surface_state(&surface, |s| {
        if s.buffer_scale() != 1 || s.buffer_transform() != Transform::Normal {
            return None;
        }
        Some((s.buffer()?.clone(), s.view()?))
    })??;
    // A plane shows the buffer's values as they are: only content in the output's own
    // colour space may skip composition, which would convert it.
    let (output_description, _) = crate::protocols::color_management::output_description(output);
    if crate::protocols::color_management::surface_description(&surface) != output_description {
        return None;
    }
    let dmabuf = get_dmabuf(&buffer).ok()?.clone();
    let size = dmabuf.size();
    // Unscaled and uncropped: the buffer is the surface, pixel for pixel.
    if view.dst.w != size.w
        || view.dst.h != size.h
        || view.src != Rectangle::from_size((size.w, size.h).into()).to_f64()
    {
        return None;
    }
    let at = loc - window.geometry().loc + view.offset;
    let dst = Rectangle::new(at, view.dst);
    output_geo
        .contains_rect(dst)
        .then_some((surface, buffer, dmabuf, dst))
}

/// Formats whose fourcc names an unused (X) channel, so every pixel is opaque.
fn opaque_format(code: u32) -> bool {
    let c = code.to_le_bytes();
    c[0] == b'X' || c[1] == b'X'
}

/// The layers of `output`'s scene. `covered` is what the compositor draws over
/// everything this frame (prompt, notification, composited pointer), in global
/// logical coordinates.
pub fn scene_layers(
    space: &Space<Window>,
    output: &Output,
    covered: &[Rectangle<i32, Logical>],
    device: &KmsDevice,
    framebuffers: &mut ClientFramebuffers,
) -> SceneLayers {
    let mut scene = SceneLayers::default();
    let Some(geo) = space.output_geometry(output) else {
        return scene;
    };
    // Planes show pixels one to one: a scaled output composites everything.
    if output.current_scale().fractional_scale() != 1.0
        || output.current_transform() != Transform::Normal
    {
        return scene;
    }
    let mut next_id = 0x10u64;
    // Only what is on the output counts (a fullscreen window's title bar lies above
    // it, off screen).
    let mut composited_layer = |r: Rectangle<i32, Logical>, scene: &mut SceneLayers| {
        if let Some(r) = r.intersection(geo) {
            next_id += 1;
            scene.layers.push(composited(next_id, r, geo));
        }
    };
    for r in covered {
        composited_layer(*r, &mut scene);
    }
    let map = layer_map_for_output(output);
    for layer in [wlr_layer::Layer::Overlay, wlr_layer::Layer::Top] {
        for surface in map.layers_on(layer).rev() {
            if let Some(r) = map.layer_geometry(surface) {
                composited_layer(Rectangle::new(r.loc + geo.loc, r.size), &mut scene);
            }
        }
    }
    drop(map);
    for window in space.elements().rev() {
        let Some(loc) = space.element_location(window) else {
            continue;
        };
        let bbox = space.element_bbox(window).unwrap_or_default();
        let bar = decorations::title_bar_rect(window, loc);
        if !geo.overlaps(bbox) && !geo.overlaps(bar) {
            continue;
        }
        composited_layer(bar, &mut scene);
        let found = candidate(window, space, output, geo)
            .and_then(|(s, b, d, dst)| Some((s, b, framebuffers.get(device, &d)?, dst)));
        let Some((surface, buffer, client, dst)) = found else {
            composited_layer(bbox, &mut scene);
            continue;
        };
        let id = layer_id(&surface);
        let opaque = opaque_format(client.layout.format);
        let mut layer = composited(id, dst, geo);
        layer.format = Some((client.layout.format, client.layout.modifier));
        layer.buffer = client.layout.size;
        layer.opaque = opaque;
        let full = layer.dst
            == Rect {
                x: 0,
                y: 0,
                w: geo.size.w as u32,
                h: geo.size.h as u32,
            };
        scene.layers.push(layer);
        scene.buffers.insert(id, client);
        scene.surfaces.insert(id, (surface, buffer));
        if opaque && full {
            // Nothing below shows.
            return scene;
        }
    }
    // The background and bottom layers (and the clear colour).
    composited_layer(geo, &mut scene);
    scene
}

/// The client buffers of a frame in the order of its `layers`: the directly
/// scanned-out one, then the overlays'.
pub(super) fn planes_in_order(clients: &ClientPlanes) -> impl Iterator<Item = ClientBuffer> + '_ {
    clients
        .direct
        .iter()
        .copied()
        .chain(clients.overlays.iter().map(|o| o.buffer))
}

/// What the compositor draws over every client this frame on `output` (global
/// logical): the pointer where it is composited, and the whole output while the share
/// prompt, a notification or the sharing dot is up. Client buffers under these stay
/// composited.
pub(super) fn covered_by_compositor(
    state: &Ghost,
    output: &Output,
    cursor_on_plane: bool,
) -> Vec<Rectangle<i32, Logical>> {
    let Some(geo) = state.space.output_geometry(output) else {
        return Vec::new();
    };
    if state.casts.active()
        || state.recordings.active()
        || state.picks.selection().is_some()
        || state.notification.is_some()
    {
        return vec![geo];
    }
    let mut covered = Vec::new();
    if !cursor_on_plane {
        if let Some(at) = state.seat.get_pointer().map(|p| p.current_location()) {
            // Generous: a client's cursor surface may be larger than our arrow.
            let at = at.to_i32_round();
            covered.push(Rectangle::new(
                at - Point::from((256, 256)),
                (512, 512).into(),
            ));
        }
    }
    covered
}

/// Marks the surfaces shown on planes as presented without a copy (presentation
/// feedback's zero-copy flag).
pub(super) fn mark_zero_copy<'a>(
    states: &mut RenderElementStates,
    surfaces: impl IntoIterator<Item = &'a WlSurface>,
) {
    for surface in surfaces {
        let visible_area = with_renderer_surface_state(surface, |s| {
            s.buffer_size().map(|b| (b.w.max(0) * b.h.max(0)) as usize)
        })
        .flatten()
        .unwrap_or(0);
        states.states.insert(
            Id::from_wayland_resource(surface),
            RenderElementState {
                visible_area,
                presentation_state: RenderElementPresentationState::ZeroCopy,
            },
        );
    }
}

/// After `clients` went to the display on `o`: holds their buffers until the flip
/// that replaces them, and notes what is on which plane for `msg outputs`
/// (`primary_plane` for a directly scanned-out buffer).
pub(super) fn record_frame(
    o: &mut KmsOutput,
    clients: ClientPlanes,
    layers: &SceneLayers,
    primary_plane: u32,
) {
    o.planes_pending = clients
        .layers
        .iter()
        .zip(planes_in_order(&clients))
        .filter_map(|(id, buffer)| Some((buffer, layers.surfaces.get(id)?.1.clone())))
        .collect();
    o.on_planes = planes_in_order(&clients)
        .zip(&clients.layers)
        .map(|(buffer, id)| {
            let plane = clients
                .overlays
                .iter()
                .find(|ov| ov.buffer == buffer)
                .map_or(primary_plane, |ov| ov.plane);
            let app_id = layers
                .surfaces
                .get(id)
                .map(|(s, _)| crate::shell::title_and_app_id(s).1)
                .unwrap_or_default();
            (plane, app_id)
        })
        .collect();
    o.last_clients = clients;
}
