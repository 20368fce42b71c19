//! Reading a device into a [`DeviceModel`]: its caps, CRTCs, connectors with their
//! modes and EDIDs, planes with IN_FORMATS, every property by name, and the driver's
//! release.

use std::collections::BTreeMap;

use drm::{
    control::{connector, crtc, property, Device as ControlDevice, Mode, ResourceHandle},
    Device as BasicDevice, DriverCapability,
};

use super::{io, DeviceError, KmsDevice};
use crate::{
    model::{ConnectorModel, CrtcModel, DeviceModel, ModeInfo, PlaneKind, PlaneModel, Properties},
    property::{Property, PropertyKind},
    Connection,
};

fn properties_of<T: ResourceHandle>(dev: &KmsDevice, handle: T) -> Properties {
    let Ok(set) = dev.get_properties(handle) else {
        return Properties::new();
    };
    let (ids, values) = set.as_props_and_values();
    let mut out = Properties::new();
    for (id, value) in ids.iter().zip(values) {
        let Ok(info) = dev.get_property(*id) else {
            continue;
        };
        let kind = match info.value_type() {
            property::ValueType::UnsignedRange(min, max) => PropertyKind::Range { min, max },
            property::ValueType::Boolean => PropertyKind::Range { min: 0, max: 1 },
            property::ValueType::SignedRange(min, max) => PropertyKind::SignedRange { min, max },
            property::ValueType::Enum(values) => {
                let (raw, entries) = values.values();
                PropertyKind::Enum(
                    raw.iter()
                        .zip(entries)
                        .map(|(v, e)| (e.name().to_string_lossy().into_owned(), *v))
                        .collect(),
                )
            }
            // drm 0.14 does not hand out bitmask names; an empty list accepts any bits.
            property::ValueType::Bitmask => PropertyKind::Bitmask(Vec::new()),
            property::ValueType::Blob => PropertyKind::Blob,
            property::ValueType::CRTC => PropertyKind::Object("CRTC".into()),
            property::ValueType::Framebuffer => PropertyKind::Object("framebuffer".into()),
            _ => PropertyKind::Object(String::new()),
        };
        out.insert(
            info.name().to_string_lossy().into_owned(),
            Property {
                id: u32::from(*id),
                kind,
                value: *value,
                immutable: !info.mutable(),
                atomic: info.atomic(),
            },
        );
    }
    out
}

/// IN_FORMATS (struct drm_format_modifier_blob): format → modifiers.
fn in_formats(blob: &[u8]) -> BTreeMap<u32, Vec<u64>> {
    let word = |at: usize| -> Option<u32> {
        Some(u32::from_ne_bytes(blob.get(at..at + 4)?.try_into().ok()?))
    };
    let mut out = BTreeMap::new();
    let (Some(count_formats), Some(formats_offset), Some(count_mods), Some(mods_offset)) =
        (word(8), word(12), word(16), word(20))
    else {
        return out;
    };
    let formats: Vec<u32> = (0..count_formats as usize)
        .filter_map(|i| word(formats_offset as usize + 4 * i))
        .collect();
    for m in 0..count_mods as usize {
        // struct drm_format_modifier { u64 formats; u32 offset; u32 pad; u64 modifier; }
        let at = mods_offset as usize + 24 * m;
        let Some(bits) = blob
            .get(at..at + 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_ne_bytes)
        else {
            continue;
        };
        let (Some(offset), Some(modifier)) = (
            word(at + 8),
            blob.get(at + 16..at + 24)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_ne_bytes),
        ) else {
            continue;
        };
        for bit in 0..64usize {
            if bits & (1 << bit) != 0 {
                if let Some(format) = formats.get(offset as usize + bit) {
                    out.entry(*format).or_insert_with(Vec::new).push(modifier);
                }
            }
        }
    }
    out
}

fn mode_info(mode: &Mode) -> ModeInfo {
    let (width, height) = mode.size();
    let (hsync_start, hsync_end, htotal) = mode.hsync();
    let (vsync_start, vsync_end, vtotal) = mode.vsync();
    ModeInfo {
        width,
        height,
        clock_khz: mode.clock(),
        hsync_start,
        hsync_end,
        htotal,
        vsync_start,
        vsync_end,
        vtotal,
        flags: mode.flags().bits(),
        preferred: mode
            .mode_type()
            .contains(drm::control::ModeTypeFlags::PREFERRED),
    }
}

/// The kernel's form of a mode the connector does not list, marked as the user's.
fn custom_kernel_mode(mode: &ModeInfo) -> Mode {
    let mut name = [0 as std::ffi::c_char; 32];
    let text = format!("{}x{}", mode.width, mode.height);
    for (slot, byte) in name.iter_mut().zip(text.bytes().take(31)) {
        *slot = byte as std::ffi::c_char;
    }
    Mode::from(drm_ffi::drm_mode_modeinfo {
        clock: mode.clock_khz,
        hdisplay: mode.width,
        hsync_start: mode.hsync_start,
        hsync_end: mode.hsync_end,
        htotal: mode.htotal,
        hskew: 0,
        vdisplay: mode.height,
        vsync_start: mode.vsync_start,
        vsync_end: mode.vsync_end,
        vtotal: mode.vtotal,
        vscan: 0,
        vrefresh: u32::try_from((mode.refresh_mhz() + 500) / 1000).unwrap_or(0),
        flags: mode.flags,
        type_: drm_ffi::DRM_MODE_TYPE_USERDEF,
        name,
    })
}

impl KmsDevice {
    /// The driver's name and release, e.g. "vkms 1.0.0" or "nvidia-drm 560.35.03".
    pub fn driver_version(&self) -> Option<String> {
        let version = self
            .model
            .driver_version
            .map_or_else(|| "(release unknown)".to_owned(), |v| v.to_string());
        Some(format!("{} {version}", self.model.driver))
    }

