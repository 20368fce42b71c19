//! The command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use ghost_compositor::backend::headless::OutputSpec;

/// GhostNV Wayland compositor.
#[derive(Debug, Parser)]
#[command(name = "ghostcomp", version, about)]
pub struct Cli {
    /// Which display backend to run on.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// Renderer: pixman (CPU, SDR), gles (headless: an EGL device, colour managed,
    /// HDR; KMS: the display's GPU through GBM, Mesa's software rasteriser on devices
    /// without one), or auto (headless: gles when a configured output has hdr = "on";
    /// KMS: gles on a GPU).
    #[arg(long, value_enum, default_value_t = RendererArg::Auto)]
    pub renderer: RendererArg,
    /// Name of the Wayland socket (in XDG_RUNTIME_DIR); the first free wayland-N if absent.
    #[arg(long)]
    pub socket: Option<String>,
    /// Configuration file (default: $XDG_CONFIG_HOME/ghostcomp/config.toml, then /etc/ghostcomp/config.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// A headless output, WxH@HZ[,scale=S]; repeat for several outputs side by side.
    #[arg(long = "output", value_parser = parse_output_spec)]
    pub outputs: Vec<OutputSpec>,
    /// Run this command once the compositor is ready (e.g. a terminal).
    #[arg(long, short = 'c', num_args = 1.., allow_hyphen_values = true)]
    pub command: Option<Vec<String>>,
    /// Be a login session (what a display manager starts): hand the session's variables
    /// to systemd and D-Bus and start ghostcomp-session.target, or run the XDG
    /// autostart entries where there is no systemd user manager.
    #[arg(long)]
    pub session: bool,
    /// Kiosk mode: run this program alone, its windows fullscreen, no key bindings but
    /// switching virtual terminals; ghostcomp exits with it (for greeters and kiosks).
    #[arg(long, num_args = 1.., allow_hyphen_values = true, conflicts_with = "command")]
    pub kiosk: Option<Vec<String>>,
    #[command(subcommand)]
    pub subcommand: Option<Command>,
}

/// Renderers selectable on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RendererArg {
    /// gles when an output is configured for HDR, else pixman.
    Auto,
    /// pixman on the CPU.
    Pixman,
    /// GLES on an EGL device (a GPU or Mesa's llvmpipe).
    Gles,
}

/// Backends selectable on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    /// winit inside a desktop session (WAYLAND_DISPLAY or DISPLAY set), KMS from a
    /// virtual terminal, else headless.
    Auto,
    /// Virtual outputs in memory.
    Headless,
    /// A window in the host session.
    Winit,
    /// The machine's displays through kernel modesetting (from a virtual terminal, or
    /// as root with LIBSEAT_BACKEND=noop).
    Kms,
}

