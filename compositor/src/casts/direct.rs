//! Output casts drawn straight into their PipeWire buffers. On the headless backend a
//! cast is often the only reader of an output's pixels; the output then skips drawing
//! its own buffer and each cast buffer gets the regions it lacks drawn directly, instead
//! of the output being drawn and the cast copying from it (two passes over every
//! changed pixel where one does).

use std::time::Duration;

use ghost_capture::{
    pipewire::{Caster, CursorMeta, Pushed},
    Region,
};
use ghost_config::CursorMode;
use smithay::{input::pointer::CursorImageStatus, output::Output};

use super::{Cast, CastSource};
use crate::{
    backend::{headless::Target, Backend},
    shell::window_data,
    state::Ghost,
};

impl Cast {
    /// What the next frame built from the output's repaints must send: `unsent`
    /// (picture pixels) once the consumer has a first picture, all of it before; None
    /// when nothing changed and the pointer stayed.
    pub(super) fn repaint_damage(
        &self,
        unsent: &[Region],
        size: (u32, u32),
        pointer: Option<&CursorMeta>,
    ) -> Option<Vec<Region>> {
        let pointer_moved = pointer.is_some() && pointer != self.last_cursor.as_ref();
        if self.primed && unsent.is_empty() && !pointer_moved {
            return None;
        }
        Some(if self.primed {
            unsent.to_vec()
        } else {
            vec![Region {
                x: 0,
                y: 0,
                width: size.0 as i32,
                height: size.1 as i32,
            }]
        })
    }

    /// Books what became of a frame built from the output's repaints.
    pub(super) fn pushed(
        &mut self,
        caster: &mut Caster,
        pushed: Pushed,
        size: (u32, u32),
        pointer: Option<CursorMeta>,
    ) -> anyhow::Result<()> {
        match pushed {
            Pushed::Sent => {
                self.primed = true;
                self.unsent.clear();
                self.last_cursor = pointer;
                // The rendered-picture path compares with its own last picture: it must
                // not trust one older than this.
                self.last = None;
            }
            Pushed::WrongSize => {
                caster.resize(self.id, size.0, size.1)?;
                self.primed = false;
            }
            Pushed::NoBuffer => self.behind = true,
            Pushed::Idle => {}
        }
        Ok(())
    }
}

impl Ghost {
    /// Whether `output`'s frames are drawn by its casts rather than into its own buffer:
    /// the headless backend draws it in memory, at least one cast shows it whole, every
    /// cast of it does (no region, the pointer not painted in), and the picture is the
    /// screen's (no client cursor surface, no window blocked out of captures), and no
    /// screencopy or image-copy client follows the output (they read its own picture).
    pub fn casts_draw_frames(&self, output: &Output) -> bool {
        let Backend::Headless(h) = &self.backend else {
            return false;
        };
        // Asked every frame: the common answer (no casts) comes first and costs nothing.
        if self.casts.casts.is_empty()
            || self.lock.is_locked()
            || !h.draws_into_memory(output)
            || matches!(self.cursor_status, CursorImageStatus::Surface(_))
            || self.screencopy_state.follows(output)
            || self.image_copy_follows(output)
            || self
                .space
                .elements_for_output(output)
                .any(|w| window_data(w).block_out.get())
        {
            return false;
        }
        let mut of_output = self
            .casts
            .casts
            .iter()
            .filter(|c| match &c.source {
                CastSource::Output(name) | CastSource::Region { output: name, .. } => {
                    *name == output.name()
                }
                CastSource::Window(_) => false,
            })
            .peekable();
        of_output.peek().is_some()
            && of_output.all(|c| {
                matches!(c.source, CastSource::Output(_)) && c.cursor != CursorMode::Embedded
            })
    }

    /// Sends cast `index` a frame of `output` drawn straight into the stream's buffer.
    pub(super) fn cast_drawn(
        &mut self,
        index: usize,
        output: &Output,
        cursor: CursorMode,
        now: Duration,
    ) -> anyhow::Result<bool> {
        let Some(mode) = output.current_mode() else {
            return Ok(false);
        };
        let size = (mode.size.w.max(0) as u32, mode.size.h.max(0) as u32);
        let pointer = match cursor {
            CursorMode::Metadata => Some(self.cursor_meta(output, None, None)),
            _ => None,
        };
        let scene = crate::screen_scene!(self);
        let Backend::Headless(backend) = &mut self.backend else {
            return Ok(false);
        };
        let cast = &mut self.casts.casts[index];
        let Some(caster) = self.casts.caster.as_mut() else {
            return Ok(true);
        };
        if size != cast.size {
            caster.resize(cast.id, size.0, size.1)?;
            cast.size = size;
            cast.primed = false;
            return Ok(true);
        }
        let damage = cast.repaint_damage(&cast.unsent, size, pointer.as_ref());
        let Some(damage) = damage else {
            cast.unsent.clear();
            return Ok(true);
        };
        let mut failed = None;
        let mut draw = |bytes: &mut [u8], stride, layout, missing: Option<&[Region]>| {
            let target = Target {
                bytes,
                stride,
                layout,
            };
            match backend.draw_into(&scene, output, target, missing) {
                Ok(()) => true,
                Err(err) => {
                    failed = Some(err);
                    false
                }
            }
        };
        let pushed = caster.push_drawn(cast.id, size, &damage, pointer.as_ref(), now, &mut draw)?;
        if let Some(err) = failed {
            tracing::warn!(%err, "drawing a cast frame");
        }
        if pushed == Pushed::Sent {
            cast.drawn_in_stream += 1;
        }
        cast.pushed(caster, pushed, size, pointer)?;
        Ok(true)
    }
}
