//! A monitor's identity that survives moving it to another port.

use serde::Serialize;

use super::DisplayInfo;

/// Make, model and serial of a monitor, with the connector as tie-breaker when two
/// connected monitors report the same triple (common for identical models that leave
/// the serial empty). `[[output]]` config sections and saved layouts key on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutputIdentity {
    /// Connector name, e.g. "DP-1".
    pub connector: String,
    /// Vendor name, or the PNP id when the registry does not know it.
    pub make: String,
    /// PNP id, e.g. "DEL".
    pub pnp_id: String,
    /// Product name, or the product code in hex when there is none.
    pub model: String,
    /// Serial string, or the serial number in decimal, or empty.
    pub serial: String,
    /// Whether the connector is part of the key because another output has the same
    /// make, model and serial.
    pub needs_connector: bool,
}

impl OutputIdentity {
    /// The identity of the monitor on `connector`; without an EDID every field but
    /// the connector is "Unknown" so the connector alone identifies it.
    pub fn new(connector: &str, info: Option<&DisplayInfo>) -> Self {
        let unknown = || "Unknown".to_owned();
        let Some(info) = info.filter(|i| i.edid_version.is_some()) else {
            return Self {
                connector: connector.to_owned(),
                make: unknown(),
                pnp_id: String::new(),
                model: unknown(),
                serial: String::new(),
                needs_connector: true,
            };
        };
        Self {
            connector: connector.to_owned(),
            make: info.make().to_owned(),
            pnp_id: info.vendor.pnp_id.clone(),
            model: info
                .model
                .clone()
                .unwrap_or_else(|| format!("0x{:04X}", info.product_code)),
            serial: info
                .serial
                .text
                .clone()
                .or_else(|| info.serial.number.map(|n| n.to_string()))
                .unwrap_or_default(),
            needs_connector: false,
        }
    }

    /// The stable key: "make/model/serial", plus "@connector" where that is ambiguous.
    pub fn key(&self) -> String {
        let base = format!("{}/{}/{}", self.make, self.model, self.serial);
        if self.needs_connector {
            format!("{base}@{}", self.connector)
        } else {
            base
        }
    }

    /// Marks every identity whose make, model and serial another one shares, so their
    /// keys include the connector.
    pub fn disambiguate(identities: &mut [OutputIdentity]) {
        let triples: Vec<_> = identities
            .iter()
            .map(|i| (i.make.clone(), i.model.clone(), i.serial.clone()))
            .collect();
        for (index, identity) in identities.iter_mut().enumerate() {
            let shared = triples
                .iter()
                .enumerate()
                .any(|(other, t)| other != index && *t == triples[index]);
            identity.needs_connector |= shared;
        }
    }

    /// Whether a config section with these optional fields names this monitor: by
    /// connector, or by every given identifier (make matches the vendor name or the
    /// PNP id, case-insensitively).
    pub fn matches(
        &self,
        connector: Option<&str>,
        make: Option<&str>,
        model: Option<&str>,
        serial: Option<&str>,
    ) -> bool {
        if connector == Some(self.connector.as_str()) {
            return true;
        }
        if make.is_none() && model.is_none() && serial.is_none() {
            return false;
        }
        let make_ok = make.is_none_or(|m| {
            m.eq_ignore_ascii_case(&self.make) || m.eq_ignore_ascii_case(&self.pnp_id)
        });
        make_ok && model.is_none_or(|m| m == self.model) && serial.is_none_or(|s| s == self.serial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::display_info::{Serial, Vendor};

    fn info(serial: Option<&str>) -> DisplayInfo {
        DisplayInfo {
            edid_version: Some((1, 4)),
            vendor: Vendor {
                pnp_id: "DEL".into(),
                name: Some("Dell Inc.".into()),
            },
            product_code: 0xa079,
            model: Some("DELL U2412M".into()),
            serial: Serial {
                number: None,
                text: serial.map(Into::into),
            },
            ..DisplayInfo::default()
        }
    }

    #[test]
    fn config_matches_by_connector_or_every_given_identifier() {
        let id = OutputIdentity::new("DP-1", Some(&info(Some("ABC"))));
        assert!(id.matches(Some("DP-1"), None, None, None));
        assert!(id.matches(None, Some("Dell Inc."), Some("DELL U2412M"), None));
        assert!(id.matches(None, Some("del"), None, Some("ABC")));
        assert!(!id.matches(None, Some("DEL"), None, Some("XYZ")));
        assert!(!id.matches(Some("HDMI-A-1"), None, None, None));
        assert!(!id.matches(None, None, None, None));
    }

    #[test]
    fn identical_monitors_without_serials_are_told_apart_by_connector() {
        let mut ids = vec![
            OutputIdentity::new("DP-1", Some(&info(None))),
            OutputIdentity::new("DP-2", Some(&info(None))),
            OutputIdentity::new("DP-3", Some(&info(Some("ABC")))),
        ];
        OutputIdentity::disambiguate(&mut ids);
        assert_eq!(ids[0].key(), "Dell Inc./DELL U2412M/@DP-1");
        assert_eq!(ids[1].key(), "Dell Inc./DELL U2412M/@DP-2");
        assert_eq!(ids[2].key(), "Dell Inc./DELL U2412M/ABC");
    }

    #[test]
    fn no_edid_means_the_connector_is_the_identity() {
        let id = OutputIdentity::new("eDP-1", None);
        assert_eq!(id.key(), "Unknown/Unknown/@eDP-1");
    }
}
