//! What draws the composited frames on KMS. pixman draws on the CPU into memory that is
//! copied into dumb buffers: it runs on every device, including those without a GPU
//! (vkms, simpledrm). GLES draws into a swapchain of GBM buffers that the display scans
//! out as they are, with no copy: the way on GPUs, and on a device without one where
//! Mesa's software rasteriser is asked for (`--renderer gles`).

use std::{
    os::fd::{BorrowedFd, OwnedFd},
    sync::Arc,
};

use anyhow::Context;
use ghost_kms::client_planes::ClientBuffer;
use ghostnv_backend::{device::KmsDevice, framebuffer::OwnedFramebuffer, prime::ClientLayout};
use smithay::{
    backend::{
        allocator::{
            dmabuf::{AsDmabuf, Dmabuf},
            format::FormatSet,
            gbm::{GbmAllocator, GbmBuffer, GbmBufferFlags, GbmDevice},
            Buffer as _, Format, Fourcc, Modifier, Slot, Swapchain,
        },
        egl::{EGLContext, EGLDisplay},
        renderer::{
            damage::OutputDamageTracker,
            element::{Element, Id, RenderElementStates},
            gles::{GlesRenderbuffer, GlesRenderer},
            pixman::PixmanRenderer,
            Bind, ImportDma, Offscreen,
        },
    },
    reexports::pixman::Image,
    utils::{Physical, Rectangle, Size, Transform},
};
use tracing::info;

use crate::render::{
    colour::ColourPrograms, colour_frames, colour_frames::ColourFrames, Scene, CLEAR_COLOR,
};

/// The renderer of every KMS output.
pub enum Painter {
    /// pixman into memory, copied into dumb buffers.
    Pixman(PixmanRenderer),
    /// GLES into GBM buffers.
    Gles(Box<GpuPainter>),
}

/// GLES on the KMS device's GBM, and the allocator of its swapchains.
pub struct GpuPainter {
    pub(super) renderer: GlesRenderer,
    /// The device's GBM, for buffers other than the outputs' (casts).
    gbm: GbmDevice<Arc<OwnedFd>>,
    allocator: GbmAllocator<Arc<OwnedFd>>,
    /// What GLES can draw into, by format and modifier.
    render_formats: FormatSet,
    /// The GL implementation, for `msg outputs`.
    pub(super) name: String,
    /// The colour path's shaders (None where they did not compile: no colour
    /// management is offered then).
    programs: Option<ColourPrograms>,
}

/// Where one output's frames are drawn.
pub enum Canvas {
    /// An image in memory (pixman).
    Memory(Image<'static, 'static>),
    /// GBM buffers taking turns on the primary plane (GLES).
    Swapchain(Box<GpuCanvas>),
}

/// An output's swapchain with the buffers the display holds.
pub struct GpuCanvas {
    pub(super) chain: Swapchain<GbmAllocator<Arc<OwnedFd>>>,
    /// The frame committed and not yet on screen.
    pub(super) pending: Option<Slot<GbmBuffer>>,
    /// The frame on screen.
    pub(super) shown: Option<Slot<GbmBuffer>>,
    /// Conversion of surfaces that are not in the output's colour space.
    colour: ColourFrames,
}

impl GpuCanvas {
    /// A committed frame reached the screen: the one it replaced may be drawn into again.
    pub fn flipped(&mut self) {
        if let Some(slot) = self.pending.take() {
            self.shown = Some(slot);
        }
    }
}

impl Painter {
    /// pixman, or GLES on the device's GBM when `gles` (an error where GBM, EGL or GLES
    /// cannot start there).
    pub fn new(device: &KmsDevice, gles: bool) -> anyhow::Result<Self> {
        if !gles {
            return Ok(Self::Pixman(PixmanRenderer::new()?));
        }
        let gpu = GpuPainter::new(std::os::fd::AsFd::as_fd(device))?;
        info!(gl = gpu.name, "KMS frames drawn by GLES into GBM buffers");
        Ok(Self::Gles(Box::new(gpu)))
    }

    /// Whether GLES draws.
    pub fn is_gles(&self) -> bool {
        matches!(self, Self::Gles(_))
    }

    /// Which of `formats` GLES can draw into (none for pixman, which draws 8-bit).
    pub fn drawable(&self, formats: &[u32]) -> Vec<u32> {
        let Self::Gles(g) = self else {
            return Vec::new();
        };
        formats
            .iter()
            .copied()
            .filter(|f| g.render_formats.iter().any(|r| r.code as u32 == *f))
            .collect()
    }

