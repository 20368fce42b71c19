//! The speech scorer (`tests/score.py`: PESQ-wb, STOI, SI-SDR) run from the virtual
//! environment `scripts/install-voice-deps.sh` makes.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One file's scores.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
pub struct Scores {
    pub lag: i64,
    pub pesq_wb: f64,
    pub stoi: f64,
    pub si_sdr: f64,
    pub lead_in_db: Option<f64>,
}

pub fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("GHOST_SCORE_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/score-venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: scripts/install-voice-deps.sh sets it up",
        venv.display()
    );
    venv
}

/// Scores every WAV of `estimate` against the same names in `reference` (and `input`).
pub fn score(reference: &Path, estimate: &Path, input: Option<&Path>) -> BTreeMap<String, Scores> {
    let mut cmd = Command::new(python());
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/score.py"))
        .arg("--reference")
        .arg(reference)
        .arg("--estimate")
        .arg(estimate);
    if let Some(input) = input {
        cmd.arg("--input").arg(input);
    }
    let out = cmd.output().expect("the scorer runs");
    assert!(
        out.status.success(),
        "scorer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the scorer's JSON")
}

/// A fresh folder under the target directory.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

/// The baseline's mean `column` over its rows (`baseline_nnnoiseless_dev_scores.csv`).
pub fn baseline(column: &str) -> BTreeMap<String, f64> {
    let text = std::fs::read_to_string(data().join("baseline_nnnoiseless_dev_scores.csv"))
        .expect("baseline");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let id = header.iter().position(|h| *h == "id").expect("id");
    let col = header.iter().position(|h| *h == column).expect("column");
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[id].to_owned(), f[col].parse().expect("number"))
        })
        .collect()
}

pub fn mean<'a>(values: impl IntoIterator<Item = &'a f64>) -> f64 {
    let v: Vec<f64> = values.into_iter().copied().collect();
    v.iter().sum::<f64>() / v.len() as f64
}
