//! The nested backend: one output shown in a window of the host session (Wayland or X11),
//! rendered with GLES. The host paces frames; its window size is the output's mode.

use std::time::Duration;

use smithay::{
    backend::{
        allocator::{dmabuf::Dmabuf, Fourcc},
        renderer::{
            damage::OutputDamageTracker,
            gles::{GlesRenderer, GlesTexture},
            ImportDma,
        },
        winit::{self, WinitEvent, WinitGraphicsBackend},
    },
    input::pointer::CursorImageStatus,
    output::{Mode, Output, PhysicalProperties, Subpixel},
    utils::Transform,
};
use tracing::{info, warn};

use super::{Backend, OutputModes};
use crate::{
    render::{colour::ColourPrograms, colour_frames, colour_frames::ColourFrames, Scene},
    state::Ghost,
};

const REFRESH_MHZ: i32 = 60_000;

/// The host window, its renderer and the one output.
pub struct WinitBackend {
    graphics: WinitGraphicsBackend<GlesRenderer>,
    output: Output,
    tracker: OutputDamageTracker,
    sequence: u64,
    stats: super::FrameStats,
    /// The colour path's shaders (None where they did not compile: no colour
    /// management is offered then).
    programs: Option<ColourPrograms>,
    colour: ColourFrames,
}

impl WinitBackend {
    /// Asks the host for a frame.
    pub fn request_redraw(&mut self) {
        self.graphics.window().request_redraw();
    }

    /// Imports a client dmabuf into GLES.
    pub fn import_dmabuf(&mut self, dmabuf: &Dmabuf) -> bool {
        self.graphics.renderer().import_dmabuf(dmabuf, None).is_ok()
    }

    /// Shows named cursors with the host's cursor; client cursor surfaces are drawn by us.
    pub fn cursor_changed(&mut self, status: &CursorImageStatus) {
        let window = self.graphics.window();
        match status {
            CursorImageStatus::Named(icon) => {
                window.set_cursor_visible(true);
                window.set_cursor(*icon);
            }
            CursorImageStatus::Hidden | CursorImageStatus::Surface(_) => {
                window.set_cursor_visible(false);
            }
        }
    }

    /// Frame counters of the nested output.
    pub fn stats(&self, output: &Output) -> Option<super::FrameStats> {
        (output == &self.output).then_some(self.stats)
    }

    /// Renders the output offscreen and reads it back.
    pub fn capture(
        &mut self,
        scene: &Scene<'_>,
        output: &Output,
    ) -> anyhow::Result<ghost_capture::Frame> {
        match &self.programs {
            Some(programs) if colour_frames::capture_needs_colour(scene, output) => {
                match colour_frames::capture(
                    scene,
                    self.graphics.renderer(),
                    programs,
                    output,
                    false,
                    Fourcc::Abgr8888,
                )? {
                    super::Captured::Sdr(frame) => Ok(frame),
                    super::Captured::Hdr(_) => anyhow::bail!("an SDR capture came back as HDR"),
                }
            }
            _ => crate::render::capture_output::<_, GlesTexture>(
                scene,
                self.graphics.renderer(),
                output,
            ),
        }
    }

    /// Whether surfaces' colour descriptions are converted to the host's sRGB.
    pub fn converts_colour(&self) -> bool {
        self.programs.is_some()
    }
}

/// Opens the host window and creates the output.
pub fn init(state: &mut Ghost) -> anyhow::Result<()> {
    let (mut graphics, events) = winit::init::<GlesRenderer>()
        .map_err(|e| anyhow::anyhow!("cannot open a window in the host session: {e}"))?;
    let mode = Mode {
        size: graphics.window_size(),
        refresh: REFRESH_MHZ,
    };
    let output = Output::new(
        "WINIT-1".to_string(),
        PhysicalProperties {
            size: (0, 0).into(),
            subpixel: Subpixel::Unknown,
            make: "GhostNV".into(),
            model: "Nested window".into(),
        },
    );
    output.add_mode(mode);
    output.set_preferred(mode);
    output.change_current_state(
        Some(mode),
        Some(Transform::Flipped180),
        None,
        Some((0, 0).into()),
    );
    output
        .user_data()
        .insert_if_missing(|| OutputModes::new(vec![mode]));
    let _global = output.create_global::<Ghost>(&state.display_handle);
    state.space.map_output(&output, (0, 0));

    let formats: Vec<_> = graphics.renderer().dmabuf_formats().into_iter().collect();
    if !formats.is_empty() {
        info!(
            formats = formats.len(),
            "clients may share dmabufs with the renderer"
        );
        let _global = state
            .dmabuf_state
            .create_global::<Ghost>(&state.display_handle, formats);
    }
    let tracker = OutputDamageTracker::from_output(&output);
    let programs = ColourPrograms::compile(graphics.renderer())
        .map_err(|err| warn!(%err, "colour shaders did not compile; no colour management"))
        .ok();
    state.backend = Backend::Winit(Box::new(WinitBackend {
        graphics,
        output: output.clone(),
        tracker,
        sequence: 0,
        stats: super::FrameStats::default(),
        programs,
        colour: ColourFrames::default(),
    }));

    state
        .loop_handle
        .insert_source(events, move |event, _, state| match event {
            WinitEvent::Resized { size, .. } => {
                let mode = Mode {
                    size,
                    refresh: REFRESH_MHZ,
                };
                output.delete_mode(output.current_mode().unwrap_or(mode));
                output.add_mode(mode);
                output.set_preferred(mode);
                output.change_current_state(Some(mode), None, None, None);
                state.relayout_after_output_change(&output);
            }
            WinitEvent::Input(event) => state.process_input_event(event),
            WinitEvent::Redraw => render(state),
            WinitEvent::CloseRequested => state.loop_signal.stop(),
            WinitEvent::Focus(_) => {}
        })
        .map_err(|e| anyhow::anyhow!("cannot watch the host window: {e}"))?;
    for output in state.outputs() {
        state.apply_output_settings(&output);
    }
    Ok(())
}

fn render(state: &mut Ghost) {
    let scene = crate::screen_scene!(state);
    let Backend::Winit(backend) = &mut state.backend else {
        return;
    };
    let output = backend.output.clone();
    let age = backend.graphics.buffer_age().unwrap_or(0);
    let size = backend.graphics.window_size();
    let result = match backend.graphics.bind() {
        Ok((renderer, mut framebuffer)) => {
            let elements = scene.elements(renderer, &output, true);
            backend
                .colour
                .draw(
                    renderer,
                    backend.programs.as_ref(),
                    &mut backend.tracker,
                    &mut framebuffer,
                    size,
                    age,
                    &elements,
                    &scene,
                    &output,
                )
                .map(|r| (r.damage, r.states))
        }
        Err(e) => Err(anyhow::anyhow!("{e:?}")),
    };
    let (damage, states) = match result {
        Ok(r) => r,
        Err(err) => {
            warn!(%err, "rendering the nested output failed");
            return;
        }
    };
    let mut presented = None;
    backend.stats.record(
        damage
            .as_ref()
            .map(|d| d.iter().map(|r| r.size.w as u64 * r.size.h as u64).sum()),
    );
    if let Some(damage) = damage {
        if let Err(err) = backend.graphics.submit(Some(&damage)) {
            warn!(%err, "presenting the nested output failed");
        }
        backend.sequence += 1;
        let refresh = Duration::from_nanos(1_000_000_000_000 / REFRESH_MHZ as u64);
        presented = Some((state.clock.now().into(), refresh, backend.sequence));
    }
    state.post_render(&output, &states, presented);
}
