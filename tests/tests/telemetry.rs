//! End to end: `ghostcomp msg stats` (frame statistics of each output, a window's own
//! frame rate, GPU figures from a sysfs tree) and the performance overlay on screen.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use ghost_tests::{client::TestClient, wait_for, Compositor};
use serde_json::{json, Value};

fn home(name: &str, config: &str) -> Result<PathBuf> {
    let home = std::env::temp_dir().join(format!("ghost-telemetry-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(home.join("ghostcomp"))?;
    std::fs::write(home.join("ghostcomp/config.toml"), config)?;
    Ok(home)
}

fn stats(comp: &Compositor) -> Result<Value> {
    comp.request(json!({"request": "stats"}))
}

fn output<'a>(stats: &'a Value, name: &str) -> Option<&'a Value> {
    stats["outputs"]
        .as_array()?
        .iter()
        .find(|o| o["name"] == name)
}

/// A window that draws at its frame callbacks (60 a second here) for `seconds`.
fn animate(
    client: &mut TestClient,
    window: &mut ghost_tests::client::ColorWindow,
    seconds: f64,
) -> Result<()> {
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    while Instant::now() < until {
        while !client.frame_done() {
            client.wait()?;
        }
        client.commit_next(window, false)?;
    }
    Ok(())
}

#[test]
fn stats_show_each_outputs_frames_and_a_windows_own_frame_rate() -> Result<()> {
    let comp = Compositor::start(&["--output", "1280x720@60"])?;
    comp.request(
        json!({"request": "create-output", "width": 800, "height": 600, "refresh_mhz": 30000}),
    )?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    let mut window = client.color_window("game", 320, 240, &[0xff_20_40_80, 0xff_80_40_20])?;
    comp.wait_window("game")?;
    animate(&mut client, &mut window, 2.5)?;

    let s = stats(&comp)?;
    let first = output(&s, "HEADLESS-1").context("HEADLESS-1 in stats")?;
    let frames = &first["frames"];
    eprintln!("HEADLESS-1: {frames}");
    let fps = frames["fps"].as_f64().unwrap_or(0.0);
    ensure!(
        (50.0..=61.0).contains(&fps),
        "the busy output's rate: {frames}"
    );
    let frame_ms = frames["frame_ms"].as_f64().unwrap_or(0.0);
    ensure!((16.0..=20.0).contains(&frame_ms), "frame time: {frames}");
    ensure!(
        frames["render_ms"].as_f64() > Some(0.0),
        "drawing takes time: {frames}"
    );
    ensure!(
        frames["missed_total"] == 0,
        "headless frames cannot miss: {frames}"
    );
    ensure!(
        first["refresh_hz"] == 60.0 && first["vrr"] == false,
        "{first}"
    );
    // The second output shows nothing that changes: no frames, but its figures.
    let second = output(&s, "HEADLESS-2").context("HEADLESS-2 in stats")?;
    ensure!(second["refresh_hz"] == 30.0, "{second}");
    ensure!(second["frames"]["fps"].as_f64() <= Some(2.0), "{second}");

    let w = s["windows"]
        .as_array()
        .and_then(|a| a.iter().find(|w| w["app_id"] == "game"))
        .context("the window in stats")?;
    eprintln!("window: {w}");
    let wf = &w["frames"];
    ensure!(
        (50.0..=62.0).contains(&wf["fps"].as_f64().unwrap_or(0.0)),
        "{w}"
    );
    ensure!(
        (15.0..=18.5).contains(&wf["frame_ms_p50"].as_f64().unwrap_or(0.0)),
        "{w}"
    );
    ensure!(wf["low_1pct_fps"].as_f64() <= wf["fps"].as_f64(), "{w}");

    // A person's view of the same.
    let out = comp.msg_cli(&["stats"])?;
    let text = String::from_utf8_lossy(&out.stdout);
    ensure!(out.status.success(), "{text}");
    for want in [
        "HEADLESS-1 (headless, 60.00 Hz, VRR off)",
        "HEADLESS-2",
        "game:",
        "GPU:",
    ] {
        ensure!(text.contains(want), "{want:?} missing:\n{text}");
    }
    let shown = wf_shown(w);
    ensure!(
        (50.0..=62.0).contains(&shown),
        "every frame it drew was shown: {w}"
    );

    // Drawing without waiting for the screen (a game with vsync off): it commits far
    // more often than the output shows, and both rates say so.
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        client.commit_next(&mut window, false)?;
        client.roundtrip()?;
        std::thread::sleep(Duration::from_millis(3));
    }
    let s = stats(&comp)?;
    let w = s["windows"]
        .as_array()
        .and_then(|a| a.iter().find(|w| w["app_id"] == "game"))
        .context("the window in stats")?;
    eprintln!("unthrottled: {w}");
    let (drawn, shown) = (w["frames"]["fps"].as_f64().unwrap_or(0.0), wf_shown(w));
    ensure!(drawn > 90.0, "commits counted: {w}");
    ensure!(
        shown <= 61.0 && shown > 40.0,
        "the screen shows at most 60: {w}"
    );

    // The window stops drawing: after a second it is idle.
    std::thread::sleep(Duration::from_millis(1300));
    let s = stats(&comp)?;
    let w = s["windows"]
        .as_array()
        .and_then(|a| a.iter().find(|w| w["app_id"] == "game"))
        .cloned();
    ensure!(
        w.is_some_and(|w| w["frames"]["fps"] == 0.0),
        "an idle window shows 0 fps"
    );
    Ok(())
}

