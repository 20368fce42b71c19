//! `ghost-hdr` owns colour science for ghostcomp: transfer functions, primaries and
//! RGB↔XYZ matrices, tone mapping, HDR static metadata, and the description of a colour
//! pipeline that renderers turn into shaders or LUTs. It is pure: numbers in, numbers out,
//! each formula documented with the standard it comes from and tested against reference
//! tables computed with colour-science. Today it holds the transfer functions (sRGB,
//! gamma, BT.1886, PQ, HLG with its OOTF), primaries and RGB↔XYZ matrices with Bradford
//! adaptation, the BT.2390 EETF, and the `HDR_OUTPUT_METADATA` blob.

pub mod eetf;
pub mod metadata;
pub mod primaries;
pub mod transfer;

pub use transfer::TransferFunction;
