//! The colour-managed GLES path: every surface is decoded from its image description
//! into the output's blending space (linear light, output primaries, 1.0 = reference
//! white) in a half-float buffer, blended there, and encoded once to the output's
//! signal (sRGB, or PQ/BT.2020 on HDR outputs) in a second pass. The shaders mirror
//! `ghost_hdr::Pipeline`, which is the CPU reference they are tested against.

use std::collections::HashMap;

use ghost_hdr::{ImageDescription, Pipeline, Step, Transfer};
use smithay::{
    backend::{
        allocator::Fourcc,
        egl::{native::EGLSurfacelessDisplay, EGLContext, EGLDevice, EGLDisplay},
        renderer::{
            element::{Element, Id, RenderElement},
            gles::{
                GlesError, GlesRenderer, GlesTarget, GlesTexProgram, GlesTexture, Uniform,
                UniformName, UniformType, UniformValue,
            },
            sync::SyncPoint,
            Bind, Color32F, ExportMem, Frame, Offscreen, Renderer, Texture,
        },
    },
    utils::{Physical, Rectangle, Scale, Size, Transform},
};
use tracing::info;

use super::OutputElement;

const DECODE_SHADER: &str = include_str!("shaders/decode.frag");
const ENCODE_SHADER: &str = include_str!("shaders/encode.frag");

/// A GLES renderer without any window system: the first EGL device with a render node
/// (a real GPU), else a software one (Mesa's llvmpipe), else EGL's surfaceless
/// platform (NVIDIA's EGL offers devices only through EGL_EXT_device_base, which the
/// device enumeration here does not take).
pub fn headless_renderer() -> anyhow::Result<GlesRenderer> {
    let device = EGLDevice::enumerate().ok().and_then(|devices| {
        let devices: Vec<EGLDevice> = devices.collect();
        devices
            .iter()
            .find(|d| !d.is_software())
            .or_else(|| devices.first())
            .cloned()
    });
    // SAFETY: the display is made from a device EGL just enumerated (or EGL's default
    // display on the surfaceless platform) and lives as long as the context and
    // renderer made from it.
    let display = match device {
        Some(device) => {
            info!(
                software = device.is_software(),
                "headless GLES renderer on an EGL device"
            );
            unsafe { EGLDisplay::new(device)? }
        }
        None => {
            info!("headless GLES renderer on the surfaceless EGL platform");
            unsafe { EGLDisplay::new(EGLSurfacelessDisplay)? }
        }
    };
    let context = EGLContext::new(&display)?;
    // SAFETY: the context is fresh and owned by the renderer from here on.
    let mut renderer = unsafe { GlesRenderer::new(context)? };
    info!(
        gl = renderer_name(&mut renderer),
        "headless GLES renderer ready"
    );
    Ok(renderer)
}

/// The GL implementation's renderer string ("llvmpipe …", "NVIDIA H200/PCIe/SSE2").
pub fn renderer_name(renderer: &mut GlesRenderer) -> String {
    use smithay::backend::renderer::gles::ffi;
    renderer
        .with_context(|gl| {
            // SAFETY: GetString(RENDERER) returns a static NUL-terminated string owned by
            // the GL implementation, or null.
            unsafe {
                let p = gl.GetString(ffi::RENDERER);
                if p.is_null() {
                    String::new()
                } else {
                    std::ffi::CStr::from_ptr(p.cast())
                        .to_string_lossy()
                        .into_owned()
                }
            }
        })
        .unwrap_or_default()
}

/// The two shader programs of the colour path.
#[derive(Debug, Clone)]
pub struct ColourPrograms {
    decode: GlesTexProgram,
    encode: GlesTexProgram,
    /// Packs a signal into NV12/P010 planes for encoders (`super::yuv`).
    pub yuv: GlesTexProgram,
}

