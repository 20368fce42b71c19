//! Output settings and the `WxH[@Hz]` mode syntax shared by the file and the command line.

use serde::{Deserialize, Deserializer};
use std::str::FromStr;

/// Settings for one output, matched by connector name.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// Connector name, e.g. "DP-1" or "HEADLESS-1".
    pub name: String,
    /// The mode to use; the preferred mode when absent.
    #[serde(default)]
    pub mode: Option<ModeSpec>,
    /// Fractional scale (1.0, 1.25, 2.0 …).
    #[serde(default)]
    pub scale: Option<f64>,
    /// Top-left corner in the global layout, in logical pixels.
    #[serde(default)]
    pub position: Option<(i32, i32)>,
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
#[error("invalid mode {input:?}: {reason} (expected WIDTHxHEIGHT or WIDTHxHEIGHT@HZ, e.g. 1920x1080@60)")]
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

impl<'de> Deserialize<'de> for ModeSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
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
