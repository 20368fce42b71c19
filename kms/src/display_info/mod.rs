//! What a monitor says about itself: EDID and DisplayID decoded into one plain value.
//!
//! Decoding goes through libdisplay-info (the C library every major compositor uses);
//! the few blocks its packaged version does not decode yet are read in [`raw`]. Input
//! comes from the monitor, so nothing here fails: broken data is repaired or skipped
//! (see [`sanitize`]), every repair lands in [`DisplayInfo::problems`], and missing
//! facts stay `None` so callers fall back to safe defaults.

mod identity;
mod modes;
mod parse;
mod raw;
mod sanitize;
mod summary;

use serde::Serialize;

pub use identity::OutputIdentity;
pub use modes::{Mode, ModeSource};
pub use parse::DECODER_FAULT;
pub use raw::{AdaptiveSyncRange, FrlRate, RangeFormula, RangeLimits};

/// Everything decoded from one EDID.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DisplayInfo {
    /// EDID structure version and revision, e.g. (1, 4).
    pub edid_version: Option<(u8, u8)>,
    /// Manufacturer.
    pub vendor: Vendor,
    /// Product code the manufacturer assigned.
    pub product_code: u16,
    /// Product name from the display descriptor, when there is one.
    pub model: Option<String>,
    /// Serial number and serial string.
    pub serial: Serial,
    /// Manufacture date.
    pub manufactured: Manufactured,
    /// Physical image size in millimetres (from the base block, in whole centimetres).
    pub physical_size_mm: Option<(u32, u32)>,
    /// Digital input (as opposed to analog VGA).
    pub digital: bool,
    /// Every mode listed anywhere, duplicates merged, in EDID order.
    pub modes: Vec<Mode>,
    /// Colour capabilities.
    pub colour: Colour,
    /// Variable refresh.
    pub vrr: Vrr,
    /// Link capabilities.
    pub link: Link,
    /// The display range limits descriptor: what custom timings are checked against.
    pub range_limits: Option<RangeLimits>,
    /// What was wrong with the data and how it was handled.
    pub problems: Vec<String>,
}

/// A monitor manufacturer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Vendor {
    /// Three-letter PNP id, e.g. "DEL".
    pub pnp_id: String,
    /// Company name from the PNP registry, when known.
    pub name: Option<String>,
}

/// Serial number and serial string; monitors fill either, both or neither.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Serial {
    /// The base block's 32-bit number (absent when zero).
    pub number: Option<u32>,
    /// The serial string descriptor.
    pub text: Option<String>,
}

/// When the monitor was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Manufactured {
    /// Year of manufacture.
    pub year: Option<i32>,
    /// Week of the year, when stated.
    pub week: Option<i32>,
    /// Model year, for EDIDs that give one instead of a manufacture date.
    pub model_year: Option<i32>,
}

/// CIE 1931 xy coordinates of the primaries and white point.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Chromaticity {
    /// Red primary.
    pub red: [f64; 2],
    /// Green primary.
    pub green: [f64; 2],
    /// Blue primary.
    pub blue: [f64; 2],
    /// White point.
    pub white: [f64; 2],
}

impl Chromaticity {
    /// The panel's primaries as the colour pipeline uses them (white included), so an
    /// output can be described by what it really shows.
    pub fn to_primaries(&self) -> ghost_hdr::primaries::Primaries {
        let xy = |c: [f64; 2]| ghost_hdr::primaries::Xy { x: c[0], y: c[1] };
        ghost_hdr::primaries::Primaries {
            red: xy(self.red),
            green: xy(self.green),
            blue: xy(self.blue),
            white: xy(self.white),
        }
    }
}

impl DisplayInfo {
    /// The luminances to drive an HDR output with: the EDID's desired content
    /// luminances, each replaced by the user's override when given, with SDR white at
    /// `reference` (the `sdr_brightness` setting). Absent values fall back to 1000 cd/m²
    /// peak and 0.005 cd/m² black, the common HDR10 mastering range.
    pub fn hdr_luminances(
        &self,
        max_override: Option<f64>,
        min_override: Option<f64>,
        reference: f64,
    ) -> ghost_hdr::Luminances {
        let edid = self.colour.luminance.unwrap_or_default();
        let max = max_override.or(edid.max).unwrap_or(1000.0).max(1.0);
        let min = min_override
            .or(edid.min)
            .unwrap_or(0.005)
            .clamp(0.0, max / 2.0);
        ghost_hdr::Luminances {
            min,
            max,
            reference: reference.clamp(min * 2.0 + f64::EPSILON, max),
        }
    }
}

