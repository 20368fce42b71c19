//! The hardware cursor of a head: the pointer image in a buffer on the CRTC's cursor
//! plane, so moving the pointer is one small commit of the plane's position and never
//! a repaint. Whether the device takes a buffer of that size goes through
//! `ghost-planes` (the size rule, then a TEST_ONLY commit, cached by shape); where it
//! does not, the caller composites the cursor as before.

use std::collections::BTreeMap;

use drm::{
    buffer::DrmFourcc,
    control::{dumbbuffer::DumbBuffer, framebuffer},
};
use ghost_planes::{
    assign::{Assigner, Assignment, Kind, Layer, Plane, PlaneTest, Rect},
    cursor_buffer_side, CursorPlaneLimits,
};
use ghostnv_backend::{
    device::{KmsDevice, MappedBuffer, Submit},
    quirks,
    sim::{AtomicRequest, Framebuffer, PlaneState},
    PlaneKind, MODIFIER_LINEAR,
};
use tracing::debug;

use crate::scanout::{FrameError, Head, Scanout};

/// ARGB8888, the format every cursor plane takes.
pub const ARGB8888: u32 = 0x3432_5241;

/// Layer ids the cursor test uses.
const CURSOR_LAYER: u64 = 1;
const DESKTOP_LAYER: u64 = 2;

/// A pointer image: premultiplied ARGB8888 rows (`width` × 4 bytes each).
#[derive(Debug, Clone, PartialEq)]
pub struct CursorImage {
    /// The pixels.
    pub pixels: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Changes whenever the pixels do (the buffer is only rewritten then).
    pub serial: u64,
}

struct CursorSlot {
    map: MappedBuffer,
    buffer: DumbBuffer,
    fb: framebuffer::Handle,
}

/// The cursor plane of one head and its two buffers.
pub struct HwCursor {
    /// The plane.
    pub plane: u32,
    /// The buffers' side.
    pub side: u32,
    slots: Vec<CursorSlot>,
    /// The slot the next commit shows.
    next: usize,
    /// The image in each slot.
    serials: [Option<u64>; 2],
    /// Top-left corner of the buffer on the CRTC.
    pub position: (i32, i32),
    /// Shown at all.
    pub visible: bool,
    /// The plane's state differs from what was last committed.
    pub dirty: bool,
}

impl HwCursor {
    /// The plane's state for a request, and the framebuffer it needs.
    pub fn plane_state(&self, crtc: u32) -> (PlaneState, Option<framebuffer::Handle>) {
        let fb = self.slots[self.next].fb;
        let state = PlaneState {
            plane: self.plane,
            crtc: self.visible.then_some(crtc),
            fb: Framebuffer {
                format: ARGB8888,
                modifier: MODIFIER_LINEAR,
                width: self.side,
                height: self.side,
            },
            src: (0, 0, self.side, self.side),
            dst: (self.position.0, self.position.1, self.side, self.side),
        };
        (state, self.visible.then_some(fb))
    }

    /// Frees the buffers.
    pub fn destroy(self, device: &KmsDevice) {
        for slot in self.slots {
            drop(slot.map);
            device.destroy_dumb(slot.buffer, slot.fb);
        }
    }

    /// Shows `image` with its top-left corner at `position`: written into the buffer
    /// not on screen when it changed.
    pub fn show(&mut self, image: &CursorImage, position: (i32, i32)) {
        let shown = self.next;
        if self.serials[shown] != Some(image.serial) {
            let other = 1 - shown;
            if self.serials[other] != Some(image.serial) {
                write_image(&mut self.slots[other].map, self.side, image);
                self.serials[other] = Some(image.serial);
            }
            self.next = other;
            self.dirty = true;
        }
        if self.position != position || !self.visible {
            self.dirty = true;
        }
        self.position = position;
        self.visible = true;
    }

    /// Takes the cursor off the screen.
    pub fn hide(&mut self) {
        if self.visible {
            self.visible = false;
            self.dirty = true;
        }
    }
}

/// Copies `image` into a `side`-square buffer, transparent around it.
fn write_image(map: &mut MappedBuffer, side: u32, image: &CursorImage) {
    let row = side as usize * 4;
    let mut square = vec![0u8; row * side as usize];
    let w = image.width.min(side) as usize;
    for y in 0..image.height.min(side) as usize {
        let from = &image.pixels[y * image.width as usize * 4..][..w * 4];
        square[y * row..y * row + w * 4].copy_from_slice(from);
    }
    map.write(&square, row, &[(0, 0, side, side)]);
}

