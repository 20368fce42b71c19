//! The pointer on a cursor plane over a game on a VRR display, driven as the KMS
//! backend drives its frame scheduler: client frames ask for content, each pointer move
//! asks [`FrameScheduler::cursor_plane_moved`] whether to commit the plane on its own,
//! and a frame starts whenever the scheduler says, flipping 2 ms later. Every commit is
//! a refresh of a VRR panel, so what matters is how many there are and how long a move
//! waits to be shown.

use ghost_vrr::{
    schedule::{FrameScheduler, Want},
    vrr::{Flip, VrrRange},
};

const MS: u64 = 1_000_000;
const STEP: u64 = 100_000;
/// From starting a frame to its flip.
const FLIP_AFTER: u64 = 2 * MS;

#[derive(Default)]
struct Run {
    /// Frames flipped: when, and what they showed.
    flips: Vec<(u64, Flip)>,
    /// Commits of the cursor plane alone.
    cursor_commits: Vec<u64>,
    /// For each pointer move shown: when it moved, and how long until a commit showed it.
    delays: Vec<(u64, u64)>,
}

fn drive(s: &mut FrameScheduler, frames: &[u64], moves: &[u64], end: u64) -> Run {
    let mut run = Run::default();
    let (mut fi, mut mi) = (0, 0);
    let mut unshown: Vec<u64> = Vec::new();
    let mut in_flight: Option<(u64, Flip, usize)> = None;
    let mut now = 0;
    while now <= end {
        while fi < frames.len() && frames[fi] <= now {
            s.request(Want::Content, frames[fi]);
            fi += 1;
        }
        while mi < moves.len() && moves[mi] <= now {
            if s.cursor_plane_moved(moves[mi]) {
                run.cursor_commits.push(now);
                run.delays.push((moves[mi], now - moves[mi]));
            } else {
                unshown.push(moves[mi]);
            }
            mi += 1;
        }
        if let Some((at, flip, carried)) = in_flight {
            if at <= now {
                s.flipped(at, flip);
                run.flips.push((at, flip));
                // The frame carried the plane's position as it was when it started.
                run.delays
                    .extend(unshown.drain(..carried).map(|moved| (moved, at - moved)));
                in_flight = None;
            }
        }
        if in_flight.is_none() {
            if let Some((start, flip)) = s.next_start(now) {
                if start <= now {
                    s.started(now);
                    s.submitted(now + MS);
                    in_flight = Some((now + FLIP_AFTER, flip, unshown.len()));
                }
            }
        }
        now += STEP;
    }
    run
}

fn every(interval: u64, until: u64) -> Vec<u64> {
    (0..until / interval).map(|i| i * interval).collect()
}

#[test]
fn a_fast_mouse_over_a_30_fps_game_rides_its_frames_and_repeats() {
    let mut s = FrameScheduler::new(16_666_667);
    s.set_vrr(Some(VrrRange::from_hz(48.0, 144.0).expect("range")));
    let seconds = 2;
    let frames = every(33_333_333, seconds * 1000 * MS);
    let moves = every(MS, seconds * 1000 * MS);
    let run = drive(&mut s, &frames, &moves, seconds * 1000 * MS);
    let count = |k: Flip| run.flips.iter().filter(|f| f.1 == k).count();
    let per_second = run.flips.len() as f64 / seconds as f64;
    // Once the pacer has seen two of the game's frames (it learns its rate from them).
    let settled = 100 * MS;
    let worst = run
        .delays
        .iter()
        .filter(|(moved, _)| *moved >= settled)
        .map(|(_, d)| *d)
        .max()
        .unwrap_or(0);
    println!(
        "flips {per_second:.1}/s (client {}, repeat {}, cursor {}), cursor commits {}, \
         longest wait for a move {:.1} ms",
        count(Flip::Client),
        count(Flip::Repeat),
        count(Flip::Cursor),
        run.cursor_commits.len(),
        worst as f64 / 1e6
    );
    // The panel refreshes at the game's 30 fps doubled by low-framerate
    // compensation (48 Hz is its floor), not at the mouse's 1000 Hz or its 144 Hz top.
    assert!(
        (55.0..=65.0).contains(&per_second),
        "{per_second} flips a second"
    );
    assert!(
        run.cursor_commits.is_empty(),
        "{} cursor commits",
        run.cursor_commits.len()
    );
    assert_eq!(count(Flip::Cursor), 0, "the mouse drove flips of its own");
    // Every move is shown by the next refresh: never later than the panel's slowest
    // refresh (1/48 s) plus the time a frame takes to flip.
    let last_flip = run.flips.last().map_or(0, |f| f.0);
    let shown = run.delays.len();
    let before_last_flip = moves
        .iter()
        .filter(|m| **m < last_flip - FLIP_AFTER)
        .count();
    assert!(
        shown >= before_last_flip,
        "{shown} of {before_last_flip} moves shown"
    );
    assert!(
        worst <= 20_833_334 + FLIP_AFTER,
        "a move waited {} ms",
        worst as f64 / 1e6
    );
    // After the first interval: until it has seen two of the game's frames the pacer
    // does not know to repeat, and an idle VRR panel refreshes by itself meanwhile.
    let intervals: Vec<u64> = run.flips.windows(2).map(|w| w[1].0 - w[0].0).collect();
    let range = VrrRange::from_hz(48.0, 144.0).expect("range");
    assert!(
        intervals.iter().skip(1).all(|iv| range.contains(*iv)),
        "{intervals:?}"
    );
}

#[test]
fn a_fast_mouse_over_a_stalled_client_moves_at_a_capped_rate() {
    let mut s = FrameScheduler::new(16_666_667);
    s.set_vrr(Some(VrrRange::from_hz(48.0, 144.0).expect("range")));
    // One frame, then nothing: a paused game, a still desktop.
    let run = drive(&mut s, &[0], &every(MS, 1000 * MS), 1000 * MS);
    let cursor = run.flips.iter().filter(|f| f.1 == Flip::Cursor).count();
    // The pointer still moves on screen, at the pacer's cursor rate (60 Hz), not 1000.
    assert!(
        (40..=62).contains(&cursor),
        "{cursor} cursor flips in a second"
    );
    let worst = run.delays.iter().map(|(_, d)| *d).max().unwrap_or(0);
    assert!(worst <= 70 * MS, "a move waited {} ms", worst as f64 / 1e6);
}

#[test]
fn at_a_fixed_refresh_the_plane_moves_at_once() {
    let mut s = FrameScheduler::new(16_666_667);
    let run = drive(&mut s, &[], &every(4 * MS, 100 * MS), 100 * MS);
    assert_eq!(run.cursor_commits.len(), 25);
    assert!(
        run.delays.iter().all(|(_, d)| *d < STEP),
        "{:?}",
        run.delays
    );
    assert!(run.flips.is_empty());
}
