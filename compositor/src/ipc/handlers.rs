//! What each IPC request does.

use std::os::unix::net::UnixStream;

use serde_json::{json, Value};
use smithay::{
    backend::input::{ButtonState, KeyState},
    output::Output,
    utils::{Logical, Rectangle},
};

use super::{server::Answer, InputRequest, Reply, Request};
use crate::{
    input::{BTN_LEFT, BTN_RIGHT},
    shell::window_data,
    state::Ghost,
};

fn mode_json(mode: &smithay::output::Mode) -> Value {
    json!({"width": mode.size.w, "height": mode.size.h, "refresh_mhz": mode.refresh})
}

/// How many virtual outputs `create-output` may make in all.
pub const MAX_VIRTUAL_OUTPUTS: usize = 16;

impl Ghost {
    /// Each encoder backend of `[capture] encoders`, tried in order until one opens:
    /// what a recording would use, and why the ones before it cannot.
    fn encoders_json(&self) -> serde_json::Value {
        use ghost_capture::encode::{pick, Backend};
        let order = crate::casts::record::encoder_order(&self.config.capture);
        let (chosen, probes) = pick(&order);
        json!({
            "chosen": chosen.map(Backend::name),
            "probes": probes.iter().map(|p| json!({
                "backend": p.backend.name(),
                "encoder": p.encoder,
                "opens": p.refused.is_none(),
                "why_not": p.refused,
            })).collect::<Vec<_>>(),
        })
    }