/// TEST_ONLY of the primary (its current buffer) with a cursor buffer on the plane.
struct CursorTest<'a> {
    device: &'a KmsDevice,
    crtc: u32,
    primary: (u32, framebuffer::Handle, u32, u32, u32),
    cursor: (u32, framebuffer::Handle),
}

impl PlaneTest for CursorTest<'_> {
    fn test(&mut self, layers: &[Layer], assignment: &Assignment) -> bool {
        let (plane, fb, format, w, h) = self.primary;
        let mut request = AtomicRequest::default();
        request.planes.push(PlaneState {
            plane,
            crtc: Some(self.crtc),
            fb: Framebuffer {
                format,
                modifier: MODIFIER_LINEAR,
                width: w,
                height: h,
            },
            src: (0, 0, w, h),
            dst: (0, 0, w, h),
        });
        let mut fbs: BTreeMap<u32, framebuffer::Handle> = [(plane, fb)].into();
        for (plane, id) in &assignment.planes {
            let Some(layer) = layers.iter().find(|l| l.id == *id) else {
                return false;
            };
            request.planes.push(PlaneState {
                plane: *plane,
                crtc: Some(self.crtc),
                fb: Framebuffer {
                    format: ARGB8888,
                    modifier: MODIFIER_LINEAR,
                    width: layer.buffer.0,
                    height: layer.buffer.1,
                },
                src: (0, 0, layer.buffer.0, layer.buffer.1),
                dst: (layer.dst.x, layer.dst.y, layer.dst.w, layer.dst.h),
            });
            fbs.insert(*plane, self.cursor.1);
        }
        match self.device.submit(&request, &fbs, None, Submit::TestOnly) {
            Ok(_) => true,
            Err(err) => {
                debug!(%err, "the device refused the cursor plane");
                false
            }
        }
    }
}

/// What the head's primary shows now: plane, framebuffer, format, width, height.
pub(crate) type PrimaryNow = (u32, framebuffer::Handle, u32, u32, u32);

/// Sets up the cursor plane of `crtc` for images up to `width` × `height`: the plane,
/// the buffer side its limits allow, and a TEST_ONLY commit through `assigner` (cached
/// by shape, so only the first frame of a size is tested). None: composite the cursor.
pub(crate) fn make(
    device: &KmsDevice,
    assigner: &mut Assigner,
    crtc: u32,
    primary: PrimaryNow,
    width: u32,
    height: u32,
) -> Option<HwCursor> {
    let model = &device.model;
    let index = model.crtcs.iter().position(|c| c.id == crtc)?;
    let plane = model
        .planes_for_crtc(index)
        .find(|p| p.kind == PlaneKind::Cursor && p.supports(ARGB8888, MODIFIER_LINEAR))?
        .id;
    let quirks = quirks::for_driver(&model.driver);
    let cap = |name: &str| {
        model
            .caps
            .get(name)
            .and_then(|v| u32::try_from(*v).ok())
            .filter(|v| *v > 0)
            .unwrap_or(64)
    };
    let limits = CursorPlaneLimits {
        max_width: cap("CURSOR_WIDTH"),
        max_height: cap("CURSOR_HEIGHT"),
        square_power_of_two: !quirks.cursor_sizes.is_empty(),
    };
    // A power-of-two square is what every driver takes; vkms and the like take any.
    let side = cursor_buffer_side(&limits, width, height)?.next_power_of_two();
    let side = side.min(limits.max_width.min(limits.max_height));
    if side < width.max(height) {
        return None;
    }
    let mut slots = Vec::new();
    for _ in 0..2 {
        let (buffer, fb) = device
            .dumb_framebuffer(side, side, DrmFourcc::Argb8888, |_, _| 0)
            .ok()?;
        let map = match device.map_persistent(&buffer) {
            Ok(map) => map,
            Err(_) => {
                device.destroy_dumb(buffer, fb);
                return None;
            }
        };
        slots.push(CursorSlot { map, buffer, fb });
    }
    let layers = [
        Layer {
            id: CURSOR_LAYER,
            dst: Rect {
                x: 0,
                y: 0,
                w: side,
                h: side,
            },
            buffer: (side, side),
            format: Some((ARGB8888, MODIFIER_LINEAR)),
            opaque: false,
            cursor: true,
        },
        Layer {
            id: DESKTOP_LAYER,
            dst: Rect {
                x: 0,
                y: 0,
                w: primary.3,
                h: primary.4,
            },
            buffer: (primary.3, primary.4),
            format: None,
            opaque: true,
            cursor: false,
        },
    ];
    let planes = [
        Plane {
            id: primary.0,
            kind: Kind::Primary,
            formats: Vec::new(),
            scaling: false,
        },
        Plane {
            id: plane,
            kind: Kind::Cursor,
            formats: vec![(ARGB8888, MODIFIER_LINEAR)],
            scaling: false,
        },
    ];
    let mut test = CursorTest {
        device,
        crtc,
        primary,
        cursor: (plane, slots[0].fb),
    };
    let assignment = assigner.assign(&layers, &planes, (primary.3, primary.4), &mut test);
    if !assignment.planes.iter().any(|(p, _)| *p == plane) {
        for slot in slots {
            drop(slot.map);
            device.destroy_dumb(slot.buffer, slot.fb);
        }
        return None;
    }
    Some(HwCursor {
        plane,
        side,
        slots,
        next: 0,
        serials: [None, None],
        position: (0, 0),
        visible: false,
        dirty: true,
    })
}

