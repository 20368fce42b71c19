//! One encoding session: pictures in, compressed packets out. Pictures arrive as the
//! compositor reads them (8-bit sRGB or 16-bit PQ RGB); swscale turns them into the
//! encoder's Y'CbCr with the matrix of their signal (`ghost_hdr::ycbcr`), narrow range,
//! scaling where the source changed size, and the encoder is told the colour so players
//! show it right.

use ffmpeg_next::{codec, encoder, ffi, format::Pixel, frame, Dictionary, Packet, Rational};

use super::{
    log::caught,
    probe::Backend,
    settings::{Rate, Signal, VideoSettings},
    yuv,
};
use crate::{Frame, HdrFrame, PixelFormat, YuvFrame};

/// A picture to encode, as the compositor read it.
#[derive(Debug, Clone)]
pub enum Picture {
    /// 8-bit sRGB.
    Sdr(Frame),
    /// 16-bit PQ / BT.2020 RGB of an HDR output.
    Hdr(HdrFrame),
    /// Already Y'CbCr in the signal's matrix (NV12, or P010 for HDR), packed on the GPU.
    Yuv(YuvFrame),
}

impl Picture {
    /// (width, height).
    pub fn size(&self) -> (u32, u32) {
        match self {
            Picture::Sdr(f) => (f.width(), f.height()),
            Picture::Hdr(f) => (f.width(), f.height()),
            Picture::Yuv(f) => (f.width(), f.height()),
        }
    }
}

/// Why an encoding session cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// The settings are impossible.
    #[error(transparent)]
    Settings(#[from] super::settings::SettingsError),
    /// FFmpeg refused, in its own words.
    #[error("{0}")]
    Ffmpeg(String),
}

fn ff(context: &str, said: &[String], err: impl std::fmt::Display) -> EncodeError {
    let words: Vec<&str> = said.iter().map(String::as_str).collect();
    if words.is_empty() {
        EncodeError::Ffmpeg(format!("{context}: {err}"))
    } else {
        EncodeError::Ffmpeg(format!("{context}: {} ({err})", words.join("; ")))
    }
}

/// An open encoder with its converter.
pub struct VideoEncoder {
    encoder: encoder::Video,
    name: &'static str,
    size: (u32, u32),
    signal: Signal,
    format: Pixel,
    scaler: Option<Scaler>,
    /// The last converted picture, sent again for repeated slots.
    last: Option<frame::Video>,
    force_key: bool,
}

// SAFETY: the swscale context inside `Scaler` is used by one thread at a time (the
// encoding job owns the whole encoder); FFmpeg contexts are not tied to a thread.
unsafe impl Send for VideoEncoder {}

impl VideoEncoder {
    /// Opens `settings.codec` on `backend` for `size` pictures of `signal`.
    /// `global_header`: the container stores codec headers once (MP4, FLV), rather
    /// than before every key frame (MPEG-TS).
    pub fn open(
        backend: Backend,
        settings: &VideoSettings,
        size: (u32, u32),
        signal: Signal,
        global_header: bool,
    ) -> Result<VideoEncoder, EncodeError> {
        settings.check()?;
        ffmpeg_next::init().map_err(|e| ff("FFmpeg", &[], e))?;
        let name = settings.codec.encoder(backend);
        let (result, said) = caught(|| open(backend, name, settings, size, &signal, global_header));
        let (encoder, format) = result.map_err(|e| ff(name, &said, e))?;
        Ok(VideoEncoder {
            encoder,
            name,
            size,
            signal,
            format,
            scaler: None,
            last: None,
            force_key: false,
        })
    }

    /// FFmpeg's encoder in use.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The encoded size.
    pub fn size(&self) -> (u32, u32) {
        self.size
    }

    /// The encoder's time base (one frame).
    pub fn time_base(&self) -> Rational {
        self.encoder.time_base()
    }

    /// What a muxer's stream needs to know.
    pub fn parameters(&self) -> codec::Parameters {
        codec::Parameters::from(&*self.encoder)
    }

    /// Makes the next frame a key frame (a stream reconnected, a replay wants one).
    pub fn force_key_frame(&mut self) {
        self.force_key = true;
    }

    /// Changes the average bitrate on the fly (encoders that reconfigure: x264, NVENC).
    pub fn set_bitrate(&mut self, kbps: u32) {
        let bits = i64::from(kbps) * 1000;
        // SAFETY: the context is open and ours; libavcodec's encoders read these
        // fields before each frame and reconfigure when they changed.
        unsafe {
            let ctx = self.encoder.as_mut_ptr();
            (*ctx).bit_rate = bits;
            (*ctx).rc_max_rate = bits;
            (*ctx).rc_buffer_size = bits as i32;
        }
    }

