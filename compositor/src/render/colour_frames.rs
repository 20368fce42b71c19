//! Colour management on GLES outputs whose buffer is the screen's (KMS) or the host's
//! window (nested). While every surface on an output is sRGB and so is the output, a
//! frame draws as it always did: damage-tracked, straight into the output's buffer.
//! Once a surface (or the output) has another description, the frame goes through the
//! two passes of [`super::colour`], the second writing the output's buffer, so what the
//! colour-management protocol promised a client is what the screen shows.

use std::collections::HashMap;

use anyhow::Context;
use ghost_hdr::ImageDescription;
use smithay::{
    backend::{
        allocator::Fourcc,
        renderer::{
            damage::OutputDamageTracker,
            element::{Id, RenderElementStates},
            gles::{GlesRenderer, GlesTarget, GlesTexture},
            sync::SyncPoint,
            Offscreen, Texture,
        },
    },
    output::Output,
    utils::{Physical, Rectangle, Size, Transform},
};

use super::{
    colour::{self, ColourPrograms, ColourTargets, ReadBack},
    OutputElement, Scene, CLEAR_COLOR,
};
use crate::protocols::color_management::output_description;

/// The descriptions one frame was drawn with.
#[derive(Debug, Clone, PartialEq)]
struct FrameColours {
    output: ImageDescription,
    surfaces: HashMap<Id, ImageDescription>,
}

impl FrameColours {
    fn of(scene: &Scene<'_>, output: &Output) -> Self {
        Self {
            output: output_description(output).0,
            surfaces: scene.surface_descriptions(output),
        }
    }

    /// Whether the plain path shows this frame as described: sRGB everywhere.
    fn plain(&self) -> bool {
        let srgb = ImageDescription::srgb();
        self.output == srgb && self.surfaces.values().all(|d| *d == srgb)
    }
}

/// One output's colour-managed drawing: its blending buffer, kept between frames, and
/// what the last frame was drawn with (a change redraws the whole frame, since a
/// surface may change its description without new damage).
#[derive(Debug, Default)]
pub struct ColourFrames {
    blend: Option<GlesTexture>,
    drawn_with: Option<FrameColours>,
}

/// What a frame drew.
pub struct Drawn {
    /// What changed (None: nothing did).
    pub damage: Option<Vec<Rectangle<i32, Physical>>>,
    /// Where each element ended up.
    pub states: RenderElementStates,
    /// Signals when the GPU has finished drawing.
    pub sync: SyncPoint,
}

impl ColourFrames {
    /// Draws `elements` of `scene` on `output` into `framebuffer` (`size` pixels as the
    /// output's mode has them, `age` frames old), converted where a description asks for it. Without `programs`
    /// (shaders that did not compile) frames are drawn plain; the protocol is then not
    /// offered either.
    #[allow(clippy::too_many_arguments)]
    pub fn draw(
        &mut self,
        renderer: &mut GlesRenderer,
        programs: Option<&ColourPrograms>,
        tracker: &mut OutputDamageTracker,
        framebuffer: &mut GlesTarget<'_>,
        size: Size<i32, Physical>,
        age: usize,
        elements: &[OutputElement<GlesRenderer>],
        scene: &Scene<'_>,
        output: &Output,
    ) -> anyhow::Result<Drawn> {
        let colours = FrameColours::of(scene, output);
        let age = if self.drawn_with.as_ref() == Some(&colours) {
            age
        } else {
            0
        };
        let managed = programs.filter(|_| !colours.plain());
        self.drawn_with = Some(colours);
        let Some(programs) = managed else {
            self.blend = None;
            let r = tracker
                .render_output(renderer, framebuffer, age, elements, CLEAR_COLOR)
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            return Ok(Drawn {
                damage: r.damage.cloned(),
                states: r.states,
                sync: r.sync,
            });
        };
        let (damage, states) = tracker
            .damage_output(age, elements)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let damage = damage.cloned();
        if damage.is_none() {
            return Ok(Drawn {
                damage,
                states,
                sync: SyncPoint::signaled(),
            });
        }
        // Blending happens upright; the encoding pass turns the picture as the output is.
        let transform = output.current_transform();
        let size = transform.transform_size(size);
        let stale = self
            .blend
            .as_ref()
            .is_none_or(|b| (b.width() as i32, b.height() as i32) != (size.w, size.h));
        if stale {
            let buffer = size.to_logical(1).to_buffer(1, Transform::Normal);
            self.blend = Some(
                renderer
                    .create_buffer(Fourcc::Abgr16161616f, buffer)
                    .context("no half-float buffer to blend in")?,
            );
        }
        let blend = self.blend.as_mut().context("no blending buffer")?;
        let Some(colours) = &self.drawn_with else {
            anyhow::bail!("no colours recorded");
        };
        colour::blend(
            renderer,
            programs,
            elements,
            &colours.surfaces,
            &colours.output,
            output.current_scale().fractional_scale(),
            CLEAR_COLOR,
            blend,
        )?;
        let sync = colour::encode(
            renderer,
            programs,
            blend,
            &colours.output,
            framebuffer,
            transform,
        )?;
        Ok(Drawn {
            damage,
            states,
            sync,
        })
    }
}

