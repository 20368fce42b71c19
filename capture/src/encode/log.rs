//! FFmpeg's log, caught while a probe runs: a backend that cannot open says why in
//! FFmpeg's own words ("Cannot load libcuda.so.1", "OpenEncodeSessionEx failed: no
//! encode device"), not as a bare error code; and nothing lands on the compositor's
//! stderr meanwhile.

use std::{
    ffi::{c_char, c_int, c_void, CStr},
    sync::Mutex,
};

use ffmpeg_next::ffi;

/// Messages of warning level or worse since the catch began.
static CAUGHT: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// One catch at a time (the callback is process-wide).
static CATCHING: Mutex<()> = Mutex::new(());

unsafe extern "C" fn catch(
    avcl: *mut c_void,
    level: c_int,
    fmt: *const c_char,
    args: *mut ffi::__va_list_tag,
) {
    if level > ffi::AV_LOG_WARNING {
        return;
    }
    let mut line = [0 as c_char; 512];
    // No "[h264_nvenc @ 0x…]" prefix: the probe names the encoder itself.
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
    if let Ok(mut caught) = CAUGHT.lock() {
        if !text.is_empty() && caught.len() < 64 {
            caught.push(text);
        }
    }
}

/// Runs `f` with FFmpeg's log caught; returns its result and what FFmpeg said.
pub fn caught<T>(f: impl FnOnce() -> T) -> (T, Vec<String>) {
    let _one = CATCHING.lock();
    if let Ok(mut c) = CAUGHT.lock() {
        c.clear();
    }
    // SAFETY: installs a callback with the signature FFmpeg expects; the default one
    // is put back before returning.
    unsafe { ffi::av_log_set_callback(Some(catch)) };
    let result = f();
    // SAFETY: as above.
    unsafe { ffi::av_log_set_callback(Some(ffi::av_log_default_callback)) };
    let lines = CAUGHT
        .lock()
        .map(|mut c| std::mem::take(&mut *c))
        .unwrap_or_default();
    (result, lines)
}
