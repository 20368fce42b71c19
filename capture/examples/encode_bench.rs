//! Software encoding, measured beside the `ffmpeg` command line on the same frames:
//! frames a second and CPU time per frame at 1080p and 4K (ghostcomp's encoder: BGRx →
//! BT.709 4:2:0 → libx264 with the recording preset; ffmpeg: the same raw frames, the
//! same preset and CRF, `-f null`), the picture-to-packet delay of a recording job fed
//! at 60 Hz in real time, and the replay ring's memory per minute.
//!
//! `cargo run --release -p ghost-capture --example encode_bench [FRAMES]`

use std::{
    io::Write,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use ghost_capture::{
    encode::{
        video::VideoEncoder, Backend, Codec, Destination, EncodeJob, JobSpec, Picture, Rate,
        Signal, VideoSettings,
    },
    Frame, PixelFormat,
};

/// CPU seconds (user + system) of this process, or of its waited-for children, from
/// /proc/self/stat (in USER_HZ ticks, 100 a second on Linux).
fn cpu(children: bool) -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command's closing parenthesis, from field 3 (state) on.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<f64> = rest
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    // utime, stime are fields 14 and 15; cutime, cstime 16 and 17 (1-based).
    let at = if children { 13 } else { 11 };
    (fields.get(at).unwrap_or(&0.0) + fields.get(at + 1).unwrap_or(&0.0)) / 100.0
}

fn now() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// A desktop-like moving picture: a colour ramp, sliding stripes, a block of "text".
fn picture(w: u32, h: u32, frame: u32) -> Vec<u8> {
    let mut data = vec![0u8; (w * h * 4) as usize];
    for y in 0..h {
        for x in 0..w {
            let at = ((y * w + x) * 4) as usize;
            let stripe = ((x + y + frame * 8) / 64) % 2 == 0;
            let text = x > w / 8
                && x < w / 2
                && y > h / 8
                && y < h / 2
                && (x * 7 + y * 3 + frame) % 11 < 3;
            let px = if text {
                [20, 20, 20, 255]
            } else {
                [
                    (x * 255 / w) as u8,
                    (y * 255 / h) as u8,
                    if stripe { 200 } else { 60 },
                    255,
                ]
            };
            data[at..at + 4].copy_from_slice(&px);
        }
    }
    data
}

fn settings() -> VideoSettings {
    VideoSettings {
        codec: Codec::H264,
        ten_bit: false,
        rate: Rate::Quality(80),
        gop: 60,
        b_frames: false,
        low_latency: false,
        fps: 60,
    }
}

fn encode_run(w: u32, h: u32, frames: u32) -> (f64, f64, f64, f64) {
    let pictures: Vec<Vec<u8>> = (0..8).map(|i| picture(w, h, i)).collect();
    let mut encoder = VideoEncoder::open(Backend::Software, &settings(), (w, h), Signal::Sdr, true)
        .expect("libx264 opens");
    let mut packets = Vec::new();
    let (cpu0, t0) = (cpu(false), Instant::now());
    for i in 0..frames {
        let data = pictures[(i % 8) as usize].clone();
        let frame = Frame::new(w, h, (w * 4) as usize, PixelFormat::Xrgb8888, data).expect("frame");
        encoder
            .encode(&Picture::Sdr(frame), u64::from(i), &mut packets)
            .expect("encodes");
    }
    encoder.finish(&mut packets).expect("drains");
    let (ours_wall, ours_cpu) = (t0.elapsed().as_secs_f64(), cpu(false) - cpu0);
    // The same frames through the ffmpeg command line.
    let raw = std::env::temp_dir().join(format!("ghost-encode-bench-{w}x{h}.bgr0"));
    {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&raw).expect("raw file"));
        for i in 0..frames {
            file.write_all(&pictures[(i % 8) as usize])
                .expect("raw frames");
        }
    }
    let crf = settings().crf(80).to_string();
    let (cpu0, t0) = (cpu(true), Instant::now());
    let status = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "bgr0",
            "-s",
            &format!("{w}x{h}"),
            "-r",
            "60",
            "-i",
        ])
        .arg(&raw)
        .args([
            "-vf",
            "scale=out_color_matrix=bt709:out_range=tv",
            "-pix_fmt",
            "yuv420p",
        ])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "superfast",
            "-crf",
            &crf,
            "-g",
            "60",
            "-bf",
            "0",
            "-f",
            "null",
            "-",
        ])
        .stdout(Stdio::null())
        .status()
        .expect("ffmpeg runs");
    assert!(status.success());
    let (theirs_wall, theirs_cpu) = (t0.elapsed().as_secs_f64(), cpu(true) - cpu0);
    let _ = std::fs::remove_file(&raw);
    (ours_wall, ours_cpu, theirs_wall, theirs_cpu)
}

