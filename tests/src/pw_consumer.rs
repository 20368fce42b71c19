//! A PipeWire video consumer of our own: what OBS does with a screen-cast node —
//! negotiate BGRx, map each buffer, and read the metadata GStreamer does not show
//! (damage rectangles, the pointer's position, hotspot and image, timestamps).

use std::{
    path::Path,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::Result;
use pipewire as pw;
use pw::spa::{
    self,
    param::{format::FormatProperties, video::VideoFormat, ParamType},
    pod::{serialize::PodSerializer, Object, Pod, Property, PropertyFlags, Value},
    sys,
    utils::{Direction, Id, SpaTypes},
};

/// What arrived.
#[derive(Debug, Default, Clone)]
pub struct Observed {
    /// Buffers received.
    pub frames: u64,
    /// Picture size of the negotiated format.
    pub size: Option<(u32, u32)>,
    /// Every damage rectangle received (x, y, width, height).
    pub damage: Vec<(i32, i32, u32, u32)>,
    /// Pointer positions received while it was over the picture.
    pub pointer: Vec<(i32, i32)>,
    /// The last pointer image's size and hotspot.
    pub pointer_image: Option<((u32, u32), (i32, i32))>,
    /// Presentation timestamps, in order.
    pub pts: Vec<i64>,
    /// The last buffer's picture: BGRx (or xRGB_210LE) rows at `stride` bytes.
    pub last_picture: Vec<u8>,
    /// Its row stride.
    pub stride: usize,
    /// The negotiated format's pixel format, transfer function and primaries (SPA ids).
    pub format: Option<(u32, u32, u32)>,
    /// The DMA-BUF modifier agreed (None: shared memory).
    pub modifier: Option<u64>,
    /// Buffers that arrived as DMA-BUF, read through a mapping of their descriptor.
    pub dmabuf_frames: u64,
}

/// The picture a consumer asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wants {
    /// 8-bit BGRx, as OBS and browsers take it.
    Bgrx,
    /// 10-bit xRGB_210LE tagged PQ with BT.2020 primaries, as an HDR-aware one does.
    Pq10,
    /// BGRx as DMA-BUF in a linear or the driver's implicit layout (which it can map
    /// and read), with shared memory as its fallback: what OBS and browsers offer.
    Dmabuf,
}

/// `DRM_FORMAT_MOD_LINEAR` and `DRM_FORMAT_MOD_INVALID` (the driver's implicit layout).
const MODIFIERS: [u64; 2] = [0, 0x00ff_ffff_ffff_ffff];

impl Observed {
    /// The last picture's (R, G, B) at `x`, `y`.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 3]> {
        let at = y as usize * self.stride + x as usize * 4;
        let p = self.last_picture.get(at..at + 4)?;
        Some([p[2], p[1], p[0]])
    }

    /// The last 10-bit picture's (R, G, B) code values at `x`, `y`.
    pub fn pixel10(&self, x: u32, y: u32) -> Option<[u16; 3]> {
        let at = y as usize * self.stride + x as usize * 4;
        let p = self.last_picture.get(at..at + 4)?;
        let word = u32::from_le_bytes([p[0], p[1], p[2], p[3]]);
        Some([(word >> 20) & 1023, (word >> 10) & 1023, word & 1023].map(|v| v as u16))
    }
}

fn format_pods(wants: Wants) -> Vec<Vec<u8>> {
    if wants != Wants::Dmabuf {
        return vec![format_pod(wants)];
    }
    let Ok((_, Value::Object(mut dmabuf))) =
        spa::pod::deserialize::PodDeserializer::deserialize_any_from(&format_pod(Wants::Bgrx))
    else {
        return Vec::new();
    };
    dmabuf.properties.push(Property {
        key: sys::SPA_FORMAT_VIDEO_modifier,
        flags: PropertyFlags::MANDATORY | PropertyFlags::DONT_FIXATE,
        value: Value::Choice(spa::pod::ChoiceValue::Long(spa::utils::Choice(
            spa::utils::ChoiceFlags::empty(),
            spa::utils::ChoiceEnum::Enum {
                default: MODIFIERS[0] as i64,
                alternatives: MODIFIERS.iter().map(|m| *m as i64).collect(),
            },
        ))),
    });
    let dmabuf = PodSerializer::serialize(std::io::Cursor::new(Vec::new()), &Value::Object(dmabuf))
        .map(|(c, _)| c.into_inner())
        .unwrap_or_default();
    vec![dmabuf, format_pod(Wants::Bgrx)]
}