/// Whether a capture of `output` needs the colour path (a surface or the output is not
/// sRGB); the plain capture is cheaper and exact otherwise.
pub fn capture_needs_colour(scene: &Scene<'_>, output: &Output) -> bool {
    !FrameColours::of(scene, output).plain()
}

/// A capture through the colour path: 8-bit sRGB (an HDR output tone and gamut mapped
/// on the CPU with the reference pipeline), or with `hdr` the PQ/BT.2020 signal of an
/// HDR output. `format` is what the output's own signal is drawn in.
pub fn capture(
    scene: &Scene<'_>,
    renderer: &mut GlesRenderer,
    programs: &ColourPrograms,
    output: &Output,
    hdr: bool,
    format: Fourcc,
) -> anyhow::Result<crate::backend::Captured> {
    use crate::backend::Captured;
    let (description, _) = output_description(output);
    if hdr && !description.transfer.is_hdr() {
        anyhow::bail!("output {} is not in HDR mode", output.name());
    }
    let (mut targets, size) = render_capture(scene, renderer, programs, output, format)?;
    let (w, h) = (size.w as u32, size.h as u32);
    match colour::read_back(renderer, &mut targets)? {
        ReadBack::Rgba8(bytes) => Ok(Captured::Sdr(ghost_capture::Frame::new(
            w,
            h,
            w as usize * 4,
            ghost_capture::PixelFormat::Abgr8888,
            bytes,
        )?)),
        ReadBack::Signal(signal) if hdr => {
            let rgb = signal
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .map(|v| (v.clamp(0.0, 1.0) * 65535.0).round() as u16)
                .collect();
            Ok(Captured::Hdr(ghost_capture::HdrFrame::new(w, h, rgb)?))
        }
        ReadBack::Signal(signal) => {
            // Tone map the HDR signal to an sRGB picture on the CPU, with the same
            // pipeline an SDR output would use for this content.
            let sdr = ImageDescription::srgb();
            let decode = ghost_hdr::Pipeline::decode(&description, &sdr);
            let encode = ghost_hdr::Pipeline::encode(&sdr);
            let bytes = signal
                .chunks_exact(4)
                .flat_map(|p| {
                    let c = encode.apply(decode.apply([p[0], p[1], p[2]].map(f64::from)));
                    let q = c.map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8);
                    [q[0], q[1], q[2], 255]
                })
                .collect();
            Ok(Captured::Sdr(ghost_capture::Frame::new(
                w,
                h,
                w as usize * 4,
                ghost_capture::PixelFormat::Abgr8888,
                bytes,
            )?))
        }
    }
}

/// Draws what a capture of `output` shows into colour targets whose signal is `format`.
fn render_capture(
    scene: &Scene<'_>,
    renderer: &mut GlesRenderer,
    programs: &ColourPrograms,
    output: &Output,
    format: Fourcc,
) -> anyhow::Result<(
    ColourTargets,
    smithay::utils::Size<i32, smithay::utils::Physical>,
)> {
    let (description, _) = output_description(output);
    let Some(size) = scene.capture_size(output) else {
        anyhow::bail!("nothing of {} to capture", output.name());
    };
    let mut targets = ColourTargets::new(renderer, size, format)?;
    targets.clear = scene.clear_color();
    let elements = scene.elements(renderer, output, scene.capture_cursor);
    let descriptions = scene.surface_descriptions(output);
    colour::render(
        renderer,
        programs,
        &elements,
        &descriptions,
        &description,
        output.current_scale().fractional_scale(),
        &mut targets,
    )?;
    Ok((targets, size))
}

/// A capture for a video encoder, packed on the GPU: the output's signal as NV12
/// (BT.709, SDR outputs) or P010 (BT.2020, the PQ signal of an HDR output, with
/// `hdr`). Fails where the picture does not pack whole (a width not a multiple of 4),
/// and the caller reads RGB instead.
pub fn capture_yuv(
    scene: &Scene<'_>,
    renderer: &mut GlesRenderer,
    programs: &ColourPrograms,
    output: &Output,
    hdr: bool,
) -> anyhow::Result<ghost_capture::YuvFrame> {
    let (description, _) = output_description(output);
    if hdr != description.transfer.is_hdr() {
        anyhow::bail!("the recording's signal is not the output's");
    }
    let size = scene
        .capture_size(output)
        .with_context(|| format!("nothing of {} to capture", output.name()))?;
    if !super::yuv::packs(size.w, size.h) {
        anyhow::bail!("{}x{} does not pack into 4:2:0 groups", size.w, size.h);
    }
    // The signal in half floats for HDR: the packing pass reads it unrounded.
    let format = if hdr {
        Fourcc::Abgr16161616f
    } else {
        Fourcc::Abgr8888
    };
    let (targets, _) = render_capture(scene, renderer, programs, output, format)?;
    let matrix = if hdr {
        ghost_hdr::ycbcr::Matrix::Bt2020Ncl
    } else {
        ghost_hdr::ycbcr::Matrix::Bt709
    };
    Ok(super::yuv::pack(
        renderer,
        &programs.yuv,
        &targets.target,
        matrix,
        hdr,
    )?)
}
