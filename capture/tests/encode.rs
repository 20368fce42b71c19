//! Encoding jobs on synthetic pictures, read back with Debian's `ffprobe`/`ffmpeg`: the
//! files play, have the frames the clock promised, and carry the right colour.

use std::{
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use ghost_capture::{
    encode::{
        Backend, Codec, Destination, EncodeJob, JobSpec, Picture, Rate, Signal, VideoSettings,
    },
    Frame, HdrFrame, PixelFormat,
};

fn now() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// A fresh path under Cargo's scratch folder for integration tests.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("encode");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

fn settings(codec: Codec) -> VideoSettings {
    VideoSettings {
        codec,
        ten_bit: false,
        rate: Rate::Quality(80),
        gop: 30,
        b_frames: false,
        low_latency: false,
        fps: 30,
    }
}

/// A 320x180 picture with a bar at `x` over a grey ground.
fn picture(x: u32) -> Picture {
    let (w, h) = (320u32, 180u32);
    let mut data = vec![0u8; (w * h * 4) as usize];
    for y in 0..h {
        for i in 0..w {
            let at = ((y * w + i) * 4) as usize;
            let bar = i.abs_diff(x) < 20;
            let v = if bar {
                [40, 40, 220, 255]
            } else {
                [128, 128, 128, 255]
            };
            data[at..at + 4].copy_from_slice(&v);
        }
    }
    Picture::Sdr(Frame::new(w, h, (w * 4) as usize, PixelFormat::Xrgb8888, data).unwrap())
}

/// A recording job writing `path`, started at `start`.
fn record_to(
    path: &Path,
    backends: Vec<Backend>,
    settings: VideoSettings,
    signal: Signal,
    start: Duration,
) -> EncodeJob {
    EncodeJob::start(JobSpec {
        backends,
        settings,
        signal,
        destination: Destination::File(path.to_owned()),
        start,
        audio: Vec::new(),
    })
    .unwrap()
}

/// Offers a picture and waits until the job has encoded `frames` frames in all.
fn offer(job: &EncodeJob, p: Picture, at: Duration, frames: u64) {
    job.offer(p, at);
    let deadline = Instant::now() + Duration::from_secs(10);
    while job.status().frames < frames {
        assert!(
            Instant::now() < deadline,
            "the job takes pictures: {:?}",
            job.status()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn probe(path: &Path, entries: &str) -> String {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
        ])
        .arg(entries)
        .args(["-of", "default=nw=1"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_second_of_pictures_at_30_fps_is_30_frames_of_bt709_h264() {
    let path = scratch("one.mp4");
    let start = now();
    let job = record_to(
        &path,
        vec![Backend::Nvenc, Backend::Software],
        settings(Codec::H264),
        Signal::Sdr,
        start,
    );
    // Every other slot has a picture; the clock repeats the rest.
    for i in 0..15u32 {
        offer(
            &job,
            picture(i * 20),
            start + Duration::from_millis(u64::from(i) * 1000 / 15),
            u64::from(i) * 2 + 1,
        );
    }
    let status = job.stop(start + Duration::from_secs(1));
    assert_eq!(status.error, None);
    assert_eq!(
        status.backend,
        Some(Backend::Software),
        "{:?}",
        status.refused
    );
    assert_eq!(status.frames, 30);
    let got = probe(&path, "stream=codec_name,width,height,nb_read_frames,color_space,color_primaries,color_transfer,color_range");
    for want in [
        "codec_name=h264",
        "width=320",
        "height=180",
        "nb_read_frames=30",
        "color_space=bt709",
        "color_primaries=bt709",
        "color_range=tv",
    ] {
        assert!(got.contains(want), "{want} in {got}");
    }
}

/// Frame `index` of `path`, decoded by Debian's ffmpeg into `pix_fmt` raw bytes.
fn decode(path: &Path, index: u32, pix_fmt: &str) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args([
            "-vf",
            &format!("select=eq(n\\,{index})"),
            "-frames:v",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            pix_fmt,
            "-",
        ])
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn the_decoded_picture_is_the_one_given() {
    let path = scratch("picture.mkv");
    let start = now();
    let job = record_to(
        &path,
        vec![Backend::Software],
        settings(Codec::H264),
        Signal::Sdr,
        start,
    );
    offer(&job, picture(100), start, 1);
    let status = job.stop(start + Duration::from_millis(100));
    assert_eq!((status.error, status.frames), (None, 3));
    let rgb = decode(&path, 2, "rgb24");
    assert_eq!(rgb.len(), 320 * 180 * 3);
    let px = |x: usize, y: usize| &rgb[(y * 320 + x) * 3..(y * 320 + x) * 3 + 3];
    for (got, want) in [(px(100, 90), [220, 40, 40]), (px(250, 20), [128, 128, 128])] {
        for c in 0..3 {
            assert!(got[c].abs_diff(want[c]) <= 4, "{got:?} for {want:?}");
        }
    }
}

#[test]
fn an_hdr_picture_becomes_10_bit_pq_hevc_with_the_reference_code_values() {
    use ghost_hdr::{
        metadata::{InfoframeEotf, StaticMetadata},
        primaries::Primaries,
        ycbcr::{narrow_codes, Matrix},
        TransferFunction,
    };
    let path = scratch("hdr.mp4");
    let meta = StaticMetadata {
        eotf: InfoframeEotf::Pq,
        mastering: Primaries::BT2020,
        max_mastering_luminance: 1000.0,
        min_mastering_luminance: 0.005,
        max_cll: 1000.0,
        max_fall: 400.0,
    };
    // A warm 600 cd/m² highlight as an HDR output's 16-bit PQ signal.
    let signal = [600.0, 300.0, 100.0].map(|nits| TransferFunction::Pq.inverse_eotf(nits));
    let value = signal.map(|s| (s * 65535.0).round() as u16);
    let (w, h) = (256u32, 144u32);
    let rgb: Vec<u16> = (0..w * h).flat_map(|_| value).collect();
    let start = now();
    let job = record_to(
        &path,
        vec![Backend::Software],
        settings(Codec::H264),
        Signal::Pq(meta),
        start,
    );
    offer(
        &job,
        Picture::Hdr(HdrFrame::new(w, h, rgb).unwrap()),
        start,
        1,
    );
    let status = job.stop(start + Duration::from_millis(200));
    assert_eq!(status.error, None);
    assert_eq!(status.encoder, Some("libx265"), "HDR takes HEVC");
    let got = probe(
        &path,
        "stream=codec_name,pix_fmt,color_space,color_primaries,color_transfer,color_range",
    );
    for want in [
        "codec_name=hevc",
        "pix_fmt=yuv420p10le",
        "color_space=bt2020nc",
        "color_primaries=bt2020",
        "color_transfer=smpte2084",
        "color_range=tv",
    ] {
        assert!(got.contains(want), "{want} in {got}");
    }
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-read_intervals",
            "%+#1",
            "-show_frames",
            "-of",
            "default=nw=1",
        ])
        .arg(&path)
        .output()
        .unwrap();
    let frames = String::from_utf8_lossy(&out.stdout);
    assert!(frames.contains("Mastering display metadata"), "{frames}");
    assert!(frames.contains("max_content=1000"), "{frames}");
    let raw = decode(&path, 0, "yuv420p10le");
    let sample = |plane_at: usize, i: usize| {
        u16::from_le_bytes([raw[plane_at + i * 2], raw[plane_at + i * 2 + 1]])
    };
    let (y_size, c_size) = ((w * h) as usize * 2, (w * h / 4) as usize * 2);
    let decoded = [
        sample(0, (h as usize / 2) * w as usize + w as usize / 2),
        sample(y_size, (h as usize / 4) * (w as usize / 2) + w as usize / 4),
        sample(
            y_size + c_size,
            (h as usize / 4) * (w as usize / 2) + w as usize / 4,
        ),
    ];
    let reference = narrow_codes(
        Matrix::Bt2020Ncl.from_rgb(value.map(|v| f64::from(v) / 65535.0)),
        10,
    );
    for c in 0..3 {
        assert!(
            decoded[c].abs_diff(reference[c]) <= 2,
            "decoded {decoded:?}, reference {reference:?}"
        );
    }
}

#[test]
fn hevc_and_av1_record_where_their_encoders_exist() {
    for (codec, name) in [(Codec::Hevc, "hevc"), (Codec::Av1, "av1")] {
        let path = scratch(&format!("codec-{name}.mkv"));
        let start = now();
        let job = record_to(
            &path,
            vec![Backend::Software],
            settings(codec),
            Signal::Sdr,
            start,
        );
        offer(&job, picture(60), start, 1);
        let status = job.stop(start + Duration::from_millis(200));
        assert_eq!(status.error, None, "{name}");
        let got = probe(&path, "stream=codec_name,nb_read_frames,color_space");
        assert!(got.contains(&format!("codec_name={name}")), "{got}");
        assert!(got.contains("nb_read_frames=6"), "{got}");
        assert!(got.contains("color_space=bt709"), "{got}");
    }
}
