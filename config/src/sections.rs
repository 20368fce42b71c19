//! The sections besides outputs and bindings.

use serde::{Deserialize, Serialize};

/// Pointer acceleration profile (libinput).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccelProfile {
    /// Faster movements go further.
    #[default]
    Adaptive,
    /// Constant factor.
    Flat,
}

/// `[input]`: keyboard and pointer settings for every device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InputConfig {
    /// XKB layout, e.g. "us" or "de,us".
    pub xkb_layout: String,
    /// XKB variant, e.g. "nodeadkeys".
    pub xkb_variant: String,
    /// XKB options, e.g. "ctrl:nocaps".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xkb_options: Option<String>,
    /// XKB model, e.g. "pc105".
    pub xkb_model: String,
    /// Key repeats per second.
    pub repeat_rate: i32,
    /// Milliseconds before a held key repeats.
    pub repeat_delay: i32,
    /// Pointer acceleration profile.
    pub accel_profile: AccelProfile,
    /// Pointer speed, -1.0 (slowest) to 1.0.
    pub accel_speed: f64,
    /// Content follows the fingers when scrolling.
    pub natural_scroll: bool,
    /// A tap on a touchpad clicks.
    pub tap_to_click: bool,
    /// Settings for devices matched by name, overriding the ones above.
    pub device: Vec<DeviceConfig>,
}

impl Default for InputConfig {
    fn default() -> Self {
        Self {
            xkb_layout: String::new(),
            xkb_variant: String::new(),
            xkb_options: None,
            xkb_model: String::new(),
            repeat_rate: 25,
            repeat_delay: 600,
            accel_profile: AccelProfile::Adaptive,
            accel_speed: 0.0,
            natural_scroll: false,
            tap_to_click: true,
            device: Vec::new(),
        }
    }
}

/// `[[input.device]]`: pointer settings of one device (by its libinput name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceConfig {
    /// The device name, e.g. "SynPS/2 Synaptics TouchPad".
    pub name: String,
    /// Overrides `[input].accel_profile`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accel_profile: Option<AccelProfile>,
    /// Overrides `[input].accel_speed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accel_speed: Option<f64>,
    /// Overrides `[input].natural_scroll`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub natural_scroll: Option<bool>,
    /// Overrides `[input].tap_to_click`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tap_to_click: Option<bool>,
}

/// `[[window_rule]]`: settings for windows whose app_id and title match.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowRule {
    /// Regex the app_id must match (anywhere; anchor with ^…$).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// Regex the title must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Stay out of a tiled workspace's tiles (true), or join them even as a dialog
    /// (false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floating: Option<bool>,
    /// Open maximized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximized: Option<bool>,
    /// Open fullscreen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fullscreen: Option<bool>,
    /// Open on this output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Open at `[x, y]` (logical pixels from its output's top-left corner) instead of
    /// where it would hide the least of the other windows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<(i32, i32)>,
    /// Open on this workspace (1 the first) of its output, without taking the view there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<u32>,
    /// Opacity, 0.0 to 1.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opacity: Option<f64>,
    /// VRR policy while this window is shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrr: Option<crate::VrrPolicy>,
    /// Drawn black in every screen capture, never on the local screen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_out_from_screencast: Option<bool>,
    /// May take every key, the compositor's bindings included, while focused
    /// (keyboard-shortcuts-inhibit: remote desktop viewers, VMs). Unset: allowed for
    /// programs the user started, refused for sandboxed ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inhibit_shortcuts: Option<bool>,
}

impl WindowRule {
    /// Whether the rule applies to a window (regexes are checked when the file loads).
    pub fn matches(&self, app_id: &str, title: &str) -> bool {
        let test = |pattern: &Option<String>, text: &str| {
            pattern
                .as_deref()
                .is_none_or(|p| regex::Regex::new(p).is_ok_and(|r| r.is_match(text)))
        };
        test(&self.app_id, app_id) && test(&self.title, title)
    }
}

/// How the cursor appears in screencasts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CursorMode {
    /// Not shown.
    Hidden,
    /// Drawn into the frames.
    #[default]
    Embedded,
    /// Sent beside the frames as metadata.
    Metadata,
}

/// Video encoders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoder {
    /// NVIDIA's hardware encoder.
    Nvenc,
    /// VA-API hardware encoders (Intel, AMD).
    Vaapi,
    /// CPU encoding.
    Software,
}

/// `[capture]`: screencast and recording defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaptureConfig {
    /// Cursor in screencasts.
    pub cursor_mode: CursorMode,
    /// Highest frame rate of a screencast.
    pub max_fps: u32,
    /// Encoders to try, first that works wins.
    pub encoders: Vec<Encoder>,
    /// Encoding quality, 1 (smallest) to 100 (best).
    pub quality: u32,
    /// Seconds kept in the replay buffer (0 = off).
    pub replay_seconds: u32,
    /// What a screen-share request gets without asking anyone (kiosks, tests).
    pub unattended: Unattended,
    /// Codec of recordings, replays and streams (HDR outputs record HEVC 10-bit when
    /// H.264 is chosen).
    pub codec: VideoCodec,
    /// Recordings at this average bitrate (kbit/s) instead of constant `quality`; 0 =
    /// constant quality.
    pub bitrate_kbps: u32,
    /// Seconds between key frames: how far a replay can be cut, how much a crash
    /// loses, how fast a stream viewer starts.
    pub keyframe_interval: f64,
    /// Whether recordings may use B-frames (never streams: they add delay).
    pub b_frames: bool,
    /// Where the record binding and replay saves write (default: `$XDG_VIDEOS_DIR`,
    /// else `~/Videos`).
    pub recordings_dir: Option<String>,
    /// Where `msg stream start` without a URL sends: `rtmp://…` or `srt://…`.
    pub stream_url: Option<String>,
    /// Bitrate a stream starts at and never exceeds (kbit/s).
    pub stream_bitrate_kbps: u32,
}

