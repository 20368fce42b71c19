//! The human-readable summary `ghostcomp edid` prints.

use std::fmt::Write;

use super::{DisplayInfo, Mode, VrrSource};

fn mode_line(mode: &Mode) -> String {
    let mut flags = Vec::new();
    if mode.preferred {
        flags.push("preferred");
    }
    if mode.native {
        flags.push("native");
    }
    if mode.ycbcr420_only {
        flags.push("4:2:0 only");
    }
    format!(
        "{}x{}{} @ {:.3} Hz{}",
        mode.width,
        mode.height,
        if mode.interlaced { "i" } else { "" },
        mode.refresh_hz,
        if flags.is_empty() {
            String::new()
        } else {
            format!("  ({})", flags.join(", "))
        }
    )
}

pub(super) fn summary(info: &DisplayInfo) -> String {
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        s,
        "{} {} ({}, product 0x{:04X})",
        info.make(),
        info.model.as_deref().unwrap_or("(no product name)"),
        info.vendor.pnp_id,
        info.product_code
    );
    if let Some((major, minor)) = info.edid_version {
        let _ = writeln!(
            s,
            "EDID {major}.{minor}, {}",
            if info.digital { "digital" } else { "analog" }
        );
    }
    let serial = info
        .serial
        .text
        .clone()
        .or_else(|| info.serial.number.map(|n| n.to_string()));
    let _ = writeln!(s, "Serial: {}", serial.as_deref().unwrap_or("none"));
    match (
        info.manufactured.year,
        info.manufactured.week,
        info.manufactured.model_year,
    ) {
        (Some(year), Some(week), _) => {
            let _ = writeln!(s, "Made: week {week} of {year}");
        }
        (Some(year), None, _) => {
            let _ = writeln!(s, "Made: {year}");
        }
        (_, _, Some(year)) => {
            let _ = writeln!(s, "Model year: {year}");
        }
        _ => {}
    }
    if let Some((w, h)) = info.physical_size_mm {
        let _ = writeln!(s, "Size: {w} x {h} mm");
    }
    if let Some(mode) = info.preferred_mode() {
        let _ = writeln!(s, "Preferred: {}", mode_line(mode));
    }
    let _ = writeln!(s, "Modes ({}):", info.modes.len());
    for mode in &info.modes {
        let _ = writeln!(s, "  {}", mode_line(mode));
    }
    if let Some(p) = &info.colour.primaries {
        let _ = writeln!(
            s,
            "Primaries: R {:.4},{:.4} G {:.4},{:.4} B {:.4},{:.4} W {:.4},{:.4}",
            p.red[0],
            p.red[1],
            p.green[0],
            p.green[1],
            p.blue[0],
            p.blue[1],
            p.white[0],
            p.white[1]
        );
    }
    let e = &info.colour.eotfs;
    let eotfs: Vec<_> = [
        (e.traditional_sdr, "SDR"),
        (e.traditional_hdr, "traditional HDR"),
        (e.pq, "PQ"),
        (e.hlg, "HLG"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, name)| *name)
    .collect();
    if !eotfs.is_empty() {
        let _ = writeln!(s, "EOTFs: {}", eotfs.join(", "));
    }
    let c = &info.colour.colorimetry;
    let gamuts: Vec<_> = [
        (c.bt2020_rgb, "BT.2020 RGB"),
        (c.bt2020_ycc, "BT.2020 YCC"),
        (c.bt2020_cycc, "BT.2020 cYCC"),
        (c.dci_p3, "DCI-P3"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, name)| *name)
    .collect();
    if !gamuts.is_empty() {
        let _ = writeln!(s, "Colorimetry: {}", gamuts.join(", "));
    }
    if let Some(l) = &info.colour.luminance {
        let show = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.3}"));
        let _ = writeln!(
            s,
            "Luminance: max {} / frame-average {} / min {} cd/m²",
            show(l.max),
            show(l.max_frame_average),
            show(l.min)
        );
    }
    match &info.vrr.range {
        Some(r) => {
            let source = match r.source {
                VrrSource::DisplayIdAdaptiveSync => "DisplayID Adaptive-Sync",
                VrrSource::HdmiForum => "HDMI VRR",
                VrrSource::FreeSync => "FreeSync",
                VrrSource::RangeLimits => "range limits",
            };
            let _ = writeln!(s, "VRR: {}-{} Hz ({source})", r.min_hz, r.max_hz);
        }
        None => {
            let _ = writeln!(s, "VRR: no");
        }
    }
    let link = &info.link;
    if let Some(bits) = link.bits_per_channel {
        let _ = writeln!(s, "Bits per channel: {bits}");
    }
    if let Some(tmds) = link.max_tmds_mhz {
        let _ = writeln!(s, "Max TMDS: {tmds} MHz");
    }
    if let Some(frl) = link.max_frl {
        let _ = writeln!(
            s,
            "Max FRL: {} Gbps x {} lanes",
            frl.gbps_per_lane, frl.lanes
        );
    }
    if link.dsc {
        let _ = writeln!(s, "DSC: yes");
    }
    for problem in &info.problems {
        let _ = writeln!(s, "Problem: {problem}");
    }
    s
}
