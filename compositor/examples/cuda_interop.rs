//! The CUDA half of the encoder's zero-copy path, measured on an NVIDIA GPU: a
//! 1920x1080 (and 3840x2160) picture is packed into NV12 by the compositor's GLES pass;
//! then either (copy) the planes are read back with glReadPixels and uploaded into
//! CUDA device memory, the path a CPU-side hand-over costs, or (interop) the plane
//! textures, registered with CUDA once (as EGL images, else through CUDA's GL interop
//! where the driver will not map those), are mapped and copied on the GPU into the same
//! device memory. Both land the same bytes (checked), and the time of each is printed.
//! Without NVIDIA's EGL and CUDA it says why and stops.
//!
//! `__EGL_VENDOR_LIBRARY_FILENAMES=…/10_nvidia.json cargo run --release -p
//! ghost-compositor --example cuda_interop [FRAMES]`

use std::time::Instant;

use ghost_compositor::render::{
    colour::{headless_renderer, ColourPrograms},
    yuv::{Planes, TextureImage},
};
use ghost_hdr::ycbcr::Matrix;
use ghostnv_backend::cuda::Cuda;
use smithay::backend::{allocator::Fourcc, renderer::ImportMem};

fn finish(renderer: &mut smithay::backend::renderer::gles::GlesRenderer) {
    let _ = renderer.with_context(|gl| {
        // SAFETY: the renderer's context is current inside with_context.
        unsafe { gl.Finish() }
    });
}

fn run(width: i32, height: i32, frames: usize) -> anyhow::Result<()> {
    let mut renderer = headless_renderer()?;
    let programs = ColourPrograms::compile(&mut renderer)?;
    let cuda = Cuda::load()?;
    let picture: Vec<u8> = (0..width * height)
        .flat_map(|i| {
            let (x, y) = (i % width, i / width);
            [(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8, 255]
        })
        .collect();
    let source =
        renderer.import_memory(&picture, Fourcc::Argb8888, (width, height).into(), false)?;
    let mut planes = Planes::new(&mut renderer, width, height, false)?;
    let (w, h) = (width as usize, height as usize);
    let mut luma_copy = cuda.alloc(w, h)?;
    let mut chroma_copy = cuda.alloc(w, h / 2)?;
    let mut luma_interop = cuda.alloc(w, h)?;
    let mut chroma_interop = cuda.alloc(w, h / 2)?;
    let luma_image = TextureImage::new(&renderer, &planes.luma)?;
    let chroma_image = TextureImage::new(&renderer, &planes.chroma)?;
    planes.draw(&mut renderer, &programs.yuv, &source, Matrix::Bt709)?;
    finish(&mut renderer);
    // EGL images first; CUDA's GL interop where the driver will not map those.
    // SAFETY: the images and textures live until the end of this function, past the
    // registrations; the renderer's context is made current for the GL route.
    let (mut luma_cuda, mut chroma_cuda, route) = unsafe {
        let mut luma = cuda.register_egl_image(luma_image.raw())?;
        let mut chroma = cuda.register_egl_image(chroma_image.raw())?;
        match luma
            .copy_to(&mut luma_interop)
            .and_then(|()| chroma.copy_to(&mut chroma_interop))
        {
            Ok(()) => (luma, chroma, "EGL image"),
            Err(e) => {
                println!("EGL image route: {e}; trying CUDA's GL interop");
                drop((luma, chroma));
                renderer.egl_context().make_current()?;
                (
                    cuda.register_gl_texture(planes.luma.tex_id())?,
                    cuda.register_gl_texture(planes.chroma.tex_id())?,
                    "GL texture",
                )
            }
        }
    };

    let (mut copy_total, mut interop_total, mut pack_total) = (0f64, 0f64, 0f64);
    let mut same = true;
    for _ in 0..frames {
        let t = Instant::now();
        planes.draw(&mut renderer, &programs.yuv, &source, Matrix::Bt709)?;
        // The render fence: the planes are complete before anyone reads them.
        finish(&mut renderer);
        pack_total += t.elapsed().as_secs_f64();

        let t = Instant::now();
        let read = planes.read(&mut renderer)?;
        luma_copy.upload(read.luma())?;
        chroma_copy.upload(read.chroma())?;
        cuda.synchronize()?;
        copy_total += t.elapsed().as_secs_f64();

        let t = Instant::now();
        luma_cuda.copy_to(&mut luma_interop)?;
        chroma_cuda.copy_to(&mut chroma_interop)?;
        cuda.synchronize()?;
        interop_total += t.elapsed().as_secs_f64();

        same &=
            luma_interop.download()? == read.luma() && chroma_interop.download()? == read.chroma();
    }
    let ms = |total: f64| total * 1000.0 / frames as f64;
    println!(
        "{width}x{height} NV12: pack {:.3} ms, readback+upload {:.3} ms, {route}→CUDA {:.3} ms ({:.1}x), same bytes: {same}",
        ms(pack_total),
        ms(copy_total),
        ms(interop_total),
        copy_total / interop_total,
    );
    anyhow::ensure!(same, "the interop path delivered other bytes than the copy");
    drop((luma_cuda, chroma_cuda));
    Ok(())
}

fn main() {
    let frames: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100);
    for (w, h) in [(1920, 1080), (3840, 2160)] {
        if let Err(e) = run(w, h, frames) {
            println!("{w}x{h}: the CUDA path cannot run here: {e:#}");
            std::process::exit(1);
        }
    }
}
