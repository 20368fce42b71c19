//! HDR on the simulated nvidia-drm and Intel (Kaby Lake, real dump) devices: one tested
//! modeset carries the 10-bit buffer and the connector's HDR_OUTPUT_METADATA,
//! Colorspace and max bpc; the simulated device checks the blob as the kernel takes it
//! (ghostnv_backend::hdr_blob); where the connector or the driver release cannot, the
//! output lights in SDR; an SDR modeset clears what an HDR one set.

use std::{collections::BTreeMap, path::Path};

use ghost_hdr::{
    metadata::{InfoframeEotf, StaticMetadata},
    primaries::Primaries,
};
use ghost_kms::{
    hdr::HdrSignal,
    setup::{light_outputs, OutputWish, XBGR2101010, XRGB2101010, XRGB8888},
};
use ghostnv_backend::{
    sim::{AtomicRequest, Refusal, SimDevice},
    Connection, DeviceModel,
};

fn load(relative: &str) -> DeviceModel {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    DeviceModel::from_drm_info_json(&std::fs::read_to_string(path).expect("read")).expect("loads")
}

fn nvidia_at(release: &str) -> DeviceModel {
    let mut model = load("../testdata/drm/nvidia-drm-sim.json");
    model.driver_version = Some(release.parse().expect("release"));
    model
}

fn kabylake() -> DeviceModel {
    load("../ghostnv-backend/devices/intel_i915_kabylake_8086-5927.json")
}

fn coffeelake() -> DeviceModel {
    load("../ghostnv-backend/devices/intel_i915_coffeelake_8086-3e9b.json")
}

/// HDR10 as a 1000 cd/m² panel with a 0.005 cd/m² black would be mastered for.
fn signal() -> HdrSignal {
    HdrSignal {
        metadata: StaticMetadata {
            eotf: InfoframeEotf::Pq,
            mastering: Primaries::BT2020,
            max_mastering_luminance: 1000.0,
            min_mastering_luminance: 0.005,
            max_cll: 1000.0,
            max_fall: 400.0,
        },
        bpc: 10,
    }
}

