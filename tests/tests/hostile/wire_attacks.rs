//! Malformed messages and nonsense values on the wire.

use super::*;

#[test]
fn a_null_string_where_the_protocol_forbids_one_disconnects_only_that_client() -> Result<()> {
    let mut comp = Compositor::start(&[])?;
    let aftermath = Aftermath::begin(&comp)?;
    let mut bystander = WireClient::connect(&comp.socket_path())?;
    let mut shell = Shell::connect(&comp.socket_path())?;
    let surface = shell.surface()?;
    let xdg_surface = shell.client.new_id();
    let wm_base = shell.wm_base;
    shell
        .client
        .send(wm_base, 2, &[Arg::NewId(xdg_surface), Arg::Object(surface)])?;
    let toplevel = shell.client.new_id();
    shell.client.send(xdg_surface, 1, &[Arg::NewId(toplevel)])?;
    // xdg_toplevel.set_title(string): not nullable.
    shell.client.send(toplevel, 2, &[Arg::Str(None)])?;
    let answer = shell.client.roundtrip(Duration::from_secs(5))?;
    assert!(
        matches!(answer, Answer::Error(..) | Answer::Closed),
        "the attacker was tolerated: {answer:?}"
    );
    still_serves(&mut comp)?;
    assert_eq!(
        bystander.roundtrip(PROMPT)?,
        Answer::Done,
        "another client lost its connection"
    );
    drop(bystander);
    drop(shell);
    aftermath.check(&mut comp)
}

/// Something sent on a fresh connection.
type Attack = Box<dyn Fn(&mut WireClient) -> Result<()>>;

#[test]
fn garbage_on_the_wire_is_answered_with_errors_not_a_crash() -> Result<()> {
    let mut comp = Compositor::start(&[])?;
    let aftermath = Aftermath::begin(&comp)?;
    // Each attack on a connection of its own.
    let attacks: Vec<(&str, Attack)> = vec![
        (
            "a request to an object that does not exist",
            Box::new(|c| c.send(77, 0, &[])),
        ),
        (
            "an opcode wl_display does not have",
            Box::new(|c| c.send(1, 9, &[])),
        ),
        (
            "a size smaller than the header",
            Box::new(|c| c.send_bytes(&[1, 0, 0, 0, 0, 0, 4, 0], &[])),
        ),
        (
            "a string longer than its message",
            Box::new(|c| c.send_raw(1, 1, &[0xff, 0xff, 0, 0, 1, 2, 3, 4], &[])),
        ),
        (
            "a new id far from the client's range",
            Box::new(|c| c.send(1, 1, &[Arg::NewId(0xfff0_0000)])),
        ),
        (
            "a new id that reuses a live one",
            Box::new(|c| c.send(1, 1, &[Arg::NewId(1)])),
        ),
    ];
    for (what, attack) in &attacks {
        let mut client = WireClient::connect(&comp.socket_path())?;
        attack(&mut client)?;
        let answer = client.roundtrip(Duration::from_secs(5));
        assert!(
            matches!(answer, Ok(Answer::Error(..) | Answer::Closed)),
            "{what}: the attacker was tolerated: {answer:?}; ghostcomp's log:\n{}",
            comp.log()
        );
        still_serves(&mut comp).map_err(|e| anyhow::anyhow!("after {what}: {e}"))?;
    }
    // A message shorter than its arguments (get_registry without its new id): the
    // Rust wire parser of wayland-backend 0.3 waits for the missing bytes, so that
    // connection stalls; it must stall alone, and be refused after the stall limit.
    let mut stalled = WireClient::connect(&comp.socket_path())?;
    stalled.send_raw(1, 1, &[], &[])?;
    still_serves(&mut comp)?;
    let answer = stalled.roundtrip(Duration::from_secs(15))?;
    assert!(
        matches!(answer, Answer::Error(1, 1, _) | Answer::Closed),
        "a stalled connection was left open: {answer:?}"
    );
    drop(stalled);
    aftermath.check(&mut comp)
}

