//! Which encoder backends this machine has: each is asked to open a small H.264
//! session, as a recording would, and a refusal comes back with FFmpeg's reason.

use std::ptr;

use ffmpeg_next::{codec, encoder, ffi, format::Pixel, Dictionary, Rational};

use super::log::caught;

/// An encoder backend, as the config's `[capture] encoders` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// NVIDIA's hardware encoder (through CUDA).
    Nvenc,
    /// VA-API hardware encoders (Intel, AMD), on a DRM render node.
    Vaapi,
    /// The CPU: libx264.
    Software,
}

impl Backend {
    /// The config's word for it.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Nvenc => "nvenc",
            Backend::Vaapi => "vaapi",
            Backend::Software => "software",
        }
    }

    /// FFmpeg's H.264 encoder of this backend.
    pub fn h264(self) -> &'static str {
        match self {
            Backend::Nvenc => "h264_nvenc",
            Backend::Vaapi => "h264_vaapi",
            Backend::Software => "libx264",
        }
    }
}

/// What probing one backend found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The backend.
    pub backend: Backend,
    /// The FFmpeg encoder tried.
    pub encoder: &'static str,
    /// Why it cannot encode here (None: it opened).
    pub refused: Option<String>,
}

/// The side of the probe session's frames; small, and a multiple of every block size.
const SIDE: u32 = 256;

/// Tries `backend`: opens a `SIDE`² H.264 session the way a recording would.
pub fn probe(backend: Backend) -> Probe {
    let encoder = backend.h264();
    let refused = match ffmpeg_next::init() {
        Err(err) => Some(format!("FFmpeg does not start: {err}")),
        Ok(()) => {
            let (result, said) = caught(|| open(backend));
            result.err().map(|err| reason(&err, &said))
        }
    };
    Probe {
        backend,
        encoder,
        refused,
    }
}

/// The first backend of `order` that opens, with every probe made on the way.
pub fn pick(order: &[Backend]) -> (Option<Backend>, Vec<Probe>) {
    let mut probes = Vec::new();
    for backend in order {
        let p = probe(*backend);
        let ok = p.refused.is_none();
        probes.push(p);
        if ok {
            return (Some(*backend), probes);
        }
    }
    (None, probes)
}

/// One line: FFmpeg's own words where it said something, the error otherwise.
fn reason(err: &str, said: &[String]) -> String {
    let words: Vec<&str> = said
        .iter()
        .map(String::as_str)
        .filter(|l| !l.is_empty())
        .collect();
    if words.is_empty() {
        err.to_owned()
    } else {
        format!("{} ({err})", words.join("; "))
    }
}

fn open(backend: Backend) -> Result<(), String> {
    let codec = encoder::find_by_name(backend.h264())
        .ok_or_else(|| format!("this FFmpeg has no {} encoder", backend.h264()))?;
    let mut video = codec::context::Context::new_with_codec(codec)
        .encoder()
        .video()
        .map_err(|e| e.to_string())?;
    video.set_width(SIDE);
    video.set_height(SIDE);
    video.set_time_base(Rational(1, 60));
    video.set_frame_rate(Some(Rational(60, 1)));
    match backend {
        Backend::Vaapi => {
            let device = vaapi_device()?;
            video.set_format(Pixel::VAAPI);
            // SAFETY: the context is ours and not yet opened; it takes its own
            // reference to the frames context made on `device`.
            unsafe {
                let frames = vaapi_frames(device.0)?;
                (*video.as_mut_ptr()).hw_frames_ctx = frames;
            }
        }
        _ => video.set_format(Pixel::YUV420P),
    }
    let mut options = Dictionary::new();
    if backend == Backend::Software {
        options.set("preset", "ultrafast");
    }
    video
        .open_with(options)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// A VA-API device (the default render node), freed on drop.
struct HwDevice(*mut ffi::AVBufferRef);

impl Drop for HwDevice {
    fn drop(&mut self) {
        // SAFETY: the reference came from av_hwdevice_ctx_create and is ours.
        unsafe { ffi::av_buffer_unref(&mut self.0) };
    }
}

fn vaapi_device() -> Result<HwDevice, String> {
    let mut device = ptr::null_mut();
    // SAFETY: creates a device context into `device`; no options.
    let rc = unsafe {
        ffi::av_hwdevice_ctx_create(
            &mut device,
            ffi::AVHWDeviceType::AV_HWDEVICE_TYPE_VAAPI,
            ptr::null(),
            ptr::null_mut(),
            0,
        )
    };
    if rc < 0 {
        let nodes = std::fs::read_dir("/dev/dri")
            .map(|d| {
                d.filter_map(Result::ok)
                    .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
            })
            .unwrap_or(false);
        let hint = if nodes {
            "no VA-API driver for this GPU's render node"
        } else {
            "no DRM render node on this machine"
        };
        return Err(format!("{hint} ({})", ffmpeg_next::Error::from(rc)));
    }
    Ok(HwDevice(device))
}

/// A pool of NV12 VA surfaces of the probe's size on `device`.
///
/// # Safety
/// `device` must be a live VA-API device context reference.
unsafe fn vaapi_frames(device: *mut ffi::AVBufferRef) -> Result<*mut ffi::AVBufferRef, String> {
    // SAFETY: allocating a frames context on a live device (the caller's promise).
    let mut frames = unsafe { ffi::av_hwframe_ctx_alloc(device) };
    if frames.is_null() {
        return Err("no VA-API frames context".into());
    }
    // SAFETY: `frames` was just allocated; its data is an AVHWFramesContext.
    let rc = unsafe {
        let ctx = (*frames).data as *mut ffi::AVHWFramesContext;
        (*ctx).format = ffi::AVPixelFormat::AV_PIX_FMT_VAAPI;
        (*ctx).sw_format = ffi::AVPixelFormat::AV_PIX_FMT_NV12;
        (*ctx).width = SIDE as i32;
        (*ctx).height = SIDE as i32;
        (*ctx).initial_pool_size = 4;
        ffi::av_hwframe_ctx_init(frames)
    };
    if rc < 0 {
        // SAFETY: ours, not handed on.
        unsafe { ffi::av_buffer_unref(&mut frames) };
        return Err(format!(
            "no VA-API surfaces: {}",
            ffmpeg_next::Error::from(rc)
        ));
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn software_encoding_opens_and_the_order_is_kept() {
        let p = probe(Backend::Software);
        assert_eq!(p.refused, None, "libx264 opens: {p:?}");
        let (chosen, probes) = pick(&[Backend::Software, Backend::Nvenc]);
        assert_eq!(chosen, Some(Backend::Software));
        assert_eq!(
            probes.len(),
            1,
            "nothing after the first that works is tried"
        );
    }
}

#[cfg(test)]
mod hardware {
    use super::*;

    /// Where NVENC or VA-API cannot work (this machine: no NVIDIA driver, no render
    /// node), the probe says why in a line that names what is missing.
    #[test]
    fn hardware_backends_open_or_say_why() {
        for backend in [Backend::Nvenc, Backend::Vaapi] {
            let p = probe(backend);
            if let Some(why) = &p.refused {
                assert!(!why.is_empty() && !why.contains('\n'), "{p:?}");
                assert!(why.len() > 20, "a reason, not a bare code: {p:?}");
            }
        }
    }
}
