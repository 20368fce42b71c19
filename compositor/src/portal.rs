//! `ghostcomp portal`: the xdg-desktop-portal backend process (see
//! `ghost_capture::portal` for why it is a process of its own). It serves the D-Bus
//! interfaces and asks the running compositor through its IPC socket.

use std::{path::PathBuf, sync::Arc, time::Duration};

use ghost_capture::portal::{Choice, Desktop, RemoteInput, Source, Stream};
use serde_json::Value;

use crate::ipc::{client, Reply, Request};

/// How long a person may take to choose what to share.
const CHOICE_PATIENCE: Duration = Duration::from_secs(300);

/// The compositor, reached through its IPC socket.
struct IpcDesktop {
    socket: PathBuf,
}

impl IpcDesktop {
    fn ask(&self, request: &Request, patience: Duration) -> Result<Value, String> {
        let reply: Reply = client::send_waiting(&self.socket, request, patience)
            .map_err(|e| format!("the compositor did not answer: {e:#}"))?;
        match reply.ok {
            true => Ok(reply.result),
            false => Err(reply.error.unwrap_or_else(|| "refused".into())),
        }
    }

    /// Cast `id`'s audio node once PipeWire made it (a second at most: a share
    /// without sound starts all the same).
    fn audio_node(&self, id: u64) -> Option<u32> {
        for _ in 0..20 {
            let casts = self.ask(&Request::Casts, Duration::from_secs(2)).ok()?;
            let cast = casts.as_array()?.iter().find(|c| c["id"] == id)?;
            if cast["audio"].is_null() {
                return None;
            }
            if let Some(node) = cast["audio"]["node_id"].as_u64() {
                return u32::try_from(node).ok();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

fn source_of(value: &Value) -> Option<Source> {
    if let Some(region) = value.get("region") {
        let area: [i32; 4] = serde_json::from_value(region.clone()).ok()?;
        let output = value["output"].as_str()?.to_string();
        return Some(Source::Region { output, area });
    }
    if let Some(name) = value["output"].as_str() {
        return Some(Source::Output(name.to_string()));
    }
    value["window"].as_u64().map(Source::Window)
}

impl Desktop for IpcDesktop {
    fn choose(
        &self,
        app_id: &str,
        types: u32,
        restore: Option<&str>,
        control: u32,
    ) -> Result<Option<Choice>, String> {
        let request = Request::CastChoose {
            app_id: app_id.to_string(),
            types,
            restore: restore.map(str::to_string),
            question: None,
            control,
        };
        match self.ask(&request, CHOICE_PATIENCE) {
            Ok(answer) => {
                let source = source_of(&answer["source"]).ok_or("a malformed choice")?;
                let restore = answer["restore"].as_str().unwrap_or_default().to_string();
                Ok(Some(Choice { source, restore }))
            }
            Err(e) if e.starts_with("cancelled") => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn start_cast(&self, source: &Source, cursor: &str, app_id: &str) -> Result<Stream, String> {
        let (output, window, region) = match source {
            Source::Output(name) => (Some(name.clone()), None, None),
            Source::Window(id) => (None, Some(*id), None),
            Source::Region { output, area } => (Some(output.clone()), None, Some(*area)),
        };
        let cursor =
            serde_json::from_value(Value::String(cursor.to_string())).map_err(|e| e.to_string())?;
        let answer = self.ask(
            &Request::CastStart {
                output,
                window,
                region,
                cursor: Some(cursor),
                requester: Some(app_id.to_string()),
                portal: true,
            },
            Duration::from_secs(10),
        )?;
        let number = |k: &str| {
            answer[k]
                .as_u64()
                .ok_or_else(|| format!("no {k} in {answer}"))
        };
        let id = number("id")?;
        Ok(Stream {
            id,
            node_id: number("node_id")? as u32,
            width: number("width")? as u32,
            height: number("height")? as u32,
            audio_node_id: self.audio_node(id),
        })
    }

    fn stop_cast(&self, id: u64) {
        if let Err(e) = self.ask(&Request::CastStop { id }, Duration::from_secs(5)) {
            tracing::debug!(id, "stopping a cast: {e}");
        }
    }

    fn confirm(&self, app_id: &str, question: &str, control: u32) -> Result<bool, String> {
        let request = Request::CastChoose {
            app_id: app_id.to_string(),
            types: 1,
            restore: None,
            question: Some(question.to_string()),
            control,
        };
        match self.ask(&request, CHOICE_PATIENCE) {
            Ok(_) => Ok(true),
            Err(e) if e.starts_with("cancelled") => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn start_remote(&self, app_id: &str, devices: u32) -> Result<u64, String> {
        let request = Request::RemoteStart {
            app_id: app_id.to_string(),
            devices,
        };
        let answer = self.ask(&request, Duration::from_secs(5))?;
        answer["id"]
            .as_u64()
            .ok_or_else(|| format!("no id in {answer}"))
    }

    fn remote_input(&self, id: u64, event: &RemoteInput) -> Result<(), String> {
        let request = Request::RemoteInput {
            id,
            event: event.clone(),
        };
        self.ask(&request, Duration::from_secs(2)).map(|_| ())
    }

    fn stop_remote(&self, id: u64) {
        if let Err(e) = self.ask(&Request::RemoteStop { id }, Duration::from_secs(5)) {
            tracing::debug!(id, "ending a remote control: {e}");
        }
    }

    fn remotes(&self) -> Result<Vec<u64>, String> {
        let answer = self.ask(&Request::Remotes, Duration::from_secs(5))?;
        Ok(answer
            .as_array()
            .map(|all| all.iter().filter_map(|r| r["id"].as_u64()).collect())
            .unwrap_or_default())
    }

    fn connect_eis(&self, id: u64) -> Result<std::os::fd::OwnedFd, String> {
        use std::io::Write;
        let answer = self.ask(&Request::RemoteEis { id }, Duration::from_secs(5))?;
        let (Some(socket), Some(token)) = (answer["socket"].as_str(), answer["token"].as_str())
        else {
            return Err(format!("no socket and token in {answer}"));
        };
        let mut stream = std::os::unix::net::UnixStream::connect(socket)
            .map_err(|e| format!("cannot reach the EIS socket {socket}: {e}"))?;
        stream
            .write_all(format!("{token}\n").as_bytes())
            .map_err(|e| format!("EIS socket: {e}"))?;
        Ok(stream.into())
    }

    fn screenshot(&self, output: &str, path: &std::path::Path) -> Result<(), String> {
        self.ask(
            &Request::Screenshot {
                output: Some(output.to_string()),
                region: None,
                path: path.to_path_buf(),
                hdr: false,
                writeback: false,
            },
            Duration::from_secs(10),
        )
        .map(|_| ())
    }
}

/// Serves the portal until the compositor goes away.
pub fn run() -> anyhow::Result<()> {
    let socket = client::find_socket()?;
    anyhow::ensure!(
        socket.exists(),
        "no compositor listens at {}",
        socket.display()
    );
    // Held open while this process lives: when it dies, however it dies, the
    // compositor ends the streams it started.
    let mut lease = std::os::unix::net::UnixStream::connect(&socket)?;
    {
        use std::io::Write;
        let mut line = serde_json::to_string(&Request::PortalLease)?;
        line.push('\n');
        lease.write_all(line.as_bytes())?;
    }
    let watched = socket.clone();
    ghost_capture::portal::serve(Arc::new(IpcDesktop { socket }), move || watched.exists())?;
    drop(lease);
    tracing::info!("the compositor is gone: portal backend exits");
    Ok(())
}
