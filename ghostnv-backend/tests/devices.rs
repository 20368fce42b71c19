//! The shipped simulated devices: converted from the real `drm_info` dumps in
//! testdata/drm (the conversion must still give the shipped files), and checked
//! by the simulated device's rules.

use std::path::{Path, PathBuf};

use ghostnv_backend::{
    drm_info_text,
    sim::{AtomicRequest, CrtcState, Framebuffer, PlaneState, Refusal, SimDevice},
    Connection, DeviceModel, PlaneKind, MODIFIER_LINEAR,
};

const XRGB8888: u32 = 0x3432_5258;
const ARGB8888: u32 = 0x3432_5241;

fn drm_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/drm")
        .join(name)
}

/// Every device: the converted text dumps and the nvidia-drm description.
fn devices() -> Vec<(String, DeviceModel)> {
    let mut out = DeviceModel::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("devices"))
        .expect("device files");
    let nvidia =
        std::fs::read_to_string(drm_data("nvidia-drm-sim.json")).expect("nvidia description");
    out.push((
        "nvidia-drm".into(),
        DeviceModel::from_drm_info_json(&nvidia).expect("loads"),
    ));
    out
}

#[test]
fn shipped_device_files_are_what_the_converter_makes_of_the_dumps() {
    for (dump, shipped) in [
        (
            "intel_i915_coffeelake_8086-3e9b_drm_info.txt",
            "intel_i915_coffeelake_8086-3e9b.json",
        ),
        (
            "intel_i915_kabylake_8086-5927_drm_info.txt",
            "intel_i915_kabylake_8086-5927.json",
        ),
        ("qcom_msm_qcm2290_drm_info.txt", "qcom_msm_qcm2290.json"),
    ] {
        let text = std::fs::read_to_string(drm_data(dump)).expect("dump");
        let fresh = drm_info_text::to_json(&text).expect("converts");
        let file = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("devices")
            .join(shipped);
        let stored: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(file).expect("shipped")).expect("json");
        assert_eq!(
            fresh, stored,
            "{shipped} is stale: regenerate it with drm-info-to-json"
        );
    }
}

#[test]
fn the_dumps_describe_what_drm_info_printed() {
    let coffee = DeviceModel::from_drm_info_text(
        &std::fs::read_to_string(drm_data("intel_i915_coffeelake_8086-3e9b_drm_info.txt"))
            .expect("dump"),
    )
    .expect("loads");
    assert_eq!(coffee.driver, "i915");
    assert_eq!(coffee.crtcs.len(), 3);
    assert_eq!(coffee.planes.len(), 9);
    let edp = &coffee.connectors[0];
    assert_eq!(edp.connection, Connection::Connected);
    assert_eq!(edp.connector_type, 14);
    assert_eq!((edp.modes[0].width, edp.modes[0].height), (1920, 1080));
    assert!((edp.modes[0].refresh_mhz() - 60_000).abs() <= 1);
    assert_eq!(edp.possible_crtcs, 0b111);
    let primary = &coffee.planes[0];
    assert_eq!(primary.kind, PlaneKind::Primary);
    assert!(
        primary.supports(XRGB8888, 0x0100_0000_0000_0002),
        "Y-tiled XRGB8888"
    );
    assert!(primary.properties["rotation"]
        .enum_value("rotate-180")
        .is_some());
    assert_eq!(coffee.connectors[0].properties["max bpc"].value, 12);
    // Newer drm_info nests the legacy formats under "Legacy info"; they are still read.
    let kaby = DeviceModel::from_drm_info_text(
        &std::fs::read_to_string(drm_data("intel_i915_kabylake_8086-5927_drm_info.txt"))
            .expect("dump"),
    )
    .expect("loads");
    assert!(kaby.planes.iter().all(|p| !p.formats.is_empty()));
}

fn first_output(dev: &DeviceModel) -> Option<(u32, u32, ghostnv_backend::ModeInfo)> {
    let (connector, index) = dev.first_display()?;
    Some((
        connector.id,
        dev.crtcs[index].id,
        connector.preferred_mode()?.clone(),
    ))
}

fn primary_on(dev: &DeviceModel, crtc: u32, mode: &ghostnv_backend::ModeInfo) -> PlaneState {
    let index = dev.crtcs.iter().position(|c| c.id == crtc).expect("crtc");
    let plane = dev
        .planes_for_crtc(index)
        .find(|p| p.kind == PlaneKind::Primary)
        .expect("a primary plane");
    let (w, h) = (u32::from(mode.width), u32::from(mode.height));
    PlaneState {
        plane: plane.id,
        crtc: Some(crtc),
        fb: Framebuffer {
            format: XRGB8888,
            modifier: MODIFIER_LINEAR,
            width: w,
            height: h,
        },
        src: (0, 0, w, h),
        dst: (0, 0, w, h),
    }
}

