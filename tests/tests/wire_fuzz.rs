//! A wire-level fuzzer driven by the protocol XML of every global ghostcomp advertises.
//!
//! The XML comes from the protocol crates the compositor is built with (core Wayland from
//! wayland-server, the rest from wayland-protocols and wayland-protocols-wlr), found
//! through `cargo metadata`. Each session binds every global, then sends random requests
//! to the objects it holds: real opcodes with arguments drawn by their types (nulls where
//! forbidden, objects of the wrong interface, extreme numbers, long strings, file
//! descriptors), unknown opcodes, truncated and oversized messages. After the time is up
//! ghostcomp must be alive, answer a new client, and have panicked nowhere but in the
//! generated request parser (which the per-client containment turns into a protocol
//! error).
//!
//! Seeds: those in `wire-fuzz-seeds.txt` (regressions; each ran into a bug once) and
//! one drawn at random and printed (`GHOST_WIRE_FUZZ_SEED` replays it). Time:
//! `GHOST_WIRE_FUZZ_SECONDS` in all (20 by default).

use std::{
    collections::HashMap,
    fs::File,
    os::fd::{AsFd, OwnedFd},
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use ghost_tests::{
    fuzz::Rng,
    wire::{Answer, WireClient},
    Compositor,
};

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Int,
    Uint,
    Fixed,
    Str,
    Object,
    NewId,
    Array,
    Fd,
}

struct ArgSpec {
    kind: Kind,
    interface: Option<String>,
    nullable: bool,
}

struct RequestSpec {
    args: Vec<ArgSpec>,
    destructor: bool,
    since: u32,
}

/// Requests of every interface the protocol XML describes, by interface name.
type Protocols = HashMap<String, Vec<RequestSpec>>;

/// The folders of the protocol crates this workspace builds with.
fn protocol_dirs() -> Result<Vec<PathBuf>> {
    let out = Command::new(env!("CARGO"))
        // Only this machine's dependencies: the others need not be downloaded.
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
        ])
        .arg(host_triple()?)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .context("cargo metadata")?;
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let wanted = [
        "wayland-server",
        "wayland-protocols",
        "wayland-protocols-wlr",
    ];
    let dirs: Vec<PathBuf> = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| wanted.contains(&p["name"].as_str().unwrap_or_default()))
        .filter_map(|p| {
            Path::new(p["manifest_path"].as_str()?)
                .parent()
                .map(Path::to_path_buf)
        })
        .collect();
    if dirs.len() < wanted.len() {
        bail!("protocol crates not found by cargo metadata: {dirs:?}");
    }
    Ok(dirs)
}

fn host_triple() -> Result<String> {
    let out = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("-vV")
        .output()
        .context("rustc -vV")?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .context("rustc names no host")
}

fn xml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            xml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "xml") {
            out.push(path);
        }
    }
}

fn load_protocols() -> Result<Protocols> {
    let mut files = Vec::new();
    for dir in protocol_dirs()? {
        xml_files(&dir, &mut files);
    }
    let mut protocols = Protocols::new();
    for file in files {
        let text = std::fs::read_to_string(&file)?;
        let Ok(doc) = roxmltree::Document::parse(&text) else {
            continue;
        };
        for interface in doc.descendants().filter(|n| n.has_tag_name("interface")) {
            let requests = interface
                .children()
                .filter(|n| n.has_tag_name("request"))
                .map(|request| RequestSpec {
                    destructor: request.attribute("type") == Some("destructor"),
                    since: request
                        .attribute("since")
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(1),
                    args: request
                        .children()
                        .filter(|n| n.has_tag_name("arg"))
                        .map(|arg| ArgSpec {
                            kind: match arg.attribute("type").unwrap_or_default() {
                                "int" => Kind::Int,
                                "uint" => Kind::Uint,
                                "fixed" => Kind::Fixed,
                                "string" => Kind::Str,
                                "object" => Kind::Object,
                                "new_id" => Kind::NewId,
                                "array" => Kind::Array,
                                _ => Kind::Fd,
                            },
                            interface: arg.attribute("interface").map(str::to_owned),
                            nullable: arg.attribute("allow-null") == Some("true"),
                        })
                        .collect(),
                })
                .collect();
            if let Some(name) = interface.attribute("name") {
                protocols.insert(name.to_owned(), requests);
            }
        }
    }
    if !protocols.contains_key("wl_surface") || !protocols.contains_key("xdg_toplevel") {
        bail!("the protocol XML was not found");
    }
    Ok(protocols)
}

