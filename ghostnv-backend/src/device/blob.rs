//! Property blobs a request makes (modes, FB_DAMAGE_CLIPS, HDR_OUTPUT_METADATA): made
//! from bytes, and destroyed once the commit that uses them holds its own reference.

use std::os::fd::AsFd;

use super::{io, DeviceError, KmsDevice};

/// A property blob (FB_DAMAGE_CLIPS, HDR_OUTPUT_METADATA), destroyed when dropped: an
/// atomic commit keeps its own reference, so the id is only needed until then.
pub(crate) struct PropertyBlob<'a> {
    pub(crate) device: &'a KmsDevice,
    pub(crate) id: u32,
}

impl<'a> PropertyBlob<'a> {
    pub(crate) fn new(device: &'a KmsDevice, mut bytes: Vec<u8>) -> Result<Self, DeviceError> {
        let blob = drm_ffi::mode::create_property_blob(device.as_fd(), &mut bytes)
            .map_err(io("property blob"))?;
        Ok(Self {
            device,
            id: blob.blob_id,
        })
    }
}

impl Drop for PropertyBlob<'_> {
    fn drop(&mut self) {
        let _ = drm_ffi::mode::destroy_property_blob(self.device.as_fd(), self.id);
    }
}

/// `clips` (x, y, width, height) as the kernel's `struct drm_mode_rect` array: x1, y1,
/// x2, y2 as native-endian 32-bit signed integers, corners exclusive.
pub(crate) fn damage_rects(clips: &[crate::sim::ClipRect]) -> Vec<u8> {
    let edge = |v: u64| i32::try_from(v).unwrap_or(i32::MAX).to_ne_bytes();
    clips
        .iter()
        .flat_map(|&(x, y, w, h)| {
            let (x, y) = (u64::from(x), u64::from(y));
            [
                edge(x),
                edge(y),
                edge(x + u64::from(w)),
                edge(y + u64::from(h)),
            ]
        })
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn damage_clips_are_laid_out_as_the_kernels_drm_mode_rect() {
        let bytes = super::damage_rects(&[(10, 20, 30, 40), (0, 0, 1, 1)]);
        let ints: Vec<i32> = bytes
            .chunks_exact(4)
            .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        assert_eq!(ints, [10, 20, 40, 60, 0, 0, 1, 1]);
    }
}
