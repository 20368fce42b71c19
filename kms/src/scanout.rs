//! The commit loop on a real device: every lit output (a head) has two dumb buffers
//! that take turns on its primary plane. A frame is copied into the buffer that is not
//! being scanned out (only the parts that changed since that buffer last got a frame),
//! flipped with a non-blocking atomic commit, and the page-flip event with the vblank's
//! time and sequence says when it reached the screen. Lighting outputs goes through
//! [`light_outputs`], so a configuration the driver refuses steps down to one it takes;
//! a frame the driver refuses is retried without its extra properties, and the outputs
//! keep showing the last good frame meanwhile.
//!
//! Dumb buffers are what devices without a render node offer (vkms, simpledrm). Where a
//! GPU draws the frame (GLES into GBM buffers), the buffer it drew into goes on the
//! primary plane as it is ([`Composited::Buffer`]) and the dumb buffers rest.

use std::{
    collections::BTreeMap,
    os::fd::{AsFd, AsRawFd, BorrowedFd},
    time::Duration,
};

use drm::{
    buffer::DrmFourcc,
    control::{dumbbuffer::DumbBuffer, framebuffer},
};
use ghostnv_backend::{
    commit::DumbCommitter,
    device::{DeviceError, Flipped, KmsDevice, MappedBuffer, Submit},
    quirks,
    sim::{AtomicRequest, Framebuffer, PlaneState},
    DeviceModel, CONNECTOR_WRITEBACK, MODIFIER_LINEAR,
};
use tracing::{debug, warn};

use ghost_planes::assign::Assigner;

use crate::{
    allocate::{hotplug, Hotplug},
    client_planes::{ClientBuffer, ClientPlanes},
    cursor::HwCursor,
    setup::{light_outputs, LitOutput, OutputWish, SetupError},
    vrr::async_flip_allowed,
};

/// Whether a frame's GPU fence goes to the display as the plane's `IN_FENCE_FD` (else
/// the compositor waits for it): a tearing flip carries no properties, so it cannot
/// carry the fence either, nor can a plane of a driver release that fails fenced planes.
pub fn fence_on_plane(model: &DeviceModel, tearing: bool) -> bool {
    !tearing && quirks::gates(model).in_fence
}

/// FB_DAMAGE_CLIPS for `plane` from what changed since the frame on screen (`damage`,
/// clipped to the `width`×`height` frame): None where the plane has no such property or
/// nothing is known to be unchanged, which the display takes as "all of it".
pub fn damage_clips(
    model: &DeviceModel,
    plane: u32,
    damage: &[Rect],
    (width, height): (u32, u32),
) -> Option<Vec<Rect>> {
    let has_property = model
        .planes
        .iter()
        .any(|p| p.id == plane && p.properties.contains_key("FB_DAMAGE_CLIPS"));
    let clips: Vec<Rect> = damage
        .iter()
        .filter(|(x, y, _, _)| *x < width && *y < height)
        .map(|&(x, y, w, h)| (x, y, w.min(width - x), h.min(height - y)))
        .filter(|(_, _, w, h)| *w > 0 && *h > 0)
        .collect();
    (has_property && !clips.is_empty()).then_some(clips)
}

/// The longest a frame waits for the GPU on the CPU (where the display cannot).
const GPU_WAIT: Duration = Duration::from_secs(1);

/// A rectangle of a frame: x, y, width, height in pixels.
pub type Rect = (u32, u32, u32, u32);

/// The composited part of a frame.
#[derive(Debug, Clone, Copy)]
pub enum Composited<'a> {
    /// Pixels in memory, rows of `stride` bytes in the head's format, with what changed
    /// since the previous frame: copied into the head's dumb buffer.
    Pixels {
        /// The whole frame.
        source: &'a [u8],
        /// Bytes per row of `source`.
        stride: usize,
        /// What changed.
        damage: &'a [Rect],
    },
    /// A buffer the GPU drew the whole frame into, scanned out as it is. The caller
    /// keeps it (and its framebuffer) until a later frame is on screen.
    Buffer {
        /// The buffer.
        buffer: ClientBuffer,
        /// A sync_file that signals when the GPU has finished drawing it (None: it
        /// has). The display waits on it (IN_FENCE_FD), so the compositor does not.
        ready: Option<BorrowedFd<'a>>,
        /// What differs from the GPU's previous frame (at least that; the whole
        /// frame where unknown, as an empty list says).
        damage: &'a [Rect],
    },
}

