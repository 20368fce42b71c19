//! Each encoder's private options for a session: presets, rate control and HDR
//! metadata, in the words its FFmpeg wrapper takes. Kept apart from the FFmpeg calls so
//! the choices can be read and tested as plain data.

use ghost_hdr::metadata::StaticMetadata;

use super::{
    probe::Backend,
    settings::{Codec, Rate, Signal, VideoSettings},
};

/// Options for the encoder of `settings.codec` on `backend`.
pub fn for_encoder(
    backend: Backend,
    settings: &VideoSettings,
    signal: &Signal,
) -> Vec<(String, String)> {
    let mut o: Vec<(String, String)> = Vec::new();
    let mut set = |k: &str, v: String| o.push((k.to_owned(), v));
    match backend {
        Backend::Software => match settings.codec {
            Codec::H264 | Codec::Hevc => {
                // Screen content on a desktop CPU beside a running session: speed first.
                set(
                    "preset",
                    if settings.low_latency {
                        "ultrafast"
                    } else {
                        "superfast"
                    }
                    .into(),
                );
                if settings.low_latency {
                    set("tune", "zerolatency".into());
                }
                if let Rate::Quality(q) = settings.rate {
                    set("crf", settings.crf(q).to_string());
                }
                if settings.codec == Codec::Hevc {
                    let mut params =
                        vec!["log-level=error".to_owned(), "repeat-headers=1".to_owned()];
                    if let Signal::Pq(meta) = signal {
                        params.push("hdr10=1".into());
                        params.push(format!("master-display={}", x265_master_display(meta)));
                        params.push(format!(
                            "max-cll={},{}",
                            meta.max_cll.round() as u32,
                            meta.max_fall.round() as u32
                        ));
                    }
                    set("x265-params", params.join(":"));
                }
            }
            Codec::Av1 => {
                set(
                    "preset",
                    if settings.low_latency { "12" } else { "10" }.into(),
                );
                if let Rate::Quality(q) = settings.rate {
                    set("crf", settings.crf(q).to_string());
                }
            }
        },
        Backend::Nvenc => {
            set(
                "preset",
                if settings.low_latency { "p1" } else { "p4" }.into(),
            );
            set(
                "tune",
                if settings.low_latency { "ull" } else { "hq" }.into(),
            );
            match settings.rate {
                Rate::Quality(q) => {
                    set("rc", "vbr".into());
                    set("cq", settings.crf(q).to_string());
                }
                Rate::Bitrate(_) => set("rc", "cbr".into()),
            }
            if settings.low_latency {
                set("zerolatency", "1".into());
            }
        }
        Backend::Vaapi => {
            if let Rate::Quality(q) = settings.rate {
                set("rc_mode", "CQP".into());
                set("qp", settings.crf(q).to_string());
            }
        }
    }
    o
}

/// x265's `master-display`: G, B, R and white point in units of 0.00002, luminance in
/// units of 0.0001 cd/m² (the SEI's own units, H.265 D.3.28).
fn x265_master_display(meta: &StaticMetadata) -> String {
    let c = |v: f64| (v * 50_000.0).round() as u32;
    let p = &meta.mastering;
    format!(
        "G({},{})B({},{})R({},{})WP({},{})L({},{})",
        c(p.green.x),
        c(p.green.y),
        c(p.blue.x),
        c(p.blue.y),
        c(p.red.x),
        c(p.red.y),
        c(p.white.x),
        c(p.white.y),
        (meta.max_mastering_luminance * 10_000.0).round() as u64,
        (meta.min_mastering_luminance * 10_000.0).round() as u64,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ghost_hdr::{metadata::InfoframeEotf, primaries::Primaries};

    fn settings(codec: Codec, rate: Rate, low_latency: bool) -> VideoSettings {
        VideoSettings {
            codec,
            ten_bit: codec != Codec::H264,
            rate,
            gop: 60,
            b_frames: false,
            low_latency,
            fps: 60,
        }
    }

    fn get<'a>(o: &'a [(String, String)], k: &str) -> Option<&'a str> {
        o.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str())
    }

    #[test]
    fn hdr10_metadata_reaches_x265_in_its_units() {
        let meta = StaticMetadata {
            eotf: InfoframeEotf::Pq,
            mastering: Primaries::BT2020,
            max_mastering_luminance: 1000.0,
            min_mastering_luminance: 0.005,
            max_cll: 1000.0,
            max_fall: 400.0,
        };
        let o = for_encoder(
            Backend::Software,
            &settings(Codec::Hevc, Rate::Quality(80), false),
            &Signal::Pq(meta),
        );
        let params = get(&o, "x265-params").unwrap();
        // BT.2020: G(0.170, 0.797) B(0.131, 0.046) R(0.708, 0.292) D65(0.3127, 0.3290).
        assert!(
            params.contains("master-display=G(8500,39850)B(6550,2300)R(35400,14600)WP(15635,16450)L(10000000,50)"),
            "{params}"
        );
        assert!(params.contains("max-cll=1000,400") && params.contains("hdr10=1"));
    }

    #[test]
    fn streaming_is_tuned_for_latency_and_recording_for_quality() {
        let live = for_encoder(
            Backend::Software,
            &settings(Codec::H264, Rate::Bitrate(6000), true),
            &Signal::Sdr,
        );
        assert_eq!(get(&live, "tune"), Some("zerolatency"));
        assert_eq!(get(&live, "crf"), None);
        let rec = for_encoder(
            Backend::Software,
            &settings(Codec::H264, Rate::Quality(80), false),
            &Signal::Sdr,
        );
        assert_eq!(get(&rec, "tune"), None);
        assert!(get(&rec, "crf").is_some());
        let nv = for_encoder(
            Backend::Nvenc,
            &settings(Codec::Hevc, Rate::Bitrate(6000), true),
            &Signal::Sdr,
        );
        assert_eq!(
            (get(&nv, "rc"), get(&nv, "tune")),
            (Some("cbr"), Some("ull"))
        );
    }
}