/// Video codecs of recordings and streams.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VideoCodec {
    /// H.264: plays everywhere.
    #[default]
    H264,
    /// HEVC.
    Hevc,
    /// AV1.
    Av1,
}

/// Screen-share requests answered without the picker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unattended {
    /// Every request asks the user.
    #[default]
    Off,
    /// A monitor request gets the output under the pointer, a window request the
    /// focused window, without asking.
    Grant,
    /// Every request is refused without asking.
    Deny,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        Self {
            cursor_mode: CursorMode::Embedded,
            max_fps: 60,
            encoders: vec![Encoder::Nvenc, Encoder::Vaapi, Encoder::Software],
            quality: 80,
            replay_seconds: 0,
            unattended: Unattended::Off,
            codec: VideoCodec::H264,
            bitrate_kbps: 0,
            keyframe_interval: 1.0,
            b_frames: false,
            recordings_dir: None,
            stream_url: None,
            stream_bitrate_kbps: 6000,
        }
    }
}

/// Which noise suppressor the clean mic runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoiseSuppression {
    /// RNNoise: 10 ms of delay, about half a percent of a core.
    #[default]
    Light,
    /// RNNoise 0.2 with a per-bin estimator: 30 ms, cleaner.
    Quality,
    /// None (echo cancellation only).
    Off,
}

/// `[voice]`: the clean microphone, a PipeWire source "GhostNV clean mic" while
/// ghostcomp runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VoiceConfig {
    /// The source exists.
    pub enabled: bool,
    /// The suppressor.
    pub noise_suppression: NoiseSuppression,
    /// Echo cancellation against what the speakers play.
    pub echo_cancellation: bool,
    /// An 80 Hz high-pass first.
    pub high_pass: bool,
    /// Automatic gain control last.
    pub gain_control: bool,
    /// PipeWire node name of the microphone (the default source when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub microphone: Option<String>,
    /// The clean mic is the default source while a screen share is on.
    pub default_while_sharing: bool,
}

impl Default for VoiceConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            noise_suppression: NoiseSuppression::Light,
            echo_cancellation: true,
            high_pass: false,
            gain_control: false,
            microphone: None,
            default_while_sharing: true,
        }
    }
}

/// When Xwayland runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum XwaylandMode {
    /// Never.
    Off,
    /// Started when the first X11 client connects.
    #[default]
    OnDemand,
    /// Started with the compositor.
    Always,
}

/// How X11 windows look on scaled outputs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum XwaylandScaling {
    /// Rendered at scale 1 and upscaled (blurry but right-sized).
    #[default]
    Upscale,
    /// Rendered at the output's resolution (sharp; the app must scale itself).
    Native,
}

/// `[xwayland]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct XwaylandConfig {
    /// When it runs.
    pub mode: XwaylandMode,
    /// How its windows are scaled.
    pub scaling: XwaylandScaling,
}

/// Where the performance overlay sits on its output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Corner {
    /// Top left (MangoHud's place).
    #[default]
    TopLeft,
    /// Top right.
    TopRight,
    /// Bottom left.
    BottomLeft,
    /// Bottom right.
    BottomRight,
}

/// `[layout]`: how workspaces arrange their windows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LayoutConfig {
    /// New workspaces tile their windows (a master column and a stack) instead of
    /// letting them float; `toggle-tiling` switches one workspace.
    pub tiling: bool,
    /// Pixels between tiled windows and around them.
    pub gaps: u32,
    /// The master column's share of a tiled workspace's width.
    pub master_ratio: f64,
}

impl Default for LayoutConfig {
    fn default() -> Self {
        Self {
            tiling: false,
            gaps: 8,
            master_ratio: 0.5,
        }
    }
}

/// `[telemetry]`: GPU figures and the performance overlay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// How often the GPU is asked, in ms (NVML, hwmon), off the render path.
    pub interval_ms: u32,
    /// Show the overlay from the start (the `toggle-overlay` binding and
    /// `ghostcomp msg overlay` switch it while running).
    pub overlay: bool,
    /// The output it is shown on; the first output when absent or not connected.
    pub overlay_output: Option<String>,
    /// The corner it sits in.
    pub overlay_corner: Corner,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            interval_ms: 1000,
            overlay: false,
            overlay_output: None,
            overlay_corner: Corner::TopLeft,
        }
    }
}

/// `[idle]`: what happens when nobody touches the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdleConfig {
    /// Seconds without input before the displays are switched off (0: never). A
    /// client that inhibits idling (a video player) keeps them on; any input wakes them.
    pub blank_after: u32,
}

impl Default for IdleConfig {
    fn default() -> Self {
        Self { blank_after: 600 }
    }
}

/// `[lock]`: the screen locker the `lock` binding and `ghostcomp msg lock` start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockConfig {
    /// The locker's command line (an ext-session-lock-v1 client); empty: none.
    pub command: Vec<String>,
}

impl Default for LockConfig {
    fn default() -> Self {
        Self {
            command: vec!["swaylock".into()],
        }
    }
}

/// `[debug]`: ways out when a hardware feature misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DebugConfig {
    /// Scan fullscreen windows out directly.
    pub direct_scanout: bool,
    /// Put windows and video on overlay planes.
    pub overlay_planes: bool,
    /// Use the hardware cursor plane.
    pub cursor_plane: bool,
}

impl Default for DebugConfig {
    fn default() -> Self {
        Self {
            direct_scanout: true,
            overlay_planes: true,
            cursor_plane: true,
        }
    }
}
