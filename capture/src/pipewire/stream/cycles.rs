//! What reaches a cast's consumer: the graph cycles that hand it frames, and what each
//! buffer lacks of the current picture.

use pipewire as pw;

use super::{Cast, CastState, Draw, Stale};
use crate::damage::accumulate;
use crate::frame::{PixelFormat, Region};

impl Cast {
    /// Whether a frame queued earlier has not gone to the consumer yet: the cycle it
    /// started found the consumer still holding the frame before, and only a later
    /// cycle takes it. Never while the consumer is not streaming (paused, gone): then
    /// no cycle would take it.
    pub fn undelivered(&self) -> bool {
        if self.shared.borrow().state != CastState::Streaming {
            return false;
        }
        let mut time = std::mem::MaybeUninit::<pw::sys::pw_time>::zeroed();
        // SAFETY: the stream lives as long as `self`; get_time_n writes at most `size`
        // bytes into `time`.
        let status = unsafe {
            pw::sys::pw_stream_get_time_n(
                self.stream.as_raw_ptr(),
                time.as_mut_ptr(),
                std::mem::size_of::<pw::sys::pw_time>(),
            )
        };
        // SAFETY: all zeroes is a valid pw_time, filled in where get_time_n succeeded.
        status == 0 && unsafe { time.assume_init() }.queued_buffers > 0
    }

    /// Runs a graph cycle where a frame still waits for one; whether one did.
    pub fn deliver(&self) -> bool {
        let waiting = self.undelivered();
        if waiting {
            self.trigger();
        }
        waiting
    }

    /// Runs one graph cycle: the consumer takes the queued frame, if any, and hands
    /// back a buffer it is done with.
    pub(super) fn trigger(&self) {
        if let Err(err) = self.stream.trigger_process() {
            tracing::debug!(%err, "cannot start a cast's graph cycle");
        }
    }

    /// Brings the shared-memory buffer at `memory` up to the picture `draw` makes.
    pub(super) fn fill(
        &mut self,
        memory: usize,
        draw: &mut Draw<'_>,
        bytes: &mut [u8],
        stride: usize,
        layout: PixelFormat,
        damage: &[Region],
    ) {
        self.refresh(memory, damage, &mut |missing| {
            draw(bytes, stride, layout, missing)
        });
    }

    /// Brings the buffer `key` up to the picture `paint` makes, whose changes since the
    /// previous frame are `damage`: only what it lacks where it was filled before, all
    /// of it otherwise. Every other buffer now lacks `damage` too.
    pub(super) fn refresh(
        &mut self,
        memory: usize,
        damage: &[Region],
        draw: &mut dyn FnMut(Option<&[Region]>) -> bool,
    ) {
        match self.stale.iter_mut().find(|s| s.memory == memory) {
            Some(buffer) => {
                let mut missing = std::mem::take(&mut buffer.missing);
                accumulate(&mut missing, damage.iter().copied());
                if !draw(Some(&missing)) {
                    // Drawn wrongly or not at all: whole next time.
                    self.stale.retain(|s| s.memory != memory);
                }
            }
            None => {
                if draw(None) {
                    self.stale.push(Stale {
                        memory,
                        missing: Vec::new(),
                    });
                }
            }
        }
        for other in self.stale.iter_mut().filter(|s| s.memory != memory) {
            accumulate(&mut other.missing, damage.iter().copied());
        }
    }
}