    /// Converts `picture` and encodes it as frame `slot`.
    pub fn encode(
        &mut self,
        picture: &Picture,
        slot: u64,
        out: &mut Vec<Packet>,
    ) -> Result<(), EncodeError> {
        let mut converted = frame::Video::new(self.format, self.size.0, self.size.1);
        self.convert(picture, &mut converted)?;
        self.last = Some(converted);
        self.send_last(slot, out)
    }

    /// Encodes the previous picture again as frame `slot`.
    pub fn repeat(&mut self, slot: u64, out: &mut Vec<Packet>) -> Result<(), EncodeError> {
        if self.last.is_none() {
            return Ok(());
        }
        self.send_last(slot, out)
    }

    /// Drains the encoder at the end.
    pub fn finish(&mut self, out: &mut Vec<Packet>) -> Result<(), EncodeError> {
        let (result, said) = caught(|| self.encoder.send_eof().map_err(|e| e.to_string()));
        result.map_err(|e| ff(self.name, &said, e))?;
        self.drain(out)
    }

    fn send_last(&mut self, slot: u64, out: &mut Vec<Packet>) -> Result<(), EncodeError> {
        let force = std::mem::take(&mut self.force_key);
        let Some(last) = self.last.as_mut() else {
            return Ok(());
        };
        last.set_pts(Some(slot as i64));
        last.set_kind(if force {
            ffmpeg_next::picture::Type::I
        } else {
            ffmpeg_next::picture::Type::None
        });
        let encoder = &mut self.encoder;
        let (result, said) = caught(|| encoder.send_frame(last).map_err(|e| e.to_string()));
        result.map_err(|e| ff(self.name, &said, e))?;
        self.drain(out)
    }

    fn drain(&mut self, out: &mut Vec<Packet>) -> Result<(), EncodeError> {
        loop {
            let mut packet = Packet::empty();
            match self.encoder.receive_packet(&mut packet) {
                Ok(()) => out.push(packet),
                Err(ffmpeg_next::Error::Other { errno }) if errno == ffi::EAGAIN => return Ok(()),
                Err(ffmpeg_next::Error::Eof) => return Ok(()),
                Err(e) => return Err(ff(self.name, &[], e)),
            }
        }
    }

    fn convert(&mut self, picture: &Picture, into: &mut frame::Video) -> Result<(), EncodeError> {
        if let Picture::Hdr(hdr) = picture {
            if hdr.width() >= self.size.0 & !1 && hdr.height() >= self.size.1 & !1 {
                return self.convert_hdr(hdr, into);
            }
        }
        if let Picture::Yuv(yuv) = picture {
            if (yuv.width(), yuv.height()) == (self.size.0 & !1, self.size.1 & !1) {
                return self.copy_yuv(yuv, into);
            }
        }
        let (source, planes) = match picture {
            Picture::Sdr(f) => (
                sdr_source(f.format()),
                [(f.bytes().as_ptr(), f.stride()); 2],
            ),
            Picture::Hdr(f) => {
                let plane = (f.rgb().as_ptr().cast::<u8>(), f.width() as usize * 6);
                (Pixel::RGB48LE, [plane; 2])
            }
            Picture::Yuv(f) => {
                let format = if f.ten_bit() {
                    Pixel::P010LE
                } else {
                    Pixel::NV12
                };
                let row = f.row_bytes();
                (
                    format,
                    [(f.luma().as_ptr(), row), (f.chroma().as_ptr(), row)],
                )
            }
        };
        let size = picture.size();
        if self
            .scaler
            .as_ref()
            .is_none_or(|s| s.from != (source, size))
        {
            self.scaler = Some(Scaler::new(
                source,
                size,
                self.format,
                self.size,
                self.signal.matrix(),
            )?);
        }
        let Some(scaler) = self.scaler.as_mut() else {
            return Err(EncodeError::Ffmpeg("no converter".into()));
        };
        scaler.run(planes, size.1, into);
        Ok(())
    }

    /// A GPU-packed picture of the encoder's size into its frame: copied where the
    /// layouts agree (NV12, P010), unpacked where the encoder wants planar chroma.
    fn copy_yuv(&mut self, yuv: &YuvFrame, into: &mut frame::Video) -> Result<(), EncodeError> {
        let h = yuv.height() as usize;
        // SAFETY: the frame was allocated for this size and format and is made writable;
        // plane i holds linesize[i] × rows bytes.
        unsafe {
            let dst = into.as_mut_ptr();
            ffi::av_frame_make_writable(dst);
            let plane = |i: usize, rows: usize| {
                let stride = (*dst).linesize[i] as usize;
                (
                    std::slice::from_raw_parts_mut((*dst).data[i], stride * rows),
                    stride,
                )
            };
            let layout = match (self.format, yuv.ten_bit()) {
                (Pixel::NV12, false) | (Pixel::P010LE, true) => yuv::Layout::SemiPlanar {
                    y: plane(0, h),
                    cbcr: plane(1, h / 2),
                },
                (Pixel::YUV420P, false) | (Pixel::YUV420P10LE, true) => yuv::Layout::Planar {
                    y: plane(0, h),
                    cb: plane(1, h / 2),
                    cr: plane(2, h / 2),
                },
                (format, ten_bit) => {
                    return Err(EncodeError::Ffmpeg(format!(
                        "a {} picture cannot become {format:?}",
                        if ten_bit { "P010" } else { "NV12" }
                    )))
                }
            };
            yuv::copy_packed(yuv, layout);
        }
        Ok(())
    }
}

