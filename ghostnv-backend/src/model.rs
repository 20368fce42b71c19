//! The plain-data device model and its loader from `drm_info -j` JSON.

use serde_json::Value;
use std::collections::BTreeMap;

use crate::property::Property;

/// Properties of one object, by name.
pub type Properties = BTreeMap<String, Property>;

/// Why a device description could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Not JSON at all.
    #[error("device description is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// JSON, but not shaped like `drm_info -j` output.
    #[error("device description: {0}")]
    Shape(String),
}

/// What a plane is for, from its immutable `type` property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaneKind {
    /// Scans out the CRTC's main framebuffer.
    Primary,
    /// Extra layers composed by the display engine.
    Overlay,
    /// The small hardware cursor.
    Cursor,
}

/// One KMS plane.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaneModel {
    /// Object id.
    pub id: u32,
    /// Primary, overlay or cursor.
    pub kind: PlaneKind,
    /// Bit mask of CRTC indices this plane can be used with.
    pub possible_crtcs: u32,
    /// fourcc codes the plane scans out (the legacy list).
    pub formats: Vec<u32>,
    /// Format → modifiers from IN_FORMATS, where the driver exposes it.
    pub in_formats: BTreeMap<u32, Vec<u64>>,
    /// Every property, by name.
    pub properties: Properties,
}

impl PlaneModel {
    /// Whether the plane scans out `format` with `modifier` (IN_FORMATS where the
    /// driver has it, else the legacy list, which means linear only).
    pub fn supports(&self, format: u32, modifier: u64) -> bool {
        if self.in_formats.is_empty() {
            return modifier == crate::MODIFIER_LINEAR && self.formats.contains(&format);
        }
        self.in_formats
            .get(&format)
            .is_some_and(|mods| mods.contains(&modifier))
    }
}

/// One CRTC (a display head's scanout engine).
#[derive(Debug, Clone, PartialEq)]
pub struct CrtcModel {
    /// Object id.
    pub id: u32,
    /// Every property, by name.
    pub properties: Properties,
}

/// A display timing, whole: a mode the connector does not list (a custom mode) is
/// built from these fields alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModeInfo {
    /// Active width.
    pub width: u16,
    /// Active height.
    pub height: u16,
    /// Pixel clock in kHz.
    pub clock_khz: u32,
    /// Where the horizontal sync pulse starts (active width plus front porch).
    pub hsync_start: u16,
    /// Where the horizontal sync pulse ends.
    pub hsync_end: u16,
    /// Total width including blanking.
    pub htotal: u16,
    /// Where the vertical sync pulse starts.
    pub vsync_start: u16,
    /// Where the vertical sync pulse ends.
    pub vsync_end: u16,
    /// Total height including blanking.
    pub vtotal: u16,
    /// `DRM_MODE_FLAG_*` bits: sync polarities, interlace.
    pub flags: u32,
    /// DRM_MODE_TYPE_PREFERRED is set.
    pub preferred: bool,
}

impl ModeInfo {
    /// Exact refresh in millihertz from the timing (vrefresh is rounded to whole Hz).
    pub fn refresh_mhz(&self) -> i32 {
        let total = self.htotal as u64 * self.vtotal as u64;
        if total == 0 {
            return 0;
        }
        ((self.clock_khz as u64 * 1_000_000 + total / 2) / total) as i32
    }
}

/// Whether something is plugged in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// A display is attached.
    Connected,
    /// Nothing is attached.
    Disconnected,
    /// The driver cannot tell.
    Unknown,
}

/// One connector (a port on the card).
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorModel {
    /// Object id.
    pub id: u32,
    /// DRM connector type number (10 = DisplayPort, 11 = HDMI-A, …).
    pub connector_type: u32,
    /// The number after the type in the kernel's name (the 1 of "DP-1").
    pub type_index: u32,
    /// Connection status.
    pub connection: Connection,
    /// Modes the display offers, in the driver's order.
    pub modes: Vec<ModeInfo>,
    /// Bit mask of CRTC indices the connector can be driven by (through its encoders).
    pub possible_crtcs: u32,
    /// The display's EDID, when one is attached and the source carries the blob.
    pub edid: Option<Vec<u8>>,
    /// Every property, by name.
    pub properties: Properties,
}

impl ConnectorModel {
    /// The kernel's name, e.g. "DP-1", which users write in `[[output]]` sections.
    pub fn name(&self) -> String {
        format!(
            "{}-{}",
            connector_type_name(self.connector_type),
            self.type_index
        )
    }

    /// The mode the display prefers (the driver's preferred flag), else its first.
    pub fn preferred_mode(&self) -> Option<&ModeInfo> {
        self.modes
            .iter()
            .find(|m| m.preferred)
            .or(self.modes.first())
    }