    /// Carries out one request.
    pub fn handle_ipc(&mut self, request: Request, stream: UnixStream) -> Answer {
        let reply = match request {
            Request::Version => Reply::ok(json!({
                "version": env!("CARGO_PKG_VERSION"),
                "backend": self.backend.name(),
                "wayland_socket": self.socket_name.to_string_lossy(),
                "config": self.config_source.path,
                "config_generation": self.config_source.generation,
                "config_error": self.config_source.last_error,
                "xwayland": self.xwayland_json(),
                "pointer": self.pointer_json(),
                "session_lock": {
                    "locked": self.lock.is_locked(),
                    "held": self.lock.held(),
                    "locks": self.lock.locks,
                },
            })),
            Request::Encoders => Reply::ok(self.encoders_json()),
            Request::Outputs => Reply::ok(self.outputs_json()),
            Request::Windows => Reply::ok(self.windows_json()),
            Request::Focus { id } => match self.window_by_id(id) {
                Some(w) => {
                    self.focus_window(&w);
                    Reply::ok(Value::Null)
                }
                None => Reply::error(format!("no window with id {id}")),
            },
            Request::Workspaces => Reply::ok(self.workspaces_json()),
            Request::FocusWorkspace { workspace, output } => {
                let output = match output {
                    Some(name) => self.space.outputs().find(|o| o.name() == name).cloned(),
                    None => self.workspace_output(),
                };
                match output {
                    Some(output) => {
                        self.focus_workspace(&output, workspace);
                        Reply::ok(self.workspaces_json())
                    }
                    None => Reply::error("no such output"),
                }
            }
            Request::MoveToWorkspace { workspace, window } => {
                let window = match window {
                    Some(id) => self.window_by_id(id),
                    None => self.focused_window(),
                };
                match window {
                    Some(w) => {
                        let hidden = self.move_window_to_workspace(&w, workspace);
                        Reply::ok(json!({"hidden": hidden}))
                    }
                    None => Reply::error("no such window"),
                }
            }
            Request::Close { id } => match self.window_by_id(id) {
                Some(w) => {
                    self.close_window(&w);
                    Reply::ok(Value::Null)
                }
                None => Reply::error(format!("no window with id {id}")),
            },
            Request::Screenshot {
                output,
                region,
                path,
                hdr,
                writeback,
            } => {
                let source = match (hdr, writeback) {
                    (_, true) => crate::screenshot::Source::Writeback,
                    (true, false) => crate::screenshot::Source::RenderHdr,
                    (false, false) => crate::screenshot::Source::Render,
                };
                return self.screenshot_request(output, region, path, source, stream);
            }
            Request::Power { output, on } => self.power(output.as_deref(), on),
            Request::CreateOutput {
                width,
                height,
                refresh_mhz,
                scale,
            } => self.create_output(width, height, refresh_mhz, scale),
            Request::Lock => match self.start_locker() {
                Ok(()) => Reply::ok(Value::Null),
                Err(e) => Reply::error(e),
            },
            Request::RemoveOutput { name } => {
                match crate::backend::headless::remove_output(self, &name) {
                    Ok(()) => Reply::ok(Value::Null),
                    Err(e) => Reply::error(format!("{e:#}")),
                }
            }
            Request::PortalLease => {
                return match self.take_portal_lease(stream) {
                    Ok(()) => Answer::Deferred,
                    Err(e) => Answer::Now(Reply::error(format!("{e:#}"))),
                };
            }
            Request::CastStart {
                output,
                window,
                region,
                cursor,
                requester,
                portal,
            } => match self.capture_source(output, window, region) {
                Some(source) => match self.start_cast(
                    source,
                    cursor,
                    requester.unwrap_or_else(|| "ipc".into()),
                    portal,
                ) {
                    Ok(v) => Reply::ok(v),
                    Err(e) => Reply::error(format!("{e:#}")),
                },
                None => Reply::error("nothing to cast there"),
            },
            Request::CastStop { id } => match self.stop_cast(id) {
                true => Reply::ok(Value::Null),
                false => Reply::error(format!("no cast with id {id}")),
            },
            Request::Casts => Reply::ok(self.casts_json()),
            Request::RecordStart { .. }
            | Request::RecordStop
            | Request::RecordStatus
            | Request::ReplaySave { .. }
            | Request::ReplayStatus
            | Request::StreamStart { .. }
            | Request::StreamStop
            | Request::StreamStatus => return self.recording_request(request, stream),
            Request::RemoteStart { .. }
            | Request::RemoteInput { .. }
            | Request::RemoteStop { .. }
            | Request::Remotes
            | Request::RemoteEis { .. }
            | Request::RemoteRevoke { .. } => self.remote_request(request),
            Request::Voice => Reply::ok(self.voice_json()),
            Request::Stats => Reply::ok(self.stats_json()),
            Request::Overlay { on } => {
                self.set_overlay(on.unwrap_or(!self.telemetry.overlay.on));
                Reply::ok(json!({"on": self.telemetry.overlay.on}))
            }
            Request::VoiceSet {
                mode,
                echo_cancellation,
            } => match self.voice_set(mode.as_deref(), echo_cancellation) {
                Ok(value) => Reply::ok(value),
                Err(e) => Reply::error(e),
            },
            Request::CastChoose {
                app_id,
                types,
                restore,
                question,
                control,
            } => {
                let asked = crate::casts::pick::Asked {
                    app_id,
                    types,
                    question,
                    control,
                };
                return match self.choose_cast(asked, restore, stream) {
                    Some(reply) => Answer::Now(reply),
                    None => Answer::Deferred,
                };
            }
            Request::CastPick {
                output,
                window,
                region,
                cancel,
            } => {
                if !self.picks.asking() {
                    Reply::error("no screen-share request is waiting")
                } else {
                    let source = match (cancel, window, region, output) {
                        (true, ..) => None,
                        (false, Some(id), ..) => Some(crate::casts::CastSource::Window(id)),
                        (false, None, Some(region), output) => {
                            self.region_source(output.as_deref(), region)
                        }
                        (false, None, None, Some(name)) => {
                            Some(crate::casts::CastSource::Output(name))
                        }
                        (false, None, None, None) => self
                            .active_output()
                            .map(|o| crate::casts::CastSource::Output(o.name())),
                    };
                    self.answer_pick(source);
                    Reply::ok(Value::Null)
                }
            }
            Request::Reload => match self.reload_config() {
                Ok(()) => Reply::ok(json!({"generation": self.config_source.generation})),
                Err(problems) => Reply::error(format!(
                    "configuration not reloaded; the running one stays:\n{problems}"
                )),
            },
            Request::Quit => {
                self.loop_signal.stop();
                Reply::ok(Value::Null)
            }
            Request::Input(input) => self.inject(input),
        };
        Answer::Now(reply)
    }

