//! `ghost-hdr` owns colour science for ghostcomp: transfer functions, primaries and
//! RGB↔XYZ matrices, tone mapping, HDR static metadata, and the description of a colour
//! pipeline that renderers turn into shaders or LUTs. It is pure: numbers in, numbers out,
//! each formula documented with the standard it comes from and tested against reference
//! tables computed with colour-science. Today it holds the transfer functions the SDR
//! renderer and screenshots need (sRGB, pure gamma) and PQ, the HDR signal every HDR
//! output speaks.

pub mod transfer;

pub use transfer::TransferFunction;
