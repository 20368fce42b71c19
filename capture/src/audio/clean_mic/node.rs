//! The clean mic's PipeWire thread: a session per connection to PipeWire, each with
//! the source node, the microphone linked into it (the configured one, else the
//! default source when the session starts, never the clean mic itself), the echo
//! reference, and the "default" metadata (to make the clean mic the default source and
//! give the old one back). Commands from the compositor arrive on the same loop.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ghost_voice::Chain;
use pipewire as pw;
use tracing::{info, warn};

use super::processing::Processing;
use super::streams::{Streams, Wiring};
use super::{CleanMicSettings, CleanMicStatus, Command, NODE_NAME};
use crate::audio::connection::{self, node_name};

/// The quantum every node asks the graph for: one chain frame.
const QUANTUM: &str = "480/48000";
/// How long to wait before trying PipeWire again.
const RETRY: Duration = Duration::from_secs(2);

/// How a session with PipeWire ended.
enum Ending {
    Quit,
    Restart,
    Lost(String),
}

/// What the "default" metadata says about sources.
#[derive(Default)]
struct Defaults {
    /// `default.audio.source`: the source in use.
    source: Option<String>,
    /// `default.configured.audio.source`, raw: what to give back.
    configured: Option<String>,
    /// `default.audio.sink`: the output whose monitor is the echo reference.
    sink: Option<String>,
}

/// The thread's body: sessions with PipeWire until told to quit.
pub fn run(
    mut settings: CleanMicSettings,
    mut receiver: pw::channel::Receiver<Command>,
    status: Arc<Mutex<CleanMicStatus>>,
) {
    pw::init();
    let mut make_default = false;
    loop {
        let (ending, back) = session(&mut settings, receiver, &status, &mut make_default);
        receiver = back;
        match ending {
            Ending::Quit => break,
            Ending::Restart => continue,
            Ending::Lost(why) => {
                warn!(%why, "clean mic: PipeWire lost; trying again");
                if let Ok(mut s) = status.lock() {
                    s.running = false;
                    s.problem = Some(why);
                    s.is_default = false;
                }
                let (quit, back) = wait(receiver, &mut settings, &mut make_default);
                receiver = back;
                if quit {
                    break;
                }
            }
        }
    }
}

/// Waits before the next try, still taking commands; true when told to quit.
fn wait(
    receiver: pw::channel::Receiver<Command>,
    settings: &mut CleanMicSettings,
    make_default: &mut bool,
) -> (bool, pw::channel::Receiver<Command>) {
    let Ok(main_loop) = pw::main_loop::MainLoop::new(None) else {
        std::thread::sleep(RETRY);
        return (false, receiver);
    };
    let quit = Rc::new(RefCell::new(false));
    let changes = Rc::new(RefCell::new((settings.clone(), *make_default)));
    let weak = main_loop.downgrade();
    let (q, c) = (quit.clone(), changes.clone());
    let attached = receiver.attach(main_loop.loop_(), move |command| match command {
        Command::Quit => {
            *q.borrow_mut() = true;
            if let Some(l) = weak.upgrade() {
                l.quit();
            }
        }
        Command::Settings(s) => c.borrow_mut().0 = s,
        Command::MakeDefault(on) => c.borrow_mut().1 = on,
    });
    let weak = main_loop.downgrade();
    let timer = main_loop.loop_().add_timer(move |_| {
        if let Some(l) = weak.upgrade() {
            l.quit();
        }
    });
    let _ = timer.update_timer(Some(RETRY), None);
    main_loop.run();
    let receiver = attached.deattach();
    let (s, d) = changes.borrow().clone();
    *settings = s;
    *make_default = d;
    let quit = *quit.borrow();
    (quit, receiver)
}