    /// The driver's release: DRM's triple, or where that says nothing, the kernel
    /// module's version file the quirk table names.
    fn release(&self, driver: &str) -> Option<crate::DriverVersion> {
        let drm = self.get_driver().ok().and_then(|d| {
            let (major, minor, patch) = d.version;
            crate::DriverVersion::from_drm(major.into(), minor.into(), patch.into())
        });
        drm.or_else(|| {
            let file = crate::quirks::for_driver(driver).module_version_file?;
            let text = std::fs::read_to_string(file).ok()?;
            match text.parse() {
                Ok(v) => Some(v),
                Err(err) => {
                    tracing::warn!(file, %err, "cannot read the driver's release");
                    None
                }
            }
        })
    }

    /// Reads the device again (after a hotplug or a VT switch).
    pub fn reread(&mut self) -> Result<(), DeviceError> {
        self.modes.clear();
        self.model = self.read_model()?;
        Ok(())
    }

    pub(super) fn read_model(&mut self) -> Result<DeviceModel, DeviceError> {
        let driver = self
            .get_driver()
            .map(|d| d.name().to_string_lossy().into_owned())
            .map_err(io("driver"))?;
        let mut caps = BTreeMap::new();
        for (name, cap) in [
            ("DUMB_BUFFER", DriverCapability::DumbBuffer),
            ("ASYNC_PAGE_FLIP", DriverCapability::ASyncPageFlip),
            ("CURSOR_WIDTH", DriverCapability::CursorWidth),
            ("CURSOR_HEIGHT", DriverCapability::CursorHeight),
            ("ADDFB2_MODIFIERS", DriverCapability::AddFB2Modifiers),
            ("TIMESTAMP_MONOTONIC", DriverCapability::MonotonicTimestamp),
            ("SYNCOBJ_TIMELINE", DriverCapability::TimelineSyncObj),
            ("PRIME", DriverCapability::Prime),
        ] {
            if let Ok(v) = self.get_driver_capability(cap) {
                caps.insert(name.to_owned(), v);
            }
        }
        let resources = self.resource_handles().map_err(io("resources"))?;
        let crtc_handles: Vec<crtc::Handle> = resources.crtcs().to_vec();
        let mask = |list: Vec<crtc::Handle>| -> u32 {
            crtc_handles
                .iter()
                .enumerate()
                .filter(|(_, h)| list.contains(h))
                .fold(0, |m, (i, _)| m | 1 << i)
        };
        let crtcs = crtc_handles
            .iter()
            .map(|h| CrtcModel {
                id: u32::from(*h),
                properties: properties_of(self, *h),
            })
            .collect();
        let mut connectors = Vec::new();
        for handle in resources.connectors() {
            let info = self.get_connector(*handle, true).map_err(io("connector"))?;
            let mut reach = 0;
            for encoder in info.encoders() {
                if let Ok(e) = self.get_encoder(*encoder) {
                    reach |= mask(resources.filter_crtcs(e.possible_crtcs()));
                }
            }
            for mode in info.modes() {
                self.modes.entry(u32::from(*handle)).or_insert(*mode);
            }
            let properties = properties_of(self, *handle);
            let edid = properties
                .get("EDID")
                .filter(|p| p.value != 0)
                .and_then(|p| self.get_property_blob(p.value).ok())
                .filter(|bytes| !bytes.is_empty());
            connectors.push(ConnectorModel {
                id: u32::from(*handle),
                edid,
                connector_type: info.interface() as u32,
                type_index: info.interface_id(),
                connection: match info.state() {
                    connector::State::Connected => Connection::Connected,
                    connector::State::Disconnected => Connection::Disconnected,
                    connector::State::Unknown => Connection::Unknown,
                },
                modes: info.modes().iter().map(mode_info).collect(),
                possible_crtcs: reach,
                properties,
            });
        }
        let mut planes = Vec::new();
        for handle in self.plane_handles().map_err(io("planes"))? {
            let info = self.get_plane(handle).map_err(io("plane"))?;
            let properties = properties_of(self, handle);
            let kind = match properties.get("type").map(|p| p.value) {
                Some(1) => PlaneKind::Primary,
                Some(2) => PlaneKind::Cursor,
                _ => PlaneKind::Overlay,
            };
            let formats_blob = properties
                .get("IN_FORMATS")
                .and_then(|p| self.get_property_blob(p.value).ok())
                .map(|b| in_formats(&b))
                .unwrap_or_default();
            planes.push(PlaneModel {
                id: u32::from(handle),
                kind,
                possible_crtcs: mask(resources.filter_crtcs(info.possible_crtcs())),
                formats: info.formats().to_vec(),
                in_formats: formats_blob,
                properties,
            });
        }
        let driver_version = self.release(&driver);
        Ok(DeviceModel {
            driver,
            driver_version,
            caps,
            crtcs,
            connectors,
            planes,
        })
    }

    /// The kernel's mode of `connector` that matches `mode` (the whole timing); a mode
    /// the connector does not list is built from the timing (a custom mode), and the
    /// driver's TEST_ONLY commit decides whether it takes it.
    pub fn kernel_mode(&self, connector: u32, mode: &ModeInfo) -> Option<Mode> {
        let info = self
            .get_connector(
                connector::Handle::from(drm::control::RawResourceHandle::new(connector)?),
                false,
            )
            .ok()?;
        let listed = info.modes().iter().find(|m| {
            let mut m = mode_info(m);
            m.preferred = mode.preferred;
            m == *mode
        });
        Some(listed.copied().unwrap_or_else(|| custom_kernel_mode(mode)))
    }
}
