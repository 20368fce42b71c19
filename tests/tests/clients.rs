//! End to end: ghostcomp headless with real Debian clients.

use std::{process::Command, time::Duration};

use anyhow::Result;
use ghost_tests::{require_program, wait_for, Compositor};
use serde_json::json;

/// The compositor's background: CLEAR_COLOR (0.07, 0.08, 0.10) as pixman stores it.
const BACKGROUND: [u8; 3] = [17, 20, 25];

fn geometry(window: &serde_json::Value) -> (i64, i64, i64, i64) {
    let g = &window["geometry"];
    (
        g["x"].as_i64().unwrap_or(-1),
        g["y"].as_i64().unwrap_or(-1),
        g["width"].as_i64().unwrap_or(-1),
        g["height"].as_i64().unwrap_or(-1),
    )
}

#[test]
fn weston_simple_shm_is_shown_where_ipc_says() -> Result<()> {
    require_program("weston-simple-shm")?;
    let mut comp = Compositor::start(&[])?;
    comp.spawn_client(comp.command("weston-simple-shm"))?;
    let window = comp.wait_window("org.freedesktop.weston.simple-shm")?;
    let (x, y, w, h) = geometry(&window);
    assert_eq!((w, h), (250, 250), "weston-simple-shm is 250x250: {window}");

    let first = comp.screenshot(json!({}))?;
    assert_eq!((first.width, first.height), (1920, 1080));
    // Outside the window: background only.
    for (px, py) in [
        (x - 5, y + h / 2),
        (x + w + 5, y + h / 2),
        (x + w / 2, y - 5),
        (x + w / 2, y + h + 5),
    ] {
        assert_eq!(
            first.pixel(px as u32, py as u32),
            BACKGROUND,
            "at {px},{py}"
        );
    }
    // Inside: the client's drawing, which is not the background anywhere near its centre.
    let inside = first.region(
        (x + w / 4) as u32,
        (y + h / 4) as u32,
        (w / 2) as u32,
        (h / 2) as u32,
    );
    let background_share =
        inside.iter().filter(|p| **p == BACKGROUND).count() as f64 / inside.len() as f64;
    assert!(
        background_share < 0.05,
        "window area is {:.0}% background",
        background_share * 100.0
    );

    // Frames keep arriving: the animation changes the window's pixels.
    let changed = wait_for(
        Duration::from_secs(5),
        "the animation to change pixels",
        || {
            let next = comp.screenshot(json!({})).ok()?;
            let now = next.region(x as u32, y as u32, w as u32, h as u32);
            let before = first.region(x as u32, y as u32, w as u32, h as u32);
            (now != before).then_some(())
        },
    );
    changed?;
    assert!(comp.is_running());
    Ok(())
}

#[test]
fn foot_runs_a_command_typed_through_injection() -> Result<()> {
    require_program("foot")?;
    let mut comp = Compositor::start(&[])?;
    let marker = comp.runtime_dir().join("typed-by-test");
    let mut foot = comp.command("foot");
    foot.env("SHELL", "/bin/sh").env("HOME", comp.runtime_dir());
    comp.spawn_client(foot)?;
    let window = comp.wait_window("foot")?;
    let id = window["id"].as_u64().unwrap_or_default();
    wait_for(
        Duration::from_secs(10),
        "foot to have keyboard focus",
        || {
            comp.windows()
                .ok()?
                .iter()
                .find(|w| w["id"] == id && w["focused"] == true)
                .map(|_| ())
        },
    )?;
    // Give the shell a moment to print its prompt; typing earlier is buffered anyway.
    std::thread::sleep(Duration::from_millis(500));
    let text = format!("touch {}\n", marker.display());
    let out = comp.msg_cli(&["input", "type", &text])?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_for(
        Duration::from_secs(10),
        "the typed command to create its file",
        || marker.exists().then_some(()),
    )?;
    Ok(())
}

