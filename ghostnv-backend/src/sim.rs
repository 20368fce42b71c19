//! A simulated KMS device: a [`DeviceModel`] that answers TEST_ONLY and real commits by
//! the rules drivers apply (plane on a CRTC it can reach, a format and modifier it scans
//! out, inside the mode, no scaling where the hardware has none, cursor sizes, property
//! values in range, the quirk table) and records every commit it accepted, so output
//! setup and plane assignment are tested against hardware we do not have.

use std::collections::BTreeMap;

use crate::{
    model::{DeviceModel, ModeInfo, PlaneKind},
    quirks::{self, Quirks},
};

/// A framebuffer as a commit references it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Framebuffer {
    /// fourcc.
    pub format: u32,
    /// Format modifier.
    pub modifier: u64,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// One plane in a request: where its buffer goes on which CRTC.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlaneState {
    /// Plane object id.
    pub plane: u32,
    /// CRTC object id, or None to turn the plane off.
    pub crtc: Option<u32>,
    /// The buffer.
    pub fb: Framebuffer,
    /// Source rectangle in the buffer (x, y, w, h), whole pixels.
    pub src: (u32, u32, u32, u32),
    /// Destination on the CRTC (x, y, w, h).
    pub dst: (i32, i32, u32, u32),
}

/// One CRTC in a request.
#[derive(Debug, Clone, PartialEq)]
pub struct CrtcState {
    /// CRTC object id.
    pub crtc: u32,
    /// The mode, or None to switch the CRTC off.
    pub mode: Option<ModeInfo>,
    /// Connectors it drives.
    pub connectors: Vec<u32>,
}

/// A damaged rectangle of a framebuffer: x, y, width, height in pixels.
pub type ClipRect = (u32, u32, u32, u32);

/// An atomic request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AtomicRequest {
    /// CRTC changes.
    pub crtcs: Vec<CrtcState>,
    /// Plane changes.
    pub planes: Vec<PlaneState>,
    /// Property changes by object id and property name.
    pub properties: Vec<(u32, String, u64)>,
    /// DRM_MODE_ATOMIC_ALLOW_MODESET.
    pub allow_modeset: bool,
    /// DRM_MODE_PAGE_FLIP_ASYNC.
    pub async_flip: bool,
    /// Blob properties by object id and property name (HDR_OUTPUT_METADATA, say): the
    /// bytes are made into a blob at commit time. Empty bytes clear the property.
    pub blobs: Vec<(u32, String, Vec<u8>)>,
    /// FB_DAMAGE_CLIPS per plane: what changed in the plane's new framebuffer since the
    /// frame on screen (x, y, width, height), so the display fetches only that. A plane
    /// without clips is taken as changed everywhere.
    pub damage_clips: Vec<(u32, Vec<ClipRect>)>,
    /// A CRTC whose out-fence (OUT_FENCE_PTR) the commit returns: it signals when the
    /// frame starts scanning out, for whoever waits on the display rather than on an
    /// event (explicit sync, capture).
    pub out_fence: Option<u32>,
}

/// Why the device refused a request (EINVAL on real hardware).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// An object id the device does not have.
    #[error("no object {0}")]
    NoObject(u32),
    /// A plane on a CRTC it cannot reach.
    #[error("plane {plane} cannot be used on CRTC {crtc}")]
    PlaneCrtc {
        /// Plane id.
        plane: u32,
        /// CRTC id.
        crtc: u32,
    },
    /// A connector driven by a CRTC it cannot reach.
    #[error("connector {0} cannot be driven by CRTC {1}")]
    ConnectorCrtc(u32, u32),
    /// Format or modifier the plane cannot scan out.
    #[error("plane {plane} cannot scan out format {format:#x} with modifier {modifier:#x}")]
    Format {
        /// Plane id.
        plane: u32,
        /// fourcc.
        format: u32,
        /// Modifier.
        modifier: u64,
    },
    /// Scaling on a device (or plane) without a scaler.
    #[error("plane {0} would scale, which this device cannot")]
    Scaling(u32),
    /// A plane outside its CRTC's mode, or with an empty rectangle.
    #[error("plane {0} is outside its CRTC or empty")]
    Placement(u32),
    /// A cursor of a size the device does not take.
    #[error("cursor {width}x{height} not accepted")]
    CursorSize {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
    /// A property value out of range, or an immutable one changed.
    #[error("property {name} of object {object} refuses {value}")]
    Property {
        /// Object id.
        object: u32,
        /// Property name.
        name: String,
        /// Value.
        value: u64,
    },
    /// A property the object does not have.
    #[error("object {0} has no property {1}")]
    NoProperty(u32, String),
    /// A mode change without ALLOW_MODESET.
    #[error("the request changes a mode without ALLOW_MODESET")]
    NeedsModeset,
    /// An overlay on while its CRTC's primary is off (nvidia-drm).
    #[error("overlay {0} on without the primary plane")]
    OverlayWithoutPrimary(u32),
    /// An asynchronous flip touching something other than a primary plane's buffer.
    #[error("asynchronous flips may only change the primary plane")]
    Async,
    /// A property this driver release does not take (an in-fence before the driver
    /// turned fences into display semaphores, say).
    #[error("{0} on object {1} is not taken by this driver release")]
    Release(String, u32),
    /// A blob the kernel would not take.
    #[error("{name} on object {object}: {why}")]
    Blob {
        /// Object id.
        object: u32,
        /// Property name.
        name: String,
        /// What is wrong with it.
        why: String,
    },
    /// A rejection injected by a test (for example a bandwidth limit).
    #[error("refused by injection: {0}")]
    Injected(String),
}

