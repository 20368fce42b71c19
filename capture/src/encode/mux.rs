//! Where packets go: a file (fragmented MP4 or Matroska, so a crash loses at most the
//! last fragment) or a media server (RTMP as FLV, SRT as MPEG-TS), through FFmpeg's own
//! muxers and protocols.

use std::time::Duration;

use ffmpeg_next::{codec, ffi, format, Dictionary, Packet, Rational};

use super::{log::caught, settings::Signal};

/// A container and what it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// MP4 written as fragments of about a second after an empty `moov`.
    FragmentedMp4,
    /// Matroska, clusters written as they fill.
    Matroska,
    /// FLV, what RTMP carries.
    Flv,
    /// MPEG transport stream, what SRT carries.
    MpegTs,
}

impl Container {
    /// The container for `target`: a URL's scheme or a file's extension.
    pub fn for_target(target: &str) -> Result<Container, String> {
        let lower = target.to_ascii_lowercase();
        if lower.starts_with("rtmp://") || lower.starts_with("rtmps://") {
            return Ok(Container::Flv);
        }
        if lower.starts_with("srt://") {
            return Ok(Container::MpegTs);
        }
        if lower.contains("://") {
            return Err(format!(
                "{target}: only rtmp://, rtmps:// and srt:// URLs are streamed to"
            ));
        }
        match std::path::Path::new(target)
            .extension()
            .and_then(|e| e.to_str())
        {
            Some("mp4" | "m4v" | "mov") => Ok(Container::FragmentedMp4),
            Some("mkv" | "webm") => Ok(Container::Matroska),
            Some("ts") => Ok(Container::MpegTs),
            _ => Err(format!("{target}: name the file .mp4 or .mkv")),
        }
    }

    /// FFmpeg's muxer.
    pub fn muxer(self) -> &'static str {
        match self {
            Container::FragmentedMp4 => "mp4",
            Container::Matroska => "matroska",
            Container::Flv => "flv",
            Container::MpegTs => "mpegts",
        }
    }

    /// Whether the codec headers live in the container (not before each key frame).
    pub fn global_header(self) -> bool {
        !matches!(self, Container::MpegTs)
    }

    /// Whether this goes over the network.
    pub fn is_stream(self) -> bool {
        matches!(self, Container::Flv | Container::MpegTs)
    }
}

/// An open output.
pub struct Sink {
    output: format::context::Output,
    /// Each stream's packet time base and the muxer's, by stream index.
    bases: Vec<(Rational, Rational)>,
    written: u64,
}

/// One more stream of a file: a sound track.
#[derive(Clone)]
pub struct Track {
    /// What the stream carries.
    pub parameters: codec::Parameters,
    /// Its packets' time base.
    pub time_base: Rational,
}

impl Sink {
    /// Opens `target` with one video stream described by `parameters` (frames in
    /// `time_base`). Network targets give up connecting after `timeout`.
    pub fn open(
        target: &str,
        parameters: codec::Parameters,
        time_base: Rational,
        signal: &Signal,
        timeout: Duration,
    ) -> Result<Sink, String> {
        Self::open_with(target, parameters, time_base, &[], signal, timeout)
    }

    /// Like [`Sink::open`], with sound tracks after the video (streams 1, 2, …).
    pub fn open_with(
        target: &str,
        parameters: codec::Parameters,
        time_base: Rational,
        tracks: &[Track],
        signal: &Signal,
        timeout: Duration,
    ) -> Result<Sink, String> {
        let container = Container::for_target(target)?;
        if target.contains('\0') {
            return Err("a target cannot hold a NUL byte".into());
        }
        let (result, said) = caught(|| {
            let mut io = Dictionary::new();
            if container.is_stream() {
                io.set("rw_timeout", &timeout.as_micros().to_string());
            }
            // SRT's own I/O timeout; RTMP's `timeout` would make it listen instead.
            if container == Container::MpegTs {
                io.set("timeout", &timeout.as_micros().to_string());
            }
            let mut output =
                format::output_as_with(target, container.muxer(), io).map_err(|e| e.to_string())?;
            let mut stream = output
                .add_stream(ffmpeg_next::encoder::find(codec::Id::None))
                .map_err(|e| e.to_string())?;
            stream.set_parameters(parameters);
            stream.set_time_base(time_base);
            stream.set_avg_frame_rate(Rational(time_base.denominator(), time_base.numerator()));
            // SAFETY: the stream belongs to `output`, which is not yet writing; codec tag 0
            // lets the muxer choose its own, and the side data is copied in.
            unsafe {
                let st = stream.as_mut_ptr();
                (*(*st).codecpar).codec_tag = 0;
                if let Signal::Pq(meta) = signal {
                    add_hdr_side_data(st, meta);
                }
                // Each packet reaches the file (or socket) when written, not when a
                // buffer fills: what a crash leaves behind is what was encoded.
                (*output.as_mut_ptr()).flush_packets = 1;
            }
            for track in tracks {
                let mut stream = output
                    .add_stream(ffmpeg_next::encoder::find(codec::Id::None))
                    .map_err(|e| e.to_string())?;
                stream.set_parameters(track.parameters.clone());
                stream.set_time_base(track.time_base);
                // SAFETY: as above, a stream of `output` before its header.
                unsafe { (*(*stream.as_mut_ptr()).codecpar).codec_tag = 0 };
            }
            let mut options = Dictionary::new();
            if container == Container::FragmentedMp4 {
                options.set(
                    "movflags",
                    "frag_keyframe+empty_moov+default_base_moof+write_colr",
                );
                options.set("frag_duration", "1000000");
            }
            if container == Container::Matroska {
                options.set("cluster_time_limit", "1000");
            }
            output
                .write_header_with(options)
                .map_err(|e| e.to_string())?;
            let from = std::iter::once(time_base).chain(tracks.iter().map(|t| t.time_base));
            let bases = from
                .enumerate()
                .map(|(i, from)| {
                    (
                        from,
                        output.stream(i).map(|s| s.time_base()).unwrap_or(from),
                    )
                })
                .collect();
            Ok(Sink {
                output,
                bases,
                written: 0,
            })
        });
        result.map_err(|e: String| {
            let words: Vec<&str> = said.iter().map(String::as_str).collect();
            if words.is_empty() {
                format!("{target}: {e}")
            } else {
                format!("{target}: {} ({e})", words.join("; "))
            }
        })
    }

