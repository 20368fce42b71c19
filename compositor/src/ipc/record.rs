//! IPC of recordings, the replay buffer and streams: thin glue over
//! `crate::casts::record`. Stops and saves answer once the file is closed.

use std::os::unix::net::UnixStream;

use ghost_capture::encode::{audio::AudioSource, Destination};
use serde_json::Value;

use super::{
    server::{respond, Answer},
    Reply, Request,
};
use crate::{
    casts::{record::Purpose, CastSource},
    state::Ghost,
};

impl Ghost {
    /// What a request's `output`/`window`/`region` name: a window, a region of an
    /// output, an output, or the first output when nothing is named.
    pub(super) fn capture_source(
        &self,
        output: Option<String>,
        window: Option<u64>,
        region: Option<[i32; 4]>,
    ) -> Option<CastSource> {
        match (window, region, output) {
            (Some(id), _, _) => Some(CastSource::Window(id)),
            (None, Some(region), output) => self.region_source(output.as_deref(), region),
            (None, None, Some(name)) => Some(CastSource::Output(name)),
            (None, None, None) => self
                .space
                .outputs()
                .next()
                .map(|o| CastSource::Output(o.name())),
        }
    }

    /// Carries out a recording, replay or stream request.
    pub(super) fn recording_request(&mut self, request: Request, stream: UnixStream) -> Answer {
        let cursor = self.config.capture.cursor_mode == ghost_config::CursorMode::Embedded;
        let reply = match request {
            Request::RecordStart {
                output,
                window,
                region,
                path,
                audio,
            } => {
                let sources = match audio_sources(&audio) {
                    Ok(s) => s,
                    Err(e) => return Answer::Now(Reply::error(e)),
                };
                match self.capture_source(output, window, region) {
                    Some(source) => self.start_reply(
                        Purpose::Record,
                        source,
                        Destination::File(path),
                        cursor,
                        sources,
                    ),
                    None => Reply::error("nothing to record there"),
                }
            }
            Request::StreamStart {
                url,
                output,
                window,
                region,
                audio,
            } => {
                let Some(url) = url.or_else(|| self.config.capture.stream_url.clone()) else {
                    return Answer::Now(Reply::error(
                        "no URL: give one or set [capture] stream_url",
                    ));
                };
                let sources = match audio_sources(&audio) {
                    Ok(s) => s,
                    Err(e) => return Answer::Now(Reply::error(e)),
                };
                match self.capture_source(output, window, region) {
                    Some(source) => self.start_reply(
                        Purpose::Stream,
                        source,
                        Destination::Stream(url),
                        cursor,
                        sources,
                    ),
                    None => Reply::error("nothing to stream there"),
                }
            }
            Request::RecordStop => return self.stop_reply(Purpose::Record, stream),
            Request::StreamStop => return self.stop_reply(Purpose::Stream, stream),
            Request::RecordStatus => Reply::ok(self.recordings_json(Purpose::Record)),
            Request::ReplayStatus => Reply::ok(self.recordings_json(Purpose::Replay)),
            Request::StreamStatus => Reply::ok(self.recordings_json(Purpose::Stream)),
            Request::ReplaySave { path } => {
                let mut stream = stream;
                let result = self.save_replay(path, move |result| {
                    let reply = match result {
                        Ok(v) => Reply::ok(v),
                        Err(e) => Reply::error(format!("{e:#}")),
                    };
                    respond(&mut stream, &reply);
                });
                return match result {
                    Ok(()) => Answer::Deferred,
                    Err(e) => Answer::Now(Reply::error(format!("{e:#}"))),
                };
            }
            _ => Reply::error("not a recording request"),
        };
        Answer::Now(reply)
    }

    fn start_reply(
        &mut self,
        purpose: Purpose,
        source: CastSource,
        destination: Destination,
        cursor: bool,
        audio: Vec<AudioSource>,
    ) -> Reply {
        match self.start_encoding(purpose, source, destination, cursor, audio) {
            Ok(v) => Reply::ok(v),
            Err(e) => Reply::error(format!("{e:#}")),
        }
    }

    fn stop_reply(&mut self, purpose: Purpose, mut stream: UnixStream) -> Answer {
        let stopping = self.stop_encoding(purpose, move |status: Value| {
            respond(&mut stream, &Reply::ok(status));
        });
        if stopping {
            Answer::Deferred
        } else {
            Answer::Now(Reply::error(format!("no {} is running", purpose.name())))
        }
    }
}

/// The sound sources `--audio` names, each once.
fn audio_sources(words: &[String]) -> Result<Vec<AudioSource>, String> {
    let mut sources = Vec::new();
    for word in words {
        let source = AudioSource::from_name(word)
            .ok_or_else(|| format!("unknown sound {word:?}: desktop or mic"))?;
        if !sources.contains(&source) {
            sources.push(source);
        }
    }
    Ok(sources)
}
