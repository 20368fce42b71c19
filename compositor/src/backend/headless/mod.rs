//! The headless backend: virtual outputs rendered into memory, paced by a frame clock at
//! the output's exact refresh rate. Nothing is shown; screenshots and screencopy read
//! the frames. Idle outputs arm no timer, so an idle desktop uses no CPU. Where screen
//! casts are the only readers of an output's pixels, they draw its frames into their
//! own buffers (`draw`) and the output keeps only the damage.
//!
//! Two renderers: pixman (CPU, SDR only, the default) and GLES on an EGL device (a GPU,
//! or Mesa's llvmpipe), which runs the colour-managed path of `render::colour` and so
//! drives HDR outputs. `--renderer gles` picks it, and `auto` does when a configured
//! output has `hdr = "on"`.

use std::time::{Duration, Instant};

use ghost_hdr::ImageDescription;
use ghost_vrr::FrameClock;
use smithay::{
    backend::{
        allocator::Fourcc,
        renderer::{
            damage::OutputDamageTracker, gles::GlesRenderer, pixman::PixmanRenderer, Bind,
            Offscreen,
        },
    },
    output::{Mode, Output},
    reexports::{
        calloop::{
            timer::{TimeoutAction, Timer},
            RegistrationToken,
        },
        pixman::Image,
        wayland_server::backend::GlobalId,
    },
    utils::{Physical, Transform},
};
use tracing::{debug, warn};

mod draw;
mod outputs;
pub use draw::Target;
pub use outputs::{create_output, remove_output, OutputSpec};

use super::RendererChoice;
use super::{Backend, OutputModes};
use crate::{
    protocols::color_management::output_description,
    render::{
        colour::{self, ColourPrograms, ColourTargets},
        Scene, CLEAR_COLOR,
    },
    state::Ghost,
};

/// The GLES renderer with the colour path's shaders.
pub struct GlesParts {
    renderer: GlesRenderer,
    programs: ColourPrograms,
}

enum Renderers {
    Pixman(PixmanRenderer),
    Gles(Box<GlesParts>),
}

enum OutputBuffer {
    Pixman(Image<'static, 'static>),
    /// Allocated at the first frame, in the format the output's description needs.
    Gles(Option<ColourTargets>),
}

/// Whether an HDR output gets a half-float buffer (config `max_bpc` above 10) rather
/// than 10 bits per channel.
#[derive(Debug, Default)]
pub struct DeepColour(pub std::sync::atomic::AtomicBool);

fn target_format(output: &Output, description: &ImageDescription) -> Fourcc {
    if !description.transfer.is_hdr() {
        return Fourcc::Abgr8888;
    }
    let deep = output
        .user_data()
        .get::<DeepColour>()
        .is_some_and(|d| d.0.load(std::sync::atomic::Ordering::Relaxed));
    if deep {
        Fourcc::Abgr16161616f
    } else {
        Fourcc::Abgr2101010
    }
}

struct VirtualOutput {
    output: Output,
    global: GlobalId,
    buffer: OutputBuffer,
    /// Identity of the colour description the last frame was drawn for.
    drawn_for: u32,
    tracker: OutputDamageTracker,
    clock: FrameClock,
    timer: Option<RegistrationToken>,
    scheduled_ns: u64,
    rendered_once: bool,
    /// The buffer holds the latest frame (false while casts draw the frames
    /// themselves and nobody else reads it).
    drawn: bool,
    stats: super::FrameStats,
    /// What the last frame repainted (empty: nothing).
    last_damage: Vec<smithay::utils::Rectangle<i32, Physical>>,
}

/// The renderer and the virtual outputs.
pub struct HeadlessBackend {
    renderer: Renderers,
    outputs: Vec<VirtualOutput>,
}

fn nanos(d: Duration) -> u64 {
    d.as_nanos().min(u64::MAX as u128) as u64
}

impl HeadlessBackend {
    /// Whether outputs can be driven in HDR (the GLES renderer runs).
    pub fn supports_hdr(&self) -> bool {
        matches!(self.renderer, Renderers::Gles(_))
    }

    /// Renders `output` without the cursor for a screenshot: 8-bit sRGB (HDR outputs
    /// tone mapped to SDR), or with `hdr` the PQ/BT.2020 signal of an HDR output.
    pub fn capture(
        &mut self,
        scene: &Scene<'_>,
        output: &Output,
        hdr: bool,
    ) -> anyhow::Result<super::Captured> {
        match &mut self.renderer {
            Renderers::Pixman(r) => {
                if hdr {
                    anyhow::bail!(
                        "output {} is not HDR (pixman renders SDR only)",
                        output.name()
                    );
                }
                Ok(super::Captured::Sdr(crate::render::capture_output(
                    scene, r, output,
                )?))
            }
            Renderers::Gles(g) => {
                let format = target_format(output, &output_description(output).0);
                crate::render::colour_frames::capture(
                    scene,
                    &mut g.renderer,
                    &g.programs,
                    output,
                    hdr,
                    format,
                )
            }
        }
    }

