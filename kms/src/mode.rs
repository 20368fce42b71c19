//! Mode selection: the user's request against what the display offers.

use ghostnv_backend::ModeInfo;

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeRequest {
    /// The display's preferred (native) mode; the first mode if none is marked.
    Preferred,
    /// The highest refresh rate at the largest size.
    HighestRefresh,
    /// A size, and optionally a refresh in mHz (nearest wins when absent or inexact).
    Exact {
        /// Width in pixels.
        width: u16,
        /// Height in pixels.
        height: u16,
        /// Refresh in millihertz.
        refresh_mhz: Option<i32>,
    },
}

/// Picks the mode for `request` from `modes`. An exact request the display cannot do
/// falls back to the preferred mode, so a stale config never leaves an output dark.
pub fn select_mode(modes: &[ModeInfo], request: ModeRequest) -> Option<&ModeInfo> {
    let preferred = || modes.iter().find(|m| m.preferred).or_else(|| modes.first());
    match request {
        ModeRequest::Preferred => preferred(),
        ModeRequest::HighestRefresh => modes.iter().max_by_key(|m| {
            (
                m.width as u32 * m.height as u32,
                m.refresh_mhz(),
                m.preferred,
            )
        }),
        ModeRequest::Exact {
            width,
            height,
            refresh_mhz,
        } => {
            let same_size = modes
                .iter()
                .filter(|m| m.width == width && m.height == height);
            let best = match refresh_mhz {
                Some(want) => same_size.min_by_key(|m| (m.refresh_mhz() - want).abs()),
                None => same_size.max_by_key(|m| (m.preferred, m.refresh_mhz())),
            };
            best.or_else(preferred)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ghostnv_backend::{Connection, DeviceModel};

    fn mode(w: u16, h: u16, hz: u32, preferred: bool) -> ModeInfo {
        // htotal × vtotal = 1000 × 1000, so clock_khz = hz × 1000.
        ModeInfo {
            width: w,
            height: h,
            clock_khz: hz * 1000,
            htotal: 1000,
            vtotal: 1000,
            preferred,
            ..ModeInfo::default()
        }
    }

    #[test]
    fn picks_by_request() {
        let modes = [
            mode(2560, 1440, 60, true),
            mode(2560, 1440, 144, false),
            mode(1920, 1080, 240, false),
        ];
        assert_eq!(select_mode(&modes, ModeRequest::Preferred), Some(&modes[0]));
        assert_eq!(
            select_mode(&modes, ModeRequest::HighestRefresh),
            Some(&modes[1])
        );
        let exact = ModeRequest::Exact {
            width: 1920,
            height: 1080,
            refresh_mhz: Some(239_760),
        };
        assert_eq!(select_mode(&modes, exact), Some(&modes[2]));
        let missing = ModeRequest::Exact {
            width: 800,
            height: 600,
            refresh_mhz: None,
        };
        assert_eq!(select_mode(&modes, missing), Some(&modes[0]));
        assert_eq!(select_mode(&[], ModeRequest::Preferred), None);
    }

    #[test]
    fn nvidia_monitors_get_their_native_modes() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../testdata/drm/nvidia-drm-sim.json"
        ))
        .unwrap();
        let dev = DeviceModel::from_drm_info_json(&text).unwrap();
        let mut sizes: Vec<_> = dev
            .connectors
            .iter()
            .filter(|c| c.connection == Connection::Connected)
            .filter_map(|c| select_mode(&c.modes, ModeRequest::Preferred))
            .map(|m| (m.width, m.height))
            .collect();
        sizes.sort();
        assert_eq!(sizes, vec![(1920, 1080), (3840, 2160)]);
    }
}
