//! The data blocks the C parser of the packaged libdisplay-info (0.2) does not decode:
//! the HDMI 1.4 and HDMI Forum vendor blocks (TMDS/FRL rates, deep colour, HDMI VRR,
//! DSC, the HDMI VICs), AMD's FreeSync vendor block, the DCI-P3 colorimetry bit, and
//! DisplayID 2.0 sections (type VII timings and Adaptive-Sync ranges). Each decoder
//! reads one block's bytes and never indexes past them.

use serde::Serialize;

const OUI_HDMI: u32 = 0x000c03;
const OUI_HDMI_FORUM: u32 = 0xc45dd8;
const OUI_AMD: u32 = 0x00001a;
const TAG_CTA: u8 = 0x02;
const TAG_DISPLAYID: u8 = 0x70;
const TAG_VTB: u8 = 0x10;

/// HDMI 1.4 vendor-specific data block (HDMI 1.4b, section 8.3.2).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HdmiBlock {
    /// Largest TMDS clock, in MHz, when the block states one.
    pub max_tmds_mhz: Option<u32>,
    /// Deep-colour depths accepted in RGB (10, 12, 16 bits per channel).
    pub deep_colour_bits: Vec<u8>,
    /// HDMI VICs: 4K modes older HDMI sinks list here instead of in the video block.
    pub vics: Vec<u8>,
}

/// HDMI Forum vendor-specific (or sink capability) data block (HDMI 2.1, 10.3.2).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HdmiForumBlock {
    /// Largest TMDS character rate, in MHz, above 340.
    pub max_tmds_mhz: Option<u32>,
    /// Fixed Rate Link: total bandwidth in Gbit/s and lane count, when FRL is offered.
    pub max_frl: Option<FrlRate>,
    /// Deep-colour depths accepted in YCbCr 4:2:0.
    pub deep_colour_420_bits: Vec<u8>,
    /// HDMI VRR lower bound in Hz (0 when VRR is not offered).
    pub vrr_min_hz: u32,
    /// HDMI VRR upper bound in Hz; 0 means "the mode's own refresh rate".
    pub vrr_max_hz: u32,
    /// VESA DSC 1.2a decoding.
    pub dsc: bool,
}

/// A Fixed Rate Link configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FrlRate {
    /// Gbit/s per lane.
    pub gbps_per_lane: u32,
    /// Lanes used.
    pub lanes: u32,
}

/// AMD FreeSync vendor-specific data block (layout as the published EDIDs use it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FreeSyncBlock {
    /// Block version, major and minor.
    pub version: (u8, u8),
    /// Lowest refresh in Hz.
    pub min_hz: u32,
    /// Highest refresh in Hz.
    pub max_hz: u32,
}

/// A detailed timing as DisplayID type I and VII descriptors carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawTiming {
    /// Pixel clock in kHz.
    pub pixel_clock_khz: u64,
    /// Active, blanking, front porch and sync widths, horizontally.
    pub h: [u32; 4],
    /// The same vertically.
    pub v: [u32; 4],
    /// Interlaced (`v` then counts lines per field).
    pub interlaced: bool,
    /// The descriptor's preferred flag.
    pub preferred: bool,
    /// Not a usable mode: stereo (no stereo support here) or a zero sync width (the
    /// kernel rejects both, so offering them would only fail the modeset).
    pub invalid: bool,
}

/// One DisplayID 2.0 Adaptive-Sync descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AdaptiveSyncRange {
    /// Lowest refresh in Hz.
    pub min_hz: u32,
    /// Highest refresh in Hz.
    pub max_hz: u32,
    /// Whether the range is the panel's native one (not one reached by scaling).
    pub native: bool,
}

/// Everything decoded here from one EDID.
#[derive(Debug, Clone, Default)]
pub struct RawBlocks {
    /// The first HDMI 1.4 block.
    pub hdmi: Option<HdmiBlock>,
    /// The first HDMI Forum block.
    pub hdmi_forum: Option<HdmiForumBlock>,
    /// The first FreeSync block.
    pub freesync: Option<FreeSyncBlock>,
    /// The first HDR static metadata block.
    pub hdr_static: Option<HdrStaticBlock>,
    /// The base block's display range limits.
    pub range_limits: Option<RangeLimits>,
    /// Detailed timings of CTA-861 and VTB blocks, with their block index.
    pub cta_dtds: Vec<(u8, RawTiming)>,
    /// DisplayID detailed timings: type I (1.x), type VII (2.x and in CTA blocks).
    pub displayid_timings: Vec<RawTiming>,
    /// DisplayID 2.x Adaptive-Sync descriptors, in order.
    pub adaptive_sync: Vec<AdaptiveSyncRange>,
    /// DisplayID 2.x display parameters: native bits per colour channel.
    pub displayid2_bits: Option<u8>,
}

