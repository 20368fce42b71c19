//! Which links a share's audio node needs, from what PipeWire's registry shows: pure
//! data in, links out, so the rules are tested without a PipeWire daemon.
//!
//! A window share hears the playback streams of the window's process and of the
//! processes it started (browsers play from a separate audio process); an output share
//! hears the default output's monitor. Each source port goes to the share's input port
//! of the same channel; a mono source, or a channel the share lacks, goes to all of
//! them.

use std::collections::{BTreeSet, HashMap};

/// What a share's audio carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioTarget {
    /// The playback streams of this process and its descendants.
    Process(u32),
    /// What the default output plays.
    Desktop,
}

/// A node from the registry, with what the rules need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeInfo {
    /// `node.name`.
    pub name: String,
    /// `media.class`.
    pub class: String,
    /// The process behind it: the node's `application.process.id`, else its client's.
    pub pid: Option<u32>,
    /// `client.id`.
    pub client: Option<u32>,
}

/// A port from the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortInfo {
    /// The node it belongs to.
    pub node: u32,
    /// An output port (else an input).
    pub output: bool,
    /// `audio.channel` (FL, FR, MONO…).
    pub channel: String,
    /// A sink's monitor port.
    pub monitor: bool,
}

/// What the registry shows now.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    /// Nodes by id.
    pub nodes: HashMap<u32, NodeInfo>,
    /// Clients' process ids by client id (`pipewire.sec.pid`, which the daemon takes
    /// from the socket, else `application.process.id`).
    pub clients: HashMap<u32, u32>,
    /// Ports by id.
    pub ports: HashMap<u32, PortInfo>,
    /// `default.audio.sink`'s node name.
    pub default_sink: Option<String>,
}

/// One share as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareWant {
    /// The share's own node name.
    pub node_name: String,
    /// What it carries.
    pub target: AudioTarget,
}

impl Graph {
    /// The process behind node `id`.
    pub fn pid_of(&self, id: u32) -> Option<u32> {
        let node = self.nodes.get(&id)?;
        node.pid
            .or_else(|| node.client.and_then(|c| self.clients.get(&c).copied()))
    }

    fn node_named(&self, name: &str) -> Option<u32> {
        self.nodes
            .iter()
            .find(|(_, n)| n.name == name)
            .map(|(id, _)| *id)
    }

    /// The nodes whose sound `target` takes, and whether their monitor ports are the
    /// ones to take. `descends` says whether a process is the given one or started by
    /// it (from /proc in the daemon's world, a table in tests).
    fn sources(
        &self,
        target: &AudioTarget,
        descends: &dyn Fn(u32, u32) -> bool,
    ) -> Vec<(u32, bool)> {
        match target {
            AudioTarget::Process(root) => self
                .nodes
                .iter()
                .filter(|(_, n)| n.class == "Stream/Output/Audio")
                .filter(|(id, _)| self.pid_of(**id).is_some_and(|p| descends(p, *root)))
                .map(|(id, _)| (*id, false))
                .collect(),
            AudioTarget::Desktop => self
                .default_sink
                .as_deref()
                .and_then(|sink| self.node_named(sink))
                .map(|id| vec![(id, true)])
                .unwrap_or_default(),
        }
    }

    /// Every link (output port, input port) the shares need.
    pub fn links(
        &self,
        shares: &[ShareWant],
        descends: &dyn Fn(u32, u32) -> bool,
    ) -> BTreeSet<(u32, u32)> {
        let mut links = BTreeSet::new();
        for share in shares {
            let Some(ours) = self.node_named(&share.node_name) else {
                continue;
            };
            let inputs: Vec<(u32, &PortInfo)> = self
                .ports
                .iter()
                .filter(|(_, p)| p.node == ours && !p.output)
                .map(|(id, p)| (*id, p))
                .collect();
            for (node, monitor) in self.sources(&share.target, descends) {
                // Never the share's own sound back into itself.
                if node == ours {
                    continue;
                }
                let outputs = self
                    .ports
                    .iter()
                    .filter(|(_, p)| p.node == node && p.output && p.monitor == monitor);
                for (out_id, out) in outputs {
                    let same: Vec<u32> = inputs
                        .iter()
                        .filter(|(_, i)| i.channel == out.channel)
                        .map(|(id, _)| *id)
                        .collect();
                    let to = match same.is_empty() || out.channel == "MONO" {
                        true => inputs.iter().map(|(id, _)| *id).collect(),
                        false => same,
                    };
                    links.extend(to.into_iter().map(|i| (*out_id, i)));
                }
            }
        }
        links
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, class: &str, pid: Option<u32>, client: Option<u32>) -> NodeInfo {
        NodeInfo {
            name: name.into(),
            class: class.into(),
            pid,
            client,
        }
    }

