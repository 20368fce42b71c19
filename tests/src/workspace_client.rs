//! A workspace bar as the compositor sees one (ext-workspace-v1, as waybar's
//! `ext/workspaces` and ironbar use it): the groups and their workspaces with name,
//! coordinates and state, as of the latest `done`, and the activate request.

use anyhow::Result;
use wayland_client::{
    backend::ObjectId, event_created_child, protocol::wl_output::WlOutput, Connection, Dispatch,
    Proxy, QueueHandle,
};
use wayland_protocols::ext::workspace::v1::client::{
    ext_workspace_group_handle_v1::{self, ExtWorkspaceGroupHandleV1},
    ext_workspace_handle_v1::{self, ExtWorkspaceHandleV1},
    ext_workspace_manager_v1::{self, ExtWorkspaceManagerV1},
};

use crate::client::{State, TestClient};

/// One workspace as the bar knows it.
#[derive(Debug, Clone)]
pub struct BarWorkspace {
    /// Its handle.
    pub handle: ExtWorkspaceHandleV1,
    /// The compositor's id string.
    pub id: String,
    /// Its name (ghostcomp: its number).
    pub name: String,
    /// Its coordinates in the group.
    pub coordinates: Vec<u32>,
    /// Active (1), urgent (2), hidden (4).
    pub state: u32,
    /// The group it is in.
    pub group: Option<ObjectId>,
    /// The compositor removed it.
    pub removed: bool,
}

/// One group (one output, on ghostcomp).
#[derive(Debug, Clone)]
pub struct BarGroup {
    /// Its handle.
    pub handle: ExtWorkspaceGroupHandleV1,
    /// The wl_output objects it is on.
    pub outputs: Vec<ObjectId>,
    /// The compositor removed it.
    pub removed: bool,
}

/// What a bar was told (after `workspace_bar`).
#[derive(Debug, Default)]
pub struct BarEvents {
    /// Every group announced.
    pub groups: Vec<BarGroup>,
    /// Every workspace announced.
    pub workspaces: Vec<BarWorkspace>,
    /// `done` events received.
    pub dones: usize,
}

impl BarEvents {
    /// The workspaces not removed, in each group's coordinate order, as (name, active).
    pub fn shown(&self) -> Vec<(String, bool)> {
        let mut live: Vec<&BarWorkspace> = self.workspaces.iter().filter(|w| !w.removed).collect();
        live.sort_by_key(|w| w.coordinates.clone());
        live.iter()
            .map(|w| (w.name.clone(), w.state & 1 == 1))
            .collect()
    }

    /// The workspace named `name`.
    pub fn named(&self, name: &str) -> Option<&BarWorkspace> {
        self.workspaces
            .iter()
            .find(|w| !w.removed && w.name == name)
    }
}

impl TestClient {
    /// Binds the outputs and ext_workspace_manager_v1, as a bar does; what it is told
    /// arrives in `state.bar`.
    pub fn workspace_bar(&mut self) -> Result<ExtWorkspaceManagerV1> {
        let _output: WlOutput = self.bind(1..=4, ())?;
        self.roundtrip()?;
        let manager: ExtWorkspaceManagerV1 = self.bind(1..=1, ())?;
        self.roundtrip()?;
        Ok(manager)
    }
}

impl Dispatch<ExtWorkspaceManagerV1, ()> for State {
    fn event(
        state: &mut Self,
        _: &ExtWorkspaceManagerV1,
        event: ext_workspace_manager_v1::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        use ext_workspace_manager_v1::Event;
        match event {
            Event::WorkspaceGroup { workspace_group } => state.bar.groups.push(BarGroup {
                handle: workspace_group,
                outputs: Vec::new(),
                removed: false,
            }),
            Event::Workspace { workspace } => state.bar.workspaces.push(BarWorkspace {
                handle: workspace,
                id: String::new(),
                name: String::new(),
                coordinates: Vec::new(),
                state: 0,
                group: None,
                removed: false,
            }),
            Event::Done => state.bar.dones += 1,
            _ => {}
        }
    }

    event_created_child!(State, ExtWorkspaceManagerV1, [
        ext_workspace_manager_v1::EVT_WORKSPACE_GROUP_OPCODE => (ExtWorkspaceGroupHandleV1, ()),
        ext_workspace_manager_v1::EVT_WORKSPACE_OPCODE => (ExtWorkspaceHandleV1, ()),
    ]);
}

impl Dispatch<ExtWorkspaceGroupHandleV1, ()> for State {
    fn event(
        state: &mut Self,
        handle: &ExtWorkspaceGroupHandleV1,
        event: ext_workspace_group_handle_v1::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        use ext_workspace_group_handle_v1::Event;
        match event {
            Event::WorkspaceEnter { workspace } => {
                if let Some(w) = state
                    .bar
                    .workspaces
                    .iter_mut()
                    .find(|w| w.handle == workspace)
                {
                    w.group = Some(handle.id());
                }
            }
            Event::WorkspaceLeave { workspace } => {
                if let Some(w) = state
                    .bar
                    .workspaces
                    .iter_mut()
                    .find(|w| w.handle == workspace)
                {
                    w.group = None;
                }
            }
            Event::OutputEnter { output } => {
                if let Some(g) = state.bar.groups.iter_mut().find(|g| g.handle == *handle) {
                    g.outputs.push(output.id());
                }
            }
            Event::Removed => {
                if let Some(g) = state.bar.groups.iter_mut().find(|g| g.handle == *handle) {
                    g.removed = true;
                }
            }
            _ => {}
        }
    }
}

impl Dispatch<ExtWorkspaceHandleV1, ()> for State {
    fn event(
        state: &mut Self,
        handle: &ExtWorkspaceHandleV1,
        event: ext_workspace_handle_v1::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        use ext_workspace_handle_v1::Event;
        let Some(w) = state
            .bar
            .workspaces
            .iter_mut()
            .find(|w| w.handle == *handle)
        else {
            return;
        };
        match event {
            Event::Id { id } => w.id = id,
            Event::Name { name } => w.name = name,
            Event::Coordinates { coordinates } => {
                w.coordinates = coordinates
                    .chunks_exact(4)
                    .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
            }
            Event::State { state } => {
                w.state = match state {
                    wayland_client::WEnum::Value(s) => s.bits(),
                    wayland_client::WEnum::Unknown(u) => u,
                }
            }
            Event::Removed => w.removed = true,
            _ => {}
        }
    }
}