    /// Whether a display is attached that can be lit (writeback connectors are not
    /// displays).
    pub fn is_display(&self) -> bool {
        self.connection == Connection::Connected
            && self.connector_type != CONNECTOR_WRITEBACK
            && !self.modes.is_empty()
    }
}

/// DRM_MODE_CONNECTOR_WRITEBACK.
pub const CONNECTOR_WRITEBACK: u32 = 18;

/// The kernel's short name of a DRM connector type (drm_connector_enum_list).
pub fn connector_type_name(connector_type: u32) -> &'static str {
    match connector_type {
        1 => "VGA",
        2 => "DVI-I",
        3 => "DVI-D",
        4 => "DVI-A",
        5 => "Composite",
        6 => "SVIDEO",
        7 => "LVDS",
        8 => "Component",
        9 => "DIN",
        10 => "DP",
        11 => "HDMI-A",
        12 => "HDMI-B",
        13 => "TV",
        14 => "eDP",
        15 => "Virtual",
        16 => "DSI",
        17 => "DPI",
        18 => "Writeback",
        19 => "SPI",
        20 => "USB",
        _ => "Unknown",
    }
}

/// A whole KMS device as plain data.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceModel {
    /// Driver name, e.g. "nvidia-drm", "i915", "vkms".
    pub driver: String,
    /// The driver's release, where it can be read (the quirk table's bounds need it).
    pub driver_version: Option<crate::DriverVersion>,
    /// DRM_CAP_* values by name.
    pub caps: BTreeMap<String, u64>,
    /// CRTCs in index order (the order possible_crtcs bits refer to).
    pub crtcs: Vec<CrtcModel>,
    /// Connectors.
    pub connectors: Vec<ConnectorModel>,
    /// Planes.
    pub planes: Vec<PlaneModel>,
}

fn field<'a>(v: &'a Value, key: &str) -> Result<&'a Value, ModelError> {
    v.get(key)
        .ok_or_else(|| ModelError::Shape(format!("missing field {key:?}")))
}

fn uint(v: &Value, key: &str) -> Result<u64, ModelError> {
    field(v, key)?
        .as_u64()
        .ok_or_else(|| ModelError::Shape(format!("field {key:?} is not an unsigned integer")))
}

/// A sync position, or the active size where the dump has none (`drm_info`'s text
/// form prints only sizes and rates).
fn sync(v: &Value, key: &str, active: &str) -> Result<u64, ModelError> {
    match v.get(key) {
        Some(_) => uint(v, key),
        None => uint(v, active),
    }
}

fn properties(v: &Value) -> Properties {
    v.get("properties")
        .and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .filter_map(|(name, p)| Some((name.clone(), Property::from_drm_info(p)?)))
                .collect()
        })
        .unwrap_or_default()
}

fn array<'a>(v: &'a Value, key: &str) -> Result<&'a Vec<Value>, ModelError> {
    field(v, key)?
        .as_array()
        .ok_or_else(|| ModelError::Shape(format!("field {key:?} is not an array")))
}

fn narrow<T: TryFrom<u64>>(v: u64, what: &str) -> Result<T, ModelError> {
    T::try_from(v).map_err(|_| ModelError::Shape(format!("{what} {v} is out of range")))
}

impl DeviceModel {
    /// Loads the first device of a `drm_info -j` document (keys starting with `_` are
    /// annotations, not devices).
    pub fn from_drm_info_json(text: &str) -> Result<Self, ModelError> {
        let doc: Value = serde_json::from_str(text)?;
        let devices = doc
            .as_object()
            .ok_or_else(|| ModelError::Shape("top level is not an object".into()))?;
        let (_, dev) = devices
            .iter()
            .find(|(k, _)| !k.starts_with('_'))
            .ok_or_else(|| ModelError::Shape("no device in the document".into()))?;
        Self::from_device_value(dev)
    }

