//! The file's schema as data: every key, what it holds, and (for enums) the words it
//! takes. The validator walks a parsed document against it and reports every problem
//! it finds at once, each at its own line and column, with "did you mean" for near
//! misses. Serde then builds the typed [`crate::Config`] from a document that passed.

/// What a key holds.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Any string.
    Str,
    /// A string that must not contain NUL (passed to C libraries such as xkbcommon).
    CStr,
    /// An integer within the range.
    Int(i64, i64),
    /// A number (integer or float) within the range.
    Float(f64, f64),
    /// true or false.
    Bool,
    /// One of these words.
    Enum(&'static [&'static str]),
    /// A list of strings.
    StrList,
    /// A list of commands, each a non-empty list of strings.
    CommandList,
    /// `WxH`, `WxH@Hz`, "preferred" or "highest-refresh".
    Mode,
    /// An X11 modeline: `CLOCK HDISP HSS HSE HTOT VDISP VSS VSE VTOT [flags]`.
    Modeline,
    /// `[x, y]`.
    Position,
    /// A regular expression.
    Regex,
    /// A table with these keys.
    Table(&'static [Field]),
    /// An array of tables, each with these keys.
    TableArray(&'static [Field]),
    /// A table of string values with free keys (`[environment]`).
    StrMap,
    /// The `[bindings]` table: key combos to actions.
    Bindings,
}

/// One key of a table.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The key as written in the file.
    pub name: &'static str,
    /// What it holds.
    pub kind: Kind,
}

const fn f(name: &'static str, kind: Kind) -> Field {
    Field { name, kind }
}

/// VRR policies.
pub const VRR: &[&str] = &["off", "on", "fullscreen", "content-type"];
/// Output transforms.
pub const TRANSFORMS: &[&str] = &[
    "normal",
    "90",
    "180",
    "270",
    "flipped",
    "flipped-90",
    "flipped-180",
    "flipped-270",
];
/// Pointer acceleration profiles.
pub const ACCEL_PROFILES: &[&str] = &["adaptive", "flat"];
/// Cursor modes of screencasts.
pub const CURSOR_MODES: &[&str] = &["hidden", "embedded", "metadata"];
/// Video codecs of recordings and streams.
pub const CODECS: &[&str] = &["h264", "hevc", "av1"];
/// Answers to screen-share requests that need nobody.
pub const UNATTENDED: &[&str] = &["off", "grant", "deny"];
/// Encoders, in the order they may be preferred.
pub const ENCODERS: &[&str] = &["nvenc", "vaapi", "software"];
/// Noise suppression strength.
pub const NOISE_LEVELS: &[&str] = &["light", "quality", "off"];
/// When Xwayland runs.
pub const XWAYLAND_MODES: &[&str] = &["off", "on-demand", "always"];
/// How X11 windows are scaled on scaled outputs: drawn at scale 1 and upscaled, or at
/// the outputs' resolution.
pub const XWAYLAND_SCALING: &[&str] = &["upscale", "native"];

/// `[[output]]`.
pub const OUTPUT: &[Field] = &[
    f("name", Kind::Str),
    f("make", Kind::Str),
    f("model", Kind::Str),
    f("serial", Kind::Str),
    f("enabled", Kind::Bool),
    f("mode", Kind::Mode),
    f("modeline", Kind::Modeline),
    f("position", Kind::Position),
    f("scale", Kind::Float(0.25, 8.0)),
    f("transform", Kind::Enum(TRANSFORMS)),
    f("vrr", Kind::Enum(VRR)),
    f("hdr", Kind::Enum(&["off", "on"])),
    f("sdr_brightness", Kind::Float(1.0, 10_000.0)),
    f("max_bpc", Kind::Int(6, 16)),
    f("max_luminance", Kind::Float(1.0, 10_000.0)),
    f("min_luminance", Kind::Float(0.0, 100.0)),
];

/// Pointer settings, shared by `[input]` and `[[input.device]]`.
const POINTER_KEYS: [Field; 4] = [
    f("accel_profile", Kind::Enum(ACCEL_PROFILES)),
    f("accel_speed", Kind::Float(-1.0, 1.0)),
    f("natural_scroll", Kind::Bool),
    f("tap_to_click", Kind::Bool),
];

/// `[[input.device]]`.
pub const DEVICE: &[Field] = &[
    f("name", Kind::Str),
    POINTER_KEYS[0],
    POINTER_KEYS[1],
    POINTER_KEYS[2],
    POINTER_KEYS[3],
];

