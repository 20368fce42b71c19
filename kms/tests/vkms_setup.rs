//! Output setup on a real kernel DRM driver (vkms in the test VM; run by
//! `scripts/kms-vm-test.sh` with `--ignored`): a format the driver refuses falls back
//! to one it takes, and the output is lit.

use std::{collections::BTreeMap, path::PathBuf};

use ghost_kms::setup::{light_outputs, OutputWish, XRGB2101010, XRGB8888};
use ghostnv_backend::{commit::DumbCommitter, device::KmsDevice};

#[test]
#[ignore = "needs a real KMS device: run scripts/kms-vm-test.sh"]
fn a_format_vkms_refuses_falls_back_and_the_output_lights() {
    let node = std::env::var_os("GHOST_KMS_NODE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/dev/dri/card0"));
    let device = KmsDevice::open(&node).expect("open the DRM node");
    let primary_has_deep = device
        .model
        .planes
        .iter()
        .any(|p| p.supports(XRGB2101010, 0));
    let wishes: BTreeMap<u32, OutputWish> = device
        .model
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
        .collect();
    let mut committer = DumbCommitter::new(&device, 0xff10_2030);
    let lit = light_outputs(&mut committer, &wishes, &BTreeMap::new()).expect("a lit output");
    eprintln!("lit: {lit:?} (primary has XRGB2101010: {primary_has_deep})");
    assert_eq!(lit.len(), 1);
    let expected = if primary_has_deep {
        XRGB2101010
    } else {
        XRGB8888
    };
    assert_eq!(lit[0].format, expected);
}