/// Why a frame was not flipped.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The output is waiting for a flip, switched off, or the session is away.
    #[error("the output cannot take a frame now")]
    Busy,
    /// No lit output on that CRTC.
    #[error("no output on CRTC {0}")]
    NoHead(u32),
    /// The driver refused the frame, also without its extra properties.
    #[error("the driver refused the frame: {0}")]
    Refused(DeviceError),
    /// Copying into the buffer failed.
    #[error(transparent)]
    Device(#[from] DeviceError),
}

/// What a buffer still lacks of the newest frame.
#[derive(Debug, Clone, PartialEq)]
enum Stale {
    /// Everything (a new buffer, or too many pieces to track).
    All,
    /// These rectangles.
    Parts(Vec<Rect>),
}

impl Stale {
    /// More than this many rectangles are merged into a full copy.
    const MAX_PARTS: usize = 16;

    fn add(&mut self, damage: &[Rect]) {
        if let Stale::Parts(parts) = self {
            parts.extend_from_slice(damage);
            if parts.len() > Self::MAX_PARTS {
                *self = Stale::All;
            }
        }
    }
}

struct Slot {
    /// The buffer mapped for writing (None where mapping failed: mapped per frame).
    map: Option<MappedBuffer>,
    buffer: DumbBuffer,
    fb: framebuffer::Handle,
    stale: Stale,
}

impl Slot {
    fn new(device: &KmsDevice, buffer: DumbBuffer, fb: framebuffer::Handle) -> Self {
        let map = device
            .map_persistent(&buffer)
            .map_err(|err| debug!(%err, "no lasting mapping; mapping per frame"))
            .ok();
        Self {
            map,
            buffer,
            fb,
            stale: Stale::All,
        }
    }

    fn destroy(mut self, device: &KmsDevice) {
        drop(self.map.take());
        device.destroy_dumb(self.buffer, self.fb);
    }
}

/// One lit output: its connector, CRTC, primary plane, mode and buffers.
pub struct Head {
    /// What was lit.
    pub lit: LitOutput,
    slots: Vec<Slot>,
    /// The slot the next frame goes into (the other one is on screen).
    back: usize,
    /// A flip was submitted and its event has not arrived.
    pub flip_pending: bool,
    /// The CRTC is on (DPMS).
    pub active: bool,
    /// Properties every frame sets (VRR_ENABLED and the like): (object, name, value).
    pub properties: Vec<(u32, String, u64)>,
    /// Frames whose extra properties the driver refused (they went without).
    pub refused_properties: u64,
    /// Frames that went out with FB_DAMAGE_CLIPS on the primary plane.
    pub clipped_frames: u64,
    /// The properties as last committed: a frame only carries the ones that changed
    /// (a request with properties cannot be an asynchronous flip).
    committed: Vec<(u32, String, u64)>,
    /// The last frame was an asynchronous (tearing) flip.
    pub last_async: bool,
    /// Asynchronous flips the driver refused (they went synchronous).
    pub refused_async: u64,
    /// The cursor plane, while it shows the pointer.
    pub cursor: Option<HwCursor>,
    /// The device refused the cursor plane: the pointer is composited on this head.
    pub cursor_refused: bool,
    /// Client-plane decisions of this head, cached by the scene's shape.
    pub(crate) assigner: Assigner,
    /// The planes client buffers may use on this head (primary and overlays).
    pub(crate) client_plane_set: Option<Vec<ghost_planes::assign::Plane>>,
    /// Overlay planes showing client buffers, as last committed.
    pub overlays: Vec<u32>,
    /// The client buffer on the primary plane (direct scanout), as last committed.
    pub direct: Option<ClientBuffer>,
    /// The composited frame last committed, where the GPU drew it into a buffer of its
    /// own (None: it is in the front dumb buffer).
    pub rendered: Option<ClientBuffer>,
}

