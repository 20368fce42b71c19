//! End to end: tiled workspaces with foot, which takes the size it is given. The first
//! window fills the output; the next ones make a master column and a stack; a window
//! taken out of the tiles (Super+Shift+space, a `floating` rule) floats at its own
//! size; Super+T lets the whole workspace float again.

use std::{path::PathBuf, process::Command, time::Duration};

use anyhow::{ensure, Context, Result};
use ghost_tests::{require_program, wait_for, Compositor};
use serde_json::{json, Value};

fn home(name: &str, config: &str) -> Result<PathBuf> {
    let home = std::env::temp_dir().join(format!("ghost-tiling-{name}-{}", std::process::id()));
    std::fs::create_dir_all(home.join("ghostcomp"))?;
    std::fs::write(home.join("ghostcomp/config.toml"), config)?;
    Ok(home)
}

fn foot(comp: &Compositor, app_id: &str) -> Command {
    let mut cmd = comp.command("foot");
    cmd.args([
        "--config=/dev/null",
        &format!("--app-id={app_id}"),
        "sh",
        "-c",
        "sleep 60",
    ]);
    cmd
}

/// ghostcomp's title bar over windows with server-side decorations (foot asks for them).
const TITLE_BAR: i64 = 24;

/// The window with its title bar, as it sits in its tile.
fn rect(w: &Value) -> Rect {
    let g = &w["geometry"];
    let n = |k: &str| g[k].as_i64().unwrap_or(-1);
    let bar = if w["server_side_decorations"] == true {
        TITLE_BAR
    } else {
        0
    };
    (n("x"), n("y") - bar, n("width"), n("height") + bar)
}

/// x, y, width, height.
type Rect = (i64, i64, i64, i64);

/// Waits until every `(app_id, rectangle)` holds at once.
fn wait_layout(comp: &Compositor, want: &[(&str, Rect)]) -> Result<Vec<Value>> {
    wait_for(
        Duration::from_secs(20),
        &format!("the layout {want:?}"),
        || {
            let windows = comp.windows().ok()?;
            want.iter()
                .all(|(app, r)| windows.iter().any(|w| w["app_id"] == *app && rect(w) == *r))
                .then_some(windows)
        },
    )
}

fn window(comp: &Compositor, app_id: &str) -> Result<Value> {
    comp.windows()?
        .into_iter()
        .find(|w| w["app_id"] == app_id)
        .context(app_id.to_owned())
}

#[test]
fn a_tiled_workspace_makes_a_master_and_a_stack_and_lets_windows_float() -> Result<()> {
    require_program("foot")?;
    let home = home("master", "[layout]\ntiling = true\ngaps = 0\n")?;
    let mut comp = Compositor::start_with_config_home(&["--output", "1280x720@60"], &home)?;
    comp.spawn_client(foot(&comp, "one"))?;
    wait_layout(&comp, &[("one", (0, 0, 1280, 720))])?;
    comp.spawn_client(foot(&comp, "two"))?;
    wait_layout(
        &comp,
        &[("one", (0, 0, 640, 720)), ("two", (640, 0, 640, 720))],
    )?;
    comp.spawn_client(foot(&comp, "three"))?;
    let all = wait_layout(
        &comp,
        &[
            ("one", (0, 0, 640, 720)),
            ("two", (640, 0, 640, 360)),
            ("three", (640, 360, 640, 360)),
        ],
    )?;
    ensure!(all.iter().all(|w| w["tiled"] == true), "{all:?}");
    let ws = comp.request(json!({"request": "workspaces"}))?;
    ensure!(ws[0]["workspaces"][0]["tiled"] == true, "{ws}");

    // The newest has the keyboard: Super+Shift+space takes it out of the tiles, and it
    // floats at a size of its own; the stack closes up.
    ensure!(window(&comp, "three")?["focused"] == true);
    comp.input(json!({"action": "key", "combo": "Super+Shift+space"}))?;
    wait_layout(
        &comp,
        &[("one", (0, 0, 640, 720)), ("two", (640, 0, 640, 720))],
    )?;
    let three = wait_for(Duration::from_secs(10), "three floating", || {
        window(&comp, "three")
            .ok()
            .filter(|w| w["tiled"] == false && rect(w) != (640, 360, 640, 360))
    })?;
    ensure!(rect(&three).2 > 0, "{three}");

    // Super+T: the workspace floats again and every window has its own size back.
    comp.input(json!({"action": "key", "combo": "Super+t"}))?;
    wait_for(Duration::from_secs(10), "no window tiled", || {
        let windows = comp.windows().ok()?;
        windows
            .iter()
            .all(|w| w["tiled"] == false && rect(w) != (0, 0, 640, 720))
            .then_some(())
    })?;
    let ws = comp.request(json!({"request": "workspaces"}))?;
    ensure!(ws[0]["workspaces"][0]["tiled"] == false, "{ws}");
    std::fs::remove_dir_all(&home).ok();
    Ok(())
}

#[test]
fn a_floating_rule_keeps_a_program_out_of_the_tiles() -> Result<()> {
    require_program("foot")?;
    let home = home(
        "rule",
        "[layout]\ntiling = true\ngaps = 10\n\n[[window_rule]]\napp_id = \"^picker$\"\nfloating = true\n",
    )?;
    let mut comp = Compositor::start_with_config_home(&["--output", "1280x720@60"], &home)?;
    comp.spawn_client(foot(&comp, "editor"))?;
    // One window fills the output inside the gaps.
    wait_layout(&comp, &[("editor", (10, 10, 1260, 700))])?;
    comp.spawn_client(foot(&comp, "picker"))?;
    let picker = wait_for(Duration::from_secs(20), "the picker", || {
        window(&comp, "picker").ok().filter(|w| rect(w).2 > 0)
    })?;
    ensure!(picker["tiled"] == false, "{picker}");
    // The editor keeps the whole output.
    std::thread::sleep(Duration::from_millis(300));
    ensure!(rect(&window(&comp, "editor")?) == (10, 10, 1260, 700));
    std::fs::remove_dir_all(&home).ok();
    Ok(())
}
