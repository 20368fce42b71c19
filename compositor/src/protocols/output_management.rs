//! wlr-output-management-unstable-v1: lets privileged clients (wlr-randr, kanshi, display
//! settings) list outputs with their modes and change mode, position, scale, transform
//! and enablement atomically. Sandboxed clients never see the global.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use smithay::{
    output::{Mode, Output},
    reexports::{
        wayland_protocols_wlr::output_management::v1::server::{
            zwlr_output_configuration_head_v1::{self, ZwlrOutputConfigurationHeadV1},
            zwlr_output_configuration_v1::{self, ZwlrOutputConfigurationV1},
            zwlr_output_head_v1::{self, ZwlrOutputHeadV1},
            zwlr_output_manager_v1::{self, ZwlrOutputManagerV1},
            zwlr_output_mode_v1::{self, ZwlrOutputModeV1},
        },
        wayland_server::{
            backend::ClientId, Client, DataInit, Dispatch, DisplayHandle, GlobalDispatch, New,
            Resource, WEnum,
        },
    },
    utils::Transform,
};
use tracing::{info, warn};

use crate::{backend::OutputModes, state::Ghost};

const VERSION: u32 = 4;

/// Data of the global: which clients may bind it.
pub struct ManagerGlobalData {
    filter: Box<dyn Fn(&Client) -> bool + Send + Sync>,
}

struct HeadResources {
    head: ZwlrOutputHeadV1,
    modes: Vec<(Mode, ZwlrOutputModeV1)>,
}

/// Every bound manager and the heads it was sent.
pub struct OutputManagementState {
    serial: u32,
    managers: HashMap<ZwlrOutputManagerV1, HashMap<String, HeadResources>>,
}

/// What a client asked for one output in a configuration.
#[derive(Debug, Default, Clone)]
struct PendingHead {
    mode: Option<Mode>,
    position: Option<(i32, i32)>,
    transform: Option<Transform>,
    scale: Option<f64>,
}

#[derive(Debug, Default)]
struct PendingConfig {
    heads: Vec<(String, Option<Arc<Mutex<PendingHead>>>)>,
    used: bool,
}

/// User data of a configuration object.
pub struct ConfigData {
    serial: u32,
    pending: Mutex<PendingConfig>,
}

/// User data of a configuration head.
pub struct ConfigHeadData {
    pending: Arc<Mutex<PendingHead>>,
}

impl OutputManagementState {
    /// Creates the global, visible to clients that pass `filter`.
    pub fn new<D, F>(dh: &DisplayHandle, filter: F) -> Self
    where
        D: GlobalDispatch<ZwlrOutputManagerV1, ManagerGlobalData> + 'static,
        F: Fn(&Client) -> bool + Send + Sync + 'static,
    {
        dh.create_global::<D, ZwlrOutputManagerV1, _>(
            VERSION,
            ManagerGlobalData {
                filter: Box::new(filter),
            },
        );
        Self {
            serial: 1,
            managers: HashMap::new(),
        }
    }
}

fn transform_to_wl(
    t: Transform,
) -> smithay::reexports::wayland_server::protocol::wl_output::Transform {
    t.into()
}

fn send_head_state(
    head: &ZwlrOutputHeadV1,
    output: &Output,
    modes: &[(Mode, ZwlrOutputModeV1)],
    enabled: bool,
    position: (i32, i32),
) {
    head.enabled(i32::from(enabled));
    if !enabled {
        return;
    }
    if let Some(current) = output.current_mode() {
        if let Some((_, m)) = modes.iter().find(|(mode, _)| *mode == current) {
            head.current_mode(m);
        }
    }
    head.position(position.0, position.1);
    head.transform(transform_to_wl(output.current_transform()));
    head.scale(output.current_scale().fractional_scale());
}

impl Ghost {
    fn output_modes(output: &Output) -> Vec<Mode> {
        output
            .user_data()
            .get::<OutputModes>()
            .map(OutputModes::list)
            .unwrap_or_else(|| output.current_mode().into_iter().collect())
    }

    /// Every output the manager should describe: mapped ones and disabled ones.
    fn managed_outputs(&self) -> Vec<(Output, bool, (i32, i32))> {
        let mut all: Vec<(Output, bool, (i32, i32))> = self
            .space
            .outputs()
            .map(|o| {
                let loc = self
                    .space
                    .output_geometry(o)
                    .map(|g| g.loc)
                    .unwrap_or_default();
                (o.clone(), true, (loc.x, loc.y))
            })
            .collect();
        all.extend(
            self.disabled_outputs
                .iter()
                .map(|o| (o.clone(), false, (0, 0))),
        );
        all
    }

