//! What happens after a frame of an output was drawn: which output each surface is
//! mainly shown on, presentation feedback, frame callbacks, and the captures and
//! casts that wait for a repaint.

use std::time::Duration;

use smithay::{
    backend::renderer::element::{default_primary_scanout_output_compare, RenderElementStates},
    desktop::{
        layer_map_for_output,
        utils::{
            surface_presentation_feedback_flags_from_states, surface_primary_scanout_output,
            update_surface_primary_scanout_output, with_surfaces_surface_tree,
            OutputPresentationFeedback,
        },
        Window,
    },
    input::pointer::CursorImageStatus,
    output::Output,
    reexports::wayland_server::protocol::wl_surface::WlSurface,
    wayland::{
        compositor::send_surface_state, fractional_scale::with_fractional_scale,
        presentation::Refresh,
    },
};

use crate::state::Ghost;

impl Ghost {
    /// Whether `window` shows on `output`: what the space recorded at its last refresh,
    /// or, for a window mapped since (its commit and the frame can fall in one
    /// event-loop iteration, before the refresh), whether it overlaps the output. The
    /// frame that first draws a window must also send it a frame callback, or a client
    /// waiting for one waits forever.
    fn window_on_output(&self, window: &Window, output: &Output) -> bool {
        if self.space.outputs_for_element(window).contains(output) {
            return true;
        }
        let (Some(bbox), Some(geo)) = (
            self.space.element_bbox(window),
            self.space.output_geometry(output),
        ) else {
            return false;
        };
        bbox.overlaps(geo)
    }

    /// After a frame was drawn for `output`: records which output each surface is
    /// mainly shown on, sends presentation feedback when the frame reached the screen at
    /// `presented` (monotonic time), and sends frame callbacks.
    pub fn post_render(
        &mut self,
        output: &Output,
        states: &RenderElementStates,
        presented: Option<(Duration, Duration, u64)>,
    ) {
        let scale = output.current_scale();
        let transform = output.current_transform();
        let update = |surface: &WlSurface, data: &smithay::wayland::compositor::SurfaceData| {
            let primary = update_surface_primary_scanout_output(
                surface,
                output,
                data,
                states,
                default_primary_scanout_output_compare,
            );
            // Surfaces mainly shown on this output learn its scale and transform
            // (fractional-scale-v1 and wl_surface.preferred_buffer_scale/transform).
            if primary.as_ref() == Some(output) {
                with_fractional_scale(data, |fs| fs.set_preferred_scale(scale.fractional_scale()));
                send_surface_state(surface, data, scale.integer_scale(), transform);
            }
        };
        for window in self.space.elements() {
            crate::shell::with_window_surfaces(window, update);
        }
        let map = layer_map_for_output(output);
        for layer in map.layers() {
            layer.with_surfaces(update);
        }
        if let CursorImageStatus::Surface(ref surface) = self.cursor_status {
            with_surfaces_surface_tree(surface, update);
        }

        if let Some((time, refresh, seq)) = presented {
            let presented_ns = u64::try_from(time.as_nanos()).unwrap_or(u64::MAX);
            self.telemetry.frame_presented(
                &output.name(),
                presented_ns,
                u64::try_from(refresh.as_nanos()).unwrap_or(u64::MAX),
            );
            for window in self.space.elements() {
                if self.window_on_output(window, output) {
                    if let Some(surface) = crate::shell::toplevel_surface(window) {
                        self.telemetry.window_presented(&surface, presented_ns);
                    }
                }
            }
            let mut feedback = OutputPresentationFeedback::new(output);
            for window in self.space.elements() {
                if self.window_on_output(window, output) {
                    window.take_presentation_feedback(
                        &mut feedback,
                        surface_primary_scanout_output,
                        |surface, _| {
                            surface_presentation_feedback_flags_from_states(surface, states)
                        },
                    );
                }
            }
            for layer in map.layers() {
                layer.take_presentation_feedback(
                    &mut feedback,
                    surface_primary_scanout_output,
                    |surface, _| surface_presentation_feedback_flags_from_states(surface, states),
                );
            }
            let kind = self.backend.presentation_kind();
            feedback.presented::<_, smithay::utils::Monotonic>(
                time,
                Refresh::Fixed(refresh),
                seq,
                kind,
            );
        }

        let now = self.now();
        let throttle = Some(Duration::from_secs(1));
        for window in self.space.elements() {
            if self.window_on_output(window, output) {
                window.send_frame(output, now, throttle, surface_primary_scanout_output);
                if let Some(surface) = window.x11_surface().and_then(crate::xwayland::tied_by_id) {
                    smithay::desktop::utils::send_frames_surface_tree(
                        &surface,
                        output,
                        now,
                        throttle,
                        surface_primary_scanout_output,
                    );
                }
            }
        }
        for layer in map.layers() {
            layer.send_frame(output, now, throttle, surface_primary_scanout_output);
        }
        drop(map);
        if let CursorImageStatus::Surface(ref surface) = self.cursor_status {
            smithay::desktop::utils::send_frames_surface_tree(
                surface,
                output,
                now,
                throttle,
                surface_primary_scanout_output,
            );
        }
        self.lock_after_render(output);
        self.release_frame_barriers(output);
        // Captures of this frame carry the time it reached the screen (the kernel's
        // vblank on KMS), not the time they were made.
        let shown_at = presented.map(|(time, ..)| time);
        if presented.is_some() {
            self.screencopy_after_repaint(output, shown_at);
        }
        self.image_copy_after_repaint(output, shown_at);
        self.casts_after_repaint(output, shown_at);
        self.recordings_after_repaint(output);
        // Ghost::after_dispatch refreshes the space and flushes clients once this
        // event-loop iteration ends.
    }
}
