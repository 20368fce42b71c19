//! The checks a `HDR_OUTPUT_METADATA` blob meets before the kernel and the sink take it,
//! for the simulated device: the DRM core takes only a blob of exactly
//! `sizeof(struct hdr_output_metadata)` (drm_atomic_uapi.c, `expected_size`), static
//! metadata type 1 (drm_hdmi_infoframe_set_hdr_metadata in drm_edid.c/drm_connector.c;
//! nvidia-drm-connector.c:458-460), and an EOTF CTA-861-G defines (hdmi_drm_infoframe
//! in video/hdmi.c). Units are CTA-861-G's: chromaticities in 0.00002, the mastering
//! peak in cd/m², its black in 0.0001 cd/m², MaxCLL/MaxFALL in cd/m².

/// `sizeof(struct hdr_output_metadata)`: a u32 type, the 26-byte infoframe, padding.
pub const SIZE: usize = 32;

/// Why a blob would be refused (or mislead the display).
pub fn check(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() != SIZE {
        return Err(format!("{} bytes, not {SIZE}", bytes.len()));
    }
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let metadata_type = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if metadata_type != 0 || bytes[5] != 0 {
        return Err("not static metadata type 1".into());
    }
    if bytes[4] > 3 {
        return Err(format!("EOTF {} is not one CTA-861-G defines", bytes[4]));
    }
    // Display primaries and white point: x and y up to 1.0 (50000 units of 0.00002).
    for at in (6..22).step_by(2) {
        if u16_at(at) > 50_000 {
            return Err(format!("chromaticity {} above 1.0", u16_at(at)));
        }
    }
    let max_nits = f64::from(u16_at(22));
    let min_nits = f64::from(u16_at(24)) * 0.0001;
    if max_nits > 0.0 && min_nits >= max_nits {
        return Err(format!(
            "mastering black {min_nits} cd/m² is not below its peak {max_nits} cd/m² (units?)"
        ));
    }
    let (max_cll, max_fall) = (u16_at(26), u16_at(28));
    if max_cll > 0 && max_fall > max_cll {
        return Err(format!("MaxFALL {max_fall} above MaxCLL {max_cll}"));
    }
    Ok(())
}