    fn port(node: u32, output: bool, channel: &str, monitor: bool) -> PortInfo {
        PortInfo {
            node,
            output,
            channel: channel.into(),
            monitor,
        }
    }

    /// Two players (processes 100 and 200, 300 a child of 100), a sink, and a share.
    fn graph() -> Graph {
        let mut g = Graph::default();
        g.nodes
            .insert(1, node("share", "Audio/Source/Virtual", None, None));
        g.nodes
            .insert(2, node("tone", "Stream/Output/Audio", Some(100), None));
        g.nodes
            .insert(3, node("other", "Stream/Output/Audio", None, Some(9)));
        g.nodes
            .insert(4, node("speakers", "Audio/Sink", None, None));
        g.nodes
            .insert(5, node("helper", "Stream/Output/Audio", Some(300), None));
        g.nodes
            .insert(6, node("mic", "Stream/Input/Audio", Some(100), None));
        g.clients.insert(9, 200);
        g.ports.insert(10, port(1, false, "FL", false));
        g.ports.insert(11, port(1, false, "FR", false));
        g.ports.insert(12, port(1, true, "FL", false));
        g.ports.insert(20, port(2, true, "FL", false));
        g.ports.insert(21, port(2, true, "FR", false));
        g.ports.insert(30, port(3, true, "MONO", false));
        g.ports.insert(40, port(4, false, "FL", false));
        g.ports.insert(41, port(4, true, "FL", true));
        g.ports.insert(42, port(4, true, "FR", true));
        g.ports.insert(50, port(5, true, "MONO", false));
        g.ports.insert(60, port(6, false, "MONO", false));
        g.default_sink = Some("speakers".into());
        g
    }

    fn family(pid: u32, root: u32) -> bool {
        pid == root || (pid == 300 && root == 100)
    }

    fn want(target: AudioTarget) -> Vec<ShareWant> {
        vec![ShareWant {
            node_name: "share".into(),
            target,
        }]
    }

    #[test]
    fn a_window_share_hears_its_process_and_children_channel_by_channel() {
        let links = graph().links(&want(AudioTarget::Process(100)), &family);
        let expected: BTreeSet<_> = [(20, 10), (21, 11), (50, 10), (50, 11)].into();
        assert_eq!(links, expected);
    }

    #[test]
    fn the_client_gives_the_process_where_the_node_does_not() {
        let links = graph().links(&want(AudioTarget::Process(200)), &family);
        let expected: BTreeSet<_> = [(30, 10), (30, 11)].into();
        assert_eq!(links, expected);
    }

    #[test]
    fn an_output_share_hears_the_default_outputs_monitor() {
        let links = graph().links(&want(AudioTarget::Desktop), &family);
        let expected: BTreeSet<_> = [(41, 10), (42, 11)].into();
        assert_eq!(links, expected);
        let mut g = graph();
        g.default_sink = None;
        assert!(g.links(&want(AudioTarget::Desktop), &family).is_empty());
    }

    #[test]
    fn nothing_links_before_the_share_node_is_there() {
        let mut g = graph();
        g.nodes.remove(&1);
        assert!(g
            .links(&want(AudioTarget::Process(100)), &family)
            .is_empty());
    }

    #[test]
    fn a_process_with_no_playback_gives_no_links() {
        assert!(graph()
            .links(&want(AudioTarget::Process(4242)), &family)
            .is_empty());
    }
}
