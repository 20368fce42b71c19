//! One cast: a PipeWire video stream that drives itself (the compositor decides when a
//! frame exists), its negotiated format, and the copy of each frame into a buffer.
//!
//! Buffers go round (the consumer holds some while we fill others), so each one holds
//! an older picture. Each buffer's missing damage (that of every frame sent since it
//! was last filled) is kept, and a buffer gets only those pixels, not the whole frame:
//! a video playing in a corner of a 4K screen costs its own size per frame.

use std::{cell::RefCell, rc::Rc, time::Duration};

use pipewire as pw;
use pw::{
    spa::{
        param::{
            format::{MediaSubtype, MediaType},
            format_utils,
            video::{VideoFormat, VideoInfoRaw},
            ParamType,
        },
        pod::Pod,
        utils::Direction,
    },
    stream::{StreamFlags, StreamState},
};

mod cycles;
mod dmabuf;

use dmabuf::{add_gpu_buffer, fixate};

use super::{
    gpu::{self, ModifierChoice, SharedGpuBuffers},
    memory, meta, params, CastError, CastSpec, CursorMeta,
};
use crate::frame::{FrameView, PixelFormat, Region};
use crate::hdr::HdrFrame;

/// Where a cast stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CastState {
    /// Waiting for PipeWire or a consumer.
    Connecting,
    /// Connected; no consumer is pulling frames.
    Paused,
    /// A consumer takes frames.
    Streaming,
    /// PipeWire reported an error.
    Failed(String),
}

/// Draws a cast's picture into a buffer: (its bytes, row stride, pixel layout, the
/// regions it lacks or None for all of it); false where it could not.
pub type Draw<'a> = dyn FnMut(&mut [u8], usize, PixelFormat, Option<&[Region]>) -> bool + 'a;

/// Draws a cast's picture into its GPU buffer `id` (see [`gpu::GpuBuffers`]): the
/// regions it lacks, or None for all of it; false where it could not.
pub type GpuDraw<'a> = dyn FnMut(u64, Option<&[Region]>) -> bool + 'a;

/// What happened to a frame offered to a cast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Sent.
    Sent,
    /// Not streaming (no consumer, or the format is not agreed yet).
    Idle,
    /// Every buffer is with the consumer: this frame is dropped.
    NoBuffer,
    /// The frame's size differs from the negotiated one: resize first.
    WrongSize,
}

#[derive(Debug, Clone, Copy)]
struct Negotiated {
    layout: PixelFormat,
    /// 10-bit PQ (xRGB_210LE or r210), the HDR offer; `layout` means nothing then.
    pq10: bool,
    /// The 10-bit words are big-endian (r210).
    big_endian: bool,
    /// DMA-BUF in this DRM format and modifier (None: shared memory).
    dmabuf: Option<(u32, u64)>,
    width: u32,
    height: u32,
}

