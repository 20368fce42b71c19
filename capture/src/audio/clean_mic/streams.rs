//! What the clean mic holds in PipeWire: the source node (a filter, see `filter.rs`),
//! the link from the microphone into it, and the echo reference (a capture stream of
//! the default output's monitor, made again on a new default output's).

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use pipewire as pw;
use pw::proxy::ProxyT;
use tracing::{info, warn};

use super::filter::SourceFilter;
use super::processing::Processing;
use super::NODE_NAME;
use crate::encode::audio::{connect_capture, float_samples, libspa_sys_position};

/// The source node and the reference stream.
pub(super) struct Streams {
    _source: SourceFilter,
    reference: Option<(pw::stream::Stream, pw::stream::StreamListener<()>)>,
}

/// A capture stream of `sink`'s monitor (the default output's when `None`) feeding the
/// chain's echo reference.
fn reference_stream(
    core: &pw::core::Core,
    processing: &Arc<Mutex<Processing>>,
    quantum: &str,
    sink: Option<&str>,
) -> Result<(pw::stream::Stream, pw::stream::StreamListener<()>), String> {
    let err = |e: pw::Error| format!("PipeWire stream: {e}");
    let mut props = pw::properties::properties! {
        *pw::keys::MEDIA_TYPE => "Audio",
        *pw::keys::MEDIA_CATEGORY => "Capture",
        *pw::keys::NODE_NAME => "ghostnv_clean_mic_reference",
        *pw::keys::NODE_DESCRIPTION => "GhostNV clean mic (echo reference)",
        *pw::keys::NODE_LATENCY => quantum,
        *pw::keys::STREAM_CAPTURE_SINK => "true",
        "node.passive" => "true",
    };
    if let Some(sink) = sink {
        props.insert("target.object", sink);
    }
    let stream =
        pw::stream::Stream::new(core, "GhostNV clean mic reference", props).map_err(err)?;
    let p = processing.clone();
    let listener = stream
        .add_local_listener::<()>()
        .process(move |stream, _| {
            if let (Some(samples), Ok(mut p)) = (float_samples(stream), p.lock()) {
                p.chain.push_reference(&samples);
            }
        })
        .register()
        .map_err(err)?;
    connect_capture(&stream, &[libspa_sys_position::MONO])?;
    Ok((stream, listener))
}

impl Streams {
    pub(super) fn connect(
        core: &pw::core::Core,
        processing: &Arc<Mutex<Processing>>,
        quantum: &str,
        echo: bool,
        output: Option<&str>,
    ) -> Result<Streams, String> {
        let source = SourceFilter::new(core, processing.clone(), quantum)?;
        let reference = match echo {
            true => Some(reference_stream(core, processing, quantum, output)?),
            false => None,
        };
        Ok(Streams {
            _source: source,
            reference,
        })
    }

    /// The default output changed: the reference moves to its monitor (the aligner
    /// bridges the few milliseconds between the two streams with silence).
    pub(super) fn follow_output(
        &mut self,
        core: &pw::core::Core,
        processing: &Arc<Mutex<Processing>>,
        quantum: &str,
        output: &str,
    ) {
        if self.reference.take().is_none() {
            return;
        }
        match reference_stream(core, processing, quantum, Some(output)) {
            Ok(stream) => {
                info!(
                    output,
                    "clean mic: echo reference follows the default output"
                );
                self.reference = Some(stream);
            }
            Err(e) => warn!(%e, "clean mic: no echo reference"),
        }
    }
}

/// Keeps the microphone linked into the source node: node ids by name and their ports
/// from the registry, and a link made whenever the microphone has an output port, the
/// source an input port, and no link is there. A node's ports come after the node, and
/// a link asked for before them fails, so the ports are what starts a link.
#[derive(Default)]
pub(super) struct Wiring {
    nodes: HashMap<String, u32>,
    /// Ports by global id: their node's id and whether they are outputs.
    ports: HashMap<u32, (u32, bool)>,
    /// The microphone's node name, once chosen.
    pub(super) microphone: Option<String>,
    link: Option<MicLink>,
}

/// A link asked for, with the listener that hears PipeWire refuse it.
struct MicLink {
    _link: pw::link::Link,
    _listener: pw::proxy::ProxyListener,
    refused: Rc<Cell<bool>>,
}

impl Wiring {
    /// A node appeared.
    pub(super) fn added(&mut self, core: &pw::core::Core, name: &str, id: u32) {
        self.nodes.insert(name.to_owned(), id);
        self.relink(core);
    }

    /// A port appeared on node `node`.
    pub(super) fn port_added(&mut self, core: &pw::core::Core, id: u32, node: u32, output: bool) {
        self.ports.insert(id, (node, output));
        self.relink(core);
    }

    /// A global went away; when it was the microphone or the source, the link went
    /// with it.
    pub(super) fn removed(&mut self, id: u32) {
        self.ports.remove(&id);
        let ends = [self.mic_node(), self.nodes.get(NODE_NAME).copied()];
        if ends.contains(&Some(id)) {
            self.link = None;
        }
        self.nodes.retain(|_, v| *v != id);
    }

    fn mic_node(&self) -> Option<u32> {
        self.microphone
            .as_ref()
            .and_then(|m| self.nodes.get(m))
            .copied()
    }

    fn has_port(&self, node: u32, output: bool) -> bool {
        self.ports.values().any(|p| *p == (node, output))
    }

    /// Links the microphone into the source where both have their ports and no link
    /// is (or the last one was refused).
    pub(super) fn relink(&mut self, core: &pw::core::Core) {
        if self.link.as_ref().is_some_and(|l| !l.refused.get()) {
            return;
        }
        let (Some(mic), Some(ours)) = (self.mic_node(), self.nodes.get(NODE_NAME).copied()) else {
            return;
        };
        if !self.has_port(mic, true) || !self.has_port(ours, false) {
            return;
        }
        self.link = None;
        let props = pw::properties::properties! {
            "link.output.node" => mic.to_string(),
            "link.input.node" => ours.to_string(),
            "object.linger" => "false",
        };
        match core.create_object::<pw::link::Link>("link-factory", &props) {
            Ok(link) => {
                info!(microphone = ?self.microphone, "clean mic: microphone linked");
                let refused = Rc::new(Cell::new(false));
                let flag = refused.clone();
                let listener = link
                    .upcast_ref()
                    .add_listener_local()
                    .error(move |_seq, res, message| {
                        warn!(res, message, "clean mic: the microphone link was refused");
                        flag.set(true);
                    })
                    .register();
                self.link = Some(MicLink {
                    _link: link,
                    _listener: listener,
                    refused,
                });
            }
            Err(e) => warn!(%e, "clean mic: the microphone could not be linked"),
        }
    }
}
