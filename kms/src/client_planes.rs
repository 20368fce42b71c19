//! Client buffers on planes: which layers of an output's scene leave composition for an
//! overlay plane, or replace the composited frame on the primary plane (direct
//! scanout). The decision is `ghost-planes`' (a run of top layers, a fullscreen opaque
//! layer alone), checked against the real device with TEST_ONLY commits that carry the
//! head's whole plane state, and cached per head by the scene's shape, so a steady
//! scene costs no test.

use std::collections::BTreeMap;

use drm::control::framebuffer;
use ghost_planes::assign::{Assignment, Kind, Layer, PlaneTest};
use ghostnv_backend::{
    device::{KmsDevice, Submit},
    prime::ClientLayout,
    sim::{AtomicRequest, Framebuffer, PlaneState},
};
use tracing::debug;

use crate::scanout::{Head, Scanout};

/// A client buffer ready for a plane: its framebuffer and layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientBuffer {
    /// The framebuffer (from [`KmsDevice::import_client`]).
    pub fb: framebuffer::Handle,
    /// Its size, format and modifier.
    pub layout: ClientLayout,
}

/// A client buffer on an overlay plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverlayBuffer {
    /// The overlay plane.
    pub plane: u32,
    /// What it shows.
    pub buffer: ClientBuffer,
    /// Where on the CRTC (x, y, w, h).
    pub dst: (i32, i32, u32, u32),
}

/// The client buffers a frame puts on planes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientPlanes {
    /// Shown on the primary plane instead of the composited frame.
    pub direct: Option<ClientBuffer>,
    /// On overlays, bottom to top.
    pub overlays: Vec<OverlayBuffer>,
    /// The layers that left composition: the directly scanned-out one first, then the
    /// overlays' in their order.
    pub layers: Vec<u64>,
}

impl ClientPlanes {
    /// Nothing leaves composition.
    pub fn is_empty(&self) -> bool {
        self.direct.is_none() && self.overlays.is_empty()
    }

    /// The planes for `assignment`, with each layer's buffer from `buffers`; None when
    /// a layer on a plane has no buffer (it then cannot leave composition).
    pub fn from_assignment(
        assignment: &Assignment,
        layers: &[Layer],
        buffers: &BTreeMap<u64, ClientBuffer>,
    ) -> Option<Self> {
        let direct = match assignment.primary {
            Some(id) => Some(*buffers.get(&id)?),
            None => None,
        };
        let mut overlays = Vec::new();
        let mut ids: Vec<u64> = assignment.primary.into_iter().collect();
        for (plane, id) in &assignment.planes {
            ids.push(*id);
            let layer = layers.iter().find(|l| l.id == *id)?;
            overlays.push(OverlayBuffer {
                plane: *plane,
                buffer: *buffers.get(id)?,
                dst: (layer.dst.x, layer.dst.y, layer.dst.w, layer.dst.h),
            });
        }
        Some(Self {
            direct,
            overlays,
            layers: ids,
        })
    }
}

fn plane_state(
    plane: u32,
    crtc: u32,
    layout: &ClientLayout,
    dst: (i32, i32, u32, u32),
) -> PlaneState {
    let (w, h) = layout.size;
    PlaneState {
        plane,
        crtc: Some(crtc),
        fb: Framebuffer {
            format: layout.format,
            modifier: layout.modifier,
            width: w,
            height: h,
        },
        src: (0, 0, w, h),
        dst,
    }
}

/// Adds `clients`' planes to a frame's request (replacing the primary's state when a
/// client buffer is scanned out directly), and switches off the overlays the head
/// showed before that this frame leaves empty.
pub(crate) fn add_to_request(
    head: &Head,
    clients: &ClientPlanes,
    request: &mut AtomicRequest,
    fbs: &mut BTreeMap<u32, framebuffer::Handle>,
) {
    let crtc = head.lit.crtc;
    if let Some(direct) = &clients.direct {
        let (w, h) = (
            u32::from(head.lit.mode.width),
            u32::from(head.lit.mode.height),
        );
        request.planes.retain(|p| p.plane != head.lit.plane);
        request.planes.push(plane_state(
            head.lit.plane,
            crtc,
            &direct.layout,
            (0, 0, w, h),
        ));
        fbs.insert(head.lit.plane, direct.fb);
    }
    for overlay in &clients.overlays {
        request.planes.push(plane_state(
            overlay.plane,
            crtc,
            &overlay.buffer.layout,
            overlay.dst,
        ));
        fbs.insert(overlay.plane, overlay.buffer.fb);
    }
    for plane in &head.overlays {
        if !clients.overlays.iter().any(|o| o.plane == *plane) {
            request.planes.push(PlaneState {
                plane: *plane,
                crtc: None,
                fb: Framebuffer::default(),
                src: (0, 0, 0, 0),
                dst: (0, 0, 0, 0),
            });
        }
    }
}