    fn send_head(
        &self,
        dh: &DisplayHandle,
        manager: &ZwlrOutputManagerV1,
        client: &Client,
        output: &Output,
        enabled: bool,
        pos: (i32, i32),
    ) -> Option<HeadResources> {
        let head = client
            .create_resource::<ZwlrOutputHeadV1, _, Ghost>(dh, manager.version(), output.name())
            .ok()?;
        manager.head(&head);
        head.name(output.name());
        head.description(output.description());
        let props = output.physical_properties();
        head.physical_size(props.size.w, props.size.h);
        let preferred = output.preferred_mode();
        let mut modes = Vec::new();
        for mode in Self::output_modes(output) {
            let Ok(m) =
                client.create_resource::<ZwlrOutputModeV1, _, Ghost>(dh, manager.version(), ())
            else {
                continue;
            };
            head.mode(&m);
            m.size(mode.size.w, mode.size.h);
            m.refresh(mode.refresh);
            if preferred == Some(mode) {
                m.preferred();
            }
            modes.push((mode, m));
        }
        if head.version() >= 2 {
            head.make(props.make.clone());
            head.model(props.model.clone());
        }
        send_head_state(&head, output, &modes, enabled, pos);
        Some(HeadResources { head, modes })
    }

    /// Tells every manager what changed (call after any output change).
    pub fn output_management_changed(&mut self) {
        self.output_management_state.serial = self.output_management_state.serial.wrapping_add(1);
        let serial = self.output_management_state.serial;
        let outputs = self.managed_outputs();
        let dh = self.display_handle.clone();
        let managers: Vec<ZwlrOutputManagerV1> = self
            .output_management_state
            .managers
            .keys()
            .cloned()
            .collect();
        for manager in managers {
            let Ok(client) = dh.get_client(manager.id()) else {
                continue;
            };
            let mut heads = self
                .output_management_state
                .managers
                .remove(&manager)
                .unwrap_or_default();
            let names: Vec<String> = outputs.iter().map(|(o, _, _)| o.name()).collect();
            heads.retain(|name, res| {
                let keep = names.contains(name);
                if !keep {
                    for (_, m) in &res.modes {
                        m.finished();
                    }
                    res.head.finished();
                }
                keep
            });
            for (output, enabled, pos) in &outputs {
                match heads.get(&output.name()) {
                    Some(res) => send_head_state(&res.head, output, &res.modes, *enabled, *pos),
                    None => {
                        if let Some(res) =
                            self.send_head(&dh, &manager, &client, output, *enabled, *pos)
                        {
                            heads.insert(output.name(), res);
                        }
                    }
                }
            }
            manager.done(serial);
            self.output_management_state.managers.insert(manager, heads);
        }
    }

    fn apply_output_configuration(
        &mut self,
        config: &PendingConfig,
        test_only: bool,
    ) -> Result<(), String> {
        let outputs = self.managed_outputs();
        // Validate everything first: a configuration is applied whole or not at all.
        let mut plan = Vec::new();
        for (name, pending) in &config.heads {
            let Some((output, _, _)) = outputs.iter().find(|(o, _, _)| &o.name() == name) else {
                return Err(format!("output {name} is gone"));
            };
            let pending = pending
                .as_ref()
                .map(|p| p.lock().map(|p| p.clone()).unwrap_or_default());
            if let Some(p) = &pending {
                if let Some(mode) = p.mode {
                    if matches!(self.backend, crate::backend::Backend::Winit(_))
                        && Some(mode) != output.current_mode()
                    {
                        return Err("the nested output's mode follows its window".into());
                    }
                }
            }
            plan.push((output.clone(), pending));
        }
        if plan.iter().all(|(_, p)| p.is_none()) {
            return Err("a configuration must leave at least one output enabled".into());
        }
        if test_only {
            return Ok(());
        }
        for (output, pending) in plan {
            match pending {
                None => self.disable_output(&output),
                Some(p) => {
                    self.enable_output(&output, p.position);
                    if let Some(mode) = p.mode {
                        if Some(mode) != output.current_mode() {
                            self.set_output_mode(&output, mode)
                                .map_err(|e| e.to_string())?;
                        }
                    }
                    output.change_current_state(
                        None,
                        p.transform,
                        p.scale.map(smithay::output::Scale::Fractional),
                        None,
                    );
                    if let Some(pos) = p.position {
                        self.space.map_output(&output, pos);
                    }
                    self.relayout_after_output_change(&output);
                }
            }
        }
        info!("output configuration applied");
        self.output_management_changed();
        self.queue_redraw_all();
        Ok(())
    }

    /// Takes `output` out of the layout (its settings are kept).
    pub fn disable_output(&mut self, output: &Output) {
        if self.space.outputs().any(|o| o == output) {
            self.space.unmap_output(output);
            self.disabled_outputs.push(output.clone());
            self.image_copy_sources_changed();
        }
    }

