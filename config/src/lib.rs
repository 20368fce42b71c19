//! `ghost-config` owns the user's configuration file: its schema, its defaults, and
//! validation that points at the exact `file:line:column` of a mistake. It is pure (no
//! smithay, DRM or Wayland): text in, typed settings or precise errors out, so the
//! compositor can keep running on its old settings whenever a new file is wrong.
//!
//! Today the schema covers what the compositor applies now: outputs (mode, scale,
//! position), keyboard settings, the environment and autostart commands.

mod error;
mod output;

pub use error::ConfigError;
pub use output::{ModeSpec, OutputConfig, OutputSpecError};

use serde::Deserialize;
use std::{collections::BTreeMap, path::Path};

/// The whole configuration file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Per-output settings, matched by connector name.
    pub output: Vec<OutputConfig>,
    /// Keyboard and pointer settings.
    pub input: InputConfig,
    /// Variables exported to every client ghostcomp starts.
    pub environment: BTreeMap<String, String>,
    /// Commands started once when the compositor is ready, each an argv list.
    pub autostart: Vec<Vec<String>>,
}

/// Keyboard settings applied to the seat.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InputConfig {
    /// XKB layout, e.g. "us" or "de,us".
    pub xkb_layout: String,
    /// XKB variant, e.g. "nodeadkeys".
    pub xkb_variant: String,
    /// XKB options, e.g. "ctrl:nocaps".
    pub xkb_options: Option<String>,
    /// Key repeats per second.
    pub repeat_rate: i32,
    /// Milliseconds before a held key repeats.
    pub repeat_delay: i32,
}

impl Default for InputConfig {
    fn default() -> Self {
        Self {
            xkb_layout: String::new(),
            xkb_variant: String::new(),
            xkb_options: None,
            repeat_rate: 25,
            repeat_delay: 600,
        }
    }
}

impl Config {
    /// Parses `text`, naming `path` in any error.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: Config =
            toml::from_str(text).map_err(|e| ConfigError::from_toml(path, text, &e))?;
        config.validate(path)?;
        Ok(config)
    }

    /// Reads and parses the file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        };
        if self.input.repeat_rate < 0 || self.input.repeat_delay < 0 {
            return Err(invalid(
                "input.repeat_rate and input.repeat_delay must not be negative".into(),
            ));
        }
        for (i, output) in self.output.iter().enumerate() {
            if let Some(scale) = output.scale {
                if !(0.25..=8.0).contains(&scale) {
                    return Err(invalid(format!(
                        "output[{i}] ({}): scale {scale} is outside 0.25..=8",
                        output.name
                    )));
                }
            }
        }
        for (i, argv) in self.autostart.iter().enumerate() {
            if argv.is_empty() {
                return Err(invalid(format!("autostart[{i}] is an empty command")));
            }
        }
        Ok(())
    }

    /// The settings for the output called `name`, if the file has any.
    pub fn output_named(&self, name: &str) -> Option<&OutputConfig> {
        self.output.iter().find(|o| o.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_defaults() {
        assert_eq!(
            Config::parse("", Path::new("c.toml")).unwrap(),
            Config::default()
        );
    }

    #[test]
    fn full_file_parses() {
        let text = r#"
autostart = [["foot"]]
[environment]
MOZ_ENABLE_WAYLAND = "1"
[input]
xkb_layout = "de"
repeat_rate = 30
[[output]]
name = "HEADLESS-1"
mode = "2560x1440@144"
scale = 1.5
position = [0, 0]
"#;
        let c = Config::parse(text, Path::new("c.toml")).unwrap();
        assert_eq!(c.input.xkb_layout, "de");
        assert_eq!(c.input.repeat_delay, 600);
        let o = c.output_named("HEADLESS-1").unwrap();
        assert_eq!(
            o.mode,
            Some(ModeSpec {
                width: 2560,
                height: 1440,
                refresh_mhz: Some(144_000)
            })
        );
        assert_eq!(c.autostart, vec![vec!["foot".to_string()]]);
    }

    #[test]
    fn unknown_key_points_at_line_and_column() {
        let text = "[input]\nxkb_layout = \"us\"\nrepeat_rat = 5\n";
        let err = Config::parse(text, Path::new("/home/u/config.toml")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("/home/u/config.toml:3:1:"), "{msg}");
        assert!(msg.contains("repeat_rat"), "{msg}");
        assert!(msg.contains("repeat_rate"), "suggests the right key: {msg}");
    }

    #[test]
    fn bad_mode_is_reported_where_it_is() {
        let text = "[[output]]\nname = \"X\"\nmode = \"1920x@60\"\n";
        let msg = Config::parse(text, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with("c.toml:3:8:"), "{msg}");
    }

    #[test]
    fn out_of_range_scale_is_refused() {
        let text = "[[output]]\nname = \"X\"\nscale = 20.0\n";
        assert!(Config::parse(text, Path::new("c.toml")).is_err());
    }
}
