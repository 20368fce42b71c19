//! Every EDID of real monitors in the project's test data (`testdata/edid`), decoded by us and compared with
//! the reading of the reference tool (`edid-decode`) stored beside it. Set
//! `GHOST_EDID_DIR` to run it over another folder of `<id>.bin` + `<id>.txt` pairs.
//! Mismatches fail the test unless `tests/edid-allowlist.txt` lists the file and field
//! with the reason.

mod reference;

use std::{collections::BTreeMap, path::PathBuf};

use ghost_kms::display_info::{DisplayInfo, Mode, VrrSource};
use reference::{RefMode, Reference};

fn corpus_dir() -> PathBuf {
    std::env::var_os("GHOST_EDID_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/edid"))
}

/// (file stem, field) → reason.
fn allow_list() -> BTreeMap<(String, String), String> {
    let text = include_str!("edid-allowlist.txt");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let (key, reason) = line
                .split_once(':')
                .expect("allow-list line needs ': reason'");
            let mut words = key.split_whitespace();
            let file = words.next().expect("file").to_owned();
            let field = words.next().expect("field").to_owned();
            assert!(
                !reason.trim().is_empty(),
                "allow-list entry {key} has no reason"
            );
            ((file, field), reason.trim().to_owned())
        })
        .collect()
}

fn same_mode(a: &RefMode, b: &Mode) -> bool {
    a.width == b.width
        && a.height == b.height
        && a.interlaced == b.interlaced
        && (a.refresh_hz - b.refresh_hz).abs() < 0.0015
}

fn show(m: &RefMode) -> String {
    format!(
        "{}x{}{}@{:.6}",
        m.width,
        m.height,
        if m.interlaced { "i" } else { "" },
        m.refresh_hz
    )
}

fn show_ours(m: &Mode) -> String {
    format!(
        "{}x{}{}@{:.6}",
        m.width,
        m.height,
        if m.interlaced { "i" } else { "" },
        m.refresh_hz
    )
}

fn close(a: Option<f64>, b: Option<f64>, tolerance: f64) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= tolerance,
        (None, None) => true,
        _ => false,
    }
}