impl RawBlocks {
    /// Decodes the blocks of a sanitized EDID (whole 128-byte blocks).
    pub fn decode(edid: &[u8]) -> Self {
        let mut out = Self::default();
        if let Some(base) = edid.get(..128) {
            let edid_1_4 = base[18] == 1 && base[19] >= 4;
            out.range_limits = base[54..126]
                .chunks_exact(18)
                .find_map(|d| range_limits(d, edid_1_4));
        }
        for (index, block) in edid.chunks_exact(128).enumerate().skip(1) {
            match block[0] {
                TAG_CTA => {
                    let end = usize::from(block[2]).min(127);
                    if end > 4 {
                        out.cta_data_blocks(&block[4..end]);
                    }
                    if end >= 4 {
                        let number = u8::try_from(index).unwrap_or(u8::MAX);
                        out.cta_dtds.extend(
                            block[end..127]
                                .chunks_exact(18)
                                .map_while(detailed_timing)
                                .map(|t| (number, t)),
                        );
                    }
                }
                TAG_DISPLAYID => out.displayid_section(&block[1..127]),
                TAG_VTB => {
                    // Video Timing Block: [2] DTD count, then the DTDs from byte 5.
                    let count = usize::from(block[2]);
                    let number = u8::try_from(index).unwrap_or(u8::MAX);
                    out.cta_dtds.extend(
                        block[5..127]
                            .chunks_exact(18)
                            .take(count)
                            .map_while(detailed_timing)
                            .map(|t| (number, t)),
                    );
                }
                _ => {}
            }
        }
        out
    }