    /// Whether surfaces' colour descriptions are honoured (converted to the output's):
    /// GLES with its colour shaders. pixman draws every buffer as sRGB.
    pub fn converts_colour(&self) -> bool {
        matches!(self, Self::Gles(g) if g.programs.is_some())
    }

    /// "pixman" or "gles".
    pub fn name(&self) -> &'static str {
        match self {
            Self::Pixman(_) => "pixman",
            Self::Gles(_) => "gles",
        }
    }

    /// The dmabuf formats clients' buffers may come in.
    pub fn dmabuf_formats(&self) -> Vec<Format> {
        match self {
            Self::Pixman(r) => r.dmabuf_formats().into_iter().collect(),
            Self::Gles(g) => g.renderer.dmabuf_formats().into_iter().collect(),
        }
    }

    /// Imports a client's dmabuf for composition.
    pub fn import_dmabuf(&mut self, dmabuf: &Dmabuf) -> bool {
        match self {
            Self::Pixman(r) => r.import_dmabuf(dmabuf, None).is_ok(),
            Self::Gles(g) => g.renderer.import_dmabuf(dmabuf, None).is_ok(),
        }
    }

    /// Renders `output` offscreen for a screenshot: 8-bit sRGB (an HDR output tone
    /// mapped), or with `hdr` an HDR output's PQ/BT.2020 signal.
    /// A capture packed for an encoder on the GPU, where GLES draws with colour
    /// programs.
    pub fn capture_packed(
        &mut self,
        scene: &Scene<'_>,
        output: &smithay::output::Output,
        hdr: bool,
    ) -> Option<anyhow::Result<ghost_capture::YuvFrame>> {
        match self {
            Self::Gles(g) => g.programs.as_ref().map(|programs| {
                colour_frames::capture_yuv(scene, &mut g.renderer, programs, output, hdr)
            }),
            Self::Pixman(_) => None,
        }
    }

    pub fn capture(
        &mut self,
        scene: &Scene<'_>,
        output: &smithay::output::Output,
        hdr: bool,
    ) -> anyhow::Result<crate::backend::Captured> {
        use crate::backend::Captured;
        let description = crate::protocols::color_management::output_description(output).0;
        match self {
            Self::Pixman(_) if hdr => anyhow::bail!("pixman draws SDR only"),
            Self::Pixman(r) => Ok(Captured::Sdr(crate::render::capture_output(
                scene, r, output,
            )?)),
            Self::Gles(g) => match &g.programs {
                Some(programs) if hdr || colour_frames::capture_needs_colour(scene, output) => {
                    // An HDR output's signal is read at 10 bits, then tone mapped for
                    // an SDR picture; 8 bits would clip PQ.
                    let format = if description.transfer.is_hdr() {
                        Fourcc::Abgr2101010
                    } else {
                        Fourcc::Abgr8888
                    };
                    colour_frames::capture(scene, &mut g.renderer, programs, output, hdr, format)
                }
                _ if hdr => anyhow::bail!("output {} is not in HDR mode", output.name()),
                _ => Ok(Captured::Sdr(crate::render::capture_output::<
                    _,
                    GlesRenderbuffer,
                >(
                    scene, &mut g.renderer, output
                )?)),
            },
        }
    }

    /// The device's GBM and the formats GLES draws into, for casts drawn on the GPU
    /// (None for pixman, which casts through memory).
    pub fn cast_gpu(&self) -> Option<(GbmDevice<Arc<OwnedFd>>, FormatSet)> {
        match self {
            Self::Gles(g) => Some((g.gbm.clone(), g.render_formats.clone())),
            Self::Pixman(_) => None,
        }
    }

    /// What changed in a cast's picture of `scene` since `tracker` last looked (the
    /// whole picture the first time).
    pub fn cast_damage(
        &mut self,
        scene: &Scene<'_>,
        output: &smithay::output::Output,
        tracker: &mut OutputDamageTracker,
    ) -> anyhow::Result<Vec<Rectangle<i32, Physical>>> {
        let Self::Gles(g) = self else {
            anyhow::bail!("pixman draws no casts on the GPU");
        };
        let elements = scene.elements(&mut g.renderer, output, scene.capture_cursor);
        let (damage, _) = tracker
            .damage_output(1, &elements)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        Ok(damage.cloned().unwrap_or_default())
    }

    /// Renders `scene` whole into a cast's `dmabuf`, through the colour path as the
    /// screen is; finished when this returns, so the consumer's import waits on nothing.
    pub fn render_cast(
        &mut self,
        scene: &Scene<'_>,
        output: &smithay::output::Output,
        colour: &mut ColourFrames,
        dmabuf: &mut Dmabuf,
    ) -> anyhow::Result<()> {
        let Self::Gles(g) = self else {
            anyhow::bail!("pixman draws no casts on the GPU");
        };
        let size = dmabuf.size();
        let size: Size<i32, Physical> = (size.w, size.h).into();
        let scale = output.current_scale().fractional_scale();
        let renderer = &mut g.renderer;
        let elements = scene.elements(renderer, output, scene.capture_cursor);
        let mut framebuffer = renderer
            .bind(dmabuf)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let mut tracker = OutputDamageTracker::new(size, scale, Transform::Normal);
        let drawn = colour.draw(
            renderer,
            g.programs.as_ref(),
            &mut tracker,
            &mut framebuffer,
            size,
            0,
            &elements,
            scene,
            output,
        )?;
        drawn
            .sync
            .wait()
            .map_err(|_| anyhow::anyhow!("waiting for the GPU was interrupted"))
    }

    /// A canvas of `size` for an output whose primary plane takes `format` with
    /// `plane_modifiers`.
    pub fn canvas(
        &mut self,
        size: Size<i32, Physical>,
        format: u32,
        plane_modifiers: &[u64],
    ) -> anyhow::Result<Canvas> {
        match self {
            Self::Pixman(r) => {
                let image = r
                    .create_buffer(
                        Fourcc::Xrgb8888,
                        size.to_logical(1).to_buffer(1, Transform::Normal),
                    )
                    .context("no image to draw into")?;
                Ok(Canvas::Memory(image))
            }
            Self::Gles(g) => g.swapchain(size, format, plane_modifiers),
        }
    }
}

