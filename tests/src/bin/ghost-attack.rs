//! One attack of a hostile client on whatever compositor `WAYLAND_DISPLAY` names, for
//! `bench/hostile.sh` to run against ghostcomp, weston and sway alike.
//!
//!   ghost-attack malformed | connections N | chain DEPTH | flood SECONDS | hoard OBJECTS
//!
//! Prints `outcome:` (refused: a protocol error or hang-up; answered: the compositor
//! went along) and `took_ms:` (until the compositor answered or refused).

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use ghost_tests::wire::{Answer, Arg, WireClient};

fn socket() -> Result<PathBuf> {
    let runtime = std::env::var_os("XDG_RUNTIME_DIR").context("XDG_RUNTIME_DIR is not set")?;
    let display = std::env::var_os("WAYLAND_DISPLAY").context("WAYLAND_DISPLAY is not set")?;
    Ok(PathBuf::from(runtime).join(display))
}

/// A connection with wl_compositor, wl_subcompositor and xdg_wm_base bound.
fn shell() -> Result<(WireClient, u32, u32, u32)> {
    let mut client = WireClient::connect(&socket()?)?;
    let (registry, globals) = client.globals()?;
    let compositor = client.bind(registry, &globals, "wl_compositor", 4)?;
    let subcompositor = client.bind(registry, &globals, "wl_subcompositor", 1)?;
    let wm_base = client.bind(registry, &globals, "xdg_wm_base", 1)?;
    Ok((client, compositor, subcompositor, wm_base))
}

/// The round trip that ends an attack: how the compositor answered.
fn verdict(client: &mut WireClient, sent: Result<()>) -> Result<&'static str> {
    if sent.is_err() {
        return Ok("refused");
    }
    Ok(match client.roundtrip(Duration::from_secs(60))? {
        Answer::Done => "answered",
        Answer::Error(..) | Answer::Closed => "refused",
    })
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |default: u64| args.get(1).and_then(|n| n.parse().ok()).unwrap_or(default);
    let start = Instant::now();
    let outcome = match args.first().map(String::as_str) {
        Some("malformed") => {
            let (mut client, compositor, _, wm_base) = shell()?;
            let surface = client.new_id();
            let xdg = client.new_id();
            let toplevel = client.new_id();
            let sent = client
                .send(compositor, 0, &[Arg::NewId(surface)])
                .and_then(|_| client.send(wm_base, 2, &[Arg::NewId(xdg), Arg::Object(surface)]))
                .and_then(|_| client.send(xdg, 1, &[Arg::NewId(toplevel)]))
                .and_then(|_| client.send(toplevel, 2, &[Arg::Str(None)]));
            verdict(&mut client, sent)?
        }
        Some("connections") => {
            // As many descriptors as this process may have, so that the compositor's
            // limit is what is tested, not ours.
            let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
            let _ = rustix::process::setrlimit(
                rustix::process::Resource::Nofile,
                rustix::process::Rlimit { current: limit.maximum, ..limit },
            );
            let mut held = Vec::new();
            for _ in 0..number(5000) {
                match WireClient::connect(&socket()?) {
                    Ok(c) => held.push(c),
                    Err(_) => break,
                }
            }
            std::thread::sleep(Duration::from_secs(2));
            let refused = held.len() < number(5000) as usize;
            drop(held);
            if refused {
                "refused"
            } else {
                "answered"
            }
        }
        Some("chain") => {
            let (mut client, compositor, subcompositor, _) = shell()?;
            let mut surfaces = Vec::new();
            let mut sent = Ok(());
            for _ in 0..number(10_000) {
                let id = client.new_id();
                sent = sent.and_then(|_| client.send(compositor, 0, &[Arg::NewId(id)]));
                if let Some(parent) = surfaces.last() {
                    let role = client.new_id();
                    let parent = *parent;
                    sent = sent.and_then(|_| {
                        client.send(subcompositor, 1, &[Arg::NewId(role), Arg::Object(id), Arg::Object(parent)])
                    });
                }
                surfaces.push(id);
            }
            for surface in surfaces.iter().rev() {
                sent = sent.and_then(|_| client.send(*surface, 6, &[]));
            }
            verdict(&mut client, sent)?
        }
        Some("flood") => {
            let mut client = WireClient::connect(&socket()?)?;
            let (sent, ended) = client.flood(Duration::from_secs(number(5)));
            println!("requests: {sent}");
            if ended.is_some() {
                "refused"
            } else {
                "answered"
            }
        }
        Some("hoard") => {
            let (mut client, compositor, _, _) = shell()?;
            let mut sent = Ok(());
            for _ in 0..number(200_000) {
                let id = client.new_id();
                sent = sent.and_then(|_| client.send(compositor, 1, &[Arg::NewId(id)]));
            }
            verdict(&mut client, sent)?
        }
        _ => bail!("usage: ghost-attack malformed | connections N | chain DEPTH | flood SECONDS | hoard OBJECTS"),
    };
    println!("outcome: {outcome}");
    println!("took_ms: {:.1}", start.elapsed().as_secs_f64() * 1e3);
    Ok(())
}
