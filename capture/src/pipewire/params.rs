//! The SPA parameter pods a screen-cast stream offers: its formats, its buffers (shared
//! memory the consumer maps) and the metadata each buffer carries (timestamps, damage,
//! the pointer).

use pipewire::spa::{
    self,
    param::{format::FormatProperties, video::VideoFormat, ParamType},
    pod::{serialize::PodSerializer, ChoiceValue, Object, Pod, Property, PropertyFlags, Value},
    sys,
    utils::{Choice, ChoiceEnum, ChoiceFlags, Fraction, Id, Rectangle, SpaTypes},
};

/// Damage rectangles a buffer has room for; more are merged into their bounding box.
pub const MAX_DAMAGE: usize = 16;

/// The largest pointer image sent as metadata, in pixels per side.
pub const MAX_CURSOR: u32 = 256;

/// The 8-bit layouts offered, preferred first: the consumer picks one.
pub const FORMATS: [VideoFormat; 4] = [
    VideoFormat::BGRx,
    VideoFormat::BGRA,
    VideoFormat::RGBx,
    VideoFormat::RGBA,
];

pub(super) fn serialize(object: Object) -> Vec<u8> {
    // Serializing into a Vec cannot fail for lack of room; an error would be a bug in
    // the pod's construction, which the unit tests cover.
    PodSerializer::serialize(std::io::Cursor::new(Vec::new()), &Value::Object(object))
        .map(|(cursor, _)| cursor.into_inner())
        .unwrap_or_default()
}

/// Bytes of a pod, checked; None when `bytes` is not one.
pub fn as_pod(bytes: &[u8]) -> Option<&Pod> {
    Pod::from_bytes(bytes)
}

pub(super) fn int_range(default: i32, min: i32, max: i32) -> Value {
    Value::Choice(ChoiceValue::Int(Choice(
        ChoiceFlags::empty(),
        ChoiceEnum::Range { default, min, max },
    )))
}

pub(super) fn property(key: u32, value: Value) -> Property {
    Property {
        key,
        flags: PropertyFlags::empty(),
        value,
    }
}

/// `SPA_VIDEO_TRANSFER_SMPTE2084` (PQ): 14 on the wire, its place in SPA's
/// `spa_video_transfer_function` (which follows GStreamer's `GstVideoTransferFunction`);
/// PipeWire 0.3's headers stop before it, newer ones name it.
pub const TRANSFER_PQ: u32 = 14;

/// The formats a stream of `width`×`height` offers, at most `max_fps` frames a second
/// (frames come when the screen changes, so the nominal rate is variable: 0/1). Where
/// the source is `hdr`, 10-bit PQ with BT.2020 primaries comes first, for consumers
/// that take it; the 8-bit layouts (a tone-mapped picture) follow for the rest.
/// DMA-BUF comes first: `fixated` (a layout and the modifier chosen
/// for it, once a consumer left the choice to us), then each of `gpu`'s layouts with the
/// modifiers the renderer draws into.
pub fn enum_format_with(
    width: u32,
    height: u32,
    max_fps: u32,
    hdr: bool,
    gpu: &[(VideoFormat, Vec<u64>)],
    fixated: Option<(VideoFormat, u64)>,
) -> Vec<Vec<u8>> {
    let base = base_properties(width, height, max_fps);
    let mut offers = Vec::new();
    if let Some((format, modifier)) = fixated {
        offers.push(super::gpu::fixated_offer(&base, format, modifier));
    }
    offers.extend(super::gpu::dmabuf_offers(&base, gpu));
    if hdr {
        // The same words little-endian (DRM's XRGB2101010, what OBS and compositors
        // name) or big-endian (r210, the 10-bit RGB that GStreamer's PipeWire source
        // maps).
        let layouts = Value::Choice(ChoiceValue::Id(Choice(
            ChoiceFlags::empty(),
            ChoiceEnum::Enum {
                default: Id(VideoFormat::xRGB_210LE.as_raw()),
                alternatives: [VideoFormat::xRGB_210LE, VideoFormat::r210]
                    .map(|f| Id(f.as_raw()))
                    .to_vec(),
            },
        )));
        let mut properties = format_properties(width, height, max_fps, layouts);
        for (key, value) in [
            (
                sys::SPA_FORMAT_VIDEO_colorRange,
                sys::SPA_VIDEO_COLOR_RANGE_0_255,
            ),
            (
                sys::SPA_FORMAT_VIDEO_colorMatrix,
                sys::SPA_VIDEO_COLOR_MATRIX_RGB,
            ),
            (sys::SPA_FORMAT_VIDEO_transferFunction, TRANSFER_PQ),
            (
                sys::SPA_FORMAT_VIDEO_colorPrimaries,
                sys::SPA_VIDEO_COLOR_PRIMARIES_BT2020,
            ),
        ] {
            properties.push(property(key, Value::Id(Id(value))));
        }
        offers.push(format_object(properties));
    }
    offers.push(format_object(base));
    offers
}

