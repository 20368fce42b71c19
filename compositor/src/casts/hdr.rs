//! 10-bit HDR casts: an HDR output's cast offers 10-bit PQ with BT.2020 primaries
//! first (`ghost_capture::pipewire::params::enum_format`); a consumer that takes it
//! gets the output's signal as the screen shows it (or the window's, on that output),
//! the others the 8-bit tone-mapped picture of the usual paths.

use std::time::Duration;

use ghost_capture::pipewire::Pushed;
use ghost_config::CursorMode;
use smithay::{desktop::Window, output::Output};

use crate::{
    backend::{Captured, Shows},
    state::Ghost,
};

impl Ghost {
    /// Sends cast `index` (whose consumer took 10-bit PQ) the HDR signal of `output`,
    /// or of `window` on it, cropped to its region.
    pub(super) fn cast_hdr_frame(
        &mut self,
        index: usize,
        output: &Output,
        window: Option<&Window>,
        crop: Option<ghost_capture::Region>,
        cursor: CursorMode,
        now: Duration,
    ) -> anyhow::Result<()> {
        let shows = window.map_or(Shows::Output, Shows::Window);
        let frame = match self.capture(output, shows, true, cursor == CursorMode::Embedded)? {
            Captured::Hdr(frame) => frame,
            Captured::Sdr(_) => anyhow::bail!("the output no longer shows HDR"),
        };
        let frame = match crop {
            Some(crop) => frame.crop(crop)?,
            None => frame,
        };
        let pointer = match cursor {
            CursorMode::Metadata => Some(self.cursor_meta(output, window, crop)),
            _ => None,
        };
        let cast = &mut self.casts.casts[index];
        let size = (frame.width(), frame.height());
        let Some(caster) = self.casts.caster.as_mut() else {
            return Ok(());
        };
        if size != cast.size {
            caster.resize(cast.id, size.0, size.1)?;
            cast.size = size;
            cast.last_hdr = None;
            return Ok(());
        }
        // Repaints elsewhere on the output change nothing here: nothing to send.
        let pointer_moved = pointer.is_some() && pointer != cast.last_cursor;
        if cast.last_hdr.as_ref() == Some(&frame) && !pointer_moved {
            return Ok(());
        }
        match caster.push_hdr(cast.id, &frame, pointer.as_ref(), now)? {
            Pushed::Sent => {
                cast.last_hdr = Some(frame);
                cast.last_cursor = pointer;
            }
            Pushed::WrongSize => {
                caster.resize(cast.id, size.0, size.1)?;
                cast.last_hdr = None;
            }
            Pushed::NoBuffer => cast.behind = true,
            Pushed::Idle => {}
        }
        Ok(())
    }
}
