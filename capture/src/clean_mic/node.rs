//! The clean mic's PipeWire thread: three streams on one main loop. The microphone
//! (mono, pinned to the chosen microphone so that it never records the clean mic
//! itself once that is the default), the reference (the default sink's monitor) and
//! the source. Every stream asks for a 10 ms quantum, the chain's frame, so that a
//! frame goes in and comes out in the same cycle of the graph.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ghost_voice::{Chain, FRAME, RATE};
use pipewire as pw;
use pw::spa;
use tracing::{info, warn};

use super::meter::Meter;
use super::{CleanMicSettings, CleanMicStatus, Command, NODE_NAME};
use crate::encode::audio::{float_format, libspa_sys_position};

/// The quantum every stream asks the graph for: one chain frame.
const QUANTUM: &str = "480/48000";
/// Cleaned samples kept for the source at most (four frames); older ones go, so that a
/// source nobody records from does not build up delay for whoever starts to.
const OUT_QUEUE_MAX: usize = 4 * FRAME;
/// What the source's queue may keep at its lowest over a second: the rest is delay
/// that the graph's quantum (not a multiple of the chain's frame) does not need, and
/// is dropped (once, after a start or a change of quantum; then the level holds). The
/// microphone and the source run in the same cycle with the same quantum, so the queue
/// can run down to empty; a shortfall (a larger quantum) is silence that rebuilds it.
const SLACK: usize = 0;
/// How long to wait before trying PipeWire again.
const RETRY: Duration = Duration::from_secs(2);

/// How a session with PipeWire ended.
enum Ending {
    Quit,
    Restart,
    Lost(String),
}

/// The chain and its queues, shared by the three streams' callbacks (one thread).
struct Processing {
    chain: Chain,
    pending: Vec<f32>,
    out: VecDeque<f32>,
    /// The queue's lowest level when the source took from it, this second.
    lowest: usize,
    meter: Meter,
    status: Arc<Mutex<CleanMicStatus>>,
}

impl Processing {
    fn feed(&mut self, samples: &[f32]) {
        for &s in samples {
            self.pending.push(s);
            if self.pending.len() < FRAME {
                continue;
            }
            let mut frame = [0f32; FRAME];
            frame.copy_from_slice(&self.pending);
            self.pending.clear();
            let input = frame;
            let started = Instant::now();
            self.chain.process_frame(&mut frame);
            let took = started.elapsed();
            self.out.extend(frame);
            if let Some(second) = self.meter.add(&input, &frame, self.chain.voice(), took) {
                self.trim();
                self.report(second);
            }
        }
        let excess = self.out.len().saturating_sub(OUT_QUEUE_MAX);
        self.out.drain(..excess);
    }

    /// Drops the queue's unneeded delay.
    fn trim(&mut self) {
        if self.lowest != usize::MAX && self.lowest > SLACK {
            let excess = (self.lowest - SLACK).min(self.out.len());
            self.out.drain(..excess);
        }
        self.lowest = usize::MAX;
    }

    fn report(&self, second: super::meter::Second) {
        let echo = self.chain.echo_stats();
        let latency = self.chain.latency() + self.out.len();
        if let Ok(mut status) = self.status.lock() {
            status.latency_ms = latency as f64 * 1000.0 / f64::from(RATE);
            status.cpu_percent = second.cpu_percent;
            status.suppression_db = second.suppression_db;
            status.speech = second.speech;
            status.erle_db = echo.and_then(|(s, _)| s.erle_db);
            status.echo_delay_ms = echo.and_then(|(s, _)| s.delay_ms);
            status.reference_clock_ppm = echo.map(|(_, ppm)| ppm);
        }
    }

    /// Fills a source buffer of `capacity` samples; silence where the chain is behind.
    fn drain_into(&mut self, out: &mut [f32]) -> usize {
        let n = out.len();
        self.lowest = self.lowest.min(self.out.len().saturating_sub(n));
        for sample in out.iter_mut() {
            *sample = self.out.pop_front().unwrap_or(0.0);
        }
        n
    }
}

/// What the "default" metadata says about sources.
#[derive(Default)]
struct Defaults {
    /// `default.audio.source`: the source in use.
    source: Option<String>,
    /// `default.configured.audio.source`, raw: what to give back.
    configured: Option<String>,
}

