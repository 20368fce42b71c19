//! Echo cancellation on real speech: far-end speech played into a simulated room (an
//! impulse response made here: 50 ms of playback and air, then a reverberant tail of
//! RT60 300 ms, 6 dB under the direct sound), heard by the microphone together with the near-end talker, once with
//! both on one clock and once with the microphone 100 ppm fast.

mod common;

use common::{data, score, scratch};
use ghost_voice::{wav, Chain, Mode, Options, FRAME, RATE};

const SECONDS: usize = 16;
/// When the near-end talker starts; until then only the far end plays.
const NEAR_START: usize = 6 * RATE as usize;

/// A small deterministic generator, so the room is the same on every run.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

fn room() -> Vec<f32> {
    let rate = RATE as f32;
    let delay = (0.050 * rate) as usize;
    let length = (0.300 * rate) as usize;
    let mut rng = Lcg(7);
    let mut ir = vec![0f32; delay + length];
    ir[delay] = 0.6;
    for n in 1..length {
        // -60 dB after 300 ms.
        let envelope = (-6.9 * n as f32 / (0.300 * rate)).exp();
        // The tail carries a quarter of the direct sound's energy (a direct-to-
        // reverberant ratio of 6 dB, a laptop on a desk in an office).
        ir[delay + n] = 0.01 * envelope * rng.next();
    }
    ir
}

fn convolve(signal: &[f32], ir: &[f32]) -> Vec<f32> {
    let taps: Vec<(usize, f32)> = ir
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, h)| h.abs() > 1e-5)
        .collect();
    let mut out = vec![0f32; signal.len()];
    for (n, o) in out.iter_mut().enumerate() {
        *o = taps
            .iter()
            .filter(|(k, _)| *k <= n)
            .map(|(k, h)| h * signal[n - k])
            .sum();
    }
    out
}

fn rms(s: &[f32]) -> f32 {
    (s.iter().map(|v| v * v).sum::<f32>() / s.len() as f32).sqrt()
}

fn energy(s: &[f32]) -> f64 {
    s.iter().map(|v| f64::from(*v) * f64::from(*v)).sum()
}

/// The far-end speech (two clips back to back) and the near-end speech, placed.
fn talkers() -> (Vec<f32>, Vec<f32>) {
    let total = SECONDS * RATE as usize;
    let mut far = wav::read(&data().join("clean/dev_003_fan_hum_snr00.wav")).unwrap();
    far.extend(wav::read(&data().join("clean/dev_004_fan_hum_snr05.wav")).unwrap());
    far.resize(total, 0.0);
    let near_clip = wav::read(&data().join("clean/dev_000_white_snr20.wav")).unwrap();
    let mut near = vec![0f32; total];
    near[NEAR_START..NEAR_START + near_clip.len()].copy_from_slice(&near_clip);
    (far, near)
}

/// What the microphone hears: the near talker, the echo (`gain` times the room's
/// output) and a faint noise floor (-65 dBFS).
fn microphone(near: &[f32], echo: &[f32], gain: f32) -> Vec<f32> {
    let mut rng = Lcg(11);
    near.iter()
        .zip(echo)
        .map(|(n, e)| n + e * gain + 0.00056 * 1.7 * rng.next())
        .collect()
}

/// Stretches `signal` as a microphone `ppm` fast records it.
fn resample(signal: &[f32], ppm: f64) -> Vec<f32> {
    let step = 1.0 / (1.0 + ppm * 1e-6);
    (0..signal.len())
        .map(|n| {
            let x = n as f64 * step;
            let (i, t) = (x as usize, (x.fract()) as f32);
            let a = signal.get(i).copied().unwrap_or(0.0);
            let b = signal.get(i + 1).copied().unwrap_or(0.0);
            a + (b - a) * t
        })
        .collect()
}

fn chain() -> Chain {
    Chain::new(
        Mode::Light,
        Options {
            echo_cancel: true,
            ..Options::default()
        },
    )
    .unwrap()
}

