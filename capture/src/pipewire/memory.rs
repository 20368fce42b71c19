//! The casts' buffers: shared memory the compositor allocates itself, one sealed memfd
//! per buffer.
//!
//! Left to PipeWire 0.3 (buffers it allocates for the link, mapped for us), a cast that
//! drives its own graph never completed a graph cycle with Chromium as its consumer:
//! `pw-top` showed its quantum as 0 and Chromium not following it, and Chromium's WebRTC
//! capturer, which is run by the graph's cycles, never got a buffer (GStreamer's
//! `pipewiresrc` picked them up all the same). With buffers of our own
//! (`PW_STREAM_FLAG_ALLOC_BUFFERS`, as xdg-desktop-portal-wlr does) Chromium follows the
//! cast and gets its frames. Why PipeWire's buffers stop the cycles was not found (the
//! cycles driven by `pw_stream_trigger_process` did not change it).
//!
//! Each memfd is sealed against shrinking and growing: a consumer holds the descriptor,
//! and one that truncated it would make the compositor's next write into the mapping a
//! SIGBUS.

use std::{
    io,
    os::fd::{FromRawFd, IntoRawFd, OwnedFd},
    ptr::NonNull,
};

use pipewire::spa::sys;
use rustix::{
    fs::{MemfdFlags, SealFlags},
    mm::{MapFlags, ProtFlags},
};

/// Gives the buffer `buffer` its memory: a sealed memfd of `size` bytes, mapped for
/// writing. The buffer must offer memfd among its data types (our Buffers parameter asks
/// for nothing else).
///
/// # Safety
/// `buffer` is a pw_buffer PipeWire handed to the `add_buffer` callback, not yet given
/// memory, and not used elsewhere until this returns.
pub unsafe fn allocate(buffer: *mut pipewire::sys::pw_buffer, size: usize) -> io::Result<()> {
    // SAFETY: per this function's contract, `buffer` and its spa_buffer are valid.
    let data = unsafe { first_data(buffer) }.ok_or_else(|| io::Error::other("no data"))?;
    if data.type_ & (1 << sys::SPA_DATA_MemFd) == 0 {
        return Err(io::Error::other("the buffer takes no memfd"));
    }
    let len = u32::try_from(size).map_err(|_| io::Error::other("frame too large"))?;
    let fd = rustix::fs::memfd_create(
        "ghostcomp-cast",
        MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
    )?;
    rustix::fs::ftruncate(&fd, u64::from(len))?;
    rustix::fs::fcntl_add_seals(&fd, SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL)?;
    // SAFETY: a fresh shared mapping of a memfd we own, `size` bytes long (sealed at
    // that size); it is unmapped in `release` before the descriptor is closed.
    let memory = unsafe {
        rustix::mm::mmap(
            std::ptr::null_mut(),
            size,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::SHARED,
            &fd,
            0,
        )
    }?;
    data.type_ = sys::SPA_DATA_MemFd;
    data.flags = sys::SPA_DATA_FLAG_READWRITE;
    data.fd = i64::from(fd.into_raw_fd());
    data.mapoffset = 0;
    data.maxsize = len;
    data.data = memory;
    Ok(())
}

/// Unmaps and closes what [`allocate`] gave `buffer`; buffers without it are left alone.
///
/// # Safety
/// `buffer` is a pw_buffer PipeWire handed to the `remove_buffer` callback.
pub unsafe fn release(buffer: *mut pipewire::sys::pw_buffer) {
    // SAFETY: per this function's contract, `buffer` and its spa_buffer are valid.
    let Some(data) = (unsafe { first_data(buffer) }) else {
        return;
    };
    if data.type_ != sys::SPA_DATA_MemFd {
        return;
    }
    if let Some(memory) = NonNull::new(data.data) {
        // SAFETY: `allocate` mapped exactly `maxsize` bytes here, and nothing uses the
        // buffer any more (PipeWire is removing it).
        let _ = unsafe { rustix::mm::munmap(memory.as_ptr(), data.maxsize as usize) };
        data.data = std::ptr::null_mut();
    }
    if let Ok(raw) = i32::try_from(data.fd) {
        if raw >= 0 {
            // SAFETY: `allocate` handed this descriptor over with `into_raw_fd`; taking it
            // back here closes it once.
            drop(unsafe { OwnedFd::from_raw_fd(raw) });
        }
    }
    data.fd = -1;
}

/// The first data block of `buffer`'s spa_buffer.
///
/// # Safety
/// `buffer` is null or a valid pw_buffer whose spa_buffer PipeWire keeps alive.
unsafe fn first_data<'a>(buffer: *mut pipewire::sys::pw_buffer) -> Option<&'a mut sys::spa_data> {
    // SAFETY: per the contract, non-null pointers here are valid and unaliased.
    unsafe {
        let spa = buffer.as_ref()?.buffer;
        let spa = spa.as_mut()?;
        if spa.n_datas == 0 {
            return None;
        }
        spa.datas.as_mut()
    }
}
