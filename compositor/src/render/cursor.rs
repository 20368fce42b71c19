//! The pointer the compositor draws itself where no host draws one (KMS): a plain arrow
//! for every named cursor shape. Clients that set a cursor surface are drawn as they
//! ask.

use smithay::{
    backend::{allocator::Fourcc, renderer::element::memory::MemoryRenderBuffer},
    utils::{Logical, Point, Transform},
};

/// Rows of the arrow: `X` outline, `.` fill, anything else transparent.
const ARROW: [&str; 19] = [
    "X",
    "XX",
    "X.X",
    "X..X",
    "X...X",
    "X....X",
    "X.....X",
    "X......X",
    "X.......X",
    "X........X",
    "X.........X",
    "X......XXXXX",
    "X...X..X",
    "X..XX..X",
    "X.X  X..X",
    "XX   X..X",
    "X     X..X",
    "      X..X",
    "       XX",
];

/// The arrow image and where in it the pointer's position is.
#[derive(Debug)]
pub struct DefaultCursor {
    /// The pixels, for the renderer.
    pub buffer: MemoryRenderBuffer,
    /// The same pixels for a hardware cursor plane.
    pub image: ghost_kms::cursor::CursorImage,
    /// The tip of the arrow.
    pub hotspot: Point<i32, Logical>,
}

impl DefaultCursor {
    /// Width of the arrow in pixels.
    pub const WIDTH: i32 = 12;

    /// The arrow, with its tip at the top-left pixel.
    pub fn arrow() -> Self {
        let (w, h) = (Self::WIDTH as usize, ARROW.len());
        let mut pixels = vec![0u8; w * h * 4];
        for (y, row) in ARROW.iter().enumerate() {
            for (x, c) in row.bytes().enumerate().take(w) {
                // ARGB8888 little endian: B, G, R, A (premultiplied).
                let px: [u8; 4] = match c {
                    b'X' => [0, 0, 0, 255],
                    b'.' => [255, 255, 255, 255],
                    _ => [0, 0, 0, 0],
                };
                let at = (y * w + x) * 4;
                pixels[at..at + 4].copy_from_slice(&px);
            }
        }
        Self {
            image: ghost_kms::cursor::CursorImage {
                pixels: pixels.clone(),
                width: w as u32,
                height: h as u32,
                serial: 1,
            },
            buffer: MemoryRenderBuffer::from_slice(
                &pixels,
                Fourcc::Argb8888,
                (w as i32, h as i32),
                1,
                Transform::Normal,
                None,
            ),
            hotspot: (0, 0).into(),
        }
    }
}

/// Where in a client's cursor surface the pointer's position is (its set_cursor
/// hotspot, updated by offsets on commit).
pub fn hotspot(
    surface: &smithay::reexports::wayland_server::protocol::wl_surface::WlSurface,
) -> Point<i32, Logical> {
    smithay::wayland::compositor::with_states(surface, |states| {
        states
            .data_map
            .get::<smithay::input::pointer::CursorImageSurfaceData>()
            .and_then(|d| d.lock().ok().map(|d| d.hotspot))
            .unwrap_or_default()
    })
}

/// Largest client cursor copied onto a cursor plane (a bigger one is composited).
const MAX_PLANE_CURSOR: i32 = 256;

/// A client's cursor surface as pixels for a hardware cursor plane: its shm buffer
/// copied (ARGB8888, or XRGB8888 made opaque). None when it cannot go on a plane as
/// it is (subsurfaces, scaled or transformed buffers, not shm, too large): then it is
/// composited.
fn client_cursor_image(
    surface: &smithay::reexports::wayland_server::protocol::wl_surface::WlSurface,
) -> Option<ghost_kms::cursor::CursorImage> {
    use smithay::{
        backend::renderer::utils::with_renderer_surface_state,
        reexports::wayland_server::protocol::wl_shm,
        wayland::{compositor::get_children, shm::with_buffer_contents},
    };
    if !get_children(surface).is_empty() {
        return None;
    }
    let buffer = with_renderer_surface_state(surface, |s| {
        (s.buffer_scale() == 1 && s.buffer_transform() == Transform::Normal)
            .then(|| s.buffer().cloned())
            .flatten()
    })??;
    let pixels = with_buffer_contents(&buffer, |ptr, len, data| {
        let opaque = match data.format {
            wl_shm::Format::Argb8888 => false,
            wl_shm::Format::Xrgb8888 => true,
            _ => return None,
        };
        let (w, h, stride) = (data.width, data.height, data.stride);
        if !(1..=MAX_PLANE_CURSOR).contains(&w) || !(1..=MAX_PLANE_CURSOR).contains(&h) {
            return None;
        }
        let (offset, row) = (usize::try_from(data.offset).ok()?, w as usize * 4);
        let stride = usize::try_from(stride).ok().filter(|s| *s >= row)?;
        let end = offset.checked_add(stride * (h as usize - 1) + row)?;
        if end > len {
            return None;
        }
        // SAFETY: smithay hands out the pool's mapping, `len` bytes long, for the
        // duration of this closure; every byte read lies in offset..end <= len.
        let pool = unsafe { std::slice::from_raw_parts(ptr, len) };
        let mut pixels = Vec::with_capacity(row * h as usize);
        for y in 0..h as usize {
            pixels.extend_from_slice(&pool[offset + y * stride..][..row]);
        }
        if opaque {
            for px in pixels.chunks_exact_mut(4) {
                px[3] = 255;
            }
        }
        Some((pixels, w as u32, h as u32))
    })
    .ok()??;
    let (pixels, width, height) = pixels;
    // The plane's buffer is rewritten only when the picture changes.
    let serial = {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (&pixels, width, height).hash(&mut hasher);
        hasher.finish() | 1 << 63
    };
    Some(ghost_kms::cursor::CursorImage {
        pixels,
        width,
        height,
        serial,
    })
}

/// The last client cursor surface copied for a cursor plane, by surface and commit:
/// pointer motion reuses it, only a new commit (or another surface) copies again.
#[derive(Default)]
pub struct ClientCursor {
    copied: Option<(
        smithay::reexports::wayland_server::backend::ObjectId,
        Option<smithay::backend::renderer::utils::CommitCounter>,
        Option<ghost_kms::cursor::CursorImage>,
    )>,
}

impl ClientCursor {
    /// `surface`'s picture for the plane (None: it must be composited).
    pub fn image(
        &mut self,
        surface: &smithay::reexports::wayland_server::protocol::wl_surface::WlSurface,
    ) -> Option<&ghost_kms::cursor::CursorImage> {
        use smithay::reexports::wayland_server::Resource;
        let id = surface.id();
        let commit = smithay::backend::renderer::utils::with_renderer_surface_state(surface, |s| {
            s.current_commit()
        });
        let fresh = matches!(&self.copied, Some((i, c, _)) if *i == id && *c == commit);
        if !fresh {
            self.copied = Some((id, commit, client_cursor_image(surface)));
        }
        self.copied
            .as_ref()
            .and_then(|(_, _, image)| image.as_ref())
    }
}
