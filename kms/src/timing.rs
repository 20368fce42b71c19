//! Timings for modes a display does not list (custom modes): made by the VESA formulas
//! (CVT with reduced blanking v2 or v1, CVT, GTF, computed by libdisplay-info) or given
//! whole as an X11 modeline, and checked against the rates and pixel clock the
//! display's EDID declares before the driver is asked (TEST_ONLY) whether it takes them.

use std::fmt;

use ghostnv_backend::ModeInfo;
use libdisplay_info::{cvt, gtf};

use crate::display_info::{DisplayInfo, RangeFormula, RangeLimits};

/// `DRM_MODE_FLAG_PHSYNC` and its siblings: sync polarities and interlace.
pub const FLAG_PHSYNC: u32 = 1 << 0;
pub const FLAG_NHSYNC: u32 = 1 << 1;
pub const FLAG_PVSYNC: u32 = 1 << 2;
pub const FLAG_NVSYNC: u32 = 1 << 3;
pub const FLAG_INTERLACE: u32 = 1 << 4;

/// How a custom timing was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Formula {
    /// CVT reduced blanking v2 (CVT 1.2): the least blanking, for digital displays.
    CvtRb2,
    /// CVT reduced blanking v1.
    CvtRb,
    /// CVT with standard (CRT-style) blanking.
    Cvt,
    /// VESA GTF with the default curve.
    Gtf,
    /// Given whole by the user as a modeline.
    Modeline,
}

impl Formula {
    /// The name `msg outputs` and messages use.
    pub fn name(self) -> &'static str {
        match self {
            Formula::CvtRb2 => "CVT-RBv2",
            Formula::CvtRb => "CVT-RB",
            Formula::Cvt => "CVT",
            Formula::Gtf => "GTF",
            Formula::Modeline => "modeline",
        }
    }
}

/// Why a custom timing cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TimingError {
    /// A size or rate the formulas cannot make a timing for.
    #[error("no timing for {width}x{height}@{hz} Hz: {why}")]
    Impossible {
        /// Asked width.
        width: i32,
        /// Asked height.
        height: i32,
        /// Asked refresh.
        hz: f64,
        /// What was wrong.
        why: &'static str,
    },
    /// Outside what the display's EDID says it takes.
    #[error("{what} {value:.3} {unit} is outside the display's range {min}-{max} {unit} (EDID range limits)")]
    OutOfRange {
        /// Which rate.
        what: &'static str,
        /// The timing's value.
        value: f64,
        /// The range's lowest.
        min: u32,
        /// The range's highest.
        max: u32,
        /// Hz, kHz or MHz.
        unit: &'static str,
    },
}

fn impossible(width: i32, height: i32, hz: f64, why: &'static str) -> TimingError {
    TimingError::Impossible {
        width,
        height,
        hz,
        why,
    }
}

fn narrow(v: f64) -> Option<u16> {
    (v.is_finite() && (0.0..=f64::from(u16::MAX)).contains(&v.round())).then(|| v.round() as u16)
}

/// Builds the whole timing from active sizes, porches and syncs.
#[allow(clippy::too_many_arguments)]
fn assemble(
    (width, height): (f64, f64),
    (h_front, h_sync, h_back): (f64, f64, f64),
    (v_front, v_sync, v_back): (f64, f64, f64),
    clock_mhz: f64,
    flags: u32,
) -> Option<ModeInfo> {
    let clock_khz = (clock_mhz * 1000.0).round();
    if !(1.0..=f64::from(u32::MAX)).contains(&clock_khz) {
        return None;
    }
    Some(ModeInfo {
        width: narrow(width)?,
        height: narrow(height)?,
        clock_khz: clock_khz as u32,
        hsync_start: narrow(width + h_front)?,
        hsync_end: narrow(width + h_front + h_sync)?,
        htotal: narrow(width + h_front + h_sync + h_back)?,
        vsync_start: narrow(height + v_front)?,
        vsync_end: narrow(height + v_front + v_sync)?,
        vtotal: narrow(height + v_front + v_sync + v_back)?,
        flags,
        preferred: false,
    })
}

/// The timing `formula` gives for `width`x`height` at `hz` (progressive).
pub fn generate(
    formula: Formula,
    width: i32,
    height: i32,
    hz: f64,
) -> Result<ModeInfo, TimingError> {
    if !(1..=16384).contains(&width) || !(1..=16384).contains(&height) {
        return Err(impossible(width, height, hz, "size out of range"));
    }
    if !(1.0..=1000.0).contains(&hz) {
        return Err(impossible(width, height, hz, "refresh out of range"));
    }
    let made = match formula {
        Formula::CvtRb2 | Formula::CvtRb | Formula::Cvt => {
            let t = cvt::Timing::compute(cvt::Options {
                red_blank_ver: match formula {
                    Formula::CvtRb2 => cvt::ReducedBlankingVersion::V2,
                    Formula::CvtRb => cvt::ReducedBlankingVersion::V1,
                    _ => cvt::ReducedBlankingVersion::None,
                },
                h_pixels: width,
                v_lines: height,
                ip_freq_rqd: hz,
                video_opt: false,
                vblank: 0.0,
                additional_hblank: 0,
                early_vsync_rqd: false,
                int_rqd: false,
                margins_rqd: false,
            });
            // CVT 1.2 table 5-2: standard blanking has negative horizontal and positive
            // vertical sync, reduced blanking the opposite.
            let flags = if formula == Formula::Cvt {
                FLAG_NHSYNC | FLAG_PVSYNC
            } else {
                FLAG_PHSYNC | FLAG_NVSYNC
            };
            assemble(
                (t.total_active_pixels, t.v_lines_rnd),
                (t.h_front_porch, t.h_sync, t.h_back_porch),
                (t.v_front_porch, t.v_sync, t.v_back_porch),
                t.act_pixel_freq,
                flags,
            )
        }
        Formula::Gtf => {
            let t = gtf::Timing::compute(gtf::Options {
                h_pixels: width,
                v_lines: height,
                margins_rqd: false,
                ip_param: gtf::IpParam::VFrameRate,
                ip_freq_rqd: hz,
                int_rqd: false,
                m: gtf::DEFAULT_M,
                c: gtf::DEFAULT_C,
                k: gtf::DEFAULT_K,
                j: gtf::DEFAULT_J,
            });
            // GTF 1.1 section 2.1: negative horizontal, positive vertical sync.
            assemble(
                (f64::from(t.h_pixels), f64::from(t.v_lines)),
                (
                    f64::from(t.h_front_porch),
                    f64::from(t.h_sync),
                    f64::from(t.h_back_porch),
                ),
                (
                    f64::from(t.v_front_porch),
                    f64::from(t.v_sync),
                    f64::from(t.v_back_porch),
                ),
                t.pixel_freq_mhz,
                FLAG_NHSYNC | FLAG_PVSYNC,
            )
        }
        Formula::Modeline => None,
    };
    made.ok_or_else(|| impossible(width, height, hz, "the formula gave no usable timing"))
}