    /// A capture packed for an encoder on the GPU (GLES only).
    pub fn capture_packed(
        &mut self,
        scene: &Scene<'_>,
        output: &Output,
        hdr: bool,
    ) -> Option<anyhow::Result<ghost_capture::YuvFrame>> {
        match &mut self.renderer {
            Renderers::Pixman(_) => None,
            Renderers::Gles(g) => Some(crate::render::colour_frames::capture_yuv(
                scene,
                &mut g.renderer,
                &g.programs,
                output,
                hdr,
            )),
        }
    }

    /// The picture `output` shows now, read in place, with what its last frame
    /// repainted: only where the output is drawn into memory (pixman). Screen casts
    /// copy from it instead of drawing the output a second time.
    pub fn shown(
        &self,
        output: &Output,
    ) -> Option<(
        ghost_capture::FrameView<'_>,
        &[smithay::utils::Rectangle<i32, Physical>],
    )> {
        let v = self.outputs.iter().find(|o| &o.output == output)?;
        if !v.rendered_once || !v.drawn {
            return None;
        }
        let OutputBuffer::Pixman(image) = &v.buffer else {
            return None;
        };
        let (width, height, stride) = (image.width(), image.height(), image.stride());
        // SAFETY: the image owns width × height pixels at `stride` bytes a row for as long
        // as the output exists; the returned view borrows `self`, so the image can be
        // neither rendered into nor replaced (set_mode) while it is read.
        let bytes =
            unsafe { std::slice::from_raw_parts(image.data().cast::<u8>(), stride * height) };
        let view = ghost_capture::FrameView::new(
            width as u32,
            height as u32,
            stride,
            ghost_capture::PixelFormat::Xrgb8888,
            bytes,
        )
        .ok()?;
        Some((view, &v.last_damage))
    }

    /// Frame counters of `output`.
    pub fn stats(&self, output: &Output) -> Option<super::FrameStats> {
        self.outputs
            .iter()
            .find(|o| &o.output == output)
            .map(|o| o.stats)
    }

    /// What `output`'s last frame changed (empty: nothing), drawn or not.
    pub fn last_damage(
        &self,
        output: &Output,
    ) -> Option<&[smithay::utils::Rectangle<i32, Physical>]> {
        let v = self.outputs.iter().find(|o| &o.output == output)?;
        v.rendered_once.then_some(&v.last_damage[..])
    }

    /// Whether frames of `output` can be drawn straight into other memory
    /// ([`HeadlessBackend::draw_into`]): pixman draws them, in the output's own
    /// orientation, and its first frame (which primes the damage tracking) is drawn.
    pub fn draws_into_memory(&self, output: &Output) -> bool {
        matches!(self.renderer, Renderers::Pixman(_))
            && output.current_transform() == Transform::Normal
            && self
                .outputs
                .iter()
                .any(|o| &o.output == output && o.rendered_once)
    }

    /// Draws `scene`'s picture of `output` (the output's size, as its own buffer would
    /// hold it) into `bytes`, rows `stride` apart in `layout`: only `regions` (output
    /// pixels), or all of it. A screen cast's buffer gets its frame this way, without
    /// the copy from the output's buffer.
    pub fn draw_into(
        &mut self,
        scene: &Scene<'_>,
        output: &Output,
        target: Target<'_>,
        regions: Option<&[ghost_capture::Region]>,
    ) -> anyhow::Result<()> {
        let Renderers::Pixman(renderer) = &mut self.renderer else {
            anyhow::bail!("only pixman draws into memory");
        };
        draw::pixman_into(renderer, scene, output, target, regions)
    }

    fn find(&mut self, output: &Output) -> Option<&mut VirtualOutput> {
        self.outputs.iter_mut().find(|o| &o.output == output)
    }

    /// Resizes an output's buffer and repaces its clock for a new mode. Virtual outputs
    /// take any size, so a mode they did not list is added to their modes.
    pub fn set_mode(&mut self, output: &Output, mode: Mode) -> anyhow::Result<()> {
        if let Some(modes) = output.user_data().get::<OutputModes>() {
            let mut list = modes
                .modes
                .lock()
                .map_err(|_| anyhow::anyhow!("mode list poisoned"))?;
            if !list.contains(&mode) {
                list.push(mode);
            }
        }
        let buffer = match &mut self.renderer {
            Renderers::Pixman(r) => OutputBuffer::Pixman(r.create_buffer(
                Fourcc::Xrgb8888,
                mode.size.to_logical(1).to_buffer(1, Transform::Normal),
            )?),
            Renderers::Gles(_) => OutputBuffer::Gles(None),
        };
        let Some(v) = self.outputs.iter_mut().find(|o| &o.output == output) else {
            anyhow::bail!("unknown output {}", output.name());
        };
        v.clock.set_cycle(mode.refresh)?;
        v.buffer = buffer;
        v.rendered_once = false;
        v.tracker = OutputDamageTracker::new(
            mode.size,
            output.current_scale().fractional_scale(),
            output.current_transform(),
        );
        Ok(())
    }
}