    fn outputs_json(&self) -> Value {
        let outputs: Vec<Value> = self
            .space
            .outputs()
            .map(|o| {
                let geo = self.space.output_geometry(o).unwrap_or_default();
                let modes = o
                    .user_data()
                    .get::<crate::backend::OutputModes>()
                    .map(|m| m.list().iter().map(mode_json).collect::<Vec<_>>())
                    .unwrap_or_default();
                let props = o.physical_properties();
                let stats = self.backend.frame_stats(o).unwrap_or_default();
                let kms = match &self.backend {
                    crate::backend::Backend::Kms(k) => k.describe(o),
                    _ => None,
                };
                json!({
                    "kms": kms,
                    "name": o.name(),
                    "make": props.make,
                    "model": props.model,
                    "enabled": true,
                    "current_mode": o.current_mode().as_ref().map(mode_json),
                    "modes": modes,
                    "scale": o.current_scale().fractional_scale(),
                    "transform": format!("{:?}", o.current_transform()),
                    "logical": {"x": geo.loc.x, "y": geo.loc.y, "width": geo.size.w, "height": geo.size.h},
                    "colour": {
                        "hdr": crate::protocols::color_management::output_description(o).0.transfer.is_hdr(),
                        "surfaces_converted": self.color_management_state.offered(),
                    },
                    "frames": {
                        "presented": stats.presented,
                        "empty": stats.empty,
                        "last_damage_px": stats.last_damage_px,
                        "timed_frames": stats.timed_frames,
                        "drawing_ns": stats.drawing_ns,
                    },
                })
            })
            .collect();
        Value::Array(outputs)
    }

    fn windows_json(&self) -> Value {
        let focused = self.focused_window();
        let mapped = self.space.elements().map(|w| (w, false));
        let minimized = self.minimized.iter().map(|w| (w, true));
        let parked = self.workspaces.hidden().map(|w| (w, false));
        let windows: Vec<Value> = mapped
            .chain(minimized)
            .chain(parked)
            .filter(|(w, _)| !w.x11_surface().is_some_and(|x| x.is_override_redirect()))
            .map(|(w, is_minimized)| {
                let (title, app_id) = crate::shell::window_title_and_app_id(w);
                let surface = crate::shell::toplevel_surface(w);
                let geo = if is_minimized {
                    window_data(w).restore.borrow().unwrap_or_default()
                } else {
                    self.space
                        .element_geometry(w)
                        .or_else(|| self.parked_geometry(w))
                        .unwrap_or_default()
                };
                let workspace = self.workspaces.locate(w);
                let output = match workspace {
                    Some((name, _)) => Some(name.to_owned()),
                    None => self.space.outputs_for_element(w).first().map(|o| o.name()),
                };
                let (maximized, fullscreen) = crate::shell::window_is_maximized_or_fullscreen(w, false);
                let x11 = w.x11_surface();
                json!({
                    "id": window_data(w).id,
                    "app_id": app_id,
                    "title": title,
                    "geometry": {"x": geo.loc.x, "y": geo.loc.y, "width": geo.size.w, "height": geo.size.h},
                    "output": output,
                    "focused": focused.as_ref() == Some(w),
                    "minimized": is_minimized,
                    "workspace": workspace.map(|(_, i)| i + 1),
                    "tiled": Ghost::is_tiled(w),
                    "on_screen": self.space.elements().any(|e| e == w),
                    "maximized": maximized,
                    "fullscreen": fullscreen,
                    "server_side_decorations": window_data(w).server_side_decorations.get(),
                    "content_type": crate::shell::window_content_type(w),
                    "allows_tearing": surface.as_ref().is_some_and(crate::protocols::tearing_control::allows_tearing),
                    "xwayland": x11.is_some(),
                    "pid": x11.and_then(|x| x.pid()),
                    "bypass_compositor": x11.map(|_| window_data(w).bypass_compositor.get()),
                })
            })
            .collect();
        Value::Array(windows)
    }