fn wf_shown(window: &Value) -> f64 {
    window["shown"]["fps"].as_f64().unwrap_or(0.0)
}

fn dark_panel_at(image: &ghost_tests::Image, x: u32, y: u32) -> bool {
    let [r, g, b] = image.pixel(x, y);
    // The panel's translucent near-black (14, 14, 17 over the desktop) against the
    // desktop's dark blue-grey (18, 20, 26).
    r <= 15 && g <= 16 && b <= 20
}

#[test]
fn the_overlay_shows_in_its_corner_and_goes_when_toggled_off() -> Result<()> {
    let home = home(
        "overlay",
        "[telemetry]\noverlay_corner = \"bottom-right\"\n",
    )?;
    let comp = Compositor::start_with_config_home(&["--output", "1280x720@60"], &home)?;
    let before = comp.screenshot(json!({}))?;
    ensure!(!dark_panel_at(&before, 1260, 700), "no panel yet");

    let reply = comp.request(json!({"request": "overlay", "on": true}))?;
    ensure!(reply["on"] == true, "{reply}");
    let shown = wait_for(
        Duration::from_secs(5),
        "the panel in the bottom-right corner",
        || {
            let shot = comp.screenshot(json!({})).ok()?;
            dark_panel_at(&shot, 1260, 700).then_some(shot)
        },
    )?;
    // Its margin: the corner pixel itself stays the desktop.
    ensure!(
        !dark_panel_at(&shown, 1279, 719),
        "the panel keeps off the edge"
    );
    ensure!(
        !dark_panel_at(&shown, 20, 20),
        "nothing in the other corners"
    );
    // Text on it: bright pixels inside the panel's area.
    let bright = (700..1268)
        .flat_map(|x| (520..708).map(move |y| (x, y)))
        .filter(|(x, y)| shown.pixel(*x, *y).iter().all(|c| *c > 200))
        .count();
    ensure!(bright > 200, "text on the panel ({bright} bright pixels)");
    let s = stats(&comp)?;
    ensure!(
        s["overlay"]["on"] == true && s["overlay"]["output"] == "HEADLESS-1",
        "{}",
        s["overlay"]
    );
    ensure!(
        s["overlay"]["draw_cost_us"].as_f64() > Some(0.0),
        "its cost is measured"
    );

    // The default binding hides it again.
    comp.input(json!({"action": "key", "combo": "Super+Shift+o"}))?;
    wait_for(Duration::from_secs(5), "the panel gone", || {
        let shot = comp.screenshot(json!({})).ok()?;
        (!dark_panel_at(&shot, 1260, 700)).then_some(())
    })?;
    ensure!(stats(&comp)?["overlay"]["on"] == false);
    Ok(())
}

