//! ext-workspace-v1: what bars (waybar's `ext/workspaces`, ironbar, sfwbar) use to show
//! the workspaces and to switch between them. One group per output, one handle per
//! workspace; a workspace can be activated, the rest of the protocol's requests are
//! not offered (workspaces come and go as they are used). Privileged: sandboxed
//! clients do not see it.
//!
//! After every dispatch each manager is compared with the workspaces and told only
//! what changed, followed by `done`.

use smithay::reexports::{
    wayland_protocols::ext::workspace::v1::server::{
        ext_workspace_group_handle_v1::{self, ExtWorkspaceGroupHandleV1},
        ext_workspace_handle_v1::{self, ExtWorkspaceHandleV1},
        ext_workspace_manager_v1::{self, ExtWorkspaceManagerV1},
    },
    wayland_server::{
        backend::{ClientId, ObjectId},
        Client, DataInit, Dispatch, DisplayHandle, GlobalDispatch, New, Resource,
    },
};

use crate::state::Ghost;

/// A workspace as a manager was last told of it.
#[derive(Debug, Clone, PartialEq)]
struct Told {
    number: usize,
    active: bool,
    group: String,
}

#[derive(Debug)]
struct GroupHandle {
    output: String,
    resource: ExtWorkspaceGroupHandleV1,
    /// The client's wl_output objects it was told the group is on.
    outputs: Vec<ObjectId>,
}

#[derive(Debug)]
struct WorkspaceHandle {
    id: u64,
    resource: ExtWorkspaceHandleV1,
    told: Option<Told>,
}

#[derive(Debug)]
struct Manager {
    resource: ExtWorkspaceManagerV1,
    groups: Vec<GroupHandle>,
    workspaces: Vec<WorkspaceHandle>,
    /// Workspaces asked to be shown, carried out at `commit`.
    pending: Vec<u64>,
    stopped: bool,
}

/// The global and every bound manager.
#[derive(Debug, Default)]
pub struct ExtWorkspaces {
    managers: Vec<Manager>,
}

/// Which clients may bind the global.
pub struct GlobalData {
    filter: Box<dyn Fn(&Client) -> bool + Send + Sync>,
}

/// What a workspace handle stands for: the workspace and the manager it came from.
#[derive(Debug)]
pub struct WorkspaceData {
    id: u64,
    manager: ObjectId,
}

impl ExtWorkspaces {
    /// Creates the global, visible to clients `filter` allows.
    pub fn new(
        dh: &DisplayHandle,
        filter: impl Fn(&Client) -> bool + Send + Sync + 'static,
    ) -> Self {
        dh.create_global::<Ghost, ExtWorkspaceManagerV1, _>(
            1,
            GlobalData {
                filter: Box::new(filter),
            },
        );
        Self::default()
    }
}

/// Each workspace now: id and how a manager should know it.
type Snapshot = Vec<(u64, Told)>;

impl Ghost {
    /// Brings every manager up to date (after each dispatch and each switch).
    pub fn ext_workspaces_refresh(&mut self) {
        if self.ext_workspaces.managers.is_empty() {
            return;
        }
        let live_outputs = self.workspaces.output_names();
        let mut now: Snapshot = Vec::new();
        for set in self.workspaces.outputs() {
            if !live_outputs.contains(&set.output) {
                continue;
            }
            for (i, ws) in set.workspaces.iter().enumerate() {
                now.push((
                    ws.id,
                    Told {
                        number: i + 1,
                        active: i == set.active,
                        group: set.output.clone(),
                    },
                ));
            }
        }
        let outputs: Vec<smithay::output::Output> = self.space.outputs().cloned().collect();
        let dh = self.display_handle.clone();
        let managers = &mut self.ext_workspaces.managers;
        managers.retain(|m| m.resource.is_alive());
        for manager in managers.iter_mut().filter(|m| !m.stopped) {
            update_manager(&dh, manager, &live_outputs, &outputs, &now);
        }
    }
}

