//! The share audio's PipeWire thread: a session per connection, holding each share's
//! node (a virtual source made by PipeWire's null sink) and the links into it, which
//! `graph.rs` decides again whenever the registry or a share changes.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pipewire as pw;
use tracing::{info, warn};

use super::graph::{Graph, NodeInfo, PortInfo, ShareWant};
use super::{Command, ShareAudioStatus};
use crate::audio::connection::{self, node_name};

/// How long to wait before trying PipeWire again.
const RETRY: Duration = Duration::from_secs(2);

type Statuses = Arc<Mutex<HashMap<u64, ShareAudioStatus>>>;

/// A share as the thread keeps it.
struct Share {
    want: ShareWant,
    description: String,
    node: Option<pw::node::Node>,
}

/// Everything one session holds.
#[derive(Default)]
struct Session {
    graph: Graph,
    shares: HashMap<u64, Share>,
    links: HashMap<(u32, u32), pw::link::Link>,
}

/// Whether process `pid` is `root` or was started by it (its parents, from /proc).
fn descends(pid: u32, root: u32) -> bool {
    let mut current = pid;
    for _ in 0..64 {
        if current == root {
            return true;
        }
        if current <= 1 {
            return false;
        }
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{current}/stat")) else {
            return false;
        };
        // The command name may hold spaces and parentheses: the fields follow its last ')'.
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse().ok());
        match parent {
            Some(p) => current = p,
            None => return false,
        }
    }
    false
}

fn number(props: Option<&pw::spa::utils::dict::DictRef>, key: &str) -> Option<u32> {
    props.and_then(|p| p.get(key)).and_then(|v| v.parse().ok())
}

impl Session {
    fn make_node(&mut self, core: &pw::core::Core, cast: u64) {
        let Some(share) = self.shares.get_mut(&cast) else {
            return;
        };
        let props = pw::properties::properties! {
            "factory.name" => "support.null-audio-sink",
            *pw::keys::NODE_NAME => share.want.node_name.as_str(),
            *pw::keys::NODE_DESCRIPTION => share.description.as_str(),
            *pw::keys::MEDIA_CLASS => "Audio/Source/Virtual",
            "audio.position" => "FL,FR",
            "audio.rate" => "48000",
            // Never chosen as anyone's default microphone.
            "priority.session" => "0",
            "ghostnv.cast.id" => cast.to_string(),
            "object.linger" => "false",
        };
        match core.create_object::<pw::node::Node>("adapter", &props) {
            Ok(node) => share.node = Some(node),
            Err(e) => warn!(%e, cast, "share audio: no node"),
        }
    }

    /// Makes the links the shares need and drops the rest; refreshes the status.
    fn relink(&mut self, core: &pw::core::Core, statuses: &Statuses) {
        let wants: Vec<ShareWant> = self.shares.values().map(|s| s.want.clone()).collect();
        let wanted = self.graph.links(&wants, &descends);
        self.links.retain(|pair, _| wanted.contains(pair));
        for &(out, input) in &wanted {
            if self.links.contains_key(&(out, input)) {
                continue;
            }
            let (Some(from), Some(to)) = (self.graph.ports.get(&out), self.graph.ports.get(&input))
            else {
                continue;
            };
            let props = pw::properties::properties! {
                "link.output.node" => from.node.to_string(),
                "link.output.port" => out.to_string(),
                "link.input.node" => to.node.to_string(),
                "link.input.port" => input.to_string(),
                "object.linger" => "false",
            };
            match core.create_object::<pw::link::Link>("link-factory", &props) {
                Ok(link) => {
                    self.links.insert((out, input), link);
                }
                Err(e) => warn!(%e, "share audio: a link could not be made"),
            }
        }
        let Ok(mut statuses) = statuses.lock() else {
            return;
        };
        for (cast, share) in &self.shares {
            let Some(status) = statuses.get_mut(cast) else {
                continue;
            };
            let ours = self
                .graph
                .nodes
                .iter()
                .find(|(_, n)| n.name == share.want.node_name)
                .map(|(id, _)| *id);
            status.node_id = ours;
            status.problem = None;
            let mut sources: Vec<String> = self
                .links
                .keys()
                .filter(|(_, input)| {
                    self.graph.ports.get(input).map(|p| Some(p.node)) == Some(ours)
                })
                .filter_map(|(out, _)| self.graph.ports.get(out))
                .filter_map(|p| self.graph.nodes.get(&p.node))
                .map(|n| n.name.clone())
                .collect();
            sources.sort();
            sources.dedup();
            status.sources = sources;
        }
    }

    /// Takes in one registry global.
    fn added(&mut self, global: &pw::registry::GlobalObject<&pw::spa::utils::dict::DictRef>) {
        let props = global.props;
        let get = |key: &str| {
            props
                .and_then(|p| p.get(key))
                .unwrap_or_default()
                .to_owned()
        };
        match global.type_ {
            pw::types::ObjectType::Node => {
                self.graph.nodes.insert(
                    global.id,
                    NodeInfo {
                        name: get(*pw::keys::NODE_NAME),
                        class: get(*pw::keys::MEDIA_CLASS),
                        pid: number(props, "application.process.id"),
                        client: number(props, "client.id"),
                    },
                );
            }
            pw::types::ObjectType::Client => {
                let pid = number(props, "pipewire.sec.pid")
                    .or_else(|| number(props, "application.process.id"));
                if let Some(pid) = pid {
                    self.graph.clients.insert(global.id, pid);
                }
            }
            pw::types::ObjectType::Port => {
                if let Some(node) = number(props, "node.id") {
                    self.graph.ports.insert(
                        global.id,
                        PortInfo {
                            node,
                            output: get("port.direction") == "out",
                            channel: get("audio.channel"),
                            monitor: get("port.monitor") == "true",
                        },
                    );
                }
            }
            _ => {}
        }
    }