/// The simulated device.
pub struct SimDevice {
    /// The hardware description.
    pub model: DeviceModel,
    quirks: &'static Quirks,
    /// Active mode per CRTC id.
    modes: BTreeMap<u32, ModeInfo>,
    /// Every accepted real commit, in order.
    pub committed: Vec<AtomicRequest>,
    /// TEST_ONLY requests answered.
    pub tests: usize,
    /// A test's extra rule, applied after the device's own.
    #[allow(clippy::type_complexity)]
    pub inject: Option<Box<dyn Fn(&AtomicRequest) -> Option<String>>>,
}

impl SimDevice {
    /// A device with every CRTC off.
    pub fn new(model: DeviceModel) -> Self {
        let quirks = quirks::for_driver(&model.driver);
        Self {
            model,
            quirks,
            modes: BTreeMap::new(),
            committed: Vec::new(),
            tests: 0,
            inject: None,
        }
    }

    /// The mode a CRTC currently shows.
    pub fn mode(&self, crtc: u32) -> Option<&ModeInfo> {
        self.modes.get(&crtc)
    }

    /// TEST_ONLY: would the device accept `request`?
    pub fn test(&mut self, request: &AtomicRequest) -> Result<(), Refusal> {
        self.tests += 1;
        self.check(request)
    }

    /// A real commit: checked like a test, then applied and recorded.
    pub fn commit(&mut self, request: &AtomicRequest) -> Result<(), Refusal> {
        self.check(request)?;
        for c in &request.crtcs {
            match &c.mode {
                Some(m) => self.modes.insert(c.crtc, m.clone()),
                None => self.modes.remove(&c.crtc),
            };
        }
        self.committed.push(request.clone());
        Ok(())
    }

    fn crtc_index(&self, id: u32) -> Result<usize, Refusal> {
        self.model
            .crtcs
            .iter()
            .position(|c| c.id == id)
            .ok_or(Refusal::NoObject(id))
    }

    fn check(&self, request: &AtomicRequest) -> Result<(), Refusal> {
        let mut modes = self.modes.clone();
        for c in &request.crtcs {
            let index = self.crtc_index(c.crtc)?;
            if self.modes.get(&c.crtc) != c.mode.as_ref() && !request.allow_modeset {
                return Err(Refusal::NeedsModeset);
            }
            for connector in &c.connectors {
                let model = self
                    .model
                    .connectors
                    .iter()
                    .find(|k| k.id == *connector)
                    .ok_or(Refusal::NoObject(*connector))?;
                if model.possible_crtcs & (1 << index) == 0 {
                    return Err(Refusal::ConnectorCrtc(*connector, c.crtc));
                }
            }
            match &c.mode {
                Some(m) => modes.insert(c.crtc, m.clone()),
                None => modes.remove(&c.crtc),
            };
        }
        for p in &request.planes {
            self.check_plane(p, &modes)?;
        }
        if self.quirks.overlay_needs_primary {
            for p in request.planes.iter().filter(|p| p.crtc.is_some()) {
                let Some(model) = self.model.planes.iter().find(|m| m.id == p.plane) else {
                    continue;
                };
                let primary_on = request.planes.iter().any(|q| {
                    q.crtc == p.crtc
                        && self
                            .model
                            .planes
                            .iter()
                            .any(|m| m.id == q.plane && m.kind == PlaneKind::Primary)
                });
                if model.kind == PlaneKind::Overlay && !primary_on {
                    return Err(Refusal::OverlayWithoutPrimary(p.plane));
                }
            }
        }
        if request.async_flip {
            let only_buffers = request.crtcs.is_empty() && request.properties.is_empty();
            let planes_allowed = !self.quirks.async_primary_only
                || request.planes.iter().all(|p| {
                    self.model
                        .planes
                        .iter()
                        .any(|m| m.id == p.plane && m.kind == PlaneKind::Primary)
                });
            if !only_buffers
                || !planes_allowed
                || self.model.caps.get("ASYNC_PAGE_FLIP") != Some(&1)
            {
                return Err(Refusal::Async);
            }
        }
        for (plane, clips) in &request.damage_clips {
            let model = self
                .model
                .planes
                .iter()
                .find(|m| m.id == *plane)
                .ok_or(Refusal::NoObject(*plane))?;
            if !model.properties.contains_key("FB_DAMAGE_CLIPS") {
                return Err(Refusal::NoProperty(*plane, "FB_DAMAGE_CLIPS".into()));
            }
            // The kernel takes no empty blob, and an asynchronous commit may change
            // nothing but the framebuffer.
            if clips.is_empty() {
                return Err(Refusal::Property {
                    object: *plane,
                    name: "FB_DAMAGE_CLIPS".into(),
                    value: 0,
                });
            }
            if request.async_flip {
                return Err(Refusal::Async);
            }
        }
        for (object, name, bytes) in &request.blobs {
            self.model
                .properties_of(*object)
                .ok_or(Refusal::NoObject(*object))?
                .get(name)
                .ok_or_else(|| Refusal::NoProperty(*object, name.clone()))?;
            if name == "HDR_OUTPUT_METADATA" && !bytes.is_empty() {
                crate::hdr_blob::check(bytes).map_err(|why| Refusal::Blob {
                    object: *object,
                    name: name.clone(),
                    why,
                })?;
            }
        }
        let gates = quirks::gates(&self.model);
        let blob_names = request.blobs.iter().map(|(o, n, _)| (o, n));
        let names = request.properties.iter().map(|(o, n, _)| (o, n));
        for (object, name) in names.chain(blob_names) {
            let allowed = match name.as_str() {
                "IN_FENCE_FD" => gates.in_fence,
                "HDR_OUTPUT_METADATA" | "Colorspace" => gates.hdr_connector_properties,
                _ => true,
            };
            if !allowed {
                return Err(Refusal::Release(name.clone(), *object));
            }
        }
        for (object, name, value) in &request.properties {
            let props = self
                .model
                .properties_of(*object)
                .ok_or(Refusal::NoObject(*object))?;
            let prop = props
                .get(name)
                .ok_or_else(|| Refusal::NoProperty(*object, name.clone()))?;
            if !prop.accepts(*value) {
                return Err(Refusal::Property {
                    object: *object,
                    name: name.clone(),
                    value: *value,
                });
            }
        }
        if let Some(reason) = self.inject.as_ref().and_then(|f| f(request)) {
            return Err(Refusal::Injected(reason));
        }
        Ok(())
    }

