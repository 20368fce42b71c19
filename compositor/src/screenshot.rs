//! Screenshots to files: render (no cursor), cut to a region, and encode the PNG on a
//! worker thread so the compositor keeps drawing frames meanwhile.

use std::path::PathBuf;

use smithay::{
    output::Output,
    utils::{Logical, Rectangle},
};

use crate::{backend::Captured, state::Ghost};

/// Where a screenshot's pixels come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Source {
    /// Rendered again for the picture, 8-bit sRGB.
    #[default]
    Render,
    /// Rendered again; an HDR output's PQ/BT.2020 signal as 16-bit.
    RenderHdr,
    /// Read back from the display engine (KMS writeback): what was scanned out.
    Writeback,
}

/// A screenshot written to disk.
#[derive(Debug, Clone)]
pub struct Saved {
    /// Where.
    pub path: PathBuf,
    /// Which output.
    pub output: String,
    /// Pixel size.
    pub width: u32,
    /// Pixel size.
    pub height: u32,
}

impl Ghost {
    /// Renders `output` and, on a worker thread, writes the part inside `region`
    /// (global logical coordinates; the whole output when None) to `path` as PNG, then
    /// calls `done` on that thread. `source` says how the pixels are obtained: an HDR
    /// output's signal is written as a 16-bit PNG, the rest as 8-bit sRGB.
    pub fn save_screenshot(
        &mut self,
        output: &Output,
        region: Option<Rectangle<i32, Logical>>,
        path: PathBuf,
        source: Source,
        done: impl FnOnce(anyhow::Result<Saved>) + Send + 'static,
    ) -> anyhow::Result<()> {
        let captured = match source {
            Source::Render => self.screenshot(output, false, false)?,
            Source::RenderHdr => self.screenshot(output, true, false)?,
            Source::Writeback => match &mut self.backend {
                crate::backend::Backend::Kms(k) => Captured::Sdr(k.writeback(output)?),
                _ => anyhow::bail!("writeback needs the KMS backend"),
            },
        };
        let geo = self.space.output_geometry(output).unwrap_or_default();
        let scale = output.current_scale().fractional_scale();
        let crop = region.map(|r| {
            let local = r.loc - geo.loc;
            ghost_capture::Region {
                x: (local.x as f64 * scale).round() as i32,
                y: (local.y as f64 * scale).round() as i32,
                width: (r.size.w as f64 * scale).round() as i32,
                height: (r.size.h as f64 * scale).round() as i32,
            }
        });
        let name = output.name();
        std::thread::spawn(move || {
            let result = (|| -> anyhow::Result<Saved> {
                let tmp = path.with_extension("png.tmp");
                let file = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
                let (width, height) = match captured {
                    Captured::Sdr(frame) => {
                        let frame = match crop {
                            Some(c) => frame.crop(c)?,
                            None => frame,
                        };
                        ghost_capture::encode_png(&frame, file)?;
                        (frame.width(), frame.height())
                    }
                    Captured::Hdr(frame) => {
                        let frame = match crop {
                            Some(c) => frame.crop(c)?,
                            None => frame,
                        };
                        ghost_capture::encode_png_hdr(&frame, file)?;
                        (frame.width(), frame.height())
                    }
                };
                std::fs::rename(&tmp, &path)?;
                Ok(Saved {
                    path,
                    output: name,
                    width,
                    height,
                })
            })();
            done(result);
        });
        Ok(())
    }
}

/// Where screenshot bindings save: `$XDG_PICTURES_DIR`, else `~/Pictures`, named by time.
pub fn default_screenshot_path() -> PathBuf {
    let dir = std::env::var_os("XDG_PICTURES_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join("Pictures")))
        .unwrap_or_else(std::env::temp_dir);
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    dir.join(format!("ghostcomp-{secs}.png"))
}
