//! A cast's buffers on the GPU: choosing the modifier, giving PipeWire's buffers their
//! planes, and drawing into them (see [`super::super::gpu`] for the negotiation).

use pipewire as pw;
use pw::spa::param::video::VideoFormat;

use super::{Cast, GpuDraw, Negotiated, Shared};
use crate::frame::Region;
use crate::pipewire::gpu::{self, SharedGpuBuffers};

/// Where one plane of a GPU buffer is, as its chunk states it.
#[derive(Debug, Clone, Copy)]
pub(super) struct PlaneLayout {
    offset: u32,
    stride: u32,
    size: u32,
}

/// Chooses the modifier for a consumer that left it open among `listed`: a buffer
/// allocated with those the renderer also draws into shows which one the allocator
/// takes. Where none is shared or the allocation fails, the cast falls back to shared
/// memory.
pub(super) fn fixate(
    shared: &mut Shared,
    gpu: &SharedGpuBuffers,
    format: VideoFormat,
    size: pw::spa::utils::Rectangle,
    listed: &[u64],
) {
    let Ok(mut gpu) = gpu.try_borrow_mut() else {
        return;
    };
    let Some(fourcc) = gpu::drm_fourcc(format) else {
        return;
    };
    let ours = gpu.modifiers(fourcc);
    let both: Vec<u64> = listed
        .iter()
        .copied()
        .filter(|m| ours.contains(m))
        .collect();
    let chosen = if both.is_empty() {
        Err("the consumer imports none of the modifiers the renderer draws into".into())
    } else {
        gpu.allocate(size.width, size.height, fourcc, &both)
    };
    match chosen {
        Ok(buffer) => {
            tracing::debug!(?format, modifier = buffer.modifier, "cast modifier chosen");
            shared.fixated = Some((format, buffer.modifier));
            shared.planes = buffer.planes.len() as u32;
            gpu.release(buffer.id);
        }
        Err(err) => {
            tracing::warn!(%err, "no DMA-BUF for the cast: shared memory instead");
            shared.fixated = None;
            shared.gpu_failed = true;
        }
    }
}

/// Gives PipeWire's new buffer `raw` a GPU buffer in the agreed format; its id and
/// planes (offset, stride, size), or None where that failed.
pub(super) fn add_gpu_buffer(
    gpu: &SharedGpuBuffers,
    raw: *mut pw::sys::pw_buffer,
    format: &Negotiated,
    fourcc: u32,
    modifier: u64,
) -> Option<(u64, Vec<PlaneLayout>)> {
    let Ok(mut gpu) = gpu.try_borrow_mut() else {
        return None;
    };
    let buffer = match gpu.allocate(format.width, format.height, fourcc, &[modifier]) {
        Ok(buffer) => buffer,
        Err(err) => {
            tracing::warn!(%err, "cannot allocate a cast buffer on the GPU");
            return None;
        }
    };
    let id = buffer.id;
    let planes = buffer
        .planes
        .iter()
        .map(|p| PlaneLayout {
            offset: p.offset,
            stride: p.stride,
            size: p.stride.saturating_mul(format.height),
        })
        .collect();
    // SAFETY: PipeWire hands add_buffer a buffer it has just made and nothing else
    // uses yet.
    match unsafe { gpu::attach(raw, buffer, format.height) } {
        Ok(()) => Some((id, planes)),
        Err(buffer) => {
            tracing::warn!("a cast buffer has no room for DMA-BUF planes");
            gpu.release(buffer.id);
            None
        }
    }
}

impl Cast {
    /// Draws into the GPU buffer of the dequeued `raw` what it lacks, and states its
    /// planes again (a consumer can write the chunks it shares).
    ///
    /// # Safety
    /// `raw` is a dequeued pw_buffer, not queued back yet.
    pub(super) unsafe fn fill_gpu(
        &mut self,
        raw: *mut pw::sys::pw_buffer,
        draw: &mut GpuDraw<'_>,
        damage: &[Region],
    ) {
        // SAFETY: per this function's contract.
        let Some(id) = (unsafe { gpu::id_of(raw) }) else {
            return;
        };
        let Some(planes) = self.shared.borrow().layouts.get(&id).cloned() else {
            return;
        };
        self.refresh(id as usize, damage, &mut |missing| draw(id, missing));
        // SAFETY: per this function's contract, its spa_buffer and `n_datas` data
        // blocks (at least one per plane, `attach` checked) are valid.
        unsafe {
            let spa = &*(*raw).buffer;
            let datas = std::slice::from_raw_parts_mut(spa.datas, spa.n_datas as usize);
            for (data, plane) in datas.iter_mut().zip(planes) {
                if let Some(chunk) = data.chunk.as_mut() {
                    chunk.offset = plane.offset;
                    chunk.stride = plane.stride as i32;
                    chunk.size = plane.size;
                    chunk.flags = 0;
                }
            }
        }
    }
}
