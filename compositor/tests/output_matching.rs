//! `[[output]]` sections as a user writes them, from what `ghostcomp edid` shows of a
//! monitor, looked up by the compositor (`settings::section_for`) for an output carrying
//! that monitor's identity as the KMS backend makes it, for every real EDID in the
//! project's test data (`testdata/edid`).

use std::path::{Path, PathBuf};

use ghost_compositor::settings::section_for;
use ghost_config::Config;
use ghost_kms::{DisplayInfo, OutputIdentity};
use smithay::output::{Output, PhysicalProperties, Subpixel};

fn corpus() -> Vec<(String, DisplayInfo)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/edid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("testdata/edid")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).expect("an EDID");
            let name = p
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            (name, DisplayInfo::parse(&bytes))
        })
        .filter(|(_, info)| info.edid_version.is_some())
        .collect()
}

/// The sections of a config file with one `[[output]]` per given key set.
fn sections(text: &str) -> Config {
    Config::parse(text, Path::new("config.toml")).expect("a valid config")
}

fn toml_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string")
}

/// An output on `connector` showing the monitor `identity`, as the KMS backend makes it.
fn output(identity: &OutputIdentity) -> Output {
    let output = Output::new(
        identity.connector.clone(),
        PhysicalProperties {
            size: (0, 0).into(),
            subpixel: Subpixel::Unknown,
            make: identity.make.clone(),
            model: identity.model.clone(),
        },
    );
    let kept = identity.clone();
    output.user_data().insert_if_missing(|| kept);
    output
}

/// For each section of `config`, whether it is the one the compositor picks for the
/// monitor `identity` when it is the only section.
fn matches(identity: &OutputIdentity, config: &Config) -> Vec<bool> {
    let output = output(identity);
    config
        .output
        .iter()
        .map(|o| section_for(std::slice::from_ref(o), &output).is_some())
        .collect()
}

#[test]
fn sections_naming_a_real_monitor_apply_to_it_and_to_no_other() {
    let monitors = corpus();
    assert!(monitors.len() > 300, "{} EDIDs", monitors.len());
    let mut with_serial = 0;
    for (file, info) in &monitors {
        let id = OutputIdentity::new("DP-1", Some(info));
        let make = info.vendor.name.clone().unwrap_or(id.pnp_id.clone());
        let mut text = format!(
            "[[output]]\nmake = {}\nmodel = {}\nscale = 2.0\n\n[[output]]\nmake = {}\nmodel = {}\n\n",
            toml_string(&id.pnp_id),
            toml_string(&id.model),
            toml_string(&make),
            toml_string(&id.model),
        );
        text += &format!(
            "[[output]]\nmake = {}\n\n[[output]]\nname = \"DP-1\"\n\n[[output]]\nname = \"HDMI-A-1\"\n\n",
            toml_string(&id.pnp_id.to_lowercase()),
        );
        text += &format!(
            "[[output]]\nmake = {}\nmodel = {}\nserial = \"not-{}\"\n",
            toml_string(&id.pnp_id),
            toml_string(&id.model),
            id.serial,
        );
        let config = sections(&text);
        assert_eq!(
            matches(&id, &config),
            [true, true, true, true, false, false],
            "{file}: {id:?}"
        );
        if !id.serial.is_empty() {
            with_serial += 1;
            let config = sections(&format!(
                "[[output]]\nmodel = {}\nserial = {}\n",
                toml_string(&id.model),
                toml_string(&id.serial)
            ));
            assert_eq!(matches(&id, &config), [true], "{file}: {id:?}");
        }
    }
    // Most monitors give a serial number or string: sections keyed on it must work.
    assert!(
        with_serial * 2 > monitors.len(),
        "{with_serial} with serials"
    );
}

#[test]
fn two_real_monitors_of_different_makers_are_told_apart() {
    let monitors = corpus();
    let (first_file, first) = &monitors[0];
    let (other_file, other) = monitors
        .iter()
        .find(|(_, i)| i.vendor.pnp_id != first.vendor.pnp_id)
        .expect("two makers");
    let a = OutputIdentity::new("DP-1", Some(first));
    let b = OutputIdentity::new("DP-2", Some(other));
    let config = sections(&format!(
        "[[output]]\nmake = {}\nmodel = {}\n",
        toml_string(&a.pnp_id),
        toml_string(&a.model)
    ));
    assert_eq!(matches(&a, &config), [true], "{first_file}");
    assert_eq!(matches(&b, &config), [false], "{other_file}");
}
