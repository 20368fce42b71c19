//! wlr-foreign-toplevel-management-unstable-v1: what taskbars (waybar's `wlr/taskbar`,
//! sfwbar, nwg-panel) use to list the windows and to activate, close, minimize,
//! maximize and fullscreen them. Privileged: sandboxed clients do not see it.
//!
//! Each manager gets one handle per window. After every dispatch the state each
//! handle was last told (title, app_id, states, outputs) is compared with the window's
//! and only what changed is sent, followed by `done`; a window that went away gets
//! `closed`.

use smithay::{
    desktop::Window,
    output::Output,
    reexports::{
        wayland_protocols_wlr::foreign_toplevel::v1::server::{
            zwlr_foreign_toplevel_handle_v1::{self, State, ZwlrForeignToplevelHandleV1},
            zwlr_foreign_toplevel_manager_v1::{self, ZwlrForeignToplevelManagerV1},
        },
        wayland_server::{
            backend::ClientId, Client, DataInit, Dispatch, DisplayHandle, GlobalDispatch, New,
            Resource,
        },
    },
};

use crate::{shell::window_data, state::Ghost};

/// What a handle was last told.
#[derive(Debug, Clone, Default, PartialEq)]
struct Told {
    title: String,
    app_id: String,
    states: Vec<State>,
    outputs: Vec<Output>,
}

/// One window as one manager knows it.
#[derive(Debug)]
struct Handle {
    window: u64,
    resource: ZwlrForeignToplevelHandleV1,
    /// None until the first `done`.
    told: Option<Told>,
}

/// One bound manager.
#[derive(Debug)]
struct Manager {
    resource: ZwlrForeignToplevelManagerV1,
    handles: Vec<Handle>,
    stopped: bool,
}

/// The global and every bound manager.
#[derive(Debug, Default)]
pub struct ForeignToplevelManagement {
    managers: Vec<Manager>,
}

/// Which clients may bind the global.
pub struct GlobalData {
    filter: Box<dyn Fn(&Client) -> bool + Send + Sync>,
}

impl ForeignToplevelManagement {
    /// Creates the global, visible to clients `filter` allows.
    pub fn new(
        dh: &DisplayHandle,
        filter: impl Fn(&Client) -> bool + Send + Sync + 'static,
    ) -> Self {
        dh.create_global::<Ghost, ZwlrForeignToplevelManagerV1, _>(
            3,
            GlobalData {
                filter: Box::new(filter),
            },
        );
        Self::default()
    }
}

impl Ghost {
    /// The window's state as the protocol words it.
    fn told_of(&self, window: &Window, minimized: bool, focused: Option<&Window>) -> Told {
        let (title, app_id) = crate::shell::window_title_and_app_id(window);
        let (maximized, fullscreen) = crate::shell::window_is_maximized_or_fullscreen(window, true);
        let mut states = Vec::new();
        if maximized {
            states.push(State::Maximized);
        }
        if minimized {
            states.push(State::Minimized);
        }
        if focused == Some(window) {
            states.push(State::Activated);
        }
        if fullscreen {
            states.push(State::Fullscreen);
        }
        Told {
            title,
            app_id,
            states,
            outputs: self.space.outputs_for_element(window),
        }
    }

    /// Brings every manager up to date (after each dispatch).
    pub fn foreign_toplevels_refresh(&mut self) {
        if self.foreign_toplevel_management.managers.is_empty() {
            return;
        }
        let focused = self.focused_window();
        let windows: Vec<(u64, Told)> = self
            .space
            .elements()
            .map(|w| (w, false))
            .chain(self.minimized.iter().map(|w| (w, true)))
            .chain(self.workspaces.hidden().map(|w| (w, false)))
            .filter(|(w, _)| !w.x11_surface().is_some_and(|x| x.is_override_redirect()))
            .map(|(w, minimized)| {
                (
                    window_data(w).id,
                    self.told_of(w, minimized, focused.as_ref()),
                )
            })
            .collect();
        let dh = self.display_handle.clone();
        let managers = &mut self.foreign_toplevel_management.managers;
        managers.retain(|m| m.resource.is_alive());
        for manager in managers.iter_mut().filter(|m| !m.stopped) {
            update_manager(&dh, manager, &windows);
        }
    }
}

