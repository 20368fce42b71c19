//! Framebuffers over buffers the compositor allocated itself (GBM buffers a GPU renders
//! the composited frame into). Unlike a client's buffer, such a buffer lives as long as
//! the swapchain that made it, so its framebuffer is tied to it: dropping the
//! [`OwnedFramebuffer`] (with the buffer) removes the framebuffer from the device.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use drm::{
    buffer::PlanarBuffer,
    control::{framebuffer, Device as ControlDevice, FbCmd2Flags},
    Device as BasicDevice,
};

use crate::device::{DeviceError, KmsDevice};

/// The device node, held by each framebuffer so it can remove itself.
struct Node(OwnedFd);

impl AsFd for Node {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl BasicDevice for Node {}
impl ControlDevice for Node {}

/// A framebuffer the device removes when this is dropped.
pub struct OwnedFramebuffer {
    fb: framebuffer::Handle,
    node: Node,
}

impl std::fmt::Debug for OwnedFramebuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("OwnedFramebuffer").field(&self.fb).finish()
    }
}

impl OwnedFramebuffer {
    /// The framebuffer to put on a plane.
    pub fn handle(&self) -> framebuffer::Handle {
        self.fb
    }
}

impl Drop for OwnedFramebuffer {
    fn drop(&mut self) {
        if let Err(err) = self.node.destroy_framebuffer(self.fb) {
            tracing::debug!(%err, "removing a framebuffer failed");
        }
    }
}

impl KmsDevice {
    /// Wraps `buffer`, allocated on this device (its GEM handles are this node's), in a
    /// framebuffer; with a modifier where the buffer has an explicit one.
    pub fn add_framebuffer(
        &self,
        buffer: &impl PlanarBuffer,
    ) -> Result<OwnedFramebuffer, DeviceError> {
        let node = Node(
            self.as_fd()
                .try_clone_to_owned()
                .map_err(|e| DeviceError::Io("dup", e))?,
        );
        let flags = if buffer.modifier().is_some() {
            FbCmd2Flags::MODIFIERS
        } else {
            FbCmd2Flags::empty()
        };
        let fb = node
            .add_planar_framebuffer(buffer, flags)
            .map_err(|e| DeviceError::Io("framebuffer", e))?;
        Ok(OwnedFramebuffer { fb, node })
    }
}
