//! A taskbar as the compositor sees one (wlr-foreign-toplevel-management, as waybar's
//! `wlr/taskbar` uses it): the windows with their titles, app ids and states, and the
//! requests a taskbar sends.

use anyhow::Result;
use wayland_client::{event_created_child, Connection, Dispatch, Proxy, QueueHandle};
use wayland_protocols_wlr::foreign_toplevel::v1::client::{
    zwlr_foreign_toplevel_handle_v1::{self, ZwlrForeignToplevelHandleV1},
    zwlr_foreign_toplevel_manager_v1::{self, ZwlrForeignToplevelManagerV1},
};

use crate::client::{State, TestClient};

/// One window as the taskbar knows it (after its latest `done`).
#[derive(Debug, Clone, Default)]
pub struct TaskbarEntry {
    /// Its handle.
    pub handle: Option<ZwlrForeignToplevelHandleV1>,
    /// Title, app id and states (the protocol's numbers), as of the latest `done`.
    pub title: String,
    /// The app id.
    pub app_id: String,
    /// maximized 0, minimized 1, activated 2, fullscreen 3.
    pub states: Vec<u32>,
    /// `done` events received.
    pub dones: usize,
    /// The compositor said it is gone.
    pub closed: bool,
    pending: (Option<String>, Option<String>, Option<Vec<u32>>),
}

impl TaskbarEntry {
    /// Whether the window is in state `state`.
    pub fn is(&self, state: u32) -> bool {
        self.states.contains(&state)
    }
}

impl TestClient {
    /// Binds the manager; entries arrive in `state.taskbar`.
    pub fn taskbar(&mut self) -> Result<ZwlrForeignToplevelManagerV1> {
        let manager: ZwlrForeignToplevelManagerV1 = self.bind(1..=3, ())?;
        self.roundtrip()?;
        Ok(manager)
    }

    /// The entry of the window titled `title`.
    pub fn taskbar_entry(&self, title: &str) -> Option<&TaskbarEntry> {
        self.state
            .taskbar
            .iter()
            .find(|e| e.title == title && !e.closed)
    }
}

impl Dispatch<ZwlrForeignToplevelManagerV1, ()> for State {
    fn event(
        state: &mut Self,
        _: &ZwlrForeignToplevelManagerV1,
        event: zwlr_foreign_toplevel_manager_v1::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        if let zwlr_foreign_toplevel_manager_v1::Event::Toplevel { toplevel } = event {
            state.taskbar.push(TaskbarEntry {
                handle: Some(toplevel),
                ..Default::default()
            });
        }
    }

    event_created_child!(State, ZwlrForeignToplevelManagerV1, [
        zwlr_foreign_toplevel_manager_v1::EVT_TOPLEVEL_OPCODE => (ZwlrForeignToplevelHandleV1, ()),
    ]);
}

impl Dispatch<ZwlrForeignToplevelHandleV1, ()> for State {
    fn event(
        state: &mut Self,
        handle: &ZwlrForeignToplevelHandleV1,
        event: zwlr_foreign_toplevel_handle_v1::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        use zwlr_foreign_toplevel_handle_v1::Event;
        let Some(entry) = state
            .taskbar
            .iter_mut()
            .find(|e| e.handle.as_ref().map(Proxy::id) == Some(handle.id()))
        else {
            return;
        };
        match event {
            Event::Title { title } => entry.pending.0 = Some(title),
            Event::AppId { app_id } => entry.pending.1 = Some(app_id),
            Event::State { state } => {
                entry.pending.2 = Some(
                    state
                        .chunks_exact(4)
                        .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
                        .collect(),
                )
            }
            Event::Done => {
                let (title, app_id, states) = std::mem::take(&mut entry.pending);
                if let Some(t) = title {
                    entry.title = t;
                }
                if let Some(a) = app_id {
                    entry.app_id = a;
                }
                if let Some(s) = states {
                    entry.states = s;
                }
                entry.dones += 1;
            }
            Event::Closed => entry.closed = true,
            _ => {}
        }
    }
}