/// What fills a buffer: an 8-bit picture's drawing, or an HDR signal packed to 10 bits.
enum Fill<'a, 'b> {
    Sdr(&'a mut Draw<'b>),
    Pq(&'a HdrFrame),
    Gpu(&'a mut GpuDraw<'b>),
}

/// What the stream offers: the picture's size and rate, and what it may be in.
#[derive(Debug, Clone, Copy)]
struct Offer {
    width: u32,
    height: u32,
    max_fps: u32,
    hdr: bool,
}

struct Shared {
    node_id: Option<u32>,
    state: CastState,
    format: Option<Negotiated>,
    /// Bumped at each format agreement and each buffer added: the buffers are new then.
    generation: u64,
    offer: Offer,
    /// The layout and modifier chosen for a consumer that left the modifier open.
    fixated: Option<(VideoFormat, u64)>,
    /// Planes of a buffer in the fixated modifier.
    planes: u32,
    /// An allocation on the GPU failed: shared memory only from then on.
    gpu_failed: bool,
    /// Each GPU buffer's planes: offset, stride, size.
    layouts: std::collections::HashMap<u64, Vec<dmabuf::PlaneLayout>>,
}

impl Shared {
    /// The formats to offer now: DMA-BUF first where the compositor draws on a GPU
    /// (never for an HDR source, whose 10-bit picture is made on the CPU), then the rest.
    fn formats(&self, gpu: Option<&SharedGpuBuffers>) -> Vec<Vec<u8>> {
        let o = self.offer;
        let layouts = match gpu {
            Some(gpu) if !self.gpu_failed && !o.hdr => match gpu.try_borrow() {
                Ok(gpu) => params::FORMATS
                    .iter()
                    .filter_map(|f| Some((*f, gpu.modifiers(gpu::drm_fourcc(*f)?))))
                    .collect(),
                Err(_) => Vec::new(),
            },
            _ => Vec::new(),
        };
        let fixated = self.fixated.filter(|_| !self.gpu_failed);
        params::enum_format_with(o.width, o.height, o.max_fps, o.hdr, &layouts, fixated)
    }
}

/// What one buffer lacks of the current picture.
struct Stale {
    /// The buffer's memory, which identifies it.
    memory: usize,
    /// Damage of every frame sent since this buffer was last filled.
    missing: Vec<Region>,
}

/// A running cast.
pub struct Cast {
    stream: pw::stream::Stream,
    _listener: pw::stream::StreamListener<()>,
    shared: Rc<RefCell<Shared>>,
    max_fps: u32,
    last_frame: Option<Duration>,
    frames: u64,
    /// The pointer image the consumer has, to send it again only when it changes.
    sent_cursor: Option<(u32, u32, Vec<u8>)>,
    /// Buffers filled so far under the current format (unknown ones get everything).
    stale: Vec<Stale>,
    /// The format agreement `stale` belongs to.
    stale_generation: u64,
    /// The compositor's GPU buffers, where it draws casts on a GPU.
    gpu: Option<SharedGpuBuffers>,
}

/// The pixel layout of a format offered, and whether it is the 10-bit PQ one.
fn layout(format: VideoFormat) -> Option<(PixelFormat, bool)> {
    Some(match format {
        VideoFormat::BGRx => (PixelFormat::Xrgb8888, false),
        VideoFormat::BGRA => (PixelFormat::Argb8888, false),
        VideoFormat::RGBx => (PixelFormat::Xbgr8888, false),
        VideoFormat::RGBA => (PixelFormat::Abgr8888, false),
        VideoFormat::xRGB_210LE | VideoFormat::r210 => (PixelFormat::Xrgb8888, true),
        _ => return None,
    })
}

impl Cast {
    /// Creates the stream and offers its formats; the node id follows shortly.
    pub fn new(
        core: &pw::core::Core,
        spec: &CastSpec,
        gpu: Option<SharedGpuBuffers>,
    ) -> Result<Self, CastError> {
        let properties = pw::properties::properties! {
            *pw::keys::MEDIA_CLASS => "Video/Source",
            *pw::keys::MEDIA_TYPE => "Video",
            *pw::keys::MEDIA_CATEGORY => "Capture",
            *pw::keys::MEDIA_ROLE => "Screen",
            *pw::keys::NODE_NAME => "ghostcomp-cast",
            *pw::keys::NODE_DESCRIPTION => spec.name.as_str(),
        };
        let stream = pw::stream::Stream::new(core, &spec.name, properties)
            .map_err(|e| CastError::Stream(e.to_string()))?;
        let shared = Rc::new(RefCell::new(Shared {
            node_id: None,
            state: CastState::Connecting,
            format: None,
            generation: 0,
            offer: Offer {
                width: spec.width,
                height: spec.height,
                max_fps: spec.max_fps,
                hdr: spec.hdr,
            },
            fixated: None,
            planes: 1,
            gpu_failed: false,
            layouts: std::collections::HashMap::new(),
        }));
        let on_state = shared.clone();
        let on_param = shared.clone();
        let on_add = shared.clone();
        let on_remove = shared.clone();
        let (gpu_param, gpu_add, gpu_remove) = (gpu.clone(), gpu.clone(), gpu.clone());
        let listener = stream
            .add_local_listener::<()>()
            .state_changed(move |stream, _, _old, new| {
                let mut s = on_state.borrow_mut();
                s.state = match new {
                    StreamState::Error(message) => CastState::Failed(message),
                    StreamState::Streaming => CastState::Streaming,
                    StreamState::Paused => CastState::Paused,
                    StreamState::Unconnected | StreamState::Connecting => CastState::Connecting,
                };
                let node = stream.node_id();
                if node != u32::MAX {
                    s.node_id = Some(node);
                }
                tracing::debug!(state = ?s.state, node = ?s.node_id, "cast stream state");
            })
            .add_buffer(move |_, _, buffer| {
                let Some(format) = on_add.borrow().format else {
                    return;
                };
                match (format.dmabuf, &gpu_add) {
                    (Some((fourcc, modifier)), Some(gpu)) => {
                        let layouts = add_gpu_buffer(gpu, buffer, &format, fourcc, modifier);
                        match layouts {
                            Some((id, planes)) => {
                                on_add.borrow_mut().layouts.insert(id, planes);
                            }
                            // Shared memory from the next agreement on.
                            None => on_add.borrow_mut().gpu_failed = true,
                        }
                    }
                    _ => {
                        let size = format.width as usize * 4 * format.height as usize;
                        // SAFETY: PipeWire hands add_buffer a buffer it has just made and
                        // nothing else uses yet.
                        if let Err(err) = unsafe { memory::allocate(buffer, size) } {
                            tracing::warn!(%err, size, "cannot give a cast buffer its memory");
                        }
                    }
                }
                // PipeWire makes buffers anew when it asks, not only after a format
                // agreement, and new memory may sit where a removed buffer's was: no
                // buffer's missing damage is known any more.
                on_add.borrow_mut().generation += 1;
            })
            .remove_buffer(move |_, _, buffer| {
                // SAFETY: PipeWire hands remove_buffer a buffer it is done with.
                match unsafe { gpu::detach(buffer) } {
                    Some(id) => {
                        on_remove.borrow_mut().layouts.remove(&id);
                        if let Some(Ok(mut gpu)) = gpu_remove.as_ref().map(|g| g.try_borrow_mut())
                        {
                            gpu.release(id);
                        }
                    }
                    // SAFETY: as above.
                    None => unsafe { memory::release(buffer) },
                }
            })
            .param_changed(move |stream, _, id, param| {
                let Some(param) = param else { return };
                if id != ParamType::Format.as_raw() {
                    return;
                }
                let Ok((MediaType::Video, MediaSubtype::Raw)) = format_utils::parse_format(param)
                else {
                    return;
                };
                let mut info = VideoInfoRaw::new();
                if info.parse(param).is_err() {
                    return;
                }
                let Some((layout, pq10)) = layout(info.format()) else {
                    tracing::warn!(format = ?info.format(), "a consumer chose a format not offered");
                    return;
                };
                let size = info.size();
                let mut shared = on_param.borrow_mut();
                let dmabuf = match (gpu::modifier_choice(param), &gpu_param) {
                    (ModifierChoice::None, _) | (_, None) => None,
                    (ModifierChoice::Open(listed), Some(gpu)) => {
                        // Ours to choose: allocate with what both take, offer the
                        // modifier the allocator chose; the consumer fixes it.
                        shared.format = None;
                        fixate(&mut shared, gpu, info.format(), size, &listed);
                        let formats = shared.formats(gpu_param.as_ref());
                        drop(shared);
                        let mut pods: Vec<&Pod> =
                            formats.iter().filter_map(|f| params::as_pod(f)).collect();
                        if let Err(err) = stream.update_params(&mut pods) {
                            tracing::warn!(%err, "cannot offer the cast's chosen modifier");
                        }
                        return;
                    }
                    (ModifierChoice::Fixed(modifier), Some(_)) => {
                        gpu::drm_fourcc(info.format()).map(|fourcc| (fourcc, modifier))
                    }
                };
                shared.format = Some(Negotiated {
                    layout,
                    pq10,
                    big_endian: info.format() == VideoFormat::r210,
                    dmabuf,
                    width: size.width,
                    height: size.height,
                });
                shared.generation += 1;
                let planes = shared.planes;
                drop(shared);
                tracing::debug!(?layout, pq10, ?dmabuf, size.width, size.height, "cast format agreed");
                let buffers = match dmabuf {
                    Some(_) => gpu::buffers(planes),
                    None => params::buffers(size.width * 4, size.height),
                };
                let metas = params::metas();
                let mut pods: Vec<&Pod> = Vec::new();
                pods.extend(params::as_pod(&buffers));
                pods.extend(metas.iter().filter_map(|m| params::as_pod(m)));
                if let Err(err) = stream.update_params(&mut pods) {
                    tracing::warn!(%err, "cannot set the cast's buffer parameters");
                }
            })
            .register()
            .map_err(|e| CastError::Stream(e.to_string()))?;
        let formats = shared.borrow().formats(gpu.as_ref());
        let mut offer: Vec<&Pod> = formats.iter().filter_map(|f| params::as_pod(f)).collect();
        stream
            .connect(
                Direction::Output,
                None,
                // Buffers of our own (`memory`): with PipeWire's, Chromium got none.
                StreamFlags::DRIVER | StreamFlags::ALLOC_BUFFERS,
                &mut offer,
            )
            .map_err(|e| CastError::Stream(e.to_string()))?;
        Ok(Self {
            stream,
            _listener: listener,
            shared,
            max_fps: spec.max_fps.max(1),
            last_frame: None,
            frames: 0,
            sent_cursor: None,
            stale: Vec::new(),
            stale_generation: 0,
            gpu,
        })
    }