/// Creates the headless backend with one virtual output per spec, laid out left to
/// right, choosing the renderer automatically.
pub fn init(state: &mut Ghost, specs: &[OutputSpec]) -> anyhow::Result<()> {
    init_with(state, specs, RendererChoice::Auto)
}

fn gles_parts() -> anyhow::Result<GlesParts> {
    let mut renderer = colour::headless_renderer()?;
    let programs = ColourPrograms::compile(&mut renderer)?;
    Ok(GlesParts { renderer, programs })
}

/// [`init`] with an explicit renderer. GLES that cannot start falls back to pixman
/// (with a warning) unless it was asked for by name.
pub fn init_with(
    state: &mut Ghost,
    specs: &[OutputSpec],
    choice: RendererChoice,
) -> anyhow::Result<()> {
    let wants_hdr = state
        .config
        .output
        .iter()
        .any(|o| o.hdr == ghost_config::Toggle::On);
    let renderer = match choice {
        RendererChoice::Pixman => Renderers::Pixman(PixmanRenderer::new()?),
        RendererChoice::Gles => Renderers::Gles(Box::new(gles_parts()?)),
        RendererChoice::Auto if wants_hdr => match gles_parts() {
            Ok(parts) => Renderers::Gles(Box::new(parts)),
            Err(err) => {
                warn!(%err, "no GLES renderer for HDR outputs; they stay SDR on pixman");
                Renderers::Pixman(PixmanRenderer::new()?)
            }
        },
        RendererChoice::Auto => Renderers::Pixman(PixmanRenderer::new()?),
    };
    let mut backend = HeadlessBackend {
        renderer,
        outputs: Vec::new(),
    };
    let now = nanos(state.now());
    let mut x = 0;
    for (i, spec) in specs.iter().enumerate() {
        let v = outputs::virtual_output(
            &state.display_handle,
            &mut backend.renderer,
            i + 1,
            *spec,
            (x, 0),
            now,
        )?;
        state.space.map_output(&v.output, (x, 0));
        x += (f64::from(spec.width) / spec.scale).round() as i32;
        backend.outputs.push(v);
    }
    state.backend = Backend::Headless(Box::new(backend));
    // `[[output]]` sections may change modes, scales, positions, or switch outputs off.
    for output in state.outputs() {
        state.apply_output_settings(&output);
    }
    for output in state.outputs() {
        schedule(state, &output);
    }
    // A tablet for synthetic pen input (`msg input tablet-move`), as a real one is
    // announced when libinput finds it.
    use smithay::wayland::tablet_manager::TabletSeatTrait;
    state.seat.tablet_seat().add_tablet::<Ghost>(
        &state.display_handle,
        &crate::input::tablet::synthetic_tablet(),
    );
    Ok(())
}

/// Arms the output's timer for its next vblank, unless it is armed already.
pub fn schedule(state: &mut Ghost, output: &Output) {
    let now = nanos(state.now());
    let Backend::Headless(backend) = &mut state.backend else {
        return;
    };
    let Some(v) = backend.find(output) else {
        return;
    };
    if v.timer.is_some() {
        return;
    }
    let at = v.clock.next_presentation(now);
    v.scheduled_ns = at;
    let deadline = Instant::now() + Duration::from_nanos(at.saturating_sub(now));
    let output = output.clone();
    let token =
        state
            .loop_handle
            .insert_source(Timer::from_deadline(deadline), move |_, _, state| {
                render(state, &output);
                TimeoutAction::Drop
            });
    match token {
        Ok(token) => v.timer = Some(token),
        Err(err) => warn!(%err, "could not arm the frame timer"),
    }
}

