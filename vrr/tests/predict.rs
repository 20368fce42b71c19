//! Render-time prediction on a recorded-style trace: missed deadlines and added latency
//! of the adaptive predictor against fixed margins (printed with --nocapture).

use ghost_vrr::predict::{replay, PredictorConfig, RenderTimePredictor, Replay};

/// A trace like a desktop on a GPU: ~2 ms frames with noise, a phase of 5 ms frames
/// (a heavy client), and rare 9 ms spikes.
fn trace() -> Vec<u64> {
    let mut state = 12345u64;
    let mut rand = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as f64 / (1u64 << 31) as f64
    };
    (0..3000)
        .map(|i| {
            let base = if (1000..1600).contains(&i) {
                5_000_000.0
            } else {
                2_000_000.0
            };
            let spike = if rand() < 0.003 { 7_000_000.0 } else { 0.0 };
            (base * (0.9 + 0.2 * rand()) + spike) as u64
        })
        .collect()
}

fn adaptive(durations: &[u64]) -> Replay {
    let mut p = RenderTimePredictor::new(PredictorConfig::default());
    replay(durations, |last| {
        if let Some((d, miss)) = last {
            p.record(d, miss);
        }
        p.predict()
    })
}

#[test]
fn beats_a_fixed_margin_on_misses_and_latency() {
    let t = trace();
    let ours = adaptive(&t);
    // A compositor that starts a fixed 4 ms early (a common choice).
    let fixed4 = replay(&t, |_| 4_000_000);
    // One that starts 8 ms early: few misses, much latency.
    let fixed8 = replay(&t, |_| 8_000_000);
    println!("adaptive: {ours:?}\nfixed 4 ms: {fixed4:?}\nfixed 8 ms: {fixed8:?}");
    assert!(ours.missed * 10 < fixed4.missed, "{ours:?} vs {fixed4:?}");
    assert!(
        ours.mean_lead_ns < fixed8.mean_lead_ns * 0.6,
        "{ours:?} vs {fixed8:?}"
    );
    assert!(
        (ours.missed as f64) < t.len() as f64 * 0.01,
        "under 1% missed: {ours:?}"
    );
}