    fn find_output(
        &self,
        name: Option<&str>,
        region: Option<Rectangle<i32, Logical>>,
    ) -> Result<Output, String> {
        match (name, region) {
            (Some(name), _) => self
                .space
                .outputs()
                .find(|o| o.name() == name)
                .cloned()
                .ok_or_else(|| format!("no output named {name:?}")),
            (None, Some(r)) => self
                .space
                .outputs()
                .find(|o| self.space.output_geometry(o).is_some_and(|g| g.overlaps(r)))
                .cloned()
                .ok_or_else(|| "the region is outside every output".to_owned()),
            (None, None) => self
                .space
                .outputs()
                .next()
                .cloned()
                .ok_or_else(|| "no outputs".to_owned()),
        }
    }

    fn screenshot_request(
        &mut self,
        output: Option<String>,
        region: Option<[i32; 4]>,
        path: std::path::PathBuf,
        source: crate::screenshot::Source,
        mut stream: UnixStream,
    ) -> Answer {
        if !path.is_absolute() {
            return Answer::Now(Reply::error("the screenshot path must be absolute"));
        }
        let region = match region.map(crate::casts::pick::bounded_region) {
            None => None,
            Some(Some(region)) => Some(region),
            Some(None) => {
                return Answer::Now(Reply::error(
                    "the region must have a positive width and height, and lie within ±65536",
                ))
            }
        };
        let output = match self.find_output(output.as_deref(), region) {
            Ok(o) => o,
            Err(e) => return Answer::Now(Reply::error(e)),
        };
        let result = self.save_screenshot(&output, region, path, source, move |result| {
            let reply = match result {
                Ok(saved) => Reply::ok(json!({
                    "path": saved.path,
                    "output": saved.output,
                    "width": saved.width,
                    "height": saved.height,
                })),
                Err(e) => Reply::error(format!("screenshot failed: {e}")),
            };
            super::server::respond(&mut stream, &reply);
        });
        if let Err(e) = result {
            return Answer::Now(Reply::error(format!("screenshot failed: {e}")));
        }
        Answer::Deferred
    }

    fn create_output(
        &mut self,
        width: i32,
        height: i32,
        refresh_mhz: Option<i32>,
        scale: Option<f64>,
    ) -> Reply {
        let scale = scale.unwrap_or(1.0);
        let refresh_mhz = refresh_mhz.unwrap_or(60_000);
        // Its buffer lives in the compositor's memory: 8192 a side is 256 MiB already.
        if !(1..=8192).contains(&width) || !(1..=8192).contains(&height) {
            return Reply::error(format!("{width}x{height} is not a size (1 to 8192 a side)"));
        }
        if !(0.25..=8.0).contains(&scale) {
            return Reply::error(format!("scale {scale} is outside 0.25..=8"));
        }
        if !(1_000..=1_000_000).contains(&refresh_mhz) {
            return Reply::error(format!("refresh {refresh_mhz} mHz is not 1 to 1000 Hz"));
        }
        // Each output's buffer is the compositor's memory: a script in a loop must not
        // be able to take all of it.
        if self.space.outputs().count() >= MAX_VIRTUAL_OUTPUTS {
            return Reply::error(format!("at most {MAX_VIRTUAL_OUTPUTS} outputs"));
        }
        let spec = crate::backend::headless::OutputSpec {
            width,
            height,
            refresh_mhz,
            scale,
        };
        match crate::backend::headless::create_output(self, spec) {
            Ok(name) => Reply::ok(json!({ "name": name })),
            Err(e) => Reply::error(format!("{e:#}")),
        }
    }

    fn power(&mut self, name: Option<&str>, on: bool) -> Reply {
        let outputs: Vec<_> = self
            .outputs()
            .into_iter()
            .filter(|o| name.is_none_or(|n| o.name() == n))
            .collect();
        if outputs.is_empty() {
            return Reply::error(format!("no output {}", name.unwrap_or_default()));
        }
        for output in &outputs {
            if let Err(e) = crate::backend::kms::set_power(self, output, on) {
                return Reply::error(format!("{}: {e:#}", output.name()));
            }
        }
        Reply::ok(
            json!({"outputs": outputs.iter().map(|o| o.name()).collect::<Vec<_>>(), "on": on}),
        )
    }

