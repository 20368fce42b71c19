//! Casts drawn on the GPU into DMA-BUF (see `ghost_capture::pipewire::gpu`): on KMS
//! with GLES, a consumer that imports DMA-BUF gets buffers allocated on the output's
//! device that the renderer draws each frame into, so no picture is read back to the
//! CPU or copied. HDR outputs and region casts stream through memory (their pictures
//! are made on the CPU: tone mapping, cropping).

use std::{cell::RefCell, collections::HashMap, os::fd::OwnedFd, rc::Rc, sync::Arc};

use anyhow::Context;
use ghost_capture::pipewire::gpu::{GpuBuffer, GpuBuffers, GpuPlane};
use ghost_config::CursorMode;
use smithay::{
    backend::{
        allocator::{
            dmabuf::{AsDmabuf, Dmabuf},
            format::FormatSet,
            gbm::{GbmAllocator, GbmBufferFlags, GbmDevice},
            Allocator, Buffer as _, Fourcc, Modifier,
        },
        renderer::damage::OutputDamageTracker,
    },
    desktop::Window,
    output::Output,
    utils::Transform,
};

use super::CastSource;
use crate::{
    backend::{capture_scene, Backend, Shows},
    render::colour_frames::ColourFrames,
    state::Ghost,
};

/// Cast buffers on the KMS device, by id: GBM allocates them for rendering only
/// (consumers never scan them out), in the modifiers GLES draws into.
pub struct GbmCastBuffers {
    allocator: GbmAllocator<Arc<OwnedFd>>,
    render_formats: FormatSet,
    buffers: HashMap<u64, Dmabuf>,
    next: u64,
}

impl GbmCastBuffers {
    /// Buffers from `gbm` in the layouts of `render_formats`.
    pub fn new(gbm: GbmDevice<Arc<OwnedFd>>, render_formats: FormatSet) -> Self {
        Self {
            allocator: GbmAllocator::new(gbm, GbmBufferFlags::RENDERING),
            render_formats,
            buffers: HashMap::new(),
            next: 1,
        }
    }

    /// Buffer `id`, to draw into.
    pub fn dmabuf(&self, id: u64) -> Option<Dmabuf> {
        self.buffers.get(&id).cloned()
    }
}

impl GpuBuffers for GbmCastBuffers {
    fn modifiers(&self, fourcc: u32) -> Vec<u64> {
        self.render_formats
            .iter()
            .filter(|f| f.code as u32 == fourcc)
            .map(|f| u64::from(f.modifier))
            .collect()
    }

    fn allocate(
        &mut self,
        width: u32,
        height: u32,
        fourcc: u32,
        modifiers: &[u64],
    ) -> Result<GpuBuffer, String> {
        let code = Fourcc::try_from(fourcc).map_err(|_| format!("unknown format {fourcc:#x}"))?;
        let modifiers: Vec<Modifier> = modifiers.iter().map(|m| Modifier::from(*m)).collect();
        let buffer = self
            .allocator
            .create_buffer(width, height, code, &modifiers)
            .map_err(|e| e.to_string())?;
        let dmabuf = buffer.export().map_err(|e| e.to_string())?;
        let mut planes = Vec::new();
        for ((fd, offset), stride) in dmabuf.handles().zip(dmabuf.offsets()).zip(dmabuf.strides()) {
            planes.push(GpuPlane {
                fd: fd.try_clone_to_owned().map_err(|e| e.to_string())?,
                offset,
                stride,
            });
        }
        let id = self.next;
        self.next += 1;
        let modifier = u64::from(dmabuf.format().modifier);
        self.buffers.insert(id, dmabuf);
        Ok(GpuBuffer {
            id,
            modifier,
            planes,
        })
    }

    fn release(&mut self, id: u64) {
        self.buffers.remove(&id);
    }
}

