//! Protocols smithay 0.7 has no helper for, one file each.

pub mod capture_buffer;
pub mod color_management;
pub mod ext_workspace;
pub mod foreign_toplevel_management;
pub mod image_capture_source;
pub mod image_copy_capture;
pub mod input_method;
pub mod output_management;
pub mod screencopy;
pub mod tearing_control;
pub mod virtual_input;