impl GpuPainter {
    fn new(device: BorrowedFd<'_>) -> anyhow::Result<Self> {
        let fd = device
            .try_clone_to_owned()
            .context("cannot share the DRM node with GBM")?;
        let gbm = GbmDevice::new(Arc::new(fd)).context("no GBM on this device")?;
        // SAFETY: the display is made from a GBM device on our own open node, which the
        // allocator keeps open for as long as the display, context and renderer live.
        let display = unsafe { EGLDisplay::new(gbm.clone()) }.context("no EGL on GBM")?;
        let context = EGLContext::new(&display).context("no EGL context")?;
        let render_formats = context.dmabuf_render_formats().clone();
        // SAFETY: the context is fresh and owned by the renderer from here on.
        let mut renderer = unsafe { GlesRenderer::new(context) }.context("no GLES renderer")?;
        let name = crate::render::colour::renderer_name(&mut renderer);
        let programs = ColourPrograms::compile(&mut renderer)
            .map_err(|err| {
                tracing::warn!(%err, "colour shaders did not compile; no colour management");
            })
            .ok();
        let allocator = GbmAllocator::new(
            gbm.clone(),
            GbmBufferFlags::RENDERING | GbmBufferFlags::SCANOUT,
        );
        Ok(Self {
            renderer,
            gbm,
            allocator,
            render_formats,
            name,
            programs,
        })
    }

    /// A swapchain in the modifiers both the plane and GLES take (the driver's choice
    /// where they share none, or the plane lists none).
    fn swapchain(
        &self,
        size: Size<i32, Physical>,
        format: u32,
        plane_modifiers: &[u64],
    ) -> anyhow::Result<Canvas> {
        let fourcc = Fourcc::try_from(format).unwrap_or(Fourcc::Xrgb8888);
        let modifiers = swapchain_modifiers(self.render_formats.iter(), fourcc, plane_modifiers);
        let (w, h) = (
            u32::try_from(size.w).context("output width")?,
            u32::try_from(size.h).context("output height")?,
        );
        let mut chain = Swapchain::new(self.allocator.clone(), w, h, fourcc, modifiers);
        // Allocating one now finds a device that cannot give such buffers while the
        // output is being set up, not at its first frame.
        let probe = chain
            .acquire()
            .context("no GBM buffer for the output")?
            .context("no free buffer in a new swapchain")?;
        drop(probe);
        Ok(Canvas::Swapchain(Box::new(GpuCanvas {
            chain,
            pending: None,
            shown: None,
            colour: ColourFrames::default(),
        })))
    }
}