/// A recording job fed 60 pictures a second in real time for `seconds`: its delay from
/// picture to packet, and (for the replay ring) the memory it holds.
fn realtime(
    w: u32,
    h: u32,
    seconds: u32,
    replay: bool,
    settings: VideoSettings,
) -> ghost_capture::encode::JobStatus {
    let pictures: Vec<Vec<u8>> = (0..8).map(|i| picture(w, h, i)).collect();
    let start = now();
    let destination = if replay {
        Destination::Replay {
            seconds: 600,
            max_bytes: usize::MAX,
        }
    } else {
        Destination::File(std::env::temp_dir().join("ghost-encode-bench.mp4"))
    };
    let job = EncodeJob::start(JobSpec {
        backends: vec![Backend::Software],
        settings,
        signal: Signal::Sdr,
        destination,
        start,
        audio: Vec::new(),
    })
    .expect("job starts");
    for i in 0..seconds * 60 {
        let at = start + Duration::from_nanos(u64::from(i) * 1_000_000_000 / 60);
        std::thread::sleep(at.saturating_sub(now()));
        let data = pictures[(i % 8) as usize].clone();
        let frame = Frame::new(w, h, (w * 4) as usize, PixelFormat::Xrgb8888, data).expect("frame");
        job.offer(Picture::Sdr(frame), now());
    }
    let status = job.status();
    let _ = job.stop(now());
    let _ = std::fs::remove_file(std::env::temp_dir().join("ghost-encode-bench.mp4"));
    status
}

fn main() {
    let frames: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(120);
    println!("| figure | ghostcomp | ffmpeg | ratio |");
    println!("|---|---|---|---|");
    for (w, h, n) in [(1920, 1080, frames), (3840, 2160, frames / 2)] {
        let (ow, oc, tw, tc) = encode_run(w, h, n);
        let n = f64::from(n);
        println!(
            "| {h}p encode fps | {:.1} | {:.1} | {:.2} |",
            n / ow,
            n / tw,
            (n / ow) / (n / tw)
        );
        println!(
            "| {h}p CPU per frame | {:.1} ms | {:.1} | {:.2} |",
            oc / n * 1000.0,
            tc / n * 1000.0,
            oc / tc
        );
    }
    let streaming = VideoSettings {
        rate: Rate::Bitrate(6000),
        low_latency: true,
        ..settings()
    };
    for (what, chosen) in [("recording", settings()), ("streaming", streaming)] {
        let s = realtime(1280, 720, 5, false, chosen);
        let mean = s.latency_total.as_secs_f64() * 1000.0 / s.latency_count.max(1) as f64;
        println!(
            "| 720p60 {what}: picture→packet | {mean:.1} ms mean, {:.1} max | – | – |",
            s.latency_max.as_secs_f64() * 1000.0
        );
        println!(
            "| 720p60 {what}: dropped / repeated | {} / {} of {} | – | – |",
            s.dropped, s.repeated, s.frames
        );
    }
    let r = realtime(1280, 720, 10, true, settings());
    println!(
        "| replay ring, 720p60 moving: per minute | {:.1} MiB | – | – |",
        r.ring_bytes as f64 * 6.0 / (1024.0 * 1024.0)
    );
}
