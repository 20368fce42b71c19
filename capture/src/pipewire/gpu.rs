//! Casts whose buffers live on the GPU and go to the consumer as DMA-BUF: the
//! compositor renders each frame straight into them, with no read-back and no copy
//! through the CPU, and the consumer (OBS, a browser) imports them into its own GPU
//! context.
//!
//! The agreement follows PipeWire's DMA-BUF negotiation: the cast offers each layout
//! with the modifiers the compositor's renderer can draw into (before the shared-memory
//! offers, which stay as the fallback); a consumer that imports DMA-BUF answers with
//! those it can import, left open (`DONT_FIXATE`); the cast then allocates a buffer with
//! the modifiers both sides take, lets the allocator choose one, and offers that one
//! modifier alone, which the consumer fixes. A consumer that lists no modifiers gets
//! shared memory, as does every consumer where the allocation fails.

use std::os::fd::{IntoRawFd, OwnedFd};

use pipewire::spa::{
    param::{video::VideoFormat, ParamType},
    pod::{deserialize::PodDeserializer, ChoiceValue, Object, Pod, Property, PropertyFlags, Value},
    sys,
    utils::{Choice, ChoiceEnum, ChoiceFlags, Id, SpaTypes},
};

/// One plane of a buffer on the GPU.
#[derive(Debug)]
pub struct GpuPlane {
    /// Its DMA-BUF; the consumer gets this descriptor.
    pub fd: OwnedFd,
    /// Where the plane starts in it.
    pub offset: u32,
    /// Bytes from one row to the next.
    pub stride: u32,
}

/// A buffer allocated for a cast on the GPU.
#[derive(Debug)]
pub struct GpuBuffer {
    /// Names the buffer in [`GpuBuffers::release`] and in the draw callback.
    pub id: u64,
    /// The modifier the allocator chose.
    pub modifier: u64,
    /// Its planes (one for the RGB layouts offered, but modifiers may add some).
    pub planes: Vec<GpuPlane>,
}

/// What a cast needs from the compositor's renderer to stream DMA-BUF: which modifiers
/// it draws into, and buffers it can draw into later (by id).
pub trait GpuBuffers {
    /// The modifiers the renderer draws into for `fourcc` (a DRM format code); empty
    /// where it draws none of that layout.
    fn modifiers(&self, fourcc: u32) -> Vec<u64>;
    /// A buffer of `width`×`height` in `fourcc` with one of `modifiers`.
    fn allocate(
        &mut self,
        width: u32,
        height: u32,
        fourcc: u32,
        modifiers: &[u64],
    ) -> Result<GpuBuffer, String>;
    /// Frees buffer `id`: its consumer let it go.
    fn release(&mut self, id: u64);
}

/// The compositor's side of a cast's GPU buffers, shared with the cast's callbacks.
pub type SharedGpuBuffers = std::rc::Rc<std::cell::RefCell<dyn GpuBuffers>>;

/// `DRM_FORMAT_MOD_INVALID`: "whatever the driver picks", which a consumer lists when
/// it imports buffers of an implicit layout.
pub const MOD_INVALID: u64 = 0x00ff_ffff_ffff_ffff;

const fn fourcc(code: &[u8; 4]) -> u32 {
    code[0] as u32 | (code[1] as u32) << 8 | (code[2] as u32) << 16 | (code[3] as u32) << 24
}

/// The DRM format code of an offered 8-bit layout (SPA names bytes in memory order,
/// DRM names a little-endian word: SPA's BGRx is DRM's XRGB8888).
pub fn drm_fourcc(format: VideoFormat) -> Option<u32> {
    Some(match format {
        VideoFormat::BGRx => fourcc(b"XR24"),
        VideoFormat::BGRA => fourcc(b"AR24"),
        VideoFormat::RGBx => fourcc(b"XB24"),
        VideoFormat::RGBA => fourcc(b"AB24"),
        _ => return None,
    })
}