/// The modifiers a swapchain in `fourcc` may use: those the primary plane lists
/// (IN_FORMATS) that GLES also draws into, in GLES's order; where they share none (or
/// the plane lists none), the driver's implicit choice, which GBM makes scanout-able.
fn swapchain_modifiers<'a>(
    render: impl Iterator<Item = &'a Format>,
    fourcc: Fourcc,
    plane_modifiers: &[u64],
) -> Vec<Modifier> {
    let mut modifiers: Vec<Modifier> = render
        .filter(|f| f.code == fourcc && plane_modifiers.contains(&u64::from(f.modifier)))
        .map(|f| f.modifier)
        .collect();
    if modifiers.is_empty() {
        modifiers.push(Modifier::Invalid);
    }
    modifiers
}

/// The dmabuf of `slot` for GLES to draw into, and its framebuffer for the primary
/// plane (made once per buffer and kept with it).
pub fn slot_target(
    device: &KmsDevice,
    slot: &Slot<GbmBuffer>,
) -> anyhow::Result<(Dmabuf, ClientBuffer)> {
    let dmabuf = slot.export().context("cannot export the GBM buffer")?;
    if slot.userdata().get::<OwnedFramebuffer>().is_none() {
        let fb = device
            .add_framebuffer(&**slot)
            .context("the device takes no framebuffer of the GBM buffer")?;
        slot.userdata().insert_if_missing(|| fb);
    }
    let fb = slot
        .userdata()
        .get::<OwnedFramebuffer>()
        .context("the framebuffer went missing")?
        .handle();
    let size = slot.size();
    let layout = ClientLayout {
        size: (size.w.max(0) as u32, size.h.max(0) as u32),
        format: slot.format().code as u32,
        modifier: u64::from(slot.format().modifier),
        stride: dmabuf.strides().next().unwrap_or(0),
        offset: dmabuf.offsets().next().unwrap_or(0),
    };
    Ok((dmabuf, ClientBuffer { fb, layout }))
}

/// What a frame drew.
pub struct Drawn {
    /// What changed (None: nothing did).
    pub damage: Option<Vec<Rectangle<i32, Physical>>>,
    /// Where each element ended up.
    pub states: RenderElementStates,
    /// The GBM buffer drawn into, with its framebuffer (None: the frame is in memory).
    pub buffer: Option<(ClientBuffer, Slot<GbmBuffer>)>,
    /// Signals when the GPU has finished drawing (None: it has).
    pub ready: Option<OwnedFd>,
}

/// Draws `scene` on `output` into its canvas, leaving out the surfaces with `offloaded`
/// ids (they are on planes). `fresh` makes everything drawn again (the canvas's old
/// contents are not to be trusted).
#[allow(clippy::too_many_arguments)]
pub fn draw(
    painter: &mut Painter,
    canvas: &mut Canvas,
    device: &KmsDevice,
    tracker: &mut OutputDamageTracker,
    fresh: bool,
    scene: &Scene<'_>,
    output: &smithay::output::Output,
    offloaded: &[Id],
) -> anyhow::Result<Drawn> {
    match (painter, canvas) {
        (Painter::Pixman(renderer), Canvas::Memory(image)) => {
            let elements = elements(scene, renderer, output, offloaded);
            let mut framebuffer = renderer.bind(image).map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let r = tracker
                .render_output(
                    renderer,
                    &mut framebuffer,
                    usize::from(!fresh),
                    &elements,
                    CLEAR_COLOR,
                )
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            Ok(Drawn {
                damage: r.damage.cloned(),
                states: r.states,
                buffer: None,
                ready: None,
            })
        }
        (Painter::Gles(gpu), Canvas::Swapchain(canvas)) => {
            if fresh {
                canvas.chain.reset_buffer_ages();
            }
            let slot = canvas
                .chain
                .acquire()
                .context("no GBM buffer")?
                .context("every GBM buffer of the output is in use")?;
            let (mut dmabuf, buffer) = slot_target(device, &slot)?;
            let renderer = &mut gpu.renderer;
            let elements = elements(scene, renderer, output, offloaded);
            let size = slot.size();
            let mut framebuffer = renderer
                .bind(&mut dmabuf)
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let r = canvas.colour.draw(
                renderer,
                gpu.programs.as_ref(),
                tracker,
                &mut framebuffer,
                (size.w, size.h).into(),
                usize::from(slot.age()),
                &elements,
                scene,
                output,
            )?;
            // The display must not scan out a half-drawn buffer: it waits on the
            // GPU's fence where EGL gives one (native fences), else we wait here.
            let ready = r.sync.export();
            if ready.is_none() {
                r.sync
                    .wait()
                    .map_err(|_| anyhow::anyhow!("waiting for the GPU was interrupted"))?;
            }
            Ok(Drawn {
                damage: r.damage,
                states: r.states,
                buffer: Some((buffer, slot)),
                ready,
            })
        }
        _ => anyhow::bail!("the output's canvas is not the renderer's"),
    }
}

