//! Pointer locks and confinement, as games (and Xwayland, for X11 games) use them: the
//! mouse's motion (`msg input pointer-move-by`, the path libinput's relative motion takes)
//! no longer moves a locked pointer and arrives as relative motion; a confined pointer
//! stays on its surface.

use std::time::Duration;

use anyhow::{Context, Result};
use ghost_tests::{client::TestClient, wait_for, Compositor};
use serde_json::json;

/// A window of `client`, the pointer on its middle, and the surface's size.
fn window_under_pointer(
    comp: &Compositor,
    client: &mut TestClient,
    app_id: &str,
) -> Result<ghost_tests::client::ColorWindow> {
    client.watch_seat()?;
    let window = client.color_window(app_id, 300, 200, &[0xff20_6040])?;
    let info = comp.wait_window(app_id)?;
    let g = &info["geometry"];
    let (x, y) = (
        g["x"].as_f64().context("x")? + 150.0,
        g["y"].as_f64().context("y")? + 100.0,
    );
    comp.input(json!({"action": "pointer-move", "x": x, "y": y}))?;
    wait_for(Duration::from_secs(10), "the pointer on the window", || {
        client.roundtrip().ok()?;
        (client.state.seat.pointer_focus.as_ref() == Some(&window.surface)).then_some(())
    })?;
    Ok(window)
}

fn move_by(comp: &Compositor, dx: f64, dy: f64) -> Result<()> {
    comp.input(json!({"action": "pointer-move-by", "dx": dx, "dy": dy}))?;
    Ok(())
}

#[test]
fn a_locked_pointer_stays_still_while_relative_motion_arrives() -> Result<()> {
    let comp = Compositor::start(&[])?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    let window = window_under_pointer(&comp, &mut client, "locker")?;
    let _relative = client.relative_pointer()?;
    let lock = client.lock_pointer(&window.surface)?;
    wait_for(Duration::from_secs(5), "the lock", || {
        client.roundtrip().ok()?;
        client.state.constraint.active.then_some(())
    })?;
    let at = client.state.seat.pointer_at;
    for _ in 0..3 {
        move_by(&comp, 50.0, 20.0)?;
    }
    client.roundtrip()?;
    assert_eq!(
        client.state.seat.pointer_at, at,
        "the pointer stayed where it was locked"
    );
    let (dx, dy) = client
        .state
        .constraint
        .relative
        .iter()
        .fold((0.0, 0.0), |(x, y), (dx, dy)| (x + dx, y + dy));
    assert_eq!(
        (dx, dy),
        (150.0, 60.0),
        "the motion arrived as relative motion"
    );

    // Unlocked, the same motion moves it again.
    lock.destroy();
    client.roundtrip()?;
    move_by(&comp, 30.0, 0.0)?;
    client.roundtrip()?;
    assert_eq!(client.state.seat.pointer_at, (at.0 + 30.0, at.1));
    Ok(())
}

#[test]
fn a_confined_pointer_stays_on_its_surface() -> Result<()> {
    let comp = Compositor::start(&[])?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    let window = window_under_pointer(&comp, &mut client, "confiner")?;
    let _confine = client.confine_pointer(&window.surface)?;
    wait_for(Duration::from_secs(5), "the confinement", || {
        client.roundtrip().ok()?;
        client.state.constraint.active.then_some(())
    })?;
    // Within the surface the pointer moves; a motion that would leave it does not.
    move_by(&comp, 100.0, 0.0)?;
    client.roundtrip()?;
    let (x, _) = client.state.seat.pointer_at;
    assert!((x - 250.0).abs() < 1.0, "moved within: {x}");
    move_by(&comp, 100.0, 0.0)?;
    client.roundtrip()?;
    assert_eq!(
        client.state.seat.pointer_focus.as_ref(),
        Some(&window.surface),
        "still on the surface"
    );
    let (x, _) = client.state.seat.pointer_at;
    assert!(x < 300.0, "kept inside: {x}");
    Ok(())
}

#[test]
fn a_games_lock_holds_only_while_it_has_the_keyboard() -> Result<()> {
    let comp = Compositor::start(&[])?;
    let mut game = TestClient::connect(&comp.socket_path())?;
    let window = window_under_pointer(&comp, &mut game, "game")?;
    let _lock = game.lock_pointer(&window.surface)?;
    let locked = |game: &mut TestClient, want: bool, what: &str| {
        wait_for(Duration::from_secs(5), what, || {
            game.roundtrip().ok()?;
            (game.state.constraint.active == want).then_some(())
        })
    };
    locked(&mut game, true, "the lock")?;
    // Another window takes the keyboard (a chat opening, Alt+Tab): the lock lets go,
    // though the pointer has not moved off the game.
    let id = |app: &str| -> Result<u64> {
        comp.windows()?
            .iter()
            .find(|w| w["app_id"] == app)
            .and_then(|w| w["id"].as_u64())
            .context("the window's id")
    };
    let mut chat = TestClient::connect(&comp.socket_path())?;
    let _chat = chat.color_window("chat", 200, 100, &[0xff30_3030])?;
    comp.wait_window("chat")?;
    comp.request(json!({"request": "focus", "id": id("chat")?}))?;
    locked(&mut game, false, "the lock released")?;
    // The game's window comes back to the front: its lock holds again.
    comp.request(json!({"request": "focus", "id": id("game")?}))?;
    locked(&mut game, true, "the lock back")?;
    let at = game.state.seat.pointer_at;
    move_by(&comp, 40.0, 0.0)?;
    game.roundtrip()?;
    assert_eq!(game.state.seat.pointer_at, at, "held again");
    Ok(())
}
