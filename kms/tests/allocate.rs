//! CRTC allocation on every simulated device: a maximum matching that keeps current
//! pairs, and a modeset built from it that the simulated device accepts.

use std::{collections::BTreeMap, path::Path};

use ghost_kms::allocate::allocate_crtcs;
use ghostnv_backend::{
    sim::{AtomicRequest, CrtcState, Framebuffer, PlaneState, SimDevice},
    DeviceModel, PlaneKind, MODIFIER_LINEAR,
};
use proptest::prelude::*;

fn devices() -> Vec<DeviceModel> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out: Vec<DeviceModel> = DeviceModel::load_dir(&root.join("../ghostnv-backend/devices"))
        .expect("device files")
        .into_iter()
        .map(|(_, model)| model)
        .collect();
    let nvidia = std::fs::read_to_string(root.join("../testdata/drm/nvidia-drm-sim.json"));
    out.push(DeviceModel::from_drm_info_json(&nvidia.expect("nvidia")).expect("loads"));
    out
}

/// The size of a maximum matching by brute force (small devices only).
fn best(model: &DeviceModel, connectors: &[u32]) -> usize {
    fn go(model: &DeviceModel, rest: &[u32], used: u32) -> usize {
        let Some((first, rest)) = rest.split_first() else {
            return 0;
        };
        let skip = go(model, rest, used);
        let reach = model
            .connectors
            .iter()
            .find(|c| c.id == *first)
            .map_or(0, |c| c.possible_crtcs);
        (0..model.crtcs.len())
            .filter(|i| reach & (1 << i) != 0 && used & (1 << i) == 0)
            .map(|i| 1 + go(model, rest, used | 1 << i))
            .fold(skip, usize::max)
    }
    go(model, connectors, 0)
}

proptest! {
    #[test]
    fn allocation_is_a_maximum_matching_that_keeps_current_pairs(pick in any::<u64>(), keep in any::<u64>()) {
        for model in devices() {
            let connectors: Vec<u32> = model
                .connectors
                .iter()
                .enumerate()
                .filter(|(i, _)| pick & (1 << i) != 0)
                .map(|(_, c)| c.id)
                .collect();
            let first = allocate_crtcs(&model, &connectors, &BTreeMap::new());
            prop_assert_eq!(first.len(), best(&model, &connectors));
            let mut used = std::collections::BTreeSet::new();
            for (connector, crtc) in &first {
                prop_assert!(used.insert(*crtc), "CRTC used twice");
                let index = model.crtcs.iter().position(|c| c.id == *crtc).unwrap();
                let reach = model.connectors.iter().find(|c| c.id == *connector).unwrap().possible_crtcs;
                prop_assert!(reach & (1 << index) != 0);
            }
            // Re-allocating with some of those pairs as current still lights as many,
            // and keeps every current pair (they came from a maximum matching, so
            // keeping them never costs an output).
            let current: BTreeMap<u32, u32> = first
                .iter()
                .enumerate()
                .filter(|(i, _)| keep & (1 << i) != 0)
                .map(|(_, (k, v))| (*k, *v))
                .collect();
            let again = allocate_crtcs(&model, &connectors, &current);
            prop_assert_eq!(again.len(), first.len());
            for (connector, crtc) in &current {
                prop_assert_eq!(again.get(connector), Some(crtc));
            }
        }
    }
}

#[test]
fn one_modeset_lights_every_connected_output() {
    for model in devices() {
        let connected: Vec<u32> = model
            .connectors
            .iter()
            .filter(|c| {
                c.connection == ghostnv_backend::Connection::Connected && !c.modes.is_empty()
            })
            .map(|c| c.id)
            .collect();
        let pairs = allocate_crtcs(&model, &connected, &BTreeMap::new());
        assert_eq!(pairs.len(), connected.len(), "{}", model.driver);
        let mut request = AtomicRequest {
            allow_modeset: true,
            ..AtomicRequest::default()
        };
        for (connector, crtc) in &pairs {
            let c = model
                .connectors
                .iter()
                .find(|c| c.id == *connector)
                .unwrap();
            let mode = c
                .modes
                .iter()
                .find(|m| m.preferred)
                .unwrap_or(&c.modes[0])
                .clone();
            let index = model.crtcs.iter().position(|k| k.id == *crtc).unwrap();
            let plane = model
                .planes_for_crtc(index)
                .find(|p| p.kind == PlaneKind::Primary)
                .unwrap();
            let (w, h) = (u32::from(mode.width), u32::from(mode.height));
            request.planes.push(PlaneState {
                plane: plane.id,
                crtc: Some(*crtc),
                fb: Framebuffer {
                    format: 0x3432_5258,
                    modifier: MODIFIER_LINEAR,
                    width: w,
                    height: h,
                },
                src: (0, 0, w, h),
                dst: (0, 0, w, h),
            });
            request.crtcs.push(CrtcState {
                crtc: *crtc,
                mode: Some(mode),
                connectors: vec![*connector],
            });
        }
        let mut dev = SimDevice::new(model.clone());
        dev.commit(&request)
            .unwrap_or_else(|e| panic!("{}: {e}", model.driver));
    }
}
