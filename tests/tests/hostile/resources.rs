//! Using up what the compositor has: descriptors, connections, objects, time, memory.

use super::*;

#[test]
fn running_out_of_file_descriptors_holds_clients_back_and_then_serves_them() -> Result<()> {
    let limit = 200;
    let mut comp = Compositor::start_with_fd_limit(limit)?;
    let aftermath = Aftermath::begin(&comp)?;
    let before = open_fds(comp.pid());
    // More connections than the process may hold descriptors: the last ones wait.
    let mut hogs = Vec::new();
    for _ in 0..limit + 50 {
        hogs.push(WireClient::connect(&comp.socket_path())?);
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        comp.is_running(),
        "ghostcomp exited at its fd limit:\n{}",
        comp.log()
    );
    assert!(
        comp.log().contains("out of file descriptors"),
        "the limit was never reached ({} fds open), so the test proved nothing; log:\n{}",
        open_fds(comp.pid()),
        comp.log()
    );
    drop(hogs);
    // Once descriptors are free again, a newcomer is served (the backlog drains first).
    let served = ghost_tests::wait_for(Duration::from_secs(10), "a client served again", || {
        still_serves(&mut comp).ok()
    })?;
    assert!(served <= PROMPT);
    fds_given_back(&comp, before);
    aftermath.check(&mut comp)
}

#[test]
fn file_descriptors_attached_to_requests_that_take_none_are_not_kept() -> Result<()> {
    let mut comp = Compositor::start(&[])?;
    let aftermath = Aftermath::begin(&comp)?;
    let before = open_fds(comp.pid());
    let mut client = WireClient::connect(&comp.socket_path())?;
    let spare = std::fs::File::open("/dev/null")?;
    // wl_display.sync carries no fd; attach one to each of many.
    for _ in 0..500 {
        let id = client.new_id();
        client.send(1, 0, &[Arg::NewId(id), Arg::Fd(spare.as_fd())])?;
    }
    let _ = client.roundtrip(Duration::from_secs(5));
    drop(client);
    still_serves(&mut comp)?;
    fds_given_back(&comp, before);
    aftermath.check(&mut comp)
}

#[test]
fn a_client_flooding_requests_neither_starves_others_nor_swells_memory() -> Result<()> {
    let mut comp = Compositor::start(&[])?;
    let aftermath = Aftermath::begin(&comp)?;
    let socket = comp.socket_path();
    let flood = std::thread::spawn(move || -> Result<(u64, Option<std::io::Error>)> {
        let mut attacker = WireClient::connect(&socket)?;
        Ok(attacker.flood(Duration::from_secs(3)))
    });
    std::thread::sleep(Duration::from_millis(500));
    let probe_start = Instant::now();
    let mut probe = WireClient::connect(&comp.socket_path())?;
    assert_eq!(
        probe.roundtrip(PROMPT)?,
        Answer::Done,
        "a client during the flood"
    );
    let probe_took = probe_start.elapsed();
    drop(probe);
    std::thread::sleep(Duration::from_millis(1500));
    aftermath.still_animating("during the flood");
    let (sent, ended) = flood
        .join()
        .map_err(|_| anyhow::anyhow!("flood thread"))??;
    eprintln!(
        "flood of {sent} requests (ended by {ended:?}); a new client answered in {probe_took:?} during it"
    );
    aftermath.check(&mut comp)
}

