//! Every mode an EDID offers, from every place one can be listed, as one kind of value.

use libdisplay_info::{
    cta::VideoFormat,
    dmt,
    edid::{DetailedTimingDef, DetailedTimingDefStereo, EstablishedTimings, StandardTimingRef},
};
use serde::Serialize;

use super::raw::RawTiming;
use crate::timing::{self, Formula};

/// Where in the EDID a mode was listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ModeSource {
    /// A detailed timing descriptor; `block` 0 is the base block.
    Detailed {
        /// The EDID block that holds it.
        block: u8,
    },
    /// Established timings I/II (a bit per mode) and III (DMT ids).
    Established,
    /// A standard timing (size, aspect and rate; the timing from DMT, GTF or CVT).
    Standard,
    /// A CVT 3-byte timing code.
    Cvt,
    /// A CTA-861 video identification code.
    Vic {
        /// The code.
        vic: u8,
    },
    /// An HDMI 1.4 VIC (the 4K modes before CTA-861-F).
    HdmiVic {
        /// The code.
        vic: u8,
    },
    /// A DisplayID detailed timing (type I in DisplayID 1.x, type VII in 2.x or CTA).
    DisplayId,
}

/// One video mode the display accepts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mode {
    /// Active pixels per line.
    pub width: u32,
    /// Active lines per frame (both fields when interlaced).
    pub height: u32,
    /// Vertical refresh in Hz (the field rate when interlaced).
    pub refresh_hz: f64,
    /// Interlaced scan.
    pub interlaced: bool,
    /// Pixel clock in kHz.
    pub pixel_clock_khz: u64,
    /// Total pixels per line, blanking included.
    pub htotal: u32,
    /// Total lines per frame (per field when interlaced), blanking included.
    pub vtotal: u32,
    /// Where it was listed.
    pub source: ModeSource,
    /// Marked preferred by the EDID (the first detailed timing, or a DisplayID flag).
    pub preferred: bool,
    /// Marked native (CTA-861 native VICs and DTDs).
    pub native: bool,
    /// Only available in YCbCr 4:2:0 (CTA YCbCr 4:2:0 video data block).
    pub ycbcr420_only: bool,
}

impl Mode {
    /// Refresh in mHz, the unit KMS and wl_output use.
    pub fn refresh_mhz(&self) -> u32 {
        (self.refresh_hz * 1000.0).round() as u32
    }

    fn from_totals(
        (width, height): (u32, u32),
        (htotal, vtotal): (u32, u32),
        pixel_clock_khz: u64,
        interlaced: bool,
        source: ModeSource,
    ) -> Option<Self> {
        if width == 0 || height == 0 || htotal == 0 || vtotal == 0 || pixel_clock_khz == 0 {
            return None;
        }
        // An interlaced frame has an odd line count: each field is half a line longer.
        let field_lines = if interlaced {
            f64::from(vtotal) + 0.5
        } else {
            f64::from(vtotal)
        };
        Some(Self {
            width,
            height,
            refresh_hz: pixel_clock_khz as f64 * 1000.0 / (f64::from(htotal) * field_lines),
            interlaced,
            pixel_clock_khz,
            htotal,
            vtotal,
            source,
            preferred: false,
            native: false,
            ycbcr420_only: false,
        })
    }

    /// A detailed timing descriptor from the base block or a CTA block.
    pub(super) fn detailed(def: &DetailedTimingDef, block: u8) -> Option<Self> {
        // Stereo timings and zero sync widths are not drivable (see RawTiming::invalid).
        if def.stereo != DetailedTimingDefStereo::NONE
            || def.horiz_sync_pulse == 0
            || def.vert_sync_pulse == 0
        {
            return None;
        }
        let lines = u32::try_from(def.vert_video).ok()?;
        let height = if def.interlaced { lines * 2 } else { lines };
        let clock = u64::try_from(def.pixel_clock_hz).ok()? / 1000;
        Self::from_totals(
            (u32::try_from(def.horiz_video).ok()?, height),
            (
                u32::try_from(def.horiz_video + def.horiz_blank).ok()?,
                u32::try_from(def.vert_video + def.vert_blank).ok()?,
            ),
            clock,
            def.interlaced,
            ModeSource::Detailed { block },
        )
    }

