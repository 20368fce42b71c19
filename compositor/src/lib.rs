//! `ghost-compositor`: the smithay compositor behind the `ghostcomp` binary: state,
//! Wayland protocol handlers, window management, input, rendering, the headless,
//! nested and KMS backends, idle blanking, telemetry and the performance overlay, and IPC. It is the only crate that sees every other crate of the
//! workspace; the decisions it needs (config, pacing, colour, planes, capture) come from
//! those crates. The binary (`main.rs`) is a thin command line over this library, and
//! tests drive the library in-process with a Wayland client on a socket pair.

pub mod backend;
pub mod casts;
pub mod clients;
pub mod handlers;
pub mod input;
pub mod ipc;
pub mod portal;
pub mod protocols;
pub mod remote;
pub mod render;
pub mod screenshot;
pub mod session;
pub mod settings;
pub mod shell;
pub mod state;
pub mod telemetry;
pub mod voice;
pub mod xwayland;

pub use state::{ClientState, Ghost};