impl ColourPrograms {
    /// Compiles both programs.
    pub fn compile(renderer: &mut GlesRenderer) -> Result<Self, GlesError> {
        let f = |n| UniformName::new(n, UniformType::_1f);
        let i = |n| UniformName::new(n, UniformType::_1i);
        let decode = renderer.compile_custom_texture_shader(
            DECODE_SHADER,
            &[
                i("tf"),
                f("tf_param"),
                f("nits_at_one"),
                f("lum_scale"),
                i("tone_map"),
                UniformName::new("eetf", UniformType::_4f),
                f("eetf_knee"),
                UniformName::new("conversion", UniformType::Matrix3x3),
                i("compress"),
                UniformName::new("compress_scale", UniformType::_3f),
                f("blend_scale"),
            ],
        )?;
        let encode = renderer.compile_custom_texture_shader(
            ENCODE_SHADER,
            &[i("tf"), f("tf_param"), f("nits_at_one"), f("reference")],
        )?;
        let yuv = super::yuv::compile(renderer)?;
        Ok(Self {
            decode,
            encode,
            yuv,
        })
    }
}

fn transfer_code(t: Transfer) -> (i32, f32) {
    match t {
        Transfer::Srgb => (0, 0.0),
        Transfer::ExtSrgb => (1, 0.0),
        Transfer::Power(g) => (2, g as f32),
        Transfer::Bt1886 => (2, 2.4),
        Transfer::ExtLinear => (3, 0.0),
        Transfer::Pq => (4, 0.0),
        Transfer::Hlg => (5, 0.0),
    }
}

/// The decode shader's uniforms for one surface description on one output.
pub fn decode_uniforms(
    source: &ImageDescription,
    output: &ImageDescription,
) -> Vec<Uniform<'static>> {
    let pipeline = Pipeline::decode(source, output);
    let mut tf = (0, 0.0f32);
    let mut nits_at_one = 1.0f32;
    let mut scales: Vec<f64> = Vec::new();
    let mut eetf = None;
    let mut matrix = [1.0f32, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
    let mut compress = None;
    for step in &pipeline.steps {
        match *step {
            Step::Linearise {
                transfer,
                nits_at_one: n,
            } => {
                tf = transfer_code(transfer);
                if transfer == Transfer::Hlg {
                    tf.1 = n as f32;
                }
                nits_at_one = n as f32;
            }
            Step::Scale(s) => scales.push(s),
            Step::ToneMap(e) => eetf = Some(e.params()),
            Step::Matrix(m) => {
                // Row-major in, uploaded with transpose.
                matrix = [
                    m[0][0], m[0][1], m[0][2], m[1][0], m[1][1], m[1][2], m[2][0], m[2][1], m[2][2],
                ]
                .map(|v| v as f32);
            }
            Step::GamutCompress(c) => compress = Some(c.scales),
            Step::Encode { .. } => {}
        }
    }
    // Scales before the matrix are luminance scaling; the last one is the blend scale.
    let blend_scale = scales.pop().unwrap_or(1.0);
    let lum_scale: f64 = scales.iter().product();
    let params = eetf.unwrap_or([0.0, 1.0, 0.0, 1.0, 1.0]);
    let cs = compress.unwrap_or([1.0; 3]);
    vec![
        Uniform::new("tf", UniformValue::_1i(tf.0)),
        Uniform::new("tf_param", tf.1),
        Uniform::new("nits_at_one", nits_at_one),
        Uniform::new("lum_scale", lum_scale as f32),
        Uniform::new("tone_map", UniformValue::_1i(i32::from(eetf.is_some()))),
        Uniform::new(
            "eetf",
            (
                params[0] as f32,
                params[1] as f32,
                params[2] as f32,
                params[3] as f32,
            ),
        ),
        Uniform::new("eetf_knee", params[4] as f32),
        Uniform::new(
            "conversion",
            UniformValue::Matrix3x3 {
                matrices: vec![matrix],
                transpose: true,
            },
        ),
        Uniform::new("compress", UniformValue::_1i(i32::from(compress.is_some()))),
        Uniform::new("compress_scale", (cs[0] as f32, cs[1] as f32, cs[2] as f32)),
        Uniform::new("blend_scale", blend_scale as f32),
    ]
}