    /// A VESA DMT timing, as established and standard timings name them.
    pub(super) fn dmt(timing: &dmt::Timing, source: ModeSource) -> Option<Self> {
        let width = u32::try_from(timing.horiz_video).ok()?;
        let height = u32::try_from(timing.vert_video).ok()?;
        let borders = |b: i32| u32::try_from(2 * b).unwrap_or(0);
        Self::from_totals(
            (width, height),
            (
                width + u32::try_from(timing.horiz_blank).ok()? + borders(timing.horiz_border),
                height + u32::try_from(timing.vert_blank).ok()? + borders(timing.vert_border),
            ),
            u64::try_from(timing.pixel_clock_hz).ok()? / 1000,
            false,
            source,
        )
    }

    /// A CTA-861 VIC.
    pub(super) fn vic(vic: u8) -> Option<Self> {
        let format = VideoFormat::from_vic(vic)?;
        // CTA formats give the frame height and the blanking of one field.
        let height = u32::try_from(format.v_active).ok()?;
        let field = if format.interlaced {
            format.v_active / 2
        } else {
            format.v_active
        };
        // libdisplay-info 0.2 lists the 240p/288p formats (VICs 8, 9, 12, 13, 23, 24,
        // 27, 28) with a front porch longer than the picture; CTA-861 gives 4 and 2.
        let v_front = if !format.interlaced && format.v_front > format.v_active {
            if format.v_active <= 240 {
                4
            } else {
                2
            }
        } else {
            format.v_front
        };
        let htotal = format.h_active + format.h_front + format.h_sync + format.h_back;
        let vtotal = field + v_front + format.v_sync + format.v_back;
        let mut mode = Self::from_totals(
            (u32::try_from(format.h_active).ok()?, height),
            (u32::try_from(htotal).ok()?, u32::try_from(vtotal).ok()?),
            u64::try_from(format.pixel_clock_hz).ok()? / 1000,
            format.interlaced,
            ModeSource::Vic { vic },
        )?;
        if vic == 39 {
            // 1080i50 with 1250 total lines: both fields are exactly 625 lines.
            mode.refresh_hz = mode.pixel_clock_khz as f64 * 1000.0 / f64::from(htotal as u32 * 625);
        }
        Some(mode)
    }

    /// An HDMI 1.4 VIC (HDMI 1.4b, table 8-13): each is the CTA format of the same mode.
    pub(super) fn hdmi_vic(vic: u8) -> Option<Self> {
        let cta = match vic {
            1 => 95, // 3840x2160 30 Hz
            2 => 94, // 3840x2160 25 Hz
            3 => 93, // 3840x2160 24 Hz
            4 => 98, // 4096x2160 24 Hz
            _ => return None,
        };
        Some(Self {
            source: ModeSource::HdmiVic { vic },
            ..Self::vic(cta)?
        })
    }

    /// A DisplayID timing decoded from raw bytes.
    pub(super) fn raw(timing: &RawTiming) -> Option<Self> {
        if timing.invalid {
            return None;
        }
        let [width, hblank, ..] = timing.h;
        let [lines, vblank, ..] = timing.v;
        let height = if timing.interlaced { lines * 2 } else { lines };
        let mut mode = Self::from_totals(
            (width, height),
            (width + hblank, lines + vblank),
            timing.pixel_clock_khz,
            timing.interlaced,
            ModeSource::DisplayId,
        )?;
        mode.preferred = timing.preferred;
        Some(mode)
    }
}

/// The established timings I and II with their exact timings (VESA DMT, and the Apple
/// and IBM modes of the original EDID table): ((width, height), (htotal, vtotal),
/// pixel clock kHz, interlaced).
type Fixed = ((u32, u32), (u32, u32), u64, bool);

