//! Simulation harness: synthetic client frame-time traces and cursor motion against a
//! fake clock, the pacer deciding every flip. Each case asserts on the flip intervals a
//! panel would see and prints a table of them (`cargo test -p ghost-vrr -- --nocapture`).

use ghost_vrr::{
    vrr::{Flip, PacerConfig, VrrPacer, VrrRange},
    FrameClock, RefreshCycle,
};

const MS: u64 = 1_000_000;

/// Runs `pacer` until `end` (ns) with client frames ready at `frames` and cursor moves at
/// `cursor`; returns every flip.
fn simulate(pacer: &mut VrrPacer, frames: &[u64], cursor: &[u64], end: u64) -> Vec<(u64, Flip)> {
    let (mut fi, mut ci) = (0, 0);
    let mut now = 0;
    let mut flips = Vec::new();
    while now <= end {
        while fi < frames.len() && frames[fi] <= now {
            pacer.client_frame_ready(frames[fi]);
            fi += 1;
        }
        while ci < cursor.len() && cursor[ci] <= now {
            pacer.cursor_moved(cursor[ci]);
            ci += 1;
        }
        let next_event = [frames.get(fi), cursor.get(ci)]
            .into_iter()
            .flatten()
            .min()
            .copied();
        match pacer.next_flip(now) {
            Some((at, kind)) if at <= now => {
                pacer.flipped(now, kind);
                flips.push((now, kind));
                now += 1; // the next decision comes after this flip
            }
            flip => {
                let wake = [flip.map(|f| f.0), next_event].into_iter().flatten().min();
                match wake {
                    Some(t) => now = t.max(now + 1),
                    None => break,
                }
            }
        }
    }
    flips
}

fn intervals(flips: &[(u64, Flip)]) -> Vec<u64> {
    flips.windows(2).map(|w| w[1].0 - w[0].0).collect()
}

fn report(name: &str, flips: &[(u64, Flip)]) -> Vec<u64> {
    let iv = intervals(flips);
    let ms = |v: u64| v as f64 / 1e6;
    let (min, max) = (
        iv.iter().min().copied().unwrap_or(0),
        iv.iter().max().copied().unwrap_or(0),
    );
    let mean = iv.iter().sum::<u64>() as f64 / iv.len().max(1) as f64;
    let count = |k: Flip| flips.iter().filter(|f| f.1 == k).count();
    println!(
        "{name:<44} flips {:>4}  client {:>4}  repeat {:>4}  cursor {:>4}  interval min {:>6.2}  mean {:>6.2}  max {:>6.2} ms",
        flips.len(), count(Flip::Client), count(Flip::Repeat), count(Flip::Cursor), ms(min), mean / 1e6, ms(max)
    );
    iv
}

fn steady(fps: f64, seconds: f64) -> Vec<u64> {
    let n = (fps * seconds) as u64;
    (0..n)
        .map(|i| (i as f64 * 1e9 / fps).round() as u64)
        .collect()
}

fn pacer(min_hz: f64, max_hz: f64) -> VrrPacer {
    VrrPacer::new(
        VrrRange::from_hz(min_hz, max_hz).unwrap(),
        PacerConfig::default(),
    )
}

/// Standard deviation of the intervals, ns (an even cadence has almost none).
fn jitter(iv: &[u64]) -> f64 {
    let mean = iv.iter().sum::<u64>() as f64 / iv.len() as f64;
    (iv.iter().map(|v| (*v as f64 - mean).powi(2)).sum::<f64>() / iv.len() as f64).sqrt()
}

#[test]
fn steady_rates_inside_the_range_are_shown_as_they_come() {
    for fps in [48.0, 90.0, 144.0] {
        let mut p = pacer(48.0, 144.0);
        let frames = steady(fps, 2.0);
        let flips = simulate(&mut p, &frames, &[], 2_000 * MS);
        let iv = report(&format!("steady {fps} fps on 48-144 Hz"), &flips);
        assert!(
            flips.iter().all(|f| f.1 == Flip::Client),
            "no repeats inside the range"
        );
        assert_eq!(flips.len(), frames.len());
        let period = 1e9 / fps;
        assert!(
            iv.iter().all(|v| (*v as f64 - period).abs() < 2.0),
            "every frame on its own cadence"
        );
    }
}

#[test]
fn low_framerates_are_repeated_evenly_inside_the_range() {
    for (fps, expected_hz) in [(30.0, 60.0), (20.0, 60.0), (40.0, 80.0)] {
        let mut p = pacer(48.0, 144.0);
        let frames = steady(fps, 3.0);
        let flips = simulate(&mut p, &frames, &[], 3_000 * MS);
        let iv = report(&format!("{fps} fps on 48-144 Hz (LFC)"), &flips);
        let range = p.range();
        // After the first two frames (the pacer learns the client's rate), every interval
        // is in range and the cadence is even.
        let settled = &iv[4..];
        assert!(
            settled.iter().all(|v| range.contains(*v)),
            "out of range: {settled:?}"
        );
        assert!(
            jitter(settled) < 0.05 * MS as f64,
            "uneven cadence: {}",
            jitter(settled)
        );
        let mean_hz = 1e9 / (settled.iter().sum::<u64>() as f64 / settled.len() as f64);
        assert!(
            (mean_hz - expected_hz).abs() < 0.5,
            "{fps} fps shown at {mean_hz} Hz"
        );
        let clients = flips.iter().filter(|f| f.1 == Flip::Client).count();
        assert_eq!(clients, frames.len(), "every client frame shown once");
    }
}