/// The format objects offering `offers` (layout, modifiers) as DMA-BUF, with the other
/// properties of `base` (size, rates): modifiers left for the consumer to narrow down.
pub fn dmabuf_offers(base: &[Property], offers: &[(VideoFormat, Vec<u64>)]) -> Vec<Vec<u8>> {
    offers
        .iter()
        .filter(|(_, modifiers)| !modifiers.is_empty())
        .map(|(format, modifiers)| {
            let choice = Value::Choice(ChoiceValue::Long(Choice(
                ChoiceFlags::empty(),
                ChoiceEnum::Enum {
                    default: modifiers[0] as i64,
                    alternatives: modifiers.iter().map(|m| *m as i64).collect(),
                },
            )));
            format_with_modifier(
                base,
                *format,
                choice,
                PropertyFlags::MANDATORY | PropertyFlags::DONT_FIXATE,
            )
        })
        .collect()
}

/// The format object offering `format` as DMA-BUF with `modifier` alone: the answer to
/// a consumer that left the modifier open.
pub fn fixated_offer(base: &[Property], format: VideoFormat, modifier: u64) -> Vec<u8> {
    format_with_modifier(
        base,
        format,
        Value::Long(modifier as i64),
        PropertyFlags::MANDATORY,
    )
}

fn format_with_modifier(
    base: &[Property],
    format: VideoFormat,
    modifier: Value,
    flags: PropertyFlags,
) -> Vec<u8> {
    let mut properties: Vec<Property> = base
        .iter()
        .map(|p| {
            if p.key == sys::SPA_FORMAT_VIDEO_format {
                Property {
                    key: p.key,
                    flags: p.flags,
                    value: Value::Id(Id(format.as_raw())),
                }
            } else {
                p.clone()
            }
        })
        .collect();
    properties.push(Property {
        key: sys::SPA_FORMAT_VIDEO_modifier,
        flags,
        value: modifier,
    });
    super::params::serialize(Object {
        type_: SpaTypes::ObjectParamFormat.as_raw(),
        id: ParamType::EnumFormat.as_raw(),
        properties,
    })
}

/// What a format the consumer chose says of DMA-BUF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModifierChoice {
    /// No modifier: shared memory.
    None,
    /// One modifier: DMA-BUF in it.
    Fixed(u64),
    /// Several, for the producer to choose from.
    Open(Vec<u64>),
}

/// The modifier part of a Format parameter.
pub fn modifier_choice(param: &Pod) -> ModifierChoice {
    let Ok((_, Value::Object(object))) = PodDeserializer::deserialize_any_from(param.as_bytes())
    else {
        return ModifierChoice::None;
    };
    let Some(property) = object
        .properties
        .iter()
        .find(|p| p.key == sys::SPA_FORMAT_VIDEO_modifier)
    else {
        return ModifierChoice::None;
    };
    match &property.value {
        Value::Long(m) => ModifierChoice::Fixed(*m as u64),
        Value::Choice(ChoiceValue::Long(Choice(_, choice))) => {
            let listed: Vec<u64> = match choice {
                ChoiceEnum::None(m) => vec![*m as u64],
                ChoiceEnum::Enum {
                    default,
                    alternatives,
                } => std::iter::once(default)
                    .chain(alternatives)
                    .map(|m| *m as u64)
                    .fold(Vec::new(), |mut all, m| {
                        if !all.contains(&m) {
                            all.push(m);
                        }
                        all
                    }),
                _ => Vec::new(),
            };
            match listed.as_slice() {
                [] => ModifierChoice::None,
                [one] if !property.flags.contains(PropertyFlags::DONT_FIXATE) => {
                    ModifierChoice::Fixed(*one)
                }
                _ => ModifierChoice::Open(listed),
            }
        }
        _ => ModifierChoice::None,
    }
}

