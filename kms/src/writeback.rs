//! Reading back what a CRTC scans out through the device's writeback connector: the
//! display engine's own composition of every plane, what the user sees.

use std::{collections::BTreeMap, time::Duration};

use drm::{buffer::DrmFourcc, control::framebuffer};
use ghostnv_backend::{
    device::{KmsDevice, Submit},
    sim::CrtcState,
    ModeInfo, CONNECTOR_WRITEBACK,
};

use crate::scanout::{primary_request, Scanout};

impl Scanout {
    /// What `crtc` scans out right now, read back through the device's writeback
    /// connector: (width, height, 0xAARRGGBB pixels). Blocks for a frame or two.
    pub fn writeback(&mut self, crtc: u32) -> Result<(u32, u32, Vec<u32>), String> {
        if self.paused {
            return Err("the session is on another virtual terminal".into());
        }
        self.settle();
        let model = &self.device.model;
        let index = model
            .crtcs
            .iter()
            .position(|c| c.id == crtc)
            .ok_or_else(|| format!("no CRTC {crtc}"))?;
        let connector = model
            .connectors
            .iter()
            .find(|c| {
                c.connector_type == CONNECTOR_WRITEBACK && c.possible_crtcs & (1 << index) != 0
            })
            .map(|c| c.id)
            .ok_or("the device has no writeback connector for this output")?;
        let head = self
            .heads
            .iter()
            .find(|h| h.lit.crtc == crtc)
            .ok_or_else(|| format!("no output on CRTC {crtc}"))?;
        if !head.active {
            return Err("the output is switched off".into());
        }
        let mode: ModeInfo = head.lit.mode.clone();
        let (w, h) = (u32::from(mode.width), u32::from(mode.height));
        let (mut buffer, fb) = self
            .device
            .dumb_framebuffer(w, h, DrmFourcc::Xrgb8888, |_, _| 0)
            .map_err(|e| e.to_string())?;
        let mut request = primary_request(head, false);
        // Routing the writeback connector to the CRTC is a modeset in the kernel's
        // eyes, though the mode itself stays.
        request.allow_modeset = true;
        request.crtcs.push(CrtcState {
            crtc,
            mode: Some(mode),
            connectors: vec![head.lit.connector],
        });
        let fbs: BTreeMap<u32, framebuffer::Handle> = [(head.lit.plane, head.front_fb())].into();
        let result = self
            .device
            .submit(&request, &fbs, Some((connector, fb)), Submit::Blocking);
        let pixels = match result {
            Ok(Some(fence)) => match KmsDevice::wait_fence(&fence, Duration::from_secs(3)) {
                Ok(true) => self
                    .device
                    .read_dumb(&mut buffer)
                    .map_err(|e| e.to_string()),
                Ok(false) => Err("the writeback did not finish in 3 s".to_owned()),
                Err(e) => Err(e.to_string()),
            },
            Ok(None) => {
                // No fence property: the frame is written by the vblank after next.
                std::thread::sleep(Duration::from_millis(100));
                self.device
                    .read_dumb(&mut buffer)
                    .map_err(|e| e.to_string())
            }
            Err(e) => Err(e.to_string()),
        };
        self.device.destroy_dumb(buffer, fb);
        pixels.map(|p| (w, h, p))
    }
}
