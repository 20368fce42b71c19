//! End to end: workspaces. Super+N shows the output's N-th workspace and Super+Shift+N
//! sends the focused window there; windows come back where they were; a bar
//! (ext-workspace-v1) lists them and switches; a window rule opens a window on another
//! workspace; each output has its own, and an unplugged output's windows stay
//! reachable.

use std::{path::PathBuf, time::Duration};

use anyhow::{ensure, Context, Result};
use ghost_tests::{client::TestClient, wait_for, Compositor, Image};
use serde_json::{json, Value};

const RED: u32 = 0xff_d0_20_20;
const GREEN: u32 = 0xff_20_d0_20;

fn window(comp: &Compositor, app_id: &str) -> Result<Value> {
    comp.windows()?
        .into_iter()
        .find(|w| w["app_id"] == app_id)
        .with_context(|| format!("no window {app_id}"))
}

fn centre(w: &Value) -> (u32, u32) {
    let g = &w["geometry"];
    let at = |k: &str, size: &str| g[k].as_i64().unwrap_or(0) + g[size].as_i64().unwrap_or(0) / 2;
    (at("x", "width") as u32, at("y", "height") as u32)
}

fn shows(shot: &Image, at: (u32, u32), colour: u32) -> bool {
    let want = [(colour >> 16) as u8, (colour >> 8) as u8, colour as u8];
    shot.pixel(at.0, at.1) == want
}

/// One output's workspaces as (number of windows, shown).
type OutputLayout = (String, Vec<(usize, bool)>);