/// Buffers of `planes` DMA-BUF planes each.
pub fn buffers(planes: u32) -> Vec<u8> {
    let dmabuf = 1i32 << sys::SPA_DATA_DmaBuf;
    super::params::serialize(Object {
        type_: sys::SPA_TYPE_OBJECT_ParamBuffers,
        id: ParamType::Buffers.as_raw(),
        properties: vec![
            super::params::property(
                sys::SPA_PARAM_BUFFERS_buffers,
                super::params::int_range(4, 2, 8),
            ),
            super::params::property(
                sys::SPA_PARAM_BUFFERS_blocks,
                Value::Int(i32::try_from(planes).unwrap_or(1)),
            ),
            super::params::property(
                sys::SPA_PARAM_BUFFERS_dataType,
                Value::Choice(ChoiceValue::Int(Choice(
                    ChoiceFlags::empty(),
                    ChoiceEnum::Flags {
                        default: dmabuf,
                        flags: vec![dmabuf],
                    },
                ))),
            ),
        ],
    })
}

/// Hands `buffer`'s planes to PipeWire's buffer `raw` and remembers its id there.
/// Fails where PipeWire made fewer data blocks than the buffer has planes, or none
/// take DMA-BUF.
///
/// # Safety
/// `raw` is a pw_buffer PipeWire handed to the `add_buffer` callback, not yet given
/// memory, and not used elsewhere until this returns.
pub unsafe fn attach(
    raw: *mut pipewire::sys::pw_buffer,
    buffer: GpuBuffer,
    height: u32,
) -> Result<(), GpuBuffer> {
    // SAFETY: per this function's contract, `raw` and its spa_buffer are valid.
    let Some(spa) = (unsafe { raw.as_mut().and_then(|b| b.buffer.as_mut()) }) else {
        return Err(buffer);
    };
    if (spa.n_datas as usize) < buffer.planes.len() || spa.datas.is_null() {
        return Err(buffer);
    }
    // SAFETY: `datas` holds `n_datas` entries, which PipeWire keeps while the buffer
    // lives; nothing else touches them during add_buffer.
    let datas = unsafe { std::slice::from_raw_parts_mut(spa.datas, spa.n_datas as usize) };
    if datas[..buffer.planes.len()]
        .iter()
        .any(|d| d.type_ & (1 << sys::SPA_DATA_DmaBuf) == 0)
    {
        return Err(buffer);
    }
    for (data, plane) in datas.iter_mut().zip(buffer.planes) {
        data.type_ = sys::SPA_DATA_DmaBuf;
        data.flags = sys::SPA_DATA_FLAG_READWRITE;
        data.mapoffset = 0;
        data.maxsize = plane.stride.saturating_mul(height);
        data.data = std::ptr::null_mut();
        // SAFETY: PipeWire gives each data block a chunk; non-null ones are valid.
        if let Some(chunk) = unsafe { data.chunk.as_mut() } {
            chunk.offset = plane.offset;
            chunk.stride = plane.stride as i32;
            chunk.size = data.maxsize;
            chunk.flags = 0;
        }
        data.fd = i64::from(plane.fd.into_raw_fd());
    }
    // SAFETY: as above; the id is a plain number kept in the pointer-sized user data.
    unsafe { (*raw).user_data = buffer.id as usize as *mut std::ffi::c_void };
    Ok(())
}

