//! The quirk table's version bounds, checked against what NVIDIA's releases do rather
//! than against the table: the same nvidia-drm description at releases on both sides of
//! each bound, and the first release of each feature written here from NVIDIA's
//! open-gpu-kernel-modules tags (testdata/drm/nvidia-drm.md, "Version gate summary").

use std::path::Path;

use ghostnv_backend::{
    quirks::{self, Gates},
    sim::{AtomicRequest, Refusal, SimDevice},
    DeviceModel, DriverVersion, PlaneKind,
};

fn nvidia_at(release: &str) -> DeviceModel {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/drm/nvidia-drm-sim.json");
    let text = std::fs::read_to_string(path).expect("nvidia description");
    let mut model = DeviceModel::from_drm_info_json(&text).expect("loads");
    assert_eq!(
        model.driver_version, None,
        "nvidia-drm reports DRM version 0.0.0 (nvidia-drm-drv.c:1920-1926)"
    );
    model.driver_version = Some(release.parse().expect("a release"));
    model
}

fn gates_at(release: &str) -> Gates {
    quirks::gates(&nvidia_at(release))
}

/// A property on the first object of `kind` of the nvidia description, as a flip or
/// modeset would send it.
fn request_with(model: &DeviceModel, name: &str, value: u64) -> AtomicRequest {
    let object = model
        .planes
        .iter()
        .filter(|p| p.kind == PlaneKind::Primary)
        .map(|p| (p.id, &p.properties))
        .chain(model.connectors.iter().map(|c| (c.id, &c.properties)))
        .find(|(_, props)| props.contains_key(name))
        .map(|(id, _)| id)
        .unwrap_or_else(|| panic!("no object with {name}"));
    let mut request = AtomicRequest::default();
    request.properties.push((object, name.to_owned(), value));
    request.allow_modeset = true;
    request
}

#[test]
fn fenced_planes_fail_before_560_28_03_and_work_from_it() {
    // 555.58.02, nvidia-drm-crtc.c:398-401: on desktop GPUs (no syncpoints) a plane with
    // an in-fence fails the plane check. 560.28.03 turns in-fences into display
    // semaphores (nvidia-drm-modeset.c:178-312).
    for (release, takes) in [
        ("555.58.02", false),
        ("560.28.03", true),
        ("595.45.04", true),
    ] {
        let model = nvidia_at(release);
        assert_eq!(gates_at(release).in_fence, takes, "{release}");
        let mut dev = SimDevice::new(model.clone());
        let result = dev.test(&request_with(&model, "IN_FENCE_FD", 7));
        assert_eq!(result.is_ok(), takes, "{release}: {result:?}");
        if !takes {
            assert!(matches!(result, Err(Refusal::Release(name, _)) if name == "IN_FENCE_FD"));
        }
    }
}

#[test]
fn syncobj_timelines_need_555_42_02_and_the_kernels_cap() {
    // DRIVER_SYNCOBJ | DRIVER_SYNCOBJ_TIMELINE first appear in 555.42.02
    // (nvidia-drm-drv.c:1844-1851), and only on kernels that have them (the cap says).
    assert!(!gates_at("550.127.05").syncobj_timeline);
    assert!(gates_at("555.42.02").syncobj_timeline);
    let mut no_cap = nvidia_at("595.45.04");
    no_cap.caps.insert("SYNCOBJ_TIMELINE".into(), 0);
    assert!(!quirks::gates(&no_cap).syncobj_timeline);
}

#[test]
fn connector_hdr_properties_need_545_23_06() {
    // HDR_OUTPUT_METADATA and Colorspace on DP/HDMI connectors first appear in 545.23.06
    // (nvidia-drm-connector.c:584-608).
    for (release, takes) in [("535.216.01", false), ("545.23.06", true)] {
        let model = nvidia_at(release);
        assert_eq!(
            gates_at(release).hdr_connector_properties,
            takes,
            "{release}"
        );
        let mut dev = SimDevice::new(model.clone());
        // Colorspace's BT2020_RGB value is 9 in the DRM core's enum.
        let result = dev.test(&request_with(&model, "Colorspace", 9));
        assert_eq!(result.is_ok(), takes, "{release}: {result:?}");
    }
}

#[test]
fn atomic_modesetting_needs_515_43_04_and_an_unknown_release_keeps_it() {
    // Atomic commits with async flips landed in 515.43.04 (the first open-source tag).
    assert!(!gates_at("510.108.03").atomic);
    assert!(gates_at("515.43.04").atomic);
    let mut unknown = nvidia_at("595.45.04");
    unknown.driver_version = None;
    let gates = quirks::gates(&unknown);
    assert!(gates.atomic, "the kernel already agreed to atomic");
    assert!(
        !gates.in_fence && !gates.syncobj_timeline && !gates.hdr_connector_properties,
        "features of an unknown release stay off: {gates:?}"
    );
}

#[test]
fn drivers_without_bounds_gate_nothing() {
    let mut vkms = nvidia_at("595.45.04");
    vkms.driver = "vkms".into();
    vkms.driver_version = Some(DriverVersion(1, 0, 0));
    let gates = quirks::gates(&vkms);
    assert!(gates.atomic && gates.in_fence && gates.hdr_connector_properties);
}