fn encode_uniforms(output: &ImageDescription) -> Vec<Uniform<'static>> {
    let (tf, param) = transfer_code(output.transfer);
    let nits_at_one = match output.transfer {
        Transfer::Pq => 1.0,
        _ => output.luminances.max,
    };
    vec![
        Uniform::new("tf", UniformValue::_1i(tf)),
        Uniform::new("tf_param", param),
        Uniform::new("nits_at_one", nits_at_one as f32),
        Uniform::new("reference", output.luminances.reference as f32),
    ]
}

/// The buffers one output renders into.
#[derive(Debug)]
pub struct ColourTargets {
    /// Half-float blending buffer.
    pub blend: GlesTexture,
    /// The encoded output signal.
    pub target: GlesTexture,
    /// The target's format.
    pub format: Fourcc,
    /// What shows where nothing is drawn (sRGB): the desktop's background, or
    /// transparency for a window captured alone.
    pub clear: [f32; 4],
}

impl ColourTargets {
    /// Allocates both buffers at `size`; `format` is the output signal's format
    /// (8-bit for SDR, 10-bit or half-float for HDR).
    pub fn new(
        renderer: &mut GlesRenderer,
        size: Size<i32, Physical>,
        format: Fourcc,
    ) -> Result<Self, GlesError> {
        let buffer = size.to_logical(1).to_buffer(1, Transform::Normal);
        Ok(Self {
            blend: renderer.create_buffer(Fourcc::Abgr16161616f, buffer)?,
            target: renderer.create_buffer(format, buffer)?,
            clear: super::CLEAR_COLOR,
            format,
        })
    }
}

/// Draws `elements` (front to back) for an output described by `output` into
/// `targets`. `descriptions` holds the surfaces that set one; the rest are sRGB.
pub fn render(
    renderer: &mut GlesRenderer,
    programs: &ColourPrograms,
    elements: &[OutputElement<GlesRenderer>],
    descriptions: &HashMap<Id, ImageDescription>,
    output: &ImageDescription,
    scale: f64,
    targets: &mut ColourTargets,
) -> Result<(), GlesError> {
    blend(
        renderer,
        programs,
        elements,
        descriptions,
        output,
        scale,
        targets.clear,
        &mut targets.blend,
    )?;
    let mut framebuffer = renderer.bind(&mut targets.target)?;
    // The caller reads the target back through the same context: GL orders that.
    let _ = encode(
        renderer,
        programs,
        &targets.blend,
        output,
        &mut framebuffer,
        Transform::Normal,
    )?;
    Ok(())
}

