//! FFmpeg's log, routed: while a thread opens something (a probe, an encoder, a
//! connection), what FFmpeg says there is caught so a refusal comes back in FFmpeg's own
//! words ("Cannot load libcuda.so.1", "OpenEncodeSessionEx failed: no encode device"),
//! not as a bare error code; everything else goes to `tracing`, never to the
//! compositor's stderr. The callback is process-wide and installed once; catching is
//! per thread, so encoding jobs on their own threads do not mix their messages.

use std::{
    cell::RefCell,
    ffi::{c_char, c_int, c_void, CStr},
    sync::Once,
};

use ffmpeg_next::ffi;

thread_local! {
    /// Messages of warning level or worse since this thread's catch began (None: not
    /// catching).
    static CAUGHT: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

static INSTALL: Once = Once::new();

unsafe extern "C" fn route(
    avcl: *mut c_void,
    level: c_int,
    fmt: *const c_char,
    args: *mut ffi::__va_list_tag,
) {
    // AV_LOG_VERBOSE (log.h); the bindings carry only some of the levels.
    if level > 40 {
        return;
    }
    let mut line = [0 as c_char; 512];
    // No "[h264_nvenc @ 0x…]" prefix: callers name the encoder themselves.
    let mut prefix: c_int = 0;
    // SAFETY: FFmpeg hands us its own format string and argument list for this one
    // call; av_log_format_line2 writes at most `line.len()` bytes, NUL-terminated.
    let written = unsafe {
        ffi::av_log_format_line2(
            avcl,
            level,
            fmt,
            args,
            line.as_mut_ptr(),
            line.len() as c_int,
            &mut prefix,
        )
    };
    if written < 0 {
        return;
    }
    // SAFETY: the buffer was NUL-terminated by av_log_format_line2 above.
    let text = unsafe { CStr::from_ptr(line.as_ptr()) }
        .to_string_lossy()
        .trim()
        .to_owned();
    if text.is_empty() {
        return;
    }
    let kept = CAUGHT.with(|c| match c.borrow_mut().as_mut() {
        Some(lines) if level <= ffi::AV_LOG_WARNING => {
            if lines.len() < 64 {
                lines.push(text.clone());
            }
            true
        }
        _ => false,
    });
    if kept {
        return;
    }
    if level <= ffi::AV_LOG_ERROR {
        tracing::warn!(target: "ffmpeg", "{text}");
    } else if level <= ffi::AV_LOG_WARNING {
        tracing::debug!(target: "ffmpeg", "{text}");
    } else {
        tracing::trace!(target: "ffmpeg", "{text}");
    }
}

/// Sends FFmpeg's log to [`route`] from now on.
pub fn install() {
    INSTALL.call_once(|| {
        // SAFETY: a callback with the signature FFmpeg expects, valid for the process.
        unsafe { ffi::av_log_set_callback(Some(route)) };
    });
}

/// Runs `f` with FFmpeg's warnings on this thread caught; returns its result and what
/// FFmpeg said.
pub fn caught<T>(f: impl FnOnce() -> T) -> (T, Vec<String>) {
    install();
    let outer = CAUGHT.with(|c| c.borrow_mut().replace(Vec::new()));
    let result = f();
    let lines = CAUGHT
        .with(|c| std::mem::replace(&mut *c.borrow_mut(), outer))
        .unwrap_or_default();
    (result, lines)
}
