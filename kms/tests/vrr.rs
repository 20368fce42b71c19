//! VRR_ENABLED and async flips on the simulated devices: nvidia-drm (a VRR monitor on
//! DP, a fixed-rate one on HDMI, async flips) and the Intel dumps (no vrr_capable).

use std::{collections::BTreeMap, path::Path};

use ghost_kms::{
    display_info::DisplayInfo,
    setup::light_outputs,
    vrr::{apply_vrr, async_flip_allowed, vrr_capable, VrrInputs},
};
use ghost_vrr::policy::{ContentType, Policy};
use ghostnv_backend::{
    sim::{AtomicRequest, Refusal, SimDevice},
    DeviceModel,
};

fn load(path: &Path) -> DeviceModel {
    DeviceModel::from_drm_info_json(&std::fs::read_to_string(path).expect("read")).expect("loads")
}

fn nvidia() -> DeviceModel {
    load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/drm/nvidia-drm-sim.json"))
}

fn game(policy: Policy) -> VrrInputs<'static> {
    VrrInputs {
        policy,
        fullscreen: true,
        content: ContentType::Game,
        display: None,
    }
}

#[test]
fn vrr_goes_on_where_the_monitor_and_crtc_can_and_the_policy_wants() {
    let model = nvidia();
    let mut dev = SimDevice::new(model.clone());
    let lit = light_outputs(&mut dev, &BTreeMap::new(), &BTreeMap::new()).expect("lit");
    assert_eq!(lit.len(), 2);
    for output in &lit {
        let capable = vrr_capable(&model, output.connector, output.crtc);
        let mut request = AtomicRequest::default();
        let on = apply_vrr(
            &mut request,
            &model,
            output.connector,
            output.crtc,
            game(Policy::Fullscreen),
        );
        assert_eq!(on, capable);
        assert_eq!(
            request.properties,
            vec![(output.crtc, "VRR_ENABLED".to_owned(), u64::from(capable))]
        );
        dev.test(&request).expect("the device takes VRR_ENABLED");
        let mut off = AtomicRequest::default();
        assert!(!apply_vrr(
            &mut off,
            &model,
            output.connector,
            output.crtc,
            game(Policy::Off)
        ));
        let mut windowed = AtomicRequest::default();
        let inputs = VrrInputs {
            fullscreen: false,
            ..game(Policy::ContentType)
        };
        assert!(!apply_vrr(
            &mut windowed,
            &model,
            output.connector,
            output.crtc,
            inputs
        ));
    }
    // Exactly one of the two monitors (the DP one) is VRR capable.
    assert_eq!(
        lit.iter()
            .filter(|o| vrr_capable(&model, o.connector, o.crtc))
            .count(),
        1
    );
}

#[test]
fn a_display_without_a_stated_range_gets_no_vrr() {
    let model = nvidia();
    let mut dev = SimDevice::new(model.clone());
    let lit = light_outputs(&mut dev, &BTreeMap::new(), &BTreeMap::new()).expect("lit");
    let dp = lit
        .iter()
        .find(|o| vrr_capable(&model, o.connector, o.crtc))
        .expect("the VRR output");
    let fixed = DisplayInfo::default();
    let mut request = AtomicRequest::default();
    let inputs = VrrInputs {
        display: Some(&fixed),
        ..game(Policy::On)
    };
    assert!(!apply_vrr(
        &mut request,
        &model,
        dp.connector,
        dp.crtc,
        inputs
    ));
}

#[test]
fn intel_has_the_crtc_property_but_no_capable_connector() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ghostnv-backend/devices/intel_i915_coffeelake_8086-3e9b.json");
    let model = load(&path);
    let mut dev = SimDevice::new(model.clone());
    let lit = light_outputs(&mut dev, &BTreeMap::new(), &BTreeMap::new()).expect("lit");
    let mut request = AtomicRequest::default();
    assert!(!apply_vrr(
        &mut request,
        &model,
        lit[0].connector,
        lit[0].crtc,
        game(Policy::On)
    ));
    dev.test(&request).expect("VRR_ENABLED = 0 is valid");
}

#[test]
fn async_flips_only_for_the_primary_on_devices_that_have_them() {
    let model = nvidia();
    let mut dev = SimDevice::new(model.clone());
    let lit = light_outputs(&mut dev, &BTreeMap::new(), &BTreeMap::new()).expect("lit");
    let modeset = dev.committed[0].clone();
    let flip = AtomicRequest {
        planes: modeset
            .planes
            .iter()
            .filter(|p| p.crtc == Some(lit[0].crtc))
            .copied()
            .collect(),
        async_flip: true,
        ..AtomicRequest::default()
    };
    assert!(async_flip_allowed(&model, &flip, true));
    assert!(
        !async_flip_allowed(&model, &flip, false),
        "the client did not ask"
    );
    assert_eq!(dev.test(&flip), Ok(()));
    let with_vrr = AtomicRequest {
        properties: vec![(lit[0].crtc, "VRR_ENABLED".into(), 1)],
        ..flip.clone()
    };
    assert!(!async_flip_allowed(&model, &with_vrr, true));
    assert_eq!(dev.test(&with_vrr), Err(Refusal::Async));
    let mut no_async = model.clone();
    no_async.caps.insert("ASYNC_PAGE_FLIP".into(), 0);
    assert!(!async_flip_allowed(&no_async, &flip, true));
}

#[test]
fn the_monitors_own_edid_decides_the_range() {
    // DP-1 carries a Samsung LS28AG700N EDID (48-144 Hz), HDMI-A-1 a Samsung S24D300.
    let model = nvidia();
    let mut dev = SimDevice::new(model.clone());
    let lit = light_outputs(&mut dev, &BTreeMap::new(), &BTreeMap::new()).expect("lit");
    let mut ranges = Vec::new();
    for output in &lit {
        let edid = model
            .connectors
            .iter()
            .find(|c| c.id == output.connector)
            .and_then(|c| c.edid.clone())
            .expect("the simulated connector carries its monitor's EDID");
        let info = DisplayInfo::parse(&edid);
        let mut request = AtomicRequest::default();
        let inputs = VrrInputs {
            display: Some(&info),
            ..game(Policy::Fullscreen)
        };
        let on = apply_vrr(&mut request, &model, output.connector, output.crtc, inputs);
        ranges.push((
            info.model.clone(),
            info.vrr.range.map(|r| (r.min_hz, r.max_hz)),
            on,
        ));
    }
    assert!(
        ranges.iter().any(|(_, r, on)| *r == Some((48, 144)) && *on),
        "the 144 Hz monitor gets VRR: {ranges:?}"
    );
    assert!(
        ranges.iter().any(|(_, r, on)| r.is_none() && !on),
        "the 60 Hz monitor does not: {ranges:?}"
    );
}

#[test]
fn the_gpu_fence_rides_the_plane_only_where_the_release_takes_it() {
    use ghost_kms::scanout::fence_on_plane;
    // nvidia-drm before 560.28.03 fails a plane with an in-fence on desktop GPUs
    // (555.58.02 nvidia-drm-crtc.c:398-401): the compositor waits for its GPU instead.
    let mut model = nvidia();
    model.driver_version = Some("555.58.02".parse().expect("release"));
    assert!(!fence_on_plane(&model, false));
    model.driver_version = Some("560.28.03".parse().expect("release"));
    assert!(fence_on_plane(&model, false));
    // A tearing flip carries no properties at all.
    assert!(!fence_on_plane(&model, true));
}
