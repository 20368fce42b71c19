//! The pointer as cast metadata (the portal's "metadata" cursor mode): where it is
//! on the cast's picture, and its image, for consumers that draw it themselves.

use ghost_capture::pipewire::CursorMeta;
use smithay::{desktop::Window, output::Output};

use crate::{backend::Shows, state::Ghost};

impl Ghost {
    /// The pointer as cast metadata: relative to the cast's picture (the window's, the
    /// output's, or the cut `crop` of it), with its image.
    pub(super) fn cursor_meta(
        &mut self,
        output: &Output,
        window: Option<&Window>,
        crop: Option<ghost_capture::Region>,
    ) -> CursorMeta {
        let hidden = CursorMeta {
            visible: false,
            position: (0, 0),
            hotspot: (0, 0),
            width: 0,
            height: 0,
            rgba: Vec::new(),
        };
        let Some((image, hotspot)) = self.capture_cursor_image() else {
            return hidden;
        };
        let origin = match window {
            Some(w) => self.space.element_location(w),
            None => self.space.output_geometry(output).map(|g| g.loc),
        };
        let Some(origin) = origin else {
            return hidden;
        };
        let scale = output.current_scale().fractional_scale();
        let mut at = (image.loc + hotspot - origin)
            .to_f64()
            .to_physical(scale)
            .to_i32_round();
        if let Some(crop) = crop {
            at -= (crop.x, crop.y).into();
        }
        let hot = hotspot.to_f64().to_physical(scale).to_i32_round::<i32>();
        let Ok(crate::backend::Captured::Sdr(frame)) =
            self.capture(output, Shows::Cursor, false, false)
        else {
            return hidden;
        };
        let (width, height) = (frame.width(), frame.height());
        let mut rgba = vec![0u8; (width * height * 4) as usize];
        frame.copy_into(
            &mut rgba,
            width as usize * 4,
            ghost_capture::PixelFormat::Abgr8888,
        );
        CursorMeta {
            visible: true,
            position: (at.x, at.y),
            hotspot: (hot.x, hot.y),
            width,
            height,
            rgba,
        }
    }
}
