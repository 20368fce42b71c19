//! Output casts copied from the output's own picture, where the backend draws it into
//! memory (headless pixman): one copy of what the renderer's damage says changed, with
//! the arrow laid over the copy for casts that paint the pointer.

use std::time::Duration;

use ghost_capture::pipewire::Pushed;
use ghost_config::CursorMode;
use smithay::output::Output;

use crate::state::Ghost;

impl Ghost {
    /// Sends an output cast's frame straight from the output's own buffer, where the
    /// backend draws into memory and the picture needs nothing the screen does not
    /// show (no blocked-out window, no rotation; a painted arrow is laid over the
    /// copy): one copy, and the renderer's own damage. Returns false where the picture
    /// must be drawn instead.
    pub(super) fn cast_shown(
        &mut self,
        index: usize,
        output: &Output,
        crop: Option<ghost_capture::Region>,
        cursor: CursorMode,
        now: Duration,
    ) -> anyhow::Result<bool> {
        if crop.is_none() && self.casts_draw_frames(output) {
            return self.cast_drawn(index, output, cursor, now);
        }
        // Where the arrow goes, in the picture's pixels, for a cast that paints it.
        let Some(arrow) = self.arrow_for_capture(output, cursor == CursorMode::Embedded) else {
            return Ok(false);
        };
        let (dx, dy) = crop.map_or((0, 0), |c| (c.x, c.y));
        let arrow = arrow.map(|(x, y)| (x - dx, y - dy));
        let pointer = match cursor {
            CursorMode::Metadata => Some(self.cursor_meta(output, None, crop)),
            _ => None,
        };
        // Read through the backend field alone, so the casts stay free to borrow.
        let Some((view, _)) = self.backend.shown(output) else {
            return Ok(false);
        };
        let view = match crop {
            Some(crop) => view.crop(crop)?,
            None => view,
        };
        let cast = &mut self.casts.casts[index];
        let size = (view.width(), view.height());
        let stamp = arrow.map(|at| crate::backend::arrow_stamp(&self.capture_arrow, at));
        let stamped = stamp.as_ref().and_then(|s| s.area(size.0, size.1));
        // The repaints' damage, in the picture's coordinates, and where the arrow was
        // and is: a buffer that carried it elsewhere gets that place copied clean.
        let mut unsent: Vec<ghost_capture::Region> = match crop {
            Some(crop) => cast.unsent.iter().filter_map(|r| r.within(crop)).collect(),
            None => cast.unsent.clone(),
        };
        if stamped != cast.last_stamp {
            unsent.extend(cast.last_stamp.iter().chain(stamped.iter()).copied());
        } else if !unsent.is_empty() {
            unsent.extend(stamped);
        }
        let Some(caster) = self.casts.caster.as_mut() else {
            return Ok(true);
        };
        if size != cast.size {
            caster.resize(cast.id, size.0, size.1)?;
            cast.size = size;
            cast.primed = false;
            return Ok(true);
        }
        let Some(damage) = cast.repaint_damage(&unsent, size, pointer.as_ref()) else {
            cast.unsent.clear();
            return Ok(true);
        };
        let mut draw = |bytes: &mut [u8], stride: usize, layout, missing: Option<&[_]>| {
            let copied = match missing {
                Some(regions) => view.copy_regions_into(bytes, stride, layout, regions),
                None => view.copy_into(bytes, stride, layout),
            };
            if let (true, Some(stamp)) = (copied, &stamp) {
                stamp.blend_into(bytes, stride, layout, size.0, size.1);
            }
            copied
        };
        let pushed = caster.push_drawn(cast.id, size, &damage, pointer.as_ref(), now, &mut draw)?;
        if pushed == Pushed::Sent {
            cast.last_stamp = stamped;
        }
        cast.pushed(caster, pushed, size, pointer)?;
        Ok(true)
    }
}
