//! HDR signalling on a connector: `HDR_OUTPUT_METADATA` (the infoframe's static
//! metadata from the EDID and the config), `Colorspace` BT2020_RGB and `max bpc` of at
//! least 10, all in the modeset that also switches the primary plane to a 10-bit
//! buffer. An SDR modeset clears both properties where the connector has them, so a
//! display left in HDR by an earlier session comes back to SDR.

use ghost_hdr::metadata::{Colorspace, StaticMetadata};
use ghostnv_backend::{quirks, sim::AtomicRequest, DeviceModel, PropertyKind};

/// What an HDR output sends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HdrSignal {
    /// The infoframe's static metadata (PQ, mastering display, content light levels).
    pub metadata: StaticMetadata,
    /// Bits per channel asked of the link (`max bpc`; at least 10).
    pub bpc: u32,
}

/// Why a connector cannot be driven in HDR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoHdr {
    /// The driver release predates working connector HDR properties (quirk table).
    #[error("this driver release predates its connector HDR properties")]
    Release,
    /// The connector lacks a property HDR needs.
    #[error("connector {0} has no {1} property")]
    Missing(u32, &'static str),
    /// The Colorspace enum has no BT.2020 RGB.
    #[error("connector {0}'s Colorspace has no BT2020_RGB")]
    NoBt2020(u32),
    /// The link cannot carry 10 bits a channel.
    #[error("connector {0} sends at most {1} bits per channel")]
    Bpc(u32, u64),
}

/// Adds to `request` what `connector` needs for `signal`, or for SDR where `signal` is
/// None (never an error then: connectors without the properties are left alone).
pub fn add_connector_colour(
    request: &mut AtomicRequest,
    model: &DeviceModel,
    connector: u32,
    signal: Option<&HdrSignal>,
) -> Result<(), NoHdr> {
    let props = model
        .connectors
        .iter()
        .find(|c| c.id == connector)
        .map(|c| &c.properties);
    let allowed = quirks::gates(model).hdr_connector_properties;
    let Some(signal) = signal else {
        let Some(props) = props.filter(|_| allowed) else {
            return Ok(());
        };
        if props.contains_key("HDR_OUTPUT_METADATA") {
            request
                .blobs
                .push((connector, "HDR_OUTPUT_METADATA".into(), Vec::new()));
        }
        if let Some(default) = props
            .get("Colorspace")
            .and_then(|p| p.enum_value(Colorspace::Default.drm_name()))
        {
            request
                .properties
                .push((connector, "Colorspace".into(), default));
        }
        return Ok(());
    };
    if !allowed {
        return Err(NoHdr::Release);
    }
    let props = props.ok_or(NoHdr::Missing(connector, "HDR_OUTPUT_METADATA"))?;
    if !props.contains_key("HDR_OUTPUT_METADATA") {
        return Err(NoHdr::Missing(connector, "HDR_OUTPUT_METADATA"));
    }
    let colorspace = props
        .get("Colorspace")
        .ok_or(NoHdr::Missing(connector, "Colorspace"))?
        .enum_value(Colorspace::Bt2020Rgb.drm_name())
        .ok_or(NoHdr::NoBt2020(connector))?;
    // `max bpc` is a ceiling for the driver; where the connector has none (nvidia-drm)
    // the driver picks the depth from the buffer and the link.
    let bpc = match props.get("max bpc").map(|p| &p.kind) {
        Some(PropertyKind::Range { min, max }) => {
            if *max < 10 {
                return Err(NoHdr::Bpc(connector, *max));
            }
            Some(u64::from(signal.bpc.max(10)).clamp(*min, *max))
        }
        _ => None,
    };
    request.blobs.push((
        connector,
        "HDR_OUTPUT_METADATA".into(),
        signal.metadata.to_blob().to_vec(),
    ));
    request
        .properties
        .push((connector, "Colorspace".into(), colorspace));
    if let Some(bpc) = bpc {
        request.properties.push((connector, "max bpc".into(), bpc));
    }
    Ok(())
}
