//! The performance overlay: a panel of figures and a frame-time graph in a corner of
//! one output, redrawn four times a second while shown (and at each GPU sample), as an
//! element of its own over everything else. What drawing it costs is measured and
//! shown in the panel.

use std::time::{Duration, Instant};

use ghost_config::Corner;
use smithay::{
    backend::{allocator::Fourcc, renderer::element::memory::MemoryRenderBuffer},
    output::Output,
    reexports::calloop::{
        timer::{TimeoutAction, Timer},
        RegistrationToken,
    },
    utils::{Logical, Point, Rectangle, Size, Transform},
};

use super::panel;
use crate::state::Ghost;

/// How often the panel is redrawn while shown.
const REFRESH: Duration = Duration::from_millis(250);
/// Distance from the output's edges, logical pixels.
const MARGIN: i32 = 12;

/// The overlay's state.
#[derive(Default)]
pub struct Overlay {
    /// Whether it is shown.
    pub on: bool,
    /// What `[telemetry] overlay` said at the last (re)load, to tell a change.
    configured: bool,
    /// The picture, the output it is on and its size.
    picture: Option<(Output, MemoryRenderBuffer, Size<i32, Logical>)>,
    font: Option<crate::render::text::Monospace>,
    timer: Option<RegistrationToken>,
    /// Time to draw the panel, smoothed, in µs.
    pub cost_us: f64,
    /// Times it was drawn.
    pub updates: u64,
}

impl Overlay {
    /// The output it is on, while shown.
    pub fn output(&self) -> Option<&Output> {
        self.picture.as_ref().map(|(o, ..)| o)
    }
}

/// Where a panel of `size` sits in `corner` of an output at `output`.
pub fn placement(
    corner: Corner,
    size: Size<i32, Logical>,
    output: Rectangle<i32, Logical>,
) -> Point<i32, Logical> {
    let left = output.loc.x + MARGIN;
    let right = output.loc.x + output.size.w - size.w - MARGIN;
    let top = output.loc.y + MARGIN;
    let bottom = output.loc.y + output.size.h - size.h - MARGIN;
    let (x, y) = match corner {
        Corner::TopLeft => (left, top),
        Corner::TopRight => (right, top),
        Corner::BottomLeft => (left, bottom),
        Corner::BottomRight => (right, bottom),
    };
    (x.max(output.loc.x), y.max(output.loc.y)).into()
}

/// The overlay as a scene draws it: on which output, the picture, and where.
pub struct OverlayView<'a> {
    /// The output it is on.
    pub output: &'a Output,
    /// The picture.
    pub buffer: &'a MemoryRenderBuffer,
    /// Where it sits, in global logical coordinates.
    pub at: Point<i32, Logical>,
}

impl Ghost {
    /// Shows or hides the overlay.
    pub fn set_overlay(&mut self, on: bool) {
        self.telemetry.overlay.on = on;
        if on {
            if self.telemetry.overlay.timer.is_none() {
                let timer = Timer::from_duration(REFRESH);
                let token = self.loop_handle.insert_source(timer, |_, _, state| {
                    state.overlay_refresh();
                    TimeoutAction::ToDuration(REFRESH)
                });
                match token {
                    Ok(token) => self.telemetry.overlay.timer = Some(token),
                    Err(err) => tracing::warn!(%err, "the overlay will not refresh by itself"),
                }
            }
            self.overlay_refresh();
        } else {
            if let Some(token) = self.telemetry.overlay.timer.take() {
                self.loop_handle.remove(token);
            }
            if let Some((output, ..)) = self.telemetry.overlay.picture.take() {
                self.queue_redraw(&output);
            }
        }
    }

    /// Follows `[telemetry] overlay` when it changed (at start and on reload), and
    /// redraws in the configured corner and output.
    pub(super) fn overlay_reconfigured(&mut self) {
        let wanted = self.config.telemetry.overlay;
        if wanted != self.telemetry.overlay.configured {
            self.telemetry.overlay.configured = wanted;
            self.set_overlay(wanted);
        } else {
            self.overlay_refresh();
        }
    }

    /// The output the overlay belongs on: the configured one, else the first.
    fn overlay_target(&self) -> Option<Output> {
        let named = self.config.telemetry.overlay_output.as_deref();
        self.space
            .outputs()
            .find(|o| Some(o.name().as_str()) == named)
            .or_else(|| self.space.outputs().next())
            .cloned()
    }

    /// Draws the panel again from the current figures, while shown.
    pub(super) fn overlay_refresh(&mut self) {
        if !self.telemetry.overlay.on {
            return;
        }
        let Some(output) = self.overlay_target() else {
            return;
        };
        // Loading the font is once, not each draw's cost.
        if self.telemetry.overlay.font.is_none() {
            self.telemetry.overlay.font = Some(panel::font());
        }
        let started = Instant::now();
        let data = self.panel_data(&output);
        let overlay = &mut self.telemetry.overlay;
        let font = overlay.font.get_or_insert_with(panel::font);
        let canvas = panel::draw(font, &data);
        let size: Size<i32, Logical> = (canvas.width as i32, canvas.height as i32).into();
        let buffer = MemoryRenderBuffer::from_slice(
            &canvas.pixels,
            Fourcc::Argb8888,
            (canvas.width as i32, canvas.height as i32),
            1,
            Transform::Normal,
            None,
        );
        let took = started.elapsed().as_secs_f64() * 1e6;
        overlay.cost_us = match overlay.updates {
            0 => took,
            _ => overlay.cost_us * 0.9 + took * 0.1,
        };
        overlay.updates += 1;
        let previous = overlay.picture.replace((output.clone(), buffer, size));
        if let Some((old, ..)) = previous.filter(|(o, ..)| *o != output) {
            self.queue_redraw(&old);
        }
        self.queue_redraw(&output);
    }
}

/// The overlay as a scene draws it, from the state's fields apart (a backend draws
/// while holding itself mutably).
pub fn view<'a>(
    overlay: &'a Overlay,
    space: &smithay::desktop::Space<smithay::desktop::Window>,
    corner: Corner,
) -> Option<OverlayView<'a>> {
    let (output, buffer, size) = overlay.picture.as_ref()?;
    let geometry = space.output_geometry(output)?;
    Some(OverlayView {
        output,
        buffer,
        at: placement(corner, *size, geometry),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_corner_keeps_the_margin_and_stays_on_the_output() {
        let out = Rectangle::new((1920, 0).into(), (1280, 720).into());
        let size = (400, 200).into();
        assert_eq!(placement(Corner::TopLeft, size, out), (1932, 12).into());
        assert_eq!(
            placement(Corner::TopRight, size, out),
            (1920 + 1280 - 412, 12).into()
        );
        assert_eq!(
            placement(Corner::BottomRight, size, out),
            (2788, 508).into()
        );
        // A panel bigger than a small output starts at its corner.
        let tiny = Rectangle::new((0, 0).into(), (300, 100).into());
        assert_eq!(placement(Corner::BottomRight, size, tiny), (0, 0).into());
    }
}