impl Head {
    /// What the primary plane shows now: a client's buffer or the composited frame.
    pub(crate) fn front_fb(&self) -> framebuffer::Handle {
        self.direct.map_or(self.composited_fb(), |d| d.fb)
    }

    /// The composited frame last put on screen.
    pub(crate) fn composited_fb(&self) -> framebuffer::Handle {
        self.rendered.map_or(self.front().fb, |r| r.fb)
    }

    fn front(&self) -> &Slot {
        &self.slots[1 - self.back]
    }
}

/// The device and its heads.
pub struct Scanout {
    pub(crate) device: KmsDevice,
    pub(crate) heads: Vec<Head>,
    wishes: BTreeMap<u32, OutputWish>,
    /// Flip events read while waiting for something else, handed out by [`Self::dispatch`].
    early: Vec<Flipped>,
    pub(crate) paused: bool,
    /// Plane decisions, cached by shape.
    pub(crate) assigner: Assigner,
}

/// The primary plane as it is now (a client's buffer or the composited frame).
pub(crate) fn primary_request(head: &Head, with_properties: bool) -> AtomicRequest {
    let mut request = composited_request(head, with_properties);
    if let Some(direct) = &head.direct {
        show_on_primary(&mut request, direct);
    }
    request
}

/// Makes `request`'s primary plane (its first) show `buffer`'s format and modifier.
fn show_on_primary(request: &mut AtomicRequest, buffer: &ClientBuffer) {
    if let Some(primary) = request.planes.first_mut() {
        primary.fb.format = buffer.layout.format;
        primary.fb.modifier = buffer.layout.modifier;
    }
}