/// The modifier a Format parameter fixes: Some where it holds one and leaves no
/// choice open.
fn fixed_modifier(param: &Pod) -> Option<u64> {
    let (_, value) =
        spa::pod::deserialize::PodDeserializer::deserialize_any_from(param.as_bytes()).ok()?;
    let Value::Object(object) = value else {
        return None;
    };
    let property = object
        .properties
        .iter()
        .find(|p| p.key == sys::SPA_FORMAT_VIDEO_modifier)?;
    match &property.value {
        Value::Long(m) => Some(*m as u64),
        Value::Choice(spa::pod::ChoiceValue::Long(spa::utils::Choice(
            _,
            spa::utils::ChoiceEnum::None(m),
        ))) => Some(*m as u64),
        _ => None,
    }
}

/// Buffers of DMA-BUF only, once a modifier is agreed.
fn dmabuf_buffers_pod() -> Vec<u8> {
    let dmabuf = 1i32 << sys::SPA_DATA_DmaBuf;
    let object = Object {
        type_: sys::SPA_TYPE_OBJECT_ParamBuffers,
        id: ParamType::Buffers.as_raw(),
        properties: vec![Property {
            key: sys::SPA_PARAM_BUFFERS_dataType,
            flags: PropertyFlags::empty(),
            value: Value::Choice(spa::pod::ChoiceValue::Int(spa::utils::Choice(
                spa::utils::ChoiceFlags::empty(),
                spa::utils::ChoiceEnum::Flags {
                    default: dmabuf,
                    flags: vec![dmabuf],
                },
            ))),
        }],
    };
    PodSerializer::serialize(std::io::Cursor::new(Vec::new()), &Value::Object(object))
        .map(|(c, _)| c.into_inner())
        .unwrap_or_default()
}

fn format_pod(wants: Wants) -> Vec<u8> {
    let object = Object {
        type_: SpaTypes::ObjectParamFormat.as_raw(),
        id: ParamType::EnumFormat.as_raw(),
        properties: vec![
            Property {
                key: FormatProperties::MediaType.as_raw(),
                flags: PropertyFlags::empty(),
                value: Value::Id(Id(spa::param::format::MediaType::Video.as_raw())),
            },
            Property {
                key: FormatProperties::MediaSubtype.as_raw(),
                flags: PropertyFlags::empty(),
                value: Value::Id(Id(spa::param::format::MediaSubtype::Raw.as_raw())),
            },
            Property {
                key: FormatProperties::VideoFormat.as_raw(),
                flags: PropertyFlags::empty(),
                value: Value::Id(Id(match wants {
                    Wants::Bgrx | Wants::Dmabuf => VideoFormat::BGRx.as_raw(),
                    Wants::Pq10 => VideoFormat::xRGB_210LE.as_raw(),
                })),
            },
        ],
    };
    let mut object = object;
    if wants == Wants::Pq10 {
        // SMPTE ST 2084 is 14 on the wire (PipeWire 0.3's headers lack its name).
        for (key, value) in [
            (sys::SPA_FORMAT_VIDEO_transferFunction, 14),
            (
                sys::SPA_FORMAT_VIDEO_colorPrimaries,
                sys::SPA_VIDEO_COLOR_PRIMARIES_BT2020,
            ),
        ] {
            object.properties.push(Property {
                key,
                flags: PropertyFlags::empty(),
                value: Value::Id(Id(value)),
            });
        }
    }
    PodSerializer::serialize(std::io::Cursor::new(Vec::new()), &Value::Object(object))
        .map(|(c, _)| c.into_inner())
        .unwrap_or_default()
}