    /// The consumer took the 10-bit PQ offer: frames come from `push_hdr`.
    pub fn is_pq10(&self) -> bool {
        self.shared.borrow().format.is_some_and(|f| f.pq10)
    }

    pub fn node_id(&self) -> Option<u32> {
        self.shared.borrow().node_id
    }

    pub fn state(&self) -> CastState {
        self.shared.borrow().state.clone()
    }

    pub fn frames(&self) -> u64 {
        self.frames
    }

    pub fn wants_frame(&self, now: Duration) -> bool {
        if self.shared.borrow().state != CastState::Streaming {
            return false;
        }
        // A little slack, so a 60 Hz output feeding a 60 fps cast does not lose every
        // other frame to timer jitter.
        let interval = Duration::from_secs(1) / self.max_fps;
        let slack = interval / 8;
        self.last_frame
            .is_none_or(|last| now.saturating_sub(last) + slack >= interval)
    }

    pub fn resize(&mut self, width: u32, height: u32) -> Result<(), CastError> {
        let formats = {
            let mut shared = self.shared.borrow_mut();
            shared.format = None;
            shared.fixated = None;
            shared.offer.width = width;
            shared.offer.height = height;
            shared.formats(self.gpu.as_ref())
        };
        let mut offer: Vec<&Pod> = formats.iter().filter_map(|f| params::as_pod(f)).collect();
        self.stream
            .update_params(&mut offer)
            .map_err(|e| CastError::Stream(e.to_string()))
    }