#[test]
fn a_client_that_never_reads_is_dropped_and_leaves_nothing_behind() -> Result<()> {
    let mut comp = Compositor::start(&[])?;
    let aftermath = Aftermath::begin(&comp)?;
    let mut silent = WireClient::connect(&comp.socket_path())?;
    // Each get_registry is answered with every global: far more than the socket holds.
    let mut refused = false;
    for _ in 0..2000 {
        let id = silent.new_id();
        if silent.send(1, 1, &[Arg::NewId(id)]).is_err() {
            refused = true;
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    aftermath.still_animating("while a client did not read");
    // Whatever it was sent, the connection ends: an error, or a hang-up.
    let mut sink = Vec::new();
    silent
        .stream()
        .set_read_timeout(Some(Duration::from_secs(5)))?;
    let ended = refused || std::io::Read::read_to_end(&mut silent.stream(), &mut sink).is_ok();
    assert!(ended, "the silent client is still connected");
    drop(silent);
    aftermath.check(&mut comp)
}

/// Sends `create` `batches` × `each` times, a round trip after each batch, until the
/// compositor refuses; how it answered last.
fn hoard(
    client: &mut WireClient,
    batches: usize,
    each: usize,
    mut create: impl FnMut(&mut WireClient) -> Result<()>,
) -> Result<Answer> {
    for _ in 0..batches {
        for _ in 0..each {
            if create(client).is_err() {
                return Ok(Answer::Closed);
            }
        }
        let answer = client.roundtrip(Duration::from_secs(10))?;
        if answer != Answer::Done {
            return Ok(answer);
        }
    }
    Ok(Answer::Done)
}

#[test]
fn a_client_hoarding_objects_is_disconnected_and_its_memory_given_back() -> Result<()> {
    let mut comp = Compositor::start(&[])?;
    let aftermath = Aftermath::begin(&comp)?;
    let (mut hoarder, compositor) = bound(&comp.socket_path(), "wl_compositor", 5)?;
    let rss_before = rss_kib(comp.pid());
    // wl_compositor.create_region, far past the limit.
    let answer = hoard(&mut hoarder, 200, 1000, |client| {
        let id = client.new_id();
        client.send(compositor, 1, &[Arg::NewId(id)])
    })?;
    assert!(
        matches!(answer, Answer::Error(_, 2, _) | Answer::Closed),
        "200,000 regions were accepted: {answer:?}"
    );
    drop(hoarder);
    still_serves(&mut comp)?;
    let rss_after = rss_kib(comp.pid());
    eprintln!("object hoard: RSS {rss_before} → {rss_after} KiB");
    assert!(
        rss_after <= rss_before + 10 * 1024,
        "RSS {rss_before} → {rss_after} KiB"
    );
    aftermath.check(&mut comp)
}

#[test]
fn a_client_hoarding_buffer_pools_is_disconnected_and_its_descriptors_closed() -> Result<()> {
    let mut comp = Compositor::start(&[])?;
    let aftermath = Aftermath::begin(&comp)?;
    let fds_before = open_fds(comp.pid());
    let (mut hoarder, shm) = bound(&comp.socket_path(), "wl_shm", 1)?;
    let memfd = rustix::fs::memfd_create("hoard", rustix::fs::MemfdFlags::CLOEXEC)?;
    rustix::fs::ftruncate(&memfd, 4096)?;
    // wl_shm.create_pool(new_id, fd, size): each pool keeps its own descriptor.
    let answer = hoard(&mut hoarder, 30, 100, |client| {
        let id = client.new_id();
        client.send(
            shm,
            0,
            &[Arg::NewId(id), Arg::Fd(memfd.as_fd()), Arg::Int(4096)],
        )
    })?;
    assert!(
        matches!(answer, Answer::Error(_, 2, _) | Answer::Closed),
        "3,000 pools were accepted: {answer:?}"
    );
    drop(hoarder);
    still_serves(&mut comp)?;
    fds_given_back(&comp, fds_before);
    aftermath.check(&mut comp)
}

#[test]
fn a_client_declaring_gigabytes_of_buffers_is_disconnected() -> Result<()> {
    let mut comp = Compositor::start(&[])?;
    let aftermath = Aftermath::begin(&comp)?;
    let (mut hoarder, shm) = bound(&comp.socket_path(), "wl_shm", 1)?;
    let side = 4096;
    let bytes = side * side * 4;
    let memfd = rustix::fs::memfd_create("big", rustix::fs::MemfdFlags::CLOEXEC)?;
    rustix::fs::ftruncate(&memfd, bytes as u64)?;
    let pool = hoarder.new_id();
    hoarder.send(
        shm,
        0,
        &[Arg::NewId(pool), Arg::Fd(memfd.as_fd()), Arg::Int(bytes)],
    )?;
    // wl_shm_pool.create_buffer(id, offset, width, height, stride, format): twenty
    // 64 MiB buffers over the same memory, 1.25 GiB declared in all.
    let answer = hoard(&mut hoarder, 1, 20, |client| {
        let id = client.new_id();
        client.send(
            pool,
            0,
            &[
                Arg::NewId(id),
                Arg::Int(0),
                Arg::Int(side),
                Arg::Int(side),
                Arg::Int(side * 4),
                Arg::Uint(0),
            ],
        )
    })?;
    // Holdings are counted after a client's requests are handled, at least every
    // 100 ms of its activity: the answer to the request that set off the count may
    // still come before the error.
    let mut answer = answer;
    for _ in 0..3 {
        if answer != Answer::Done {
            break;
        }
        std::thread::sleep(Duration::from_millis(150));
        answer = hoarder.roundtrip(Duration::from_secs(10))?;
    }
    assert!(
        matches!(answer, Answer::Error(_, 2, _) | Answer::Closed),
        "1.25 GiB of buffers were accepted: {answer:?}"
    );
    drop(hoarder);
    aftermath.check(&mut comp)
}