/// The first pass: every element decoded into the output's blending space and blended
/// in `blend` (half-float, the output's size), over `clear` (sRGB).
#[allow(clippy::too_many_arguments)]
pub fn blend(
    renderer: &mut GlesRenderer,
    programs: &ColourPrograms,
    elements: &[OutputElement<GlesRenderer>],
    descriptions: &HashMap<Id, ImageDescription>,
    output: &ImageDescription,
    scale: f64,
    clear: [f32; 4],
    blend: &mut GlesTexture,
) -> Result<(), GlesError> {
    let size = blend.size();
    let physical: Size<i32, Physical> = (size.w, size.h).into();
    let full = Rectangle::from_size(physical);
    let srgb = ImageDescription::srgb();
    let solid = Pipeline::decode(&srgb, output);
    let linear = |c: [f32; 4]| -> Color32F {
        let [r, g, b] = solid.apply([c[0], c[1], c[2]].map(f64::from));
        let a = c[3];
        Color32F::new(r as f32 * a, g as f32 * a, b as f32 * a, a)
    };
    let mut framebuffer = renderer.bind(blend)?;
    let mut frame = renderer.render(&mut framebuffer, physical, Transform::Normal)?;
    frame.clear(linear(clear), &[full])?;
    let scale = Scale::from(scale);
    let mut uniforms_for: HashMap<Option<Id>, Vec<Uniform<'static>>> = HashMap::new();
    for element in elements.iter().rev() {
        let dst = element.geometry(scale);
        let damage = [Rectangle::from_size(dst.size)];
        match element {
            OutputElement::Solid(s) => {
                let c = s.color().components();
                frame.draw_solid(dst, &damage, linear(c))?;
            }
            other => {
                let key = descriptions
                    .contains_key(other.id())
                    .then(|| other.id().clone());
                let uniforms = uniforms_for
                    .entry(key.clone())
                    .or_insert_with(|| {
                        let source = key
                            .as_ref()
                            .and_then(|k| descriptions.get(k))
                            .unwrap_or(&srgb);
                        decode_uniforms(source, output)
                    })
                    .clone();
                frame.override_default_tex_program(programs.decode.clone(), uniforms);
                RenderElement::<GlesRenderer>::draw(
                    other,
                    &mut frame,
                    other.src(),
                    dst,
                    &damage,
                    &[],
                )?;
            }
        }
    }
    frame.clear_tex_program_override();
    // One context renders and reads, and GL orders its commands: no fence to wait on.
    let _ = frame.finish()?;
    Ok(())
}

/// The second pass: `blend` (upright) encoded to the output's signal into `framebuffer`
/// (a texture of ours, or a buffer the display scans out, turned by `transform`). The
/// returned point signals when the GPU has finished.
pub fn encode(
    renderer: &mut GlesRenderer,
    programs: &ColourPrograms,
    blend: &GlesTexture,
    output: &ImageDescription,
    framebuffer: &mut GlesTarget<'_>,
    transform: Transform,
) -> Result<SyncPoint, GlesError> {
    let size = blend.size();
    let physical: Size<i32, Physical> = (size.w, size.h).into();
    let full = Rectangle::from_size(physical);
    let mut frame = renderer.render(framebuffer, transform.transform_size(physical), transform)?;
    let src = Rectangle::from_size((f64::from(size.w), f64::from(size.h)).into());
    frame.render_texture_from_to(
        blend,
        src,
        full,
        &[full],
        &[full],
        Transform::Normal,
        1.0,
        Some(&programs.encode),
        &encode_uniforms(output),
    )?;
    frame.finish()
}

/// Reads the encoded target back: 8-bit RGBA for 8-bit targets; for deeper targets the
/// signal at 10 bits per channel (what an HDR output scans out), normalised to 0–1.
pub fn read_back(
    renderer: &mut GlesRenderer,
    targets: &mut ColourTargets,
) -> Result<ReadBack, GlesError> {
    let size = targets.target.size();
    let region = Rectangle::from_size((size.w, size.h).into());
    if targets.format == Fourcc::Abgr8888 {
        return Ok(ReadBack::Rgba8(read_rgba8(renderer, &mut targets.target)?));
    }
    // Half-float targets are first drawn into a 10-bit buffer: glReadPixels returns
    // 10-bit data in four bytes a pixel on every GLES 3 driver.
    let mut narrow;
    let source = if targets.format == Fourcc::Abgr2101010 {
        &mut targets.target
    } else {
        narrow = renderer.create_buffer(Fourcc::Abgr2101010, size)?;
        {
            let mut framebuffer = renderer.bind(&mut narrow)?;
            let physical: Size<i32, Physical> = (size.w, size.h).into();
            let full = Rectangle::from_size(physical);
            let mut frame = renderer.render(&mut framebuffer, physical, Transform::Normal)?;
            let src = Rectangle::from_size((f64::from(size.w), f64::from(size.h)).into());
            frame.render_texture_from_to(
                &targets.target,
                src,
                full,
                &[full],
                &[full],
                Transform::Normal,
                1.0,
                None,
                &[],
            )?;
            let _ = frame.finish()?;
        }
        &mut narrow
    };
    let framebuffer = renderer.bind(source)?;
    let mapping = renderer.copy_framebuffer(&framebuffer, region, Fourcc::Abgr2101010)?;
    let bytes = renderer.map_texture(&mapping)?;
    let signal = bytes
        .chunks_exact(4)
        .flat_map(|b| {
            let v = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            let channel = |shift: u32| ((v >> shift) & 0x3ff) as f32 / 1023.0;
            [channel(0), channel(10), channel(20), 1.0]
        })
        .collect();
    Ok(ReadBack::Signal(signal))
}