/// The scene's elements but those on planes.
fn elements<R>(
    scene: &Scene<'_>,
    renderer: &mut R,
    output: &smithay::output::Output,
    offloaded: &[Id],
) -> Vec<crate::render::OutputElement<R>>
where
    R: smithay::backend::renderer::Renderer
        + smithay::backend::renderer::ImportAll
        + smithay::backend::renderer::ImportMem,
    R::TextureId: Clone + smithay::backend::renderer::Texture + Send + 'static,
{
    let mut elements = scene.elements(renderer, output, true);
    if !offloaded.is_empty() {
        elements.retain(|e| !offloaded.contains(e.id()));
    }
    elements
}

impl Canvas {
    /// The frame drawn in memory: its bytes and bytes per row (None for GBM buffers).
    pub fn pixels(&self) -> Option<(&[u8], usize)> {
        let Canvas::Memory(image) = self else {
            return None;
        };
        let stride = image.stride();
        let len = stride * image.height();
        // SAFETY: the image owns its pixels (created by pixman with its own storage) and
        // is borrowed for as long as the slice lives, so nothing draws into it meanwhile.
        let pixels = unsafe { std::slice::from_raw_parts(image.data() as *const u8, len) };
        Some((pixels, stride))
    }

    /// The swapchain, where GLES draws this output.
    pub fn gpu(&mut self) -> Option<&mut GpuCanvas> {
        match self {
            Canvas::Swapchain(c) => Some(c),
            Canvas::Memory(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ghostnv_backend::{PlaneKind, MODIFIER_INVALID, MODIFIER_LINEAR};

    /// The primary plane's modifiers for XRGB8888 on the nvidia-drm description.
    fn nvidia_primary_modifiers() -> Vec<u64> {
        let model = super::super::nvidia_description();
        let plane = model
            .planes
            .iter()
            .find(|p| p.kind == PlaneKind::Primary)
            .expect("a primary plane");
        plane.in_formats[&(Fourcc::Xrgb8888 as u32)].clone()
    }

    fn format(code: Fourcc, modifier: u64) -> Format {
        Format {
            code,
            modifier: Modifier::from(modifier),
        }
    }

    #[test]
    fn a_gpu_swapchain_takes_the_tiled_layouts_the_primary_plane_scans_out() {
        let plane = nvidia_primary_modifiers();
        let tiled: Vec<u64> = plane
            .iter()
            .copied()
            .filter(|m| *m != MODIFIER_LINEAR)
            .take(2)
            .collect();
        assert!(!tiled.is_empty(), "the description lists tiled layouts");
        let mut render: Vec<Format> = tiled.iter().map(|m| format(Fourcc::Xrgb8888, *m)).collect();
        // What GLES also draws but the plane does not take, or in another format.
        render.push(format(Fourcc::Xrgb8888, 0x0100_0000_0000_00ff));
        render.push(format(Fourcc::Abgr2101010, tiled[0]));
        render.push(format(Fourcc::Xrgb8888, MODIFIER_INVALID));
        let chosen = swapchain_modifiers(render.iter(), Fourcc::Xrgb8888, &plane);
        let expected: Vec<Modifier> = tiled.iter().map(|m| Modifier::from(*m)).collect();
        assert_eq!(chosen, expected);
    }

    #[test]
    fn with_nothing_in_common_the_driver_chooses() {
        let render = [format(Fourcc::Xrgb8888, 0x0100_0000_0000_00ff)];
        assert_eq!(
            swapchain_modifiers(render.iter(), Fourcc::Xrgb8888, &nvidia_primary_modifiers()),
            vec![Modifier::Invalid]
        );
        // A plane without IN_FORMATS (a legacy driver): the same.
        assert_eq!(
            swapchain_modifiers(render.iter(), Fourcc::Xrgb8888, &[]),
            vec![Modifier::Invalid]
        );
    }
}
