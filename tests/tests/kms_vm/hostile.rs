//! Attacks on ghostcomp while it drives the real display: the screen keeps showing a
//! well-behaved client's new frames through malformed messages, a 10,000-deep
//! subsurface chain and a client that floods requests.

use std::time::Duration;

use anyhow::Result;
use ghost_tests::{
    client::TestClient,
    rgb,
    wire::{Answer, Arg, WireClient},
};

use super::{close, start, writeback_until};

const FIRST: u32 = 0xff20_c040;
const SECOND: u32 = 0xff40_20c0;

#[test]
#[ignore = "needs a KMS device and root: run scripts/kms-vm-test.sh"]
fn kms_display_keeps_showing_new_frames_through_attacks() -> Result<()> {
    let mut comp = start("hostile", "")?;
    let mut app = TestClient::connect(&comp.socket_path())?;
    let mut window = app.color_window("kms-bystander", 200, 150, &[FIRST, SECOND])?;
    let info = comp.wait_window("kms-bystander")?;
    let centre = (
        info["geometry"]["x"].as_i64().unwrap_or(0) as u32 + 100,
        info["geometry"]["y"].as_i64().unwrap_or(0) as u32 + 75,
    );
    // Each step: the next colour committed must reach the display.
    let mut shown = FIRST;
    let mut next_frame =
        |comp: &ghost_tests::Compositor, app: &mut TestClient, what: &str| -> Result<()> {
            app.commit_next(&mut window, false)?;
            shown = if shown == FIRST { SECOND } else { FIRST };
            let want = rgb(shown);
            writeback_until(comp, what, |f| close(f.pixel(centre.0, centre.1), want))?;
            Ok(())
        };
    next_frame(&comp, &mut app, "the window's second frame")?;

    // A null where xdg_toplevel.set_title forbids one.
    let mut attacker = WireClient::connect(&comp.socket_path())?;
    let (registry, globals) = attacker.globals()?;
    let compositor = attacker.bind(registry, &globals, "wl_compositor", 5)?;
    let wm_base = attacker.bind(registry, &globals, "xdg_wm_base", 1)?;
    let surface = attacker.new_id();
    attacker.send(compositor, 0, &[Arg::NewId(surface)])?;
    let xdg = attacker.new_id();
    attacker.send(wm_base, 2, &[Arg::NewId(xdg), Arg::Object(surface)])?;
    let toplevel = attacker.new_id();
    attacker.send(xdg, 1, &[Arg::NewId(toplevel)])?;
    attacker.send(toplevel, 2, &[Arg::Str(None)])?;
    let answer = attacker.roundtrip(Duration::from_secs(10))?;
    assert!(
        matches!(answer, Answer::Error(..) | Answer::Closed),
        "tolerated: {answer:?}"
    );
    next_frame(&comp, &mut app, "a frame after the malformed message")?;

    // A 10,000-deep subsurface chain.
    let mut chain = WireClient::connect(&comp.socket_path())?;
    let (registry, globals) = chain.globals()?;
    let compositor = chain.bind(registry, &globals, "wl_compositor", 5)?;
    let subcompositor = chain.bind(registry, &globals, "wl_subcompositor", 1)?;
    let mut parent = chain.new_id();
    chain.send(compositor, 0, &[Arg::NewId(parent)])?;
    for _ in 0..10_000 {
        let child = chain.new_id();
        let role = chain.new_id();
        let sent = chain
            .send(compositor, 0, &[Arg::NewId(child)])
            .and_then(|_| {
                chain.send(
                    subcompositor,
                    1,
                    &[Arg::NewId(role), Arg::Object(child), Arg::Object(parent)],
                )
            });
        if sent.is_err() {
            break; // refused and hung up
        }
        parent = child;
    }
    next_frame(&comp, &mut app, "a frame after the subsurface chain")?;

    // A client flooding requests while the window keeps drawing.
    let socket = comp.socket_path();
    let flood = std::thread::spawn(move || -> Result<u64> {
        Ok(WireClient::connect(&socket)?
            .flood(Duration::from_secs(5))
            .0)
    });
    for i in 0..3 {
        next_frame(&comp, &mut app, &format!("frame {i} during the flood"))?;
    }
    let _ = flood.join();
    next_frame(&comp, &mut app, "a frame after the flood")?;
    assert!(comp.is_running(), "ghostcomp exited:\n{}", comp.log());
    Ok(())
}