/// Subcommands besides running the compositor.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Talk to the running compositor.
    Msg {
        /// Print the raw JSON reply.
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        request: MsgCommand,
    },
    /// Serve the xdg-desktop-portal backend (ScreenCast, Screenshot) for the running
    /// compositor; started by D-Bus through `org.freedesktop.impl.portal.desktop.ghost`.
    Portal,
    /// Check a configuration file and print its problems.
    Validate {
        /// The file (default: the one ghostcomp would load).
        file: Option<PathBuf>,
    },
    /// The clean-microphone chain: `voice process` cleans a 48 kHz mono WAV offline.
    Voice {
        #[command(subcommand)]
        action: VoiceCommand,
    },
    /// Write the manual pages (ghostcomp.1 and one per subcommand) into a folder, made
    /// from this command line's own definitions so that they never drift from it.
    #[command(hide = true)]
    Manpages {
        /// The folder (created if missing), e.g. $PREFIX/share/man/man1.
        dir: PathBuf,
    },
    /// Decode a monitor's EDID: from a file, `-` for standard input, or a connector.
    Edid {
        /// The EDID file, or `-` to read standard input.
        #[arg(required_unless_present = "connector", conflicts_with = "connector")]
        file: Option<PathBuf>,
        /// Read the EDID the kernel has for this connector (e.g. DP-1).
        #[arg(long)]
        connector: Option<String>,
        /// Print every decoded field as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Requests `ghostcomp msg` can send.
#[derive(Debug, Subcommand)]
pub enum MsgCommand {
    /// Compositor version and backend.
    Version,
    /// Which video encoder backends work here, in the config's order, and why not.
    Encoders,
    /// Outputs and their modes.
    Outputs,
    /// Windows with id, app_id, title, geometry, output and focus.
    Windows,
    /// Each output's workspaces: number, id, whether shown, the windows on it.
    Workspaces,
    /// Show workspace N (1 the first; past the last: the empty one), next or previous.
    FocusWorkspace {
        /// A number, next or previous.
        #[arg(value_parser = parse_workspace)]
        workspace: ghost_config::WorkspaceTarget,
        /// Output name (default: the focused window's, else the pointer's).
        #[arg(long)]
        output: Option<String>,
    },
    /// Move a window to workspace N of its output (next, previous); the view stays.
    MoveToWorkspace {
        /// A number, next or previous.
        #[arg(value_parser = parse_workspace)]
        workspace: ghost_config::WorkspaceTarget,
        /// Window id from `windows` (default: the focused window).
        #[arg(long)]
        window: Option<u64>,
    },
    /// Raise and focus a window.
    Focus { id: u64 },
    /// Ask a window to close.
    Close { id: u64 },
    /// Save a PNG of an output or a region.
    Screenshot {
        /// Output name (default: the first, or the one holding the region).
        #[arg(long)]
        output: Option<String>,
        /// X,Y,W,H in global logical coordinates.
        #[arg(long, value_parser = parse_region)]
        region: Option<[i32; 4]>,
        /// Write an HDR output as a 16-bit PNG of its PQ/BT.2020 signal (cICP-tagged)
        /// instead of tone-mapped sRGB.
        #[arg(long)]
        hdr: bool,
        /// Read back what the display engine scanned out, through the device's
        /// writeback connector (KMS devices that have one), instead of rendering.
        #[arg(long, conflicts_with = "hdr")]
        writeback: bool,
        /// Where to write the PNG.
        file: PathBuf,
    },
    /// Switch an output's display off or on (DPMS), keeping its mode and windows.
    Power {
        /// Output name (default: every output).
        #[arg(long)]
        output: Option<String>,
        /// on or off.
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
    /// Screen casts running now (PipeWire node, source, requester, frames).
    Casts,
    /// Start a screen cast of an output, a window or a region and print its PipeWire
    /// node.
    CastStart {
        /// Output name (default: the first output).
        #[arg(long, conflicts_with = "window")]
        output: Option<String>,
        /// Window id from `windows`.
        #[arg(long)]
        window: Option<u64>,
        /// Only this region of the layout: X,Y,W,H (logical pixels).
        #[arg(long, value_parser = parse_region, conflicts_with = "window")]
        region: Option<[i32; 4]>,
        /// hidden, embedded or metadata (default: `[capture] cursor_mode`).
        #[arg(long, value_parser = ["hidden", "embedded", "metadata"])]
        cursor: Option<String>,
    },
    /// End a screen cast.
    CastStop { id: u64 },
    /// Answer the waiting screen-share prompt: share an output, a window or a region,
    /// or refuse.
    CastPick {
        /// Output name (default: the one under the pointer).
        #[arg(long, conflicts_with_all = ["window", "cancel"])]
        output: Option<String>,
        /// Window id from `windows`.
        #[arg(long, conflicts_with = "cancel")]
        window: Option<u64>,
        /// A region of the layout: X,Y,W,H (logical pixels).
        #[arg(long, value_parser = parse_region, conflicts_with_all = ["window", "cancel"])]
        region: Option<[i32; 4]>,
        /// Refuse the request.
        #[arg(long)]
        cancel: bool,
    },
    /// Remote peers holding input control through the portal (app, devices, events).
    Remotes,
    /// Take input control away from remote peers (all, or --id N); their portal
    /// sessions close, with their shares.
    RemoteRevoke {
        /// One control's id from `remotes`.
        #[arg(long)]
        id: Option<u64>,
    },
    /// Add a virtual output right of the others (headless only), as if a monitor were
    /// plugged in: WxH[@HZ][,scale=S]. Prints its name.
    CreateOutput {
        #[arg(value_parser = parse_output_spec)]
        spec: OutputSpec,
    },
    /// Take a virtual output away (headless only), as if unplugged: its windows move to
    /// a remaining output.
    RemoveOutput { name: String },
    /// Lock the session: start `[lock] command` (swaylock by default).
    Lock,
    /// Record the screen to a file: start [--output NAME | --window ID | --region
    /// X,Y,W,H] FILE, stop, status.
    Record {
        #[command(subcommand)]
        action: RecordCommand,
    },
    /// The replay buffer (`[capture] replay_seconds`): save FILE, status.
    Replay {
        #[command(subcommand)]
        action: ReplayCommand,
    },
    /// Stream to a media server: start [URL] [--output|--window|--region], stop,
    /// status.
    Stream {
        #[command(subcommand)]
        action: StreamCommand,
    },
    /// The clean mic (`[voice]`): its state, latency, CPU and suppression over the last
    /// second; `set --mode light|quality|off --echo on|off` changes it until the
    /// configuration is loaded again.
    Voice {
        #[command(subcommand)]
        action: Option<VoiceMsgCommand>,
    },
    /// GPU temperature, power, clocks, load and memory; each output's frame times,
    /// render times, missed frames, planes and VRR; each window's own frame rate and
    /// frame-time percentiles (its 1% low).
    Stats {
        /// Print again every second until interrupted.
        #[arg(long)]
        watch: bool,
        /// The whole reply as JSON (one line a second with --watch), as `msg --json`.
        #[arg(long)]
        json: bool,
    },
    /// Show, hide or toggle the performance overlay.
    Overlay {
        /// on, off or toggle.
        #[arg(value_parser = ["on", "off", "toggle"], default_value = "toggle")]
        state: String,
    },
    /// Re-read the configuration file and print its problems, if any.
    Reload,
    /// Stop the compositor.
    Quit,
    /// Synthetic input (headless only): key COMBO | type TEXT | pointer-move X Y |
    /// pointer-move-by DX DY | click/press/release [BUTTON].
    Input {
        #[command(subcommand)]
        input: InputCommand,
    },
}

/// `ghostcomp msg voice …`.
#[derive(Debug, Subcommand)]
pub enum VoiceMsgCommand {
    /// The state (the default when no action is given).
    Status,
    /// Change the suppressor or echo cancellation while running.
    Set {
        /// light, quality or off.
        #[arg(long, value_parser = ["light", "quality", "off"])]
        mode: Option<String>,
        /// Echo cancellation on or off.
        #[arg(long, value_parser = ["on", "off"])]
        echo: Option<String>,
    },
}

/// `ghostcomp voice …`.
#[derive(Debug, Subcommand)]
pub enum VoiceCommand {
    /// Cleans IN (48 kHz mono WAV) into OUT (16-bit WAV of the same length, the chain's
    /// delay removed): for tests, evaluation and cleaning a recording.
    Process {
        /// light (RNNoise, 10 ms) or quality (RNNoise 0.2 with a per-bin estimator, 30 ms).
        #[arg(long, default_value = "light", value_parser = ["light", "quality"])]
        mode: String,
        /// An 80 Hz high-pass first.
        #[arg(long)]
        high_pass: bool,
        /// Automatic gain control last.
        #[arg(long)]
        gain_control: bool,
        /// What the speakers played while IN was recorded (48 kHz mono WAV, sample for
        /// sample beside IN): its echo is cancelled (WebRTC AEC3).
        #[arg(long, value_name = "FAR.wav")]
        echo_reference: Option<PathBuf>,
        /// The noisy recording.
        input: PathBuf,
        /// Where to write the cleaned one.
        output: PathBuf,
    },
}

/// What to record or stream: an output, a window, or a region of the layout.
#[derive(Debug, clap::Args)]
pub struct SourceArgs {
    /// Output name (default: the first output).
    #[arg(long, conflicts_with = "window")]
    pub output: Option<String>,
    /// Window id from `windows`.
    #[arg(long)]
    pub window: Option<u64>,
    /// A region of the layout: X,Y,W,H (logical pixels).
    #[arg(long, value_parser = parse_region, conflicts_with = "window")]
    pub region: Option<[i32; 4]>,
}

/// `msg record …`.
#[derive(Debug, Subcommand)]
pub enum RecordCommand {
    /// Start recording to FILE (.mp4, written in fragments, or .mkv).
    Start {
        #[command(flatten)]
        source: SourceArgs,
        /// Sound tracks: desktop (what the default output plays), mic; comma-separated.
        #[arg(long, value_delimiter = ',', value_parser = ["desktop", "mic"])]
        audio: Vec<String>,
        /// Where to write.
        file: PathBuf,
    },
    /// Stop; prints the final status once the file is closed.
    Stop,
    /// Duration, size, frame rate, dropped frames and the encoder in use.
    Status,
}

/// `msg replay …`.
#[derive(Debug, Subcommand)]
pub enum ReplayCommand {
    /// Write the last `[capture] replay_seconds` to FILE, from a key frame.
    Save {
        /// Where to write (.mp4 or .mkv).
        file: PathBuf,
    },
    /// The replay buffer's encoder and the memory it holds.
    Status,
}

/// `msg stream …`.
#[derive(Debug, Subcommand)]
pub enum StreamCommand {
    /// Start streaming to URL (rtmp:// or srt://; default `[capture] stream_url`).
    Start {
        #[command(flatten)]
        source: SourceArgs,
        /// Sound tracks: desktop, mic; comma-separated.
        #[arg(long, value_delimiter = ',', value_parser = ["desktop", "mic"])]
        audio: Vec<String>,
        /// Where to send.
        url: Option<String>,
    },
    /// Stop streaming.
    Stop,
    /// Connection, reconnections, bitrate.
    Status,
}

/// Synthetic input commands.
#[derive(Debug, Subcommand)]
pub enum InputCommand {
    /// Press and release a combo like Super+Return.
    Key { combo: String },
    /// Type text (use $'...\n' in the shell for Return).
    Type { text: String },
    /// Move the pointer to global coordinates.
    PointerMove { x: f64, y: f64 },
    /// Move the pointer by a distance, as a mouse does (locks and confinement apply).
    #[command(allow_negative_numbers = true)]
    PointerMoveBy { dx: f64, dy: f64 },
    /// Click a button (left, right, middle).
    Click {
        #[arg(default_value = "left")]
        button: String,
    },
    /// Press a button and hold it, as a drag begins.
    Press {
        #[arg(default_value = "left")]
        button: String,
    },
    /// Release a held button.
    Release {
        #[arg(default_value = "left")]
        button: String,
    },
    /// Bring the synthetic tablet's pen to global coordinates.
    TabletMove {
        x: f64,
        y: f64,
        /// 0 to 1.
        #[arg(long)]
        pressure: Option<f64>,
    },
    /// The pen touches the tablet (down) or lifts (up).
    TabletTip {
        #[arg(value_parser = ["down", "up"])]
        state: String,
    },
    /// The pen leaves the tablet's range.
    TabletOut,
}

/// Parses `WxH@HZ[,scale=S]`.
pub fn parse_output_spec(s: &str) -> Result<OutputSpec, String> {
    let mut parts = s.split(',');
    let mode: ghost_config::ModeSpec = parts
        .next()
        .unwrap_or_default()
        .parse()
        .map_err(|e| format!("{e}"))?;
    let mut spec = OutputSpec {
        width: mode.width,
        height: mode.height,
        refresh_mhz: mode.refresh_mhz.unwrap_or(60_000),
        scale: 1.0,
    };
    for part in parts {
        match part.split_once('=') {
            Some(("scale", v)) => {
                let scale: f64 = v.parse().map_err(|_| format!("bad scale {v:?}"))?;
                if !(0.25..=8.0).contains(&scale) {
                    return Err(format!("scale {scale} is outside 0.25..=8"));
                }
                spec.scale = scale;
            }
            _ => return Err(format!("unknown output option {part:?} (expected scale=S)")),
        }
    }
    Ok(spec)
}

fn parse_workspace(s: &str) -> Result<ghost_config::WorkspaceTarget, String> {
    use ghost_config::{WorkspaceStep, WorkspaceTarget};
    match s {
        "next" => Ok(WorkspaceTarget::Step(WorkspaceStep::Next)),
        "previous" | "prev" => Ok(WorkspaceTarget::Step(WorkspaceStep::Previous)),
        n => match n.parse::<u32>() {
            Ok(n) if n >= 1 => Ok(WorkspaceTarget::Number(n)),
            _ => Err(format!(
                "{s:?} is not a workspace: a number from 1, next or previous"
            )),
        },
    }
}

fn parse_region(s: &str) -> Result<[i32; 4], String> {
    let v: Vec<i32> = s
        .split(',')
        .map(|p| {
            p.trim()
                .parse::<i32>()
                .map_err(|_| format!("bad number {p:?} in region"))
        })
        .collect::<Result<_, _>>()?;
    <[i32; 4]>::try_from(v).map_err(|_| "region is X,Y,W,H".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_specs() {
        let s = parse_output_spec("2560x1440@144,scale=1.5").unwrap();
        assert_eq!(
            (s.width, s.height, s.refresh_mhz, s.scale),
            (2560, 1440, 144_000, 1.5)
        );
        assert_eq!(parse_output_spec("800x600").unwrap().refresh_mhz, 60_000);
        for bad in ["", "800", "800x600,scale=0", "800x600,foo=1", "800x600@0"] {
            assert!(parse_output_spec(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn regions() {
        assert_eq!(parse_region("1,2,3,4").unwrap(), [1, 2, 3, 4]);
        assert!(parse_region("1,2,3").is_err());
    }
}