    fn check_plane(&self, p: &PlaneState, modes: &BTreeMap<u32, ModeInfo>) -> Result<(), Refusal> {
        let model = self
            .model
            .planes
            .iter()
            .find(|m| m.id == p.plane)
            .ok_or(Refusal::NoObject(p.plane))?;
        let Some(crtc) = p.crtc else {
            return Ok(());
        };
        let index = self.crtc_index(crtc)?;
        if model.possible_crtcs & (1 << index) == 0 {
            return Err(Refusal::PlaneCrtc {
                plane: p.plane,
                crtc,
            });
        }
        if !model.supports(p.fb.format, p.fb.modifier) {
            return Err(Refusal::Format {
                plane: p.plane,
                format: p.fb.format,
                modifier: p.fb.modifier,
            });
        }
        let (sx, sy, sw, sh) = p.src;
        let (dx, dy, dw, dh) = p.dst;
        let in_buffer = sx + sw <= p.fb.width && sy + sh <= p.fb.height;
        let mode = modes.get(&crtc).ok_or(Refusal::Placement(p.plane))?;
        let (mw, mh) = (i64::from(mode.width), i64::from(mode.height));
        let visible = i64::from(dx) < mw
            && i64::from(dy) < mh
            && i64::from(dx) + i64::from(dw) > 0
            && i64::from(dy) + i64::from(dh) > 0;
        if sw == 0 || sh == 0 || dw == 0 || dh == 0 || !in_buffer || !visible {
            return Err(Refusal::Placement(p.plane));
        }
        // Only the cursor may hang over the edge; the core clips nothing else here.
        let inside = dx >= 0
            && dy >= 0
            && i64::from(dx) + i64::from(dw) <= mw
            && i64::from(dy) + i64::from(dh) <= mh;
        if model.kind != PlaneKind::Cursor && !inside {
            return Err(Refusal::Placement(p.plane));
        }
        let scaled = (sw, sh) != (dw, dh);
        if scaled && (model.kind == PlaneKind::Cursor || !self.quirks.plane_scaling) {
            return Err(Refusal::Scaling(p.plane));
        }
        if model.kind == PlaneKind::Cursor {
            let cap_w = self.model.caps.get("CURSOR_WIDTH").copied().unwrap_or(64) as u32;
            let cap_h = self.model.caps.get("CURSOR_HEIGHT").copied().unwrap_or(64) as u32;
            let (w, h) = (p.fb.width, p.fb.height);
            let sized = if self.quirks.cursor_sizes.is_empty() {
                w <= cap_w && h <= cap_h
            } else {
                w == h && self.quirks.cursor_sizes.contains(&w) && w <= cap_w
            };
            if !sized {
                return Err(Refusal::CursorSize {
                    width: w,
                    height: h,
                });
            }
        }
        Ok(())
    }
}
