//! `ghost-hdr` owns colour science for ghostcomp: transfer functions, primaries and
//! RGB↔XYZ matrices, tone mapping, HDR static metadata, and the description of a colour
//! pipeline that renderers turn into shaders or LUTs. It is pure: numbers in, numbers out,
//! each formula documented with the standard it comes from and tested against reference
//! tables computed with colour-science: transfer functions (sRGB, gamma, BT.1886, PQ,
//! HLG with its OOTF), primaries and RGB↔XYZ matrices with Bradford adaptation, the
//! BT.2390 EETF, soft gamut compression, image descriptions as wp_color_management_v1
//! states them, the pipeline between a surface and an output, and the
//! `HDR_OUTPUT_METADATA` blob.

pub mod description;
pub mod eetf;
pub mod gamut;
pub mod metadata;
pub mod pipeline;
pub mod primaries;
pub mod transfer;
pub mod ycbcr;

pub use description::{ImageDescription, Luminances, Transfer};
pub use pipeline::{Pipeline, Step};

pub use transfer::TransferFunction;