/// TEST_ONLY of a head's frame with a candidate assignment's client planes.
struct ClientTest<'a> {
    device: &'a KmsDevice,
    head: &'a Head,
    buffers: &'a BTreeMap<u64, ClientBuffer>,
}

impl PlaneTest for ClientTest<'_> {
    fn test(&mut self, layers: &[Layer], assignment: &Assignment) -> bool {
        let Some(clients) = ClientPlanes::from_assignment(assignment, layers, self.buffers) else {
            return false;
        };
        let mut request = crate::scanout::primary_request(self.head, false);
        let mut fbs: BTreeMap<u32, framebuffer::Handle> =
            [(self.head.lit.plane, self.head.composited_fb())].into();
        add_to_request(self.head, &clients, &mut request, &mut fbs);
        match self.device.submit(&request, &fbs, None, Submit::TestOnly) {
            Ok(_) => true,
            Err(err) => {
                debug!(%err, "the device refused a plane assignment");
                false
            }
        }
    }
}

impl Scanout {
    /// Decides which of `layers` (the output's scene top to bottom; those with a
    /// format have a buffer in `buffers`) go onto `crtc`'s primary and overlay planes.
    /// The cursor plane stays the pointer's. Nothing leaves composition where the head
    /// is missing or the client-plane switch is off.
    pub fn assign_client_planes(
        &mut self,
        crtc: u32,
        layers: &[Layer],
        buffers: &BTreeMap<u64, ClientBuffer>,
    ) -> ClientPlanes {
        let device = &self.device;
        let Some(index) = device.model.crtcs.iter().position(|c| c.id == crtc) else {
            return ClientPlanes::default();
        };
        let Some(head) = self.heads.iter_mut().find(|h| h.lit.crtc == crtc) else {
            return ClientPlanes::default();
        };
        if !layers.iter().any(|l| l.format.is_some()) {
            head.assigner.last_tests = 0;
            return ClientPlanes::default();
        }
        // The head's planes as the assigner sees them, worked out once per lighting.
        if head.client_plane_set.is_none() {
            head.client_plane_set = Some(
                crate::planes::for_crtc(&device.model, index)
                    .into_iter()
                    .filter(|p| p.kind != Kind::Cursor)
                    .collect(),
            );
        }
        let size = (
            u32::from(head.lit.mode.width),
            u32::from(head.lit.mode.height),
        );
        let mut assigner = std::mem::take(&mut head.assigner);
        let assignment = {
            let head: &Head = head;
            let planes = head.client_plane_set.as_deref().unwrap_or_default();
            let mut test = ClientTest {
                device,
                head,
                buffers,
            };
            assigner.assign(layers, planes, size, &mut test)
        };
        head.assigner = assigner;
        ClientPlanes::from_assignment(&assignment, layers, buffers).unwrap_or_default()
    }

    /// A frame with client planes was refused: forget the decision for `layers`' shape,
    /// so the next frame tests again (and composites meanwhile).
    pub fn forget_client_planes(&mut self, crtc: u32, layers: &[Layer]) {
        if let Some(head) = self.head_mut(crtc) {
            head.assigner.invalidate(layers);
        }
    }

    /// The device, to import client buffers into.
    pub fn device(&self) -> &KmsDevice {
        &self.device
    }

    /// TEST_ONLY commits the last client-plane decision of `crtc` needed.
    pub fn client_plane_tests(&self, crtc: u32) -> usize {
        self.heads
            .iter()
            .find(|h| h.lit.crtc == crtc)
            .map_or(0, |h| h.assigner.last_tests)
    }
}
