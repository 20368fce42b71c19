//! A kernel driver's version, for the quirk table's bounds. DRM's own version triple is
//! not always the one that matters: nvidia-drm reports 0.0.0 whatever its release, so
//! the release is read from its kernel module instead.

use std::{fmt, str::FromStr};

/// A driver release, ordered as its numbers read (560.28.03 > 555.58.02).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DriverVersion(pub u32, pub u32, pub u32);

impl DriverVersion {
    /// A version from DRM's triple; 0.0.0 means the driver does not say.
    pub fn from_drm(major: i64, minor: i64, patch: i64) -> Option<Self> {
        let part = |n: i64| u32::try_from(n).ok();
        let version = Self(part(major)?, part(minor)?, part(patch)?);
        (version != Self(0, 0, 0)).then_some(version)
    }
}

impl fmt::Display for DriverVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // NVIDIA's releases (three-digit majors) write the patch level with two digits,
        // 560.28.03; the kernel's own drivers do not, vkms 1.0.0.
        if self.0 >= 100 {
            write!(f, "{}.{}.{:02}", self.0, self.1, self.2)
        } else {
            write!(f, "{}.{}.{}", self.0, self.1, self.2)
        }
    }
}

/// Why a version string could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not a driver version (major.minor[.patch])")]
pub struct BadVersion(String);

impl FromStr for DriverVersion {
    type Err = BadVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let bad = || BadVersion(text.to_owned());
        let mut parts = text.split('.');
        let mut next = |required: bool| -> Result<u32, BadVersion> {
            match parts.next() {
                Some(p) => p.parse().map_err(|_| bad()),
                None if required => Err(bad()),
                None => Ok(0),
            }
        };
        let version = Self(next(true)?, next(true)?, next(false)?);
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nvidia_releases_read_and_order_as_released() {
        let v: DriverVersion = "560.28.03\n".parse().expect("reads");
        assert_eq!(v, DriverVersion(560, 28, 3));
        assert_eq!(v.to_string(), "560.28.03");
        assert!(v > "555.58.02".parse().expect("reads"));
        assert!(
            "525.53".parse::<DriverVersion>().expect("reads") < "545.23.06".parse().expect("reads")
        );
        for bad in ["", "560", "560.x.1", "1.2.3.4", "-1.2"] {
            assert!(bad.parse::<DriverVersion>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn drm_zero_means_unknown() {
        assert_eq!(DriverVersion::from_drm(0, 0, 0), None);
        assert_eq!(
            DriverVersion::from_drm(1, 0, 0),
            Some(DriverVersion(1, 0, 0))
        );
        assert_eq!(DriverVersion(1, 0, 0).to_string(), "1.0.0");
        assert_eq!(DriverVersion::from_drm(-1, 0, 0), None);
    }
}
