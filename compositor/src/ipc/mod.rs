//! IPC: a Unix socket private to the user, one JSON request per line, one JSON reply per
//! line. `ghostcomp msg` is its client; tests and scripts may speak it directly.

pub mod client;
mod handlers;
mod record;
pub mod server;

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A request to the running compositor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Request {
    /// Compositor version and backend.
    Version,
    /// The video encoder backends, probed in the config's order.
    Encoders,
    /// Every output with its modes.
    Outputs,
    /// Every window.
    Windows,
    /// Raise and focus a window.
    Focus {
        /// Window id from `windows`.
        id: u64,
    },
    /// Each output's workspaces, with their windows and the one shown.
    Workspaces,
    /// Show another workspace: a number (1 the first), "next" or "previous".
    FocusWorkspace {
        /// Which workspace.
        workspace: ghost_config::WorkspaceTarget,
        /// Output name; the focused window's output (else the pointer's) when absent.
        #[serde(default)]
        output: Option<String>,
    },
    /// Move a window to another workspace of its output; the view stays.
    MoveToWorkspace {
        /// Which workspace.
        workspace: ghost_config::WorkspaceTarget,
        /// Window id from `windows`; the focused window when absent.
        #[serde(default)]
        window: Option<u64>,
    },
    /// Ask a window to close.
    Close {
        /// Window id from `windows`.
        id: u64,
    },
    /// Write a PNG of an output (or a region of the layout).
    Screenshot {
        /// Output name; the first output (or the one holding the region) when absent.
        output: Option<String>,
        /// x, y, width, height in global logical coordinates.
        region: Option<[i32; 4]>,
        /// Absolute path of the PNG to write.
        path: PathBuf,
        /// Write an HDR output's PQ/BT.2020 signal as a 16-bit PNG instead of sRGB.
        #[serde(default)]
        hdr: bool,
        /// Read back what the display engine scanned out (KMS writeback).
        #[serde(default)]
        writeback: bool,
    },
    /// Switch displays off or on (DPMS).
    Power {
        /// Output name; every output when absent.
        output: Option<String>,
        /// On or off.
        on: bool,
    },
    /// Start a screen cast (a PipeWire stream) of an output or a window; the reply names
    /// the PipeWire node.
    CastStart {
        /// Output name (when no window is given: the first output if absent).
        output: Option<String>,
        /// Window id from `windows`.
        window: Option<u64>,
        /// A region of the layout, `[x, y, w, h]` (logical): only that part of the
        /// output holding its top-left corner (or of `output`).
        #[serde(default)]
        region: Option<[i32; 4]>,
        /// "hidden", "embedded" or "metadata"; `[capture] cursor_mode` when absent.
        cursor: Option<ghost_config::CursorMode>,
        /// Who asks, shown by `casts`.
        #[serde(default)]
        requester: Option<String>,
        /// Started for the portal backend: ends when the portal's lease does.
        #[serde(default)]
        portal: bool,
    },
    /// The portal backend's lease: the connection stays open while the portal runs,
    /// and when it closes (the portal exited or crashed) the casts it started end.
    PortalLease,
    /// End a screen cast.
    CastStop {
        /// Cast id from `casts` or `cast-start`.
        id: u64,
    },
    /// Every running screen cast.
    Casts,
    /// Ask which output or window a screen share gets (the portal's picker). Answered
    /// when the user chose, at once with still-valid restore data or an unattended
    /// policy; an error when refused.
    CastChoose {
        /// The application asking (shown in the prompt).
        #[serde(default)]
        app_id: String,
        /// 1: monitors, 2: windows (bits, as the ScreenCast portal's source types).
        #[serde(default)]
        types: u32,
        /// What an earlier answer's `restore` said.
        #[serde(default)]
        restore: Option<String>,
        /// A yes/no question to show instead of "wants to share your screen" (the
        /// portal's Access dialog); answered like a monitor choice.
        #[serde(default)]
        question: Option<String>,
        /// Input devices the app would control too (remote desktop: 1 keyboard, 2
        /// pointer, 4 touchscreen), which the prompt says; never granted unattended.
        #[serde(default)]
        control: u32,
    },
    /// Answer the screen-share prompt from a script: an output, a window, or a refusal.
    CastPick {
        /// Output name.
        output: Option<String>,
        /// Window id.
        window: Option<u64>,
        /// A region of the layout, `[x, y, w, h]` (logical).
        #[serde(default)]
        region: Option<[i32; 4]>,
        /// Refuse instead.
        #[serde(default)]
        cancel: bool,
    },
    /// Add a virtual output right of the others (headless backend); the reply names it.
    CreateOutput {
        /// Width in pixels.
        width: i32,
        /// Height in pixels.
        height: i32,
        /// Refresh in millihertz (60 Hz when absent).
        #[serde(default)]
        refresh_mhz: Option<i32>,
        /// Fractional scale (1 when absent).
        #[serde(default)]
        scale: Option<f64>,
    },
    /// Lock the session with `[lock] command`.
    Lock,
    /// Take a virtual output away, as if unplugged (headless backend).
    RemoveOutput {
        /// Output name.
        name: String,
    },
    /// Start recording an output, a window or a region to a file (`.mp4`: fragmented,
    /// `.mkv`); one recording at a time.
    RecordStart {
        /// Output name (the first output when nothing is given).
        #[serde(default)]
        output: Option<String>,
        /// Window id from `windows`.
        #[serde(default)]
        window: Option<u64>,
        /// A region of the layout, `[x, y, w, h]` (logical).
        #[serde(default)]
        region: Option<[i32; 4]>,
        /// Absolute path of the file.
        path: PathBuf,
        /// Sound tracks: "desktop" (what the default output plays), "mic".
        #[serde(default)]
        audio: Vec<String>,
    },
    /// Stop the recording; answered once the file is closed, with its final status.
    RecordStop,
    /// The recording: duration, size, frame rate, dropped frames, backend.
    RecordStatus,
    /// Write the replay buffer's last `[capture] replay_seconds` to a file.
    ReplaySave {
        /// Absolute path of the file (`.mp4` or `.mkv`).
        path: PathBuf,
    },
    /// The replay buffer: backend, memory held.
    ReplayStatus,
    /// Stream an output (or window, or region) to a media server.
    StreamStart {
        /// `rtmp://…` or `srt://…`; `[capture] stream_url` when absent.
        #[serde(default)]
        url: Option<String>,
        /// Output name.
        #[serde(default)]
        output: Option<String>,
        /// Window id.
        #[serde(default)]
        window: Option<u64>,
        /// A region of the layout, `[x, y, w, h]` (logical).
        #[serde(default)]
        region: Option<[i32; 4]>,
        /// Sound tracks: "desktop", "mic".
        #[serde(default)]
        audio: Vec<String>,
    },
    /// Stop streaming.
    StreamStop,
    /// The stream: connected, reconnections, bitrate.
    StreamStatus,
    /// The clean mic's state.
    Voice,
    /// Change the clean mic until the configuration is loaded again.
    VoiceSet {
        /// "light", "quality" or "off".
        #[serde(default)]
        mode: Option<String>,
        /// Echo cancellation on or off.
        #[serde(default)]
        echo_cancellation: Option<bool>,
    },
    /// GPU figures, each output's frame statistics and each window's frame rate.
    Stats,
    /// Show, hide or toggle the performance overlay; the reply says whether it shows.
    Overlay {
        /// On or off; toggles when absent.
        #[serde(default)]
        on: Option<bool>,
    },
    /// Re-read the configuration file; the reply carries its problems, if any.
    Reload,
    /// Stop the compositor.
    Quit,
    /// Synthetic input for tests (headless backend only).
    Input(InputRequest),
    /// Give an application control of input, once the user granted it (the portal
    /// backend asks); the reply names the control.
    RemoteStart {
        /// Who gets it.
        app_id: String,
        /// Device types (1 keyboard, 2 pointer, 4 touchscreen).
        devices: u32,
    },
    /// One input event of a granted control, carried out through the seat.
    RemoteInput {
        /// The control's id.
        id: u64,
        /// The event.
        event: ghost_capture::portal::RemoteInput,
    },
    /// End a control (its portal session closed).
    RemoteStop {
        /// The control's id.
        id: u64,
    },
    /// The controls granted now.
    Remotes,
    /// A libei connection for a granted control: the EIS socket and a one-time token
    /// to write on it (a line) before speaking libei's protocol.
    RemoteEis {
        /// The control's id.
        id: u64,
    },
    /// Take input control away from remote peers: one, or all.
    RemoteRevoke {
        /// The control's id; every one when absent.
        #[serde(default)]
        id: Option<u64>,
    },
}

