//! The clean microphone as a PipeWire source, "GhostNV clean mic": the chosen
//! microphone goes through the voice chain (`ghost-voice`) inside the source node
//! itself, in the graph's cycle, and what comes out is a source applications record
//! from like any microphone. What the speakers play (the default output's monitor,
//! followed to a new default output) is the echo reference. A thread of its own holds
//! the connection, connects again when PipeWire goes away and comes back, and takes
//! new settings while it runs.

mod filter;
mod meter;
mod node;
mod processing;
mod streams;

use std::sync::{Arc, Mutex};
use std::thread;

use ghost_voice::{Mode, Options};
use pipewire as pw;

/// The source's PipeWire node name (its description is "GhostNV clean mic").
pub const NODE_NAME: &str = "ghostnv_clean_mic";

/// What the clean microphone does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanMicSettings {
    /// The suppressor.
    pub mode: Mode,
    /// Echo cancellation, high-pass and gain control.
    pub options: Options,
    /// The microphone's node name; the default source when `None`.
    pub microphone: Option<String>,
}

/// What `msg voice` reports, refreshed every second.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CleanMicStatus {
    /// Connected to PipeWire with the source present.
    pub running: bool,
    /// Why not, when not.
    pub problem: Option<String>,
    /// The microphone being cleaned.
    pub microphone: Option<String>,
    /// What the source adds: the chain's delay, a partial frame and the queue.
    pub latency_ms: f64,
    /// Share of one core the chain took over the last second.
    pub cpu_percent: f64,
    /// How much quieter the output was than the microphone over the last second.
    pub suppression_db: f64,
    /// Mean speech probability over the last second.
    pub speech: f32,
    /// AEC3's echo return loss enhancement, once measured.
    pub erle_db: Option<f64>,
    /// The echo path's delay AEC3 found.
    pub echo_delay_ms: Option<u32>,
    /// The reference's clock against the microphone's.
    pub reference_clock_ppm: Option<f64>,
    /// The clean mic is the default source now (a share is on).
    pub is_default: bool,
}

/// Requests to the PipeWire thread.
enum Command {
    Settings(CleanMicSettings),
    MakeDefault(bool),
    Quit,
}

/// The running clean microphone; dropping it removes the source (and gives the
/// default source back).
pub struct CleanMic {
    commands: pw::channel::Sender<Command>,
    status: Arc<Mutex<CleanMicStatus>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl CleanMic {
    /// Starts the thread; the source appears once PipeWire answers.
    pub fn start(settings: CleanMicSettings) -> Result<CleanMic, String> {
        // A chain that cannot be made is refused now, not on the thread.
        ghost_voice::Chain::new(settings.mode, settings.options).map_err(|e| e.to_string())?;
        let (commands, receiver) = pw::channel::channel();
        let status = Arc::new(Mutex::new(CleanMicStatus::default()));
        let shared = status.clone();
        let thread = thread::Builder::new()
            .name("ghost-clean-mic".into())
            .spawn(move || node::run(settings, receiver, shared))
            .map_err(|e| format!("no thread for the clean mic: {e}"))?;
        Ok(CleanMic {
            commands,
            status,
            thread: Some(thread),
        })
    }

    /// New settings, applied without a gap where only the chain changes.
    pub fn update(&self, settings: CleanMicSettings) {
        let _ = self.commands.send(Command::Settings(settings));
    }

    /// Makes the clean mic the default source, or gives the old default back.
    pub fn make_default(&self, on: bool) {
        let _ = self.commands.send(Command::MakeDefault(on));
    }

    /// The last second's report.
    pub fn status(&self) -> CleanMicStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for CleanMic {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Quit);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
