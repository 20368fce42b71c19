//! Pathological surface trees: deep chains and wide families of subsurfaces.

use super::*;

/// A chain of `depth` surfaces, each the subsurface of the one before, every surface
/// committed, the root last, then a round trip. Writes that fail because the compositor
/// hung up count as a closed connection. Returns the answer, the time it took and the
/// client with the root's id.
fn subsurface_chain(socket: &Path, depth: usize) -> Result<(Answer, Duration, Shell, u32)> {
    let mut shell = Shell::connect(socket)?;
    let start = Instant::now();
    let mut surfaces = Vec::with_capacity(depth);
    for _ in 0..depth {
        surfaces.push(shell.surface()?);
    }
    let subcompositor = shell.subcompositor;
    let mut sent = Ok(());
    for pair in surfaces.windows(2) {
        let sub = shell.client.new_id();
        sent = sent
            .and_then(|_| {
                shell.client.send(
                    subcompositor,
                    1,
                    &[Arg::NewId(sub), Arg::Object(pair[1]), Arg::Object(pair[0])],
                )
            })
            .and_then(|_| shell.client.send(sub, 1, &[Arg::Int(1), Arg::Int(1)]));
    }
    for surface in surfaces.iter().rev() {
        sent = sent.and_then(|_| shell.client.send(*surface, 6, &[]));
    }
    let answer = match sent {
        Ok(()) => shell.client.roundtrip(Duration::from_secs(20))?,
        Err(_) => Answer::Closed,
    };
    Ok((answer, start.elapsed(), shell, surfaces[0]))
}

#[test]
fn a_ten_thousand_deep_subsurface_chain_is_refused_without_freezing_anyone() -> Result<()> {
    let mut comp = Compositor::start(&[])?;
    let aftermath = Aftermath::begin(&comp)?;
    let mut bystander = WireClient::connect(&comp.socket_path())?;
    let (answer, took, _, _) = subsurface_chain(&comp.socket_path(), 10_000)?;
    assert!(
        matches!(answer, Answer::Error(..) | Answer::Closed),
        "a 10,000-deep chain was accepted: {answer:?}"
    );
    let answered = still_serves(&mut comp)?;
    assert_eq!(bystander.roundtrip(PROMPT)?, Answer::Done);
    eprintln!(
        "10,000 nested subsurfaces refused after {took:?}; a new client answered in {answered:?}"
    );
    drop(bystander);
    aftermath.check(&mut comp)
}

#[test]
fn a_chain_as_deep_as_allowed_is_accepted_and_destroyed_and_one_deeper_is_not() -> Result<()> {
    let mut comp = Compositor::start(&[])?;
    let aftermath = Aftermath::begin(&comp)?;
    // The toplevel-less root and 63 levels below it: the most ghostcomp allows.
    let (answer, _, mut shell, root) = subsurface_chain(&comp.socket_path(), 64)?;
    assert_eq!(answer, Answer::Done, "a chain within the limit was refused");
    let (deeper, _, _, _) = subsurface_chain(&comp.socket_path(), 65)?;
    assert!(
        matches!(deeper, Answer::Error(..) | Answer::Closed),
        "a chain one level over the limit was accepted: {deeper:?}"
    );
    shell.client.send(root, 0, &[])?;
    assert_eq!(shell.client.roundtrip(PROMPT)?, Answer::Done);
    still_serves(&mut comp)?;
    drop(shell);
    aftermath.check(&mut comp)
}

#[test]
fn ten_thousand_sibling_subsurfaces_are_shown_restacked_and_destroyed_promptly() -> Result<()> {
    let mut comp = Compositor::start(&[])?;
    let aftermath = Aftermath::begin(&comp)?;
    let mut shell = Shell::connect(&comp.socket_path())?;
    let parent = shell.surface()?;
    let subcompositor = shell.subcompositor;
    let mut roles = Vec::new();
    let mut children = Vec::new();
    for _ in 0..10_000 {
        let child = shell.surface()?;
        let role = shell.client.new_id();
        shell.client.send(
            subcompositor,
            1,
            &[Arg::NewId(role), Arg::Object(child), Arg::Object(parent)],
        )?;
        roles.push(role);
        children.push(child);
    }
    for child in &children {
        shell.client.send(*child, 6, &[])?;
    }
    shell.client.send(parent, 6, &[])?;
    let start = Instant::now();
    assert_eq!(
        shell.client.roundtrip(Duration::from_secs(30))?,
        Answer::Done
    );
    let built = start.elapsed();
    // Restack: each one above the parent, then each below the first child, a thousand
    // at a time as a toolkit would between frames (one unbroken stream of 20,000 moves
    // among 10,000 siblings is a flood, and is disconnected as one).
    let moves = roles
        .iter()
        .map(|role| (*role, 2, parent)) // place_above
        .chain(roles.iter().skip(1).map(|role| (*role, 3, children[0]))); // place_below
    let start = Instant::now();
    for batch in moves.collect::<Vec<_>>().chunks(1000) {
        for (role, opcode, sibling) in batch {
            shell
                .client
                .send(*role, *opcode, &[Arg::Object(*sibling)])?;
        }
        shell.client.send(parent, 6, &[])?;
        assert_eq!(
            shell.client.roundtrip(Duration::from_secs(30))?,
            Answer::Done
        );
    }
    let restacked = start.elapsed();
    shell.client.send(parent, 0, &[])?;
    let start = Instant::now();
    let answer = shell.client.roundtrip(Duration::from_secs(30))?;
    let destroyed = start.elapsed();
    assert!(
        matches!(answer, Answer::Done | Answer::Error(..)),
        "{answer:?}"
    );
    let served = still_serves(&mut comp)?;
    eprintln!("10,000 siblings: built in {built:?}, restacked in {restacked:?}, parent destroyed in {destroyed:?}; a new client answered in {served:?}");
    // Peers handle this in well under a second; allow for a loaded test machine.
    for (what, took) in [
        ("built", built),
        ("restacked", restacked),
        ("destroyed", destroyed),
    ] {
        assert!(took < Duration::from_secs(5), "{what} took {took:?}");
    }
    drop(shell);
    aftermath.check(&mut comp)
}