impl Ghost {
    /// The GPU buffers a new cast of `source` offers as DMA-BUF, where it may: KMS with
    /// GLES, a whole output or a window, on an SDR output.
    pub(super) fn cast_gpu_buffers(
        &mut self,
        source: &CastSource,
        output: &Output,
    ) -> Option<Rc<RefCell<GbmCastBuffers>>> {
        if matches!(source, CastSource::Region { .. })
            || crate::protocols::color_management::output_is_hdr(output)
        {
            return None;
        }
        if self.casts.gpu.is_none() {
            let Backend::Kms(kms) = &mut self.backend else {
                return None;
            };
            let (gbm, formats) = kms.painter().cast_gpu()?;
            self.casts.gpu = Some(Rc::new(RefCell::new(GbmCastBuffers::new(gbm, formats))));
        }
        self.casts.gpu.clone()
    }

    /// Renders cast `index`'s picture into the DMA-BUF its consumer took, where it
    /// changed (or the pointer moved) since the last frame.
    pub(super) fn cast_gpu_frame(
        &mut self,
        index: usize,
        output: &Output,
        window: Option<&Window>,
        cursor: CursorMode,
        now: std::time::Duration,
    ) -> anyhow::Result<()> {
        let pointer = match cursor {
            CursorMode::Metadata => Some(self.cursor_meta(output, window, None)),
            _ => None,
        };
        let shows = window.map_or(Shows::Output, Shows::Window);
        let mut scene = capture_scene!(self, shows, cursor == CursorMode::Embedded);
        scene.block_out = true;
        let size = scene
            .capture_size(output)
            .context("the cast shows nothing")?;
        let Backend::Kms(kms) = &mut self.backend else {
            anyhow::bail!("casts are drawn on the GPU on KMS only");
        };
        let buffers = self.casts.gpu.clone().context("no GPU buffers")?;
        let cast = &mut self.casts.casts[index];
        let Some(caster) = self.casts.caster.as_mut() else {
            return Ok(());
        };
        let picture = (size.w as u32, size.h as u32);
        if picture != cast.size {
            caster.resize(cast.id, picture.0, picture.1)?;
            cast.size = picture;
            cast.gpu = None;
            cast.primed = false;
            return Ok(());
        }
        let scale = output.current_scale().fractional_scale();
        let mut gpu = cast.gpu.take().unwrap_or_else(|| GpuCast {
            tracker: OutputDamageTracker::new(size, scale, Transform::Normal),
            colour: ColourFrames::default(),
        });
        let damage = kms
            .painter()
            .cast_damage(&scene, output, &mut gpu.tracker)?;
        let damage: Vec<ghost_capture::Region> = damage.iter().map(super::region_of).collect();
        let Some(damage) = cast.repaint_damage(&damage, picture, pointer.as_ref()) else {
            cast.gpu = Some(gpu);
            return Ok(());
        };
        let colour = &mut gpu.colour;
        let mut draw = |buffer: u64, _missing: Option<&[ghost_capture::Region]>| {
            let Some(mut dmabuf) = buffers.borrow().dmabuf(buffer) else {
                return false;
            };
            match kms
                .painter()
                .render_cast(&scene, output, colour, &mut dmabuf)
            {
                Ok(()) => true,
                Err(err) => {
                    tracing::warn!("cannot draw a cast on the GPU: {err:#}");
                    false
                }
            }
        };
        let pushed = caster.push_gpu(cast.id, picture, &damage, pointer.as_ref(), now, &mut draw);
        cast.gpu = Some(gpu);
        let pushed = pushed?;
        if pushed == ghost_capture::pipewire::Pushed::Sent {
            cast.drawn_in_stream += 1;
        }
        cast.pushed(caster, pushed, picture, pointer)
    }
}

/// What a cast drawn on the GPU keeps between frames.
pub(super) struct GpuCast {
    /// Finds what changed since the last frame.
    tracker: OutputDamageTracker,
    /// The colour path's state, as an output has.
    colour: ColourFrames,
}
