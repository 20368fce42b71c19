//! Sound with a cast (`ghost_capture::audio::share_audio`): a window's cast carries its
//! application's audio, found by the process id of the window's Wayland client; an
//! output's or region's cast carries what the default output plays.

use ghost_capture::audio::share_audio::{AudioTarget, ShareAudio};
use serde_json::{json, Value};
use smithay::desktop::Window;
use smithay::reexports::wayland_server::Resource;

use crate::state::Ghost;

impl Ghost {
    /// Gives cast `id` its audio node (the PipeWire thread starts with the first).
    pub(super) fn cast_audio_start(&mut self, id: u64, window: Option<&Window>, name: &str) {
        let target = match window {
            None => AudioTarget::Desktop,
            Some(window) => {
                // An X11 window's process is the one its _NET_WM_PID names (the
                // Wayland client behind it is Xwayland).
                let pid = match window.x11_surface() {
                    Some(x11) => x11.pid(),
                    None => window
                        .toplevel()
                        .and_then(|t| t.wl_surface().client())
                        .and_then(|c| c.get_credentials(&self.display_handle).ok())
                        .and_then(|c| u32::try_from(c.pid).ok()),
                };
                match pid {
                    Some(pid) => AudioTarget::Process(pid),
                    None => {
                        tracing::debug!(id, "cast audio: the window's process is unknown");
                        return;
                    }
                }
            }
        };
        if self.casts.audio.is_none() {
            match ShareAudio::start() {
                Ok(audio) => self.casts.audio = Some(audio),
                Err(e) => {
                    tracing::warn!(%e, "cast audio: not started");
                    return;
                }
            }
        }
        if let Some(audio) = &self.casts.audio {
            audio.add(id, &format!("{name} (audio)"), target);
        }
    }

    /// Removes cast `id`'s audio; the thread ends with the last cast.
    pub(super) fn cast_audio_stop(&mut self, id: u64) {
        if let Some(audio) = &self.casts.audio {
            audio.remove(id);
        }
        if self.casts.casts.is_empty() {
            self.casts.audio = None;
        }
    }

    /// Cast `id`'s audio as `msg casts` shows it.
    pub(super) fn cast_audio_json(&self, id: u64) -> Value {
        match self.casts.audio.as_ref().and_then(|a| a.status(id)) {
            Some(s) => json!({
                "node_name": s.node_name,
                "node_id": s.node_id,
                "sources": s.sources,
                "problem": s.problem,
            }),
            None => Value::Null,
        }
    }
}
