//! HDR on KMS outputs: the config's wish turned into ghost-kms's tested modeset (the
//! connector's HDR_OUTPUT_METADATA, Colorspace and max bpc with a 10-bit buffer), and
//! the luminances the output is then driven with. Where the connector, the driver
//! release or the device refuses, the output stays SDR and the log says why.

use ghost_hdr::{
    metadata::{InfoframeEotf, StaticMetadata},
    primaries::Primaries,
    Luminances,
};
use ghost_kms::{
    hdr::HdrSignal,
    setup::{XBGR2101010, XRGB2101010},
    DisplayInfo,
};
use smithay::output::Output;
use tracing::{info, warn};

use super::outputs;
use crate::{backend::Backend, state::Ghost};

/// What the config asks of an HDR output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HdrWish {
    /// Peak luminance override (cd/m²), else the EDID's.
    pub max: Option<f64>,
    /// Black luminance override (cd/m²), else the EDID's.
    pub min: Option<f64>,
    /// SDR white (`sdr_brightness`, cd/m²).
    pub reference: f64,
    /// Bits per channel for the link (at least 10).
    pub bpc: u32,
}

/// The infoframe an output driven at `luminances` sends: the panel's own primaries as
/// the mastering display where its EDID gives them (BT.2020 otherwise), and its peak as
/// MaxCLL, since nothing brighter is ever sent; MaxFALL unknown.
pub fn signal_for(display: Option<&DisplayInfo>, luminances: &Luminances, bpc: u32) -> HdrSignal {
    let mastering = display
        .and_then(|d| d.colour.primaries.as_ref())
        .map_or(Primaries::BT2020, |p| p.to_primaries());
    HdrSignal {
        metadata: StaticMetadata {
            eotf: InfoframeEotf::Pq,
            mastering,
            max_mastering_luminance: luminances.max,
            min_mastering_luminance: luminances.min,
            max_cll: luminances.max,
            max_fall: 0.0,
        },
        bpc: bpc.max(10),
    }
}

/// Drives `output` in HDR per `wish` (None: SDR) with a tested modeset where that
/// changes anything. Returns the luminances HDR is driven with, or None for SDR.
pub fn set_hdr(state: &mut Ghost, output: &Output, wish: Option<HdrWish>) -> Option<Luminances> {
    let Backend::Kms(backend) = &mut state.backend else {
        return None;
    };
    let o = backend.find(output)?;
    let connector = o.connector;
    let luminances = wish.map(|w| {
        o.display
            .clone()
            .unwrap_or_default()
            .hdr_luminances(w.max, w.min, w.reference)
    });
    let signal = wish
        .zip(luminances)
        .map(|(w, l)| signal_for(o.display.as_ref(), &l, w.bpc));
    let head = backend.scanout.head_of_connector(connector)?;
    if head.lit.hdr == signal {
        return luminances.filter(|_| signal.is_some());
    }
    if let Some(signal) = &signal {
        let mut scratch = Default::default();
        let model = backend.scanout.model();
        if let Err(why) =
            ghost_kms::hdr::add_connector_colour(&mut scratch, model, connector, Some(signal))
        {
            warn!(output = output.name(), %why, "the display or driver refused HDR; the output stays SDR");
            return None;
        }
    }
    let mode = head.lit.mode.clone();
    let mut wishes = backend.scanout.wishes().clone();
    let entry = wishes.entry(connector).or_default();
    entry.mode = Some(mode);
    entry.hdr = signal;
    // Only what the renderer draws into may be scanned out.
    entry.formats = if signal.is_some() {
        backend.painter.drawable(&[XRGB2101010, XBGR2101010])
    } else {
        Vec::new()
    };
    if signal.is_some() && entry.formats.is_empty() {
        warn!(
            output = output.name(),
            "the renderer draws no 10-bit buffer; the output stays SDR"
        );
        entry.hdr = None;
    }
    if let Err(err) = backend.scanout.light(wishes) {
        warn!(%err, output = output.name(), "the displays could not be lit again");
    }
    let on = backend
        .scanout
        .head_of_connector(connector)
        .is_some_and(|h| h.lit.hdr.is_some());
    outputs::sync(state);
    // GLES may have failed on the new buffers and handed over to pixman.
    outputs::colour_after_fall_back(state);
    match (signal.is_some(), on) {
        (true, true) => info!(output = output.name(), ?luminances, "HDR on"),
        (true, false) => warn!(
            output = output.name(),
            "the display or driver refused HDR; the output stays SDR"
        ),
        (false, _) => info!(output = output.name(), "SDR"),
    }
    luminances.filter(|_| on)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ASUS PG42UQ (OLED): its EDID asks for 800 cd/m² peak and 0.04 cd/m² black
    /// content, with red at (0.6748, 0.3232) (edid-decode's reading beside the file).
    #[test]
    fn the_infoframe_describes_the_panel_from_its_edid() {
        let edid = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../testdata/edid/66C777913B64.bin"
        ))
        .expect("the EDID");
        let display = DisplayInfo::parse(&edid);
        let luminances = display.hdr_luminances(None, None, 203.0);
        assert!((luminances.max - 800.0).abs() < 1.0, "{luminances:?}");
        assert!((luminances.min - 0.0399).abs() < 0.0001, "{luminances:?}");
        let signal = signal_for(Some(&display), &luminances, 8);
        assert_eq!(signal.bpc, 10, "HDR never goes below 10 bits");
        let blob = signal.metadata.to_blob();
        let u16_at = |at: usize| u16::from_le_bytes([blob[at], blob[at + 1]]);
        assert_eq!(blob[4], 2, "PQ");
        // Red x 0.6748 in units of 0.00002, within the EDID's 10-bit precision.
        assert!((i32::from(u16_at(6)) - 33740).abs() <= 50, "{}", u16_at(6));
        assert_eq!(u16_at(22), 800);
        // 800 × (18/255)² / 100 = 0.0399 cd/m², in 0.0001 units.
        assert_eq!(u16_at(24), 399);
        // Config overrides win over the EDID.
        let overridden = display.hdr_luminances(Some(1000.0), Some(0.005), 203.0);
        let signal = signal_for(Some(&display), &overridden, 12);
        assert_eq!(signal.metadata.to_blob()[22..24], 1000u16.to_le_bytes());
        assert_eq!(signal.bpc, 12);
    }
}
