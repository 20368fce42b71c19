//! Telemetry on a real display: frame statistics from page-flip events and the
//! performance overlay in what the display engine scans out.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use ghost_tests::client::TestClient;
use serde_json::json;

use super::{start, writeback_until, WINDOW};

#[test]
#[ignore = "needs a KMS device and root: run scripts/kms-vm-test.sh"]
fn kms_stats_come_from_the_displays_vblanks_and_the_overlay_is_scanned_out() -> Result<()> {
    let comp = start(
        "telemetry",
        "[telemetry]\noverlay = true\ninterval_ms = 200\n",
    )?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    let mut window = client.color_window("kms-game", 200, 150, &[WINDOW, 0xff20_30e0])?;
    comp.wait_window("kms-game")?;
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        while !client.frame_done() {
            client.wait()?;
        }
        client.commit_next(&mut window, false)?;
    }
    let stats = comp.request(json!({"request": "stats"}))?;
    let output = &stats["outputs"][0];
    eprintln!("{output}");
    ensure!(
        output["backend"] == "kms" && output["name"] == "Virtual-1",
        "{output}"
    );
    let frames = &output["frames"];
    ensure!(
        frames["fps"].as_f64() > Some(5.0),
        "frames presented: {frames}"
    );
    ensure!(
        frames["render_ms"].as_f64() > Some(0.0),
        "drawing timed: {frames}"
    );
    // The page-flip event's vblank comes after drawing ends.
    ensure!(
        frames["to_vblank_ms"].as_f64() > Some(0.0),
        "time to vblank: {frames}"
    );
    let refresh = output["refresh_hz"].as_f64().context("refresh")?;
    ensure!(refresh > 0.0, "{output}");
    let game = stats["windows"]
        .as_array()
        .and_then(|w| w.iter().find(|w| w["app_id"] == "kms-game"))
        .context("the window's figures")?;
    ensure!(game["frames"]["fps"].as_f64() > Some(5.0), "{game}");
    // vkms has no GPU figures to give: the sources say why.
    ensure!(
        stats["gpus"].as_array().is_some_and(Vec::is_empty),
        "{}",
        stats["gpus"]
    );
    ensure!(stats["overlay"]["on"] == true, "{}", stats["overlay"]);
    // The panel's translucent near-black in the top-left corner of the scanned-out frame.
    writeback_until(&comp, "the overlay panel", |f| {
        let [r, g, b] = f.pixel(14, 14);
        r <= 15 && g <= 16 && b <= 20
    })?;
    comp.request(json!({"request": "overlay", "on": false}))?;
    writeback_until(&comp, "the overlay gone", |f| {
        super::close(f.pixel(14, 14), super::BACKGROUND_RGB)
    })?;
    Ok(())
}
