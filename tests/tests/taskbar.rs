//! A taskbar (wlr-foreign-toplevel-management, what waybar's `wlr/taskbar` uses) lists
//! the windows with their titles, app ids and states, follows them as they change, and
//! activates, minimizes, restores, maximizes and closes them.

use std::time::Duration;

use anyhow::Result;
use ghost_tests::{client::TestClient, wait_for, Compositor};

const MAXIMIZED: u32 = 0;
const MINIMIZED: u32 = 1;
const ACTIVATED: u32 = 2;

fn window_flag(comp: &Compositor, app_id: &str, flag: &str) -> Option<bool> {
    comp.windows()
        .ok()?
        .into_iter()
        .find(|w| w["app_id"] == app_id)?[flag]
        .as_bool()
}

#[test]
fn a_taskbar_lists_the_windows_and_acts_on_them() -> Result<()> {
    let comp = Compositor::start(&["--output", "1280x720@60"])?;
    // Each window its own client, as two programs are.
    let mut app = TestClient::connect(&comp.socket_path())?;
    let mut editor = app.color_window("editor", 300, 200, &[0xff30_3030])?;
    let mut media = TestClient::connect(&comp.socket_path())?;
    let player = media.color_window("player", 300, 200, &[0xff60_6060])?;
    comp.wait_window("editor")?;
    comp.wait_window("player")?;

    let mut bar = TestClient::connect(&comp.socket_path())?;
    let _manager = bar.taskbar()?;
    let seen = |bar: &mut TestClient,
                title: &str,
                check: &dyn Fn(&ghost_tests::taskbar_client::TaskbarEntry) -> bool| {
        wait_for(Duration::from_secs(5), title, || {
            bar.roundtrip().ok()?;
            bar.taskbar_entry(title).filter(|e| check(e)).cloned()
        })
    };
    let e = seen(&mut bar, "editor", &|e| e.app_id == "editor")?;
    assert!(!e.is(ACTIVATED), "{e:?}");
    let p = seen(&mut bar, "player", &|e| e.is(ACTIVATED))?;
    assert_eq!(p.app_id, "player");

    // Activate the editor: it has the focus, and the bar hears so.
    e.handle
        .as_ref()
        .expect("handle")
        .activate(&bar.watch_seat()?);
    seen(&mut bar, "editor", &|e| e.is(ACTIVATED))?;
    assert_eq!(window_flag(&comp, "editor", "focused"), Some(true));
    seen(&mut bar, "player", &|e| !e.is(ACTIVATED))?;

    // Minimize and restore the player.
    p.handle.as_ref().expect("handle").set_minimized();
    seen(&mut bar, "player", &|e| e.is(MINIMIZED))?;
    assert_eq!(window_flag(&comp, "player", "minimized"), Some(true));
    p.handle.as_ref().expect("handle").unset_minimized();
    seen(&mut bar, "player", &|e| !e.is(MINIMIZED) && e.is(ACTIVATED))?;

    // Maximize the editor.
    e.handle.as_ref().expect("handle").set_maximized();
    bar.roundtrip()?;
    wait_for(Duration::from_secs(5), "the maximize configure", || {
        app.roundtrip().ok()?;
        let (_, states) = app.state.toplevel_configure.clone()?;
        states
            .contains(&wayland_protocols::xdg::shell::client::xdg_toplevel::State::Maximized)
            .then_some(())
    })?;
    // The app takes it on (acked already; this commit applies it).
    app.commit_next(&mut editor, false)?;
    wait_for(Duration::from_secs(5), "the editor maximized", || {
        app.roundtrip().ok()?;
        (window_flag(&comp, "editor", "maximized") == Some(true)).then_some(())
    })?;
    seen(&mut bar, "editor", &|e| e.is(MAXIMIZED))?;

    // Close the player: the app is asked; once its window goes, the bar hears it.
    p.handle.as_ref().expect("handle").close();
    bar.roundtrip()?;
    wait_for(Duration::from_secs(5), "the close request", || {
        media.roundtrip().ok()?;
        media.state_closed().then_some(())
    })?;
    player.destroy();
    media.roundtrip()?;
    wait_for(Duration::from_secs(5), "the player's handle closed", || {
        bar.roundtrip().ok()?;
        bar.state
            .taskbar
            .iter()
            .any(|e| e.title == "player" && e.closed)
            .then_some(())
    })?;
    drop(editor);
    Ok(())
}