/// Numbers that find edges.
fn number(rng: &mut Rng) -> u32 {
    let any = rng.next_u64() as u32;
    rng.pick(&[
        0,
        1,
        2,
        3,
        4,
        64,
        256,
        4096,
        65535,
        0x7fff_ffff,
        0x8000_0000,
        u32::MAX,
        any,
    ])
}

/// An object the session created: its id, interface and version.
struct Held {
    id: u32,
    interface: String,
    version: u32,
}

/// File descriptors a request may carry.
struct Fds {
    memfd: OwnedFd,
    null: File,
}

impl Fds {
    fn new() -> Result<Self> {
        let memfd = rustix::fs::memfd_create("fuzz", rustix::fs::MemfdFlags::CLOEXEC)?;
        rustix::fs::ftruncate(&memfd, 64 * 1024)?;
        Ok(Self {
            memfd,
            null: File::open("/dev/null")?,
        })
    }
}

/// One connection's worth of random requests; returns how many went out.
fn session(
    socket: &Path,
    protocols: &Protocols,
    rng: &mut Rng,
    fds: &Fds,
    steps: usize,
) -> Result<usize> {
    let mut client = WireClient::connect(socket)?;
    let (registry, globals) = client.globals()?;
    let mut held: Vec<Held> = vec![Held {
        id: 1,
        interface: "wl_display".into(),
        version: 1,
    }];
    held.push(Held {
        id: registry,
        interface: "wl_registry".into(),
        version: 1,
    });
    for (_, interface, version) in &globals {
        if protocols.contains_key(interface) {
            let id = client.bind(registry, &globals, interface, *version)?;
            held.push(Held {
                id,
                interface: interface.clone(),
                version: *version,
            });
        }
    }
    let mut sent = 0;
    for step in 0..steps {
        // Newer objects are where the protocol goes deep; prefer them.
        let target = if rng.chance(60) {
            held.len() - 1 - rng.below(held.len().min(8))
        } else {
            rng.below(held.len())
        };
        let (object, interface, version) = {
            let h = &held[target];
            (h.id, h.interface.clone(), h.version)
        };
        let requests = &protocols[&interface];
        let valid: Vec<usize> = (0..requests.len())
            .filter(|i| requests[*i].since <= version)
            .collect();
        let (opcode, spec) = if valid.is_empty() || rng.chance(3) {
            (requests.len() + rng.below(4), None)
        } else {
            let i = valid[rng.below(valid.len())];
            (i, Some(&requests[i]))
        };
        let mut body = Vec::new();
        let mut carried = Vec::new();
        for arg in spec.map(|s| s.args.as_slice()).unwrap_or_default() {
            match arg.kind {
                Kind::Int | Kind::Uint | Kind::Fixed => body.extend(number(rng).to_ne_bytes()),
                Kind::Str => {
                    if rng.chance(if arg.nullable { 20 } else { 2 }) {
                        body.extend(0u32.to_ne_bytes());
                    } else {
                        let names = ["", "wl_surface", "HEADLESS-1", "seat0", "ünï\u{202e}"];
                        let long = "s".repeat(rng.below(5000));
                        let text = if rng.chance(10) {
                            long.as_str()
                        } else {
                            names[rng.below(names.len())]
                        };
                        push_bytes(&mut body, &[text.as_bytes(), &[0]].concat());
                    }
                }
                Kind::Object => {
                    let wanted = arg.interface.as_deref();
                    let fitting: Vec<u32> = held
                        .iter()
                        .filter(|h| Some(h.interface.as_str()) == wanted)
                        .map(|h| h.id)
                        .collect();
                    let id = if rng.chance(if arg.nullable { 20 } else { 2 }) {
                        0
                    } else if !fitting.is_empty() && rng.chance(95) {
                        fitting[rng.below(fitting.len())]
                    } else if rng.chance(80) {
                        held[rng.below(held.len())].id
                    } else {
                        number(rng)
                    };
                    body.extend(id.to_ne_bytes());
                }
                Kind::NewId => {
                    let id = client.new_id();
                    let interface = match &arg.interface {
                        Some(name) => name.clone(),
                        None => {
                            // Untyped (wl_registry.bind): interface and version first.
                            let name = held[rng.below(held.len())].interface.clone();
                            push_bytes(&mut body, &[name.as_bytes(), &[0]].concat());
                            body.extend((rng.below(3) as u32 + 1).to_ne_bytes());
                            name
                        }
                    };
                    body.extend(id.to_ne_bytes());
                    if protocols.contains_key(&interface) {
                        held.push(Held {
                            id,
                            interface,
                            version,
                        });
                    }
                }
                Kind::Array => {
                    let bytes: Vec<u8> = (0..rng.below(64)).map(|_| rng.next_u64() as u8).collect();
                    push_bytes(&mut body, &bytes);
                }
                Kind::Fd => carried.push(match rng.below(3) {
                    0 => fds.null.as_fd(),
                    _ => fds.memfd.as_fd(),
                }),
            }
        }
        // Now and then, a message that lies about itself.
        match rng.below(100) {
            0 if !body.is_empty() => body.truncate(rng.below(body.len())),
            1 => body.extend((0..rng.below(6000)).map(|_| rng.next_u64() as u8)),
            _ => {}
        }
        if client
            .send_raw(object, opcode as u16, &body, &carried)
            .is_err()
        {
            return Ok(sent); // disconnected while writing: a protocol error came first
        }
        sent += 1;
        if spec.is_some_and(|s| s.destructor) && object != 1 {
            held.retain(|h| h.id != object);
        }
        if step % 16 == 15 {
            match client.roundtrip(Duration::from_secs(3)) {
                Ok(Answer::Done) => {}
                // Refused, or stalled on a message shorter than its arguments (the
                // parser waits for the rest; only this connection): next session.
                Ok(_) | Err(_) => return Ok(sent),
            }
        }
    }
    Ok(sent)
}