/// Synthetic input, as a user would type and click.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case", deny_unknown_fields)]
pub enum InputRequest {
    /// Press and release a key combo such as `Super+Return` or `ctrl+c`.
    Key {
        /// The combo.
        combo: String,
    },
    /// Type text through the keymap.
    Type {
        /// The text; `\n` presses Return.
        text: String,
    },
    /// Move the pointer to a global position.
    PointerMove {
        /// Global x.
        x: f64,
        /// Global y.
        y: f64,
    },
    /// Move the pointer by a distance, as a mouse does (pointer locks and confinement
    /// apply, and clients get the relative motion).
    PointerMoveBy {
        /// Horizontal distance.
        dx: f64,
        /// Vertical distance.
        dy: f64,
    },
    /// Press and release a mouse button at the pointer.
    Click {
        /// "left", "right" or "middle".
        button: String,
    },
    /// Press a mouse button and hold it (a drag ends with `release`).
    Press {
        /// "left", "right" or "middle".
        button: String,
    },
    /// Release a held mouse button.
    Release {
        /// "left", "right" or "middle".
        button: String,
    },
    /// Bring the synthetic tablet's pen to a global position (into proximity first).
    TabletMove {
        /// Global x.
        x: f64,
        /// Global y.
        y: f64,
        /// 0 to 1.
        #[serde(default)]
        pressure: Option<f64>,
        /// Degrees from the vertical, x and y (-90 to 90).
        #[serde(default)]
        tilt: Option<[f64; 2]>,
    },
    /// The pen touches the tablet (true) or lifts (false).
    TabletTip {
        /// Touching.
        down: bool,
    },
    /// The pen leaves the tablet's range.
    TabletOut,
}

