//! The buffers capture clients hand over (wlr-screencopy, ext-image-copy-capture):
//! shm, or single-plane linear dmabufs where the backend takes dmabufs, in XRGB8888,
//! ARGB8888 or their BGR-ordered twins. A dmabuf is written through a mapping between DMA_BUF_SYNC calls, so any
//! device that exports linear buffers (a PRIME dumb buffer, a GPU's linear surface)
//! works as a target.

use smithay::{
    backend::allocator::{
        dmabuf::{DmabufMappingMode, DmabufSyncFlags},
        Buffer as _, Fourcc, Modifier,
    },
    reexports::wayland_server::protocol::{wl_buffer::WlBuffer, wl_shm},
    wayland::{
        dmabuf::get_dmabuf,
        shm::{with_buffer_contents, with_buffer_contents_mut},
    },
};

/// The formats capture targets may have: as wl_shm formats, as fourcc codes, and how
/// each stores a pixel.
pub const FORMATS: [(wl_shm::Format, Fourcc, ghost_capture::PixelFormat); 4] = [
    (
        wl_shm::Format::Xrgb8888,
        Fourcc::Xrgb8888,
        ghost_capture::PixelFormat::Xrgb8888,
    ),
    (
        wl_shm::Format::Argb8888,
        Fourcc::Argb8888,
        ghost_capture::PixelFormat::Argb8888,
    ),
    (
        wl_shm::Format::Xbgr8888,
        Fourcc::Xbgr8888,
        ghost_capture::PixelFormat::Xbgr8888,
    ),
    (
        wl_shm::Format::Abgr8888,
        Fourcc::Abgr8888,
        ghost_capture::PixelFormat::Abgr8888,
    ),
];

/// Size and pixel layout of a buffer a picture can be copied into; None for buffers
/// of other kinds or formats (and shm buffers whose rows are too short).
pub fn layout(buffer: &WlBuffer) -> Option<(u32, u32, ghost_capture::PixelFormat)> {
    if let Ok(dmabuf) = get_dmabuf(buffer) {
        let format = dmabuf.format();
        if dmabuf.num_planes() != 1 || format.modifier != Modifier::Linear {
            return None;
        }
        let (_, _, layout) = FORMATS.iter().find(|(_, f, _)| *f == format.code)?;
        let size = dmabuf.size();
        return Some((
            u32::try_from(size.w).ok()?,
            u32::try_from(size.h).ok()?,
            *layout,
        ));
    }
    let (w, h, stride, format) =
        with_buffer_contents(buffer, |_, _, b| (b.width, b.height, b.stride, b.format)).ok()?;
    if stride < w.saturating_mul(4) {
        return None;
    }
    let (_, _, layout) = FORMATS.iter().find(|(f, _, _)| *f == format)?;
    Some((u32::try_from(w).ok()?, u32::try_from(h).ok()?, *layout))
}

/// The 10-bit target offered for HDR sources: XBGR2101010, which both renderers also
/// import from clients, so the wl_shm global can list it.
pub const PQ10: wl_shm::Format = wl_shm::Format::Xbgr2101010;

/// Every shm format a capture target may have, for the wl_shm global.
pub fn shm_formats() -> impl Iterator<Item = wl_shm::Format> {
    FORMATS.into_iter().map(|(f, ..)| f).chain([PQ10])
}

/// Size of a shm buffer in the 10-bit PQ format ([`PQ10`]); None for anything else.
pub fn pq10_size(buffer: &WlBuffer) -> Option<(u32, u32)> {
    let (w, h, stride, format) =
        with_buffer_contents(buffer, |_, _, b| (b.width, b.height, b.stride, b.format)).ok()?;
    if format != PQ10 || stride < w.saturating_mul(4) {
        return None;
    }
    Some((u32::try_from(w).ok()?, u32::try_from(h).ok()?))
}

/// Writes an HDR signal into a 10-bit buffer (see [`pq10_size`]). False when it cannot.
pub fn write_pq10(buffer: &WlBuffer, picture: &ghost_capture::HdrFrame) -> bool {
    if pq10_size(buffer) != Some((picture.width(), picture.height())) {
        return false;
    }
    write_shm(buffer, |pool, stride| {
        picture.pack_xbgr2101010(pool, stride)
    })
}

/// Runs `fill` on a shm buffer's bytes (from its offset to the pool's end) and row
/// stride; false where the buffer is not shm or `fill` fails.
fn write_shm(buffer: &WlBuffer, fill: impl FnOnce(&mut [u8], usize) -> bool) -> bool {
    let written = with_buffer_contents_mut(buffer, |ptr, len, b| {
        let stride = usize::try_from(b.stride).unwrap_or(0);
        let offset = usize::try_from(b.offset).unwrap_or(usize::MAX);
        if offset > len {
            return false;
        }
        // SAFETY: smithay maps the whole pool for this callback and `len` is its
        // length; the slice starts at the buffer's offset inside it, and the fillers
        // (copy_into, the packers) check the rows fit. The client may write
        // concurrently, which can only garble its own picture.
        let pool = unsafe { std::slice::from_raw_parts_mut(ptr.add(offset), len - offset) };
        fill(pool, stride)
    });
    matches!(written, Ok(true))
}

/// Copies `picture` into `buffer` in the buffer's own layout. False when the buffer
/// cannot be written (unmappable, too small, not a capture target).
pub fn write(buffer: &WlBuffer, picture: &ghost_capture::FrameView<'_>) -> bool {
    write_stamped(buffer, picture, None)
}

/// [`write`], then `stamp` (the pointer, in the picture's pixels) blended over the copy.
pub fn write_stamped(
    buffer: &WlBuffer,
    picture: &ghost_capture::FrameView<'_>,
    stamp: Option<&ghost_capture::Stamp<'_>>,
) -> bool {
    let Some((_, _, layout)) = self::layout(buffer) else {
        return false;
    };
    let (width, height) = (picture.width(), picture.height());
    let copy = |bytes: &mut [u8], stride: usize| {
        let copied = picture.copy_into(bytes, stride, layout);
        if let (true, Some(stamp)) = (copied, stamp) {
            stamp.blend_into(bytes, stride, layout, width, height);
        }
        copied
    };
    if let Ok(dmabuf) = get_dmabuf(buffer) {
        let Some(stride) = dmabuf.strides().next() else {
            return false;
        };
        let Ok(map) = dmabuf.map_plane(0, DmabufMappingMode::WRITE) else {
            return false;
        };
        if dmabuf
            .sync_plane(0, DmabufSyncFlags::START | DmabufSyncFlags::WRITE)
            .is_err()
        {
            return false;
        }
        // SAFETY: the mapping is `length()` bytes of the plane from its offset and lives
        // until the end of this block; copy_into checks the rows fit. The client may
        // write concurrently, which can only garble its own picture.
        let bytes = unsafe { std::slice::from_raw_parts_mut(map.ptr().cast::<u8>(), map.length()) };
        let copied = copy(bytes, stride as usize);
        let _ = dmabuf.sync_plane(0, DmabufSyncFlags::END | DmabufSyncFlags::WRITE);
        return copied;
    }
    write_shm(buffer, copy)
}
