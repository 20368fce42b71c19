//! Writing a buffer's metadata: the header, damage rectangles and the pointer.

use pipewire::spa::{param::video::VideoFormat, sys};

use super::params::{MAX_CURSOR, MAX_DAMAGE};
use crate::frame::Region;

/// The pointer of a metadata-cursor cast, relative to the picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorMeta {
    /// Whether the pointer is over the picture at all.
    pub visible: bool,
    /// Where the hotspot is, in picture pixels (may lie outside the picture).
    pub position: (i32, i32),
    /// The hotspot's offset within the image.
    pub hotspot: (i32, i32),
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// R, G, B, A rows with premultiplied alpha; sent again only when it changes.
    pub rgba: Vec<u8>,
}

/// Finds the metadata of `kind` in a buffer: where it is and how many bytes it has.
///
/// # Safety
/// `buffer` must point at a valid `spa_buffer` whose metas are mapped.
unsafe fn find(buffer: *mut sys::spa_buffer, kind: u32) -> Option<(*mut u8, usize)> {
    // SAFETY: the caller guarantees a valid buffer; its metas array has n_metas entries.
    unsafe {
        let metas = (*buffer).metas;
        if metas.is_null() {
            return None;
        }
        for i in 0..(*buffer).n_metas as usize {
            let meta = metas.add(i);
            if (*meta).type_ == kind && !(*meta).data.is_null() {
                return Some(((*meta).data.cast(), (*meta).size as usize));
            }
        }
    }
    None
}

/// Stamps the header: presentation time (monotonic nanoseconds) and sequence number.
///
/// # Safety
/// As for [`find`].
pub unsafe fn write_header(buffer: *mut sys::spa_buffer, pts_ns: i64, seq: u64) {
    // SAFETY: `find` returns the header's own bytes, sized by the negotiated meta param.
    unsafe {
        let Some((data, size)) = find(buffer, sys::SPA_META_Header) else {
            return;
        };
        if size < std::mem::size_of::<sys::spa_meta_header>() {
            return;
        }
        let header = data.cast::<sys::spa_meta_header>();
        header.write_unaligned(sys::spa_meta_header {
            flags: 0,
            offset: 0,
            pts: pts_ns,
            dts_offset: 0,
            seq,
        });
    }
}

/// Lists the damage; more rectangles than fit become their bounding box. A rectangle of
/// zero size ends the list when it is shorter than the room.
///
/// # Safety
/// As for [`find`].
pub unsafe fn write_damage(buffer: *mut sys::spa_buffer, damage: &[Region]) {
    // SAFETY: the regions are written within the meta's size.
    unsafe {
        let Some((data, size)) = find(buffer, sys::SPA_META_VideoDamage) else {
            return;
        };
        let room = (size / std::mem::size_of::<sys::spa_meta_region>()).min(MAX_DAMAGE);
        if room == 0 {
            return;
        }
        let merged;
        let list = if damage.len() > room {
            merged = [bounding(damage)];
            &merged[..]
        } else {
            damage
        };
        let regions = data.cast::<sys::spa_meta_region>();
        for (i, r) in list.iter().enumerate() {
            regions.add(i).write_unaligned(region(r));
        }
        if list.len() < room {
            regions.add(list.len()).write_unaligned(region(&Region {
                x: 0,
                y: 0,
                width: 0,
                height: 0,
            }));
        }
    }
}

fn region(r: &Region) -> sys::spa_meta_region {
    sys::spa_meta_region {
        region: sys::spa_region {
            position: sys::spa_point { x: r.x, y: r.y },
            size: sys::spa_rectangle {
                width: r.width.max(0) as u32,
                height: r.height.max(0) as u32,
            },
        },
    }
}

fn bounding(damage: &[Region]) -> Region {
    let x0 = damage.iter().map(|r| r.x).min().unwrap_or(0);
    let y0 = damage.iter().map(|r| r.y).min().unwrap_or(0);
    let x1 = damage.iter().map(|r| r.x + r.width).max().unwrap_or(0);
    let y1 = damage.iter().map(|r| r.y + r.height).max().unwrap_or(0);
    Region {
        x: x0,
        y: y0,
        width: x1 - x0,
        height: y1 - y0,
    }
}