/// One connection to PipeWire: the streams live until it ends.
fn session(
    settings: &mut CleanMicSettings,
    receiver: pw::channel::Receiver<Command>,
    status: &Arc<Mutex<CleanMicStatus>>,
    make_default: &mut bool,
) -> (Ending, pw::channel::Receiver<Command>) {
    let (main_loop, _context, core) = match connection::connect() {
        Ok(parts) => parts,
        Err(why) => return (Ending::Lost(why), receiver),
    };
    let ending = Rc::new(RefCell::new(Ending::Lost("PipeWire went away".into())));
    let chain = match Chain::new(settings.mode, settings.options) {
        Ok(chain) => chain,
        Err(e) => return (Ending::Lost(e.to_string()), receiver),
    };
    let processing = Arc::new(Mutex::new(Processing::new(chain, status.clone())));

    let defaults = Rc::new(RefCell::new(Defaults::default()));
    let metadata: Rc<RefCell<Option<(pw::metadata::Metadata, pw::metadata::MetadataListener)>>> =
        Rc::new(RefCell::new(None));
    // What was the default before the clean mic took it, to give back.
    let given_back: Rc<RefCell<Option<Option<String>>>> = Rc::new(RefCell::new(None));

    let on_error = ending.clone();
    let _core_listener = connection::quit_on_core_error(&core, &main_loop, move |why| {
        *on_error.borrow_mut() = Ending::Lost(why);
    });

    let Ok(registry) = core.get_registry() else {
        return (Ending::Lost("no PipeWire registry".into()), receiver);
    };
    let core_rc = Rc::new(core);
    let registry = Rc::new(registry);
    let wiring = Rc::new(RefCell::new(Wiring::default()));
    let streams: Rc<RefCell<Option<Streams>>> = Rc::new(RefCell::new(None));
    let (reg, meta_slot, defs) = (registry.clone(), metadata.clone(), defaults.clone());
    let (follow_streams, follow_core, follow_processing) =
        (streams.clone(), core_rc.clone(), processing.clone());
    let (wired, wiring_core, unwired) = (wiring.clone(), core_rc.clone(), wiring.clone());
    let _registry_listener = registry
        .add_listener_local()
        .global(move |global| {
            if global.type_ == pw::types::ObjectType::Node {
                if let Some(name) = global.props.and_then(|p| p.get(*pw::keys::NODE_NAME)) {
                    wired.borrow_mut().added(&wiring_core, name, global.id);
                }
                return;
            }
            if global.type_ == pw::types::ObjectType::Port {
                let props = global.props;
                let node = props
                    .and_then(|p| p.get(*pw::keys::NODE_ID))
                    .and_then(|n| n.parse().ok());
                let output = props.and_then(|p| p.get(*pw::keys::PORT_DIRECTION)) == Some("out");
                if let Some(node) = node {
                    wired
                        .borrow_mut()
                        .port_added(&wiring_core, global.id, node, output);
                }
                return;
            }
            if global.type_ != pw::types::ObjectType::Metadata
                || global.props.and_then(|p| p.get("metadata.name")) != Some("default")
                || meta_slot.borrow().is_some()
            {
                return;
            }
            let Ok(meta) = reg.bind::<pw::metadata::Metadata, _>(global) else {
                return;
            };
            let defs = defs.clone();
            let (streams, core, processing) = (
                follow_streams.clone(),
                follow_core.clone(),
                follow_processing.clone(),
            );
            let listener = meta
                .add_listener_local()
                .property(move |subject, key, _type, value| {
                    if subject != 0 {
                        return 0;
                    }
                    let mut d = defs.borrow_mut();
                    match key {
                        Some("default.audio.source") => d.source = value.and_then(node_name),
                        Some("default.configured.audio.source") => {
                            d.configured = value.map(str::to_owned)
                        }
                        Some("default.audio.sink") => {
                            let sink = value.and_then(node_name);
                            if sink != d.sink {
                                d.sink = sink.clone();
                                drop(d);
                                if let (Some(s), Some(sink)) =
                                    (streams.borrow_mut().as_mut(), sink.as_deref())
                                {
                                    s.follow_output(&core, &processing, QUANTUM, sink);
                                }
                            }
                        }
                        _ => {}
                    }
                    0
                })
                .register();
            *meta_slot.borrow_mut() = Some((meta, listener));
        })
        .global_remove(move |id| unwired.borrow_mut().removed(id))
        .register();

    // Two round trips: the registry's globals (the metadata bound), then its values.
    let pending_sync = Rc::new(RefCell::new(core_rc.sync(0).ok()));
    let rounds = Rc::new(RefCell::new(0));
    let wire = wiring.clone();
    let (c2, ps, st, pr, defs, sett, stat, md, meta_slot, gb) = (
        core_rc.clone(),
        pending_sync.clone(),
        streams.clone(),
        processing.clone(),
        defaults.clone(),
        settings.clone(),
        status.clone(),
        *make_default,
        metadata.clone(),
        given_back.clone(),
    );
    let weak = main_loop.downgrade();
    let on_fail = ending.clone();
    let _sync_listener = core_rc
        .add_listener_local()
        .done(move |_id, seq| {
            if *ps.borrow() != Some(seq) {
                return;
            }
            *rounds.borrow_mut() += 1;
            if *rounds.borrow() == 1 {
                *ps.borrow_mut() = c2.sync(0).ok();
                return;
            }
            // Never the clean mic itself: when a reconnect comes during a share, the
            // default may still name it, while the configured value is the old one.
            let microphone = sett
                .microphone
                .clone()
                .filter(|m| m != NODE_NAME)
                .or_else(|| {
                    let d = defs.borrow();
                    let configured = d.configured.as_deref().and_then(node_name);
                    [d.source.clone(), configured]
                        .into_iter()
                        .flatten()
                        .find(|m| m != NODE_NAME)
                });
            let output = defs.borrow().sink.clone();
            match Streams::connect(
                &c2,
                &pr,
                QUANTUM,
                sett.options.echo_cancel,
                output.as_deref(),
            ) {
                Ok(s) => {
                    wire.borrow_mut().microphone = microphone.clone();
                    wire.borrow_mut().relink(&c2);
                    info!(
                        ?microphone,
                        mode = sett.mode.name(),
                        "clean mic: source ready"
                    );
                    *st.borrow_mut() = Some(s);
                    if let Ok(mut s) = stat.lock() {
                        s.running = true;
                        s.problem = None;
                        s.microphone = microphone;
                    }
                    if md {
                        switch_default(&meta_slot, &defs, &gb, &stat, true);
                    }
                }
                Err(why) => {
                    *on_fail.borrow_mut() = Ending::Lost(why);
                    if let Some(l) = weak.upgrade() {
                        l.quit();
                    }
                }
            }
        })
        .register();

    let weak = main_loop.downgrade();
    let (end, pr, current, stat, defs, meta_slot, gb) = (
        ending.clone(),
        processing.clone(),
        Rc::new(RefCell::new(settings.clone())),
        status.clone(),
        defaults.clone(),
        metadata.clone(),
        given_back.clone(),
    );
    let wanted_default = Rc::new(RefCell::new(*make_default));
    let (cur, wd) = (current.clone(), wanted_default.clone());
    let attached = receiver.attach(main_loop.loop_(), move |command| {
        let quit = |ending: Ending| {
            *end.borrow_mut() = ending;
            if let Some(l) = weak.upgrade() {
                l.quit();
            }
        };
        match command {
            Command::Quit => quit(Ending::Quit),
            Command::MakeDefault(on) => {
                *wd.borrow_mut() = on;
                switch_default(&meta_slot, &defs, &gb, &stat, on);
            }
            Command::Settings(new) => {
                let old = cur.replace(new.clone());
                if old.microphone != new.microphone
                    || old.options.echo_cancel != new.options.echo_cancel
                {
                    quit(Ending::Restart);
                } else if old != new {
                    // Only the chain changes: swapped between two frames.
                    match Chain::new(new.mode, new.options) {
                        Ok(chain) => {
                            if let Ok(mut p) = pr.lock() {
                                p.chain = chain;
                            }
                            info!(mode = new.mode.name(), "clean mic: settings changed");
                        }
                        Err(e) => warn!(%e, "clean mic: new settings refused; keeping the old"),
                    }
                }
            }
        }
    });
    main_loop.run();
    // Leaving: the default goes back before the source does.
    switch_default(&metadata, &defaults, &given_back, status, false);
    streams.borrow_mut().take();
    *settings = current.borrow().clone();
    *make_default = *wanted_default.borrow();
    if let Ok(mut s) = status.lock() {
        s.running = false;
    }
    let ending = ending.replace(Ending::Quit);
    (ending, attached.deattach())
}