/// A mode as a modeline, the form users compare with `cvt`'s.
pub struct AsModeline<'a>(pub &'a ModeInfo);

impl fmt::Display for AsModeline<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        let pol = |plus: u32, minus: u32, axis: &str| {
            if m.flags & plus != 0 {
                format!(" +{axis}sync")
            } else if m.flags & minus != 0 {
                format!(" -{axis}sync")
            } else {
                String::new()
            }
        };
        write!(
            f,
            "{:.3} {} {} {} {} {} {} {} {}{}{}{}",
            f64::from(m.clock_khz) / 1000.0,
            m.width,
            m.hsync_start,
            m.hsync_end,
            m.htotal,
            m.height,
            m.vsync_start,
            m.vsync_end,
            m.vtotal,
            pol(FLAG_PHSYNC, FLAG_NHSYNC, "h"),
            pol(FLAG_PVSYNC, FLAG_NVSYNC, "v"),
            if m.flags & FLAG_INTERLACE != 0 {
                " interlace"
            } else {
                ""
            }
        )
    }
}

/// Checks `mode` against the display's range limits: vertical and horizontal rates,
/// and the pixel clock.
pub fn check_limits(mode: &ModeInfo, limits: &RangeLimits) -> Result<(), TimingError> {
    let vertical = f64::from(mode.refresh_mhz()) / 1000.0;
    let horizontal = f64::from(mode.clock_khz) / f64::from(mode.htotal.max(1));
    // The limits are whole numbers; a rate that rounds into them is in.
    let within =
        |v: f64, min: u32, max: u32| v + 0.5 >= f64::from(min) && v - 0.5 <= f64::from(max);
    if !within(vertical, limits.min_hz, limits.max_hz) {
        return Err(TimingError::OutOfRange {
            what: "vertical rate",
            value: vertical,
            min: limits.min_hz,
            max: limits.max_hz,
            unit: "Hz",
        });
    }
    if !within(horizontal, limits.min_khz, limits.max_khz) {
        return Err(TimingError::OutOfRange {
            what: "horizontal rate",
            value: horizontal,
            min: limits.min_khz,
            max: limits.max_khz,
            unit: "kHz",
        });
    }
    if let Some(max) = limits.max_clock_khz {
        if mode.clock_khz > max {
            return Err(TimingError::OutOfRange {
                what: "pixel clock",
                value: f64::from(mode.clock_khz) / 1000.0,
                min: 0,
                max: max / 1000,
                unit: "MHz",
            });
        }
    }
    Ok(())
}

/// The formula for a display: CVT-RBv2 where it takes reduced blanking (its range
/// limits say so, it lists a reduced-blanking timing, it names no formula, or there is
/// no EDID: virtual and modern digital displays), else what its range limits name.
pub fn formula_for(info: Option<&DisplayInfo>) -> Formula {
    let Some(info) = info else {
        return Formula::CvtRb2;
    };
    // CVT-RB's horizontal blanking is 160 pixels, RBv2's 80.
    let lists_reduced = info
        .modes
        .iter()
        .any(|m| matches!(m.htotal.saturating_sub(m.width), 80 | 160));
    match info.range_limits.map(|l| l.formula) {
        None | Some(RangeFormula::Bare) => Formula::CvtRb2,
        Some(RangeFormula::Cvt { reduced: true, .. }) => Formula::CvtRb2,
        _ if lists_reduced => Formula::CvtRb2,
        Some(RangeFormula::Cvt { .. }) => Formula::Cvt,
        Some(RangeFormula::Gtf | RangeFormula::SecondaryGtf) => Formula::Gtf,
    }
}

/// A custom mode for a display: the timing its formula gives, checked against its range
/// limits.
pub fn custom_mode(
    width: i32,
    height: i32,
    refresh_mhz: i32,
    info: Option<&DisplayInfo>,
) -> Result<(ModeInfo, Formula), TimingError> {
    let formula = formula_for(info);
    let mode = generate(formula, width, height, f64::from(refresh_mhz) / 1000.0)?;
    if let Some(limits) = info.and_then(|i| i.range_limits.as_ref()) {
        check_limits(&mode, limits)?;
    }
    Ok((mode, formula))
}

#[cfg(test)]
mod tests;
