//! FB_DAMAGE_CLIPS on the primary plane: sent only where the plane has the property
//! (the Qualcomm dump's planes do; nvidia-drm creates none, testdata/drm/nvidia-drm.md),
//! clipped to the frame, and taken by the simulated device as the kernel takes them.

use std::{collections::BTreeMap, path::Path};

use ghost_kms::{scanout::damage_clips, setup::light_outputs};
use ghostnv_backend::{
    sim::{AtomicRequest, Refusal, SimDevice},
    DeviceModel, PlaneKind,
};

fn load(path: &Path) -> DeviceModel {
    DeviceModel::from_drm_info_json(&std::fs::read_to_string(path).expect("read")).expect("loads")
}

fn qcom() -> DeviceModel {
    load(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../ghostnv-backend/devices/qcom_msm_qcm2290.json"),
    )
}

fn nvidia() -> DeviceModel {
    load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/drm/nvidia-drm-sim.json"))
}

fn primary(model: &DeviceModel) -> u32 {
    model
        .planes
        .iter()
        .find(|p| p.kind == PlaneKind::Primary)
        .expect("a primary plane")
        .id
}

#[test]
fn clips_go_where_the_plane_takes_them_clipped_to_the_frame() {
    let damage = [(10, 10, 100, 50), (1000, 700, 100, 100), (2000, 0, 5, 5)];
    let qcom = qcom();
    assert_eq!(
        damage_clips(&qcom, primary(&qcom), &damage, (1024, 768)),
        Some(vec![(10, 10, 100, 50), (1000, 700, 24, 68)])
    );
    assert_eq!(damage_clips(&qcom, primary(&qcom), &[], (1024, 768)), None);
    let nvidia = nvidia();
    assert_eq!(
        damage_clips(&nvidia, primary(&nvidia), &damage, (1024, 768)),
        None,
        "nvidia-drm planes have no FB_DAMAGE_CLIPS"
    );
}

#[test]
fn the_device_takes_clips_on_a_plane_with_the_property_only() {
    for (model, takes) in [(qcom(), true), (nvidia(), false)] {
        let mut dev = SimDevice::new(model.clone());
        let lit = light_outputs(&mut dev, &BTreeMap::new(), &BTreeMap::new()).expect("lit");
        let plane = lit[0].plane;
        let flip = dev.committed.last().expect("the modeset").clone();
        let mut request = AtomicRequest {
            crtcs: Vec::new(),
            allow_modeset: false,
            ..flip
        };
        request.damage_clips.push((plane, vec![(0, 0, 64, 64)]));
        let result = dev.test(&request);
        assert_eq!(result.is_ok(), takes, "{}: {result:?}", model.driver);
        if takes {
            request.async_flip = true;
            assert_eq!(dev.test(&request), Err(Refusal::Async));
        }
    }
}