/// Writes the pointer: its position always, its image only when `new_image` (the
/// consumer keeps the last one it got). An invisible pointer has id 0.
///
/// # Safety
/// As for [`find`].
pub unsafe fn write_cursor(buffer: *mut sys::spa_buffer, cursor: &CursorMeta, new_image: bool) {
    // SAFETY: every write is checked against the meta's size first.
    unsafe {
        let Some((data, size)) = find(buffer, sys::SPA_META_Cursor) else {
            return;
        };
        let head = std::mem::size_of::<sys::spa_meta_cursor>();
        let bitmap_head = std::mem::size_of::<sys::spa_meta_bitmap>();
        if size < head {
            return;
        }
        let pixels = cursor.width as usize * cursor.height as usize * 4;
        let fits = cursor.width <= MAX_CURSOR
            && cursor.height <= MAX_CURSOR
            && cursor.rgba.len() >= pixels
            && size >= head + bitmap_head + pixels;
        let with_image = new_image && fits && cursor.visible;
        data.cast::<sys::spa_meta_cursor>()
            .write_unaligned(sys::spa_meta_cursor {
                id: u32::from(cursor.visible),
                flags: 0,
                position: sys::spa_point {
                    x: cursor.position.0,
                    y: cursor.position.1,
                },
                hotspot: sys::spa_point {
                    x: cursor.hotspot.0,
                    y: cursor.hotspot.1,
                },
                bitmap_offset: if with_image { head as u32 } else { 0 },
            });
        if !with_image {
            return;
        }
        let bitmap = data.add(head);
        bitmap
            .cast::<sys::spa_meta_bitmap>()
            .write_unaligned(sys::spa_meta_bitmap {
                format: VideoFormat::RGBA.as_raw(),
                size: sys::spa_rectangle {
                    width: cursor.width,
                    height: cursor.height,
                },
                stride: (cursor.width * 4) as i32,
                offset: bitmap_head as u32,
            });
        std::ptr::copy_nonoverlapping(cursor.rgba.as_ptr(), bitmap.add(bitmap_head), pixels);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A buffer with one meta of `kind` and `size` bytes, kept alive by the returned
    /// vectors.
    fn buffer_with(kind: u32, size: usize) -> (Box<sys::spa_buffer>, Box<sys::spa_meta>, Vec<u8>) {
        let mut bytes = vec![0u8; size];
        let mut meta = Box::new(sys::spa_meta {
            type_: kind,
            size: size as u32,
            data: bytes.as_mut_ptr().cast(),
        });
        let buffer = Box::new(sys::spa_buffer {
            n_metas: 1,
            n_datas: 0,
            metas: &mut *meta,
            datas: std::ptr::null_mut(),
        });
        (buffer, meta, bytes)
    }

    #[test]
    fn too_much_damage_becomes_its_bounding_box() {
        let room = 2 * std::mem::size_of::<sys::spa_meta_region>();
        let (mut buffer, _meta, bytes) = buffer_with(sys::SPA_META_VideoDamage, room);
        let damage = [
            Region {
                x: 10,
                y: 10,
                width: 5,
                height: 5,
            },
            Region {
                x: 100,
                y: 0,
                width: 10,
                height: 2,
            },
            Region {
                x: 0,
                y: 50,
                width: 1,
                height: 1,
            },
        ];
        // SAFETY: the buffer and its meta live in this test's boxes.
        unsafe { write_damage(&mut *buffer, &damage) };
        // SAFETY: the bytes hold two regions written above.
        let first = unsafe {
            bytes
                .as_ptr()
                .cast::<sys::spa_meta_region>()
                .read_unaligned()
        };
        assert_eq!((first.region.position.x, first.region.position.y), (0, 0));
        assert_eq!(
            (first.region.size.width, first.region.size.height),
            (110, 51)
        );
        // SAFETY: as above.
        let end = unsafe {
            bytes
                .as_ptr()
                .cast::<sys::spa_meta_region>()
                .add(1)
                .read_unaligned()
        };
        assert_eq!(end.region.size.width, 0, "the list ends");
    }

    #[test]
    fn the_cursor_image_goes_only_when_new() {
        let size = super::super::params::cursor_meta_size(4);
        let (mut buffer, _meta, bytes) = buffer_with(sys::SPA_META_Cursor, size);
        let cursor = CursorMeta {
            visible: true,
            position: (30, 40),
            hotspot: (1, 2),
            width: 4,
            height: 4,
            rgba: vec![7; 64],
        };
        // SAFETY: the buffer and its meta live in this test's boxes.
        unsafe { write_cursor(&mut *buffer, &cursor, true) };
        // SAFETY: a spa_meta_cursor was written at the start.
        let head = unsafe {
            bytes
                .as_ptr()
                .cast::<sys::spa_meta_cursor>()
                .read_unaligned()
        };
        assert_eq!((head.id, head.position.x, head.position.y), (1, 30, 40));
        assert_eq!(
            head.bitmap_offset as usize,
            std::mem::size_of::<sys::spa_meta_cursor>()
        );
        assert_eq!(bytes[size - 1], 7, "the image follows its header");
        // SAFETY: as above.
        unsafe { write_cursor(&mut *buffer, &cursor, false) };
        // SAFETY: as above.
        let head = unsafe {
            bytes
                .as_ptr()
                .cast::<sys::spa_meta_cursor>()
                .read_unaligned()
        };
        assert_eq!(head.bitmap_offset, 0);
    }
}
