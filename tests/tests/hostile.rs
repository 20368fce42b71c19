//! Clients that attack or misbehave, and a compositor that survives them: after each
//! attack ghostcomp is alive, a new client's round trip is answered promptly, and the
//! attacker was told off (a protocol error or a closed connection), not tolerated.

use std::{
    os::fd::AsFd,
    path::Path,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use anyhow::{bail, Result};
use ghost_tests::{
    client::TestClient,
    wire::{Answer, Arg, WireClient},
    Compositor,
};

/// How long a fresh client may wait for its first round trip after an attack ended.
/// Generous, since tests run side by side on a small machine; the benchmark measures.
const PROMPT: Duration = Duration::from_millis(1000);

/// ghostcomp answers a new client within [`PROMPT`] and its process is still there.
fn still_serves(comp: &mut Compositor) -> Result<Duration> {
    if !comp.is_running() {
        bail!("ghostcomp exited; its log:\n{}", comp.log());
    }
    let start = Instant::now();
    let mut probe = WireClient::connect(&comp.socket_path())?;
    let answer = probe.roundtrip(PROMPT)?;
    if answer != Answer::Done {
        bail!("a fresh client got {answer:?}");
    }
    Ok(start.elapsed())
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// Waits until ghostcomp holds no more than two descriptors over `before` (the probe's).
fn fds_given_back(comp: &Compositor, before: usize) {
    let back = ghost_tests::wait_for(Duration::from_secs(10), "descriptors given back", || {
        (open_fds(comp.pid()) <= before + 2).then_some(())
    });
    assert!(
        back.is_ok(),
        "fds: {before} before, {} after",
        open_fds(comp.pid())
    );
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// A well-behaved client beside the attack: a window that commits a new frame on
/// every frame callback, its frames counted in 100 ms slices.
struct Bystander {
    slices: Arc<Mutex<Vec<(Instant, usize)>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Bystander {
    fn start(comp: &Compositor) -> Result<Self> {
        let socket = comp.socket_path();
        let slices = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (record, halt) = (slices.clone(), stop.clone());
        let thread = std::thread::spawn(move || -> anyhow::Result<()> {
            let mut client = TestClient::connect(&socket)?;
            let mut window = client.color_window("bystander", 64, 64, &[0xffff0000, 0xff0000ff])?;
            while !halt.load(Ordering::Relaxed) {
                let frames = client.animate(&mut window, Duration::from_millis(100))?;
                record
                    .lock()
                    .map_err(|_| anyhow::anyhow!("poisoned"))?
                    .push((Instant::now(), frames));
            }
            Ok(())
        });
        let bystander = Self {
            slices,
            stop,
            thread: Some(thread),
        };
        std::thread::sleep(Duration::from_millis(500));
        Ok(bystander)
    }

    /// Frames a second over the slices that ended in the last `span`.
    fn rate(&self, span: Duration) -> f64 {
        let since = Instant::now() - span;
        let slices = self.slices.lock().map(|s| s.clone()).unwrap_or_default();
        let frames: usize = slices
            .iter()
            .filter(|(t, _)| *t >= since)
            .map(|(_, n)| n)
            .sum();
        frames as f64 / span.as_secs_f64()
    }

    /// Stops it; fails when its connection failed during the test.
    fn finish(mut self) -> Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            _ => bail!("the bystander's thread panicked"),
        }
    }
}

/// wl_compositor, wl_subcompositor and xdg_wm_base bound on a fresh connection.
struct Shell {
    client: WireClient,
    compositor: u32,
    subcompositor: u32,
    wm_base: u32,
}

impl Shell {
    fn connect(socket: &Path) -> Result<Self> {
        let mut client = WireClient::connect(socket)?;
        let (registry, globals) = client.globals()?;
        let compositor = client.bind(registry, &globals, "wl_compositor", 6)?;
        let subcompositor = client.bind(registry, &globals, "wl_subcompositor", 1)?;
        let wm_base = client.bind(registry, &globals, "xdg_wm_base", 1)?;
        Ok(Self {
            client,
            compositor,
            subcompositor,
            wm_base,
        })
    }

    fn surface(&mut self) -> Result<u32> {
        let id = self.client.new_id();
        self.client.send(self.compositor, 0, &[Arg::NewId(id)])?;
        Ok(id)
    }
}

#[test]
fn a_null_string_where_the_protocol_forbids_one_disconnects_only_that_client() -> Result<()> {
    let mut comp = Compositor::start(&[])?;
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
    Ok(())
}

/// Something sent on a fresh connection.
type Attack = Box<dyn Fn(&mut WireClient) -> Result<()>>;

#[test]
fn garbage_on_the_wire_is_answered_with_errors_not_a_crash() -> Result<()> {
    let mut comp = Compositor::start(&[])?;
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
    // connection stalls; it must stall alone.
    let mut stalled = WireClient::connect(&comp.socket_path())?;
    stalled.send_raw(1, 1, &[], &[])?;
    still_serves(&mut comp)?;
    Ok(())
}

#[test]
fn running_out_of_file_descriptors_holds_clients_back_and_then_serves_them() -> Result<()> {
    let limit = 200;
    let mut comp = Compositor::start_with_fd_limit(limit)?;
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
    Ok(())
}

#[test]
fn file_descriptors_attached_to_requests_that_take_none_are_not_kept() -> Result<()> {
    let mut comp = Compositor::start(&[])?;
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
    Ok(())
}

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
    Ok(())
}

#[test]
fn a_chain_as_deep_as_allowed_is_accepted_and_destroyed_and_one_deeper_is_not() -> Result<()> {
    let mut comp = Compositor::start(&[])?;
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
    Ok(())
}

#[test]
fn a_client_flooding_requests_neither_starves_others_nor_swells_memory() -> Result<()> {
    let mut comp = Compositor::start(&[])?;
    let bystander = Bystander::start(&comp)?;
    std::thread::sleep(Duration::from_secs(1));
    let before = bystander.rate(Duration::from_secs(1));
    let rss_before = rss_kib(comp.pid());
    let socket = comp.socket_path();
    let flood = std::thread::spawn(move || -> Result<u64> {
        let mut attacker = WireClient::connect(&socket)?;
        Ok(attacker.flood(Duration::from_secs(3)).0)
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
    std::thread::sleep(Duration::from_millis(2000));
    let during = bystander.rate(Duration::from_secs(2));
    let sent = flood
        .join()
        .map_err(|_| anyhow::anyhow!("flood thread"))??;
    std::thread::sleep(Duration::from_millis(1500));
    let after = bystander.rate(Duration::from_secs(1));
    still_serves(&mut comp)?;
    let rss_after = rss_kib(comp.pid());
    bystander.finish()?;
    eprintln!(
        "flood of {sent} requests: bystander {before:.0} fps before, {during:.0} during, {after:.0} after; \
         a new client answered in {probe_took:?} during it; RSS {rss_before} → {rss_after} KiB"
    );
    assert!(
        during >= before * 0.5,
        "the bystander starved: {before:.0} fps before, {during:.0} during"
    );
    assert!(
        after >= before * 0.8,
        "the bystander did not recover: {before:.0} fps before, {after:.0} after"
    );
    assert!(
        rss_after <= rss_before + 10 * 1024,
        "RSS grew from {rss_before} to {rss_after} KiB"
    );
    Ok(())
}

/// Binds `interface` on a fresh connection.
fn bound(socket: &Path, interface: &str, version: u32) -> Result<(WireClient, u32)> {
    let mut client = WireClient::connect(socket)?;
    let (registry, globals) = client.globals()?;
    let id = client.bind(registry, &globals, interface, version)?;
    Ok((client, id))
}

#[test]
fn a_client_that_never_reads_is_dropped_and_leaves_nothing_behind() -> Result<()> {
    let mut comp = Compositor::start(&[])?;
    let bystander = Bystander::start(&comp)?;
    let rss_before = rss_kib(comp.pid());
    let fds_before = open_fds(comp.pid());
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
    // Whatever it was sent, the connection ends: an error, or a hang-up.
    let mut sink = Vec::new();
    silent
        .stream()
        .set_read_timeout(Some(Duration::from_secs(5)))?;
    let ended = refused || std::io::Read::read_to_end(&mut silent.stream(), &mut sink).is_ok();
    assert!(ended, "the silent client is still connected");
    still_serves(&mut comp)?;
    assert!(
        bystander.rate(Duration::from_millis(500)) > 0.0,
        "the bystander stopped"
    );
    bystander.finish()?;
    fds_given_back(&comp, fds_before + 2); // the bystander's socket, and its probe's
    let rss_after = rss_kib(comp.pid());
    assert!(
        rss_after <= rss_before + 10 * 1024,
        "RSS {rss_before} → {rss_after} KiB"
    );
    Ok(())
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
    Ok(())
}

#[test]
fn a_client_hoarding_buffer_pools_is_disconnected_and_its_descriptors_closed() -> Result<()> {
    let mut comp = Compositor::start(&[])?;
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
    Ok(())
}

#[test]
fn rectangles_of_negative_size_are_ignored_not_a_crash() -> Result<()> {
    let mut comp = Compositor::start(&[])?;
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
    Ok(())
}

#[test]
fn a_buffer_pool_resized_to_nothing_is_a_protocol_error_not_a_crash() -> Result<()> {
    let mut comp = Compositor::start(&[])?;
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
    Ok(())
}
