//! `ghost-capture` owns everything that leaves the screen: screenshots, the screencopy
//! protocols, PipeWire video streams, the xdg-desktop-portal backend, the encoder pipeline
//! and the voice pipeline attached to screen-share sessions. The compositor hands it
//! finished frames; this crate decides how they are cut, converted and delivered, so that
//! every consumer (IPC screenshot, screencopy, a stream) sees the same pixels.
//!
//! Today it holds the CPU frame model (owned frames and borrowed views, with conversion
//! into clients' buffer layouts), damage between successive captures, screenshot
//! encoding (8-bit sRGB PNG, and 16-bit PQ/BT.2020 PNG for HDR outputs), PipeWire video
//! streams produced on the compositor's thread ([`pipewire`]), and the
//! xdg-desktop-portal backend that runs as its own process ([`portal`]). Nothing here
//! knows smithay or Wayland: the compositor renders and hands frames over, and answers
//! the portal through the [`portal::Desktop`] trait.

pub mod audio;
pub mod damage;
pub mod encode;
pub mod frame;
pub mod hdr;
pub mod pipewire;
pub mod portal;
pub mod screenshot;
pub mod stamp;
pub mod yuv;

pub use damage::{accumulate, changed_regions};
pub use frame::{Frame, FrameError, FrameView, PixelFormat, Region};
pub use hdr::{encode_png_hdr, HdrFrame};
pub use screenshot::{encode_png, ScreenshotError};
pub use stamp::Stamp;
pub use yuv::YuvFrame;