fn push_bytes(body: &mut Vec<u8>, bytes: &[u8]) {
    body.extend((bytes.len() as u32).to_ne_bytes());
    body.extend(bytes);
    body.resize(body.len().div_ceil(4) * 4, 0);
}

/// Panics in ghostcomp's log outside the generated protocol code: bugs of ours, even
/// when contained.
fn our_panics(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("panicked at"))
        .filter(|l| {
            !["wayland-protocols", "wayland-server", "wayland-backend"]
                .iter()
                .any(|g| l.contains(g))
        })
        .map(str::to_owned)
        .collect()
}

fn fuzz(protocols: &Protocols, seed: u64, budget: Duration) -> Result<(usize, usize)> {
    let mut comp = Compositor::start(&[])?;
    let fds = Fds::new()?;
    let mut rng = Rng(seed);
    let end = Instant::now() + budget;
    let (mut sessions, mut messages) = (0, 0);
    while Instant::now() < end {
        let steps = 20 + rng.below(300);
        messages += session(&comp.socket_path(), protocols, &mut rng, &fds, steps)
            .with_context(|| format!("seed {seed}, session {sessions}"))?;
        sessions += 1;
        if !comp.is_running() {
            bail!(
                "seed {seed}: ghostcomp died in session {sessions}:\n{}",
                comp.log()
            );
        }
    }
    let mut probe = WireClient::connect(&comp.socket_path())?;
    if probe.roundtrip(Duration::from_secs(2))? != Answer::Done {
        bail!("seed {seed}: a new client is not served after {sessions} sessions");
    }
    let panics = our_panics(&comp.log());
    if !panics.is_empty() {
        bail!(
            "seed {seed}: ghostcomp panicked in its own code:\n{}\n\n{}",
            panics.join("\n"),
            comp.log()
        );
    }
    Ok((sessions, messages))
}

#[test]
fn random_requests_from_the_protocol_xml_neither_crash_nor_freeze_ghostcomp() -> Result<()> {
    let protocols = load_protocols()?;
    let seconds: u64 = std::env::var("GHOST_WIRE_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let mut seeds: Vec<u64> = include_str!("wire-fuzz-seeds.txt")
        .lines()
        .filter_map(|l| l.split('#').next()?.trim().parse().ok())
        .collect();
    let random = ghost_tests::fuzz::seed("GHOST_WIRE_FUZZ_SEED");
    eprintln!(
        "wire fuzz: {} interfaces; random seed {random} (GHOST_WIRE_FUZZ_SEED={random} replays it)",
        protocols.len()
    );
    seeds.push(random);
    // Half the time for the random seed, the rest shared by the regressions.
    let regression = Duration::from_secs(seconds) / 2 / (seeds.len() as u32 - 1).max(1);
    for (i, seed) in seeds.iter().enumerate() {
        let budget = if i + 1 == seeds.len() {
            Duration::from_secs(seconds) / 2
        } else {
            regression
        };
        let (sessions, messages) = fuzz(&protocols, *seed, budget)?;
        eprintln!("seed {seed}: {sessions} sessions, {messages} requests in {budget:?}");
    }
    Ok(())
}