/// The metadata this consumer asks for, as OBS does: header, damage, pointer.
fn meta_pods() -> Vec<Vec<u8>> {
    let region = std::mem::size_of::<sys::spa_meta_region>() as i32;
    let cursor = (std::mem::size_of::<sys::spa_meta_cursor>()
        + std::mem::size_of::<sys::spa_meta_bitmap>()
        + 256 * 256 * 4) as i32;
    let header = std::mem::size_of::<sys::spa_meta_header>() as i32;
    let range = |default: i32, min: i32, max: i32| {
        Value::Choice(spa::pod::ChoiceValue::Int(spa::utils::Choice(
            spa::utils::ChoiceFlags::empty(),
            spa::utils::ChoiceEnum::Range { default, min, max },
        )))
    };
    [
        (sys::SPA_META_Header, Value::Int(header)),
        (
            sys::SPA_META_VideoDamage,
            range(region * 16, region, region * 16),
        ),
        (sys::SPA_META_Cursor, range(cursor, 1, cursor)),
    ]
    .into_iter()
    .map(|(kind, size)| {
        let object = Object {
            type_: sys::SPA_TYPE_OBJECT_ParamMeta,
            id: ParamType::Meta.as_raw(),
            properties: vec![
                Property {
                    key: sys::SPA_PARAM_META_type,
                    flags: PropertyFlags::empty(),
                    value: Value::Id(Id(kind)),
                },
                Property {
                    key: sys::SPA_PARAM_META_size,
                    flags: PropertyFlags::empty(),
                    value: size,
                },
            ],
        };
        PodSerializer::serialize(std::io::Cursor::new(Vec::new()), &Value::Object(object))
            .map(|(c, _)| c.into_inner())
            .unwrap_or_default()
    })
    .collect()
}

/// Reads the picture of a DMA-BUF data block (linear rows) into `picture` through a
/// mapping of its descriptor, bracketed by the kernel's CPU-access sync; its stride.
///
/// # Safety
/// `data` belongs to a dequeued buffer; its chunk pointer is valid.
unsafe fn read_dmabuf(data: &sys::spa_data, picture: &mut Vec<u8>) -> Option<usize> {
    // SAFETY: per the contract.
    let chunk = unsafe { &*data.chunk };
    let fd = i32::try_from(data.fd).ok().filter(|fd| *fd >= 0)?;
    // SAFETY: the descriptor belongs to the buffer, open while it is dequeued.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    let start = chunk.offset as usize;
    let len = start + chunk.size as usize;
    // SAFETY: a fresh read-only shared mapping of `len` bytes, unmapped below.
    let map = unsafe {
        rustix::mm::mmap(
            std::ptr::null_mut(),
            len,
            rustix::mm::ProtFlags::READ,
            rustix::mm::MapFlags::SHARED,
            fd,
            0,
        )
    }
    .ok()?;
    sync_dmabuf(fd, DMA_BUF_SYNC_START);
    // SAFETY: the mapping is `len` bytes long.
    let bytes = unsafe { std::slice::from_raw_parts(map.cast::<u8>(), len) };
    picture.clear();
    picture.extend_from_slice(&bytes[start..]);
    sync_dmabuf(fd, DMA_BUF_SYNC_END);
    // SAFETY: mapped above with this length, and no longer used.
    let _ = unsafe { rustix::mm::munmap(map, len) };
    Some(chunk.stride.max(0) as usize)
}

const DMA_BUF_SYNC_READ: u64 = 1;
const DMA_BUF_SYNC_START: u64 = 0;
const DMA_BUF_SYNC_END: u64 = 4;

/// `DMA_BUF_IOCTL_SYNC` for reading: where the CPU's view of the buffer begins or ends.
fn sync_dmabuf(fd: std::os::fd::BorrowedFd<'_>, when: u64) {
    // _IOW('b', 0, struct dma_buf_sync { __u64 flags; })
    type Sync = rustix::ioctl::Setter<{ rustix::ioctl::opcode::write::<u64>(b'b', 0) }, u64>;
    // SAFETY: DMA_BUF_IOCTL_SYNC takes one u64 of flags, which Setter passes by pointer.
    let _ = unsafe { rustix::ioctl::ioctl(fd, Sync::new(when | DMA_BUF_SYNC_READ)) };
}

