//! One interface for the things that take atomic requests: the simulated device and a
//! real device, so output setup and its fallbacks are the same code in both.

use std::collections::BTreeMap;

use drm::{buffer::DrmFourcc, control::framebuffer};

use crate::{
    device::{DeviceError, KmsDevice, Submit},
    model::DeviceModel,
    sim::{AtomicRequest, SimDevice},
};

/// Takes atomic requests.
pub trait Committer {
    /// What the device has.
    fn model(&self) -> &DeviceModel;
    /// TEST_ONLY: would the device take `request`? The error says why not.
    fn test(&mut self, request: &AtomicRequest) -> Result<(), String>;
    /// Applies `request`.
    fn commit(&mut self, request: &AtomicRequest) -> Result<(), String>;
}

impl Committer for SimDevice {
    fn model(&self) -> &DeviceModel {
        &self.model
    }

    fn test(&mut self, request: &AtomicRequest) -> Result<(), String> {
        SimDevice::test(self, request).map_err(|e| e.to_string())
    }

    fn commit(&mut self, request: &AtomicRequest) -> Result<(), String> {
        SimDevice::commit(self, request).map_err(|e| e.to_string())
    }
}

/// The buffers a [`DumbCommitter`] made, by (plane, width, height, format).
pub type MadeBuffers =
    BTreeMap<(u32, u32, u32, u32), (drm::control::dumbbuffer::DumbBuffer, framebuffer::Handle)>;

/// A real device with a dumb-buffer framebuffer made on demand for each plane and
/// buffer shape a request names, filled with one colour. The buffers outlive the
/// committer ([`Self::into_buffers`]), so the one a modeset put on screen can go on
/// being shown.
pub struct DumbCommitter<'a> {
    /// The device.
    pub device: &'a KmsDevice,
    buffers: MadeBuffers,
    /// The colour new buffers are filled with (0xAARRGGBB).
    pub fill: u32,
}

impl<'a> DumbCommitter<'a> {
    /// Commits to `device`.
    pub fn new(device: &'a KmsDevice, fill: u32) -> Self {
        Self {
            device,
            buffers: BTreeMap::new(),
            fill,
        }
    }

    /// Every buffer made, for the caller to keep or free.
    pub fn into_buffers(self) -> MadeBuffers {
        self.buffers
    }

    fn framebuffers(
        &mut self,
        request: &AtomicRequest,
    ) -> Result<BTreeMap<u32, framebuffer::Handle>, String> {
        let mut out = BTreeMap::new();
        for p in request.planes.iter().filter(|p| p.crtc.is_some()) {
            let key = (p.plane, p.fb.width, p.fb.height, p.fb.format);
            if !self.buffers.contains_key(&key) {
                let format = DrmFourcc::try_from(p.fb.format)
                    .map_err(|_| format!("unknown format {:#x}", p.fb.format))?;
                let fill = self.fill;
                let made = self
                    .device
                    .dumb_framebuffer(p.fb.width, p.fb.height, format, |_, _| fill)
                    .map_err(|e: DeviceError| e.to_string())?;
                self.buffers.insert(key, made);
            }
            if let Some((_, fb)) = self.buffers.get(&key) {
                out.insert(p.plane, *fb);
            }
        }
        Ok(out)
    }
}

impl Committer for DumbCommitter<'_> {
    fn model(&self) -> &DeviceModel {
        &self.device.model
    }

    fn test(&mut self, request: &AtomicRequest) -> Result<(), String> {
        let fbs = self.framebuffers(request)?;
        self.device
            .submit(request, &fbs, None, Submit::TestOnly)
            .map(drop)
            .map_err(|e| e.to_string())
    }

    fn commit(&mut self, request: &AtomicRequest) -> Result<(), String> {
        let fbs = self.framebuffers(request)?;
        self.device
            .submit(request, &fbs, None, Submit::Blocking)
            .map(drop)
            .map_err(|e| e.to_string())
    }
}