    fn inject(&mut self, input: InputRequest) -> Reply {
        if !self.backend.allows_input_injection() {
            return Reply::error("input injection is only available on the headless backend");
        }
        let time = self.now().as_millis() as u32;
        // Synthetic input is someone using the machine, for idle as for everything else.
        self.note_input_activity();
        if self.typing.is_none() {
            match crate::input::KeyboardTyping::new(&self.config.input) {
                Ok(t) => self.typing = Some(t),
                Err(e) => return Reply::error(format!("no keymap to type with: {e}")),
            }
        }
        let Some(typing) = self.typing.as_ref() else {
            return Reply::error("no keymap to type with");
        };
        let (press, release) = match &input {
            InputRequest::Press { .. } => (true, false),
            InputRequest::Release { .. } => (false, true),
            _ => (true, true),
        };
        match input {
            InputRequest::Key { combo } => {
                let (mods, key) = match typing.parse_combo(&combo) {
                    Ok(k) => k,
                    Err(e) => return Reply::error(e.to_string()),
                };
                for m in &mods {
                    self.keyboard_key(*m, KeyState::Pressed, time);
                }
                self.keyboard_key(key, KeyState::Pressed, time);
                self.keyboard_key(key, KeyState::Released, time);
                for m in mods.iter().rev() {
                    self.keyboard_key(*m, KeyState::Released, time);
                }
            }
            InputRequest::Type { text } => {
                let keys: Result<Vec<_>, _> =
                    text.chars().map(|c| typing.key_for_char(c)).collect();
                let keys = match keys {
                    Ok(k) => k,
                    Err(e) => return Reply::error(e.to_string()),
                };
                for (key, shift) in keys {
                    if shift {
                        self.keyboard_key(crate::input::typing_shift(), KeyState::Pressed, time);
                    }
                    self.keyboard_key(key, KeyState::Pressed, time);
                    self.keyboard_key(key, KeyState::Released, time);
                    if shift {
                        self.keyboard_key(crate::input::typing_shift(), KeyState::Released, time);
                    }
                }
            }
            InputRequest::PointerMove { x, y } => {
                if !x.is_finite() || !y.is_finite() {
                    return Reply::error("coordinates must be finite numbers");
                }
                self.pointer_motion_to((x, y).into(), time);
            }
            InputRequest::PointerMoveBy { dx, dy } => {
                if !dx.is_finite() || !dy.is_finite() {
                    return Reply::error("distances must be finite numbers");
                }
                let delta = (dx, dy).into();
                self.pointer_motion_relative(delta, delta, u64::from(time) * 1000);
            }
            InputRequest::Click { button }
            | InputRequest::Press { button }
            | InputRequest::Release { button } => {
                let code = match button.as_str() {
                    "left" => BTN_LEFT,
                    "right" => BTN_RIGHT,
                    "middle" => 0x112,
                    other => {
                        return Reply::error(format!(
                            "unknown button {other:?} (left, right, middle)"
                        ))
                    }
                };
                if press {
                    self.pointer_button(code, ButtonState::Pressed, time);
                }
                if release {
                    self.pointer_button(code, ButtonState::Released, time);
                }
            }
            InputRequest::TabletMove {
                x,
                y,
                pressure,
                tilt,
            } => {
                let finite = [x, y]
                    .iter()
                    .chain(pressure.iter())
                    .chain(tilt.iter().flatten())
                    .all(|v| v.is_finite());
                if !finite {
                    return Reply::error("tablet values must be finite numbers");
                }
                let axes = crate::input::tablet::ToolAxes {
                    pressure: pressure.map(|p| p.clamp(0.0, 1.0)),
                    tilt: tilt.map(|[a, b]| (a.clamp(-90.0, 90.0), b.clamp(-90.0, 90.0))),
                    ..Default::default()
                };
                self.tablet_tool_at(
                    &crate::input::tablet::synthetic_tablet(),
                    &crate::input::tablet::synthetic_pen(),
                    (x, y).into(),
                    axes,
                    time,
                );
            }
            InputRequest::TabletTip { down } => {
                self.tablet_tip(&crate::input::tablet::synthetic_pen(), down, time)
            }
            InputRequest::TabletOut => {
                self.tablet_tool_out(&crate::input::tablet::synthetic_pen(), time)
            }
        }
        if let Err(e) = self.display_handle.flush_clients() {
            tracing::debug!(%e, "flush after injected input");
        }
        Reply::ok(Value::Null)
    }
}