/// The properties of the 8-bit shared-memory offer: size, rates and the layouts.
pub(super) fn base_properties(width: u32, height: u32, max_fps: u32) -> Vec<Property> {
    let mut formats = vec![Id(FORMATS[0].as_raw())];
    formats.extend(FORMATS.iter().map(|f| Id(f.as_raw())));
    let choice = Value::Choice(ChoiceValue::Id(Choice(
        ChoiceFlags::empty(),
        ChoiceEnum::Enum {
            default: formats[0],
            alternatives: formats[1..].to_vec(),
        },
    )));
    format_properties(width, height, max_fps, choice)
}

fn format_object(properties: Vec<Property>) -> Vec<u8> {
    serialize(Object {
        type_: SpaTypes::ObjectParamFormat.as_raw(),
        id: ParamType::EnumFormat.as_raw(),
        properties,
    })
}

fn format_properties(width: u32, height: u32, max_fps: u32, format: Value) -> Vec<Property> {
    let max_fps = max_fps.max(1);
    vec![
        property(
            FormatProperties::MediaType.as_raw(),
            Value::Id(Id(spa::param::format::MediaType::Video.as_raw())),
        ),
        property(
            FormatProperties::MediaSubtype.as_raw(),
            Value::Id(Id(spa::param::format::MediaSubtype::Raw.as_raw())),
        ),
        property(FormatProperties::VideoFormat.as_raw(), format),
        property(
            FormatProperties::VideoSize.as_raw(),
            Value::Rectangle(Rectangle { width, height }),
        ),
        property(
            FormatProperties::VideoFramerate.as_raw(),
            Value::Fraction(Fraction { num: 0, denom: 1 }),
        ),
        property(
            FormatProperties::VideoMaxFramerate.as_raw(),
            Value::Choice(ChoiceValue::Fraction(Choice(
                ChoiceFlags::empty(),
                ChoiceEnum::Range {
                    default: Fraction {
                        num: max_fps,
                        denom: 1,
                    },
                    min: Fraction { num: 1, denom: 1 },
                    max: Fraction {
                        num: max_fps,
                        denom: 1,
                    },
                },
            ))),
        ),
    ]
}

/// Buffers of shared memory (memfd) holding one frame of `stride` × `height` each.
pub fn buffers(stride: u32, height: u32) -> Vec<u8> {
    let size = i32::try_from(stride.saturating_mul(height)).unwrap_or(i32::MAX);
    let memfd = 1i32 << sys::SPA_DATA_MemFd;
    serialize(Object {
        type_: sys::SPA_TYPE_OBJECT_ParamBuffers,
        id: ParamType::Buffers.as_raw(),
        properties: vec![
            property(sys::SPA_PARAM_BUFFERS_buffers, int_range(4, 2, 8)),
            property(sys::SPA_PARAM_BUFFERS_blocks, Value::Int(1)),
            property(sys::SPA_PARAM_BUFFERS_size, Value::Int(size)),
            property(
                sys::SPA_PARAM_BUFFERS_stride,
                Value::Int(i32::try_from(stride).unwrap_or(i32::MAX)),
            ),
            property(
                sys::SPA_PARAM_BUFFERS_dataType,
                Value::Choice(ChoiceValue::Int(Choice(
                    ChoiceFlags::empty(),
                    ChoiceEnum::Flags {
                        default: memfd,
                        flags: vec![memfd],
                    },
                ))),
            ),
        ],
    })
}

fn meta(kind: u32, size: Value) -> Vec<u8> {
    serialize(Object {
        type_: sys::SPA_TYPE_OBJECT_ParamMeta,
        id: ParamType::Meta.as_raw(),
        properties: vec![
            property(sys::SPA_PARAM_META_type, Value::Id(Id(kind))),
            property(sys::SPA_PARAM_META_size, size),
        ],
    })
}

/// Bytes of cursor metadata with room for a `side`×`side` image.
pub fn cursor_meta_size(side: u32) -> usize {
    std::mem::size_of::<sys::spa_meta_cursor>()
        + std::mem::size_of::<sys::spa_meta_bitmap>()
        + (side * side * 4) as usize
}

