//! A CRTC's planes as `ghost-planes` sees them, read from the device model, so every
//! caller of the assigner describes the hardware the same way.

use ghost_planes::assign::{Kind, Plane};
use ghostnv_backend::{DeviceModel, PlaneKind, MODIFIER_LINEAR};

/// The planes that can show on CRTC `crtc_index`, with the formats each scans out from
/// linear buffers. Scaling is left out: not every driver reports it, and a refused
/// scaled layer costs a TEST_ONLY commit for nothing.
pub fn for_crtc(model: &DeviceModel, crtc_index: usize) -> Vec<Plane> {
    model
        .planes_for_crtc(crtc_index)
        .map(|p| Plane {
            id: p.id,
            kind: match p.kind {
                PlaneKind::Primary => Kind::Primary,
                PlaneKind::Overlay => Kind::Overlay,
                PlaneKind::Cursor => Kind::Cursor,
            },
            formats: p
                .formats
                .iter()
                .filter(|f| p.supports(**f, MODIFIER_LINEAR))
                .map(|f| (*f, MODIFIER_LINEAR))
                .collect(),
            scaling: false,
        })
        .collect()
}