fn node_name(json: &str) -> Option<String> {
    let value = json.split("\"name\"").nth(1)?;
    let start = value.find('"')? + 1;
    let end = value[start..].find('"')? + start;
    Some(value[start..end].to_owned())
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
    let setup = || -> Result<_, String> {
        let main_loop = pw::main_loop::MainLoop::new(None).map_err(|e| e.to_string())?;
        let context = pw::context::Context::new(&main_loop).map_err(|e| e.to_string())?;
        let core = context
            .connect(None)
            .map_err(|e| format!("no PipeWire in this session: {e}"))?;
        Ok((main_loop, context, core))
    };
    let (main_loop, _context, core) = match setup() {
        Ok(parts) => parts,
        Err(why) => return (Ending::Lost(why), receiver),
    };
    let ending = Rc::new(RefCell::new(Ending::Lost("PipeWire went away".into())));
    let chain = match Chain::new(settings.mode, settings.options) {
        Ok(chain) => chain,
        Err(e) => return (Ending::Lost(e.to_string()), receiver),
    };
    let processing = Rc::new(RefCell::new(Processing {
        chain,
        pending: Vec::with_capacity(FRAME),
        out: VecDeque::with_capacity(OUT_QUEUE_MAX + FRAME),
        lowest: usize::MAX,
        meter: Meter::default(),
        status: status.clone(),
    }));
    let defaults = Rc::new(RefCell::new(Defaults::default()));
    let metadata: Rc<RefCell<Option<(pw::metadata::Metadata, pw::metadata::MetadataListener)>>> =
        Rc::new(RefCell::new(None));
    // What was the default before the clean mic took it, to give back.
    let given_back: Rc<RefCell<Option<Option<String>>>> = Rc::new(RefCell::new(None));

    let weak = main_loop.downgrade();
    let on_error = ending.clone();
    let _core_listener = core
        .add_listener_local()
        .error(move |id, _seq, res, message| {
            // Errors on the core itself mean the connection is gone.
            if id == pw::core::PW_ID_CORE {
                *on_error.borrow_mut() = Ending::Lost(format!("PipeWire: {message} ({res})"));
                if let Some(l) = weak.upgrade() {
                    l.quit();
                }
            }
        })
        .register();

    let Ok(registry) = core.get_registry() else {
        return (Ending::Lost("no PipeWire registry".into()), receiver);
    };
    let registry = Rc::new(registry);
    let (reg, meta_slot, defs) = (registry.clone(), metadata.clone(), defaults.clone());
    let _registry_listener = registry
        .add_listener_local()
        .global(move |global| {
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
            let listener = meta
                .add_listener_local()
                .property(move |subject, key, _type, value| {
                    if subject == 0 {
                        let mut d = defs.borrow_mut();
                        match key {
                            Some("default.audio.source") => d.source = value.and_then(node_name),
                            Some("default.configured.audio.source") => {
                                d.configured = value.map(str::to_owned)
                            }
                            _ => {}
                        }
                    }
                    0
                })
                .register();
            *meta_slot.borrow_mut() = Some((meta, listener));
        })
        .register();

    // Two round trips: the registry's globals (the metadata bound), then its values.
    let streams: Rc<RefCell<Option<Streams>>> = Rc::new(RefCell::new(None));
    let pending_sync = Rc::new(RefCell::new(core.sync(0).ok()));
    let rounds = Rc::new(RefCell::new(0));
    let core_rc = Rc::new(core);
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
            let microphone = sett
                .microphone
                .clone()
                .or_else(|| defs.borrow().source.clone())
                .filter(|m| m != NODE_NAME);
            match Streams::connect(&c2, &pr, microphone.clone(), sett.options.echo_cancel) {
                Ok(s) => {
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
                            pr.borrow_mut().chain = chain;
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

/// The three streams and their listeners.
struct Streams {
    _mic: (pw::stream::Stream, pw::stream::StreamListener<()>),
    _reference: Option<(pw::stream::Stream, pw::stream::StreamListener<()>)>,
    _source: (Rc<pw::stream::Stream>, pw::stream::StreamListener<()>),
}

/// Mono float samples of a capture buffer.
fn samples_of(stream: &pw::stream::StreamRef) -> Vec<f32> {
    let Some(mut buffer) = stream.dequeue_buffer() else {
        return Vec::new();
    };
    let Some(data) = buffer.datas_mut().first_mut() else {
        return Vec::new();
    };
    let size = data.chunk().size() as usize;
    let Some(bytes) = data.data() else {
        return Vec::new();
    };
    bytes
        .get(..size)
        .unwrap_or_default()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn connect(
    stream: &pw::stream::Stream,
    direction: spa::utils::Direction,
    flags: pw::stream::StreamFlags,
) -> Result<(), String> {
    let bytes = float_format(&[libspa_sys_position::MONO])?;
    let pod = spa::pod::Pod::from_bytes(&bytes).ok_or("audio format: not a pod")?;
    stream
        .connect(
            direction,
            None,
            flags | pw::stream::StreamFlags::MAP_BUFFERS,
            &mut [pod],
        )
        .map_err(|e| format!("PipeWire stream: {e}"))
}

impl Streams {
    fn connect(
        core: &pw::core::Core,
        processing: &Rc<RefCell<Processing>>,
        microphone: Option<String>,
        echo: bool,
    ) -> Result<Streams, String> {
        let err = |e: pw::Error| format!("PipeWire stream: {e}");
        let props = pw::properties::properties! {
            *pw::keys::MEDIA_TYPE => "Audio",
            *pw::keys::MEDIA_CLASS => "Audio/Source",
            *pw::keys::NODE_NAME => NODE_NAME,
            *pw::keys::NODE_DESCRIPTION => "GhostNV clean mic",
            *pw::keys::NODE_LATENCY => QUANTUM,
        };
        let source =
            Rc::new(pw::stream::Stream::new(core, "GhostNV clean mic", props).map_err(err)?);
        let p = processing.clone();
        let source_listener = source
            .add_local_listener::<()>()
            .process(move |stream, _| {
                let Some(mut buffer) = stream.dequeue_buffer() else {
                    return;
                };
                let requested = buffer.requested() as usize;
                let Some(data) = buffer.datas_mut().first_mut() else {
                    return;
                };
                let Some(bytes) = data.data() else {
                    return;
                };
                let capacity = bytes.len() / 4;
                let n = if requested > 0 {
                    requested.min(capacity)
                } else {
                    capacity.min(FRAME)
                };
                let mut samples = vec![0f32; n];
                p.borrow_mut().drain_into(&mut samples);
                for (chunk, s) in bytes.chunks_exact_mut(4).zip(&samples) {
                    chunk.copy_from_slice(&s.to_le_bytes());
                }
                let chunk = data.chunk_mut();
                *chunk.offset_mut() = 0;
                *chunk.stride_mut() = 4;
                *chunk.size_mut() = (n * 4) as u32;
            })
            .register()
            .map_err(err)?;
        connect(
            &source,
            spa::utils::Direction::Output,
            pw::stream::StreamFlags::AUTOCONNECT,
        )?;
        let mut props = pw::properties::properties! {
            *pw::keys::MEDIA_TYPE => "Audio",
            *pw::keys::MEDIA_CATEGORY => "Capture",
            *pw::keys::MEDIA_ROLE => "Communication",
            *pw::keys::NODE_NAME => "ghostnv_clean_mic_input",
            *pw::keys::NODE_DESCRIPTION => "GhostNV clean mic (microphone in)",
            *pw::keys::NODE_LATENCY => QUANTUM,
            "node.dont-reconnect" => "true",
        };
        if let Some(mic) = &microphone {
            props.insert("target.object", mic.as_str());
        }
        let mic = pw::stream::Stream::new(core, "GhostNV clean mic input", props).map_err(err)?;
        let p = processing.clone();
        let trigger = source.clone();
        let mic_listener = mic
            .add_local_listener::<()>()
            .process(move |stream, _| {
                let samples = samples_of(stream);
                p.borrow_mut().feed(&samples);
                let _ = trigger.trigger_process();
            })
            .register()
            .map_err(err)?;
        connect(
            &mic,
            spa::utils::Direction::Input,
            pw::stream::StreamFlags::AUTOCONNECT,
        )?;

        let reference = if echo {
            let props = pw::properties::properties! {
                *pw::keys::MEDIA_TYPE => "Audio",
                *pw::keys::MEDIA_CATEGORY => "Capture",
                *pw::keys::NODE_NAME => "ghostnv_clean_mic_reference",
                *pw::keys::NODE_DESCRIPTION => "GhostNV clean mic (echo reference)",
                *pw::keys::NODE_LATENCY => QUANTUM,
                *pw::keys::STREAM_CAPTURE_SINK => "true",
                "node.passive" => "true",
            };
            let stream =
                pw::stream::Stream::new(core, "GhostNV clean mic reference", props).map_err(err)?;
            let p = processing.clone();
            let listener = stream
                .add_local_listener::<()>()
                .process(move |stream, _| {
                    let samples = samples_of(stream);
                    p.borrow_mut().chain.push_reference(&samples);
                })
                .register()
                .map_err(err)?;
            connect(
                &stream,
                spa::utils::Direction::Input,
                pw::stream::StreamFlags::AUTOCONNECT,
            )?;
            Some((stream, listener))
        } else {
            None
        };

        Ok(Streams {
            _mic: (mic, mic_listener),
            _reference: reference,
            _source: (source, source_listener),
        })
    }
}
