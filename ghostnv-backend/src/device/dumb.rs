//! Dumb buffers: CPU-written framebuffers (what vkms and simpledrm scan out), made,
//! written, mapped, read back and freed.

use std::os::fd::AsFd;

use drm::{
    buffer::DrmFourcc,
    control::{dumbbuffer::DumbBuffer, framebuffer, Device as ControlDevice},
};

use super::{io, DeviceError, KmsDevice};

impl KmsDevice {
    /// A dumb buffer of `width`×`height` XRGB8888 filled by `fill(x, y) -> 0xAARRGGBB`,
    /// with its framebuffer.
    pub fn dumb_framebuffer(
        &self,
        width: u32,
        height: u32,
        format: DrmFourcc,
        fill: impl Fn(u32, u32) -> u32,
    ) -> Result<(DumbBuffer, framebuffer::Handle), DeviceError> {
        let mut buffer = self
            .create_dumb_buffer((width, height), format, 32)
            .map_err(io("dumb buffer"))?;
        {
            use drm::buffer::Buffer;
            let pitch = buffer.pitch() as usize;
            let mut map = self.map_dumb_buffer(&mut buffer).map_err(io("map"))?;
            for y in 0..height {
                for x in 0..width {
                    let at = y as usize * pitch + x as usize * 4;
                    if let Some(px) = map.as_mut().get_mut(at..at + 4) {
                        px.copy_from_slice(&fill(x, y).to_le_bytes());
                    }
                }
            }
        }
        // ADDFB2 with the buffer's own format (legacy ADDFB would make any 32-bit buffer
        // XRGB8888 and hide format refusals).
        let fb = self
            .add_planar_framebuffer(&OnePlane(&buffer), drm::control::FbCmd2Flags::empty())
            .map_err(io("framebuffer"))?;
        Ok((buffer, fb))
    }

    /// Frees a framebuffer and its dumb buffer (nothing may scan it out any more).
    pub fn destroy_dumb(&self, buffer: DumbBuffer, fb: framebuffer::Handle) {
        if let Err(err) = self.destroy_framebuffer(fb) {
            tracing::debug!(%err, "framebuffer already gone");
        }
        if let Err(err) = self.destroy_dumb_buffer(buffer) {
            tracing::debug!(%err, "dumb buffer already gone");
        }
    }

    /// Copies rectangles of `source` (rows of `stride` bytes, 4 bytes a pixel, the
    /// buffer's own size) into a dumb buffer: how a CPU-rendered frame reaches scanout.
    pub fn write_dumb(
        &self,
        buffer: &mut DumbBuffer,
        source: &[u8],
        stride: usize,
        rects: &[(u32, u32, u32, u32)],
    ) -> Result<(), DeviceError> {
        use drm::buffer::Buffer;
        let size = buffer.size();
        let pitch = buffer.pitch() as usize;
        let mut map = self.map_dumb_buffer(buffer).map_err(io("map"))?;
        copy_rects(map.as_mut(), pitch, size, source, stride, rects);
        Ok(())
    }