const EXPECTED_GLOBALS: &[&str] = &[
    "wl_compositor",
    "wl_subcompositor",
    "wl_shm",
    "wl_seat",
    "wl_output",
    "wl_data_device_manager",
    "zwp_primary_selection_device_manager_v1",
    "xdg_wm_base",
    "zxdg_decoration_manager_v1",
    "zwlr_layer_shell_v1",
    "xdg_activation_v1",
    "wp_presentation",
    "wp_viewporter",
    "wp_fractional_scale_manager_v1",
    "wp_single_pixel_buffer_manager_v1",
    "wp_cursor_shape_manager_v1",
    "zxdg_output_manager_v1",
    "zwp_pointer_constraints_v1",
    "zwp_relative_pointer_manager_v1",
    "zwp_keyboard_shortcuts_inhibit_manager_v1",
    "zwp_idle_inhibit_manager_v1",
    "ext_idle_notifier_v1",
    "ext_session_lock_manager_v1",
    "zwlr_data_control_manager_v1",
    "zwlr_foreign_toplevel_manager_v1",
    "ext_data_control_manager_v1",
    "zwlr_output_manager_v1",
    "ext_foreign_toplevel_list_v1",
    "wp_security_context_manager_v1",
    "zwlr_screencopy_manager_v1",
    // wp_color_manager_v1 is offered with the GLES renderer only (tests/colour.rs).
    "wp_fifo_manager_v1",
    "wp_commit_timing_manager_v1",
    "wp_content_type_manager_v1",
    "wp_tearing_control_manager_v1",
    "ext_image_copy_capture_manager_v1",
    "ext_output_image_capture_source_manager_v1",
    "ext_foreign_toplevel_image_capture_source_manager_v1",
    "zwp_text_input_manager_v3",
    "zwp_input_method_manager_v2",
    "zwp_tablet_manager_v2",
];

const PRIVILEGED_GLOBALS: &[&str] = &[
    "ext_session_lock_manager_v1",
    "zwlr_data_control_manager_v1",
    "zwlr_foreign_toplevel_manager_v1",
    "ext_data_control_manager_v1",
    "zwlr_output_manager_v1",
    "zwlr_layer_shell_v1",
    "ext_foreign_toplevel_list_v1",
    "wp_security_context_manager_v1",
    "zwlr_screencopy_manager_v1",
    "ext_image_copy_capture_manager_v1",
    "ext_output_image_capture_source_manager_v1",
    "ext_foreign_toplevel_image_capture_source_manager_v1",
    "zwp_input_method_manager_v2",
    "ext_workspace_manager_v1",
    "zwp_virtual_keyboard_manager_v1",
    "zwlr_virtual_pointer_manager_v1",
];

fn wayland_info_interfaces(cmd: &mut Command) -> Result<Vec<String>> {
    let out = cmd.output()?;
    anyhow::ensure!(
        out.status.success(),
        "wayland-info failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("interface: '"))
        .filter_map(|l| l.split('\'').next())
        .map(str::to_owned)
        .collect())
}

#[test]
fn wayland_info_sees_every_global_and_sandboxed_clients_do_not_see_privileged_ones() -> Result<()> {
    require_program("wayland-info")?;
    let comp = Compositor::start(&[])?;
    let all = wayland_info_interfaces(&mut comp.command("wayland-info"))?;
    for g in EXPECTED_GLOBALS {
        assert!(
            all.iter().any(|i| i == g),
            "wayland-info does not list {g}: {all:?}"
        );
    }

    // A sandbox engine (flatpak does the same) makes a security context and hands its
    // socket to the sandboxed app.
    let mut engine = ghost_tests::client::TestClient::connect(&comp.socket_path())?;
    let sandbox_socket = comp.runtime_dir().join("sandbox-0");
    let (_listener, _close) =
        engine.create_security_context(&sandbox_socket, "org.example.Sandboxed")?;
    let mut sandboxed = comp.command("wayland-info");
    sandboxed.env("WAYLAND_DISPLAY", &sandbox_socket);
    let seen = wayland_info_interfaces(&mut sandboxed)?;
    assert!(seen.iter().any(|i| i == "wl_compositor"), "{seen:?}");
    assert!(seen.iter().any(|i| i == "xdg_wm_base"), "{seen:?}");
    for g in PRIVILEGED_GLOBALS {
        assert!(!seen.iter().any(|i| i == g), "sandboxed client sees {g}");
    }

    // The same holds for our own client on the sandbox socket.
    let own = ghost_tests::client::TestClient::connect(&sandbox_socket)?;
    let names = own.global_names();
    for g in PRIVILEGED_GLOBALS {
        assert!(!names.iter().any(|n| n == g), "sandboxed client sees {g}");
    }
    Ok(())
}

