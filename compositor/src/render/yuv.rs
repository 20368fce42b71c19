//! The encoder's input, made on the GPU: an output's signal (the colour path's target:
//! sRGB in 8 bits, or PQ/BT.2020 in 10) packed into NV12 or P010 planes by a shader
//! pass (`shaders/yuv.frag`, mirroring `ghost_hdr::ycbcr`). Each plane is an RGBA8
//! render target whose bytes are the plane's bytes, so the same texture can be read
//! back (the software encoder then skips its colour conversion and reads half the
//! bytes) or handed to a hardware encoder through an EGL image.

use ghost_capture::YuvFrame;
use ghost_hdr::ycbcr::Matrix;
use smithay::{
    backend::{
        allocator::Fourcc,
        renderer::{
            gles::{
                GlesError, GlesRenderer, GlesTexProgram, GlesTexture, Uniform, UniformName,
                UniformType,
            },
            Bind, ExportMem, Frame, Offscreen, Renderer, Texture, TextureFilter,
        },
    },
    utils::{Physical, Rectangle, Size, Transform},
};

const YUV_SHADER: &str = include_str!("shaders/yuv.frag");

/// Compiles the packing program.
pub fn compile(renderer: &mut GlesRenderer) -> Result<GlesTexProgram, GlesError> {
    renderer.compile_custom_texture_shader(
        YUV_SHADER,
        &[
            UniformName::new("src_size", UniformType::_2f),
            UniformName::new("chroma", UniformType::_1i),
            UniformName::new("ten_bit", UniformType::_1i),
            UniformName::new("kr", UniformType::_1f),
            UniformName::new("kb", UniformType::_1f),
        ],
    )
}

/// Whether a `width`×`height` picture packs whole (luma groups of four, chroma of 2×2).
pub fn packs(width: i32, height: i32) -> bool {
    width > 0 && height > 0 && width % 4 == 0 && height % 2 == 0
}

/// The two planes of `source` (the whole texture) as NV12, or P010 with `ten_bit`,
/// through `matrix`.
pub fn pack(
    renderer: &mut GlesRenderer,
    program: &GlesTexProgram,
    source: &GlesTexture,
    matrix: Matrix,
    ten_bit: bool,
) -> Result<YuvFrame, GlesError> {
    let size = source.size();
    let (w, h) = (size.w, size.h);
    let per = if ten_bit { 2 } else { 4 };
    let (kr, kb) = matrix.weights();
    // Exact texel centres are sampled; nearest filtering keeps them exact anywhere.
    renderer.downscale_filter(TextureFilter::Nearest)?;
    let sample = if ten_bit { 2 } else { 1 };
    let mut bytes = Vec::with_capacity((w * h) as usize * 3 / 2 * sample);
    let mut result = Ok(());
    for (chroma, rows) in [(0, h), (1, h / 2)] {
        let target_size: Size<i32, Physical> = (w / per, rows).into();
        let uniforms = [
            Uniform::new("src_size", (w as f32, h as f32)),
            Uniform::new("chroma", chroma),
            Uniform::new("ten_bit", i32::from(ten_bit)),
            Uniform::new("kr", kr as f32),
            Uniform::new("kb", kb as f32),
        ];
        let plane = pack_plane(renderer, program, source, target_size, &uniforms);
        match plane {
            Ok(plane) => bytes.extend_from_slice(&plane),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    renderer.downscale_filter(TextureFilter::Linear)?;
    result?;
    YuvFrame::new(w as u32, h as u32, ten_bit, bytes).map_err(|_| GlesError::MappingError)
}

fn pack_plane(
    renderer: &mut GlesRenderer,
    program: &GlesTexProgram,
    source: &GlesTexture,
    size: Size<i32, Physical>,
    uniforms: &[Uniform<'_>],
) -> Result<Vec<u8>, GlesError> {
    let mut target: GlesTexture = renderer.create_buffer(
        Fourcc::Abgr8888,
        size.to_logical(1).to_buffer(1, Transform::Normal),
    )?;
    let full = Rectangle::from_size(size);
    let src_size = source.size();
    let src = Rectangle::from_size((f64::from(src_size.w), f64::from(src_size.h)).into());
    let mut framebuffer = renderer.bind(&mut target)?;
    {
        let mut frame = renderer.render(&mut framebuffer, size, Transform::Normal)?;
        frame.clear([0.0; 4].into(), &[full])?;
        frame.render_texture_from_to(
            source,
            src,
            full,
            &[full],
            &[full],
            Transform::Normal,
            1.0,
            Some(program),
            uniforms,
        )?;
        let _ = frame.finish()?;
    }
    let region = Rectangle::from_size((size.w, size.h).into());
    let mapping = renderer.copy_framebuffer(&framebuffer, region, Fourcc::Abgr8888)?;
    Ok(renderer.map_texture(&mapping)?.to_vec())
}
