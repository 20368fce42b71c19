//! KMS properties as plain data: what kind each is, its allowed values and its current
//! value, so requests are built and checked by property name, never by a hard-coded id.

use serde_json::Value;

/// The kind of a property and what values it allows.
#[derive(Debug, Clone, PartialEq)]
pub enum PropertyKind {
    /// Unsigned range, inclusive.
    Range {
        /// Lowest value.
        min: u64,
        /// Highest value.
        max: u64,
    },
    /// Signed range, inclusive.
    SignedRange {
        /// Lowest value.
        min: i64,
        /// Highest value.
        max: i64,
    },
    /// One of named values.
    Enum(Vec<(String, u64)>),
    /// A set of named bits (value = bit number).
    Bitmask(Vec<(String, u64)>),
    /// A blob id (0 = none).
    Blob,
    /// An object id of the named type (0 = none).
    Object(String),
}

/// One property of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    /// Property id (per device; look properties up by name).
    pub id: u32,
    /// Kind and allowed values.
    pub kind: PropertyKind,
    /// Current value as the kernel reports it (raw u64; signed ranges are two's complement).
    pub value: u64,
    /// Cannot be changed by userspace.
    pub immutable: bool,
    /// Only settable through atomic commits.
    pub atomic: bool,
}

impl Property {
    /// Whether `value` is one this property accepts.
    pub fn accepts(&self, value: u64) -> bool {
        if self.immutable {
            return value == self.value;
        }
        match &self.kind {
            PropertyKind::Range { min, max } => (*min..=*max).contains(&value),
            PropertyKind::SignedRange { min, max } => (*min..=*max).contains(&(value as i64)),
            PropertyKind::Enum(values) => values.iter().any(|(_, v)| *v == value),
            // Bit names unknown (read through an API that does not give them).
            PropertyKind::Bitmask(bits) if bits.is_empty() => true,
            PropertyKind::Bitmask(bits) => {
                let allowed = bits.iter().fold(0u64, |m, (_, bit)| {
                    m | 1u64.checked_shl(*bit as u32).unwrap_or(0)
                });
                value & !allowed == 0
            }
            PropertyKind::Blob | PropertyKind::Object(_) => true,
        }
    }

    /// The value of the enum entry (or bitmask bit) called `name`.
    pub fn enum_value(&self, name: &str) -> Option<u64> {
        match &self.kind {
            PropertyKind::Enum(values) => values.iter().find(|(n, _)| n == name).map(|(_, v)| *v),
            PropertyKind::Bitmask(bits) => bits
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, bit)| 1u64 << bit),
            _ => None,
        }
    }

    /// Reads one property of `drm_info -j` (DRM_MODE_PROP_* type codes).
    pub fn from_drm_info(v: &Value) -> Option<Self> {
        let ty = v.get("type")?.as_u64()?;
        let named = |spec: &Value| -> Vec<(String, u64)> {
            spec.as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| {
                    Some((
                        e.get("name")?.as_str()?.to_owned(),
                        e.get("value")?.as_u64()?,
                    ))
                })
                .collect()
        };
        let spec = v.get("spec").unwrap_or(&Value::Null);
        let kind = match ty {
            2 => PropertyKind::Range {
                min: spec.get("min")?.as_u64()?,
                max: spec.get("max")?.as_u64()?,
            },
            8 => PropertyKind::Enum(named(spec)),
            16 => PropertyKind::Blob,
            32 => PropertyKind::Bitmask(named(spec)),
            64 => PropertyKind::Object(spec.as_str().unwrap_or_default().to_owned()),
            128 => PropertyKind::SignedRange {
                min: spec.get("min")?.as_i64()?,
                max: spec.get("max")?.as_i64()?,
            },
            _ => return None,
        };
        Some(Self {
            id: u32::try_from(v.get("id")?.as_u64()?).ok()?,
            kind,
            value: v
                .get("raw_value")
                .and_then(|r| r.as_u64().or_else(|| r.as_i64().map(|s| s as u64)))
                .unwrap_or(0),
            immutable: v.get("immutable").and_then(Value::as_bool).unwrap_or(false),
            atomic: v.get("atomic").and_then(Value::as_bool).unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_by_kind() {
        let range = Property {
            id: 1,
            kind: PropertyKind::Range { min: 6, max: 12 },
            value: 12,
            immutable: false,
            atomic: false,
        };
        assert!(range.accepts(10) && !range.accepts(16));
        let rotation = Property {
            kind: PropertyKind::Bitmask(vec![("rotate-0".into(), 0), ("reflect-x".into(), 4)]),
            ..range.clone()
        };
        assert_eq!(rotation.enum_value("reflect-x"), Some(16));
        assert!(rotation.accepts(1 | 16) && !rotation.accepts(2));
        let fixed = Property {
            immutable: true,
            ..range
        };
        assert!(fixed.accepts(12) && !fixed.accepts(10));
    }
}