/// The bytes of an 8-bit RGBA texture, rows top first.
pub fn read_rgba8(
    renderer: &mut GlesRenderer,
    texture: &mut GlesTexture,
) -> Result<Vec<u8>, GlesError> {
    let size = texture.size();
    let region = Rectangle::from_size((size.w, size.h).into());
    let framebuffer = renderer.bind(texture)?;
    let mapping = renderer.copy_framebuffer(&framebuffer, region, Fourcc::Abgr8888)?;
    Ok(renderer.map_texture(&mapping)?.to_vec())
}

/// Pixels read back from a target.
#[derive(Debug)]
pub enum ReadBack {
    /// 8 bits per channel, RGBA order.
    Rgba8(Vec<u8>),
    /// 10-bit signal values normalised to 0–1, RGBA order.
    Signal(Vec<f32>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use ghost_hdr::Luminances;

    fn hdr_output() -> ImageDescription {
        ImageDescription {
            luminances: Luminances {
                min: 0.005,
                max: 1000.0,
                reference: 203.0,
            },
            ..ImageDescription::bt2100_pq()
        }
    }

    /// The background alone, through both passes, equals the CPU reference: 1 code
    /// value at 8 bits, 0.0015 of full scale for PQ (≈ 1.5 code values at 10 bits).
    #[test]
    fn the_background_matches_the_cpu_reference_on_sdr_and_hdr_outputs() {
        let mut renderer = headless_renderer().expect("an EGL device (Mesa's llvmpipe will do)");
        assert!(!renderer_name(&mut renderer).is_empty());
        let programs = ColourPrograms::compile(&mut renderer).expect("shaders compile");
        let reference = |output: &ImageDescription| {
            let srgb = ImageDescription::srgb();
            let c = super::super::CLEAR_COLOR;
            let linear = Pipeline::decode(&srgb, output).apply([c[0], c[1], c[2]].map(f64::from));
            Pipeline::encode(output).apply(linear)
        };
        for (output, format) in [
            (ImageDescription::srgb(), Fourcc::Abgr8888),
            (hdr_output(), Fourcc::Abgr2101010),
            (hdr_output(), Fourcc::Abgr16161616f),
        ] {
            let mut targets =
                ColourTargets::new(&mut renderer, (64, 32).into(), format).expect("targets");
            render(
                &mut renderer,
                &programs,
                &[],
                &HashMap::new(),
                &output,
                1.0,
                &mut targets,
            )
            .expect("render");
            let want = reference(&output);
            match read_back(&mut renderer, &mut targets).expect("read back") {
                ReadBack::Rgba8(px) => {
                    assert_eq!(px.len(), 64 * 32 * 4);
                    for (i, w) in want.iter().enumerate() {
                        let got = f64::from(px[i]) / 255.0;
                        assert!(
                            (got - w).abs() <= 1.0 / 255.0 + 1e-9,
                            "{format:?} {i}: {got} vs {w}"
                        );
                    }
                }
                ReadBack::Signal(px) => {
                    assert_eq!(px.len(), 64 * 32 * 4);
                    for (i, w) in want.iter().enumerate() {
                        let got = f64::from(px[i]);
                        assert!((got - w).abs() <= 0.0015, "{format:?} {i}: {got} vs {w}");
                    }
                }
            }
        }
    }
}
