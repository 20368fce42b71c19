//! What the clean mic holds in PipeWire: the source node (a filter, see `filter.rs`),
//! the link from the microphone into it, and the echo reference (a capture stream of
//! the default output's monitor, made again on a new default output's).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use pipewire as pw;
use tracing::info;

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
            Err(e) => tracing::warn!(%e, "clean mic: no echo reference"),
        }
    }
}

/// Keeps the microphone linked into the source node: node ids by name from the
/// registry, and a link made whenever both are there and none is.
#[derive(Default)]
pub(super) struct Wiring {
    nodes: HashMap<String, u32>,
    /// The microphone's node name, once chosen.
    pub(super) microphone: Option<String>,
    link: Option<pw::link::Link>,
}

impl Wiring {
    /// A node appeared.
    pub(super) fn added(&mut self, core: &pw::core::Core, name: &str, id: u32) {
        self.nodes.insert(name.to_owned(), id);
        self.relink(core);
    }

    /// A global went away: a link to or from it went with it.
    pub(super) fn removed(&mut self, id: u32) {
        let before = self.nodes.len();
        self.nodes.retain(|_, v| *v != id);
        if self.nodes.len() != before {
            self.link = None;
        }
    }

    /// Links the microphone into the source where both exist and no link does.
    pub(super) fn relink(&mut self, core: &pw::core::Core) {
        if self.link.is_some() {
            return;
        }
        let Some(mic) = self.microphone.as_ref().and_then(|m| self.nodes.get(m)) else {
            return;
        };
        let Some(ours) = self.nodes.get(NODE_NAME) else {
            return;
        };
        let props = pw::properties::properties! {
            "link.output.node" => mic.to_string(),
            "link.input.node" => ours.to_string(),
            "object.linger" => "false",
        };
        match core.create_object::<pw::link::Link>("link-factory", &props) {
            Ok(link) => {
                info!(microphone = ?self.microphone, "clean mic: microphone linked");
                self.link = Some(link);
            }
            Err(e) => tracing::warn!(%e, "clean mic: the microphone could not be linked"),
        }
    }
}