/// Runs the chain live: reference chunks arrive at the sink's pace (`ppm` slow against
/// the microphone), every other frame, while the microphone frames come one by one.
fn run_live(mic: &[f32], far: &[f32], ppm: f64) -> Vec<f32> {
    let mut chain = chain();
    let per_frame = FRAME as f64 / (1.0 + ppm * 1e-6);
    let (mut made, mut sent, mut out) = (0.0, 0usize, Vec::new());
    for (n, chunk) in mic.chunks_exact(FRAME).enumerate() {
        made += per_frame;
        if n % 2 == 0 {
            let due = (made as usize).min(far.len());
            chain.push_reference(&far[sent..due]);
            sent = due;
        }
        let mut frame: [f32; FRAME] = chunk.try_into().unwrap();
        chain.process_frame(&mut frame);
        out.extend_from_slice(&frame);
    }
    let (stats, skew) = chain.echo_stats().unwrap();
    eprintln!("AEC3: {stats:?}, reference clock {skew:+.0} ppm");
    out.drain(..chain.latency());
    out.resize(mic.len(), 0.0);
    out
}

/// ERLE over the far-only stretch after three seconds of convergence.
fn erle(mic: &[f32], out: &[f32]) -> f64 {
    let window = 3 * RATE as usize..NEAR_START;
    10.0 * (energy(&mic[window.clone()]) / energy(&out[window])).log10()
}

fn near_pesq(cases: &[(&str, &[f32])], near: &[f32]) -> Vec<f64> {
    let reference = scratch("echo-reference");
    wav::write(&reference.join("near.wav"), &near[NEAR_START..]).unwrap();
    cases
        .iter()
        .map(|(name, out)| {
            let dir = scratch(&format!("echo-{name}"));
            wav::write(&dir.join("near.wav"), &out[NEAR_START..]).unwrap();
            score(&reference, &dir, None)["near"].pesq_wb
        })
        .collect()
}

#[test]
fn echo_is_cancelled_on_one_clock_and_at_100_ppm() {
    let (far, near) = talkers();
    let ir = room();
    let echo = convolve(&far, &ir);
    // The echo as loud as the near talker.
    let gain = rms(&near[NEAR_START..]) / rms(&echo);
    let mic = microphone(&near, &echo, gain);
    let mic_without_echo = microphone(&near, &echo, 0.0);

    // One clock: the reference recorded beside the microphone, as in files.
    let out = chain().process_all_with_reference(&mic, &far);
    // The echo-free case: nothing plays, only the near talker speaks.
    let quiet = chain().process_all_with_reference(&mic_without_echo, &[]);
    // 100 ppm: the microphone's clock runs fast, the reference comes at the sink's pace.
    let echo_fast = convolve(&resample(&far, 100.0), &ir);
    let mic_fast = microphone(&near, &echo_fast, gain);
    let out_fast = run_live(&mic_fast, &far, 100.0);

    let (erle_same, erle_fast) = (erle(&mic, &out), erle(&mic_fast, &out_fast));
    let pesq = near_pesq(
        &[
            ("same", &out),
            ("quiet", &quiet),
            ("fast", &out_fast),
            ("raw", &mic),
        ],
        &near,
    );
    eprintln!(
        "ERLE {erle_same:.1} dB (one clock), {erle_fast:.1} dB (100 ppm); near-end PESQ-wb \
         {:.2} with echo, {:.2} at 100 ppm, {:.2} without echo, {:.2} with the echo left in",
        pesq[0], pesq[2], pesq[1], pesq[3]
    );
    assert!(erle_same >= 25.0, "ERLE {erle_same:.1} dB");
    assert!(erle_fast >= 25.0, "ERLE at 100 ppm {erle_fast:.1} dB");
    // With nothing playing, echo cancellation costs the talker nothing audible. (During
    // double talk AEC3's suppressor takes the near talker down with the echo: its PESQ
    // stays near that of the echo left in, far from the echo-free case; printed above.)
    assert!(pesq[1] >= 3.5, "near end alone: {pesq:?}");
}