#[test]
fn wlr_randr_lists_outputs_and_changes_the_mode() -> Result<()> {
    require_program("wlr-randr")?;
    let comp = Compositor::start(&["--output", "1920x1080@60", "--output", "1280x720@60"])?;
    let out = comp.command("wlr-randr").output()?;
    anyhow::ensure!(
        out.status.success(),
        "wlr-randr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains("HEADLESS-1") && listing.contains("HEADLESS-2"),
        "{listing}"
    );
    assert!(
        listing.contains("1920x1080 px, 60.000000 Hz (preferred, current)"),
        "{listing}"
    );

    let set = comp
        .command("wlr-randr")
        .args([
            "--output",
            "HEADLESS-1",
            "--mode",
            "2560x1440@60",
            "--pos",
            "0,0",
        ])
        .output()?;
    anyhow::ensure!(
        set.status.success(),
        "wlr-randr --mode: {}",
        String::from_utf8_lossy(&set.stderr)
    );

    let outputs = wait_for(
        Duration::from_secs(5),
        "the new mode in ghostcomp msg outputs",
        || {
            let outputs = comp.request(json!({"request": "outputs"})).ok()?;
            let first = outputs
                .as_array()?
                .iter()
                .find(|o| o["name"] == "HEADLESS-1")?
                .clone();
            (first["current_mode"]["width"] == 2560).then_some(outputs)
        },
    )?;
    let first = outputs
        .as_array()
        .and_then(|a| a.iter().find(|o| o["name"] == "HEADLESS-1"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        first["current_mode"],
        json!({"width": 2560, "height": 1440, "refresh_mhz": 60000})
    );
    // The screenshot has the new size, and wlr-randr agrees too.
    let shot = comp.screenshot(json!({"output": "HEADLESS-1"}))?;
    assert_eq!((shot.width, shot.height), (2560, 1440));
    let again = String::from_utf8_lossy(&comp.command("wlr-randr").output()?.stdout).into_owned();
    assert!(
        again.contains("2560x1440 px, 60.000000 Hz (current)"),
        "{again}"
    );
    Ok(())
}

#[test]
fn wlr_randr_custom_modes_resize_virtual_outputs_and_nonsense_is_refused() -> Result<()> {
    require_program("wlr-randr")?;
    let comp = Compositor::start(&[])?;
    let set = comp
        .command("wlr-randr")
        .args(["--output", "HEADLESS-1", "--custom-mode", "1000x700"])
        .output()?;
    anyhow::ensure!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let shot = wait_for(Duration::from_secs(5), "the custom mode", || {
        let shot = comp.screenshot(json!({})).ok()?;
        (shot.width == 1000).then_some(shot)
    })?;
    assert_eq!((shot.width, shot.height), (1000, 700));

    // A zero-sized mode is a protocol error for wlr-randr; ghostcomp keeps its mode.
    let bad = comp
        .command("wlr-randr")
        .args(["--output", "HEADLESS-1", "--custom-mode", "0x700"])
        .output()?;
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("error"),
        "{bad:?}"
    );
    let outputs = comp.request(json!({"request": "outputs"}))?;
    assert_eq!(outputs[0]["current_mode"]["width"], 1000);
    Ok(())
}

/// grim reads the screen through wlr-screencopy: its picture is the compositor's own
/// screenshot, pixel for pixel, whole and for a region.
#[test]
fn grim_captures_exactly_what_the_screenshot_shows() -> Result<()> {
    require_program("grim")?;
    require_program("weston-simple-shm")?;
    let mut comp = Compositor::start(&["--output", "640x480@60"])?;
    comp.spawn_client(comp.command("weston-simple-shm"))?;
    let window = comp.wait_window("org.freedesktop.weston.simple-shm")?;
    // weston-simple-shm animates: compare grim with a screenshot of a still scene.
    comp.request(json!({"request": "close", "id": window["id"]}))?;
    std::thread::sleep(Duration::from_millis(200));
    let mut own = ghost_tests::client::TestClient::connect(&comp.socket_path())?;
    let _window = own.color_window("still", 200, 120, &[0xff_33_66_99])?;
    let still = comp.wait_window("still")?;
    let (sx, sy, _, _) = geometry(&still);
    std::thread::sleep(Duration::from_millis(100));

    let whole = comp.runtime_dir().join("grim.png");
    let out = comp.command("grim").arg(&whole).output()?;
    anyhow::ensure!(
        out.status.success(),
        "grim: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let grabbed = ghost_tests::read_png(&whole)?;
    let shot = comp.screenshot(json!({}))?;
    assert_eq!((grabbed.width, grabbed.height), (shot.width, shot.height));
    assert_eq!(
        grabbed.region(0, 0, 640, 480),
        shot.region(0, 0, 640, 480),
        "grim differs from the screenshot"
    );
    assert_eq!(
        grabbed.pixel(sx as u32 + 10, sy as u32 + 10),
        [0x33, 0x66, 0x99]
    );

    let part = comp.runtime_dir().join("grim-region.png");
    let geometry_arg = format!("{},{} 50x40", sx + 5, sy + 5);
    let out = comp
        .command("grim")
        .args(["-g", &geometry_arg])
        .arg(&part)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "grim -g: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let region = ghost_tests::read_png(&part)?;
    assert_eq!((region.width, region.height), (50, 40));
    assert!(region
        .region(0, 0, 50, 40)
        .iter()
        .all(|p| *p == [0x33, 0x66, 0x99]));
    Ok(())
}
