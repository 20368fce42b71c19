//! Filling a [`DisplayInfo`] from libdisplay-info's decoding and [`RawBlocks`].

use libdisplay_info::{
    cta::CTA,
    edid::{DisplayDescriptorTag, Edid, ExtensionTag},
    info::Info,
};

use super::{
    modes::{self, Mode, ModeSource},
    raw::RawBlocks,
    sanitize::sanitize,
    Chromaticity, Colorimetry, DisplayInfo, Eotfs, Link, Luminance, Manufactured, Serial, Vendor,
    VrrRange, VrrSource,
};

/// The problem recorded when the decoder binding panicked (the fuzz target fails on it).
pub const DECODER_FAULT: &str = "the EDID decoder failed on this data; only raw blocks were read";

/// Range limits only count as a variable-refresh range when the descriptor says the
/// display takes any rate inside them and the span is wide enough to be useful.
const MIN_VRR_SPAN_HZ: u32 = 10;

pub(super) fn parse(data: &[u8]) -> DisplayInfo {
    let Some(clean) = sanitize(data) else {
        return DisplayInfo {
            problems: vec![format!(
                "{} bytes do not hold an EDID base block; using defaults",
                data.len()
            )],
            ..DisplayInfo::default()
        };
    };
    let mut problems = clean.problems;
    let info = match Info::parse_edid(&clean.bytes) {
        Ok(info) => info,
        Err(_) => {
            // Retry with the base block alone before giving up on the whole EDID.
            let mut base = clean.bytes[..128].to_vec();
            base[126] = 0;
            let sum = base[..127].iter().fold(0u8, |s, b| s.wrapping_add(*b));
            base[127] = 0u8.wrapping_sub(sum);
            match Info::parse_edid(&base) {
                Ok(info) => {
                    problems.push("the extension blocks could not be parsed".to_owned());
                    info
                }
                Err(_) => {
                    problems.push("the base block could not be parsed; using defaults".into());
                    return DisplayInfo {
                        problems,
                        ..DisplayInfo::default()
                    };
                }
            }
        }
    };
    if let Some(message) = info.failure_msg() {
        let text = message.to_string_lossy();
        problems.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.ends_with(':'))
                .map(str::to_owned),
        );
    }
    let raw = RawBlocks::decode(&clean.bytes);
    let mut out = DisplayInfo {
        problems,
        ..DisplayInfo::default()
    };
    let mut continuous = false;
    if let Some(edid) = info.edid() {
        // The binding crate turns values the C library passes through unchecked into
        // panics (`unreachable!`); a monitor must never take the compositor down, so a
        // panic there drops what that walk decoded and is reported as a problem.
        let walked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut part = DisplayInfo::default();
            let continuous = fill_base(&mut part, &edid);
            fill_extensions(&mut part, &edid);
            (part, continuous)
        }));
        match walked {
            Ok((part, c)) => {
                continuous = c;
                let problems = std::mem::take(&mut out.problems);
                out = DisplayInfo { problems, ..part };
            }
            Err(_) => out.problems.push(DECODER_FAULT.to_owned()),
        }
    }
    fill_colour(&mut out, &info, &raw);
    fill_raw(&mut out, &raw);
    out.model = out.model.take().or_else(|| {
        info.edid()
            .and_then(|e| find_string(&e, DisplayDescriptorTag::ProductName))
    });
    out.vendor.name = info.make().filter(|m| *m != out.vendor.pnp_id);
    out.modes = merge_duplicates(std::mem::take(&mut out.modes));
    let limits_usable = raw
        .range_limits
        .is_some_and(|limits| limits.bare || continuous);
    choose_vrr_range(&mut out, limits_usable);
    out
}

