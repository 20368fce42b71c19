//! Variable refresh and tearing on real hardware: whether a CRTC gets VRR_ENABLED (the
//! connector says `vrr_capable`, the CRTC has the property, the display states a range,
//! and the policy wants it now), and whether a frame may be an asynchronous flip.

use ghost_vrr::policy::{vrr_active, ContentType, Policy, Scene};
use ghostnv_backend::{sim::AtomicRequest, DeviceModel, PlaneKind};

use crate::display_info::DisplayInfo;

/// What decides VRR for one output this frame.
#[derive(Debug, Clone, Copy)]
pub struct VrrInputs<'a> {
    /// The user's policy for the output.
    pub policy: Policy,
    /// A window covers the output.
    pub fullscreen: bool,
    /// What that window says it shows.
    pub content: ContentType,
    /// The display's EDID, when it has one (its stated range decides capability too).
    pub display: Option<&'a DisplayInfo>,
}

/// Whether the connector and CRTC can do VRR at all.
pub fn vrr_capable(model: &DeviceModel, connector: u32, crtc: u32) -> bool {
    let connector_ok = model
        .connectors
        .iter()
        .find(|c| c.id == connector)
        .and_then(|c| c.properties.get("vrr_capable"))
        .is_some_and(|p| p.value == 1);
    let crtc_ok = model
        .crtcs
        .iter()
        .find(|c| c.id == crtc)
        .is_some_and(|c| c.properties.contains_key("VRR_ENABLED"));
    connector_ok && crtc_ok
}

/// Sets VRR_ENABLED on `crtc` in `request` as the inputs decide (only where the CRTC has
/// the property, so requests to devices without VRR stay valid). Returns the decision.
pub fn apply_vrr(
    request: &mut AtomicRequest,
    model: &DeviceModel,
    connector: u32,
    crtc: u32,
    inputs: VrrInputs<'_>,
) -> bool {
    let capable =
        vrr_capable(model, connector, crtc) && inputs.display.is_none_or(|d| d.vrr.range.is_some());
    let on = vrr_active(
        inputs.policy,
        Scene {
            capable,
            fullscreen: inputs.fullscreen,
            content: inputs.content,
        },
    );
    let has_property = model
        .crtcs
        .iter()
        .find(|c| c.id == crtc)
        .is_some_and(|c| c.properties.contains_key("VRR_ENABLED"));
    if has_property {
        request
            .properties
            .push((crtc, "VRR_ENABLED".to_owned(), u64::from(on)));
    }
    on
}

/// Whether a frame may flip asynchronously (tear): the device has async page flips,
/// the client asked for tearing, and the frame changes only the primary plane's buffer
/// (a fullscreen surface scanned out directly).
pub fn async_flip_allowed(
    model: &DeviceModel,
    request: &AtomicRequest,
    client_allows: bool,
) -> bool {
    let primary_only = ghostnv_backend::quirks::for_driver(&model.driver).async_primary_only;
    client_allows
        && model.caps.get("ASYNC_PAGE_FLIP") == Some(&1)
        && request.crtcs.is_empty()
        && request.properties.is_empty()
        && !request.planes.is_empty()
        && (!primary_only
            || request.planes.iter().all(|p| {
                model
                    .planes
                    .iter()
                    .any(|m| m.id == p.plane && m.kind == PlaneKind::Primary)
            }))
}
