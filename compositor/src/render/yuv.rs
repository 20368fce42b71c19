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
            Bind, Frame, Offscreen, Renderer, Texture, TextureFilter,
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
/// through `matrix`, read back.
pub fn pack(
    renderer: &mut GlesRenderer,
    program: &GlesTexProgram,
    source: &GlesTexture,
    matrix: Matrix,
    ten_bit: bool,
) -> Result<YuvFrame, GlesError> {
    let size = source.size();
    let mut planes = Planes::new(renderer, size.w, size.h, ten_bit)?;
    planes.draw(renderer, program, source, matrix)?;
    planes.read(renderer)
}

/// The packed planes as render targets: luma, then interleaved chroma, each an RGBA8
/// texture whose bytes are the plane's. Kept from frame to frame where a consumer
/// holds on to them (an EGL image registered with CUDA).
pub struct Planes {
    /// The luma plane's texture.
    pub luma: GlesTexture,
    /// The chroma plane's texture.
    pub chroma: GlesTexture,
    width: i32,
    height: i32,
    ten_bit: bool,
}

impl Planes {
    /// Targets for a `width`×`height` picture (see [`packs`]).
    pub fn new(
        renderer: &mut GlesRenderer,
        width: i32,
        height: i32,
        ten_bit: bool,
    ) -> Result<Planes, GlesError> {
        let per = if ten_bit { 2 } else { 4 };
        let mut texture = |rows: i32| -> Result<GlesTexture, GlesError> {
            let size: Size<i32, Physical> = (width / per, rows).into();
            renderer.create_buffer(
                Fourcc::Abgr8888,
                size.to_logical(1).to_buffer(1, Transform::Normal),
            )
        };
        Ok(Planes {
            luma: texture(height)?,
            chroma: texture(height / 2)?,
            width,
            height,
            ten_bit,
        })
    }

    /// Whether these targets fit a `width`×`height` picture of this depth.
    pub fn fits(&self, width: i32, height: i32, ten_bit: bool) -> bool {
        (self.width, self.height, self.ten_bit) == (width, height, ten_bit)
    }

    /// Packs `source` into both planes.
    pub fn draw(
        &mut self,
        renderer: &mut GlesRenderer,
        program: &GlesTexProgram,
        source: &GlesTexture,
        matrix: Matrix,
    ) -> Result<(), GlesError> {
        let (kr, kb) = matrix.weights();
        // Exact texel centres are sampled; nearest filtering keeps them exact anywhere.
        renderer.downscale_filter(TextureFilter::Nearest)?;
        let mut result = Ok(());
        for (chroma, target) in [(0, &mut self.luma), (1, &mut self.chroma)] {
            let uniforms = [
                Uniform::new("src_size", (self.width as f32, self.height as f32)),
                Uniform::new("chroma", chroma),
                Uniform::new("ten_bit", i32::from(self.ten_bit)),
                Uniform::new("kr", kr as f32),
                Uniform::new("kb", kb as f32),
            ];
            result = draw_plane(renderer, program, source, target, &uniforms);
            if result.is_err() {
                break;
            }
        }
        renderer.downscale_filter(TextureFilter::Linear)?;
        result
    }

    /// Reads both planes back into one picture.
    pub fn read(&mut self, renderer: &mut GlesRenderer) -> Result<YuvFrame, GlesError> {
        let mut bytes = super::colour::read_rgba8(renderer, &mut self.luma)?;
        bytes.extend_from_slice(&super::colour::read_rgba8(renderer, &mut self.chroma)?);
        YuvFrame::new(self.width as u32, self.height as u32, self.ten_bit, bytes)
            .map_err(|_| GlesError::MappingError)
    }
}

fn draw_plane(
    renderer: &mut GlesRenderer,
    program: &GlesTexProgram,
    source: &GlesTexture,
    target: &mut GlesTexture,
    uniforms: &[Uniform<'_>],
) -> Result<(), GlesError> {
    let tsize = target.size();
    let size: Size<i32, Physical> = (tsize.w, tsize.h).into();
    let full = Rectangle::from_size(size);
    let src_size = source.size();
    let src = Rectangle::from_size((f64::from(src_size.w), f64::from(src_size.h)).into());
    let mut framebuffer = renderer.bind(target)?;
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
    Ok(())
}

/// An EGL image of a texture, for a consumer outside GL (CUDA); destroyed on drop.
pub struct TextureImage {
    display: smithay::backend::egl::ffi::egl::types::EGLDisplay,
    image: smithay::backend::egl::ffi::egl::types::EGLImageKHR,
}

/// `EGL_GL_TEXTURE_2D_KHR` (EGL_KHR_gl_texture_2D_image).
const EGL_GL_TEXTURE_2D_KHR: u32 = 0x30B1;

impl TextureImage {
    /// An EGL image of `texture` on `renderer`'s display and context.
    pub fn new(renderer: &GlesRenderer, texture: &GlesTexture) -> Result<TextureImage, GlesError> {
        use smithay::backend::egl::ffi::egl;
        let context = renderer.egl_context();
        let display = **context.display().get_display_handle();
        let attribs = [egl::NONE as i32];
        // SAFETY: the display and context are the renderer's and live; the texture id
        // names a complete 2D texture of that context; the attribute list ends in NONE.
        let image = unsafe {
            egl::CreateImageKHR(
                display,
                context.get_context_handle(),
                EGL_GL_TEXTURE_2D_KHR,
                texture.tex_id() as usize as egl::types::EGLClientBuffer,
                attribs.as_ptr(),
            )
        };
        if image == egl::NO_IMAGE_KHR {
            return Err(GlesError::MappingError);
        }
        Ok(TextureImage { display, image })
    }

    /// The EGLImageKHR.
    pub fn raw(&self) -> *mut std::ffi::c_void {
        self.image as *mut std::ffi::c_void
    }
}

impl Drop for TextureImage {
    fn drop(&mut self) {
        // SAFETY: destroys the image made in `new`, once, on its display.
        unsafe { smithay::backend::egl::ffi::egl::DestroyImageKHR(self.display, self.image) };
    }
}
