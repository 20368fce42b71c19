//! End to end: the configuration file while ghostcomp runs.

use std::{path::Path, time::Duration};

use anyhow::Result;
use ghost_tests::{wait_for, Compositor};
use serde_json::json;

fn write_config(comp_config_home: &Path, text: &str) -> Result<()> {
    let dir = comp_config_home.join("ghostcomp");
    std::fs::create_dir_all(&dir)?;
    // Like an editor: write a new file, then rename it over the old one.
    let tmp = dir.join(".config.toml.swp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, dir.join("config.toml"))?;
    Ok(())
}

fn generation(comp: &Compositor) -> Result<u64> {
    Ok(
        comp.request(json!({"request": "version"}))?["config_generation"]
            .as_u64()
            .unwrap_or(0),
    )
}

fn binding(marker: &Path) -> String {
    format!(
        "[bindings]\n\"Super+t\" = {{ spawn = [\"touch\", \"{}\"] }}\n",
        marker.display()
    )
}

#[test]
fn a_changed_binding_applies_while_running_and_a_broken_file_keeps_the_old_one() -> Result<()> {
    let home = std::env::temp_dir().join(format!("ghost-config-home-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    let first = home.join("first");
    let second = home.join("second");
    let third = home.join("third");
    write_config(&home, &binding(&first))?;
    let comp = Compositor::start_with_config_home(&[], &home)?;
    comp.request(json!({"request": "input", "action": "key", "combo": "Super+t"}))?;
    wait_for(Duration::from_secs(5), "the first binding to run", || {
        first.exists().then_some(())
    })?;

    // Change the binding in the file: the running compositor picks it up.
    let before = generation(&comp)?;
    write_config(&home, &binding(&second))?;
    wait_for(Duration::from_secs(5), "the reload", || {
        (generation(&comp).ok()? > before).then_some(())
    })?;
    comp.request(json!({"request": "input", "action": "key", "combo": "Super+t"}))?;
    wait_for(Duration::from_secs(5), "the changed binding to run", || {
        second.exists().then_some(())
    })?;

    // A broken file: the old config stays, the error says where, and it is on screen.
    let broken = format!("{}\n[input]\nrepeat_rat = 5\n", binding(&third));
    write_config(&home, &broken)?;
    let reply = comp.raw_request(r#"{"request":"reload"}"#)?;
    assert_eq!(reply["ok"], false);
    let error = reply["error"].as_str().unwrap_or_default().to_owned();
    assert!(
        error.contains("config.toml:5:1: unknown key `repeat_rat` in [input]"),
        "{error}"
    );
    assert!(error.contains("did you mean `repeat_rate`?"), "{error}");
    let cli = comp.msg_cli(&["reload"])?;
    assert!(!cli.status.success());
    assert!(String::from_utf8_lossy(&cli.stderr).contains("repeat_rat"));
    std::fs::remove_file(&second)?;
    comp.request(json!({"request": "input", "action": "key", "combo": "Super+t"}))?;
    wait_for(
        Duration::from_secs(5),
        "the old binding to still run",
        || second.exists().then_some(()),
    )?;
    assert!(!third.exists(), "the broken file's binding must not apply");

    // The notification: a box at the top centre of the output, dismissed by a click.
    let shot = comp.screenshot(json!({}))?;
    let box_pixel = shot.pixel(960, 16 + 6);
    assert_eq!(
        box_pixel,
        [0x5a, 0x1c, 0x24],
        "notification background at the top centre"
    );
    comp.request(json!({"request": "input", "action": "pointer-move", "x": 960.0, "y": 22.0}))?;
    comp.request(json!({"request": "input", "action": "click", "button": "left"}))?;
    let shot = comp.screenshot(json!({}))?;
    assert_ne!(
        shot.pixel(960, 22),
        [0x5a, 0x1c, 0x24],
        "a click dismisses it"
    );

    // Fixing the file reloads by itself and applies.
    let fourth = home.join("fourth");
    write_config(&home, &binding(&fourth))?;
    let g = generation(&comp)?;
    wait_for(Duration::from_secs(5), "the fixed file to load", || {
        (generation(&comp).ok()? > g).then_some(())
    })?;
    comp.request(json!({"request": "input", "action": "key", "combo": "Super+t"}))?;
    wait_for(Duration::from_secs(5), "the fixed binding to run", || {
        fourth.exists().then_some(())
    })?;
    let _ = std::fs::remove_dir_all(&home);
    Ok(())
}

#[test]
fn output_sections_apply_at_start_and_on_reload() -> Result<()> {
    let home = std::env::temp_dir().join(format!("ghost-config-out-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    write_config(
        &home,
        "[[output]]\nname = \"HEADLESS-1\"\nmode = \"1280x720@60\"\nscale = 2.0\n",
    )?;
    let comp = Compositor::start_with_config_home(&[], &home)?;
    let outputs = comp.request(json!({"request": "outputs"}))?;
    assert_eq!(outputs[0]["current_mode"]["width"], 1280);
    assert_eq!(outputs[0]["logical"]["width"], 640);

    let g = generation(&comp)?;
    write_config(
        &home,
        "[[output]]\nname = \"HEADLESS-1\"\nmode = \"highest-refresh\"\n",
    )?;
    wait_for(Duration::from_secs(5), "the reload", || {
        (generation(&comp).ok()? > g).then_some(())
    })?;
    let outputs = comp.request(json!({"request": "outputs"}))?;
    assert_eq!(outputs[0]["current_mode"]["width"], 3840, "{outputs}");

    // A modeline: a virtual output takes its size and exact rate (60 MHz over
    // 1260 × 640 lines: 74.405 Hz).
    let g = generation(&comp)?;
    write_config(
        &home,
        "[[output]]\nname = \"HEADLESS-1\"\nmodeline = \"60.00 1100 1148 1180 1260 620 623 628 640 +hsync -vsync\"\n",
    )?;
    wait_for(Duration::from_secs(5), "the reload", || {
        (generation(&comp).ok()? > g).then_some(())
    })?;
    let outputs = comp.request(json!({"request": "outputs"}))?;
    let mode = &outputs[0]["current_mode"];
    assert_eq!(
        (&mode["width"], &mode["height"], &mode["refresh_mhz"]),
        (&json!(1100), &json!(620), &json!(74_405)),
        "{outputs}"
    );
    let _ = std::fs::remove_dir_all(&home);
    Ok(())
}

#[test]
fn validate_prints_problems_or_ok() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("ghost-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let good = dir.join("good.toml");
    let bad = dir.join("bad.toml");
    std::fs::write(&good, ghostcomp_config_example())?;
    std::fs::write(&bad, "[xwayland]\nmode = \"sometimes\"\n")?;
    let ok = std::process::Command::new(ghost_tests::ghostcomp_bin())
        .args(["validate"])
        .arg(&good)
        .output()?;
    assert!(ok.status.success());
    assert_eq!(String::from_utf8_lossy(&ok.stdout).trim(), "ok");
    let no = std::process::Command::new(ghost_tests::ghostcomp_bin())
        .args(["validate"])
        .arg(&bad)
        .output()?;
    assert_eq!(no.status.code(), Some(1));
    let text = String::from_utf8_lossy(&no.stdout);
    assert!(
        text.contains("bad.toml:2:8: `xwayland.mode` is \"sometimes\""),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn ghostcomp_config_example() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/example.toml"
    ))
    .unwrap_or_default()
}
