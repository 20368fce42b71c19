//! Consent for screen sharing: which output or window a portal request gets.
//!
//! A request names what it accepts (monitors, windows) and may carry what the user
//! chose last time (restore data). It is answered at once when that still exists, or
//! when `[capture] unattended` says so; otherwise the user is asked: a prompt on every
//! output, then a click on a window shares that window, a click on the desktop shares
//! that output, Return shares the output under the pointer (or the focused window) and
//! Escape refuses. `ghostcomp msg cast-pick` answers from a script. Requests wait their
//! turn, one prompt at a time.

use std::{collections::VecDeque, os::unix::net::UnixStream, time::Instant};

use ghost_config::Unattended;
use serde_json::json;
use smithay::{
    desktop::Window,
    utils::{Logical, Point},
};

use super::CastSource;
use crate::{
    ipc::{server::respond, Reply},
    shell::{title_and_app_id, window_data},
    state::Ghost,
};

/// Monitors may be chosen.
pub const MONITOR: u32 = 1;
/// Windows may be chosen.
pub const WINDOW: u32 = 2;

/// A request waiting for the user.
struct Pending {
    app_id: String,
    types: u32,
    question: Option<String>,
    reply: UnixStream,
    since: Instant,
}

/// Requests waiting for the user, the first one prompted.
#[derive(Default)]
pub struct Picks {
    pending: VecDeque<Pending>,
}

impl Picks {
    /// Whether the user is being asked (input goes to the prompt).
    pub fn asking(&self) -> bool {
        !self.pending.is_empty()
    }
}

/// What the user chose and how to find it again next time.
fn chosen(source: &CastSource, state: &Ghost) -> serde_json::Value {
    let (source_json, restore) = match source {
        CastSource::Output(name) => (json!({"output": name}), format!("output:{name}")),
        CastSource::Window(id) => {
            let app_id = state
                .window_by_id(*id)
                .and_then(|w| w.toplevel().map(|t| title_and_app_id(t.wl_surface()).1))
                .unwrap_or_default();
            (json!({"window": id}), format!("window:{app_id}"))
        }
    };
    json!({"source": source_json, "restore": restore})
}

impl Ghost {
    /// What restore data from an earlier choice names now, if it still exists.
    fn restored(&self, restore: &str, types: u32) -> Option<CastSource> {
        if let Some(name) = restore.strip_prefix("output:") {
            let exists = self.space.outputs().any(|o| o.name() == name);
            return (types & MONITOR != 0 && exists).then(|| CastSource::Output(name.into()));
        }
        let app_id = restore.strip_prefix("window:")?;
        if types & WINDOW == 0 || app_id.is_empty() {
            return None;
        }
        self.space
            .elements()
            .find(|w| {
                w.toplevel()
                    .is_some_and(|t| title_and_app_id(t.wl_surface()).1 == app_id)
            })
            .map(|w| CastSource::Window(window_data(w).id))
    }

    /// The obvious choice: the output under the pointer for monitor requests, else the
    /// focused window.
    fn obvious_choice(&self, types: u32) -> Option<CastSource> {
        if types & MONITOR != 0 {
            return self.active_output().map(|o| CastSource::Output(o.name()));
        }
        if types & WINDOW != 0 {
            return self
                .focused_window()
                .map(|w| CastSource::Window(window_data(&w).id));
        }
        None
    }

    /// Takes a screen-share request: answers it now (restore data, unattended policy)
    /// or queues it for the user. Returns the immediate reply, if any.
    pub fn choose_cast(
        &mut self,
        app_id: String,
        types: u32,
        restore: Option<String>,
        question: Option<String>,
        reply: UnixStream,
    ) -> Option<Reply> {
        let types = if types & (MONITOR | WINDOW) == 0 {
            MONITOR
        } else {
            types
        };
        if let Some(source) = restore.as_deref().and_then(|r| self.restored(r, types)) {
            tracing::info!(app_id, ?source, "screen share restored");
            return Some(Reply::ok(chosen(&source, self)));
        }
        match self.config.capture.unattended {
            Unattended::Grant => {
                return Some(match self.obvious_choice(types) {
                    Some(source) => {
                        tracing::info!(app_id, ?source, "screen share granted (unattended)");
                        Reply::ok(chosen(&source, self))
                    }
                    None => Reply::error("nothing to share"),
                });
            }
            Unattended::Deny => return Some(Reply::error("cancelled: screen sharing is denied")),
            Unattended::Off => {}
        }
        self.picks.pending.push_back(Pending {
            app_id,
            types,
            question,
            reply,
            since: Instant::now(),
        });
        if self.picks.pending.len() == 1 {
            self.prompt_pick();
        }
        None
    }

    fn prompt_pick(&mut self) {
        let Some(p) = self.picks.pending.front() else {
            self.set_notification(None);
            return;
        };
        let what = match (p.types & MONITOR != 0, p.types & WINDOW != 0) {
            (true, true) => "Click a window or the desktop of a screen to share it.",
            (false, true) => "Click the window to share.",
            _ => "Click the screen to share.",
        };
        let app = if p.app_id.is_empty() {
            "An application".to_string()
        } else {
            p.app_id.clone()
        };
        let text = match &p.question {
            Some(question) => format!("{app}: {question}\nReturn or a click: allow · Escape: refuse"),
            None => format!(
                "{app} wants to share your screen.\n{what}\nReturn: share what is under the pointer · Escape: refuse"
            ),
        };
        self.set_notification(Some(text));
    }

    /// Answers the prompted request with `source` (None refuses).
    pub fn answer_pick(&mut self, source: Option<CastSource>) -> bool {
        let Some(mut p) = self.picks.pending.pop_front() else {
            return false;
        };
        let reply = match &source {
            Some(source) => {
                tracing::info!(app_id = p.app_id, ?source, waited = ?p.since.elapsed(), "screen share chosen");
                Reply::ok(chosen(source, self))
            }
            None => Reply::error("cancelled by the user"),
        };
        respond(&mut p.reply, &reply);
        self.prompt_pick();
        true
    }

    /// A click while the user is asked: what is under the pointer, if the request
    /// accepts it. Returns whether the click was taken by the prompt.
    pub fn pick_at(&mut self, pos: Point<f64, Logical>) -> bool {
        let Some(types) = self.picks.pending.front().map(|p| p.types) else {
            return false;
        };
        let window: Option<Window> = self.space.element_under(pos).map(|(w, _)| w.clone());
        let source = match window {
            Some(w) if types & WINDOW != 0 => Some(CastSource::Window(window_data(&w).id)),
            _ if types & MONITOR != 0 => self
                .space
                .output_under(pos)
                .next()
                .map(|o| CastSource::Output(o.name())),
            _ => None,
        };
        if let Some(source) = source {
            self.answer_pick(Some(source));
        }
        true
    }

    /// Return or Escape while the user is asked. Returns whether the key was taken.
    pub fn pick_key(&mut self, confirm: bool) -> bool {
        let Some(types) = self.picks.pending.front().map(|p| p.types) else {
            return false;
        };
        if confirm {
            let source = self.obvious_choice(types);
            if source.is_some() {
                self.answer_pick(source);
            }
        } else {
            self.answer_pick(None);
        }
        true
    }
}
