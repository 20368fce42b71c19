//! `ghost-capture` owns everything that leaves the screen: screenshots, the screencopy
//! protocols, PipeWire video streams, the xdg-desktop-portal backend, the encoder pipeline
//! and the voice pipeline attached to screen-share sessions. The compositor hands it
//! finished frames; this crate decides how they are cut, converted and delivered, so that
//! every consumer (IPC screenshot, screencopy, a stream) sees the same pixels.
//!
//! Today it holds the CPU frame model (with conversion into clients' buffer layouts),
//! damage between successive captures, and screenshot encoding (8-bit sRGB PNG, and
//! 16-bit PQ/BT.2020 PNG for HDR outputs) that `ghostcomp msg screenshot` uses.

pub mod damage;
pub mod frame;
pub mod hdr;
pub mod pipewire;
pub mod portal;
pub mod screenshot;

pub use damage::changed_regions;
pub use frame::{Frame, FrameError, PixelFormat, Region};
pub use hdr::{encode_png_hdr, HdrFrame};
pub use screenshot::{encode_png, ScreenshotError};