/// Sends `manager` what changed since it was last told.
fn update_manager(
    dh: &DisplayHandle,
    manager: &mut Manager,
    groups_now: &[String],
    outputs: &[smithay::output::Output],
    now: &Snapshot,
) {
    let Some(client) = manager.resource.client() else {
        return;
    };
    let mut changed = false;
    let group_of = |groups: &[GroupHandle], name: &str| {
        groups
            .iter()
            .find(|g| g.output == name)
            .map(|g| g.resource.clone())
    };
    // Workspaces that went, or moved to another group: they leave their group first.
    manager.workspaces.retain_mut(|ws| {
        let still = now.iter().find(|(id, _)| *id == ws.id).map(|(_, t)| t);
        if let Some(told) = ws.told.as_mut() {
            if still.is_none_or(|s| s.group != told.group) {
                if let Some(group) = group_of(&manager.groups, &told.group) {
                    group.workspace_leave(&ws.resource);
                }
                // Entered again below, into its new group.
                told.group = String::new();
                changed = true;
            }
        }
        if still.is_none() {
            ws.resource.removed();
            changed = true;
            return false;
        }
        true
    });
    // Groups whose output went.
    manager.groups.retain(|g| {
        if groups_now.contains(&g.output) {
            return true;
        }
        g.resource.removed();
        changed = true;
        false
    });
    // New groups, and the outputs each is on.
    for name in groups_now {
        if manager.groups.iter().any(|g| &g.output == name) {
            continue;
        }
        let Ok(resource) = client.create_resource::<ExtWorkspaceGroupHandleV1, _, Ghost>(
            dh,
            manager.resource.version(),
            name.clone(),
        ) else {
            continue;
        };
        manager.resource.workspace_group(&resource);
        resource.capabilities(ext_workspace_group_handle_v1::GroupCapabilities::empty());
        manager.groups.push(GroupHandle {
            output: name.clone(),
            resource,
            outputs: Vec::new(),
        });
        changed = true;
    }
    for group in &mut manager.groups {
        let Some(output) = outputs.iter().find(|o| o.name() == group.output) else {
            continue;
        };
        for wl in output.client_outputs(&client) {
            if !group.outputs.contains(&wl.id()) {
                group.resource.output_enter(&wl);
                group.outputs.push(wl.id());
                changed = true;
            }
        }
    }
    // New workspaces, and what changed of each.
    for (id, told) in now {
        let index = match manager.workspaces.iter().position(|w| w.id == *id) {
            Some(index) => index,
            None => {
                let data = WorkspaceData {
                    id: *id,
                    manager: manager.resource.id(),
                };
                let Ok(resource) = client.create_resource::<ExtWorkspaceHandleV1, _, Ghost>(
                    dh,
                    manager.resource.version(),
                    data,
                ) else {
                    continue;
                };
                manager.resource.workspace(&resource);
                resource.id(id.to_string());
                resource.capabilities(ext_workspace_handle_v1::WorkspaceCapabilities::Activate);
                manager.workspaces.push(WorkspaceHandle {
                    id: *id,
                    resource,
                    told: None,
                });
                changed = true;
                manager.workspaces.len() - 1
            }
        };
        let handle = &mut manager.workspaces[index];
        if handle.told.as_ref() == Some(told) {
            continue;
        }
        let before = handle.told.take();
        if before.as_ref().map(|t| t.number) != Some(told.number) {
            handle.resource.name(told.number.to_string());
            let coordinate = u32::try_from(told.number - 1).unwrap_or(u32::MAX);
            handle
                .resource
                .coordinates(coordinate.to_ne_bytes().to_vec());
        }
        if before.as_ref().map(|t| t.active) != Some(told.active) {
            let state = match told.active {
                true => ext_workspace_handle_v1::State::Active,
                false => ext_workspace_handle_v1::State::empty(),
            };
            handle.resource.state(state);
        }
        if before.as_ref().map(|t| t.group.as_str()) != Some(told.group.as_str()) {
            if let Some(group) = group_of(&manager.groups, &told.group) {
                group.workspace_enter(&handle.resource);
            }
        }
        handle.told = Some(told.clone());
        changed = true;
    }
    if changed {
        manager.resource.done();
    }
}

impl GlobalDispatch<ExtWorkspaceManagerV1, GlobalData> for Ghost {
    fn bind(
        state: &mut Self,
        _dh: &DisplayHandle,
        _client: &Client,
        resource: New<ExtWorkspaceManagerV1>,
        _data: &GlobalData,
        data_init: &mut DataInit<'_, Self>,
    ) {
        let resource = data_init.init(resource, ());
        state.ext_workspaces.managers.push(Manager {
            resource,
            groups: Vec::new(),
            workspaces: Vec::new(),
            pending: Vec::new(),
            stopped: false,
        });
        state.ext_workspaces_refresh();
    }

    fn can_view(client: Client, data: &GlobalData) -> bool {
        (data.filter)(&client)
    }
}

impl Dispatch<ExtWorkspaceManagerV1, ()> for Ghost {
    fn request(
        state: &mut Self,
        _client: &Client,
        resource: &ExtWorkspaceManagerV1,
        request: ext_workspace_manager_v1::Request,
        _data: &(),
        _dh: &DisplayHandle,
        _data_init: &mut DataInit<'_, Self>,
    ) {
        let Some(manager) = state
            .ext_workspaces
            .managers
            .iter_mut()
            .find(|m| m.resource == *resource)
        else {
            return;
        };
        match request {
            ext_workspace_manager_v1::Request::Commit => {
                let pending = std::mem::take(&mut manager.pending);
                for id in pending {
                    state.focus_workspace_id(id);
                }
                state.ext_workspaces_refresh();
            }
            ext_workspace_manager_v1::Request::Stop => {
                manager.stopped = true;
                resource.finished();
            }
            _ => {}
        }
    }

    fn destroyed(state: &mut Self, _client: ClientId, resource: &ExtWorkspaceManagerV1, _: &()) {
        state
            .ext_workspaces
            .managers
            .retain(|m| m.resource != *resource);
    }
}

impl Dispatch<ExtWorkspaceGroupHandleV1, String> for Ghost {
    fn request(
        _state: &mut Self,
        _client: &Client,
        _resource: &ExtWorkspaceGroupHandleV1,
        _request: ext_workspace_group_handle_v1::Request,
        _output: &String,
        _dh: &DisplayHandle,
        _data_init: &mut DataInit<'_, Self>,
    ) {
        // create_workspace is not offered (the group's capabilities are empty):
        // workspaces appear as windows go to them. Destroy needs nothing.
    }
}

impl Dispatch<ExtWorkspaceHandleV1, WorkspaceData> for Ghost {
    fn request(
        state: &mut Self,
        _client: &Client,
        _resource: &ExtWorkspaceHandleV1,
        request: ext_workspace_handle_v1::Request,
        data: &WorkspaceData,
        _dh: &DisplayHandle,
        _data_init: &mut DataInit<'_, Self>,
    ) {
        // Only activate is offered; deactivate, assign and remove are not in the
        // workspace's capabilities and are ignored, as the protocol lets a compositor.
        if let ext_workspace_handle_v1::Request::Activate = request {
            if let Some(manager) = state
                .ext_workspaces
                .managers
                .iter_mut()
                .find(|m| m.resource.id() == data.manager)
            {
                manager.pending.push(data.id);
            }
        }
    }
}