#[test]
fn a_stuttering_game_stays_in_range_and_frames_are_not_delayed() {
    let mut state = 7u64;
    let mut t = 0;
    let mut frames = Vec::new();
    while t < 5_000 * MS {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
        t += 8 * MS + (state >> 40) % (40 * MS);
        frames.push(t);
    }
    let mut p = pacer(48.0, 144.0);
    let flips = simulate(&mut p, &frames, &[], 5_000 * MS);
    let iv = report("stuttering game 8-48 ms on 48-144 Hz", &flips);
    let range = p.range();
    let out: Vec<_> = iv.iter().filter(|v| !range.contains(**v)).collect();
    // A frame that arrives after the panel's slowest interval cannot be helped (the
    // panel has already refreshed by itself); everything else must be in range.
    let late: Vec<_> = frames
        .windows(2)
        .filter(|w| w[1] - w[0] > range.max_interval_ns)
        .collect();
    assert!(
        out.len() <= late.len(),
        "{} out of range, {} unavoidable",
        out.len(),
        late.len()
    );
    let client_flips: Vec<u64> = flips
        .iter()
        .filter(|f| f.1 == Flip::Client)
        .map(|f| f.0)
        .collect();
    for (ready, shown) in frames.iter().zip(&client_flips) {
        assert!(
            shown - ready <= range.min_interval_ns,
            "frame ready at {ready} shown at {shown}"
        );
    }
}

#[test]
fn a_moving_mouse_does_not_drive_the_refresh_during_a_game() {
    let frames = steady(60.0, 2.0);
    let cursor: Vec<u64> = (0..2000).map(|i| i * MS).collect();
    let mut p = pacer(48.0, 144.0);
    let flips = simulate(&mut p, &frames, &cursor, 2_000 * MS);
    let iv = report("60 fps game + 1000 Hz mouse on 48-144 Hz", &flips);
    assert!(
        flips.iter().all(|f| f.1 == Flip::Client),
        "the cursor rides the game's frames"
    );
    assert!(iv
        .iter()
        .all(|v| (*v as f64 - 16.667 * MS as f64).abs() < 0.01 * MS as f64));
}

#[test]
fn a_moving_mouse_over_a_stalled_client_flips_at_a_capped_rate() {
    // The game renders for 0.5 s, then stalls for 1 s while the mouse keeps moving.
    let frames = steady(100.0, 0.5);
    let cursor: Vec<u64> = (0..1500).map(|i| i * MS).collect();
    let mut p = pacer(48.0, 144.0);
    let flips = simulate(&mut p, &frames, &cursor, 1_500 * MS);
    let iv = report("stalled client + 1000 Hz mouse on 48-144 Hz", &flips);
    let cursor_flips: Vec<u64> = flips
        .iter()
        .filter(|f| f.1 == Flip::Cursor)
        .map(|f| f.0)
        .collect();
    assert!(
        cursor_flips.len() > 50,
        "the cursor still moves on screen: {}",
        cursor_flips.len()
    );
    let cursor_iv: Vec<u64> = cursor_flips.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        cursor_iv.iter().all(|v| *v >= 16_666_667 - 1_000),
        "capped at 60 Hz"
    );
    assert!(iv
        .iter()
        .all(|v| p.range().contains(*v) || *v > p.range().max_interval_ns));
}

#[test]
fn two_outputs_with_different_ranges_each_stay_in_theirs() {
    let frames = steady(30.0, 2.0);
    for (min, max) in [(48.0, 144.0), (40.0, 75.0)] {
        let mut p = pacer(min, max);
        let flips = simulate(&mut p, &frames, &[], 2_000 * MS);
        let iv = report(&format!("30 fps on {min}-{max} Hz"), &flips);
        assert!(
            iv[4..].iter().all(|v| p.range().contains(*v)),
            "{min}-{max}: {iv:?}"
        );
    }
}

#[test]
fn film_on_a_fixed_60hz_output_shows_the_3_2_pattern() {
    // 23.976 fps video, each frame shown from the first vblank after it is ready.
    let mut clock = FrameClock::new(RefreshCycle::from_millihertz(60_000, 0).unwrap());
    let frame_ns = 1e9 * 1001.0 / 24_000.0;
    let mut shown = Vec::new();
    for i in 0..240u64 {
        let ready = (i as f64 * frame_ns).round() as u64 + 1;
        let at = clock.next_presentation(ready);
        clock.presented(at);
        shown.push(clock.cycle().sequence_of(at));
    }
    let holds: Vec<u64> = shown.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(holds.iter().all(|h| *h == 2 || *h == 3), "{holds:?}");
    let alternating = holds.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(
        alternating as f64 > holds.len() as f64 * 0.95,
        "3:2 cadence: {holds:?}"
    );
    let mean = holds.iter().sum::<u64>() as f64 / holds.len() as f64;
    println!(
        "23.976 fps on fixed 60 Hz                    holds of 2 and 3 vblanks, mean {mean:.4}"
    );
    assert!((mean - 2.5025).abs() < 0.01);
}