    fn removed(&mut self, id: u32) {
        self.graph.nodes.remove(&id);
        self.graph.clients.remove(&id);
        self.graph.ports.remove(&id);
        self.links
            .retain(|(out, input), _| *out != id && *input != id);
    }
}

/// The thread's body: sessions with PipeWire until told to quit.
pub(super) fn run(
    mut receiver: pw::channel::Receiver<Command>,
    statuses: Statuses,
    quit: Arc<AtomicBool>,
) {
    pw::init();
    let mut shares: HashMap<u64, (ShareWant, String)> = HashMap::new();
    while !quit.load(Ordering::Acquire) {
        let (lost, back) = session(receiver, &statuses, &mut shares);
        receiver = back;
        let Some(why) = lost else {
            break;
        };
        warn!(%why, "share audio: PipeWire lost; trying again");
        if let Ok(mut s) = statuses.lock() {
            for status in s.values_mut() {
                status.node_id = None;
                status.sources.clear();
                status.problem = Some(why.clone());
            }
        }
        let mut waited = Duration::ZERO;
        while waited < RETRY && !quit.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(100));
            waited += Duration::from_millis(100);
        }
    }
}

/// One connection: the shares' nodes and links live until it ends. Returns why it was
/// lost (None: told to quit) and the command channel.
fn session(
    receiver: pw::channel::Receiver<Command>,
    statuses: &Statuses,
    shares: &mut HashMap<u64, (ShareWant, String)>,
) -> (Option<String>, pw::channel::Receiver<Command>) {
    let (main_loop, _context, core) = match connection::connect() {
        Ok(parts) => parts,
        Err(why) => return (Some(why), receiver),
    };
    let registry = match core.get_registry() {
        Ok(registry) => registry,
        Err(e) => return (Some(e.to_string()), receiver),
    };
    let core = Rc::new(core);
    let lost: Rc<RefCell<Option<String>>> =
        Rc::new(RefCell::new(Some("PipeWire went away".into())));
    let state = Rc::new(RefCell::new(Session::default()));
    for (cast, (want, description)) in shares.iter() {
        state.borrow_mut().shares.insert(
            *cast,
            Share {
                want: want.clone(),
                description: description.clone(),
                node: None,
            },
        );
        state.borrow_mut().make_node(&core, *cast);
    }

    let on_error = lost.clone();
    let _core_listener = connection::quit_on_core_error(&core, &main_loop, move |why| {
        *on_error.borrow_mut() = Some(why);
    });

    let registry = Rc::new(registry);
    let metadata: Rc<RefCell<Option<(pw::metadata::Metadata, pw::metadata::MetadataListener)>>> =
        Rc::new(RefCell::new(None));
    let (st, c, stat, reg, meta_slot) = (
        state.clone(),
        core.clone(),
        statuses.clone(),
        registry.clone(),
        metadata.clone(),
    );
    let (st_gone, c_gone, stat_gone) = (state.clone(), core.clone(), statuses.clone());
    let _registry_listener = registry
        .add_listener_local()
        .global(move |global| {
            if global.type_ == pw::types::ObjectType::Metadata {
                if global.props.and_then(|p| p.get("metadata.name")) != Some("default")
                    || meta_slot.borrow().is_some()
                {
                    return;
                }
                let Ok(meta) = reg.bind::<pw::metadata::Metadata, _>(global) else {
                    return;
                };
                let (st, c, stat) = (st.clone(), c.clone(), stat.clone());
                let listener = meta
                    .add_listener_local()
                    .property(move |subject, key, _type, value| {
                        if subject == 0 && key == Some("default.audio.sink") {
                            let mut s = st.borrow_mut();
                            s.graph.default_sink = value.and_then(node_name);
                            s.relink(&c, &stat);
                        }
                        0
                    })
                    .register();
                *meta_slot.borrow_mut() = Some((meta, listener));
                return;
            }
            let mut s = st.borrow_mut();
            s.added(global);
            s.relink(&c, &stat);
        })
        .global_remove(move |id| {
            let mut s = st_gone.borrow_mut();
            s.removed(id);
            s.relink(&c_gone, &stat_gone);
        })
        .register();

    let weak = main_loop.downgrade();
    let (st, c, stat, told_quit) = (
        state.clone(),
        core.clone(),
        statuses.clone(),
        Rc::new(RefCell::new(false)),
    );
    let quitting = told_quit.clone();
    let attached = receiver.attach(main_loop.loop_(), move |command| match command {
        Command::Add {
            cast,
            want,
            description,
        } => {
            info!(cast, node = want.node_name, target = ?want.target, "share audio: node for a share");
            let mut s = st.borrow_mut();
            s.shares.insert(
                cast,
                Share {
                    want,
                    description,
                    node: None,
                },
            );
            s.make_node(&c, cast);
            s.relink(&c, &stat);
        }
        Command::Remove(cast) => {
            let mut s = st.borrow_mut();
            s.shares.remove(&cast);
            s.relink(&c, &stat);
        }
        Command::Quit => {
            *quitting.borrow_mut() = true;
            if let Some(l) = weak.upgrade() {
                l.quit();
            }
        }
    });
    main_loop.run();
    // The shares outlive the connection: the next one makes their nodes again.
    {
        let mut s = state.borrow_mut();
        *shares = s
            .shares
            .drain()
            .map(|(cast, share)| (cast, (share.want, share.description)))
            .collect();
        s.links.clear();
    }
    let lost = match *told_quit.borrow() {
        true => None,
        false => lost
            .borrow_mut()
            .take()
            .or(Some("PipeWire went away".into())),
    };
    (lost, attached.deattach())
}