/// Reads the metadata of one dequeued buffer into `seen`.
///
/// # Safety
/// `buffer` must be a buffer dequeued from a stream and not yet queued back.
unsafe fn observe(buffer: *mut sys::spa_buffer, seen: &mut Observed) {
    // SAFETY: as the caller guarantees; every meta is read within its own size, the
    // picture within its chunk and the data's mapped size.
    unsafe {
        if (*buffer).n_datas > 0 {
            let data = &*(*buffer).datas;
            if data.type_ == sys::SPA_DATA_DmaBuf && !data.chunk.is_null() {
                if let Some(stride) = read_dmabuf(data, &mut seen.last_picture) {
                    seen.stride = stride;
                    seen.dmabuf_frames += 1;
                }
            } else if !data.data.is_null() && !data.chunk.is_null() {
                let chunk = &*data.chunk;
                let end = (chunk.offset as usize + chunk.size as usize).min(data.maxsize as usize);
                let start = (chunk.offset as usize).min(end);
                let bytes = std::slice::from_raw_parts(data.data.cast::<u8>(), end);
                seen.last_picture.clear();
                seen.last_picture.extend_from_slice(&bytes[start..end]);
                seen.stride = chunk.stride.max(0) as usize;
            }
        }
        for i in 0..(*buffer).n_metas as usize {
            let meta = &*(*buffer).metas.add(i);
            if meta.data.is_null() {
                continue;
            }
            match meta.type_ {
                sys::SPA_META_Header => {
                    let h = meta.data.cast::<sys::spa_meta_header>().read_unaligned();
                    seen.pts.push(h.pts);
                }
                sys::SPA_META_VideoDamage => {
                    let n = meta.size as usize / std::mem::size_of::<sys::spa_meta_region>();
                    let regions = meta.data.cast::<sys::spa_meta_region>();
                    for k in 0..n {
                        let r = regions.add(k).read_unaligned().region;
                        if r.size.width == 0 || r.size.height == 0 {
                            break;
                        }
                        seen.damage
                            .push((r.position.x, r.position.y, r.size.width, r.size.height));
                    }
                }
                sys::SPA_META_Cursor => {
                    let c = meta.data.cast::<sys::spa_meta_cursor>().read_unaligned();
                    if c.id == 0 {
                        continue;
                    }
                    seen.pointer.push((c.position.x, c.position.y));
                    let head = std::mem::size_of::<sys::spa_meta_bitmap>();
                    if c.bitmap_offset as usize + head <= meta.size as usize && c.bitmap_offset > 0
                    {
                        let bitmap = meta
                            .data
                            .cast::<u8>()
                            .add(c.bitmap_offset as usize)
                            .cast::<sys::spa_meta_bitmap>()
                            .read_unaligned();
                        seen.pointer_image = Some((
                            (bitmap.size.width, bitmap.size.height),
                            (c.hotspot.x, c.hotspot.y),
                        ));
                    }
                }
                _ => {}
            }
        }
    }
}

/// Connects to node `node` of the PipeWire at `socket` and records what arrives for
/// `duration`; `during` runs on the calling thread meanwhile (the consumer has its own).
pub fn consume(
    socket: &Path,
    node: u32,
    duration: Duration,
    during: impl FnOnce() -> Result<()>,
) -> Result<Observed> {
    consume_holding(socket, node, duration, Duration::ZERO, during)
}

/// As [`consume`], asking for `wants`.
pub fn consume_as(
    socket: &Path,
    node: u32,
    duration: Duration,
    wants: Wants,
    during: impl FnOnce() -> Result<()>,
) -> Result<Observed> {
    consume_with(socket, node, duration, Duration::ZERO, wants, during)
}

/// As [`consume`], but each buffer goes back to the producer only `hold` after it came,
/// as a consumer that encodes or draws each frame before it lets go of it does; and it
/// records for a second after `during` returned at least (on a loaded machine the
/// last change may come late).
pub fn consume_holding(
    socket: &Path,
    node: u32,
    duration: Duration,
    hold: Duration,
    during: impl FnOnce() -> Result<()>,
) -> Result<Observed> {
    consume_with(socket, node, duration, hold, Wants::Bgrx, during)
}