    /// Puts a disabled `output` back into the layout.
    pub fn enable_output(&mut self, output: &Output, position: Option<(i32, i32)>) {
        if let Some(idx) = self.disabled_outputs.iter().position(|o| o == output) {
            self.disabled_outputs.remove(idx);
            let x = self.layout_right_edge();
            self.space.map_output(output, position.unwrap_or((x, 0)));
        }
    }

    /// Where the layout ends on the right: a new output goes there.
    pub fn layout_right_edge(&self) -> i32 {
        self.space
            .outputs()
            .filter_map(|o| self.space.output_geometry(o))
            .map(|g| g.loc.x + g.size.w)
            .max()
            .unwrap_or(0)
    }
}

impl GlobalDispatch<ZwlrOutputManagerV1, ManagerGlobalData> for Ghost {
    fn bind(
        state: &mut Self,
        dh: &DisplayHandle,
        client: &Client,
        resource: New<ZwlrOutputManagerV1>,
        _global_data: &ManagerGlobalData,
        data_init: &mut DataInit<'_, Self>,
    ) {
        let manager = data_init.init(resource, ());
        let mut heads = HashMap::new();
        for (output, enabled, pos) in state.managed_outputs() {
            if let Some(res) = state.send_head(dh, &manager, client, &output, enabled, pos) {
                heads.insert(output.name(), res);
            }
        }
        manager.done(state.output_management_state.serial);
        state
            .output_management_state
            .managers
            .insert(manager, heads);
    }

    fn can_view(client: Client, global_data: &ManagerGlobalData) -> bool {
        (global_data.filter)(&client)
    }
}

impl Dispatch<ZwlrOutputManagerV1, ()> for Ghost {
    fn request(
        state: &mut Self,
        _client: &Client,
        manager: &ZwlrOutputManagerV1,
        request: zwlr_output_manager_v1::Request,
        _data: &(),
        _dh: &DisplayHandle,
        data_init: &mut DataInit<'_, Self>,
    ) {
        match request {
            zwlr_output_manager_v1::Request::CreateConfiguration { id, serial } => {
                data_init.init(
                    id,
                    ConfigData {
                        serial,
                        pending: Mutex::new(PendingConfig::default()),
                    },
                );
            }
            zwlr_output_manager_v1::Request::Stop => {
                state.output_management_state.managers.remove(manager);
                manager.finished();
            }
            _ => {}
        }
    }

    fn destroyed(state: &mut Self, _client: ClientId, manager: &ZwlrOutputManagerV1, _data: &()) {
        state.output_management_state.managers.remove(manager);
    }
}

impl Dispatch<ZwlrOutputHeadV1, String> for Ghost {
    fn request(
        state: &mut Self,
        _client: &Client,
        head: &ZwlrOutputHeadV1,
        request: zwlr_output_head_v1::Request,
        _data: &String,
        _dh: &DisplayHandle,
        _data_init: &mut DataInit<'_, Self>,
    ) {
        if let zwlr_output_head_v1::Request::Release = request {
            for heads in state.output_management_state.managers.values_mut() {
                heads.retain(|_, r| &r.head != head);
            }
        }
    }
}

impl Dispatch<ZwlrOutputModeV1, ()> for Ghost {
    fn request(
        _state: &mut Self,
        _client: &Client,
        _mode: &ZwlrOutputModeV1,
        _request: zwlr_output_mode_v1::Request,
        _data: &(),
        _dh: &DisplayHandle,
        _data_init: &mut DataInit<'_, Self>,
    ) {
    }
}

fn mode_of(state: &Ghost, mode: &ZwlrOutputModeV1) -> Option<Mode> {
    state
        .output_management_state
        .managers
        .values()
        .flat_map(|heads| heads.values())
        .flat_map(|h| h.modes.iter())
        .find(|(_, m)| m == mode)
        .map(|(mode, _)| *mode)
}