/// Each output's workspaces, from `msg workspaces`.
fn layout(comp: &Compositor) -> Result<Vec<OutputLayout>> {
    let reply = comp.request(json!({"request": "workspaces"}))?;
    Ok(reply
        .as_array()
        .context("a list")?
        .iter()
        .map(|o| {
            let list = o["workspaces"]
                .as_array()
                .map(|l| {
                    l.iter()
                        .map(|w| {
                            (
                                w["windows"].as_array().map_or(0, Vec::len),
                                w["active"] == true,
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            (o["output"].as_str().unwrap_or_default().to_owned(), list)
        })
        .collect())
}

fn key(comp: &Compositor, combo: &str) -> Result<()> {
    comp.input(json!({"action": "key", "combo": combo}))?;
    Ok(())
}

#[test]
fn super_digits_switch_workspaces_and_windows_come_back_where_they_were() -> Result<()> {
    let comp = Compositor::start(&["--output", "1280x720@60"])?;
    let mut a = TestClient::connect(&comp.socket_path())?;
    let _red = a.color_window("red", 400, 300, &[RED])?;
    let red = comp.wait_window("red")?;
    let red_at = centre(&red);
    ensure!(shows(&comp.screenshot(json!({}))?, red_at, RED));

    // Workspace 2 is the empty one at the end: the red window leaves the screen and the
    // keyboard with it.
    key(&comp, "Super+2")?;
    ensure!(
        !shows(&comp.screenshot(json!({}))?, red_at, RED),
        "the red window still shows on workspace 2"
    );
    let r = window(&comp, "red")?;
    ensure!(
        r["workspace"] == 1 && r["on_screen"] == false && r["focused"] == false,
        "{r}"
    );
    ensure!(
        layout(&comp)? == vec![("HEADLESS-1".to_owned(), vec![(1, false), (0, true)])],
        "{:?}",
        layout(&comp)?
    );

    // A window opened now lives on workspace 2, and a new empty one follows.
    let mut b = TestClient::connect(&comp.socket_path())?;
    let _green = b.color_window("green", 300, 200, &[GREEN])?;
    let green = comp.wait_window("green")?;
    ensure!(
        green["workspace"] == 2 && green["focused"] == true,
        "{green}"
    );
    ensure!(layout(&comp)?[0].1 == vec![(1, false), (1, true), (0, false)]);

    // Super+Shift+1 sends it to workspace 1; the view stays on an empty workspace 2.
    key(&comp, "Super+Shift+1")?;
    let g = window(&comp, "green")?;
    ensure!(g["workspace"] == 1 && g["on_screen"] == false, "{g}");
    ensure!(layout(&comp)?[0].1 == vec![(2, false), (0, true)]);
    let shot = comp.screenshot(json!({}))?;
    ensure!(!shows(&shot, red_at, RED) && !shows(&shot, centre(&green), GREEN));

    // Super+1: both are back where they were, the green one on top with the keyboard.
    key(&comp, "Super+1")?;
    let r = window(&comp, "red")?;
    ensure!(r["geometry"] == red["geometry"], "{r} moved from {red}");
    let g = window(&comp, "green")?;
    ensure!(g["focused"] == true && g["on_screen"] == true, "{g}");
    let shot = comp.screenshot(json!({}))?;
    ensure!(shows(&shot, centre(&g), GREEN));
    ensure!(layout(&comp)?[0].1 == vec![(2, true), (0, false)]);

    // Focusing a window on a workspace not shown (a task bar, `msg focus`) goes there.
    comp.request(json!({"request": "move-to-workspace", "workspace": 2, "window": g["id"]}))?;
    comp.request(json!({"request": "focus", "id": g["id"]}))?;
    let g = window(&comp, "green")?;
    ensure!(
        g["workspace"] == 2 && g["on_screen"] == true && g["focused"] == true,
        "{g}"
    );
    ensure!(window(&comp, "red")?["on_screen"] == false);
    // Super+Page_Up is the workspace before.
    key(&comp, "Super+Page_Up")?;
    ensure!(window(&comp, "red")?["on_screen"] == true);
    Ok(())
}

#[test]
fn a_bar_lists_the_workspaces_and_switches_them() -> Result<()> {
    let comp = Compositor::start(&["--output", "1280x720@60"])?;
    let mut app = TestClient::connect(&comp.socket_path())?;
    let _red = app.color_window("red", 400, 300, &[RED])?;
    let red_at = centre(&comp.wait_window("red")?);

    let mut bar = TestClient::connect(&comp.socket_path())?;
    let manager = bar.workspace_bar()?;
    bar.roundtrip()?;
    ensure!(
        bar.state.bar.shown() == vec![("1".to_owned(), true), ("2".to_owned(), false)],
        "{:?}",
        bar.state.bar
    );
    ensure!(bar.state.bar.groups.len() == 1 && bar.state.bar.groups[0].outputs.len() == 1);
    ensure!(bar.state.bar.workspaces.iter().all(|w| w.group.is_some()));

    // The bar activates workspace 2.
    let two = bar
        .state
        .bar
        .named("2")
        .context("workspace 2")?
        .handle
        .clone();
    two.activate();
    manager.commit();
    wait_for(
        Duration::from_secs(5),
        "workspace 2 active in the bar",
        || {
            bar.roundtrip().ok()?;
            (bar.state.bar.shown() == vec![("1".to_owned(), false), ("2".to_owned(), true)])
                .then_some(())
        },
    )?;
    ensure!(!shows(&comp.screenshot(json!({}))?, red_at, RED));

    // The command line switches back; the bar follows.
    let out = comp.msg_cli(&["focus-workspace", "1"])?;
    ensure!(out.status.success(), "{out:?}");
    wait_for(
        Duration::from_secs(5),
        "workspace 1 active in the bar",
        || {
            bar.roundtrip().ok()?;
            (bar.state.bar.shown() == vec![("1".to_owned(), true), ("2".to_owned(), false)])
                .then_some(())
        },
    )?;
    ensure!(shows(&comp.screenshot(json!({}))?, red_at, RED));
    let listed = comp.msg_cli(&["workspaces"])?;
    ensure!(String::from_utf8_lossy(&listed.stdout).contains("HEADLESS-1"));

    // A window sent to workspace 2 makes a third; the bar hears of it.
    comp.request(json!({"request": "move-to-workspace", "workspace": "next"}))?;
    wait_for(
        Duration::from_secs(5),
        "three workspaces in the bar",
        || {
            bar.roundtrip().ok()?;
            (bar.state.bar.shown()
                == vec![
                    ("1".to_owned(), true),
                    ("2".to_owned(), false),
                    ("3".to_owned(), false),
                ])
            .then_some(())
        },
    )?;
    Ok(())
}

fn rule_config() -> Result<PathBuf> {
    let home = std::env::temp_dir().join(format!("ghost-workspace-home-{}", std::process::id()));
    std::fs::create_dir_all(home.join("ghostcomp"))?;
    std::fs::write(
        home.join("ghostcomp/config.toml"),
        "[[window_rule]]\napp_id = \"^chat$\"\nworkspace = 2\n",
    )?;
    Ok(home)
}

#[test]
fn a_window_rule_opens_a_window_on_another_workspace_without_taking_the_view() -> Result<()> {
    let home = rule_config()?;
    let comp = Compositor::start_with_config_home(&["--output", "1280x720@60"], &home)?;
    let mut a = TestClient::connect(&comp.socket_path())?;
    let _red = a.color_window("red", 400, 300, &[RED])?;
    comp.wait_window("red")?;
    let mut b = TestClient::connect(&comp.socket_path())?;
    let _chat = b.color_window("chat", 300, 200, &[GREEN])?;
    let chat = wait_for(
        Duration::from_secs(10),
        "the chat window on workspace 2",
        || {
            b.roundtrip().ok()?;
            window(&comp, "chat").ok().filter(|w| w["workspace"] == 2)
        },
    )?;
    ensure!(
        chat["on_screen"] == false && chat["focused"] == false,
        "{chat}"
    );
    ensure!(window(&comp, "red")?["focused"] == true);
    key(&comp, "Super+2")?;
    let chat = window(&comp, "chat")?;
    ensure!(
        chat["on_screen"] == true && chat["focused"] == true,
        "{chat}"
    );
    ensure!(shows(&comp.screenshot(json!({}))?, centre(&chat), GREEN));
    std::fs::remove_dir_all(&home).ok();
    Ok(())
}

#[test]
fn each_output_has_its_own_workspaces_and_an_unplugged_ones_windows_stay_reachable() -> Result<()> {
    let comp = Compositor::start(&["--output", "1280x720@60"])?;
    let second = comp.request(json!({"request": "create-output", "width": 1280, "height": 720}))?;
    let second = second["name"].as_str().context("output name")?.to_owned();
    let mut a = TestClient::connect(&comp.socket_path())?;
    let _red = a.color_window("red", 400, 300, &[RED])?;
    comp.wait_window("red")?;
    // The pointer on the second output: the next window opens there.
    comp.input(json!({"action": "pointer-move", "x": 1900.0, "y": 360.0}))?;
    let mut b = TestClient::connect(&comp.socket_path())?;
    let _green = b.color_window("green", 300, 200, &[GREEN])?;
    let green = comp.wait_window("green")?;
    ensure!(green["output"] == second.as_str(), "{green}");

    // Switching the second output's workspace leaves the first one's alone.
    comp.request(json!({"request": "focus-workspace", "workspace": 2, "output": second}))?;
    ensure!(window(&comp, "green")?["on_screen"] == false);
    ensure!(window(&comp, "red")?["on_screen"] == true);
    let l = layout(&comp)?;
    ensure!(
        l.len() == 2 && l[0].1 == vec![(1, true), (0, false)],
        "{l:?}"
    );
    ensure!(l[1].1 == vec![(1, false), (0, true)], "{l:?}");

    // Unplugged: its hidden workspace follows the first output's, and showing it puts
    // the green window on the first output.
    comp.request(json!({"request": "remove-output", "name": second}))?;
    let l = wait_for(Duration::from_secs(5), "one output left", || {
        layout(&comp).ok().filter(|l| l.len() == 1)
    })?;
    ensure!(l[0].1 == vec![(1, true), (1, false), (0, false)], "{l:?}");
    let g = window(&comp, "green")?;
    ensure!(g["workspace"] == 2, "{g}");
    key(&comp, "Super+2")?;
    let g = window(&comp, "green")?;
    ensure!(g["on_screen"] == true && g["output"] == "HEADLESS-1", "{g}");
    ensure!(shows(&comp.screenshot(json!({}))?, centre(&g), GREEN));
    Ok(())
}