fn established_table(t: &EstablishedTimings) -> [(bool, Fixed); 17] {
    [
        (t.has_720x400_70hz, ((720, 400), (900, 449), 28_320, false)),
        (t.has_720x400_88hz, ((720, 400), (900, 449), 35_500, false)),
        (t.has_640x480_60hz, ((640, 480), (800, 525), 25_175, false)),
        (t.has_640x480_67hz, ((640, 480), (864, 525), 30_240, false)),
        (t.has_640x480_72hz, ((640, 480), (832, 520), 31_500, false)),
        (t.has_640x480_75hz, ((640, 480), (840, 500), 31_500, false)),
        (t.has_800x600_56hz, ((800, 600), (1024, 625), 36_000, false)),
        (t.has_800x600_60hz, ((800, 600), (1056, 628), 40_000, false)),
        (t.has_800x600_72hz, ((800, 600), (1040, 666), 50_000, false)),
        (t.has_800x600_75hz, ((800, 600), (1056, 625), 49_500, false)),
        (t.has_832x624_75hz, ((832, 624), (1152, 667), 57_284, false)),
        (
            t.has_1024x768_87hz_interlaced,
            ((1024, 768), (1264, 408), 44_900, true),
        ),
        (
            t.has_1024x768_60hz,
            ((1024, 768), (1344, 806), 65_000, false),
        ),
        (
            t.has_1024x768_70hz,
            ((1024, 768), (1328, 806), 75_000, false),
        ),
        (
            t.has_1024x768_75hz,
            ((1024, 768), (1312, 800), 78_750, false),
        ),
        (
            t.has_1280x1024_75hz,
            ((1280, 1024), (1688, 1066), 135_000, false),
        ),
        (
            t.has_1152x870_75hz,
            ((1152, 870), (1456, 915), 100_000, false),
        ),
    ]
}

/// The modes flagged in established timings I and II.
pub(super) fn established(t: &EstablishedTimings) -> impl Iterator<Item = Mode> {
    established_table(t)
        .into_iter()
        .filter(|(present, _)| *present)
        .filter_map(|(_, (size, totals, clock, interlaced))| {
            Mode::from_totals(size, totals, clock, interlaced, ModeSource::Established)
        })
}

/// A standard timing: the DMT mode it names, else the GTF timing for its size and rate
/// (GTF is what the EDID standard prescribes by default; the kernel may build a CVT
/// timing instead on EDID 1.4 displays, and its mode list is what a modeset uses).
/// Codes whose first byte is 0x01 are unused slots, whatever the second byte says.
pub(super) fn standard(timing: &StandardTimingRef) -> Option<Mode> {
    let info = timing.inner();
    if info.horiz_video <= 256 {
        return None;
    }
    if let Some(dmt) = timing.dmt() {
        return Mode::dmt(&dmt, ModeSource::Standard);
    }
    computed_gtf(
        info.horiz_video,
        timing.vert_video(),
        f64::from(info.refresh_rate_hz),
        ModeSource::Standard,
    )
}

/// A mode from a timing the formulas in [`crate::timing`] make.
fn from_formula(
    formula: Formula,
    (width, height): (i32, i32),
    rate: f64,
    source: ModeSource,
) -> Option<Mode> {
    if width <= 0 || height <= 0 || rate <= 0.0 {
        return None;
    }
    let t = timing::generate(formula, width, height, rate).ok()?;
    Mode::from_totals(
        (u32::from(t.width), u32::from(t.height)),
        (u32::from(t.htotal), u32::from(t.vtotal)),
        u64::from(t.clock_khz),
        false,
        source,
    )
}

fn computed_gtf(width: i32, height: i32, rate: f64, source: ModeSource) -> Option<Mode> {
    from_formula(Formula::Gtf, (width, height), rate, source)
}

/// A CVT timing (reduced blanking when `reduced`), as CVT codes and EDID 1.4
/// standard timings use.
pub(super) fn computed_cvt(
    width: i32,
    height: i32,
    rate: f64,
    reduced: bool,
    source: ModeSource,
) -> Option<Mode> {
    let formula = if reduced {
        Formula::CvtRb
    } else {
        Formula::Cvt
    };
    from_formula(formula, (width, height), rate, source)
}