impl Dispatch<ZwlrOutputConfigurationV1, ConfigData> for Ghost {
    fn request(
        state: &mut Self,
        _client: &Client,
        config: &ZwlrOutputConfigurationV1,
        request: zwlr_output_configuration_v1::Request,
        data: &ConfigData,
        _dh: &DisplayHandle,
        data_init: &mut DataInit<'_, Self>,
    ) {
        use zwlr_output_configuration_v1::{Error, Request};
        let Ok(mut pending) = data.pending.lock() else {
            return;
        };
        let already =
            |pending: &PendingConfig, name: &str| pending.heads.iter().any(|(n, _)| n == name);
        match request {
            Request::EnableHead { id, head } => {
                let name = head.data::<String>().cloned().unwrap_or_default();
                let head_pending = Arc::new(Mutex::new(PendingHead::default()));
                data_init.init(
                    id,
                    ConfigHeadData {
                        pending: head_pending.clone(),
                    },
                );
                if already(&pending, &name) {
                    config.post_error(
                        Error::AlreadyConfiguredHead,
                        format!("{name} is configured twice"),
                    );
                    return;
                }
                pending.heads.push((name, Some(head_pending)));
            }
            Request::DisableHead { head } => {
                let name = head.data::<String>().cloned().unwrap_or_default();
                if already(&pending, &name) {
                    config.post_error(
                        Error::AlreadyConfiguredHead,
                        format!("{name} is configured twice"),
                    );
                    return;
                }
                pending.heads.push((name, None));
            }
            request @ (Request::Apply | Request::Test) => {
                if pending.used {
                    config.post_error(
                        Error::AlreadyUsed,
                        "configuration was already applied or tested",
                    );
                    return;
                }
                pending.used = true;
                let all: Vec<String> = state
                    .managed_outputs()
                    .iter()
                    .map(|(o, _, _)| o.name())
                    .collect();
                if let Some(missing) = all.iter().find(|n| !already(&pending, n)) {
                    config.post_error(
                        Error::UnconfiguredHead,
                        format!("{missing} is neither enabled nor disabled"),
                    );
                    return;
                }
                if data.serial != state.output_management_state.serial {
                    config.cancelled();
                    return;
                }
                let test_only = matches!(request, Request::Test);
                match state.apply_output_configuration(&pending, test_only) {
                    Ok(()) => config.succeeded(),
                    Err(err) => {
                        warn!(%err, "output configuration refused");
                        config.failed();
                    }
                }
            }
            Request::Destroy => {}
            _ => {}
        }
    }
}

impl Dispatch<ZwlrOutputConfigurationHeadV1, ConfigHeadData> for Ghost {
    fn request(
        state: &mut Self,
        _client: &Client,
        head: &ZwlrOutputConfigurationHeadV1,
        request: zwlr_output_configuration_head_v1::Request,
        data: &ConfigHeadData,
        _dh: &DisplayHandle,
        _data_init: &mut DataInit<'_, Self>,
    ) {
        use zwlr_output_configuration_head_v1::{Error, Request};
        let Ok(mut pending) = data.pending.lock() else {
            return;
        };
        match request {
            Request::SetMode { mode } => {
                if pending.mode.is_some() {
                    head.post_error(Error::AlreadySet, "mode already set");
                    return;
                }
                match mode_of(state, &mode) {
                    Some(m) => pending.mode = Some(m),
                    None => {
                        head.post_error(Error::InvalidMode, "mode does not belong to this output")
                    }
                }
            }
            Request::SetCustomMode {
                width,
                height,
                refresh,
            } => {
                if pending.mode.is_some() {
                    head.post_error(Error::AlreadySet, "mode already set");
                    return;
                }
                if !(1..=16384).contains(&width) || !(1..=16384).contains(&height) || refresh < 0 {
                    head.post_error(Error::InvalidCustomMode, "custom mode out of range");
                    return;
                }
                let refresh = if refresh == 0 { 60_000 } else { refresh };
                // Whether the output can take it is decided when the configuration is
                // applied (virtual outputs can; real ones only with their own modes).
                pending.mode = Some(Mode {
                    size: (width, height).into(),
                    refresh,
                });
            }
            Request::SetPosition { x, y } => {
                if pending.position.is_some() {
                    head.post_error(Error::AlreadySet, "position already set");
                    return;
                }
                pending.position = Some((x, y));
            }
            Request::SetTransform { transform } => {
                if pending.transform.is_some() {
                    head.post_error(Error::AlreadySet, "transform already set");
                    return;
                }
                match transform {
                    WEnum::Value(t) => pending.transform = Some(t.into()),
                    WEnum::Unknown(_) => {
                        head.post_error(Error::InvalidTransform, "unknown transform")
                    }
                }
            }
            Request::SetScale { scale } => {
                if pending.scale.is_some() {
                    head.post_error(Error::AlreadySet, "scale already set");
                    return;
                }
                if !(0.25..=8.0).contains(&scale) {
                    head.post_error(Error::InvalidScale, "scale must be within 0.25..=8");
                    return;
                }
                pending.scale = Some(scale);
            }
            Request::SetAdaptiveSync { state: sync } => {
                // No output drives VRR yet: asking for it on is an error the client can see.
                if matches!(
                    sync,
                    WEnum::Value(zwlr_output_head_v1::AdaptiveSyncState::Enabled)
                ) {
                    head.post_error(
                        Error::InvalidAdaptiveSyncState,
                        "this output has no adaptive sync",
                    );
                }
            }
            _ => {}
        }
    }
}