/// Makes the clean mic the configured default source (`on`), remembering what was
/// configured, or puts that back.
fn switch_default(
    metadata: &Rc<RefCell<Option<(pw::metadata::Metadata, pw::metadata::MetadataListener)>>>,
    defaults: &Rc<RefCell<Defaults>>,
    given_back: &Rc<RefCell<Option<Option<String>>>>,
    status: &Arc<Mutex<CleanMicStatus>>,
    on: bool,
) {
    let slot = metadata.borrow();
    let Some((meta, _)) = slot.as_ref() else {
        return;
    };
    let key = "default.configured.audio.source";
    let mut saved = given_back.borrow_mut();
    if on && saved.is_none() {
        *saved = Some(defaults.borrow().configured.clone());
        let value = format!("{{ \"name\": \"{NODE_NAME}\" }}");
        meta.set_property(0, key, Some("Spa:String:JSON"), Some(&value));
        info!("clean mic: now the default source");
    } else if !on {
        if let Some(previous) = saved.take() {
            meta.set_property(
                0,
                key,
                previous.as_ref().map(|_| "Spa:String:JSON"),
                previous.as_deref(),
            );
            info!("clean mic: default source given back");
        }
    }
    if let Ok(mut s) = status.lock() {
        s.is_default = saved.is_some();
    }
}