fn hdr_everywhere(model: &DeviceModel) -> BTreeMap<u32, OutputWish> {
    model
        .connectors
        .iter()
        .filter(|c| c.connection == Connection::Connected)
        .map(|c| {
            (
                c.id,
                OutputWish {
                    hdr: Some(signal()),
                    ..OutputWish::default()
                },
            )
        })
        .collect()
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

/// The committed blob of `name` on `connector`, and the value of `property`.
fn connector_state(
    request: &AtomicRequest,
    connector: u32,
) -> (Option<Vec<u8>>, BTreeMap<String, u64>) {
    let blob = request
        .blobs
        .iter()
        .find(|(o, n, _)| *o == connector && n == "HDR_OUTPUT_METADATA")
        .map(|(_, _, b)| b.clone());
    let props = request
        .properties
        .iter()
        .filter(|(o, _, _)| *o == connector)
        .map(|(_, n, v)| (n.clone(), *v))
        .collect();
    (blob, props)
}

fn assert_hdr10_blob(blob: &[u8]) {
    // struct hdr_output_metadata: u32 metadata_type 0 (static type 1), then the
    // infoframe: EOTF 2 (SMPTE ST 2084), descriptor 0, primaries R G B and white in
    // 0.00002 units, peak in cd/m², black in 0.0001 cd/m², MaxCLL, MaxFALL.
    assert_eq!(blob.len(), 32);
    assert_eq!(&blob[0..4], &[0, 0, 0, 0]);
    assert_eq!((blob[4], blob[5]), (2, 0));
    assert_eq!(
        (u16_at(blob, 6), u16_at(blob, 8)),
        (35400, 14600),
        "BT.2020 red"
    );
    assert_eq!((u16_at(blob, 18), u16_at(blob, 20)), (15635, 16450), "D65");
    assert_eq!(u16_at(blob, 22), 1000);
    assert_eq!(u16_at(blob, 24), 50, "0.005 cd/m² in 0.0001 units");
    assert_eq!((u16_at(blob, 26), u16_at(blob, 28)), (1000, 400));
}

#[test]
fn nvidia_from_545_lights_hdr_in_one_modeset() {
    let model = nvidia_at("595.45.04");
    let mut dev = SimDevice::new(model.clone());
    let lit = light_outputs(&mut dev, &hdr_everywhere(&model), &BTreeMap::new()).expect("lit");
    assert_eq!(dev.committed.len(), 1, "one modeset");
    let modeset = &dev.committed[0];
    for output in &lit {
        assert_eq!(output.hdr, Some(signal()));
        // nvidia-drm scans out 10-bit RGB only in the BGR order (nvidia-drm.md §3).
        assert_eq!(output.format, XBGR2101010, "a 10-bit buffer");
        let (blob, props) = connector_state(modeset, output.connector);
        assert_hdr10_blob(&blob.expect("HDR_OUTPUT_METADATA"));
        // nvidia-drm's Colorspace enum is {Default 0, BT2020_RGB 9, BT2020_YCC 10}
        // (nvidia-drm-connector.c:402-406); it has no max bpc property.
        assert_eq!(props.get("Colorspace"), Some(&9));
        assert_eq!(props.get("max bpc"), None);
    }
}

#[test]
fn nvidia_before_545_stays_sdr_and_sends_no_hdr_property() {
    let model = nvidia_at("535.216.01");
    let mut dev = SimDevice::new(model.clone());
    let lit = light_outputs(&mut dev, &hdr_everywhere(&model), &BTreeMap::new()).expect("lit");
    for output in &lit {
        assert_eq!(output.hdr, None);
        assert_eq!(output.format, XRGB8888);
        let (blob, props) = connector_state(&dev.committed[0], output.connector);
        assert_eq!((blob, props.get("Colorspace")), (None, None));
    }
}

#[test]
fn intel_sets_max_bpc_and_its_own_colorspace_number() {
    let model = kabylake();
    let mut dev = SimDevice::new(model.clone());
    let lit = light_outputs(&mut dev, &hdr_everywhere(&model), &BTreeMap::new()).expect("lit");
    let output = lit.first().expect("the DP monitor");
    assert_eq!(output.hdr, Some(signal()));
    assert_eq!(output.format, XRGB2101010);
    let (blob, props) = connector_state(&dev.committed[0], output.connector);
    assert_hdr10_blob(&blob.expect("HDR_OUTPUT_METADATA"));
    let bt2020 = model
        .connectors
        .iter()
        .find(|c| c.id == output.connector)
        .and_then(|c| c.properties.get("Colorspace"))
        .and_then(|p| p.enum_value("BT2020_RGB"))
        .expect("BT2020_RGB in the enum");
    assert_eq!(props.get("Colorspace"), Some(&bt2020));
    assert_eq!(
        props.get("max bpc"),
        Some(&10),
        "at least 10, within 6..=12"
    );
}

#[test]
fn a_connector_without_hdr_properties_lights_in_sdr() {
    // Coffee Lake's dump (kernel without the properties on these connectors).
    let model = coffeelake();
    let mut dev = SimDevice::new(model.clone());
    let lit = light_outputs(&mut dev, &hdr_everywhere(&model), &BTreeMap::new()).expect("lit");
    assert!(!lit.is_empty());
    assert!(lit.iter().all(|o| o.hdr.is_none() && o.format == XRGB8888));
}

#[test]
fn an_sdr_modeset_clears_what_hdr_set() {
    let model = nvidia_at("595.45.04");
    let mut dev = SimDevice::new(model.clone());
    let lit = light_outputs(&mut dev, &hdr_everywhere(&model), &BTreeMap::new()).expect("lit");
    let current = lit.iter().map(|o| (o.connector, o.crtc)).collect();
    let lit = light_outputs(&mut dev, &BTreeMap::new(), &current).expect("lit again");
    let modeset = dev.committed.last().expect("second modeset");
    for output in &lit {
        assert_eq!(output.hdr, None);
        let (blob, props) = connector_state(modeset, output.connector);
        assert_eq!(blob, Some(Vec::new()), "HDR_OUTPUT_METADATA set to no blob");
        assert_eq!(props.get("Colorspace"), Some(&0), "Default");
    }
}

#[test]
fn the_device_refuses_blobs_the_kernel_would() {
    let model = nvidia_at("595.45.04");
    let mut dev = SimDevice::new(model.clone());
    let lit = light_outputs(&mut dev, &hdr_everywhere(&model), &BTreeMap::new()).expect("lit");
    let modeset = dev.committed[0].clone();
    let connector = lit[0].connector;
    let with_blob = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut request = modeset.clone();
        for (o, n, b) in &mut request.blobs {
            if *o == connector && n == "HDR_OUTPUT_METADATA" {
                edit(b);
            }
        }
        request
    };
    type Edit<'a> = &'a dyn Fn(&mut Vec<u8>);
    let cases: [(&str, Edit); 4] = [
        ("short", &|b| b.truncate(30)),
        ("EOTF 7", &|b| b[4] = 7),
        ("metadata type 1", &|b| b[0] = 1),
        // A black level written in cd/m² (5) where 0.0001 cd/m² units are due, under a
        // 1 cd/m² peak: 5 × 10000 units reads as black above the peak.
        ("black in the wrong unit", &|b| {
            b[22..24].copy_from_slice(&1u16.to_le_bytes());
            b[24..26].copy_from_slice(&50_000u16.to_le_bytes());
        }),
    ];
    for (what, edit) in cases {
        let result = dev.test(&with_blob(edit));
        assert!(
            matches!(result, Err(Refusal::Blob { .. })),
            "{what}: {result:?}"
        );
    }
    assert_eq!(dev.test(&modeset), Ok(()));
}
