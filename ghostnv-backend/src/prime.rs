//! Client buffers as framebuffers: a dmabuf a client shared (linux-dmabuf) is imported
//! into the device through PRIME and wrapped in a framebuffer with ADDFB2, so a plane
//! can scan it out without the compositor copying a pixel. The buffer stays the
//! client's; the framebuffer only borrows its memory until [`KmsDevice::release_client`].

use std::os::fd::BorrowedFd;

use drm::{
    buffer::{DrmFourcc, DrmModifier, PlanarBuffer},
    control::{framebuffer, Device as ControlDevice, FbCmd2Flags},
};

use crate::{
    device::{DeviceError, KmsDevice},
    MODIFIER_INVALID, MODIFIER_LINEAR,
};

/// The single-plane layout of a client's dmabuf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientLayout {
    /// Width and height in pixels.
    pub size: (u32, u32),
    /// fourcc code.
    pub format: u32,
    /// Layout modifier (linear, a vendor tiling, or invalid for "implicit").
    pub modifier: u64,
    /// Bytes per row.
    pub stride: u32,
    /// Where the pixels start in the buffer.
    pub offset: u32,
}

/// A client buffer the device can scan out.
#[derive(Debug, PartialEq, Eq)]
pub struct ClientFramebuffer {
    /// The framebuffer to put on a plane.
    pub fb: framebuffer::Handle,
    /// The GEM handle PRIME gave (closed on release).
    handle: drm::buffer::Handle,
    /// What it holds.
    pub layout: ClientLayout,
}

struct Imported {
    handle: drm::buffer::Handle,
    layout: ClientLayout,
}

impl PlanarBuffer for Imported {
    fn size(&self) -> (u32, u32) {
        self.layout.size
    }

    fn format(&self) -> DrmFourcc {
        // Checked by the caller before the import.
        DrmFourcc::try_from(self.layout.format).unwrap_or(DrmFourcc::Xrgb8888)
    }

    fn modifier(&self) -> Option<DrmModifier> {
        // Linear needs no modifier (devices without ADDFB2 modifiers take it so);
        // "implicit" is the absence of one.
        match self.layout.modifier {
            MODIFIER_LINEAR | MODIFIER_INVALID => None,
            m => Some(DrmModifier::from(m)),
        }
    }

    fn pitches(&self) -> [u32; 4] {
        [self.layout.stride, 0, 0, 0]
    }

    fn handles(&self) -> [Option<drm::buffer::Handle>; 4] {
        [Some(self.handle), None, None, None]
    }

    fn offsets(&self) -> [u32; 4] {
        [self.layout.offset, 0, 0, 0]
    }
}

impl KmsDevice {
    /// Imports the dmabuf `fd` laid out as `layout` and makes a framebuffer of it.
    /// Fails (nothing left behind) when the device cannot import it or refuses the
    /// format, modifier or stride: the caller composites the buffer instead.
    pub fn import_client(
        &self,
        fd: BorrowedFd<'_>,
        layout: ClientLayout,
    ) -> Result<ClientFramebuffer, DeviceError> {
        if DrmFourcc::try_from(layout.format).is_err() {
            return Err(DeviceError::Io(
                "client buffer",
                std::io::Error::from(std::io::ErrorKind::Unsupported),
            ));
        }
        let handle = self
            .prime_fd_to_buffer(fd)
            .map_err(|e| DeviceError::Io("PRIME import", e))?;
        let imported = Imported { handle, layout };
        let flags = if imported.modifier().is_some() {
            FbCmd2Flags::MODIFIERS
        } else {
            FbCmd2Flags::empty()
        };
        match self.add_planar_framebuffer(&imported, flags) {
            Ok(fb) => Ok(ClientFramebuffer { fb, handle, layout }),
            Err(e) => {
                let _ = self.close_buffer(handle);
                Err(DeviceError::Io("client framebuffer", e))
            }
        }
    }

    /// Lets go of a client buffer's framebuffer (once no plane shows it).
    pub fn release_client(&self, buffer: ClientFramebuffer) {
        if let Err(err) = self.destroy_framebuffer(buffer.fb) {
            tracing::debug!(%err, "removing a client framebuffer failed");
        }
        if let Err(err) = self.close_buffer(buffer.handle) {
            tracing::debug!(%err, "closing a client buffer's handle failed");
        }
    }
}