impl VideoEncoder {
    /// An HDR picture of the encoder's size (or larger: cut at the right and bottom)
    /// through ghost-hdr's matrix, into the 10-bit layout the encoder takes.
    fn convert_hdr(&mut self, hdr: &HdrFrame, into: &mut frame::Video) -> Result<(), EncodeError> {
        let (width, height) = (hdr.width() as usize, hdr.height() as usize);
        let (w, h) = ((self.size.0 & !1) as usize, (self.size.1 & !1) as usize);
        // Cut to the encoder's size first, so each row is whole.
        let cut: std::borrow::Cow<[u16]> = if (width, height) == (w, h) {
            std::borrow::Cow::Borrowed(hdr.rgb())
        } else {
            std::borrow::Cow::Owned(
                (0..h)
                    .flat_map(|y| {
                        hdr.rgb()[y * width * 3..(y * width + w) * 3]
                            .iter()
                            .copied()
                    })
                    .collect(),
            )
        };
        // SAFETY: the frame was allocated for this size and format and is made writable
        // here; each plane holds `linesize × rows` bytes, seen as u16 samples.
        unsafe {
            let dst = into.as_mut_ptr();
            ffi::av_frame_make_writable(dst);
            let plane = |i: usize, rows: usize| {
                let stride = (*dst).linesize[i] as usize / 2;
                (
                    std::slice::from_raw_parts_mut((*dst).data[i].cast::<u16>(), stride * rows),
                    stride,
                )
            };
            let planes = match self.format {
                Pixel::YUV420P10LE => yuv::Planes::Planar {
                    y: plane(0, h),
                    cb: plane(1, h / 2),
                    cr: plane(2, h / 2),
                },
                Pixel::P010LE => yuv::Planes::SemiPlanar {
                    y: plane(0, h),
                    cbcr: plane(1, h / 2),
                },
                other => {
                    return Err(EncodeError::Ffmpeg(format!(
                        "HDR pictures cannot become {other:?}"
                    )));
                }
            };
            yuv::rgb16_to_420_10bit(&cut, w, h, self.signal.matrix(), planes);
        }
        Ok(())
    }
}

/// FFmpeg's name for the byte order of a read-back frame.
fn sdr_source(format: PixelFormat) -> Pixel {
    match format {
        PixelFormat::Xrgb8888 => Pixel::BGRZ,
        PixelFormat::Argb8888 => Pixel::BGRA,
        PixelFormat::Xbgr8888 => Pixel::RGBZ,
        PixelFormat::Abgr8888 => Pixel::RGBA,
    }
}