    fn from_device_value(dev: &Value) -> Result<Self, ModelError> {
        let driver_v = field(dev, "driver")?;
        let driver = field(driver_v, "name")?
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let caps = driver_v
            .get("caps")
            .and_then(Value::as_object)
            .map(|o| {
                o.iter()
                    .filter_map(|(k, v)| v.as_u64().map(|n| (k.clone(), n)))
                    .collect()
            })
            .unwrap_or_default();
        let crtcs = array(dev, "crtcs")?
            .iter()
            .map(|c| {
                Ok(CrtcModel {
                    id: narrow(uint(c, "id")?, "crtc id")?,
                    properties: properties(c),
                })
            })
            .collect::<Result<_, ModelError>>()?;
        // encoder id → possible CRTCs, for each connector's reach
        let encoders: BTreeMap<u64, u32> = dev
            .get("encoders")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|e| {
                let id = e.get("id")?.as_u64()?;
                let crtcs = u32::try_from(e.get("possible_crtcs")?.as_u64()?).ok()?;
                Some((id, crtcs))
            })
            .collect();
        // drm_info does not record the kernel's per-type numbers; the kernel hands them
        // out in creation order, which is the order listed.
        let mut seen_types: BTreeMap<u64, u32> = BTreeMap::new();
        let connectors = array(dev, "connectors")?
            .iter()
            .map(|c| {
                let kind = c.get("type").and_then(Value::as_u64).unwrap_or(0);
                let index = seen_types.entry(kind).or_insert(0);
                *index += 1;
                parse_connector(c, &encoders, *index)
            })
            .collect::<Result<_, _>>()?;
        let planes = array(dev, "planes")?
            .iter()
            .map(parse_plane)
            .collect::<Result<_, _>>()?;
        let driver_version = driver_v.get("version").and_then(|v| {
            let part = |k: &str| v.get(k).and_then(Value::as_i64);
            crate::DriverVersion::from_drm(part("major")?, part("minor")?, part("patch")?)
        });
        Ok(DeviceModel {
            driver,
            driver_version,
            caps,
            crtcs,
            connectors,
            planes,
        })
    }

    /// Every device description (`*.json`, `drm_info -j` shaped) in `dir`, with its file
    /// stem, sorted by name: the simulated devices' folder.
    pub fn load_dir(dir: &std::path::Path) -> Result<Vec<(String, Self)>, ModelError> {
        let mut out = Vec::new();
        let entries = std::fs::read_dir(dir)
            .map_err(|e| ModelError::Shape(format!("{}: {e}", dir.display())))?;
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if path.extension().is_none_or(|x| x != "json") {
                continue;
            }
            let text = std::fs::read_to_string(&path)
                .map_err(|e| ModelError::Shape(format!("{}: {e}", path.display())))?;
            let name = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            out.push((name, Self::from_drm_info_json(&text)?));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// The first attached display and the index of the first CRTC that can drive it.
    pub fn first_display(&self) -> Option<(&ConnectorModel, usize)> {
        let connector = self.connectors.iter().find(|c| c.is_display())?;
        let index = (0..self.crtcs.len()).find(|i| connector.possible_crtcs & (1 << i) != 0)?;
        Some((connector, index))
    }

    /// The properties of any object (CRTC, connector or plane) by id: requests name
    /// objects by id alone.
    pub fn properties_of(&self, object: u32) -> Option<&Properties> {
        self.crtcs
            .iter()
            .find(|c| c.id == object)
            .map(|c| &c.properties)
            .or_else(|| {
                self.connectors
                    .iter()
                    .find(|c| c.id == object)
                    .map(|c| &c.properties)
            })
            .or_else(|| {
                self.planes
                    .iter()
                    .find(|p| p.id == object)
                    .map(|p| &p.properties)
            })
    }

    /// The planes usable on the CRTC at `crtc_index`.
    pub fn planes_for_crtc(&self, crtc_index: usize) -> impl Iterator<Item = &PlaneModel> {
        let bit = 1u32.checked_shl(crtc_index as u32).unwrap_or(0);
        self.planes
            .iter()
            .filter(move |p| p.possible_crtcs & bit != 0)
    }
}

fn parse_connector(
    c: &Value,
    encoders: &BTreeMap<u64, u32>,
    type_index: u32,
) -> Result<ConnectorModel, ModelError> {
    let possible_crtcs = c
        .get("encoders")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| encoders.get(&e.as_u64()?))
        .fold(0, |mask, crtcs| mask | crtcs);
    let connection = match uint(c, "status")? {
        1 => Connection::Connected,
        2 => Connection::Disconnected,
        _ => Connection::Unknown,
    };
    let modes = array(c, "modes")?
        .iter()
        .map(|m| {
            Ok(ModeInfo {
                width: narrow(uint(m, "hdisplay")?, "hdisplay")?,
                height: narrow(uint(m, "vdisplay")?, "vdisplay")?,
                clock_khz: narrow(uint(m, "clock")?, "clock")?,
                hsync_start: narrow(sync(m, "hsync_start", "hdisplay")?, "hsync_start")?,
                hsync_end: narrow(sync(m, "hsync_end", "hdisplay")?, "hsync_end")?,
                htotal: narrow(uint(m, "htotal")?, "htotal")?,
                vsync_start: narrow(sync(m, "vsync_start", "vdisplay")?, "vsync_start")?,
                vsync_end: narrow(sync(m, "vsync_end", "vdisplay")?, "vsync_end")?,
                vtotal: narrow(uint(m, "vtotal")?, "vtotal")?,
                flags: narrow(m.get("flags").and_then(Value::as_u64).unwrap_or(0), "flags")?,
                // DRM_MODE_TYPE_PREFERRED
                preferred: uint(m, "type")? & (1 << 3) != 0,
            })
        })
        .collect::<Result<_, ModelError>>()?;
    Ok(ConnectorModel {
        id: narrow(uint(c, "id")?, "connector id")?,
        connector_type: narrow(uint(c, "type")?, "connector type")?,
        type_index,
        connection,
        modes,
        possible_crtcs,
        // drm_info -j gives a blob's bytes as base64 in "value".
        edid: c
            .pointer("/properties/EDID/value")
            .and_then(Value::as_str)
            .and_then(|b64| {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.decode(b64).ok()
            })
            .filter(|bytes| !bytes.is_empty()),
        properties: properties(c),
    })
}