/// Every field that differs, with what each side says.
fn compare(ours: &DisplayInfo, reference: &Reference) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut check = |field: &'static str, ok: bool, detail: String| {
        if !ok {
            out.push((field, detail));
        }
    };
    check(
        "make",
        ours.vendor.pnp_id == reference.manufacturer,
        format!("{:?} vs {:?}", ours.vendor.pnp_id, reference.manufacturer),
    );
    check(
        "model",
        Some(u32::from(ours.product_code)) == reference.product_code
            && ours.model == reference.product_name,
        format!(
            "{} {:?} vs {:?} {:?}",
            ours.product_code, ours.model, reference.product_code, reference.product_name
        ),
    );
    check(
        "serial",
        ours.serial.number == reference.serial_number && ours.serial.text == reference.serial_text,
        format!(
            "{:?} {:?} vs {:?} {:?}",
            ours.serial.number, ours.serial.text, reference.serial_number, reference.serial_text
        ),
    );
    let preferred = ours.preferred_mode();
    let preferred_ok = match (&reference.first_dtd, preferred) {
        (Some(r), Some(o)) => same_mode(r, o),
        (None, _) => true,
        (Some(_), None) => false,
    };
    check(
        "preferred",
        preferred_ok,
        format!(
            "{:?} vs {:?}",
            preferred.map(show_ours),
            reference.first_dtd.as_ref().map(show)
        ),
    );
    let missing: Vec<_> = reference
        .modes
        .iter()
        .filter(|r| !ours.modes.iter().any(|o| same_mode(r, o)))
        .map(show)
        .collect();
    let extra: Vec<_> = ours
        .modes
        .iter()
        .filter(|o| !reference.modes.iter().any(|r| same_mode(r, o)))
        .map(show_ours)
        .collect();
    check(
        "modes",
        missing.is_empty() && extra.is_empty(),
        format!("missing {missing:?}, extra {extra:?}"),
    );
    let e = &ours.colour.eotfs;
    check(
        "eotfs",
        [e.traditional_sdr, e.traditional_hdr, e.pq, e.hlg] == reference.eotfs,
        format!("{e:?} vs {:?}", reference.eotfs),
    );
    let lum = ours.colour.luminance.unwrap_or_default();
    let tol = |v: Option<f64>| v.map_or(0.0, |v| (v * 1e-4).max(0.0006));
    check(
        "luminance",
        close(lum.max, reference.luminance[0], tol(reference.luminance[0]))
            && close(
                lum.max_frame_average,
                reference.luminance[1],
                tol(reference.luminance[1]),
            )
            && close(lum.min, reference.luminance[2], tol(reference.luminance[2])),
        format!("{lum:?} vs {:?}", reference.luminance),
    );
    let c = &ours.colour.colorimetry;
    check(
        "colorimetry",
        [c.bt2020_rgb, c.bt2020_ycc, c.bt2020_cycc, c.dci_p3] == reference.colorimetry,
        format!("{c:?} vs {:?}", reference.colorimetry),
    );
    let primaries = ours
        .colour
        .primaries
        .map(|p| [p.red, p.green, p.blue, p.white].concat());
    let primaries_ok = match (primaries.clone(), reference.primaries) {
        // The reference truncates to four decimals.
        (Some(o), Some(r)) => o
            .iter()
            .zip(r)
            .all(|(a, b)| ((a * 1e4).floor() / 1e4 - b).abs() < 1e-9),
        (None, None) => true,
        // A white point of (0, 0) means "no chromaticity": we leave it out.
        (None, Some(r)) => r.iter().all(|v| *v == 0.0) || r[6..] == [0.0, 0.0],
        (Some(_), None) => false,
    };
    check(
        "primaries",
        primaries_ok,
        format!("{primaries:?} vs {:?}", reference.primaries),
    );
    for (field, source, want) in [
        (
            "vrr-range-limits",
            VrrSource::RangeLimits,
            reference.range_limits,
        ),
        ("vrr-freesync", VrrSource::FreeSync, reference.freesync),
        ("vrr-hdmi", VrrSource::HdmiForum, reference.hdmi_vrr),
        (
            "vrr-displayid",
            VrrSource::DisplayIdAdaptiveSync,
            reference.adaptive_sync,
        ),
    ] {
        let have = ours
            .vrr
            .stated
            .iter()
            .find(|r| r.source == source)
            .map(|r| (r.min_hz, r.max_hz));
        // HDMI VRRmax 0 means "the mode's rate"; the reference prints no maximum then.
        let ok = match (have, want) {
            (Some((min, max)), Some((rmin, rmax))) => min == rmin && (rmax == 0 || max == rmax),
            (None, None) => true,
            _ => false,
        };
        check(field, ok, format!("{have:?} vs {want:?}"));
    }
    out
}

#[test]
fn every_real_edid_matches_the_reference_decoder() {
    let dir = corpus_dir();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .collect();
    entries.sort();
    assert!(!entries.is_empty(), "no EDIDs in {}", dir.display());
    let allowed = allow_list();
    let mut used = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    let mut field_mismatches: BTreeMap<&str, usize> = BTreeMap::new();
    for path in &entries {
        let stem = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let bytes = std::fs::read(path).expect("read EDID");
        let text = std::fs::read_to_string(path.with_extension("txt")).expect("read reference");
        let reference = Reference::read(&text, &bytes);
        let ours = DisplayInfo::parse(&bytes);
        for (field, detail) in compare(&ours, &reference) {
            *field_mismatches.entry(field).or_default() += 1;
            let key = (stem.clone(), field.to_owned());
            if allowed.contains_key(&key) {
                used.insert(key);
            } else {
                failures.push(format!("{stem} {field}: {detail}"));
            }
        }
    }
    let stale: Vec<_> = allowed
        .keys()
        .filter(|k| {
            !used.contains(*k)
                && entries
                    .iter()
                    .any(|p| p.file_stem().is_some_and(|s| s.to_string_lossy() == k.0))
        })
        .collect();
    eprintln!(
        "{} EDIDs, {} mismatching fields ({} allowed): {field_mismatches:?}",
        entries.len(),
        failures.len() + used.len(),
        used.len()
    );
    assert!(
        stale.is_empty(),
        "allow-list entries that now match: {stale:?}"
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
