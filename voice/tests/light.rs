//! The light chain on real noisy speech (`tests/data`, see its README), judged by the
//! measures that need no perceptual model, beside the recorded baseline of plain
//! nnnoiseless 0.5.2 (`baseline_nnnoiseless_dev_scores.csv`, scored by the same
//! definitions). The metric code is checked first against the baseline's own figures
//! for the unprocessed input.

use std::path::{Path, PathBuf};

use ghost_voice::{metrics, wav, Chain, Mode, Options};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

struct Row {
    id: String,
    noisy_si_sdr: f64,
    out_si_sdr: f64,
    out_lead_in: f64,
}

fn baseline() -> Vec<Row> {
    let text = std::fs::read_to_string(data().join("baseline_nnnoiseless_dev_scores.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (id, noisy, out, lead) = (
        col("id"),
        col("noisy_si_sdr"),
        col("out_si_sdr"),
        col("out_lead_in_attn_db"),
    );
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Row {
                id: f[id].to_owned(),
                noisy_si_sdr: f[noisy].parse().unwrap(),
                out_si_sdr: f[out].parse().unwrap(),
                out_lead_in: f[lead].parse().unwrap(),
            }
        })
        .collect()
}

#[test]
fn the_light_chain_matches_the_nnnoiseless_baseline() {
    let rows = baseline();
    assert_eq!(rows.len(), 8);
    let (mut ours_sdr, mut base_sdr, mut ours_lead, mut base_lead) = (0.0, 0.0, 0.0, 0.0);
    for row in &rows {
        let noisy = wav::read(&data().join(format!("noisy/{}.wav", row.id))).unwrap();
        let clean = wav::read(&data().join(format!("clean/{}.wav", row.id))).unwrap();
        // The metric agrees with the scorer's on the untouched input.
        let input = metrics::si_sdr(&noisy, &clean);
        assert!(
            (input - row.noisy_si_sdr).abs() < 0.05,
            "{}: {input} vs {}",
            row.id,
            row.noisy_si_sdr
        );
        let out = Chain::new(Mode::Light, Options::default())
            .unwrap()
            .process_all(&noisy);
        assert_eq!(out.len(), noisy.len());
        let sdr = metrics::si_sdr(&out, &clean);
        let lead = metrics::lead_in_attenuation(&noisy, &out);
        eprintln!(
            "{}: SI-SDR {sdr:.2} dB (baseline {:.2}), lead-in {lead:.1} dB (baseline {:.1})",
            row.id, row.out_si_sdr, row.out_lead_in
        );
        assert!(
            (sdr - row.out_si_sdr).abs() < 0.1,
            "{}: {sdr:.2} dB",
            row.id
        );
        ours_sdr += sdr / 8.0;
        base_sdr += row.out_si_sdr / 8.0;
        ours_lead += lead / 8.0;
        base_lead += row.out_lead_in / 8.0;
    }
    eprintln!("mean SI-SDR {ours_sdr:.2} dB (baseline {base_sdr:.2}), lead-in {ours_lead:.1} dB (baseline {base_lead:.1})");
    assert!(
        ours_sdr >= base_sdr - 0.5,
        "SI-SDR {ours_sdr:.2} against {base_sdr:.2}"
    );
    assert!(
        ours_lead >= base_lead - 1.0,
        "lead-in {ours_lead:.1} against {base_lead:.1}"
    );
}
