//! Virtual outputs: made at startup from the command line, and added or taken away
//! while running (`ghostcomp msg create-output` / `remove-output`), as a user testing
//! their software on several monitors, or a remote desktop adding a screen, needs.
//! Taking one away is a display unplugged: its windows move to a remaining output.

use smithay::{
    backend::renderer::{damage::OutputDamageTracker, Offscreen},
    output::{Mode, Output, PhysicalProperties, Scale, Subpixel},
    reexports::wayland_server::DisplayHandle,
    utils::{Physical, Size, Transform},
};
use tracing::info;

use super::{nanos, schedule, OutputBuffer, Renderers, VirtualOutput};
use crate::{
    backend::{Backend, OutputModes},
    state::Ghost,
};
use ghost_vrr::{FrameClock, RefreshCycle};
use smithay::backend::allocator::Fourcc;

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

/// A virtual output named `HEADLESS-{number}` at `position`, its wl_output global
/// created; the caller maps it into the space.
pub(super) fn virtual_output(
    display: &DisplayHandle,
    renderer: &mut Renderers,
    number: usize,
    spec: OutputSpec,
    position: (i32, i32),
    now: u64,
) -> anyhow::Result<VirtualOutput> {
    let output = Output::new(
        format!("HEADLESS-{number}"),
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
    // wl_output advertises only the current mode (other modes are deprecated there and
    // confuse clients); wlr-output-management lists them all.
    output.add_mode(mode);
    output.set_preferred(mode);
    output.change_current_state(
        Some(mode),
        Some(Transform::Normal),
        Some(Scale::Fractional(spec.scale)),
        Some(position.into()),
    );
    output
        .user_data()
        .insert_if_missing(|| OutputModes::new(modes));
    let size: Size<i32, Physical> = mode.size;
    let buffer = match renderer {
        Renderers::Pixman(r) => OutputBuffer::Pixman(r.create_buffer(
            Fourcc::Xrgb8888,
            size.to_logical(1).to_buffer(1, Transform::Normal),
        )?),
        Renderers::Gles(_) => OutputBuffer::Gles(None),
    };
    let clock = FrameClock::new(RefreshCycle::from_millihertz(spec.refresh_mhz, now)?);
    let global = output.create_global::<Ghost>(display);
    Ok(VirtualOutput {
        tracker: OutputDamageTracker::from_output(&output),
        output,
        global,
        buffer,
        drawn_for: 0,
        clock,
        timer: None,
        scheduled_ns: 0,
        rendered_once: false,
        drawn: false,
        last_damage: Vec::new(),
        stats: crate::backend::FrameStats::default(),
    })
}

/// Adds a virtual output right of the others, as if a monitor were plugged in: the
/// lowest free `HEADLESS-N` name (a name that went comes back), `[[output]]` settings
/// applied. Returns its name.
pub fn create_output(state: &mut Ghost, spec: OutputSpec) -> anyhow::Result<String> {
    let x = state.layout_right_edge();
    let now = nanos(state.now());
    let display = state.display_handle.clone();
    let Backend::Headless(backend) = &mut state.backend else {
        anyhow::bail!("only the headless backend makes outputs; displays come with cables");
    };
    let taken = |n: usize| {
        let name = format!("HEADLESS-{n}");
        backend.outputs.iter().any(|o| o.output.name() == name)
    };
    let number = (1..=backend.outputs.len() + 1)
        .find(|n| !taken(*n))
        .unwrap_or(backend.outputs.len() + 1);
    let v = virtual_output(&display, &mut backend.renderer, number, spec, (x, 0), now)?;
    let output = v.output.clone();
    backend.outputs.push(v);
    state.space.map_output(&output, (x, 0));
    state.apply_output_settings(&output);
    state.output_management_changed();
    state.image_copy_sources_changed();
    schedule(state, &output);
    info!(
        output = output.name(),
        width = spec.width,
        height = spec.height,
        "virtual output added"
    );
    Ok(output.name())
}

/// Takes the virtual output `name` away, as if its monitor were unplugged. The last one
/// stays: a desktop without outputs shows nothing and helps no one test anything.
pub fn remove_output(state: &mut Ghost, name: &str) -> anyhow::Result<()> {
    let Backend::Headless(backend) = &mut state.backend else {
        anyhow::bail!("only the headless backend removes outputs; displays go with cables");
    };
    let Some(index) = backend.outputs.iter().position(|o| o.output.name() == name) else {
        anyhow::bail!("no output {name}");
    };
    if backend.outputs.len() == 1 {
        anyhow::bail!("{name} is the last output");
    }
    let gone = backend.outputs.remove(index);
    if let Some(timer) = gone.timer {
        state.loop_handle.remove(timer);
    }
    state.output_gone(&gone.output, gone.global);
    info!(output = name, "virtual output removed");
    Ok(())
}