    pub fn push(
        &mut self,
        frame: FrameView<'_>,
        damage: &[Region],
        cursor: Option<&CursorMeta>,
        now: Duration,
    ) -> Pushed {
        let size = (frame.width(), frame.height());
        self.push_drawn(
            size,
            damage,
            cursor,
            now,
            &mut |bytes, stride, layout, missing| match missing {
                Some(regions) => frame.copy_regions_into(bytes, stride, layout, regions),
                None => frame.copy_into(bytes, stride, layout),
            },
        )
    }

    pub fn push_drawn(
        &mut self,
        size: (u32, u32),
        damage: &[Region],
        cursor: Option<&CursorMeta>,
        now: Duration,
        draw: &mut Draw<'_>,
    ) -> Pushed {
        self.send(size, damage, cursor, now, Fill::Sdr(draw))
    }

    /// A frame drawn on the GPU into the stream's DMA-BUF, for a consumer that took one.
    pub fn push_gpu(
        &mut self,
        size: (u32, u32),
        damage: &[Region],
        cursor: Option<&CursorMeta>,
        now: Duration,
        draw: &mut GpuDraw<'_>,
    ) -> Pushed {
        self.send(size, damage, cursor, now, Fill::Gpu(draw))
    }

    /// The consumer took DMA-BUF: frames come from `push_gpu`.
    pub fn is_dmabuf(&self) -> bool {
        self.shared
            .borrow()
            .format
            .is_some_and(|f| f.dmabuf.is_some())
    }