fn find_string(edid: &Edid<'_>, tag: DisplayDescriptorTag) -> Option<String> {
    edid.display_descriptors()
        .iter()
        .find(|d| d.tag() == tag)
        .and_then(|d| d.string())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// Fills the base block's facts; returns whether the EDID claims continuous
/// frequencies (EDID 1.4), which makes its range limits a usable VRR range.
fn fill_base(out: &mut DisplayInfo, edid: &Edid<'_>) -> bool {
    let version = (edid.version(), edid.revision());
    out.edid_version = u8::try_from(version.0)
        .ok()
        .zip(u8::try_from(version.1).ok());
    let product = edid.vendor_product();
    out.vendor = Vendor {
        pnp_id: product.manufacturer.iter().collect(),
        name: None,
    };
    out.product_code = product.product;
    out.serial = Serial {
        number: product.serial,
        text: find_string(edid, DisplayDescriptorTag::ProductSerial),
    };
    out.manufactured = Manufactured {
        year: Some(product.manufacture_year).filter(|y| *y > 0),
        week: Some(product.manufacture_week).filter(|w| (1..=54).contains(w)),
        model_year: product.model_year,
    };
    let size = edid.screen_size();
    out.physical_size_mm = size
        .width_cm
        .zip(size.height_cm)
        .and_then(|(w, h)| Some((u32::try_from(w).ok()? * 10, u32::try_from(h).ok()? * 10)));
    let digital = edid.video_input_digital();
    out.digital = digital.is_some();
    out.link.bits_per_channel = digital
        .and_then(|d| d.color_bit_depth)
        .and_then(|b| u8::try_from(b).ok());
    out.colour.gamma = edid.basic_gamma().map(f64::from);
    let misc = edid.misc_features();
    out.colour.srgb_default = misc.srgb_is_primary;
    let c = edid.chromaticity_coords();
    out.colour.primaries = Some(Chromaticity {
        red: [c.red_x.into(), c.red_y.into()],
        green: [c.green_x.into(), c.green_y.into()],
        blue: [c.blue_x.into(), c.blue_y.into()],
        white: [c.white_x.into(), c.white_y.into()],
    })
    .filter(|c| c.white != [0.0, 0.0]);

    for (index, dtd) in edid.detailed_timing_defs().enumerate() {
        if let Some(mut mode) = Mode::detailed(&dtd, 0) {
            // EDID 1.4 always, 1.3 when flagged: the first DTD is the preferred mode.
            mode.preferred = index == 0 && (misc.has_preferred_timing || version.1 >= 4);
            out.modes.push(mode);
        }
    }
    out.modes
        .extend(modes::established(&edid.established_timings()));
    out.modes
        .extend(edid.standard_timings().iter().filter_map(modes::standard));
    for descriptor in edid.display_descriptors() {
        match descriptor.tag() {
            DisplayDescriptorTag::StdTimingIds => out.modes.extend(
                descriptor
                    .standard_timings()
                    .unwrap_or_default()
                    .iter()
                    .filter_map(modes::standard),
            ),
            DisplayDescriptorTag::EstablishedTimingsIII => out.modes.extend(
                descriptor
                    .established_timings_iii()
                    .filter_map(|t| Mode::dmt(&t, ModeSource::Established)),
            ),
            DisplayDescriptorTag::CvtTimingCodes => {
                for code in descriptor.cvt_timing_codes() {
                    out.modes.extend(cvt_code_modes(&code));
                }
            }
            _ => {}
        }
    }
    version.1 >= 4 && misc.continuous_freq
}

fn cvt_code_modes(code: &libdisplay_info::edid::CvtTimingCode) -> Vec<Mode> {
    use libdisplay_info::edid::CvtTimingCodeAspectRatio as Aspect;
    let height = code.addressable_lines_per_field;
    let width = match code.aspect_ratio {
        Aspect::_4_3 => height * 4 / 3,
        Aspect::_16_9 => height * 16 / 9,
        Aspect::_16_10 => height * 16 / 10,
        Aspect::_15_9 => height * 15 / 9,
    };
    // CVT rounds the width down to a multiple of 8 pixels.
    let width = width / 8 * 8;
    let rates = [
        (code.supports_50hz_sb, 50.0, false),
        (code.supports_60hz_sb, 60.0, false),
        (code.supports_75hz_sb, 75.0, false),
        (code.supports_85hz_sb, 85.0, false),
        (code.supports_60hz_rb, 60.0, true),
    ];
    rates
        .into_iter()
        .filter(|(on, ..)| *on)
        .filter_map(|(_, rate, reduced)| {
            modes::computed_cvt(width, height, rate, reduced, ModeSource::Cvt)
        })
        .collect()
}

fn fill_extensions(out: &mut DisplayInfo, edid: &Edid<'_>) {
    let mut native_dtds = 0usize;
    let cta_blocks = edid
        .extensions()
        .iter()
        .filter(|e| e.tag() == ExtensionTag::CEA)
        .filter_map(CTA::from_extension);
    for cta in cta_blocks {
        native_dtds = native_dtds.max(usize::try_from(cta.flags().native_dtds).unwrap_or(0));
        for data_block in cta.data_blocks() {
            for svd in data_block.svds() {
                if let Some(mut mode) = Mode::vic(svd.vic) {
                    mode.native = svd.native;
                    out.modes.push(mode);
                }
            }
            for svd in data_block.ycbcr420_svds() {
                if let Some(mut mode) = Mode::vic(svd.vic) {
                    mode.ycbcr420_only = true;
                    out.modes.push(mode);
                }
            }
        }
    }
    // CTA-861: the first `native_dtds` detailed timings of the whole EDID are native.
    out.modes
        .iter_mut()
        .filter(|m| matches!(m.source, ModeSource::Detailed { .. }))
        .take(native_dtds)
        .for_each(|m| m.native = true);
}

fn fill_colour(out: &mut DisplayInfo, info: &Info, raw: &RawBlocks) {
    if let Some(hdr) = &raw.hdr_static {
        let [traditional_sdr, traditional_hdr, pq, hlg] = hdr.eotfs;
        out.colour.eotfs = Eotfs {
            traditional_sdr,
            traditional_hdr,
            pq,
            hlg,
        };
        out.colour.luminance = Some(Luminance {
            max: hdr.max,
            max_frame_average: hdr.max_frame_average,
            min: hdr.min,
        })
        .filter(|l| *l != Luminance::default());
    }
    let colorimetry = info.supported_signal_colorimetry();
    out.colour.colorimetry = Colorimetry {
        bt2020_rgb: colorimetry.bt2020_rgb,
        bt2020_ycc: colorimetry.bt2020_ycc,
        bt2020_cycc: colorimetry.bt2020_cycc,
        dci_p3: colorimetry.st2113_rgb,
    };
}

fn fill_raw(out: &mut DisplayInfo, raw: &RawBlocks) {
    // CTA detailed timings come from the raw decoder: libdisplay-info 0.2 stops at a
    // timing whose pixel clock has a zero low byte (640.00 MHz, say).
    let first_raw = out
        .modes
        .iter()
        .position(|m| !matches!(m.source, ModeSource::Detailed { block: 0 }))
        .unwrap_or(out.modes.len());
    let cta_dtds: Vec<Mode> = raw
        .cta_dtds
        .iter()
        .filter_map(|(block, timing)| {
            let mut mode = Mode::raw(timing)?;
            mode.source = ModeSource::Detailed { block: *block };
            Some(mode)
        })
        .collect();
    out.modes.splice(first_raw..first_raw, cta_dtds);
    out.modes
        .extend(raw.displayid_timings.iter().filter_map(Mode::raw));
    if let Some(hdmi) = &raw.hdmi {
        out.modes
            .extend(hdmi.vics.iter().filter_map(|v| Mode::hdmi_vic(*v)));
    }
    let forum = raw.hdmi_forum.as_ref();
    out.link = Link {
        bits_per_channel: out.link.bits_per_channel.or(raw.displayid2_bits),
        deep_colour_bits: raw
            .hdmi
            .as_ref()
            .map(|h| h.deep_colour_bits.clone())
            .unwrap_or_default(),
        deep_colour_420_bits: forum
            .map(|f| f.deep_colour_420_bits.clone())
            .unwrap_or_default(),
        max_tmds_mhz: forum
            .and_then(|f| f.max_tmds_mhz)
            .or_else(|| raw.hdmi.as_ref().and_then(|h| h.max_tmds_mhz)),
        max_frl: forum.and_then(|f| f.max_frl),
        dsc: forum.is_some_and(|f| f.dsc),
    };
    out.range_limits = raw.range_limits;
    if let Some(limits) = raw.range_limits {
        out.vrr.stated.push(VrrRange {
            min_hz: limits.min_hz,
            max_hz: limits.max_hz,
            source: VrrSource::RangeLimits,
        });
    }
    if let Some(range) = raw.adaptive_sync.first() {
        out.vrr.stated.push(VrrRange {
            min_hz: range.min_hz,
            max_hz: range.max_hz,
            source: VrrSource::DisplayIdAdaptiveSync,
        });
    }
    if let Some(forum) = forum.filter(|f| f.vrr_min_hz > 0) {
        // VRRmax 0 means "up to the mode's own rate": the fastest listed mode.
        let fastest = out.modes.iter().map(|m| m.refresh_hz.floor() as u32).max();
        let max_hz = Some(forum.vrr_max_hz)
            .filter(|m| *m > 0)
            .or(fastest)
            .unwrap_or(forum.vrr_min_hz);
        out.vrr.stated.push(VrrRange {
            min_hz: forum.vrr_min_hz,
            max_hz,
            source: VrrSource::HdmiForum,
        });
    }
    if let Some(freesync) = &raw.freesync {
        out.vrr.stated.push(VrrRange {
            min_hz: freesync.min_hz,
            max_hz: freesync.max_hz,
            source: VrrSource::FreeSync,
        });
    }
}

/// Picks the range to drive VRR with: the most specific statement wins (DisplayID
/// Adaptive-Sync, then HDMI Forum, then FreeSync), the range limits only when they
/// say the display takes any rate between them.
fn choose_vrr_range(out: &mut DisplayInfo, usable_limits: bool) {
    let order = [
        VrrSource::DisplayIdAdaptiveSync,
        VrrSource::HdmiForum,
        VrrSource::FreeSync,
        VrrSource::RangeLimits,
    ];
    out.vrr.range = order
        .iter()
        .filter(|source| **source != VrrSource::RangeLimits || usable_limits)
        .find_map(|source| {
            out.vrr
                .stated
                .iter()
                .find(|r| r.source == *source && r.max_hz >= r.min_hz + MIN_VRR_SPAN_HZ)
                .copied()
        });
}

/// Merges modes listed more than once (same size, scan and refresh to the mHz), keeping
/// the first listing and the union of its flags.
fn merge_duplicates(modes: Vec<Mode>) -> Vec<Mode> {
    let mut out: Vec<Mode> = Vec::with_capacity(modes.len());
    for mode in modes {
        let same = out.iter_mut().find(|m| {
            (m.width, m.height, m.interlaced, m.refresh_mhz())
                == (mode.width, mode.height, mode.interlaced, mode.refresh_mhz())
        });
        match same {
            Some(existing) => {
                existing.preferred |= mode.preferred;
                existing.native |= mode.native;
                existing.ycbcr420_only &= mode.ycbcr420_only;
            }
            None => out.push(mode),
        }
    }
    out
}
