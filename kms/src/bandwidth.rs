//! Whether a mode and colour depth fit the link to the display, and what to fall back to
//! when they do not, in one documented order: the colour depth first (12 → 10 → 8 bits
//! per channel at the wanted mode), then the refresh rate (the same size at lower rates,
//! highest first), then the resolution (smaller sizes, largest first), each later mode
//! again from the wanted depth down. What the display's EDID states about its link (an
//! HDMI sink's TMDS clock, its Fixed Rate Link, DSC) rules candidates out before the
//! driver is asked; the driver's TEST_ONLY answer decides among the rest, so a link the
//! EDID says nothing about (DisplayPort: its rate is trained, not stated) is still
//! stepped down by refusals.

use ghostnv_backend::ModeInfo;

use crate::display_info::{DisplayInfo, FrlRate};

/// DRM connector types of HDMI (A and B).
const HDMI_TYPES: [u32; 2] = [11, 12];

/// Colour depths tried, deepest first.
const DEPTHS: [u32; 5] = [16, 14, 12, 10, 8];

/// Candidates tried at most (TEST_ONLY commits are cheap, not free).
const MOST_CANDIDATES: usize = 24;

/// What the display says its link carries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkCaps {
    /// An HDMI connector: the EDID's TMDS and FRL figures apply.
    pub hdmi: bool,
    /// Largest TMDS character rate in MHz the sink takes.
    pub max_tmds_mhz: Option<u32>,
    /// Largest HDMI 2.1 Fixed Rate Link.
    pub max_frl: Option<FrlRate>,
    /// The sink decodes Display Stream Compression.
    pub dsc: bool,
}

impl LinkCaps {
    /// The caps of a connector of `connector_type` with a display described by `info`.
    pub fn of(connector_type: u32, info: Option<&DisplayInfo>) -> Self {
        let link = info.map(|i| &i.link);
        LinkCaps {
            hdmi: HDMI_TYPES.contains(&connector_type),
            max_tmds_mhz: link.and_then(|l| l.max_tmds_mhz),
            max_frl: link.and_then(|l| l.max_frl),
            dsc: link.is_some_and(|l| l.dsc),
        }
    }

    /// Why the display's stated caps cannot carry `mode` at `bpc` (RGB 4:4:4), or Ok
    /// where they can or say nothing.
    pub fn check(&self, mode: &ModeInfo, bpc: u32) -> Result<(), String> {
        if !self.hdmi {
            return Ok(());
        }
        // TMDS sends 10 bits per 8-bit character: the character rate grows with depth.
        let tmds_mhz = f64::from(mode.clock_khz) / 1000.0 * f64::from(bpc) / 8.0;
        let Some(max_tmds) = self.max_tmds_mhz else {
            return Ok(());
        };
        if tmds_mhz <= f64::from(max_tmds) {
            return Ok(());
        }
        // FRL: 16b/18b coding over its lanes; three channels of `bpc` bits per pixel.
        if let Some(frl) = self.max_frl {
            let capacity = f64::from(frl.gbps_per_lane * frl.lanes) * 1e9 * 16.0 / 18.0;
            let needed = f64::from(mode.clock_khz) * 1e3 * 3.0 * f64::from(bpc);
            if needed <= capacity {
                return Ok(());
            }
            // DSC at 12 bits per pixel, the rate sinks and sources commonly settle on.
            if self.dsc && f64::from(mode.clock_khz) * 1e3 * 12.0 <= capacity {
                return Ok(());
            }
            return Err(format!(
                "{:.1} Gbit/s at {bpc} bits is more than the display's FRL {}×{} Gbit/s carries",
                needed / 1e9,
                frl.lanes,
                frl.gbps_per_lane
            ));
        }
        Err(format!(
            "{tmds_mhz:.1} MHz TMDS at {bpc} bits is more than the display's {max_tmds} MHz"
        ))
    }
}

/// One setting to try.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The mode.
    pub mode: ModeInfo,
    /// Bits per channel asked of the link (`max bpc`).
    pub bpc: u32,
}

/// The candidates in order, and those ruled out with why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// What to try, first first.
    pub candidates: Vec<Candidate>,
    /// What the display's caps ruled out, with the reason.
    pub ruled_out: Vec<(Candidate, String)>,
}

/// The documented fall-back order for `wanted` at `bpc`, over the display's `modes`.
pub fn plan(wanted: &ModeInfo, bpc: u32, modes: &[ModeInfo], caps: &LinkCaps) -> Plan {
    let depths: Vec<u32> = DEPTHS
        .iter()
        .copied()
        .filter(|d| *d <= bpc.max(8))
        .collect();
    let area = |m: &ModeInfo| u32::from(m.width) * u32::from(m.height);
    let same_size = |m: &ModeInfo| (m.width, m.height) == (wanted.width, wanted.height);
    // Lower rates at the wanted size, highest first.
    let mut slower: Vec<&ModeInfo> = modes
        .iter()
        .filter(|m| same_size(m) && m.refresh_mhz() < wanted.refresh_mhz())
        .collect();
    slower.sort_by_key(|m| std::cmp::Reverse(m.refresh_mhz()));
    // Smaller sizes, largest first, each at its highest rate first.
    let mut smaller: Vec<&ModeInfo> = modes
        .iter()
        .filter(|m| area(m) < area(wanted) && !interlaced(m))
        .collect();
    smaller.sort_by_key(|m| std::cmp::Reverse((area(m), m.refresh_mhz())));
    let mut out = Plan::default();
    let mut seen: Vec<(ModeInfo, u32)> = Vec::new();
    for mode in std::iter::once(wanted).chain(slower).chain(smaller) {
        for &depth in &depths {
            let mut key = mode.clone();
            key.preferred = false;
            if seen.contains(&(key.clone(), depth)) {
                continue;
            }
            seen.push((key, depth));
            let candidate = Candidate {
                mode: mode.clone(),
                bpc: depth,
            };
            match caps.check(mode, depth) {
                Ok(()) => out.candidates.push(candidate),
                Err(why) => out.ruled_out.push((candidate, why)),
            }
            if out.candidates.len() == MOST_CANDIDATES {
                return out;
            }
        }
    }
    out
}

/// Interlaced modes are never a fall-back: they halve the picture's vertical detail.
fn interlaced(mode: &ModeInfo) -> bool {
    // DRM_MODE_FLAG_INTERLACE
    mode.flags & (1 << 4) != 0
}

#[cfg(test)]
mod tests;