    /// An HDR output's signal, to a consumer that took the 10-bit PQ offer.
    pub fn push_hdr(
        &mut self,
        frame: &HdrFrame,
        cursor: Option<&CursorMeta>,
        now: Duration,
    ) -> Pushed {
        let size = (frame.width(), frame.height());
        let whole = [Region {
            x: 0,
            y: 0,
            width: size.0 as i32,
            height: size.1 as i32,
        }];
        self.send(size, &whole, cursor, now, Fill::Pq(frame))
    }

    fn send(
        &mut self,
        size: (u32, u32),
        damage: &[Region],
        cursor: Option<&CursorMeta>,
        now: Duration,
        fill: Fill<'_, '_>,
    ) -> Pushed {
        let Some(format) = self.shared.borrow().format else {
            return Pushed::Idle;
        };
        // Each kind of picture only into the format made for it.
        let fits = match fill {
            Fill::Sdr(_) => !format.pq10 && format.dmabuf.is_none(),
            Fill::Pq(_) => format.pq10,
            Fill::Gpu(_) => format.dmabuf.is_some(),
        };
        if !fits {
            return Pushed::Idle;
        }
        let generation = self.shared.borrow().generation;
        if generation != self.stale_generation {
            self.stale.clear();
            self.stale_generation = generation;
        }
        if self.shared.borrow().state != CastState::Streaming {
            return Pushed::Idle;
        }
        if size != (format.width, format.height) {
            return Pushed::WrongSize;
        }
        // SAFETY: dequeue hands us a buffer the stream owns until we queue it back
        // below, or null when none is free.
        let raw = unsafe { self.stream.dequeue_raw_buffer() };
        if raw.is_null() {
            // A consumer hands back one buffer per graph cycle, and only buffers it has
            // finished with by then; one that was late holds one more buffer from then
            // on, and once it holds them all no frame would start a cycle again. An
            // empty cycle lets it hand one back.
            self.trigger();
            return Pushed::NoBuffer;
        }
        let new_image = cursor.is_some_and(|c| {
            self.sent_cursor
                .as_ref()
                .is_none_or(|(w, h, px)| (*w, *h, px) != (c.width, c.height, &c.rgba))
        });
        // SAFETY: `raw` is a dequeued pw_buffer: its spa_buffer, datas and metas are valid
        // and mapped (metas by PipeWire, the data by `memory::allocate`) until it is queued
        // again, and nobody else touches them.
        unsafe {
            let buffer = (*raw).buffer;
            if let Fill::Gpu(draw) = fill {
                self.fill_gpu(raw, draw, damage);
            } else if !buffer.is_null() && (*buffer).n_datas > 0 {
                let data = &mut *(*buffer).datas;
                let stride = format.width as usize * 4;
                let size = stride * format.height as usize;
                if !data.data.is_null() && data.maxsize as usize >= size && !data.chunk.is_null() {
                    let bytes = std::slice::from_raw_parts_mut(data.data.cast::<u8>(), size);
                    match fill {
                        Fill::Sdr(draw) => self.fill(
                            data.data as usize,
                            draw,
                            bytes,
                            stride,
                            format.layout,
                            damage,
                        ),
                        Fill::Pq(frame) => {
                            if format.big_endian {
                                frame.pack_r210(bytes, stride);
                            } else {
                                frame.pack_xrgb2101010(bytes, stride);
                            }
                        }
                        Fill::Gpu(_) => {}
                    }
                    (*data.chunk).offset = 0;
                    (*data.chunk).size = size as u32;
                    (*data.chunk).stride = stride as i32;
                    (*data.chunk).flags = 0;
                }
            }
            if !buffer.is_null() {
                meta::write_header(buffer, now.as_nanos() as i64, self.frames);
                meta::write_damage(buffer, damage);
                if let Some(c) = cursor {
                    meta::write_cursor(buffer, c, new_image);
                }
            }
            self.stream.queue_raw_buffer(raw);
        }
        self.trigger();
        if let (true, Some(c)) = (new_image, cursor) {
            self.sent_cursor = Some((c.width, c.height, c.rgba.clone()));
        }
        self.frames += 1;
        self.last_frame = Some(now);
        Pushed::Sent
    }
}

impl Drop for Cast {
    fn drop(&mut self) {
        if let Err(err) = self.stream.disconnect() {
            tracing::debug!(%err, "disconnecting a cast");
        }
    }
}
