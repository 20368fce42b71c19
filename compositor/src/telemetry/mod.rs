//! Telemetry: GPU figures from `ghostnv-backend`'s providers (sampled on a thread of
//! their own, never on the render path), each output's frame statistics, each window's
//! own frame rate, `ghostcomp msg stats`, and the performance overlay. The statistics
//! are [`frames`]'s, the overlay's picture [`panel`]'s; this module holds the state and
//! the glue.

pub mod frames;
pub mod overlay;
pub mod panel;
pub mod text;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ghostnv_backend::telemetry::{Snapshot, Telemetry as Providers};
use smithay::reexports::calloop::channel::{channel, Event};
use smithay::reexports::wayland_server::{
    backend::ObjectId, protocol::wl_surface::WlSurface, Resource,
};

use crate::state::Ghost;
use frames::{ClientCadence, Frame, OutputFrames};

/// Where the sysfs GPU source looks: /sys/class/drm, or `GHOSTCOMP_SYS_CLASS_DRM`
/// (containers that mount sysfs elsewhere, and tests with a made-up tree).
pub fn sys_class_drm() -> PathBuf {
    std::env::var_os("GHOSTCOMP_SYS_CLASS_DRM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/sys/class/drm"))
}

/// A frame drawn and waiting for the screen.
#[derive(Debug, Clone, Copy)]
struct Drawn {
    render_ns: Option<u64>,
    finished_ns: u64,
    /// The vblank it was meant for (fixed refresh), to tell a missed one.
    aim_ns: Option<u64>,
}

/// A window's frames: those it committed and those the screen showed.
#[derive(Default)]
struct WindowFrames {
    committed: ClientCadence,
    shown: ClientCadence,
    last_commit_ns: u64,
    /// The last commit a presentation counted.
    counted_ns: u64,
}

/// The telemetry state of the compositor.
#[derive(Default)]
pub struct TelemetryState {
    /// The GPU figures of the last sample, and when they came.
    pub gpus: Option<(Snapshot, Instant)>,
    outputs: HashMap<String, OutputFrames>,
    drawn: HashMap<String, Drawn>,
    windows: HashMap<ObjectId, WindowFrames>,
    /// The sampling interval the sampler thread follows (ms), changed by reloads.
    interval_ms: Arc<AtomicU64>,
    /// The overlay.
    pub overlay: overlay::Overlay,
}

impl TelemetryState {
    /// A frame of `output` was drawn: it took `render` (None: nothing was drawn, a
    /// plane showed a client's buffer), finished at `finished_ns`, meant for the vblank
    /// at `aim_ns`.
    pub fn frame_drawn(
        &mut self,
        output: &str,
        render: Option<Duration>,
        finished_ns: u64,
        aim_ns: Option<u64>,
    ) {
        self.drawn.insert(
            output.to_owned(),
            Drawn {
                render_ns: render.map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
                finished_ns,
                aim_ns,
            },
        );
    }

    /// A frame of `output` reached the screen at `presented_ns`; the output refreshes
    /// every `period_ns`.
    pub fn frame_presented(&mut self, output: &str, presented_ns: u64, period_ns: u64) {
        let drawn = self.drawn.remove(output);
        let frame = Frame {
            presented_ns,
            render_ns: drawn.and_then(|d| d.render_ns),
            to_vblank_ns: drawn.map(|d| presented_ns.saturating_sub(d.finished_ns)),
            // The scheduler's own rule: later than half a period after its aim.
            missed: drawn
                .and_then(|d| d.aim_ns)
                .is_some_and(|aim| presented_ns > aim + period_ns / 2),
        };
        self.outputs
            .entry(output.to_owned())
            .or_default()
            .record(frame);
    }

    /// The output is gone.
    pub fn output_gone(&mut self, output: &str) {
        self.outputs.remove(output);
        self.drawn.remove(output);
    }

    /// `root` (a window's surface) committed a new buffer at `now_ns`.
    pub fn window_committed(&mut self, root: &WlSurface, now_ns: u64) {
        let w = self.windows.entry(root.id()).or_default();
        w.committed.commit(now_ns);
        w.last_commit_ns = now_ns;
    }

    /// A frame showing `root`'s window reached the screen at `presented_ns`: it
    /// counts as a shown frame of the window when the window committed since the last
    /// one that counted (a game drawing 300 frames a second on a 60 Hz screen shows 60).
    pub fn window_presented(&mut self, root: &WlSurface, presented_ns: u64) {
        if let Some(w) = self.windows.get_mut(&root.id()) {
            if w.last_commit_ns > w.counted_ns && w.last_commit_ns <= presented_ns {
                w.counted_ns = w.last_commit_ns;
                w.shown.commit(presented_ns);
            }
        }
    }

    /// Forgets windows whose surfaces are gone.
    pub fn forget_dead_windows(&mut self, alive: impl Fn(&ObjectId) -> bool) {
        self.windows.retain(|id, _| alive(id));
    }

    /// An output's recent frames.
    pub fn output_frames(&self, output: &str) -> Option<&OutputFrames> {
        self.outputs.get(output)
    }

    /// A window's committed and shown cadences.
    pub fn window_cadence(&self, root: &WlSurface) -> Option<(&ClientCadence, &ClientCadence)> {
        self.windows
            .get(&root.id())
            .map(|w| (&w.committed, &w.shown))
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Ghost {
    /// Starts the sampler thread: every `[telemetry] interval_ms` it asks each GPU
    /// source and hands the figures to the event loop. It ends with the compositor
    /// (when its channel closes).
    pub fn start_telemetry(&mut self) {
        self.telemetry.interval_ms.store(
            u64::from(self.config.telemetry.interval_ms),
            Ordering::Relaxed,
        );
        let interval = self.telemetry.interval_ms.clone();
        let (sender, receiver) = channel::<Snapshot>();
        let inserted = self.loop_handle.insert_source(receiver, |event, _, state| {
            if let Event::Msg(snapshot) = event {
                state.telemetry.gpus = Some((snapshot, Instant::now()));
                let alive: Vec<ObjectId> = state
                    .all_windows()
                    .filter_map(crate::shell::toplevel_surface)
                    .map(|s| s.id())
                    .collect();
                state.telemetry.forget_dead_windows(|id| alive.contains(id));
                state.overlay_refresh();
            }
        });
        if let Err(err) = inserted {
            tracing::warn!(%err, "no GPU telemetry: cannot watch the sampler");
            return;
        }
        let drm = sys_class_drm();
        let spawned = std::thread::Builder::new()
            .name("ghost-telemetry".into())
            .spawn(move || {
                let mut providers = Providers::detect(&drm);
                loop {
                    if sender.send(providers.sample(Instant::now())).is_err() {
                        return;
                    }
                    let ms = interval.load(Ordering::Relaxed).max(100);
                    std::thread::sleep(Duration::from_millis(ms));
                }
            });
        if let Err(err) = spawned {
            tracing::warn!(%err, "no GPU telemetry: cannot start the sampler");
        }
    }

    /// The configuration was loaded again.
    pub fn telemetry_reconfigured(&mut self) {
        self.telemetry.interval_ms.store(
            u64::from(self.config.telemetry.interval_ms),
            Ordering::Relaxed,
        );
        self.overlay_reconfigured();
    }

    /// Notes a window's new buffer (for its frame rate).
    pub fn telemetry_commit(&mut self, surface: &WlSurface, root: &WlSurface, new_buffer: bool) {
        if new_buffer && surface == root {
            let now = nanos(self.now());
            self.telemetry.window_committed(root, now);
        }
    }
}
