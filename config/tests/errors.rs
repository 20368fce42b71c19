//! The error output for a catalogue of broken files, as a person sees it (snapshots).

use std::path::Path;

#[test]
fn broken_files_report_every_problem_where_it_is() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    assert!(names.len() >= 20, "the catalogue shrank: {names:?}");
    for name in names {
        let text = std::fs::read_to_string(dir.join(&name)).unwrap();
        let shown = Path::new("broken").join(&name);
        let err =
            ghost_config::Config::parse(&text, &shown).expect_err(&format!("{name} was accepted"));
        assert!(!err.problems().is_empty(), "{name}: no located problem");
        let stem = name.trim_end_matches(".toml");
        insta::assert_snapshot!(stem, err.to_string());
    }
}