/// The reply to any request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// Whether the request was carried out.
    pub ok: bool,
    /// What went wrong, when not ok.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The answer, when ok.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub result: serde_json::Value,
}

impl Reply {
    /// A successful reply.
    pub fn ok(result: serde_json::Value) -> Self {
        Self {
            ok: true,
            error: None,
            result,
        }
    }

    /// A refusal with a reason a person can act on.
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            ok: false,
            error: Some(message.into()),
            result: serde_json::Value::Null,
        }
    }
}

/// The socket path for the compositor serving Wayland socket `wayland_socket`.
pub fn socket_path(runtime_dir: &std::path::Path, wayland_socket: &str) -> PathBuf {
    runtime_dir.join(format!("ghostcomp.{wayland_socket}.sock"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_as_json() {
        let reqs = [
            Request::Version,
            Request::Focus { id: 3 },
            Request::Screenshot {
                output: None,
                region: Some([1, 2, 3, 4]),
                path: "/tmp/x.png".into(),
                hdr: true,
                writeback: false,
            },
            Request::Power {
                output: Some("DP-1".into()),
                on: false,
            },
            Request::Input(InputRequest::Type {
                text: "ls\n".into(),
            }),
            Request::CastStart {
                output: None,
                window: Some(4),
                region: None,
                cursor: Some(ghost_config::CursorMode::Metadata),
                requester: Some("org.example.App".into()),
                portal: true,
            },
            Request::CreateOutput {
                width: 1280,
                height: 720,
                refresh_mhz: None,
                scale: Some(1.5),
            },
            Request::RemoveOutput {
                name: "HEADLESS-2".into(),
            },
            Request::Lock,
            Request::CastStop { id: 2 },
            Request::Casts,
            Request::Voice,
            Request::Stats,
            Request::Overlay { on: Some(true) },
            Request::Overlay { on: None },
            Request::VoiceSet {
                mode: Some("quality".into()),
                echo_cancellation: Some(false),
            },
            Request::RemoteInput {
                id: 2,
                event: ghost_capture::portal::RemoteInput::PointerMotionAbsolute {
                    cast: Some(1),
                    x: 10.5,
                    y: 20.0,
                },
            },
            Request::RemoteRevoke { id: None },
        ];
        for r in reqs {
            let text = serde_json::to_string(&r).unwrap();
            assert_eq!(serde_json::from_str::<Request>(&text).unwrap(), r);
        }
        assert_eq!(
            serde_json::to_string(&Request::Version).unwrap(),
            r#"{"request":"version"}"#
        );
    }

    #[test]
    fn malformed_requests_are_errors() {
        for bad in [
            "",
            "{",
            "[]",
            r#"{"request":"nope"}"#,
            r#"{"request":"focus"}"#,
            r#"{"request":"focus","id":-1}"#,
        ] {
            assert!(serde_json::from_str::<Request>(bad).is_err(), "{bad}");
        }
    }
}