    /// Writes one video packet (in the encoder's time base).
    pub fn write(&mut self, packet: &Packet) -> Result<(), String> {
        self.write_to(0, packet)
    }

    /// Writes one packet of stream `index` (in that stream's encoder time base).
    pub fn write_to(&mut self, index: usize, packet: &Packet) -> Result<(), String> {
        let Some(&(from, to)) = self.bases.get(index) else {
            return Err(format!("no stream {index}"));
        };
        let mut packet = packet.clone();
        packet.set_stream(index);
        packet.rescale_ts(from, to);
        packet.set_position(-1);
        self.written += packet.size() as u64;
        packet
            .write_interleaved(&mut self.output)
            .map_err(|e| format!("writing a packet: {e}"))
    }

    /// Closes the output cleanly (the last fragment, the index).
    pub fn finish(mut self) -> Result<u64, String> {
        // SAFETY: the output is open and has written its header. FFmpeg's fragmented
        // MP4 answers with the size of its index (positive) on success, which
        // ffmpeg-next would report as an error.
        let rc = unsafe { ffi::av_write_trailer(self.output.as_mut_ptr()) };
        if rc < 0 {
            return Err(format!("closing: {}", ffmpeg_next::Error::from(rc)));
        }
        Ok(self.written)
    }
}

/// libavutil's `AVMasteringDisplayMetadata` (mastering_display_metadata.h, stable since
/// FFmpeg 3.0), which the generated bindings leave out.
#[repr(C)]
struct MasteringDisplay {
    display_primaries: [[ffi::AVRational; 2]; 3],
    white_point: [ffi::AVRational; 2],
    min_luminance: ffi::AVRational,
    max_luminance: ffi::AVRational,
    has_primaries: i32,
    has_luminance: i32,
}

/// libavutil's `AVContentLightMetadata`.
#[repr(C)]
struct ContentLight {
    max_cll: u32,
    max_fall: u32,
}

extern "C" {
    fn av_mastering_display_metadata_alloc() -> *mut MasteringDisplay;
    fn av_content_light_metadata_alloc(size: *mut usize) -> *mut ContentLight;
}

/// Mastering display and content light level, as stream side data (Matroska and MP4
/// write them into their colour boxes).
///
/// # Safety
/// `stream` must be a live stream of an output not yet writing its header.
unsafe fn add_hdr_side_data(
    stream: *mut ffi::AVStream,
    meta: &ghost_hdr::metadata::StaticMetadata,
) {
    let q = |v: f64, den: i32| ffi::AVRational {
        num: (v * f64::from(den)).round() as i32,
        den,
    };
    // SAFETY: allocations from libavutil, handed to the stream (which frees them) only
    // when allocation succeeded; the caller vouches for `stream`.
    unsafe {
        let mastering = av_mastering_display_metadata_alloc();
        if !mastering.is_null() {
            let p = &meta.mastering;
            let m = &mut *mastering;
            for (i, c) in [p.red, p.green, p.blue].iter().enumerate() {
                m.display_primaries[i] = [q(c.x, 50_000), q(c.y, 50_000)];
            }
            m.white_point = [q(p.white.x, 50_000), q(p.white.y, 50_000)];
            m.max_luminance = q(meta.max_mastering_luminance, 10_000);
            m.min_luminance = q(meta.min_mastering_luminance, 10_000);
            m.has_primaries = 1;
            m.has_luminance = 1;
            let size = std::mem::size_of::<MasteringDisplay>();
            if ffi::av_stream_add_side_data(
                stream,
                ffi::AVPacketSideDataType::AV_PKT_DATA_MASTERING_DISPLAY_METADATA,
                mastering.cast(),
                size,
            ) < 0
            {
                ffi::av_free(mastering.cast());
            }
        }
        let mut size = 0usize;
        let light = av_content_light_metadata_alloc(&mut size);
        if !light.is_null() {
            (*light).max_cll = meta.max_cll.round() as u32;
            (*light).max_fall = meta.max_fall.round() as u32;
            if ffi::av_stream_add_side_data(
                stream,
                ffi::AVPacketSideDataType::AV_PKT_DATA_CONTENT_LIGHT_LEVEL,
                light.cast(),
                size,
            ) < 0
            {
                ffi::av_free(light.cast());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_pick_their_container_and_unknown_ones_are_refused() {
        assert_eq!(
            Container::for_target("/tmp/a.mp4"),
            Ok(Container::FragmentedMp4)
        );
        assert_eq!(
            Container::for_target("a.MKV".to_lowercase().as_str()),
            Ok(Container::Matroska)
        );
        assert_eq!(
            Container::for_target("rtmp://localhost/live/x"),
            Ok(Container::Flv)
        );
        assert_eq!(
            Container::for_target("srt://127.0.0.1:9000"),
            Ok(Container::MpegTs)
        );
        assert!(Container::for_target("http://x/y")
            .unwrap_err()
            .contains("rtmp://"));
        assert!(Container::for_target("/tmp/a.avi")
            .unwrap_err()
            .contains(".mp4"));
        assert!(!Container::MpegTs.global_header() && Container::Flv.global_header());
    }
}