fn parse_plane(p: &Value) -> Result<PlaneModel, ModelError> {
    let props = p.get("properties");
    let kind = match props
        .and_then(|ps| ps.get("type"))
        .and_then(|t| t.get("value"))
        .and_then(Value::as_u64)
    {
        Some(0) => PlaneKind::Overlay,
        Some(1) => PlaneKind::Primary,
        Some(2) => PlaneKind::Cursor,
        other => {
            return Err(ModelError::Shape(format!(
                "plane has no valid type property ({other:?})"
            )))
        }
    };
    let formats = array(p, "formats")?
        .iter()
        .filter_map(Value::as_u64)
        .filter_map(|f| u32::try_from(f).ok())
        .collect();
    let mut in_formats = BTreeMap::new();
    if let Some(list) = props
        .and_then(|ps| ps.get("IN_FORMATS"))
        .and_then(|f| f.get("data"))
        .and_then(Value::as_array)
    {
        for entry in list {
            let Some(modifier) = entry.get("modifier").and_then(Value::as_u64) else {
                continue;
            };
            for f in entry
                .get("formats")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(f) = f.as_u64().and_then(|f| u32::try_from(f).ok()) {
                    in_formats.entry(f).or_insert_with(Vec::new).push(modifier);
                }
            }
        }
    }
    Ok(PlaneModel {
        id: narrow(uint(p, "id")?, "plane id")?,
        kind,
        possible_crtcs: narrow(uint(p, "possible_crtcs")?, "possible_crtcs")?,
        formats,
        in_formats,
        properties: properties(p),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nvidia() -> DeviceModel {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../testdata/drm/nvidia-drm-sim.json"
        );
        let text = std::fs::read_to_string(path).expect("nvidia-drm description");
        DeviceModel::from_drm_info_json(&text).unwrap()
    }

    #[test]
    fn nvidia_has_one_primary_overlay_and_cursor_per_head() {
        let dev = nvidia();
        assert_eq!(dev.driver, "nvidia-drm");
        assert_eq!(dev.crtcs.len(), 4);
        for head in 0..4 {
            let kinds: Vec<_> = dev.planes_for_crtc(head).map(|p| p.kind).collect();
            assert_eq!(kinds.len(), 3, "head {head}: {kinds:?}");
            for k in [PlaneKind::Primary, PlaneKind::Overlay, PlaneKind::Cursor] {
                assert_eq!(kinds.iter().filter(|x| **x == k).count(), 1);
            }
        }
        assert_eq!(dev.caps.get("CURSOR_WIDTH"), Some(&256));
        // nvidia-drm has no zpos property on any plane.
        assert!(dev
            .planes
            .iter()
            .all(|p| !p.properties.contains_key("zpos")));
    }

    #[test]
    fn nvidia_monitor_modes_have_exact_refresh() {
        let dev = nvidia();
        let dp = dev
            .connectors
            .iter()
            .find(|c| c.connection == Connection::Connected && c.connector_type == 10)
            .expect("a connected DisplayPort monitor");
        let preferred = dp.modes.iter().find(|m| m.preferred).unwrap();
        assert_eq!((preferred.width, preferred.height), (3840, 2160));
        // 1424.18 MHz over 4400 x 2250 is 143.857 Hz, which drm_info rounds to 144.
        assert_eq!(preferred.refresh_mhz(), 143_857);
        assert!(dp.properties.contains_key("vrr_capable"));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for text in [
            "",
            "[]",
            "{}",
            "{\"/dev/dri/card0\": {}}",
            "{\"a\": {\"driver\": 3}}",
        ] {
            assert!(DeviceModel::from_drm_info_json(text).is_err(), "{text}");
        }
    }
}