/// The primary plane showing the composited frame.
pub(crate) fn composited_request(head: &Head, with_properties: bool) -> AtomicRequest {
    let properties = if with_properties {
        head.properties
            .iter()
            .filter(|p| !head.committed.contains(p))
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    let (w, h) = (
        u32::from(head.lit.mode.width),
        u32::from(head.lit.mode.height),
    );
    let mut request = AtomicRequest {
        planes: vec![PlaneState {
            plane: head.lit.plane,
            crtc: Some(head.lit.crtc),
            fb: Framebuffer {
                format: head.lit.format,
                modifier: MODIFIER_LINEAR,
                width: w,
                height: h,
            },
            src: (0, 0, w, h),
            dst: (0, 0, w, h),
        }],
        properties,
        ..AtomicRequest::default()
    };
    if let Some(rendered) = &head.rendered {
        show_on_primary(&mut request, rendered);
    }
    request
}

fn scan(model: &DeviceModel) -> Vec<(u32, bool, Vec<u8>)> {
    model
        .connectors
        .iter()
        .filter(|c| c.connector_type != CONNECTOR_WRITEBACK)
        .map(|c| (c.id, c.is_display(), c.edid.clone().unwrap_or_default()))
        .collect()
}

impl Scanout {
    /// Wraps an open device; nothing is lit yet.
    pub fn new(device: KmsDevice) -> Self {
        Self {
            device,
            heads: Vec::new(),
            wishes: BTreeMap::new(),
            early: Vec::new(),
            paused: false,
            assigner: Assigner::new(4),
        }
    }

    /// What the device has.
    pub fn model(&self) -> &DeviceModel {
        &self.device.model
    }

    /// The device node, to watch for flip events.
    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.device.as_fd()
    }

    /// The lit outputs.
    pub fn heads(&self) -> &[Head] {
        &self.heads
    }

    /// The head driving `connector`.
    pub fn head_of_connector(&self, connector: u32) -> Option<&Head> {
        self.heads.iter().find(|h| h.lit.connector == connector)
    }

    /// The head on `crtc`.
    pub fn head_mut(&mut self, crtc: u32) -> Option<&mut Head> {
        self.heads.iter_mut().find(|h| h.lit.crtc == crtc)
    }

    /// Lights every connected display in one modeset, with `wishes` per connector id
    /// (mode, formats), stepping down where the driver refuses. On failure the heads
    /// lit before stay as they were. Waits for flips in flight first.
    pub fn light(&mut self, wishes: BTreeMap<u32, OutputWish>) -> Result<(), SetupError> {
        self.settle();
        let current: BTreeMap<u32, u32> = self
            .heads
            .iter()
            .map(|h| (h.lit.connector, h.lit.crtc))
            .collect();
        // The buffer the modeset puts on screen becomes the head's first front buffer.
        let mut committer = DumbCommitter::new(&self.device, 0xff00_0000);
        let lit = light_outputs(&mut committer, &wishes, &current);
        let mut made = committer.into_buffers();
        let lit = match lit {
            Ok(lit) => lit,
            Err(err) => {
                for (_, (buffer, fb)) in made {
                    self.device.destroy_dumb(buffer, fb);
                }
                return Err(err);
            }
        };
        self.wishes = wishes;
        let old = std::mem::take(&mut self.heads);
        // Overlays left on by the old heads are switched off by the next frames.
        let mut left_on: BTreeMap<u32, Vec<u32>> = old
            .iter()
            .map(|h| (h.lit.crtc, h.overlays.clone()))
            .collect();
        for lit in lit {
            let (w, h) = (u32::from(lit.mode.width), u32::from(lit.mode.height));
            let Some((buffer, fb)) = made.remove(&(lit.plane, w, h, lit.format)) else {
                continue;
            };
            let format = DrmFourcc::try_from(lit.format).unwrap_or(DrmFourcc::Xrgb8888);
            let back = match self
                .device
                .dumb_framebuffer(w, h, format, |_, _| 0xff00_0000)
            {
                Ok(b) => b,
                Err(err) => {
                    warn!(%err, connector = lit.connector, "no second buffer; the output stays still");
                    (buffer, fb)
                }
            };
            let front = Slot::new(&self.device, buffer, fb);
            let back = Slot::new(&self.device, back.0, back.1);
            let overlays = left_on.remove(&lit.crtc).unwrap_or_default();
            self.heads.push(Head {
                lit,
                // The back buffer is slot 0; slot 1 is on screen.
                slots: vec![back, front],
                back: 0,
                flip_pending: false,
                active: true,
                properties: Vec::new(),
                refused_properties: 0,
                clipped_frames: 0,
                committed: Vec::new(),
                last_async: false,
                refused_async: 0,
                cursor: None,
                cursor_refused: false,
                assigner: Assigner::new(4),
                client_plane_set: None,
                overlays,
                direct: None,
                rendered: None,
            });
        }
        // The modeset replaced every old buffer on screen.
        for mut head in old {
            if let Some(cursor) = head.cursor.take() {
                cursor.destroy(&self.device);
            }
            for slot in head.slots {
                slot.destroy(&self.device);
            }
        }
        for (_, (buffer, fb)) in made {
            self.device.destroy_dumb(buffer, fb);
        }
        Ok(())
    }

    /// The wishes of the last successful [`Self::light`].
    pub fn wishes(&self) -> &BTreeMap<u32, OutputWish> {
        &self.wishes
    }

    /// Blocks until no flip is in flight (their events are kept for [`Self::dispatch`]).
    pub(crate) fn settle(&mut self) {
        while self.heads.iter().any(|h| h.flip_pending) {
            match self.device.wait_flip() {
                Ok((crtc, sequence, time)) => {
                    let flipped = Flipped {
                        crtc,
                        sequence,
                        time,
                    };
                    self.flip_done(crtc);
                    self.early.push(flipped);
                }
                Err(err) => {
                    warn!(%err, "waiting for a page flip failed");
                    for head in &mut self.heads {
                        head.flip_pending = false;
                    }
                }
            }
        }
    }

    fn flip_done(&mut self, crtc: u32) -> bool {
        match self.heads.iter_mut().find(|h| h.lit.crtc == crtc) {
            Some(head) if head.flip_pending => {
                head.flip_pending = false;
                true
            }
            _ => false,
        }
    }

    /// Flips completed while waiting for something else (a writeback capture, a
    /// modeset, DPMS) that [`Self::dispatch`] has not handed out yet: their events
    /// were read already, so the node will not become readable for them.
    pub fn flips_waiting(&self) -> bool {
        !self.early.is_empty()
    }

    /// Reads the device's events (call when its node is readable, or when
    /// [`Self::flips_waiting`]): the flips that completed, for outputs that were
    /// waiting on them.
    pub fn dispatch(&mut self) -> Vec<Flipped> {
        let mut done = std::mem::take(&mut self.early);
        match self.device.flip_events() {
            Ok(events) => {
                for event in events {
                    if self.flip_done(event.crtc) {
                        done.push(event);
                    }
                }
            }
            Err(err) => debug!(%err, "no events"),
        }
        done
    }

    /// The head on `crtc` with the device, when it can take a commit now (the session
    /// is here, no flip is in flight, the CRTC is on).
    pub(crate) fn ready_head(&mut self, crtc: u32) -> Result<(&KmsDevice, &mut Head), FrameError> {
        let head = self
            .heads
            .iter_mut()
            .find(|h| h.lit.crtc == crtc)
            .ok_or(FrameError::NoHead(crtc))?;
        if self.paused || head.flip_pending || !head.active {
            return Err(FrameError::Busy);
        }
        Ok((&self.device, head))
    }

    /// Puts a frame on `crtc`'s output: `composited` is the composited part (None where
    /// a client buffer replaces it, `clients.direct`); `clients` are the client buffers
    /// on planes. With `tearing`, the flip is asynchronous where the device can and the
    /// frame changes nothing but the primary plane's buffer.
    pub fn present(
        &mut self,
        crtc: u32,
        composited: Option<Composited<'_>>,
        clients: &ClientPlanes,
        tearing: bool,
    ) -> Result<(), FrameError> {
        let (device, head) = self.ready_head(crtc)?;
        let mut next_back = head.back;
        // The GPU's buffer this frame shows (the one on screen stays where the
        // composited part is not redrawn).
        let mut rendered = head.rendered;
        let mut ready = None;
        // What changed on the primary plane since the frame on screen, where known: only
        // while the composited frame follows a composited frame of the same kind.
        let mut changed: Option<&[Rect]> = None;
        match (composited, &clients.direct) {
            (
                Some(Composited::Pixels {
                    source,
                    stride,
                    damage,
                }),
                None,
            ) => {
                for slot in &mut head.slots {
                    if head.rendered.is_some() {
                        // The GPU drew the frames until now: the dumb buffers missed
                        // them all.
                        slot.stale = Stale::All;
                    }
                    slot.stale.add(damage);
                }
                // A frame that changed nothing composited (a client plane moved on)
                // keeps the buffer on screen, unless that buffer is not the newest
                // picture (the primary showed a client's or the GPU's buffer until now).
                let unchanged = damage.is_empty()
                    && head.direct.is_none()
                    && head.rendered.is_none()
                    && head.front().stale == Stale::Parts(Vec::new());
                rendered = None;
                if !unchanged {
                    let back = head.back;
                    let (w, h) = (
                        u32::from(head.lit.mode.width),
                        u32::from(head.lit.mode.height),
                    );
                    let slot = &mut head.slots[back];
                    let rects = match &slot.stale {
                        Stale::All => vec![(0, 0, w, h)],
                        Stale::Parts(parts) => parts.clone(),
                    };
                    match &mut slot.map {
                        Some(map) => map.write(source, stride, &rects),
                        None => device.write_dumb(&mut slot.buffer, source, stride, &rects)?,
                    }
                    slot.stale = Stale::Parts(Vec::new());
                    next_back = 1 - back;
                    if head.rendered.is_none() && head.direct.is_none() {
                        changed = Some(damage);
                    }
                }
            }
            (
                Some(Composited::Buffer {
                    buffer,
                    ready: fence,
                    damage,
                }),
                None,
            ) => {
                if head.rendered.is_some() && head.direct.is_none() {
                    changed = Some(damage);
                }
                rendered = Some(buffer);
                ready = fence;
            }
            _ => {}
        }
        // The composited buffer on screen after this frame (the back one when it was
        // written).
        let shown = if next_back != head.back {
            head.back
        } else {
            1 - head.back
        };
        let fb = rendered.map_or(head.slots[shown].fb, |r| r.fb);
        let previous = std::mem::replace(&mut head.rendered, rendered);
        let clips = changed.filter(|_| !tearing).and_then(|damage| {
            let mode = (
                u32::from(head.lit.mode.width),
                u32::from(head.lit.mode.height),
            );
            damage_clips(&device.model, head.lit.plane, damage, mode)
        });
        let result = Self::flip(device, head, fb, clients, tearing, ready, clips);
        if result.is_err() {
            head.rendered = previous;
            return result;
        }
        head.back = next_back;
        Ok(())
    }

    /// Commits a frame whose composited part is `fb` (the head's `rendered` already set
    /// to what it holds), which the display shows once `ready` signals.
    fn flip(
        device: &KmsDevice,
        head: &mut Head,
        fb: framebuffer::Handle,
        clients: &ClientPlanes,
        tearing: bool,
        ready: Option<BorrowedFd<'_>>,
        clips: Option<Vec<Rect>>,
    ) -> Result<(), FrameError> {
        let wait_here = |fence: BorrowedFd<'_>| {
            if !matches!(KmsDevice::wait_fence(fence, GPU_WAIT), Ok(true)) {
                warn!("the GPU had not finished the frame in time; showing it anyway");
            }
        };
        let ready = match ready {
            Some(fence) if !fence_on_plane(&device.model, tearing) => {
                wait_here(fence);
                None
            }
            other => other,
        };
        let mut fbs: BTreeMap<u32, framebuffer::Handle> = [(head.lit.plane, fb)].into();
        let mut request = composited_request(head, true);
        if let Some(fence) = ready {
            request.properties.push((
                head.lit.plane,
                "IN_FENCE_FD".to_owned(),
                fence.as_raw_fd() as u64,
            ));
        }
        if let Some(clips) = clips {
            request.damage_clips.push((head.lit.plane, clips));
        }
        crate::client_planes::add_to_request(head, clients, &mut request, &mut fbs);
        crate::cursor::add_to_request(head, &mut request, &mut fbs);
        request.async_flip =
            request.damage_clips.is_empty() && async_flip_allowed(&device.model, &request, tearing);
        let mut result = device.submit(&request, &fbs, None, Submit::Flip);
        if result.is_err() && request.async_flip {
            // Tearing is a wish; a refused asynchronous flip goes at the vblank.
            head.refused_async += 1;
            request.async_flip = false;
            result = device.submit(&request, &fbs, None, Submit::Flip);
        }
        let sent_properties = match result {
            Err(err) if !request.properties.is_empty() || !request.damage_clips.is_empty() => {
                // A property the driver will not take this frame (VRR on a link that
                // lost it, say, or the GPU's fence) must not freeze the output: flip
                // without it, the GPU's drawing waited for here.
                debug!(%err, "frame refused with its properties; flipping without");
                head.refused_properties += 1;
                if let Some(fence) = ready {
                    wait_here(fence);
                }
                let mut plain = composited_request(head, false);
                crate::client_planes::add_to_request(head, clients, &mut plain, &mut fbs);
                crate::cursor::add_to_request(head, &mut plain, &mut fbs);
                device
                    .submit(&plain, &fbs, None, Submit::Flip)
                    .map_err(FrameError::Refused)?;
                false
            }
            Err(err) => return Err(FrameError::Refused(err)),
            Ok(_) => true,
        };
        if sent_properties {
            head.committed = head.properties.clone();
            if !request.damage_clips.is_empty() {
                head.clipped_frames += 1;
            }
        }
        if let Some(cursor) = &mut head.cursor {
            cursor.dirty = false;
        }
        head.overlays = clients.overlays.iter().map(|o| o.plane).collect();
        head.direct = clients.direct;
        head.last_async = request.async_flip;
        head.flip_pending = true;
        Ok(())
    }

    /// Shows the frame on screen once more (low-framerate compensation under VRR: the
    /// panel gets a refresh without a new frame).
    pub fn repeat(&mut self, crtc: u32) -> Result<(), FrameError> {
        let (device, head) = self.ready_head(crtc)?;
        let mut fbs: BTreeMap<u32, framebuffer::Handle> =
            [(head.lit.plane, head.front_fb())].into();
        let mut request = primary_request(head, false);
        // A moved pointer goes out with the repeat rather than in a refresh of its own.
        crate::cursor::add_to_request(head, &mut request, &mut fbs);
        device
            .submit(&request, &fbs, None, Submit::Flip)
            .map_err(FrameError::Refused)?;
        if let Some(cursor) = &mut head.cursor {
            cursor.dirty = false;
        }
        head.flip_pending = true;
        Ok(())
    }

    /// Stops committing (the session went to another VT; we are no longer DRM master).
    pub fn pause(&mut self) {
        self.paused = true;
        for head in &mut self.heads {
            head.flip_pending = false;
        }
    }

    /// Whether the session is away.
    pub fn paused(&self) -> bool {
        self.paused
    }

    /// Takes the device back after a VT switch: reads it again (a display may have
    /// changed meanwhile) and relights everything, since whoever had it may have left
    /// any state behind. Returns what changed among the connectors.
    pub fn resume(&mut self) -> Result<Hotplug, SetupError> {
        self.paused = false;
        self.rescan_inner(true)
    }

    /// After a udev change event: reads the connectors again and relights when a
    /// display came, went or was swapped. Returns the difference.
    pub fn rescan(&mut self) -> Result<Hotplug, SetupError> {
        self.rescan_inner(false)
    }

    fn rescan_inner(&mut self, always: bool) -> Result<Hotplug, SetupError> {
        let before = scan(&self.device.model);
        if let Err(err) = self.device.reread() {
            warn!(%err, "cannot read the device again");
        }
        let after = scan(&self.device.model);
        let changes = hotplug(&before, &after);
        let changed = !changes.connected.is_empty()
            || !changes.disconnected.is_empty()
            || !changes.replaced.is_empty();
        if changed || always {
            if self.paused {
                return Ok(changes);
            }
            let wishes = self.wishes.clone();
            match self.light(wishes) {
                Ok(()) => {}
                Err(SetupError::NothingConnected) => {
                    self.heads.clear();
                }
                Err(err) => return Err(err),
            }
        }
        Ok(changes)
    }

    /// Switches `crtc`'s output on or off (DPMS) without forgetting its mode.
    pub fn set_active(&mut self, crtc: u32, on: bool) -> Result<(), FrameError> {
        if self.paused {
            return Err(FrameError::Busy);
        }
        self.settle();
        let device = &self.device;
        let head = self
            .heads
            .iter_mut()
            .find(|h| h.lit.crtc == crtc)
            .ok_or(FrameError::NoHead(crtc))?;
        if head.active == on {
            return Ok(());
        }
        let mut request = primary_request(head, false);
        request.allow_modeset = true;
        request
            .properties
            .push((crtc, "ACTIVE".to_owned(), u64::from(on)));
        if !on {
            // The planes go with the CRTC.
            request.planes.clear();
        }
        let fbs: BTreeMap<u32, framebuffer::Handle> = [(head.lit.plane, head.front_fb())].into();
        device
            .submit(&request, &fbs, None, Submit::Blocking)
            .map_err(FrameError::Refused)?;
        head.active = on;
        Ok(())
    }
}
