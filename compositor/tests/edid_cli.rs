//! `ghostcomp edid` on a real monitor's EDID, as a user runs it.

use std::{
    io::Write,
    path::PathBuf,
    process::{Command, Stdio},
};

fn sample() -> PathBuf {
    // A GIGABYTE AORUS FV43U: HDMI 2.1 with FRL, DSC, HDMI VRR and FreeSync, HDR.
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/edid/FA288C851DB4.bin")
}

#[test]
fn json_has_every_field_a_user_asks_about() {
    let out = Command::new(env!("CARGO_BIN_EXE_ghostcomp"))
        .args(["edid", "--json"])
        .arg(sample())
        .output()
        .expect("run ghostcomp");
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["vendor"]["pnp_id"], "GBT");
    assert_eq!(json["model"], "AORUS FV43U");
    assert_eq!(json["serial"]["text"], "21350B007798");
    assert_eq!(json["preferred_mode"]["width"], 3840);
    assert_eq!(json["preferred_mode"]["height"], 2160);
    assert_eq!(json["colour"]["eotfs"]["pq"], true);
    assert_eq!(json["vrr"]["range"]["min_hz"], 48);
    assert_eq!(json["vrr"]["range"]["max_hz"], 144);
    assert_eq!(json["vrr"]["range"]["source"], "hdmi-forum");
    assert_eq!(json["link"]["max_frl"]["gbps_per_lane"], 6);
    assert_eq!(json["link"]["dsc"], true);
    let modes = json["modes"].as_array().expect("modes");
    assert!(modes
        .iter()
        .any(|m| m["width"] == 3840 && m["source"]["kind"] == "display-id"));
}

/// Runs `ghostcomp edid -` with `input` on standard input; asserts success.
fn edid_from_stdin(input: &[u8]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ghostcomp"))
        .args(["edid", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run ghostcomp");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn stdin_and_hex_text_give_the_same_summary() {
    let bytes = std::fs::read(sample()).expect("sample");
    let hex: String = bytes.iter().map(|b| format!("{b:02x} ")).collect();
    let run = |input: Vec<u8>| edid_from_stdin(&input);
    let from_bytes = run(bytes);
    assert!(from_bytes.contains("AORUS FV43U"));
    assert!(from_bytes.contains("VRR: 48-144 Hz (HDMI VRR)"));
    assert_eq!(run(hex.into_bytes()), from_bytes);
}

#[test]
fn garbage_prints_its_problem_and_succeeds() {
    assert!(edid_from_stdin(b"not an edid").contains("Problem: 11 bytes"));
}
