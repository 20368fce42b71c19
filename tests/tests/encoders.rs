//! Encoder backends: `ghostcomp msg encoders` tries `[capture] encoders` in order and
//! stops at the first that opens; the ones before it say why they cannot. On a machine
//! without NVIDIA's driver or a VA-API device (CI), that is NVENC and VA-API, each with
//! FFmpeg's reason, and the software encoder is chosen.

use anyhow::Result;
use ghost_tests::Compositor;
use serde_json::json;

#[test]
fn encoders_are_tried_in_the_configs_order_and_refusals_say_why() -> Result<()> {
    let home = std::env::temp_dir().join(format!("ghost-encoders-{}", std::process::id()));
    std::fs::create_dir_all(home.join("ghostcomp"))?;
    std::fs::write(
        home.join("ghostcomp/config.toml"),
        "[capture]\nencoders = [\"nvenc\", \"vaapi\", \"software\"]\n",
    )?;
    let comp = Compositor::start_with_config_home(&[], &home)?;
    let reply = comp.request(json!({"request": "encoders"}))?;
    let probes = reply["probes"].as_array().cloned().unwrap_or_default();
    let chosen = reply["chosen"].as_str().unwrap_or("none").to_owned();
    assert_ne!(
        chosen, "none",
        "the software encoder always opens: {reply:#}"
    );
    let order = ["nvenc", "vaapi", "software"];
    for (probe, backend) in probes.iter().zip(order) {
        assert_eq!(probe["backend"], backend, "{reply:#}");
        if probe["backend"] == chosen.as_str() {
            assert_eq!(probe["opens"], true);
            break;
        }
        let why = probe["why_not"].as_str().unwrap_or("");
        assert!(
            why.len() > 20 && !why.contains('\n'),
            "one line that says why: {reply:#}"
        );
    }
    assert_eq!(
        probes.last().and_then(|p| p["backend"].as_str()),
        Some(chosen.as_str()),
        "nothing after the chosen one is tried: {reply:#}"
    );
    let no_nvidia = !std::path::Path::new("/dev/nvidiactl").exists();
    if no_nvidia {
        assert!(
            probes[0]["why_not"]
                .as_str()
                .unwrap_or("")
                .contains("libcuda"),
            "without NVIDIA's driver, NVENC cannot load CUDA: {reply:#}"
        );
    }
    let _ = std::fs::remove_dir_all(&home);
    Ok(())
}
