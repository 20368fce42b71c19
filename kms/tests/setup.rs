//! Output setup on every simulated device: all connected outputs lit in one commit,
//! and every refusal stepped down from instead of ending in a black screen.

use std::{collections::BTreeMap, path::Path};

use ghost_kms::setup::{light_outputs, OutputWish, XRGB2101010, XRGB8888};
use ghostnv_backend::{sim::SimDevice, Connection, DeviceModel};

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

fn connected(model: &DeviceModel) -> usize {
    model
        .connectors
        .iter()
        .filter(|c| c.connection == Connection::Connected && !c.modes.is_empty())
        .count()
}

fn deep_colour_everywhere(model: &DeviceModel) -> BTreeMap<u32, OutputWish> {
    model
        .connectors
        .iter()
        .map(|c| {
            (
                c.id,
                OutputWish {
                    mode: None,
                    formats: vec![XRGB2101010],
                    hdr: None,
                    custom: false,
                },
            )
        })
        .collect()
}

#[test]
fn every_device_lights_all_its_outputs_in_one_commit() {
    for model in devices() {
        let mut dev = SimDevice::new(model.clone());
        let lit = light_outputs(&mut dev, &BTreeMap::new(), &BTreeMap::new())
            .unwrap_or_else(|e| panic!("{}: {e}", model.driver));
        assert_eq!(lit.len(), connected(&model), "{}", model.driver);
        assert_eq!(
            dev.committed.len(),
            1,
            "{}: one atomic modeset",
            model.driver
        );
        assert!(lit.iter().all(|o| o.format == XRGB8888 && o.mode.preferred));
    }
}

#[test]
fn deep_colour_is_used_where_the_primary_has_it_and_stepped_down_from_where_not() {
    for model in devices() {
        let mut dev = SimDevice::new(model.clone());
        let lit = light_outputs(&mut dev, &deep_colour_everywhere(&model), &BTreeMap::new())
            .unwrap_or_else(|e| panic!("{}: {e}", model.driver));
        for o in &lit {
            let plane = model
                .planes
                .iter()
                .find(|p| p.id == o.plane)
                .expect("plane");
            let has = plane.supports(XRGB2101010, 0);
            assert_eq!(o.format == XRGB2101010, has, "{}: {o:?}", model.driver);
        }
    }
}

#[test]
fn a_refused_format_falls_back_to_xrgb8888() {
    for model in devices() {
        let mut dev = SimDevice::new(model.clone());
        // As a driver's bandwidth check would: 10-bit buffers refused on every head.
        dev.inject = Some(Box::new(|r| {
            r.planes
                .iter()
                .any(|p| p.fb.format == XRGB2101010)
                .then(|| "no bandwidth for 10-bit".to_owned())
        }));
        let lit = light_outputs(&mut dev, &deep_colour_everywhere(&model), &BTreeMap::new())
            .unwrap_or_else(|e| panic!("{}: {e}", model.driver));
        assert_eq!(lit.len(), connected(&model));
        assert!(lit.iter().all(|o| o.format == XRGB8888));
        assert_eq!(dev.committed.len(), 1);
    }
}

#[test]
fn when_two_heads_do_not_fit_one_is_still_lit() {
    let model = devices()
        .into_iter()
        .find(|m| m.driver == "nvidia-drm")
        .expect("nvidia");
    assert_eq!(connected(&model), 2);
    let mut dev = SimDevice::new(model);
    dev.inject = Some(Box::new(|r| {
        (r.crtcs.iter().filter(|c| c.mode.is_some()).count() > 1).then(|| "bandwidth".to_owned())
    }));
    let lit = light_outputs(&mut dev, &BTreeMap::new(), &BTreeMap::new()).expect("one output");
    assert_eq!(lit.len(), 1);
}

#[test]
fn when_everything_is_refused_nothing_is_committed() {
    let model = devices().into_iter().next().expect("a device");
    let mut dev = SimDevice::new(model);
    dev.inject = Some(Box::new(|_| Some("broken driver".to_owned())));
    assert!(light_outputs(&mut dev, &BTreeMap::new(), &BTreeMap::new()).is_err());
    assert!(dev.committed.is_empty());
}

#[test]
fn a_custom_timing_lights_only_when_wished_as_one() {
    use ghost_kms::timing::{generate, Formula};
    for model in devices() {
        let Some(connector) = model
            .connectors
            .iter()
            .find(|c| c.connection == Connection::Connected && !c.modes.is_empty())
        else {
            continue;
        };
        let custom = generate(Formula::CvtRb2, 1000, 700, 50.0).expect("a timing");
        assert!(!connector.modes.contains(&custom));
        for (wished_as_custom, expect_custom) in [(true, true), (false, false)] {
            let wishes = BTreeMap::from([(
                connector.id,
                OutputWish {
                    mode: Some(custom.clone()),
                    custom: wished_as_custom,
                    ..OutputWish::default()
                },
            )]);
            let mut dev = SimDevice::new(model.clone());
            let lit = light_outputs(&mut dev, &wishes, &BTreeMap::new())
                .unwrap_or_else(|e| panic!("{}: {e}", model.driver));
            let head = lit
                .iter()
                .find(|o| o.connector == connector.id)
                .expect("lit");
            // Not wished as custom: a timing the connector does not list is never
            // tried; the preferred mode is lit instead.
            assert_eq!(head.mode == custom, expect_custom, "{}", model.driver);
            assert_eq!(head.mode.preferred, !expect_custom, "{}", model.driver);
        }
    }
}