/// Sends `manager` what changed since it was last told.
fn update_manager(dh: &DisplayHandle, manager: &mut Manager, windows: &[(u64, Told)]) {
    manager.handles.retain(|h| {
        let open = windows.iter().any(|(id, _)| *id == h.window);
        if !open && h.resource.is_alive() {
            h.resource.closed();
        }
        open && h.resource.is_alive()
    });
    let Some(client) = manager.resource.client() else {
        return;
    };
    for (id, now) in windows {
        let index = match manager.handles.iter().position(|h| h.window == *id) {
            Some(index) => index,
            None => {
                let Ok(resource) = client.create_resource::<ZwlrForeignToplevelHandleV1, _, Ghost>(
                    dh,
                    manager.resource.version(),
                    *id,
                ) else {
                    continue;
                };
                manager.resource.toplevel(&resource);
                manager.handles.push(Handle {
                    window: *id,
                    resource,
                    told: None,
                });
                manager.handles.len() - 1
            }
        };
        let handle = &mut manager.handles[index];
        if handle.told.as_ref() == Some(now) {
            continue;
        }
        let first = handle.told.is_none();
        let told = handle.told.take().unwrap_or_default();
        if first || told.title != now.title {
            handle.resource.title(now.title.clone());
        }
        if first || told.app_id != now.app_id {
            handle.resource.app_id(now.app_id.clone());
        }
        if first || told.states != now.states {
            let bytes: Vec<u8> = now
                .states
                .iter()
                .flat_map(|s| u32::from(*s).to_ne_bytes())
                .collect();
            handle.resource.state(bytes);
        }
        for output in &now.outputs {
            if !told.outputs.contains(output) {
                for wl in output.client_outputs(&client) {
                    handle.resource.output_enter(&wl);
                }
            }
        }
        for output in &told.outputs {
            if !now.outputs.contains(output) {
                for wl in output.client_outputs(&client) {
                    handle.resource.output_leave(&wl);
                }
            }
        }
        handle.resource.done();
        handle.told = Some(now.clone());
    }
}

impl GlobalDispatch<ZwlrForeignToplevelManagerV1, GlobalData> for Ghost {
    fn bind(
        state: &mut Self,
        _dh: &DisplayHandle,
        _client: &Client,
        resource: New<ZwlrForeignToplevelManagerV1>,
        _data: &GlobalData,
        data_init: &mut DataInit<'_, Self>,
    ) {
        let resource = data_init.init(resource, ());
        state.foreign_toplevel_management.managers.push(Manager {
            resource,
            handles: Vec::new(),
            stopped: false,
        });
        state.foreign_toplevels_refresh();
    }

    fn can_view(client: Client, data: &GlobalData) -> bool {
        (data.filter)(&client)
    }
}

impl Dispatch<ZwlrForeignToplevelManagerV1, ()> for Ghost {
    fn request(
        state: &mut Self,
        _client: &Client,
        resource: &ZwlrForeignToplevelManagerV1,
        request: zwlr_foreign_toplevel_manager_v1::Request,
        _data: &(),
        _dh: &DisplayHandle,
        _data_init: &mut DataInit<'_, Self>,
    ) {
        if let zwlr_foreign_toplevel_manager_v1::Request::Stop = request {
            if let Some(m) = state
                .foreign_toplevel_management
                .managers
                .iter_mut()
                .find(|m| m.resource == *resource)
            {
                m.stopped = true;
            }
            resource.finished();
        }
    }

    fn destroyed(
        state: &mut Self,
        _client: ClientId,
        resource: &ZwlrForeignToplevelManagerV1,
        _: &(),
    ) {
        state
            .foreign_toplevel_management
            .managers
            .retain(|m| m.resource != *resource);
    }
}

impl Dispatch<ZwlrForeignToplevelHandleV1, u64> for Ghost {
    fn request(
        state: &mut Self,
        _client: &Client,
        _resource: &ZwlrForeignToplevelHandleV1,
        request: zwlr_foreign_toplevel_handle_v1::Request,
        id: &u64,
        _dh: &DisplayHandle,
        _data_init: &mut DataInit<'_, Self>,
    ) {
        use zwlr_foreign_toplevel_handle_v1::Request;
        let Some(window) = state.window_by_id(*id) else {
            return;
        };
        // Maximizing or fullscreening a minimized window brings it back first.
        let minimized = state.minimized.contains(&window);
        if minimized
            && matches!(
                request,
                Request::SetMaximized | Request::SetFullscreen { .. }
            )
        {
            state.focus_window(&window);
        }
        match request {
            Request::Activate { .. } => state.focus_window(&window),
            Request::Close => state.close_window(&window),
            Request::SetMinimized => state.minimize(&window),
            Request::UnsetMinimized => state.focus_window(&window),
            Request::SetMaximized => state.set_maximized(&window, true),
            Request::UnsetMaximized => state.set_maximized(&window, false),
            Request::SetFullscreen { output } => {
                let output = output.as_ref().and_then(Output::from_resource);
                state.set_fullscreen(&window, true, output);
            }
            Request::UnsetFullscreen => state.set_fullscreen(&window, false, None),
            // Where the taskbar shows the window (for minimize animations): nothing
            // here animates. Destroy needs nothing either.
            _ => {}
        }
        // The taskbar hears what its request changed before its round trip ends.
        state.foreign_toplevels_refresh();
    }
}