    /// Maps a dumb buffer for as long as the returned mapping lives, so copying a
    /// frame into it costs no mmap and no page faults each time.
    pub fn map_persistent(&self, buffer: &DumbBuffer) -> Result<MappedBuffer, DeviceError> {
        use drm::buffer::Buffer;
        let handle = u32::from(Buffer::handle(buffer));
        let info = drm_ffi::mode::dumbbuffer::map(self.as_fd(), handle, 0, 0).map_err(io("map"))?;
        let (_, height) = Buffer::size(buffer);
        let pitch = Buffer::pitch(buffer) as usize;
        let len = pitch * height as usize;
        // SAFETY: a fresh shared mapping of the buffer's whole length at the offset the
        // kernel gave for it; nothing else in this process maps that range, and the
        // mapping is only released by `MappedBuffer`'s drop.
        let ptr = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                len,
                rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
                rustix::mm::MapFlags::SHARED,
                self.as_fd(),
                info.offset,
            )
        }
        .map_err(|e| {
            DeviceError::Io("mmap", std::io::Error::from_raw_os_error(e.raw_os_error()))
        })?;
        Ok(MappedBuffer {
            ptr: ptr.cast(),
            len,
            pitch,
            size: Buffer::size(buffer),
        })
    }

    /// The pixels of a dumb buffer as 0xAARRGGBB words, rows top first.
    pub fn read_dumb(&self, buffer: &mut DumbBuffer) -> Result<Vec<u32>, DeviceError> {
        use drm::buffer::Buffer;
        let (width, height) = buffer.size();
        let pitch = buffer.pitch() as usize;
        let map = self.map_dumb_buffer(buffer).map_err(io("map"))?;
        let mut out = Vec::with_capacity(width as usize * height as usize);
        for y in 0..height as usize {
            for x in 0..width as usize {
                let at = y * pitch + x * 4;
                let px = map.as_ref().get(at..at + 4).unwrap_or(&[0; 4]);
                out.push(u32::from_le_bytes([px[0], px[1], px[2], px[3]]));
            }
        }
        Ok(out)
    }
}

/// Copies rectangles (x, y, w, h) of `source` into `dst`, clipped to `size`.
fn copy_rects(
    dst: &mut [u8],
    pitch: usize,
    (width, height): (u32, u32),
    source: &[u8],
    stride: usize,
    rects: &[(u32, u32, u32, u32)],
) {
    for &(x, y, w, h) in rects {
        let x0 = x.min(width) as usize;
        let x1 = (x.saturating_add(w)).min(width) as usize;
        let y0 = y.min(height) as usize;
        let y1 = (y.saturating_add(h)).min(height) as usize;
        if x0 >= x1 {
            continue;
        }
        for row in y0..y1 {
            let (Some(to), Some(from)) = (
                dst.get_mut(row * pitch + x0 * 4..row * pitch + x1 * 4),
                source.get(row * stride + x0 * 4..row * stride + x1 * 4),
            ) else {
                continue;
            };
            to.copy_from_slice(from);
        }
    }
}

/// A dumb buffer mapped into memory until this is dropped.
pub struct MappedBuffer {
    ptr: *mut u8,
    len: usize,
    pitch: usize,
    size: (u32, u32),
}

impl MappedBuffer {
    /// Copies rectangles (x, y, w, h) of `source` (rows of `stride` bytes) in.
    pub fn write(&mut self, source: &[u8], stride: usize, rects: &[(u32, u32, u32, u32)]) {
        // SAFETY: `ptr` is a live mapping of `len` bytes made by `map_persistent` and
        // only unmapped in drop; `&mut self` makes this the only view of it.
        let dst = unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) };
        copy_rects(dst, self.pitch, self.size, source, stride, rects);
    }
}

impl Drop for MappedBuffer {
    fn drop(&mut self) {
        // SAFETY: the mapping was made by `map_persistent` with this pointer and length
        // and nothing refers to it once its owner is dropped.
        if let Err(err) = unsafe { rustix::mm::munmap(self.ptr.cast(), self.len) } {
            tracing::warn!(%err, "munmap of a scanout buffer failed");
        }
    }
}

/// A single-plane buffer as ADDFB2 wants it.
struct OnePlane<'a>(&'a DumbBuffer);

impl drm::buffer::PlanarBuffer for OnePlane<'_> {
    fn size(&self) -> (u32, u32) {
        drm::buffer::Buffer::size(self.0)
    }

    fn format(&self) -> DrmFourcc {
        drm::buffer::Buffer::format(self.0)
    }

    fn modifier(&self) -> Option<drm::buffer::DrmModifier> {
        None
    }

    fn pitches(&self) -> [u32; 4] {
        [drm::buffer::Buffer::pitch(self.0), 0, 0, 0]
    }

    fn handles(&self) -> [Option<drm::buffer::Handle>; 4] {
        [Some(drm::buffer::Buffer::handle(self.0)), None, None, None]
    }

    fn offsets(&self) -> [u32; 4] {
        [0; 4]
    }
}