fn consume_with(
    socket: &Path,
    node: u32,
    duration: Duration,
    hold: Duration,
    wants: Wants,
    during: impl FnOnce() -> Result<()>,
) -> Result<Observed> {
    let seen = Arc::new(Mutex::new(Observed::default()));
    let recorded = seen.clone();
    // When `during` returned; the worker runs on past it by `settle`.
    let finished: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let finished_at = finished.clone();
    let settle = if hold.is_zero() {
        Duration::ZERO
    } else {
        Duration::from_secs(1)
    };
    let socket = socket.to_path_buf();
    let worker = std::thread::spawn(move || -> Result<()> {
        pw::init();
        let main_loop = pw::main_loop::MainLoop::new(None)?;
        let context = pw::context::Context::new(&main_loop)?;
        let core = context.connect(Some(pw::properties::properties! {
            *pw::keys::REMOTE_NAME => socket.to_string_lossy().to_string(),
        }))?;
        let stream = pw::stream::Stream::new(
            &core,
            "ghost-test-consumer",
            pw::properties::properties! {
                *pw::keys::MEDIA_TYPE => "Video",
                *pw::keys::MEDIA_CATEGORY => "Capture",
                *pw::keys::MEDIA_ROLE => "Screen",
                "target.object" => node.to_string(),
            },
        )?;
        let on_format = recorded.clone();
        let on_buffer = recorded.clone();
        // Buffers read but not handed back yet, with when they came.
        let held = std::rc::Rc::new(std::cell::RefCell::new(std::collections::VecDeque::<(
            *mut pw::sys::pw_buffer,
            Instant,
        )>::new()));
        let holding = held.clone();
        let _listener = stream
            .add_local_listener::<()>()
            .param_changed(move |stream, _, id, param| {
                let Some(param) = param else { return };
                if id != ParamType::Format.as_raw() {
                    return;
                }
                let mut info = spa::param::video::VideoInfoRaw::new();
                if info.parse(param).is_ok() {
                    if let Ok(mut s) = on_format.lock() {
                        s.size = Some((info.size().width, info.size().height));
                        s.format = Some((
                            info.format().as_raw(),
                            info.transfer_function(),
                            info.color_primaries(),
                        ));
                    }
                }
                let modifier = fixed_modifier(param);
                if let Ok(mut s) = on_format.lock() {
                    s.modifier = modifier;
                }
                let mut params = meta_pods();
                if modifier.is_some() {
                    params.push(dmabuf_buffers_pod());
                }
                let mut pods: Vec<&Pod> =
                    params.iter().filter_map(|m| Pod::from_bytes(m)).collect();
                let _ = stream.update_params(&mut pods);
            })
            .process(move |stream, _| {
                // Every buffer that came since the last call, oldest first.
                loop {
                    // SAFETY: dequeue gives a buffer that is ours until queued back, or
                    // null.
                    let raw = unsafe { stream.dequeue_raw_buffer() };
                    if raw.is_null() {
                        return;
                    }
                    if let Ok(mut s) = on_buffer.lock() {
                        s.frames += 1;
                        // SAFETY: `raw` is dequeued and not queued back yet.
                        unsafe { observe((*raw).buffer, &mut s) };
                    }
                    if hold.is_zero() {
                        // SAFETY: dequeued just above, and handed back once.
                        unsafe { stream.queue_raw_buffer(raw) };
                    } else {
                        holding.borrow_mut().push_back((raw, Instant::now()));
                    }
                }
            })
            .register()?;
        let formats = format_pods(wants);
        let mut params: Vec<&Pod> = formats.iter().filter_map(|f| Pod::from_bytes(f)).collect();
        stream.connect(
            Direction::Input,
            None,
            pw::stream::StreamFlags::AUTOCONNECT | pw::stream::StreamFlags::MAP_BUFFERS,
            &mut params,
        )?;
        let end = Instant::now() + duration;
        let settled = || {
            finished_at
                .lock()
                .ok()
                .and_then(|f| *f)
                .is_some_and(|f| f.elapsed() >= settle)
        };
        while Instant::now() < end || !settled() {
            main_loop.loop_().iterate(Duration::from_millis(5));
            let mut held = held.borrow_mut();
            while held.front().is_some_and(|(_, at)| at.elapsed() >= hold) {
                if let Some((raw, _)) = held.pop_front() {
                    // SAFETY: dequeued in `process` above and not queued back since.
                    unsafe { stream.queue_raw_buffer(raw) };
                }
            }
        }
        let _ = stream.disconnect();
        Ok(())
    });
    let result = during();
    if let Ok(mut f) = finished.lock() {
        *f = Some(Instant::now());
    }
    result?;
    worker
        .join()
        .map_err(|_| anyhow::anyhow!("the consumer thread panicked"))??;
    let observed = seen
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    Ok(observed)
}
