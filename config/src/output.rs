//! Output settings and the `WxH[@Hz]` mode syntax shared by the file and the command line.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::str::FromStr;

/// Settings for one output. It applies by connector `name`, or by `make` (vendor name
/// or PNP id), `model` and `serial`, each given one equal to the monitor's as
/// `ghostcomp edid` shows it, so settings follow a monitor from port to port (the
/// compositor matches them against the monitor's identity from its EDID).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// Connector name, e.g. "DP-1" or "HEADLESS-1".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Monitor make: the EDID manufacturer's name, e.g. "Samsung Electric Company", or
    /// its PNP id, e.g. "SAM" (either case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub make: Option<String>,
    /// Monitor model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Monitor serial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// Whether to light the output up.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The mode; the preferred mode when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ModeSetting>,
    /// A whole timing (X11 modeline), used instead of `mode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modeline: Option<crate::Modeline>,
    /// Top-left corner in the global layout, in logical pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<(i32, i32)>,
    /// Fractional scale (1.0, 1.25, 2.0 …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
    /// Rotation and flip.
    #[serde(default)]
    pub transform: Transform,
    /// Variable refresh rate policy.
    #[serde(default)]
    pub vrr: VrrPolicy,
    /// HDR signalling.
    #[serde(default)]
    pub hdr: Toggle,
    /// Luminance of SDR white on an HDR output, in cd/m².
    #[serde(default = "sdr_white")]
    pub sdr_brightness: f64,
    /// Largest bits per colour channel to drive the link with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bpc: Option<u8>,
    /// Peak luminance in cd/m², overriding the EDID (monitors often understate or
    /// overstate it); tone mapping targets this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_luminance: Option<f64>,
    /// Black luminance in cd/m², overriding the EDID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_luminance: Option<f64>,
}

fn yes() -> bool {
    true
}

fn sdr_white() -> f64 {
    203.0
}

/// Output rotation and flip, as wl_output names them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Transform {
    /// No rotation.
    #[default]
    #[serde(rename = "normal")]
    Normal,
    /// 90° counter-clockwise.
    #[serde(rename = "90")]
    Rotate90,
    /// 180°.
    #[serde(rename = "180")]
    Rotate180,
    /// 270° counter-clockwise.
    #[serde(rename = "270")]
    Rotate270,
    /// Mirrored.
    #[serde(rename = "flipped")]
    Flipped,
    /// Mirrored, then 90°.
    #[serde(rename = "flipped-90")]
    Flipped90,
    /// Mirrored, then 180°.
    #[serde(rename = "flipped-180")]
    Flipped180,
    /// Mirrored, then 270°.
    #[serde(rename = "flipped-270")]
    Flipped270,
}

/// When variable refresh is on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VrrPolicy {
    /// Never.
    #[default]
    Off,
    /// Always (where the monitor supports it).
    On,
    /// While a fullscreen window is shown.
    Fullscreen,
    /// While a window says it shows a game or video (wp_content_type_v1).
    ContentType,
}

/// A plain on/off switch written as a word.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Toggle {
    /// Off.
    #[default]
    Off,
    /// On.
    On,
}

/// Which mode an output gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeSetting {
    /// The monitor's preferred (native) mode.
    Preferred,
    /// The highest refresh rate at the largest size.
    HighestRefresh,
    /// A size and maybe a refresh rate.
    Exact(ModeSpec),
}

impl FromStr for ModeSetting {
    type Err = OutputSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "preferred" => Ok(ModeSetting::Preferred),
            "highest-refresh" => Ok(ModeSetting::HighestRefresh),
            _ => s.parse().map(ModeSetting::Exact),
        }
    }
}

impl Serialize for ModeSetting {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ModeSetting::Preferred => s.serialize_str("preferred"),
            ModeSetting::HighestRefresh => s.serialize_str("highest-refresh"),
            ModeSetting::Exact(m) => s.serialize_str(&m.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for ModeSetting {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A mode as a person writes it: `1920x1080` or `1920x1080@59.94`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModeSpec {
    /// Width in pixels.
    pub width: i32,
    /// Height in pixels.
    pub height: i32,
    /// Refresh in millihertz, or the mode's own when absent.
    pub refresh_mhz: Option<i32>,
}

/// Why a mode string was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid mode {input:?}: {reason} (expected \"preferred\", \"highest-refresh\", WIDTHxHEIGHT or WIDTHxHEIGHT@HZ, e.g. 1920x1080@60)")]
pub struct OutputSpecError {
    input: String,
    reason: &'static str,
}

impl FromStr for ModeSpec {
    type Err = OutputSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fail = |reason| OutputSpecError {
            input: s.to_owned(),
            reason,
        };
        let (size, refresh) = match s.split_once('@') {
            Some((size, hz)) => (size, Some(hz)),
            None => (s, None),
        };
        let (w, h) = size.split_once('x').ok_or_else(|| fail("no 'x'"))?;
        let width: i32 = w.trim().parse().map_err(|_| fail("bad width"))?;
        let height: i32 = h.trim().parse().map_err(|_| fail("bad height"))?;
        if !(1..=16384).contains(&width) || !(1..=16384).contains(&height) {
            return Err(fail("size must be 1..=16384"));
        }
        let refresh_mhz = match refresh {
            None => None,
            Some(hz) => {
                let hz: f64 = hz.trim().parse().map_err(|_| fail("bad refresh"))?;
                if !(1.0..=1000.0).contains(&hz) {
                    return Err(fail("refresh must be 1..=1000 Hz"));
                }
                Some((hz * 1000.0).round() as i32)
            }
        };
        Ok(ModeSpec {
            width,
            height,
            refresh_mhz,
        })
    }
}

impl std::fmt::Display for ModeSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.width, self.height)?;
        if let Some(mhz) = self.refresh_mhz {
            if mhz % 1000 == 0 {
                write!(f, "@{}", mhz / 1000)?;
            } else {
                write!(f, "@{}", mhz as f64 / 1000.0)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_modes() {
        assert_eq!(
            "1920x1080@59.94".parse::<ModeSpec>().unwrap(),
            ModeSpec {
                width: 1920,
                height: 1080,
                refresh_mhz: Some(59_940)
            }
        );
        assert_eq!("800x600".parse::<ModeSpec>().unwrap().refresh_mhz, None);
        for bad in ["", "x", "1920x", "0x10", "10x10@0", "10x10@abc", "99999x1"] {
            assert!(bad.parse::<ModeSpec>().is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn mode_strings_round_trip(w in 1i32..16384, h in 1i32..16384, hz in 1i32..1000) {
            let m: ModeSpec = format!("{w}x{h}@{hz}").parse().unwrap();
            prop_assert_eq!(m, ModeSpec { width: w, height: h, refresh_mhz: Some(hz * 1000) });
        }

        #[test]
        fn never_panics(s in ".*") {
            let _ = s.parse::<ModeSpec>();
        }
    }
}