/// The metadata every buffer carries: a header (timestamp, sequence), damage
/// rectangles, and the pointer (position, hotspot, image).
pub fn metas() -> Vec<Vec<u8>> {
    let region = std::mem::size_of::<sys::spa_meta_region>() as i32;
    vec![
        meta(
            sys::SPA_META_Header,
            Value::Int(std::mem::size_of::<sys::spa_meta_header>() as i32),
        ),
        meta(
            sys::SPA_META_VideoDamage,
            int_range(
                region * MAX_DAMAGE as i32,
                region,
                region * MAX_DAMAGE as i32,
            ),
        ),
        meta(
            sys::SPA_META_Cursor,
            int_range(
                cursor_meta_size(64) as i32,
                cursor_meta_size(1) as i32,
                cursor_meta_size(MAX_CURSOR) as i32,
            ),
        ),
    ]
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use pipewire::spa::pod::deserialize::PodDeserializer;

    /// The offers without DMA-BUF.
    pub fn enum_format(width: u32, height: u32, max_fps: u32, hdr: bool) -> Vec<Vec<u8>> {
        enum_format_with(width, height, max_fps, hdr, &[], None)
    }

    fn object(bytes: &[u8]) -> Object {
        match PodDeserializer::deserialize_any_from(bytes) {
            Ok((_, Value::Object(o))) => o,
            other => panic!("not an object: {other:?}"),
        }
    }

    fn value(o: &Object, key: u32) -> &Value {
        &o.properties
            .iter()
            .find(|p| p.key == key)
            .unwrap_or_else(|| panic!("no property {key}"))
            .value
    }

    #[test]
    fn the_format_offers_every_layout_at_the_source_size() {
        let offers = enum_format(1920, 1080, 60, false);
        assert_eq!(offers.len(), 1, "no 10-bit offer from an SDR source");
        let o = object(&offers[0]);
        assert_eq!(o.id, ParamType::EnumFormat.as_raw());
        assert_eq!(
            value(&o, FormatProperties::VideoSize.as_raw()),
            &Value::Rectangle(Rectangle {
                width: 1920,
                height: 1080
            })
        );
        let Value::Choice(ChoiceValue::Id(Choice(
            _,
            ChoiceEnum::Enum {
                default,
                alternatives,
            },
        ))) = value(&o, FormatProperties::VideoFormat.as_raw())
        else {
            panic!("no format choice");
        };
        assert_eq!(default.0, VideoFormat::BGRx.as_raw());
        assert_eq!(alternatives.len(), FORMATS.len());
        assert!(as_pod(&enum_format(1, 1, 0, false)[0]).is_some());
    }

    #[test]
    fn an_hdr_source_offers_10_bit_pq_first_and_8_bit_after() {
        let offers = enum_format(640, 360, 60, true);
        assert_eq!(offers.len(), 2);
        let hdr = object(&offers[0]);
        let Value::Choice(ChoiceValue::Id(Choice(
            _,
            ChoiceEnum::Enum {
                default,
                alternatives,
            },
        ))) = value(&hdr, FormatProperties::VideoFormat.as_raw())
        else {
            panic!("no 10-bit layout choice");
        };
        assert_eq!(default.0, VideoFormat::xRGB_210LE.as_raw());
        assert!(alternatives.contains(&Id(VideoFormat::r210.as_raw())));
        assert_eq!(
            value(&hdr, sys::SPA_FORMAT_VIDEO_transferFunction),
            &Value::Id(Id(TRANSFER_PQ))
        );
        assert_eq!(
            value(&hdr, sys::SPA_FORMAT_VIDEO_colorPrimaries),
            &Value::Id(Id(sys::SPA_VIDEO_COLOR_PRIMARIES_BT2020))
        );
        let sdr = object(&offers[1]);
        assert!(sdr
            .properties
            .iter()
            .all(|p| p.key != sys::SPA_FORMAT_VIDEO_transferFunction));
    }

    #[test]
    fn buffers_are_memfds_of_one_frame() {
        let o = object(&buffers(7680, 1080));
        assert_eq!(
            value(&o, sys::SPA_PARAM_BUFFERS_size),
            &Value::Int(7680 * 1080)
        );
        assert_eq!(value(&o, sys::SPA_PARAM_BUFFERS_stride), &Value::Int(7680));
        for m in metas() {
            assert_eq!(object(&m).id, ParamType::Meta.as_raw());
        }
    }
}
