//! Sound with a screen share: each share gets a PipeWire audio node of its own, a
//! virtual source named after it, carrying the shared window's application audio
//! (its process's playback streams, matched through PipeWire's registry) or, for an
//! output, what the default output plays. Consumers record it like a microphone; the
//! portal hands it out with the video. A thread of its own holds the PipeWire
//! connection and links every new stream of the application as it appears.

mod graph;
mod node;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use pipewire as pw;

pub use graph::AudioTarget;
use graph::ShareWant;

/// The node name of cast `cast`'s audio.
pub fn node_name(cast: u64) -> String {
    format!("ghostnv_share_{cast}_audio")
}

/// What `msg casts` shows of a share's audio.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShareAudioStatus {
    /// The node's name (`node.name`).
    pub node_name: String,
    /// Its PipeWire id, once the daemon made it.
    pub node_id: Option<u32>,
    /// The nodes whose sound it carries now.
    pub sources: Vec<String>,
    /// Why it is not there, when PipeWire is not.
    pub problem: Option<String>,
}

enum Command {
    Add {
        cast: u64,
        want: ShareWant,
        description: String,
    },
    Remove(u64),
    Quit,
}

/// The share audio thread; dropping it removes every share's node.
pub struct ShareAudio {
    commands: pw::channel::Sender<Command>,
    statuses: Arc<Mutex<HashMap<u64, ShareAudioStatus>>>,
    quit: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl ShareAudio {
    /// Starts the thread; nodes appear once PipeWire answers.
    pub fn start() -> Result<ShareAudio, String> {
        let (commands, receiver) = pw::channel::channel();
        let statuses = Arc::new(Mutex::new(HashMap::new()));
        let quit = Arc::new(AtomicBool::new(false));
        let (s, q) = (statuses.clone(), quit.clone());
        let thread = thread::Builder::new()
            .name("ghost-share-audio".into())
            .spawn(move || node::run(receiver, s, q))
            .map_err(|e| format!("no thread for share audio: {e}"))?;
        Ok(ShareAudio {
            commands,
            statuses,
            quit,
            thread: Some(thread),
        })
    }

    /// Gives cast `cast` an audio node described as `description`, carrying `target`.
    pub fn add(&self, cast: u64, description: &str, target: AudioTarget) {
        let name = node_name(cast);
        if let Ok(mut s) = self.statuses.lock() {
            s.insert(
                cast,
                ShareAudioStatus {
                    node_name: name.clone(),
                    ..ShareAudioStatus::default()
                },
            );
        }
        let _ = self.commands.send(Command::Add {
            cast,
            want: ShareWant {
                node_name: name,
                target,
            },
            description: description.to_owned(),
        });
    }

    /// Removes cast `cast`'s node.
    pub fn remove(&self, cast: u64) {
        if let Ok(mut s) = self.statuses.lock() {
            s.remove(&cast);
        }
        let _ = self.commands.send(Command::Remove(cast));
    }

    /// Cast `cast`'s audio now.
    pub fn status(&self, cast: u64) -> Option<ShareAudioStatus> {
        self.statuses.lock().ok()?.get(&cast).cloned()
    }
}

impl Drop for ShareAudio {
    fn drop(&mut self) {
        self.quit.store(true, Ordering::Release);
        let _ = self.commands.send(Command::Quit);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