/// `[input]`.
pub const INPUT: &[Field] = &[
    f("xkb_layout", Kind::CStr),
    f("xkb_variant", Kind::CStr),
    f("xkb_options", Kind::CStr),
    f("xkb_model", Kind::CStr),
    f("repeat_rate", Kind::Int(0, 1000)),
    f("repeat_delay", Kind::Int(0, 10_000)),
    POINTER_KEYS[0],
    POINTER_KEYS[1],
    POINTER_KEYS[2],
    POINTER_KEYS[3],
    f("device", Kind::TableArray(DEVICE)),
];

/// `[[window_rule]]`.
pub const WINDOW_RULE: &[Field] = &[
    f("app_id", Kind::Regex),
    f("title", Kind::Regex),
    f("floating", Kind::Bool),
    f("maximized", Kind::Bool),
    f("fullscreen", Kind::Bool),
    f("output", Kind::Str),
    f("workspace", Kind::Int(1, 1000)),
    f("position", Kind::Position),
    f("opacity", Kind::Float(0.0, 1.0)),
    f("vrr", Kind::Enum(VRR)),
    f("block_out_from_screencast", Kind::Bool),
    f("inhibit_shortcuts", Kind::Bool),
];

/// `[capture]`.
pub const CAPTURE: &[Field] = &[
    f("cursor_mode", Kind::Enum(CURSOR_MODES)),
    f("max_fps", Kind::Int(1, 1000)),
    f("encoders", Kind::StrList),
    f("quality", Kind::Int(1, 100)),
    f("replay_seconds", Kind::Int(0, 3600)),
    f("unattended", Kind::Enum(UNATTENDED)),
    f("codec", Kind::Enum(CODECS)),
    f("bitrate_kbps", Kind::Int(0, 500_000)),
    f("keyframe_interval", Kind::Float(0.1, 10.0)),
    f("b_frames", Kind::Bool),
    f("recordings_dir", Kind::Str),
    f("stream_url", Kind::Str),
    f("stream_bitrate_kbps", Kind::Int(300, 100_000)),
];

/// `[voice]`.
pub const VOICE: &[Field] = &[
    f("enabled", Kind::Bool),
    f("noise_suppression", Kind::Enum(NOISE_LEVELS)),
    f("echo_cancellation", Kind::Bool),
    f("high_pass", Kind::Bool),
    f("gain_control", Kind::Bool),
    f("microphone", Kind::Str),
    f("default_while_sharing", Kind::Bool),
];

/// `[xwayland]`.
pub const XWAYLAND: &[Field] = &[
    f("mode", Kind::Enum(XWAYLAND_MODES)),
    f("scaling", Kind::Enum(XWAYLAND_SCALING)),
];

/// Corners the performance overlay can sit in.
pub const CORNERS: &[&str] = &["top-left", "top-right", "bottom-left", "bottom-right"];

/// `[layout]`.
pub const LAYOUT: &[Field] = &[
    f("tiling", Kind::Bool),
    f("gaps", Kind::Int(0, 200)),
    f("master_ratio", Kind::Float(0.1, 0.9)),
];

/// `[telemetry]`.
pub const TELEMETRY: &[Field] = &[
    f("interval_ms", Kind::Int(100, 60_000)),
    f("overlay", Kind::Bool),
    f("overlay_output", Kind::Str),
    f("overlay_corner", Kind::Enum(CORNERS)),
];

/// `[idle]`.
pub const IDLE: &[Field] = &[f("blank_after", Kind::Int(0, 86_400))];

/// `[lock]`.
pub const LOCK: &[Field] = &[f("command", Kind::StrList)];

/// `[debug]`.
pub const DEBUG: &[Field] = &[
    f("direct_scanout", Kind::Bool),
    f("overlay_planes", Kind::Bool),
    f("cursor_plane", Kind::Bool),
];

/// The whole file.
pub const ROOT: &[Field] = &[
    f("output", Kind::TableArray(OUTPUT)),
    f("input", Kind::Table(INPUT)),
    f("bindings", Kind::Bindings),
    f("window_rule", Kind::TableArray(WINDOW_RULE)),
    f("capture", Kind::Table(CAPTURE)),
    f("voice", Kind::Table(VOICE)),
    f("xwayland", Kind::Table(XWAYLAND)),
    f("environment", Kind::StrMap),
    f("autostart", Kind::CommandList),
    f("layout", Kind::Table(LAYOUT)),
    f("telemetry", Kind::Table(TELEMETRY)),
    f("idle", Kind::Table(IDLE)),
    f("lock", Kind::Table(LOCK)),
    f("debug", Kind::Table(DEBUG)),
];

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
