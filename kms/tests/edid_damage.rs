//! Damaged copies of real EDIDs (truncated, bit-flipped, wrong counts, bad checksums)
//! still decode: no panic, the problems are listed, and what was intact survives.

use std::path::PathBuf;

use ghost_kms::DisplayInfo;
use proptest::prelude::*;

fn corpus() -> Vec<Vec<u8>> {
    let dir = std::env::var_os("GHOST_EDID_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/edid"));
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .collect();
    files.sort();
    files.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

#[test]
fn a_bad_extension_checksum_keeps_the_base_block_facts() {
    for edid in corpus().iter().filter(|e| e.len() >= 256 && e[126] >= 1) {
        let clean = DisplayInfo::parse(edid);
        let mut broken = edid.clone();
        broken[128 + 60] ^= 0x55;
        let info = DisplayInfo::parse(&broken);
        assert_eq!(info.vendor, clean.vendor);
        assert_eq!(info.product_code, clean.product_code);
        assert_eq!(info.serial, clean.serial);
        assert!(!info.problems.is_empty());
    }
}

#[test]
fn truncation_to_the_base_block_reports_the_missing_extensions() {
    for edid in corpus().iter().filter(|e| e[126] >= 1) {
        let info = DisplayInfo::parse(&edid[..128]);
        assert!(info.edid_version.is_some());
        assert!(
            info.problems.iter().any(|p| p.contains("declares")),
            "{:?}",
            info.problems
        );
        assert!(info.preferred_mode().is_some() || info.modes.is_empty());
    }
}

#[test]
fn no_edid_at_all_gives_defaults_and_a_problem() {
    for data in [&[][..], &[0u8; 64][..], &[0x55u8; 256][..]] {
        let info = DisplayInfo::parse(data);
        assert_eq!(info.edid_version, None);
        assert!(info.modes.is_empty());
        assert_eq!(info.problems.len(), 1);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_damage_never_panics(
        pick in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..16),
        cut in any::<prop::sample::Index>(),
    ) {
        let files = corpus();
        let mut edid = files[pick.index(files.len())].clone();
        for (at, value) in flips {
            let at = at.index(edid.len());
            edid[at] = value;
        }
        let keep = cut.index(edid.len() + 1);
        edid.truncate(keep.max(edid.len() / 2));
        let info = DisplayInfo::parse(&edid);
        // The summary and the JSON form are what users see; both must render.
        let _ = info.summary();
        prop_assert!(serde_json::to_string(&info).is_ok());
    }
}

#[test]
fn hdr_luminances_come_from_the_edid_unless_overridden() {
    // The AORUS FV43U states 1037 cd/m² peak and 0.052 black.
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/edid/FA288C851DB4.bin");
    let info = DisplayInfo::parse(&std::fs::read(path).expect("sample"));
    let l = info.hdr_luminances(None, None, 203.0);
    assert!((l.max - 1037.47).abs() < 0.01 && (l.min - 0.0517).abs() < 0.001);
    assert_eq!(l.reference, 203.0);
    let l = info.hdr_luminances(Some(600.0), Some(0.1), 250.0);
    assert_eq!((l.max, l.min, l.reference), (600.0, 0.1, 250.0));
    let p = info.colour.primaries.expect("primaries").to_primaries();
    assert!((p.red.x - 0.6943).abs() < 0.001);
}

/// Found by the fuzzer: a DisplayID type I timing with the reserved stereo value 3 made
/// the decoder binding panic. It decodes now, timing included.
#[test]
fn a_reserved_stereo_value_in_displayid_decodes() {
    let bytes = include_bytes!("data/displayid-reserved-stereo.bin");
    let info = DisplayInfo::parse(bytes);
    assert!(!info
        .problems
        .iter()
        .any(|p| p == ghost_kms::display_info::DECODER_FAULT));
    assert!(info.edid_version.is_some());
}
