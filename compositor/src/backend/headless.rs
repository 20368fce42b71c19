//! The headless backend: virtual outputs rendered with pixman into memory, paced by a
//! frame clock at the output's exact refresh rate. Nothing is shown; screenshots and
//! screencopy read the frames. Idle outputs arm no timer, so an idle desktop uses no CPU.

use std::time::{Duration, Instant};

use ghost_vrr::{FrameClock, RefreshCycle};
use smithay::{
    backend::{
        allocator::Fourcc,
        renderer::{damage::OutputDamageTracker, pixman::PixmanRenderer, Bind, Offscreen},
    },
    output::{Mode, Output, PhysicalProperties, Scale, Subpixel},
    reexports::{
        calloop::{
            timer::{TimeoutAction, Timer},
            RegistrationToken,
        },
        pixman::Image,
    },
    utils::{Physical, Size, Transform},
};
use tracing::{debug, warn};

use super::{Backend, OutputModes};
use crate::{
    render::{Scene, CLEAR_COLOR},
    state::Ghost,
};

/// An output as asked for on the command line or in the config.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutputSpec {
    /// Width in pixels.
    pub width: i32,
    /// Height in pixels.
    pub height: i32,
    /// Refresh in millihertz.
    pub refresh_mhz: i32,
    /// Fractional scale.
    pub scale: f64,
}

impl Default for OutputSpec {
    fn default() -> Self {
        Self {
            width: 1920,
            height: 1080,
            refresh_mhz: 60_000,
            scale: 1.0,
        }
    }
}

/// Modes every virtual output offers besides its own, so mode switching can be tried.
const COMMON_MODES: [(i32, i32); 5] = [
    (3840, 2160),
    (2560, 1440),
    (1920, 1080),
    (1280, 720),
    (1024, 768),
];

struct VirtualOutput {
    output: Output,
    buffer: Image<'static, 'static>,
    tracker: OutputDamageTracker,
    clock: FrameClock,
    timer: Option<RegistrationToken>,
    scheduled_ns: u64,
    rendered_once: bool,
    stats: super::FrameStats,
}

/// Pixman renderer and the virtual outputs.
pub struct HeadlessBackend {
    renderer: PixmanRenderer,
    outputs: Vec<VirtualOutput>,
}

fn nanos(d: Duration) -> u64 {
    d.as_nanos().min(u64::MAX as u128) as u64
}

impl HeadlessBackend {
    /// The renderer, for screenshots.
    pub fn renderer(&mut self) -> &mut PixmanRenderer {
        &mut self.renderer
    }

    /// Frame counters of `output`.
    pub fn stats(&self, output: &Output) -> Option<super::FrameStats> {
        self.outputs
            .iter()
            .find(|o| &o.output == output)
            .map(|o| o.stats)
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
        let buffer = self.renderer.create_buffer(
            Fourcc::Xrgb8888,
            mode.size.to_logical(1).to_buffer(1, Transform::Normal),
        )?;
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

/// Creates the headless backend with one virtual output per spec, laid out left to right.
pub fn init(state: &mut Ghost, specs: &[OutputSpec]) -> anyhow::Result<()> {
    let mut renderer = PixmanRenderer::new()?;
    let now = nanos(state.now());
    let mut outputs = Vec::new();
    let mut x = 0;
    for (i, spec) in specs.iter().enumerate() {
        let name = format!("HEADLESS-{}", i + 1);
        let spec = *spec;
        let output = Output::new(
            name.clone(),
            PhysicalProperties {
                size: (0, 0).into(),
                subpixel: Subpixel::Unknown,
                make: "GhostNV".into(),
                model: "Virtual output".into(),
            },
        );
        let mode = Mode {
            size: (spec.width, spec.height).into(),
            refresh: spec.refresh_mhz,
        };
        let mut modes = vec![mode];
        for (w, h) in COMMON_MODES {
            let m = Mode {
                size: (w, h).into(),
                refresh: 60_000,
            };
            if !modes.contains(&m) {
                modes.push(m);
            }
        }
        // wl_output advertises only the current mode (other modes are deprecated
        // there and confuse clients); wlr-output-management lists them all.
        output.add_mode(mode);
        output.set_preferred(mode);
        let position = (x, 0);
        output.change_current_state(
            Some(mode),
            Some(Transform::Normal),
            Some(Scale::Fractional(spec.scale)),
            Some(position.into()),
        );
        output
            .user_data()
            .insert_if_missing(|| OutputModes::new(modes));
        let _global = output.create_global::<Ghost>(&state.display_handle);
        state.space.map_output(&output, position);
        let logical_w = (spec.width as f64 / spec.scale).round() as i32;
        x = position.0 + logical_w;

        let size: Size<i32, Physical> = mode.size;
        let buffer = renderer.create_buffer(
            Fourcc::Xrgb8888,
            size.to_logical(1).to_buffer(1, Transform::Normal),
        )?;
        let tracker = OutputDamageTracker::from_output(&output);
        let clock = FrameClock::new(RefreshCycle::from_millihertz(spec.refresh_mhz, now)?);
        outputs.push(VirtualOutput {
            output,
            buffer,
            tracker,
            clock,
            timer: None,
            scheduled_ns: 0,
            rendered_once: false,
            stats: super::FrameStats::default(),
        });
    }
    state.backend = Backend::Headless(Box::new(HeadlessBackend { renderer, outputs }));
    // `[[output]]` sections may change modes, scales, positions, or switch outputs off.
    for output in state.outputs() {
        state.apply_output_settings(&output);
    }
    for output in state.outputs() {
        schedule(state, &output);
    }
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
    let scene = Scene::new(
        &state.space,
        &state.cursor_status,
        &state.seat,
        state.notification.as_ref(),
    );
    let Backend::Headless(backend) = &mut state.backend else {
        return;
    };
    let Some(v) = backend.outputs.iter_mut().find(|o| &o.output == output) else {
        return;
    };
    v.timer = None;
    let vblank = v.scheduled_ns;
    let elements = scene.elements(&mut backend.renderer, output, true);
    let age = usize::from(v.rendered_once);
    let result = match backend.renderer.bind(&mut v.buffer) {
        Ok(mut framebuffer) => v
            .tracker
            .render_output(
                &mut backend.renderer,
                &mut framebuffer,
                age,
                &elements,
                CLEAR_COLOR,
            )
            .map(|r| {
                (
                    r.damage.map(|d| {
                        d.iter()
                            .map(|r| r.size.w as u64 * r.size.h as u64)
                            .sum::<u64>()
                    }),
                    r.states,
                )
            })
            .map_err(|e| anyhow::anyhow!("{e:?}")),
        Err(e) => Err(anyhow::anyhow!("{e:?}")),
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
    v.clock.presented(vblank);
    let refresh = Duration::from_nanos(v.clock.cycle().period_ns());
    let seq = v.clock.cycle().sequence_of(vblank);
    debug!(output = output.name(), damaged, "frame");
    let presented = damaged.then_some((Duration::from_nanos(vblank), refresh, seq));
    state.post_render(output, &states, presented);
}