    fn cta_data_blocks(&mut self, mut bytes: &[u8]) {
        while let Some((&header, rest)) = bytes.split_first() {
            let len = usize::from(header & 0x1f).min(rest.len());
            let body = &rest[..len];
            bytes = &rest[len..];
            match header >> 5 {
                3 if body.len() >= 3 => {
                    let oui =
                        u32::from(body[0]) | u32::from(body[1]) << 8 | u32::from(body[2]) << 16;
                    let payload = &body[3..];
                    match oui {
                        OUI_HDMI if self.hdmi.is_none() => self.hdmi = Some(hdmi_block(payload)),
                        OUI_HDMI_FORUM if self.hdmi_forum.is_none() => {
                            self.hdmi_forum = hdmi_forum_block(payload)
                        }
                        OUI_AMD if self.freesync.is_none() => self.freesync = freesync(payload),
                        _ => {}
                    }
                }
                7 if !body.is_empty() => match body[0] {
                    // DisplayID type VII timings carried in a CTA block (CTA-861-H 7.5.17).
                    0x22 if body.len() >= 22 => self
                        .displayid_timings
                        .extend(body[2..].chunks_exact(20).map(|d| type_vii(d, 1))),
                    0x06 if body.len() >= 3 => {
                        let block = hdr_static(&body[1..]);
                        match &mut self.hdr_static {
                            // A second block (DisplayID's CTA block, say) adds EOTFs.
                            Some(first) => {
                                for (have, more) in first.eotfs.iter_mut().zip(block.eotfs) {
                                    *have |= more;
                                }
                            }
                            None => self.hdr_static = Some(block),
                        }
                    }
                    // HF-SCDB: the HF-VSDB payload behind two reserved bytes.
                    0x79 if self.hdmi_forum.is_none() && body.len() >= 3 => {
                        self.hdmi_forum = hdmi_forum_block(&body[1..])
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }

    fn displayid_section(&mut self, section: &[u8]) {
        // version, length, product type / use case, extension count, then data blocks
        if section.len() < 4 {
            return;
        }
        let version_2 = section[0] >> 4 == 2;
        let end = (4 + usize::from(section[1])).min(section.len());
        let mut bytes = &section[4..end];
        while bytes.len() >= 3 {
            let (tag, revision, len) = (bytes[0], bytes[1], usize::from(bytes[2]));
            if tag == 0 && revision == 0 && len == 0 {
                break; // padding
            }
            let body = &bytes[3..(3 + len).min(bytes.len())];
            bytes = &bytes[(3 + len).min(bytes.len())..];
            match tag {
                // Type I (DisplayID 1.x, 10 kHz clock) and type VII (2.x, 1 kHz clock)
                // detailed timings share one layout.
                0x03 if !version_2 => self
                    .displayid_timings
                    .extend(body.chunks_exact(20).map(|d| type_vii(d, 10))),
                0x22 if version_2 => self
                    .displayid_timings
                    .extend(body.chunks_exact(20).map(|d| type_vii(d, 1))),
                0x21 if version_2 && body.len() >= 28 => {
                    let bits = body[27] & 0x07;
                    if bits <= 5 {
                        self.displayid2_bits = Some(6 + 2 * bits);
                    }
                }
                0x2b => {
                    let size = 6 + usize::from((revision >> 4) & 0x07);
                    self.adaptive_sync
                        .extend(body.chunks_exact(size).map(|d| AdaptiveSyncRange {
                            min_hz: u32::from(d[2]),
                            max_hz: 1 + (u32::from(d[3]) | u32::from(d[4] & 0x03) << 8),
                            native: d[0] & 0x01 != 0,
                        }))
                }
                0x81 => self.cta_data_blocks(body),
                _ => {}
            }
        }
    }
}

/// HDR static metadata data block (CTA-861-H, 7.5.13). Luminances are decoded even
/// when their code is 0, because a minimum of 0 cd/m² is a real value (OLED panels).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HdrStaticBlock {
    /// Traditional SDR, traditional HDR, PQ, HLG.
    pub eotfs: [bool; 4],
    /// Desired content max luminance in cd/m², if the block is long enough.
    pub max: Option<f64>,
    /// Desired content max frame-average luminance.
    pub max_frame_average: Option<f64>,
    /// Desired content min luminance.
    pub min: Option<f64>,
}

fn hdr_static(payload: &[u8]) -> HdrStaticBlock {
    let code = |at: usize| payload.get(at).map(|v| f64::from(*v));
    let max = code(2).map(|cv| 50.0 * 2f64.powf(cv / 32.0));
    let eotf = payload[0];
    HdrStaticBlock {
        eotfs: [0, 1, 2, 3].map(|bit| eotf & (1 << bit) != 0),
        max,
        max_frame_average: code(3).map(|cv| 50.0 * 2f64.powf(cv / 32.0)),
        min: code(4)
            .zip(max)
            .map(|(cv, max)| max * (cv / 255.0).powi(2) / 100.0),
    }
}

/// A display range limits descriptor (EDID 1.4, 3.10.3.3): the rates and pixel clock
/// the display takes, and by which formula it expects timings it does not list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RangeLimits {
    /// Lowest vertical rate in Hz.
    pub min_hz: u32,
    /// Highest vertical rate in Hz.
    pub max_hz: u32,
    /// Lowest horizontal rate in kHz.
    pub min_khz: u32,
    /// Highest horizontal rate in kHz.
    pub max_khz: u32,
    /// Highest pixel clock in kHz, where stated.
    pub max_clock_khz: Option<u32>,
    /// "Range limits only": no timing formula, any rate in range is accepted.
    pub bare: bool,
    /// The formula the display expects for timings it does not list.
    pub formula: RangeFormula,
}

/// The timing formula a range limits descriptor names (its byte 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RangeFormula {
    /// The default GTF curve.
    Gtf,
    /// GTF with a secondary curve (treated as the default curve).
    SecondaryGtf,
    /// None: "bare limits".
    Bare,
    /// CVT, with the blankings the display says it supports.
    Cvt {
        /// CVT standard blanking.
        standard: bool,
        /// CVT reduced blanking.
        reduced: bool,
    },
}

fn range_limits(descriptor: &[u8], edid_1_4: bool) -> Option<RangeLimits> {
    if descriptor[..3] != [0, 0, 0] || descriptor[3] != 0xfd {
        return None;
    }
    // The rate offsets came with EDID 1.4; before it the byte is reserved.
    let offsets = if edid_1_4 { descriptor[4] } else { 0 };
    // Bits 1:0 offset the vertical rates, 3:2 the horizontal: 10 the maximum by 255,
    // 11 both.
    let offset = |bits: u8| -> (u32, u32) {
        match bits & 0x03 {
            0x03 => (255, 255),
            0x02 => (0, 255),
            _ => (0, 0),
        }
    };
    let (v_min, v_max) = offset(offsets);
    let (h_min, h_max) = offset(offsets >> 2);
    let formula = match descriptor[10] {
        0x01 => RangeFormula::Bare,
        0x02 => RangeFormula::SecondaryGtf,
        0x04 => RangeFormula::Cvt {
            standard: descriptor[15] & 0x08 != 0,
            reduced: descriptor[15] & 0x10 != 0,
        },
        _ => RangeFormula::Gtf,
    };
    let mut max_clock_khz = Some(u32::from(descriptor[9]) * 10_000).filter(|c| *c != 0);
    if let (RangeFormula::Cvt { .. }, Some(clock)) = (formula, max_clock_khz.as_mut()) {
        // CVT's extra precision: 0.25 MHz steps taken off the 10 MHz figure.
        *clock = clock.saturating_sub(u32::from(descriptor[12] >> 2) * 250);
    }
    Some(RangeLimits {
        min_hz: u32::from(descriptor[5]) + v_min,
        max_hz: u32::from(descriptor[6]) + v_max,
        min_khz: u32::from(descriptor[7]) + h_min,
        max_khz: u32::from(descriptor[8]) + h_max,
        max_clock_khz,
        bare: descriptor[10] == 0x01,
        formula,
    })
}

fn hdmi_block(payload: &[u8]) -> HdmiBlock {
    let mut out = HdmiBlock::default();
    // payload: [0..2] source address, [2] flags, [3] max TMDS/5, [4] latency flags …
    if let Some(&flags) = payload.get(2) {
        for (bit, depth) in [(4, 10), (5, 12), (6, 16)] {
            if flags & (1 << bit) != 0 {
                out.deep_colour_bits.push(depth);
            }
        }
    }
    out.max_tmds_mhz = payload
        .get(3)
        .filter(|v| **v != 0)
        .map(|v| u32::from(*v) * 5);
    let Some(&latency_flags) = payload.get(4) else {
        return out;
    };
    if latency_flags & 0x20 == 0 {
        return out; // no HDMI_Video_present: no VICs
    }
    let mut at = 5;
    if latency_flags & 0x80 != 0 {
        at += 2;
    }
    if latency_flags & 0x40 != 0 {
        at += 2;
    }
    // [at] 3D flags, [at + 1] HDMI_VIC_LEN (7..5) and HDMI_3D_LEN
    if let Some(&lens) = payload.get(at + 1) {
        let count = usize::from(lens >> 5);
        let start = at + 2;
        if let Some(vics) = payload.get(start..(start + count).min(payload.len())) {
            out.vics = vics.to_vec();
        }
    }
    out
}

fn hdmi_forum_block(payload: &[u8]) -> Option<HdmiForumBlock> {
    // payload: [0] version, [1] max TMDS/5, [2] flags, [3] FRL + 4:2:0 deep colour,
    // [4] features, [5] VRRmin and VRRmax high bits, [6] VRRmax, [7] DSC flags …
    if payload.len() < 3 {
        return None;
    }
    let mut out = HdmiForumBlock {
        max_tmds_mhz: Some(u32::from(payload[1]) * 5).filter(|v| *v != 0),
        ..HdmiForumBlock::default()
    };
    if let Some(&frl) = payload.get(3) {
        out.max_frl = match frl >> 4 {
            1 => Some(FrlRate {
                gbps_per_lane: 3,
                lanes: 3,
            }),
            2 => Some(FrlRate {
                gbps_per_lane: 6,
                lanes: 3,
            }),
            3 => Some(FrlRate {
                gbps_per_lane: 6,
                lanes: 4,
            }),
            4 => Some(FrlRate {
                gbps_per_lane: 8,
                lanes: 4,
            }),
            5 => Some(FrlRate {
                gbps_per_lane: 10,
                lanes: 4,
            }),
            6 => Some(FrlRate {
                gbps_per_lane: 12,
                lanes: 4,
            }),
            _ => None,
        };
        for (bit, depth) in [(0, 10), (1, 12), (2, 16)] {
            if frl & (1 << bit) != 0 {
                out.deep_colour_420_bits.push(depth);
            }
        }
    }
    if let (Some(&low), Some(&max)) = (payload.get(5), payload.get(6)) {
        out.vrr_min_hz = u32::from(low & 0x3f);
        out.vrr_max_hz = u32::from(max) | u32::from(low >> 6) << 8;
    }
    out.dsc = payload.get(7).is_some_and(|flags| flags & 0x80 != 0);
    Some(out)
}

fn freesync(payload: &[u8]) -> Option<FreeSyncBlock> {
    let bytes = payload.get(..4)?;
    Some(FreeSyncBlock {
        version: (bytes[0], bytes[1]),
        min_hz: u32::from(bytes[2]),
        max_hz: u32::from(bytes[3]),
    })
}

/// An 18-byte detailed timing descriptor (EDID 1.4, 3.10.2); `None` at the first
/// display descriptor or padding (zero pixel clock), which ends the list. Timings no
/// display can be driven with are marked `invalid` (see [`RawTiming::invalid`]).
fn detailed_timing(d: &[u8]) -> Option<RawTiming> {
    let clock = u64::from(u16::from_le_bytes([d[0], d[1]])) * 10;
    if clock == 0 {
        return None;
    }
    let h_sync = u32::from(d[9]) | u32::from(d[11] >> 4 & 0x03) << 8;
    let v_sync = u32::from(d[10] & 0x0f) | u32::from(d[11] & 0x03) << 4;
    let stereo = d[17] & 0x60 != 0;
    let hi = |byte: u8, shift: u32| u32::from(byte >> shift & 0x0f) << 8;
    let h_active = u32::from(d[2]) | hi(d[4], 4);
    let h_blank = u32::from(d[3]) | hi(d[4], 0);
    let v_active = u32::from(d[5]) | hi(d[7], 4);
    let v_blank = u32::from(d[6]) | hi(d[7], 0);
    Some(RawTiming {
        pixel_clock_khz: clock,
        h: [h_active, h_blank, 0, 0],
        v: [v_active, v_blank, 0, 0],
        interlaced: d[17] & 0x80 != 0,
        preferred: false,
        invalid: stereo || h_sync == 0 || v_sync == 0,
    })
}

/// A 20-byte DisplayID detailed timing; `khz_per_unit` is 10 for type I, 1 for type VII.
fn type_vii(d: &[u8], khz_per_unit: u64) -> RawTiming {
    let word = |at: usize| u32::from(d[at]) | u32::from(d[at + 1]) << 8;
    let clock = u64::from(d[0]) | u64::from(d[1]) << 8 | u64::from(d[2]) << 16;
    RawTiming {
        pixel_clock_khz: (clock + 1) * khz_per_unit,
        h: [
            word(4) + 1,
            word(6) + 1,
            (word(8) & 0x7fff) + 1,
            word(10) + 1,
        ],
        v: [
            word(12) + 1,
            word(14) + 1,
            (word(16) & 0x7fff) + 1,
            word(18) + 1,
        ],
        interlaced: d[3] & 0x10 != 0,
        preferred: d[3] & 0x80 != 0,
        invalid: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hdmi_forum_block_from_a_real_monitor() {
        // AORUS FV43U: TMDS 600 MHz, FRL 6 Gbps × 4, VRR 48–144 Hz, DSC.
        let payload = [0x01, 0x78, 0x88, 0x33, 0x00, 0x30, 0x90, 0xc3, 0x35, 0x0c];
        let block = hdmi_forum_block(&payload).unwrap();
        assert_eq!(block.max_tmds_mhz, Some(600));
        assert_eq!(
            block.max_frl,
            Some(FrlRate {
                gbps_per_lane: 6,
                lanes: 4
            })
        );
        assert_eq!((block.vrr_min_hz, block.vrr_max_hz), (48, 144));
        assert_eq!(block.deep_colour_420_bits, vec![10, 12]);
        assert!(block.dsc);
    }

    #[test]
    fn truncated_blocks_decode_what_is_there() {
        assert_eq!(hdmi_block(&[0x20, 0x00]), HdmiBlock::default());
        assert!(hdmi_forum_block(&[0x01]).is_none());
        assert!(freesync(&[0x02, 0x0b, 0x30]).is_none());
        let mut raw = RawBlocks::default();
        raw.cta_data_blocks(&[0x7f, 0x03]);
        raw.displayid_section(&[0x20, 0xff, 0x00, 0x00, 0x22, 0x00, 0x30]);
        assert!(raw.displayid_timings.is_empty());
    }
}