fn open(
    backend: Backend,
    name: &str,
    settings: &VideoSettings,
    size: (u32, u32),
    signal: &Signal,
    global_header: bool,
) -> Result<(encoder::Video, Pixel), String> {
    let codec =
        encoder::find_by_name(name).ok_or_else(|| format!("this FFmpeg has no {name} encoder"))?;
    let mut video = codec::context::Context::new_with_codec(codec)
        .encoder()
        .video()
        .map_err(|e| e.to_string())?;
    // Encoders want even sizes for 4:2:0.
    video.set_width(size.0 & !1);
    video.set_height(size.1 & !1);
    video.set_time_base(Rational(1, settings.fps as i32));
    video.set_frame_rate(Some(Rational(settings.fps as i32, 1)));
    video.set_gop(settings.gop);
    video.set_max_b_frames(if settings.b_frames && !settings.low_latency {
        2
    } else {
        0
    });
    let format = match (backend, settings.ten_bit) {
        // x264 works in NV12 itself: the layout the GPU packs, taken as it is.
        (Backend::Software, false) if settings.codec == super::settings::Codec::H264 => Pixel::NV12,
        (Backend::Software, false) => Pixel::YUV420P,
        (Backend::Software, true) => Pixel::YUV420P10LE,
        (_, false) => Pixel::NV12,
        (_, true) => Pixel::P010LE,
    };
    if backend == Backend::Vaapi {
        return Err(
            "VA-API takes pictures only as imported DMA-BUFs, which this build does not make yet"
                .into(),
        );
    }
    video.set_format(format);
    video.set_colorspace(match signal.matrix() {
        ghost_hdr::ycbcr::Matrix::Bt709 => ffmpeg_next::color::Space::BT709,
        ghost_hdr::ycbcr::Matrix::Bt2020Ncl => ffmpeg_next::color::Space::BT2020NCL,
    });
    video.set_color_range(ffmpeg_next::color::Range::MPEG);
    if global_header {
        video.set_flags(codec::Flags::GLOBAL_HEADER);
    }
    // SAFETY: the context is ours and not yet open; plain fields.
    unsafe {
        let ctx = video.as_mut_ptr();
        let (primaries, transfer) = match signal {
            Signal::Sdr => (
                ffi::AVColorPrimaries::AVCOL_PRI_BT709,
                ffi::AVColorTransferCharacteristic::AVCOL_TRC_IEC61966_2_1,
            ),
            Signal::Pq(_) => (
                ffi::AVColorPrimaries::AVCOL_PRI_BT2020,
                ffi::AVColorTransferCharacteristic::AVCOL_TRC_SMPTE2084,
            ),
        };
        (*ctx).color_primaries = primaries;
        (*ctx).color_trc = transfer;
        if let Rate::Bitrate(kbps) = settings.rate {
            let bits = i64::from(kbps) * 1000;
            (*ctx).bit_rate = bits;
            (*ctx).rc_max_rate = bits;
            (*ctx).rc_buffer_size = bits as i32;
        }
    }
    let options = super::options::for_encoder(backend, settings, signal);
    let mut dictionary = Dictionary::new();
    for (key, value) in &options {
        dictionary.set(key, value);
    }
    let opened = video.open_with(dictionary).map_err(|e| e.to_string())?;
    Ok((opened, format))
}

/// A swscale context with the colour details set (swscale's default is BT.601).
struct Scaler {
    ctx: *mut ffi::SwsContext,
    from: (Pixel, (u32, u32)),
}

impl Scaler {
    fn new(
        source: Pixel,
        size: (u32, u32),
        target: Pixel,
        target_size: (u32, u32),
        matrix: ghost_hdr::ycbcr::Matrix,
    ) -> Result<Scaler, EncodeError> {
        // SAFETY: plain constructor; null filters and parameters are allowed.
        let ctx = unsafe {
            ffi::sws_getContext(
                size.0 as i32,
                size.1 as i32,
                source.into(),
                (target_size.0 & !1) as i32,
                (target_size.1 & !1) as i32,
                target.into(),
                ffi::SWS_BILINEAR | ffi::SWS_ACCURATE_RND | ffi::SWS_FULL_CHR_H_INT,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null(),
            )
        };
        if ctx.is_null() {
            return Err(EncodeError::Ffmpeg(format!(
                "swscale cannot convert {source:?} {}x{} to {target:?}",
                size.0, size.1
            )));
        }
        let space = match matrix {
            ghost_hdr::ycbcr::Matrix::Bt709 => ffi::SWS_CS_ITU709,
            ghost_hdr::ycbcr::Matrix::Bt2020Ncl => ffi::SWS_CS_BT2020,
        };
        // SAFETY: `ctx` is live; the coefficient tables are static inside swscale.
        unsafe {
            let table = ffi::sws_getCoefficients(space);
            // RGB in full range (Y'CbCr sources narrow); Y'CbCr out in narrow range;
            // neutral picture controls.
            let full = i32::from(!matches!(source, Pixel::NV12 | Pixel::P010LE));
            ffi::sws_setColorspaceDetails(ctx, table, full, table, 0, 0, 1 << 16, 1 << 16);
        }
        Ok(Scaler {
            ctx,
            from: (source, size),
        })
    }

    fn run(&mut self, source: [(*const u8, usize); 2], height: u32, into: &mut frame::Video) {
        let planes = [source[0].0, source[1].0, std::ptr::null(), std::ptr::null()];
        let strides = [source[0].1 as i32, source[1].1 as i32, 0, 0];
        // SAFETY: each source plane covers its rows of its stride (the picture's own
        // buffers, checked when it was made; swscale reads the second only for
        // two-plane formats); `into` was allocated for the target size
        // and format, and is made writable (not shared with the encoder) first.
        unsafe {
            let dst = into.as_mut_ptr();
            ffi::av_frame_make_writable(dst);
            ffi::sws_scale(
                self.ctx,
                planes.as_ptr(),
                strides.as_ptr(),
                0,
                height as i32,
                (*dst).data.as_ptr(),
                (*dst).linesize.as_ptr(),
            );
        }
    }
}

impl Drop for Scaler {
    fn drop(&mut self) {
        // SAFETY: made by sws_getContext, freed once.
        unsafe { ffi::sws_freeContext(self.ctx) };
    }
}