/// An amdgpu board's files as the kernel lays them out, under `root`.
fn amdgpu_tree(root: &Path) -> Result<PathBuf> {
    let device = root.join("devices/pci0000:00/0000:03:00.0");
    let driver = root.join("bus/pci/drivers/amdgpu");
    std::fs::create_dir_all(device.join("hwmon/hwmon3"))?;
    std::fs::create_dir_all(&driver)?;
    std::os::unix::fs::symlink(&driver, device.join("driver"))?;
    let drm = root.join("class/drm");
    std::fs::create_dir_all(drm.join("card1"))?;
    std::os::unix::fs::symlink(&device, drm.join("card1/device"))?;
    for (file, value) in [
        ("gpu_busy_percent", "12"),
        ("mem_info_vram_used", "536870912"),
        ("mem_info_vram_total", "8573157376"),
        ("hwmon/hwmon3/temp1_input", "47000"),
        ("hwmon/hwmon3/power1_average", "23000000"),
        ("hwmon/hwmon3/freq1_input", "800000000"),
    ] {
        std::fs::write(device.join(file), format!("{value}\n"))?;
    }
    Ok(device)
}

#[test]
fn stats_watch_and_the_overlay_survive_a_gpu_source_that_disappears() -> Result<()> {
    let home = home("vanish", "[telemetry]\ninterval_ms = 100\noverlay = true\n")?;
    let sys = home.join("sys");
    let device = amdgpu_tree(&sys)?;
    let drm = sys.join("class/drm");
    let comp = Compositor::start_with_env(
        &["--output", "1280x720@60"],
        &home,
        &[("GHOSTCOMP_SYS_CLASS_DRM", drm.to_str().context("path")?)],
    )?;
    let mut watch = comp
        .command(&ghost_tests::ghostcomp_bin().to_string_lossy())
        .args(["msg", "stats", "--watch", "--json"])
        .stdout(Stdio::piped())
        .spawn()?;
    let mut lines = BufReader::new(watch.stdout.take().context("stdout")?).lines();
    let mut next_gpu = || -> Result<Value> {
        let line = lines.next().context("--watch ended")??;
        let reply: Value = serde_json::from_str(&line)?;
        Ok(reply["result"].clone())
    };
    let seen = (0..10)
        .map(|_| next_gpu())
        .find(|s| {
            s.as_ref()
                .is_ok_and(|s| s["gpus"][0]["temperature_c"] == 47.0)
        })
        .context("the board's temperature within ten rounds")??;
    let g = &seen["gpus"][0];
    ensure!(
        g["name"] == "card1 (amdgpu)" && g["power_w"] == 23.0 && g["core_clock_mhz"] == 800,
        "{g}"
    );
    ensure!(
        g["gpu_busy_percent"] == 12 && g["vram_total_bytes"] == 8_573_157_376u64,
        "{g}"
    );
    ensure!(seen["overlay"]["on"] == true, "the overlay started shown");

    // The temperature file goes: that figure goes, the rest stays.
    std::fs::remove_file(device.join("hwmon/hwmon3/temp1_input"))?;
    (0..10)
        .map(|_| next_gpu())
        .find(|s| {
            s.as_ref().is_ok_and(|s| {
                s["gpus"][0]["temperature_c"].is_null() && s["gpus"][0]["power_w"] == 23.0
            })
        })
        .context("the temperature dropped out")??;
    // The whole board goes.
    std::fs::remove_dir_all(drm.join("card1"))?;
    let gone = (0..10)
        .map(|_| next_gpu())
        .find(|s| {
            s.as_ref()
                .is_ok_and(|s| s["gpus"].as_array().is_some_and(Vec::is_empty))
        })
        .context("the board dropped out")??;
    ensure!(
        gone["gpu_sources_unavailable"]
            .to_string()
            .contains("hwmon"),
        "{}",
        gone["gpu_sources_unavailable"]
    );
    let updates = gone["overlay"]["updates"].as_u64().unwrap_or(0);
    // --watch and the overlay carry on.
    std::thread::sleep(Duration::from_millis(1200));
    let later = next_gpu()?;
    ensure!(
        later["overlay"]["updates"].as_u64() > Some(updates),
        "the overlay still redraws"
    );
    ensure!(watch.try_wait()?.is_none(), "--watch is still running");
    let _ = watch.kill();
    let shot = comp.screenshot(json!({}))?;
    ensure!(dark_panel_at(&shot, 14, 14), "the panel is still on screen");
    Ok(())
}
