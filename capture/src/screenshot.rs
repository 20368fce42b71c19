//! Screenshots as files a person opens: PNG.

use std::io::Write;

use crate::frame::Frame;

/// Why a screenshot could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ScreenshotError {
    /// The PNG encoder (or the writer under it) failed.
    #[error("PNG encoding failed: {0}")]
    Encode(#[from] png::EncodingError),
}

/// Writes `frame` as an 8-bit sRGB PNG. Opaque frames are written as RGB, which is a
/// quarter smaller and what screenshot tools produce.
pub fn encode_png<W: Write>(frame: &Frame, out: W) -> Result<(), ScreenshotError> {
    let rgba = frame.to_rgba();
    let opaque = rgba.chunks_exact(4).all(|px| px[3] == 255);
    let mut encoder = png::Encoder::new(out, frame.width(), frame.height());
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_source_srgb(png::SrgbRenderingIntent::Perceptual);
    encoder.set_compression(png::Compression::Fast);
    let data = if opaque {
        encoder.set_color(png::ColorType::Rgb);
        rgba.chunks_exact(4)
            .flat_map(|px| [px[0], px[1], px[2]])
            .collect()
    } else {
        encoder.set_color(png::ColorType::Rgba);
        rgba
    };
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&data)?;
    writer.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::PixelFormat;

    #[test]
    fn png_round_trips_pixels() {
        let data: Vec<u8> = (0..16u8).flat_map(|i| [i, i * 2, i * 3, 0]).collect();
        let frame = Frame::new(4, 4, 16, PixelFormat::Xrgb8888, data).unwrap();
        let mut bytes = Vec::new();
        encode_png(&frame, &mut bytes).unwrap();
        let decoder = png::Decoder::new(bytes.as_slice());
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (4, 4));
        assert_eq!(info.color_type, png::ColorType::Rgb);
        // pixel 5: stored B=5, G=10, R=15
        assert_eq!(&buf[15..18], &[15, 10, 5]);
    }
}