/// Colour capabilities.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Colour {
    /// Primaries and white point of the panel.
    pub primaries: Option<Chromaticity>,
    /// Display gamma from the base block.
    pub gamma: Option<f64>,
    /// sRGB is the default colour space.
    pub srgb_default: bool,
    /// Wide-gamut signal encodings the display accepts.
    pub colorimetry: Colorimetry,
    /// Transfer functions the display accepts.
    pub eotfs: Eotfs,
    /// Luminance range for HDR content, when the display states one.
    pub luminance: Option<Luminance>,
}

/// Signal colorimetry from the CTA-861 colorimetry data block.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Colorimetry {
    /// BT.2020 RGB.
    pub bt2020_rgb: bool,
    /// BT.2020 YCbCr.
    pub bt2020_ycc: bool,
    /// BT.2020 constant-luminance YCbCr.
    pub bt2020_cycc: bool,
    /// DCI-P3 (SMPTE ST 2113).
    pub dci_p3: bool,
}

/// Transfer functions from the HDR static metadata block.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Eotfs {
    /// Traditional gamma, SDR luminance range.
    pub traditional_sdr: bool,
    /// Traditional gamma, HDR luminance range.
    pub traditional_hdr: bool,
    /// SMPTE ST 2084 (PQ).
    pub pq: bool,
    /// Hybrid log-gamma.
    pub hlg: bool,
}

/// Desired content luminance from the HDR static metadata block, in cd/m².
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Luminance {
    /// Peak.
    pub max: Option<f64>,
    /// Maximum frame-average.
    pub max_frame_average: Option<f64>,
    /// Black level.
    pub min: Option<f64>,
}

/// Where a refresh range came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VrrSource {
    /// DisplayID 2.x Adaptive-Sync data block.
    DisplayIdAdaptiveSync,
    /// HDMI Forum VSDB VRRmin/VRRmax.
    HdmiForum,
    /// AMD FreeSync vendor block.
    FreeSync,
    /// The base block's display range limits descriptor.
    RangeLimits,
}

/// A refresh range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct VrrRange {
    /// Lowest refresh in Hz.
    pub min_hz: u32,
    /// Highest refresh in Hz.
    pub max_hz: u32,
    /// Where it was stated.
    pub source: VrrSource,
}

/// Variable refresh: every range the EDID states and the one that applies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Vrr {
    /// The range to drive variable refresh with, if the display offers it.
    pub range: Option<VrrRange>,
    /// Every stated range, the vertical range limits included.
    pub stated: Vec<VrrRange>,
}

/// Link capabilities.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Link {
    /// Native bits per colour channel (EDID 1.4 or DisplayID).
    pub bits_per_channel: Option<u8>,
    /// HDMI deep-colour depths in RGB/4:4:4.
    pub deep_colour_bits: Vec<u8>,
    /// HDMI deep-colour depths in YCbCr 4:2:0.
    pub deep_colour_420_bits: Vec<u8>,
    /// Largest TMDS clock or character rate in MHz.
    pub max_tmds_mhz: Option<u32>,
    /// Largest HDMI 2.1 Fixed Rate Link.
    pub max_frl: Option<FrlRate>,
    /// Display Stream Compression.
    pub dsc: bool,
}

impl DisplayInfo {
    /// Decodes `edid`. Never fails: what cannot be read is listed in `problems`.
    pub fn parse(edid: &[u8]) -> Self {
        parse::parse(edid)
    }

    /// The mode the display prefers: the first detailed timing of the base block, else
    /// the first mode marked preferred, else the first detailed timing anywhere.
    pub fn preferred_mode(&self) -> Option<&Mode> {
        let base_dtd = |m: &&Mode| m.source == ModeSource::Detailed { block: 0 };
        self.modes
            .iter()
            .find(|m| m.preferred && base_dtd(m))
            .or_else(|| self.modes.iter().find(|m| m.preferred))
            .or_else(|| {
                self.modes
                    .iter()
                    .find(|m| matches!(m.source, ModeSource::Detailed { .. }))
            })
    }

    /// The make to show and match config against: the vendor name, else the PNP id.
    pub fn make(&self) -> &str {
        self.vendor.name.as_deref().unwrap_or(&self.vendor.pnp_id)
    }

    /// A human-readable multi-line summary.
    pub fn summary(&self) -> String {
        summary::summary(self)
    }
}