#[test]
fn rectangles_of_negative_size_are_ignored_not_a_crash() -> Result<()> {
    let mut comp = Compositor::start(&[])?;
    let aftermath = Aftermath::begin(&comp)?;
    let mut shell = Shell::connect(&comp.socket_path())?;
    let surface = shell.surface()?;
    let region = shell.client.new_id();
    let compositor = shell.compositor;
    shell.client.send(compositor, 1, &[Arg::NewId(region)])?;
    let negative = [Arg::Int(10), Arg::Int(10), Arg::Int(-5), Arg::Int(-7)];
    let huge = [
        Arg::Int(i32::MAX),
        Arg::Int(i32::MAX),
        Arg::Int(i32::MAX),
        Arg::Int(i32::MAX),
    ];
    for rect in [&negative, &huge] {
        shell.client.send(region, 1, rect)?; // wl_region.add
        shell.client.send(region, 2, rect)?; // wl_region.subtract
        shell.client.send(surface, 2, rect)?; // wl_surface.damage
        shell.client.send(surface, 9, rect)?; // wl_surface.damage_buffer
    }
    shell.client.send(surface, 5, &[Arg::Object(region)])?; // set_input_region
    shell.client.send(surface, 4, &[Arg::Object(region)])?; // set_opaque_region
    shell.client.send(surface, 6, &[])?;
    assert_eq!(shell.client.roundtrip(PROMPT)?, Answer::Done);
    still_serves(&mut comp)?;
    let log = comp.log();
    assert!(!log.contains("panicked"), "ghostcomp panicked:\n{log}");
    drop(shell);
    aftermath.check(&mut comp)
}

#[test]
fn a_positioner_with_a_negative_parent_size_is_a_protocol_error_not_a_panic() -> Result<()> {
    let mut comp = Compositor::start(&[])?;
    let aftermath = Aftermath::begin(&comp)?;
    let (mut client, wm_base) = bound(&comp.socket_path(), "xdg_wm_base", 3)?;
    let positioner = client.new_id();
    client.send(wm_base, 1, &[Arg::NewId(positioner)])?; // create_positioner
                                                         // set_parent_size(i32::MAX, i32::MIN)
    client.send(positioner, 8, &[Arg::Int(i32::MAX), Arg::Int(i32::MIN)])?;
    let answer = client.roundtrip(PROMPT)?;
    // xdg_positioner.error.invalid_input.
    assert!(
        matches!(answer, Answer::Error(object, 0, _) if object == positioner),
        "{answer:?}"
    );
    still_serves(&mut comp)?;
    let log = comp.log();
    assert!(!log.contains("panicked"), "ghostcomp panicked:\n{log}");
    aftermath.check(&mut comp)
}

#[test]
fn a_buffer_pool_resized_to_nothing_is_a_protocol_error_not_a_crash() -> Result<()> {
    let mut comp = Compositor::start(&[])?;
    let aftermath = Aftermath::begin(&comp)?;
    for size in [0, -1, i32::MIN] {
        let (mut client, shm) = bound(&comp.socket_path(), "wl_shm", 1)?;
        let memfd = rustix::fs::memfd_create("pool", rustix::fs::MemfdFlags::CLOEXEC)?;
        rustix::fs::ftruncate(&memfd, 4096)?;
        let pool = client.new_id();
        client.send(
            shm,
            0,
            &[Arg::NewId(pool), Arg::Fd(memfd.as_fd()), Arg::Int(4096)],
        )?;
        client.send(pool, 2, &[Arg::Int(size)])?; // wl_shm_pool.resize
        let answer = client.roundtrip(PROMPT)?;
        // wl_shm.error.invalid_fd on the pool, as the protocol says.
        assert!(
            matches!(answer, Answer::Error(object, 2, _) if object == pool),
            "resize to {size}: {answer:?}"
        );
    }
    still_serves(&mut comp)?;
    let log = comp.log();
    assert!(!log.contains("panicked"), "ghostcomp panicked:\n{log}");
    aftermath.check(&mut comp)
}