/// The id [`attach`] left in `raw`, after closing its planes' descriptors; None for a
/// buffer that holds no DMA-BUF.
///
/// # Safety
/// `raw` is a pw_buffer PipeWire handed to the `remove_buffer` callback.
pub unsafe fn detach(raw: *mut pipewire::sys::pw_buffer) -> Option<u64> {
    // SAFETY: per this function's contract, `raw` and its spa_buffer are valid.
    let spa = unsafe { raw.as_mut()?.buffer.as_mut()? };
    if spa.datas.is_null() {
        return None;
    }
    // SAFETY: `datas` holds `n_datas` entries while the buffer lives.
    let datas = unsafe { std::slice::from_raw_parts_mut(spa.datas, spa.n_datas as usize) };
    let mut ours = false;
    for data in datas.iter_mut().filter(|d| d.type_ == sys::SPA_DATA_DmaBuf) {
        ours = true;
        if let Ok(raw_fd) = i32::try_from(data.fd) {
            if raw_fd >= 0 {
                // SAFETY: `attach` handed this descriptor over with `into_raw_fd`;
                // taking it back here closes it once.
                drop(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw_fd) });
            }
        }
        data.fd = -1;
    }
    // SAFETY: as above.
    ours.then(|| unsafe { (*raw).user_data as usize as u64 })
}

/// The id [`attach`] left in a dequeued buffer; None where it holds no DMA-BUF.
///
/// # Safety
/// `raw` is a pw_buffer dequeued from the stream and not queued back yet.
pub unsafe fn id_of(raw: *mut pipewire::sys::pw_buffer) -> Option<u64> {
    // SAFETY: per this function's contract, `raw` and its spa_buffer are valid.
    let spa = unsafe { raw.as_ref()?.buffer.as_ref()? };
    // SAFETY: as above; a buffer has `n_datas` entries.
    let first = unsafe { spa.datas.as_ref()? };
    (spa.n_datas > 0 && first.type_ == sys::SPA_DATA_DmaBuf)
        // SAFETY: as above.
        .then(|| unsafe { (*raw).user_data as usize as u64 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipewire::params;

    fn object(bytes: &[u8]) -> Object {
        match PodDeserializer::deserialize_any_from(bytes) {
            Ok((_, Value::Object(o))) => o,
            other => panic!("not an object: {other:?}"),
        }
    }

    #[test]
    fn layouts_map_to_drm_codes_in_word_order() {
        assert_eq!(drm_fourcc(VideoFormat::BGRx), Some(0x3432_5258));
        assert_eq!(drm_fourcc(VideoFormat::RGBA), Some(0x3432_4241));
        assert_eq!(drm_fourcc(VideoFormat::NV12), None);
    }

    #[test]
    fn offers_leave_the_modifier_open_and_the_answer_fixes_one() {
        let base = params::base_properties(1920, 1080, 60);
        let offers = dmabuf_offers(
            &base,
            &[
                (VideoFormat::BGRx, vec![0, MOD_INVALID]),
                (VideoFormat::RGBx, vec![]),
            ],
        );
        assert_eq!(offers.len(), 1, "a layout without modifiers is not offered");
        let pod = Pod::from_bytes(&offers[0]).expect("a pod");
        assert_eq!(
            modifier_choice(pod),
            ModifierChoice::Open(vec![0, MOD_INVALID])
        );
        let o = object(&offers[0]);
        let format = o
            .properties
            .iter()
            .find(|p| p.key == sys::SPA_FORMAT_VIDEO_format)
            .map(|p| p.value.clone());
        assert_eq!(format, Some(Value::Id(Id(VideoFormat::BGRx.as_raw()))));

        let fixed = fixated_offer(&base, VideoFormat::BGRx, 0);
        let pod = Pod::from_bytes(&fixed).expect("a pod");
        assert_eq!(modifier_choice(pod), ModifierChoice::Fixed(0));
        let shm = &params::tests::enum_format(64, 64, 30, false)[0];
        assert_eq!(
            modifier_choice(Pod::from_bytes(shm).expect("a pod")),
            ModifierChoice::None
        );
    }

    #[test]
    fn dmabuf_buffers_ask_for_one_block_per_plane() {
        let o = object(&buffers(2));
        let blocks = o
            .properties
            .iter()
            .find(|p| p.key == sys::SPA_PARAM_BUFFERS_blocks)
            .map(|p| p.value.clone());
        assert_eq!(blocks, Some(Value::Int(2)));
    }
}