/// Puts the cursor plane's state into `request` when it changed.
pub(crate) fn add_to_request(
    head: &Head,
    request: &mut AtomicRequest,
    fbs: &mut BTreeMap<u32, framebuffer::Handle>,
) {
    if let Some(cursor) = head.cursor.as_ref().filter(|c| c.dirty) {
        let (state, fb) = cursor.plane_state(head.lit.crtc);
        request.planes.push(state);
        if let Some(fb) = fb {
            fbs.insert(cursor.plane, fb);
        }
    }
}

impl Scanout {
    /// Puts the pointer on `crtc`'s cursor plane: `image` with its top-left corner at
    /// `top_left` (None hides it). Takes effect with the next frame or
    /// [`Self::commit_cursor`]. Returns false when the plane cannot show it (no cursor
    /// plane, too large, or refused by the device): then the caller composites it.
    pub fn set_cursor(
        &mut self,
        crtc: u32,
        image: Option<&CursorImage>,
        top_left: (i32, i32),
    ) -> bool {
        let device = &self.device;
        let assigner = &mut self.assigner;
        let Some(head) = self.heads.iter_mut().find(|h| h.lit.crtc == crtc) else {
            return false;
        };
        let Some(image) = image else {
            if let Some(cursor) = &mut head.cursor {
                cursor.hide();
            }
            return true;
        };
        if head.cursor_refused {
            return false;
        }
        let fits = head
            .cursor
            .as_ref()
            .is_some_and(|c| c.side >= image.width.max(image.height));
        if !fits {
            if let Some(old) = head.cursor.take() {
                old.destroy(device);
            }
            let primary = (
                head.lit.plane,
                head.composited_fb(),
                head.lit.format,
                u32::from(head.lit.mode.width),
                u32::from(head.lit.mode.height),
            );
            head.cursor = make(device, assigner, crtc, primary, image.width, image.height);
            if head.cursor.is_none() {
                debug!(crtc, "the pointer is composited on this output");
                head.cursor_refused = true;
                return false;
            }
        }
        if let Some(cursor) = &mut head.cursor {
            cursor.show(image, top_left);
        }
        true
    }

    /// Commits a changed cursor plane on its own (the pointer moved, nothing else did).
    /// Returns false when there was nothing to commit or a flip is in flight (the
    /// change then goes with the next frame, or a later call).
    pub fn commit_cursor(&mut self, crtc: u32) -> Result<bool, FrameError> {
        let (device, head) = match self.ready_head(crtc) {
            Err(FrameError::Busy) => return Ok(false),
            other => other?,
        };
        if !head.cursor.as_ref().is_some_and(|c| c.dirty) {
            return Ok(false);
        }
        let mut request = AtomicRequest::default();
        let mut fbs = BTreeMap::new();
        add_to_request(head, &mut request, &mut fbs);
        device
            .submit(&request, &fbs, None, Submit::Flip)
            .map_err(FrameError::Refused)?;
        if let Some(cursor) = &mut head.cursor {
            cursor.dirty = false;
        }
        head.flip_pending = true;
        Ok(true)
    }
}
