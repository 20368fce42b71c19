//! `modeline = "…"`: a whole display timing in the X11 form that `cvt`, `gtf` and
//! xrandr print, for monitors that need a timing no formula gives.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A display timing as a modeline gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Modeline {
    /// Pixel clock in kHz.
    pub clock_khz: u32,
    /// Active width, sync start, sync end, total.
    pub horizontal: [u16; 4],
    /// Active height, sync start, sync end, total.
    pub vertical: [u16; 4],
    /// `+hsync` (true) or `-hsync` (false); unsaid when `None`.
    pub hsync_positive: Option<bool>,
    /// `+vsync` or `-vsync`.
    pub vsync_positive: Option<bool>,
    /// `interlace`.
    pub interlace: bool,
}

/// Why a modeline was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid modeline: {0} (expected [Modeline \"NAME\"] CLOCK_MHZ HDISP HSYNCSTART HSYNCEND HTOTAL VDISP VSYNCSTART VSYNCEND VTOTAL [+hsync|-hsync] [+vsync|-vsync] [interlace])")]
pub struct ModelineError(String);

const FIELDS: [&str; 8] = [
    "HDISP",
    "HSYNCSTART",
    "HSYNCEND",
    "HTOTAL",
    "VDISP",
    "VSYNCSTART",
    "VSYNCEND",
    "VTOTAL",
];

impl FromStr for Modeline {
    type Err = ModelineError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut words = text.split_whitespace().peekable();
        words.next_if(|w| w.eq_ignore_ascii_case("modeline"));
        // The name, which may hold spaces: up to the word that closes the quote.
        if let Some(first) = words.next_if(|w| w.starts_with('"')) {
            let mut closed = first.len() > 1 && first.ends_with('"');
            while !closed {
                closed = words
                    .next()
                    .ok_or_else(|| ModelineError("the name's quote is not closed".into()))?
                    .ends_with('"');
            }
        }
        let clock_mhz: f64 = words
            .next()
            .ok_or_else(|| ModelineError("no pixel clock".into()))?
            .parse()
            .map_err(|_| ModelineError("the pixel clock is not a number".into()))?;
        let clock_khz = (clock_mhz * 1000.0).round();
        if !(1.0..=f64::from(u32::MAX)).contains(&clock_khz) {
            return Err(ModelineError("the pixel clock is out of range".into()));
        }
        let mut values = [0u16; 8];
        for (slot, name) in values.iter_mut().zip(FIELDS) {
            let word = words.next().ok_or_else(|| {
                ModelineError("fewer than eight horizontal and vertical values".into())
            })?;
            *slot = word
                .parse()
                .map_err(|_| ModelineError(format!("{name} is not a whole number up to 65535")))?;
        }
        let mut out = Modeline {
            clock_khz: clock_khz as u32,
            horizontal: [values[0], values[1], values[2], values[3]],
            vertical: [values[4], values[5], values[6], values[7]],
            hsync_positive: None,
            vsync_positive: None,
            interlace: false,
        };
        for word in words {
            match word.to_ascii_lowercase().as_str() {
                "+hsync" => out.hsync_positive = Some(true),
                "-hsync" => out.hsync_positive = Some(false),
                "+vsync" => out.vsync_positive = Some(true),
                "-vsync" => out.vsync_positive = Some(false),
                "interlace" => out.interlace = true,
                _ => return Err(ModelineError("unknown flag".into())),
            }
        }
        let grows = |[active, start, end, total]: [u16; 4]| {
            active > 0 && active <= start && start <= end && end <= total
        };
        if !grows(out.horizontal) || !grows(out.vertical) {
            return Err(ModelineError(
                "each direction must grow: 0 < active ≤ sync start ≤ sync end ≤ total".into(),
            ));
        }
        Ok(out)
    }
}

impl fmt::Display for Modeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [hd, hs, he, ht] = self.horizontal;
        let [vd, vs, ve, vt] = self.vertical;
        let clock = f64::from(self.clock_khz) / 1000.0;
        write!(f, "{clock:.3} {hd} {hs} {he} {ht} {vd} {vs} {ve} {vt}")?;
        for (sign, axis) in [(self.hsync_positive, 'h'), (self.vsync_positive, 'v')] {
            match sign {
                Some(true) => write!(f, " +{axis}sync")?,
                Some(false) => write!(f, " -{axis}sync")?,
                None => {}
            }
        }
        if self.interlace {
            write!(f, " interlace")?;
        }
        Ok(())
    }
}

impl Serialize for Modeline {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Modeline {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> Modeline {
        text.parse().expect("a modeline")
    }

    #[test]
    fn modelines_read_with_or_without_their_name() {
        let bare = line("173.00 1920 2048 2248 2576 1080 1083 1088 1120 -hsync +vsync");
        for text in [
            "Modeline \"1920x1080_60.00\"  173.00  1920 2048 2248 2576  1080 1083 1088 1120 -hsync +vsync",
            "\"my mode\" 173 1920 2048 2248 2576 1080 1083 1088 1120 -HSync +VSync",
        ] {
            assert_eq!(line(text), bare, "{text}");
        }
        assert_eq!(bare.clock_khz, 173_000);
        assert_eq!(bare.hsync_positive, Some(false));
        assert_eq!(
            bare.to_string(),
            "173.000 1920 2048 2248 2576 1080 1083 1088 1120 -hsync +vsync"
        );
        assert_eq!(line(&bare.to_string()), bare);
    }

    #[test]
    fn broken_modelines_are_refused() {
        for bad in [
            "",
            "173",
            "Modeline \"open 173 1920 2048 2248 2576 1080 1083 1088 1120",
            "abc 1920 2048 2248 2576 1080 1083 1088 1120",
            "173 1920 2048 2248 2576 1080 1083 1088",
            "173 1920 1900 2248 2576 1080 1083 1088 1120",
            "173 0 0 0 0 1080 1083 1088 1120",
            "173 1920 2048 2248 2576 1080 1083 1088 1120 +wobble",
            "173 1920 2048 2248 99999 1080 1083 1088 1120",
            "-5 1920 2048 2248 2576 1080 1083 1088 1120",
            "NaN 1920 2048 2248 2576 1080 1083 1088 1120",
            "1e30 1920 2048 2248 2576 1080 1083 1088 1120",
        ] {
            assert!(bad.parse::<Modeline>().is_err(), "{bad:?} was taken");
        }
    }
}