/// Draws one frame of `output` at its scheduled vblank and tells clients.
fn render(state: &mut Ghost, output: &Output) {
    let casts_draw = state.casts_draw_frames(output);
    let scene = crate::screen_scene!(state);
    let Backend::Headless(backend) = &mut state.backend else {
        return;
    };
    let Some(v) = backend.outputs.iter_mut().find(|o| &o.output == output) else {
        return;
    };
    v.timer = None;
    let vblank = v.scheduled_ns;
    let started = Instant::now();
    let result = match (&mut backend.renderer, &mut v.buffer) {
        // Nobody but the casts reads this output's buffer, and they draw their frames
        // themselves: what changed is all this frame needs.
        (Renderers::Pixman(renderer), OutputBuffer::Pixman(_)) if casts_draw => {
            let elements = scene.elements(renderer, output, true);
            v.drawn = false;
            match v
                .tracker
                .damage_output(usize::from(v.rendered_once), &elements)
            {
                Ok((damage, states)) => {
                    v.last_damage = damage.cloned().unwrap_or_default();
                    Ok((damage.map(|d| area(d)), states))
                }
                Err(e) => Err(anyhow::anyhow!("{e:?}")),
            }
        }
        (Renderers::Pixman(renderer), OutputBuffer::Pixman(buffer)) => {
            let elements = scene.elements(renderer, output, true);
            let age = usize::from(v.rendered_once && v.drawn);
            v.drawn = true;
            match renderer.bind(buffer) {
                Ok(mut framebuffer) => v
                    .tracker
                    .render_output(renderer, &mut framebuffer, age, &elements, CLEAR_COLOR)
                    .map(|r| {
                        v.last_damage = r.damage.cloned().unwrap_or_default();
                        (r.damage.map(|d| area(d)), r.states)
                    })
                    .map_err(|e| anyhow::anyhow!("{e:?}")),
                Err(e) => Err(anyhow::anyhow!("{e:?}")),
            }
        }
        (Renderers::Gles(parts), OutputBuffer::Gles(targets)) => {
            let (description, identity) = output_description(output);
            let age = usize::from(v.rendered_once && v.drawn_for == identity);
            let elements = scene.elements(&mut parts.renderer, output, true);
            match v.tracker.damage_output(age, &elements) {
                Ok((Some(damage), states)) => {
                    let px = area(damage);
                    let started = std::time::Instant::now();
                    let drawn =
                        draw_colour(parts, &scene, output, &elements, &description, targets);
                    // Nothing scans this buffer out: waiting for the GPU here costs no
                    // pipelining, and makes the frame's time a true one.
                    let _ = parts.renderer.with_context(|gl| {
                        // SAFETY: the renderer's context is current inside with_context.
                        unsafe { gl.Finish() }
                    });
                    v.stats.record_drawing(started.elapsed());
                    v.drawn_for = identity;
                    drawn.map(|()| (Some(px), states))
                }
                Ok((None, states)) => Ok((None, states)),
                Err(e) => Err(anyhow::anyhow!("{e:?}")),
            }
        }
        _ => Err(anyhow::anyhow!("renderer and buffer disagree")),
    };
    let (damage, states) = match result {
        Ok(r) => r,
        Err(err) => {
            warn!(%err, output = output.name(), "rendering failed");
            return;
        }
    };
    v.rendered_once = true;
    v.stats.record(damage);
    let damaged = damage.is_some();
    if damaged {
        // Headless frames are drawn at their vblank: all of it is drawing.
        state.telemetry.frame_drawn(
            &output.name(),
            Some(started.elapsed()),
            vblank,
            Some(vblank),
        );
    }
    v.clock.presented(vblank);
    let refresh = Duration::from_nanos(v.clock.cycle().period_ns());
    let seq = v.clock.cycle().sequence_of(vblank);
    debug!(output = output.name(), damaged, "frame");
    let presented = damaged.then_some((Duration::from_nanos(vblank), refresh, seq));
    state.post_render(output, &states, presented);
}

fn area(damage: &[smithay::utils::Rectangle<i32, Physical>]) -> u64 {
    damage
        .iter()
        .map(|r| r.size.w as u64 * r.size.h as u64)
        .sum()
}

/// One colour-managed frame into the output's targets, (re)allocated when the mode or
/// the description's format changed.
fn draw_colour(
    parts: &mut GlesParts,
    scene: &Scene<'_>,
    output: &Output,
    elements: &[crate::render::OutputElement<GlesRenderer>],
    description: &ImageDescription,
    targets: &mut Option<ColourTargets>,
) -> anyhow::Result<()> {
    let Some(mode) = output.current_mode() else {
        anyhow::bail!("output {} has no mode", output.name());
    };
    let format = target_format(output, description);
    let size = output.current_transform().transform_size(mode.size);
    let stale = targets.as_ref().is_none_or(|t| {
        use smithay::backend::renderer::Texture;
        t.format != format
            || (t.target.width() as i32, t.target.height() as i32) != (size.w, size.h)
    });
    if stale {
        *targets = Some(ColourTargets::new(&mut parts.renderer, size, format)?);
    }
    let Some(targets) = targets.as_mut() else {
        anyhow::bail!("no render targets");
    };
    let descriptions = scene.surface_descriptions(output);
    colour::render(
        &mut parts.renderer,
        &parts.programs,
        elements,
        &descriptions,
        description,
        output.current_scale().fractional_scale(),
        targets,
    )?;
    Ok(())
}
