//! End to end: an input method (our own zwp_input_method_v2 client, as fcitx5 would be)
//! composes text that lands in foot through zwp_text_input_v3, follows the keyboard
//! focus between windows, and is not offered to sandboxed clients.

use std::time::Duration;

use anyhow::{ensure, Result};
use ghost_tests::{client::TestClient, require_program, wait_for, Compositor};
use serde_json::json;

fn im_active(im: &mut TestClient, want: bool, what: &str) -> Result<()> {
    wait_for(Duration::from_secs(10), what, || {
        im.roundtrip().ok()?;
        (im.state.input_method.active == want).then_some(())
    })
}

#[test]
fn an_input_method_types_composed_text_into_foot_and_follows_the_focus() -> Result<()> {
    require_program("foot")?;
    let mut comp = Compositor::start(&[])?;
    let mut im_client = TestClient::connect(&comp.socket_path())?;
    let im = im_client.become_input_method()?;
    ensure!(
        !im_client.state.input_method.unavailable,
        "the seat has no other input method"
    );
    ensure!(!im_client.state.input_method.active, "no text field yet");

    let typed = comp.runtime_dir().join("typed-by-ime");
    let mut foot = comp.command("foot");
    foot.env("LANG", "C.UTF-8")
        .env("HOME", comp.runtime_dir())
        .args([
            "--app-id",
            "ime-foot",
            "sh",
            "-c",
            &format!(
                "read line; printf '%s' \"$line\" > {}; sleep 60",
                typed.display()
            ),
        ]);
    comp.spawn_client(foot)?;
    comp.wait_window("ime-foot")?;
    // foot enables its text input when it gets the keyboard.
    im_active(
        &mut im_client,
        true,
        "the input method to be activated by foot",
    )?;

    // The candidate window shows by the terminal's text cursor, over the terminal.
    let window = comp.wait_window("ime-foot")?;
    let geo = &window["geometry"];
    let (wx, wy, ww, wh) = (
        geo["x"].as_i64().unwrap_or(0) as u32,
        geo["y"].as_i64().unwrap_or(0) as u32,
        geo["width"].as_i64().unwrap_or(0) as u32,
        geo["height"].as_i64().unwrap_or(0) as u32,
    );
    let _candidates = im_client.candidate_popup(&im, 120, 40, 0xff_10_c0_40)?;
    let shot = wait_for(
        Duration::from_secs(10),
        "the candidate window on screen",
        || {
            let shot = comp.screenshot(json!({})).ok()?;
            (0..shot.width)
                .step_by(4)
                .flat_map(|x| (0..shot.height).step_by(4).map(move |y| (x, y)))
                .find(|(x, y)| shot.pixel(*x, *y) == [0x10, 0xc0, 0x40])
                .map(|at| (shot, at))
        },
    )?;
    let (x, y) = shot.1;
    ensure!(
        (wx..wx + ww).contains(&x) && (wy..wy + wh + 40).contains(&y),
        "the candidates at {x},{y}, the terminal at {wx},{wy} {ww}x{wh}"
    );

    // foot's text field settles (it tells its cursor rectangle in a commit or two after
    // enabling; a commit names the serial of the state it applies to, as a person typing
    // seconds later always does).
    let mut last = u32::MAX;
    while im_client.state.input_method.done != last {
        last = im_client.state.input_method.done;
        std::thread::sleep(Duration::from_millis(300));
        im_client.roundtrip()?;
    }

    // What a Japanese or Spanish input method composes, committed into the terminal.
    im_client.commit_text(&im, "日本語 ñ")?;
    comp.input(json!({"action": "key", "combo": "Return"}))?;
    let text = wait_for(
        Duration::from_secs(10),
        "foot's shell to write the line",
        || {
            std::fs::read_to_string(&typed)
                .ok()
                .filter(|t| !t.is_empty())
        },
    )?;
    ensure!(text == "日本語 ñ", "foot received {text:?}");

    // An input method composing from keys takes the keyboard while a field is active:
    // the keys come to it, not to the terminal.
    let grab = im_client.grab_keyboard(&im)?;
    comp.input(json!({"action": "type", "text": "ka"}))?;
    wait_for(
        Duration::from_secs(5),
        "the keys at the input method",
        || {
            im_client.roundtrip().ok()?;
            (im_client.state.input_method.grabbed_keys.len() >= 2).then_some(())
        },
    )?;
    ensure!(
        im_client.state.input_method.grab_keymap,
        "a keymap with the grab"
    );
    // KEY_K, KEY_A.
    ensure!(
        im_client.state.input_method.grabbed_keys[..2] == [37, 30],
        "{:?}",
        im_client.state.input_method.grabbed_keys
    );
    grab.release();
    im_client.roundtrip()?;
    ensure!(
        im_client.state.input_method.active,
        "the terminal's field is still active"
    );

    // A window without a text field takes the keyboard: the input method is told to
    // stop.
    let mut other = TestClient::connect(&comp.socket_path())?;
    let _plain = other.color_window("no-text-field", 200, 100, &[0xff_30_30_30])?;
    comp.wait_window("no-text-field")?;
    im_active(&mut im_client, false, "the input method to be deactivated")?;
    Ok(())
}

#[test]
fn a_second_input_method_is_told_the_seat_is_taken() -> Result<()> {
    let comp = Compositor::start(&[])?;
    let mut first = TestClient::connect(&comp.socket_path())?;
    let _im = first.become_input_method()?;
    let mut second = TestClient::connect(&comp.socket_path())?;
    let _im2 = second.become_input_method()?;
    second.roundtrip()?;
    ensure!(
        second.state.input_method.unavailable,
        "the second was told unavailable"
    );
    first.roundtrip()?;
    ensure!(
        !first.state.input_method.unavailable,
        "the first keeps the seat"
    );
    // The first input method quits: the next one gets the seat.
    drop(first);
    drop(second);
    std::thread::sleep(Duration::from_millis(200));
    let mut third = TestClient::connect(&comp.socket_path())?;
    let _im3 = third.become_input_method()?;
    third.roundtrip()?;
    ensure!(
        !third.state.input_method.unavailable,
        "the seat is free again"
    );
    Ok(())
}
