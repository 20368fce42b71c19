//! `ghost-capture` owns everything that leaves the screen: screenshots, the screencopy
//! protocols, PipeWire video streams, the xdg-desktop-portal backend, the encoder pipeline
//! and the voice pipeline attached to screen-share sessions. The compositor hands it
//! finished frames; this crate decides how they are cut, converted and delivered, so that
//! every consumer (IPC screenshot, screencopy, a stream) sees the same pixels.
//!
//! Today it holds the CPU frame model and screenshot encoding (PNG) that `ghostcomp msg
//! screenshot` uses.

pub mod frame;
pub mod screenshot;

pub use frame::{Frame, FrameError, PixelFormat, Region};
pub use screenshot::{encode_png, ScreenshotError};