#[test]
fn every_device_lights_its_output_and_refuses_what_its_driver_would() {
    for (name, model) in devices() {
        let Some((connector, crtc, mode)) = first_output(&model) else {
            panic!("{name}: no connected output");
        };
        let mut dev = SimDevice::new(model.clone());
        let primary = primary_on(&model, crtc, &mode);
        let modeset = AtomicRequest {
            crtcs: vec![CrtcState {
                crtc,
                mode: Some(mode.clone()),
                connectors: vec![connector],
            }],
            planes: vec![primary],
            allow_modeset: true,
            ..AtomicRequest::default()
        };
        let without_modeset = AtomicRequest {
            allow_modeset: false,
            ..modeset.clone()
        };
        assert_eq!(
            dev.test(&without_modeset),
            Err(Refusal::NeedsModeset),
            "{name}"
        );
        dev.commit(&modeset)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(dev.mode(crtc), Some(&mode));

        // A page flip of the primary needs no modeset.
        let flip = AtomicRequest {
            planes: vec![primary],
            ..AtomicRequest::default()
        };
        assert_eq!(dev.test(&flip), Ok(()), "{name}");

        // A format no plane has.
        let odd = PlaneState {
            fb: Framebuffer {
                format: 0x2020_2020,
                ..primary.fb
            },
            ..primary
        };
        assert!(
            matches!(
                dev.test(&AtomicRequest {
                    planes: vec![odd],
                    ..flip.clone()
                }),
                Err(Refusal::Format { .. })
            ),
            "{name}"
        );

        // Off the edge of the mode.
        let off = PlaneState {
            dst: (16, 0, primary.dst.2, primary.dst.3),
            ..primary
        };
        assert!(
            dev.test(&AtomicRequest {
                planes: vec![off],
                ..flip.clone()
            })
            .is_err(),
            "{name}"
        );

        // Scaling: only where the driver has scalers.
        let half = PlaneState {
            src: (0, 0, primary.src.2 / 2, primary.src.3 / 2),
            ..primary
        };
        let scaled = dev.test(&AtomicRequest {
            planes: vec![half],
            ..flip.clone()
        });
        if model.driver == "i915" {
            assert_eq!(scaled, Ok(()), "{name}");
        } else {
            assert!(
                matches!(scaled, Err(Refusal::Scaling(_))),
                "{name}: {scaled:?}"
            );
        }

        // A cursor far bigger than the cursor plane takes.
        let index = model.crtcs.iter().position(|c| c.id == crtc).expect("crtc");
        if let Some(cursor) = model
            .planes_for_crtc(index)
            .find(|p| p.kind == PlaneKind::Cursor)
        {
            let fb = Framebuffer {
                format: ARGB8888,
                modifier: MODIFIER_LINEAR,
                width: 1024,
                height: 1024,
            };
            let big = PlaneState {
                plane: cursor.id,
                crtc: Some(crtc),
                fb,
                src: (0, 0, 64, 64),
                dst: (10, 10, 64, 64),
            };
            let answer = dev.test(&AtomicRequest {
                planes: vec![primary, big],
                ..flip.clone()
            });
            assert!(
                matches!(answer, Err(Refusal::CursorSize { .. })),
                "{name}: {answer:?}"
            );
        }

        // Property values out of range are refused by name, not by id.
        if let Some(bpc) = model
            .connectors
            .iter()
            .find(|c| c.id == connector)
            .and_then(|c| c.properties.get("max bpc"))
        {
            if let ghostnv_backend::PropertyKind::Range { max, .. } = bpc.kind {
                let request = AtomicRequest {
                    properties: vec![(connector, "max bpc".into(), max + 1)],
                    ..flip.clone()
                };
                assert!(
                    matches!(dev.test(&request), Err(Refusal::Property { .. })),
                    "{name}"
                );
            }
        }
        let request = AtomicRequest {
            properties: vec![(crtc, "NO_SUCH_PROPERTY".into(), 1)],
            ..flip.clone()
        };
        assert!(
            matches!(dev.test(&request), Err(Refusal::NoProperty(..))),
            "{name}"
        );
        assert_eq!(dev.committed.len(), 1);
    }
}

#[test]
fn nvidia_drm_refuses_an_overlay_without_its_primary_and_async_flips_of_overlays() {
    let (_, model) = devices()
        .into_iter()
        .find(|(n, _)| n == "nvidia-drm")
        .expect("nvidia");
    let (connector, crtc, mode) = first_output(&model).expect("output");
    let mut dev = SimDevice::new(model.clone());
    let primary = primary_on(&model, crtc, &mode);
    let index = model.crtcs.iter().position(|c| c.id == crtc).expect("crtc");
    let overlay = model
        .planes_for_crtc(index)
        .find(|p| p.kind == PlaneKind::Overlay)
        .expect("overlay");
    let video = PlaneState {
        plane: overlay.id,
        fb: Framebuffer {
            width: 640,
            height: 360,
            ..primary.fb
        },
        src: (0, 0, 640, 360),
        dst: (100, 100, 640, 360),
        ..primary
    };
    dev.commit(&AtomicRequest {
        crtcs: vec![CrtcState {
            crtc,
            mode: Some(mode),
            connectors: vec![connector],
        }],
        planes: vec![primary],
        allow_modeset: true,
        ..AtomicRequest::default()
    })
    .expect("modeset");
    let alone = AtomicRequest {
        planes: vec![
            video,
            PlaneState {
                crtc: None,
                ..primary
            },
        ],
        ..AtomicRequest::default()
    };
    assert_eq!(
        dev.test(&alone),
        Err(Refusal::OverlayWithoutPrimary(overlay.id))
    );
    let both = AtomicRequest {
        planes: vec![primary, video],
        ..AtomicRequest::default()
    };
    assert_eq!(dev.test(&both), Ok(()));
    assert_eq!(
        dev.test(&AtomicRequest {
            async_flip: true,
            ..both
        }),
        Err(Refusal::Async)
    );
    assert_eq!(
        dev.test(&AtomicRequest {
            planes: vec![primary],
            async_flip: true,
            ..AtomicRequest::default()
        }),
        Ok(())
    );
}
