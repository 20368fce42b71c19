//! What an encoding is asked to be: codec, depth, rate control, key-frame spacing and
//! latency, and the colour the pictures carry. Plain data, checked before FFmpeg sees it.

use ghost_hdr::{metadata::StaticMetadata, ycbcr::Matrix};

use super::probe::Backend;

/// Video codecs a recording or stream can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// H.264/AVC: plays everywhere, 8-bit only here.
    H264,
    /// H.265/HEVC: 8 or 10 bit; what HDR recordings use.
    Hevc,
    /// AV1: 8 or 10 bit, where the backend has an encoder for it.
    Av1,
}

impl Codec {
    /// The config's and IPC's word for it.
    pub fn name(self) -> &'static str {
        match self {
            Codec::H264 => "h264",
            Codec::Hevc => "hevc",
            Codec::Av1 => "av1",
        }
    }

    /// Parses the config's word.
    pub fn from_name(word: &str) -> Option<Codec> {
        match word {
            "h264" => Some(Codec::H264),
            "hevc" => Some(Codec::Hevc),
            "av1" => Some(Codec::Av1),
            _ => None,
        }
    }

    /// FFmpeg's encoder of this codec on `backend`.
    pub fn encoder(self, backend: Backend) -> &'static str {
        match (backend, self) {
            (Backend::Nvenc, Codec::H264) => "h264_nvenc",
            (Backend::Nvenc, Codec::Hevc) => "hevc_nvenc",
            (Backend::Nvenc, Codec::Av1) => "av1_nvenc",
            (Backend::Vaapi, Codec::H264) => "h264_vaapi",
            (Backend::Vaapi, Codec::Hevc) => "hevc_vaapi",
            (Backend::Vaapi, Codec::Av1) => "av1_vaapi",
            (Backend::Software, Codec::H264) => "libx264",
            (Backend::Software, Codec::Hevc) => "libx265",
            (Backend::Software, Codec::Av1) => "libsvtav1",
        }
    }
}

/// How the encoder spends bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rate {
    /// Constant quality, 1 (smallest) to 100 (best): the config's `quality`, mapped onto
    /// each encoder's own scale (CRF, CQ, QP).
    Quality(u8),
    /// Average bitrate in kbit/s, with a buffer of one second: what streaming needs.
    Bitrate(u32),
}

/// The colour of the pictures, which decides depth, matrix and tags.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Signal {
    /// sRGB-encoded SDR: BT.709 primaries, matrix and transfer tags.
    Sdr,
    /// PQ-encoded BT.2020 from an HDR output, with its mastering display and light levels.
    Pq(StaticMetadata),
}

impl Signal {
    /// The Y'CbCr matrix pictures of this signal are converted with.
    pub fn matrix(&self) -> Matrix {
        match self {
            Signal::Sdr => Matrix::Bt709,
            Signal::Pq(_) => Matrix::Bt2020Ncl,
        }
    }
}

/// Everything an encoding session is opened with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoSettings {
    /// The codec.
    pub codec: Codec,
    /// 10-bit samples (HEVC and AV1 only); HDR signals always get them.
    pub ten_bit: bool,
    /// Rate control.
    pub rate: Rate,
    /// Frames from one key frame to the next: how far back a replay can start and how
    /// much a crash or a reconnect loses.
    pub gop: u32,
    /// Whether B-frames may be used (better compression, one more frame of delay).
    pub b_frames: bool,
    /// Tuned for latency (streaming): no look-ahead, no B-frames, fast preset.
    pub low_latency: bool,
    /// Frames a second of the output.
    pub fps: u32,
}

/// Settings FFmpeg would refuse or a recording could not carry.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    /// H.264 here is 8-bit only.
    #[error("{0} cannot carry 10-bit video here; use hevc or av1")]
    NoTenBit(&'static str),
    /// Zero or absurd rates.
    #[error("{0} is out of range")]
    OutOfRange(&'static str),
}

impl VideoSettings {
    /// Settings for `signal`: HDR forces 10-bit HEVC where H.264 was asked for.
    pub fn for_signal(mut self, signal: &Signal) -> VideoSettings {
        if matches!(signal, Signal::Pq(_)) {
            self.ten_bit = true;
            if self.codec == Codec::H264 {
                self.codec = Codec::Hevc;
            }
        }
        self
    }

    /// Checks what FFmpeg would otherwise reject later with a vaguer message.
    pub fn check(&self) -> Result<(), SettingsError> {
        if self.ten_bit && self.codec == Codec::H264 {
            return Err(SettingsError::NoTenBit(self.codec.name()));
        }
        if self.fps == 0 || self.fps > 1000 {
            return Err(SettingsError::OutOfRange("fps"));
        }
        if self.gop == 0 {
            return Err(SettingsError::OutOfRange("gop"));
        }
        match self.rate {
            Rate::Quality(q) if !(1..=100).contains(&q) => {
                Err(SettingsError::OutOfRange("quality"))
            }
            Rate::Bitrate(kbps) if !(100..=500_000).contains(&kbps) => {
                Err(SettingsError::OutOfRange("bitrate"))
            }
            _ => Ok(()),
        }
    }

    /// The encoder's own quality number for `Rate::Quality(q)`: x264/x265 CRF and NVENC
    /// CQ run 0 (lossless) … 51, SVT-AV1's CRF 0 … 63. Quality 100 maps to the best
    /// value a screen recording needs, not lossless, which would be gigabytes.
    pub fn crf(&self, quality: u8) -> u32 {
        let q = f64::from(quality.clamp(1, 100));
        let (best, worst) = match self.codec {
            Codec::Av1 => (10.0, 55.0),
            _ => (12.0, 45.0),
        };
        (worst - (worst - best) * (q - 1.0) / 99.0).round() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> VideoSettings {
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

    #[test]
    fn hdr_turns_h264_into_10_bit_hevc_and_bad_settings_are_named() {
        let hdr = Signal::Pq(StaticMetadata {
            eotf: ghost_hdr::metadata::InfoframeEotf::Pq,
            mastering: ghost_hdr::primaries::Primaries::BT2020,
            max_mastering_luminance: 1000.0,
            min_mastering_luminance: 0.005,
            max_cll: 1000.0,
            max_fall: 400.0,
        });
        let s = base().for_signal(&hdr);
        assert_eq!((s.codec, s.ten_bit), (Codec::Hevc, true));
        assert_eq!(hdr.matrix(), Matrix::Bt2020Ncl);
        assert_eq!(base().for_signal(&Signal::Sdr), base());
        let bad = VideoSettings {
            ten_bit: true,
            ..base()
        };
        assert_eq!(bad.check(), Err(SettingsError::NoTenBit("h264")));
        let bad = VideoSettings {
            rate: Rate::Bitrate(5),
            ..base()
        };
        assert!(bad.check().unwrap_err().to_string().contains("bitrate"));
        assert!(base().crf(100) < base().crf(50) && base().crf(50) < base().crf(1));
        assert_eq!((base().crf(1), base().crf(100)), (45, 12));
    }
}
