//! Drawing an output's frame into memory that is not the output's own buffer: a screen
//! cast's PipeWire buffer. Where a cast is the only reader of a headless output's
//! pixels, its frames are drawn there directly instead of into the output's buffer and
//! copied over, which halves the memory traffic of a screen share.

use anyhow::Context;
use ghost_capture::{PixelFormat, Region};
use smithay::{
    backend::renderer::{
        element::Element, pixman::PixmanRenderer, utils::draw_render_elements, Bind, Frame,
        Renderer,
    },
    output::Output,
    reexports::pixman::{FormatCode, Image},
    utils::{Physical, Rectangle, Scale, Transform},
};

use crate::render::{Scene, CLEAR_COLOR};

/// Memory to draw a frame into: rows `stride` bytes apart, pixels in `layout`.
pub struct Target<'a> {
    /// The rows.
    pub bytes: &'a mut [u8],
    /// Bytes from one row to the next.
    pub stride: usize,
    /// How a pixel is stored.
    pub layout: PixelFormat,
}

fn pixman_format(layout: PixelFormat) -> FormatCode {
    match layout {
        PixelFormat::Xrgb8888 => FormatCode::X8R8G8B8,
        PixelFormat::Argb8888 => FormatCode::A8R8G8B8,
        PixelFormat::Xbgr8888 => FormatCode::X8B8G8R8,
        PixelFormat::Abgr8888 => FormatCode::A8B8G8R8,
    }
}

/// Draws `scene`'s picture of `output` into `target` with pixman: `regions` (output
/// pixels) or all of it, the background cleared only where no opaque surface covers it.
pub(super) fn pixman_into(
    renderer: &mut PixmanRenderer,
    scene: &Scene<'_>,
    output: &Output,
    target: Target<'_>,
    regions: Option<&[Region]>,
) -> anyhow::Result<()> {
    let mode = output.current_mode().context("the output has no mode")?;
    let (width, height) = (mode.size.w.max(0) as usize, mode.size.h.max(0) as usize);
    let Target {
        bytes,
        stride,
        layout,
    } = target;
    let needed = stride * height.saturating_sub(1) + width * 4;
    if stride < width * 4 || bytes.len() < needed || bytes.as_ptr() as usize % 4 != 0 {
        anyhow::bail!("the target cannot hold a {width}x{height} frame");
    }
    // SAFETY: `bytes` holds `height` rows of `stride` bytes (checked above), 4-byte
    // aligned; the image lives only inside this function while we hold the one mutable
    // borrow of `bytes`, so nothing else reads or writes them meanwhile.
    let mut image = unsafe {
        Image::from_raw_mut(
            pixman_format(layout),
            width,
            height,
            bytes.as_mut_ptr().cast::<u32>(),
            stride,
            false,
        )
    }
    .map_err(|_| anyhow::anyhow!("pixman cannot use the target"))?;
    let elements = scene.elements(renderer, output, true);
    let damage: Vec<Rectangle<i32, Physical>> = match regions {
        Some(regions) => regions
            .iter()
            .map(|r| Rectangle::new((r.x, r.y).into(), (r.width, r.height).into()))
            .collect(),
        None => vec![Rectangle::from_size(mode.size)],
    };
    let scale = Scale::from(output.current_scale().fractional_scale());
    let opaque: Vec<Rectangle<i32, Physical>> = elements
        .iter()
        .flat_map(|e| {
            let at = e.geometry(scale).loc;
            e.opaque_regions(scale).into_iter().map(move |mut r| {
                r.loc += at;
                r
            })
        })
        .collect();
    let background = Rectangle::subtract_rects_many(damage.iter().copied(), opaque);
    let mut framebuffer = renderer
        .bind(&mut image)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut frame = renderer
        .render(&mut framebuffer, mode.size, Transform::Normal)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    frame
        .clear(CLEAR_COLOR.into(), &background)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    draw_render_elements::<PixmanRenderer, _, _>(&mut frame, scale, &elements, &damage)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let drawn = frame.finish().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    // pixman draws on this thread: the sync point is already reached.
    drawn
        .wait()
        .map_err(|e| anyhow::anyhow!("waiting for the frame: {e:?}"))?;
    Ok(())
}
