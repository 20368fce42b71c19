//! RNNoise 0.2 through its C library: the network the quality mode asks for gains. Its
//! model was trained (by Xiph, 2024) on public data only and is ~10 times the size of
//! the 2017 one that nnnoiseless carries; Debian packages it with the weights built in.

use std::ptr::NonNull;

use crate::FRAME;

#[repr(C)]
struct DenoiseState {
    _opaque: [u8; 0],
}

#[repr(C)]
struct RnnModel {
    _opaque: [u8; 0],
}

extern "C" {
    fn rnnoise_get_frame_size() -> std::os::raw::c_int;
    fn rnnoise_create(model: *mut RnnModel) -> *mut DenoiseState;
    fn rnnoise_destroy(state: *mut DenoiseState);
    fn rnnoise_process_frame(state: *mut DenoiseState, out: *mut f32, input: *const f32) -> f32;
    // Present from 0.2 on: linking it is what refuses an older library.
    fn rnnoise_model_from_filename(name: *const std::os::raw::c_char) -> *mut RnnModel;
}

/// How many 10 ms frames RNNoise 0.2's output trails its input.
pub const DELAY_FRAMES: usize = 2;

/// One RNNoise 0.2 denoiser with the built-in model.
pub struct Rnnoise {
    state: NonNull<DenoiseState>,
}

// SAFETY: the state is plain memory owned by this value alone; RNNoise keeps no
// thread-local or global mutable state, so moving it between threads is sound.
unsafe impl Send for Rnnoise {}

impl Rnnoise {
    /// A denoiser, or `None` where the library cannot make one.
    pub fn new() -> Option<Rnnoise> {
        // Keeps the 0.2-only symbol referenced so an older library fails at link time.
        let _ = rnnoise_model_from_filename as unsafe extern "C" fn(_) -> _;
        // SAFETY: rnnoise_get_frame_size has no preconditions.
        if unsafe { rnnoise_get_frame_size() } as usize != FRAME {
            return None;
        }
        // SAFETY: a null model asks for the built-in one; the result is checked below.
        let state = unsafe { rnnoise_create(std::ptr::null_mut()) };
        NonNull::new(state).map(|state| Rnnoise { state })
    }

    /// Denoises one frame given in 16-bit sample units; returns the speech probability.
    pub fn process(&mut self, output: &mut [f32; FRAME], input: &[f32; FRAME]) -> f32 {
        // SAFETY: both buffers hold FRAME floats, which new() checked is the library's
        // frame size; the state is live until drop.
        unsafe { rnnoise_process_frame(self.state.as_ptr(), output.as_mut_ptr(), input.as_ptr()) }
    }
}

impl Drop for Rnnoise {
    fn drop(&mut self) {
        // SAFETY: the state came from rnnoise_create and is destroyed once, here.
        unsafe { rnnoise_destroy(self.state.as_ptr()) }
    }
}
