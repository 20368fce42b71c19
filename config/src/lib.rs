//! `ghost-config` owns the user's configuration file: its schema, its defaults, and
//! validation that points at the exact `file:line:column` of every mistake at once, with
//! the offending line, what was expected and "did you mean". It is pure (no smithay, DRM
//! or Wayland): text in, typed settings or precise errors out, so the compositor keeps
//! running on its old settings whenever a new file is wrong.
//!
//! Sections: `[[output]]`, `[input]` (with `[[input.device]]`), `[bindings]`,
//! `[[window_rule]]`, `[capture]`, `[voice]`, `[xwayland]`, `[environment]`,
//! `autostart`, `[layout]`, `[telemetry]`, `[idle]`, `[lock]` and `[debug]`. `example.toml` beside this crate documents every key and
//! equals the defaults.

pub mod autostart;
pub mod bindings;
mod error;
mod modeline;
mod output;
pub mod schema;
mod sections;
mod validate;

pub use bindings::{
    Action, Binding, Bindings, KeyCombo, Modifiers, ScreenshotTarget, SnapTarget, WorkspaceStep,
    WorkspaceTarget,
};
pub use error::{ConfigError, Located, Problem};
pub use modeline::{Modeline, ModelineError};
pub use output::{
    ModeSetting, ModeSpec, OutputConfig, OutputSpecError, Toggle, Transform, VrrPolicy,
};
pub use sections::{
    AccelProfile, CaptureConfig, Corner, CursorMode, DebugConfig, DeviceConfig, Encoder,
    IdleConfig, InputConfig, LayoutConfig, LockConfig, NoiseSuppression, TelemetryConfig,
    Unattended, VideoCodec, VoiceConfig, WindowRule, XwaylandConfig, XwaylandMode, XwaylandScaling,
};

use serde::{Deserialize, Serialize};
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

/// The commented example configuration; it equals [`Config::default`].
pub const EXAMPLE: &str = include_str!("../example.toml");

/// The whole configuration file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Per-output settings.
    pub output: Vec<OutputConfig>,
    /// Keyboard and pointer settings.
    pub input: InputConfig,
    /// Key bindings (replace the defaults as a whole when the section is present).
    pub bindings: Bindings,
    /// Per-window rules, applied in order.
    pub window_rule: Vec<WindowRule>,
    /// Screencast and recording defaults.
    pub capture: CaptureConfig,
    /// Microphone processing.
    pub voice: VoiceConfig,
    /// Xwayland.
    pub xwayland: XwaylandConfig,
    /// Variables exported to every client ghostcomp starts.
    pub environment: BTreeMap<String, String>,
    /// Commands started once when the compositor is ready, each an argv list.
    pub autostart: Vec<Vec<String>>,
    /// Floating or tiled workspaces.
    pub layout: LayoutConfig,
    /// GPU figures and the performance overlay.
    pub telemetry: TelemetryConfig,
    /// Blanking the displays when idle.
    pub idle: IdleConfig,
    /// The screen locker.
    pub lock: LockConfig,
    /// Switches for hardware features that misbehave.
    pub debug: DebugConfig,
}

impl Config {
    /// Parses `text`, naming `path` in errors. Every problem the schema can see is
    /// reported at once.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let doc = match toml_edit::ImDocument::parse(text) {
            Ok(doc) => doc,
            Err(e) => {
                let problem =
                    Problem::new(e.span(), format!("syntax error: {}", e.message().trim()));
                return Err(ConfigError::invalid(path, text, vec![problem]));
            }
        };
        let mut problems = Vec::new();
        validate::walk_table(doc.as_table(), schema::ROOT, "", &mut problems);
        if !problems.is_empty() {
            return Err(ConfigError::invalid(path, text, problems));
        }
        toml::from_str(text).map_err(|e| {
            let problem = Problem::new(e.span(), e.message().trim().to_owned());
            ConfigError::invalid(path, text, vec![problem])
        })
    }

    /// Reads and parses the file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// The file ghostcomp reads: `$XDG_CONFIG_HOME/ghostcomp/config.toml` (or
    /// `~/.config/…`), else `/etc/ghostcomp/config.toml`; None means built-in defaults.
    pub fn default_path() -> Option<PathBuf> {
        Self::user_path()
            .into_iter()
            .chain(std::iter::once(PathBuf::from("/etc/ghostcomp/config.toml")))
            .find(|p| p.exists())
    }

    /// Where the user's file lives (whether or not it exists): watched for hot reload.
    pub fn user_path() -> Option<PathBuf> {
        std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
            .map(|d| d.join("ghostcomp/config.toml"))
    }

    /// The settings for the output called `name`, if any section names it.
    pub fn output_named(&self, name: &str) -> Option<&OutputConfig> {
        self.output.iter().find(|o| o.name.as_deref() == Some(name))
    }
}

#[cfg(test)]
mod tests;
