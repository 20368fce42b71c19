//! The configuration at run time: loading, applying, and hot reload. A file that does
//! not parse never replaces the running settings: its problems are logged, returned to
//! `ghostcomp msg reload`, and shown on screen until dismissed or fixed.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use ghost_config::{Config, ModeSetting};
use inotify::{Inotify, WatchMask};
use smithay::{
    input::keyboard::XkbConfig,
    output::{Mode, Output, Scale},
    reexports::calloop::{
        generic::Generic,
        timer::{TimeoutAction, Timer},
        Interest, Mode as TriggerMode, PostAction,
    },
    utils::Transform,
};
use tracing::{info, warn};

use crate::{backend::OutputModes, state::Ghost};

/// Where the running configuration came from and what went wrong last.
#[derive(Debug, Default)]
pub struct ConfigSource {
    /// The file read (None: built-in defaults).
    pub path: Option<PathBuf>,
    /// Bumped on every successful (re)load, so scripts can wait for one.
    pub generation: u64,
    /// Problems of the last attempt, shown on screen until dismissed.
    pub last_error: Option<String>,
    reload_pending: bool,
}

impl ConfigSource {
    /// The source for a file given on the command line, else the default search path.
    pub fn new(explicit: Option<PathBuf>) -> Self {
        Self {
            path: explicit.or_else(Config::default_path),
            ..Self::default()
        }
    }

    /// The path hot reload watches: the file in use, or the user's file to be.
    fn watched(&self) -> Option<PathBuf> {
        self.path.clone().or_else(Config::user_path)
    }

    /// Reads the configuration (defaults when there is no file).
    pub fn load(&self) -> Result<Config, ghost_config::ConfigError> {
        match &self.path {
            Some(path) if path.exists() => Config::load(path),
            _ => Ok(Config::default()),
        }
    }
}

/// The seat's keymap settings from `[input]`.
pub fn xkb_config(input: &ghost_config::InputConfig) -> XkbConfig<'_> {
    XkbConfig {
        layout: &input.xkb_layout,
        variant: &input.xkb_variant,
        model: &input.xkb_model,
        options: input.xkb_options.clone(),
        ..XkbConfig::default()
    }
}

fn to_transform(t: ghost_config::Transform) -> Transform {
    use ghost_config::Transform as T;
    match t {
        T::Normal => Transform::Normal,
        T::Rotate90 => Transform::_90,
        T::Rotate180 => Transform::_180,
        T::Rotate270 => Transform::_270,
        T::Flipped => Transform::Flipped,
        T::Flipped90 => Transform::Flipped90,
        T::Flipped180 => Transform::Flipped180,
        T::Flipped270 => Transform::Flipped270,
    }
}

impl Ghost {
    /// The first `[[output]]` section naming `output`: by connector, or by each of
    /// make (vendor name or PNP id), model and serial it gives, as `ghostcomp edid`
    /// shows them.
    pub fn output_section(&self, output: &Output) -> Option<&ghost_config::OutputConfig> {
        section_for(&self.config.output, output)
    }

    /// Applies the matching `[[output]]` section (if any) to `output`.
    pub fn apply_output_settings(&mut self, output: &Output) {
        let section = self.output_section(output).cloned();
        self.apply_output_colour(output, section.as_ref());
        let Some(section) = section else {
            return;
        };
        if !section.enabled {
            self.disable_output(output);
            self.output_management_changed();
            return;
        }
        self.enable_output(output, section.position);
        let modes = output
            .user_data()
            .get::<OutputModes>()
            .map(OutputModes::list)
            .unwrap_or_default();
        let current = output.current_mode();
        let wanted = match section.mode {
            None => None,
            Some(ModeSetting::Preferred) => output.preferred_mode(),
            Some(ModeSetting::HighestRefresh) => modes
                .iter()
                .copied()
                .max_by_key(|m| (m.size.w * m.size.h, m.refresh)),
            Some(ModeSetting::Exact(spec)) => {
                let same_size = modes
                    .iter()
                    .copied()
                    .filter(|m| m.size.w == spec.width && m.size.h == spec.height);
                let refresh = spec.refresh_mhz.unwrap_or(60_000);
                let asked = Mode {
                    size: (spec.width, spec.height).into(),
                    refresh,
                };
                match same_size.min_by_key(|m| (m.refresh - refresh).abs()) {
                    // A rate the output does not list (farther than the half hertz
                    // "@60" leaves open for 59.94): a custom mode.
                    Some(m)
                        if spec
                            .refresh_mhz
                            .is_some_and(|r| (m.refresh - r).abs() > 500) =>
                    {
                        Some(asked)
                    }
                    Some(m) => Some(m),
                    None => Some(asked),
                }
            }
        };
        if let Some(line) = &section.modeline {
            if let Err(err) = self.set_output_modeline(output, line) {
                warn!(%err, output = output.name(), "configured modeline refused; keeping the current mode");
            }
        } else if let Some(mode) = wanted.filter(|m| Some(*m) != current) {
            if let Err(err) = self.set_output_mode(output, mode) {
                warn!(%err, output = output.name(), "configured mode refused; keeping the current one");
            }
        }
        output.change_current_state(
            None,
            Some(to_transform(section.transform)),
            section.scale.map(Scale::Fractional),
            None,
        );
        if let Some(pos) = section.position {
            self.space.map_output(output, pos);
        }
        self.relayout_after_output_change(output);
    }

    /// Drives `output` in HDR (PQ, BT.2020, with the configured luminances) when its
    /// section says `hdr = "on"` and the renderer can, else in sRGB.
    fn apply_output_colour(
        &mut self,
        output: &Output,
        section: Option<&ghost_config::OutputConfig>,
    ) {
        use ghost_hdr::{ImageDescription, Luminances};
        let wants_hdr = section.is_some_and(|s| s.hdr == ghost_config::Toggle::On);
        let deep = section
            .and_then(|s| s.max_bpc)
            .is_some_and(|bits| bits > 10);
        output
            .user_data()
            .insert_if_missing_threadsafe(crate::backend::headless::DeepColour::default);
        if let Some(d) = output
            .user_data()
            .get::<crate::backend::headless::DeepColour>()
        {
            d.0.store(deep, std::sync::atomic::Ordering::Relaxed);
        }
        let kms = matches!(self.backend, crate::backend::Backend::Kms(_));
        let description = match section {
            Some(s) if wants_hdr && self.backend.supports_hdr() => {
                let luminances = if kms {
                    let wish = crate::backend::kms::hdr::HdrWish {
                        max: s.max_luminance,
                        min: s.min_luminance,
                        reference: s.sdr_brightness,
                        bpc: s.max_bpc.map_or(10, u32::from),
                    };
                    crate::backend::kms::hdr::set_hdr(self, output, Some(wish))
                } else {
                    let max = s.max_luminance.unwrap_or(1000.0);
                    let min = s.min_luminance.unwrap_or(0.005).min(max / 2.0);
                    Some(Luminances {
                        min,
                        max,
                        reference: s.sdr_brightness.clamp(min * 2.0, max),
                    })
                };
                match luminances {
                    Some(luminances) => ImageDescription {
                        luminances,
                        ..ImageDescription::bt2100_pq()
                    },
                    None => ImageDescription::srgb(),
                }
            }
            _ => {
                if wants_hdr {
                    warn!(
                        output = output.name(),
                        "HDR needs the GLES renderer (--renderer gles); the output stays SDR"
                    );
                }
                if kms {
                    crate::backend::kms::hdr::set_hdr(self, output, None);
                }
                ImageDescription::srgb()
            }
        };
        self.set_output_description(output, description);
    }

    /// Makes `config` the running configuration and applies what changed.
    pub fn apply_config(&mut self, config: Config) {
        let old = std::mem::replace(&mut self.config, config);
        let input = self.config.input.clone();
        if input != old.input {
            if let Some(keyboard) = self.seat.get_keyboard() {
                if let Err(err) = keyboard.set_xkb_config(self, xkb_config(&input)) {
                    warn!(%err, "the configured keymap does not compile; keeping the old one");
                }
                keyboard.change_repeat_info(input.repeat_rate, input.repeat_delay);
            }
            self.typing = None;
        }
        if self.config.output != old.output {
            let mut outputs = self.outputs();
            outputs.extend(self.disabled_outputs.clone());
            for output in outputs {
                self.apply_output_settings(&output);
            }
        }
        if self.config.window_rule != old.window_rule {
            let windows: Vec<_> = self.space.elements().cloned().collect();
            for window in windows {
                self.apply_live_rules(&window);
            }
        }
        // Recordings and streams keep the settings they started with; the replay ring
        // starts again with the new ones.
        if self.config.capture != old.capture {
            self.recordings_config_changed();
        }
        if self.config.voice != old.voice {
            self.voice_config_changed();
        }
        if self.config.telemetry != old.telemetry {
            self.telemetry_reconfigured();
        }
        self.queue_redraw_all();
    }

    /// Re-reads the file. On success the new settings apply; on failure the running ones
    /// stay, and the problems are logged, shown on screen and returned.
    pub fn reload_config(&mut self) -> Result<(), String> {
        self.config_source.reload_pending = false;
        match self.config_source.load() {
            Ok(config) => {
                self.config_source.generation += 1;
                self.config_source.last_error = None;
                self.set_notification(None);
                self.apply_config(config);
                self.arm_idle_timer();
                info!(
                    generation = self.config_source.generation,
                    "configuration reloaded"
                );
                Ok(())
            }
            Err(err) => {
                let text = err.to_string();
                warn!("configuration not reloaded; keeping the running one:\n{text}");
                self.config_source.last_error = Some(text.clone());
                self.set_notification(Some(format!(
                    "Configuration not reloaded (click to dismiss)\n{text}"
                )));
                Err(text)
            }
        }
    }

    /// Watches the configuration file's folder, so editors that replace the file are
    /// seen too, and reloads shortly after it changes.
    pub fn watch_config(&mut self) {
        let Some(path) = self.config_source.watched() else {
            return;
        };
        let (Some(dir), Some(name)) = (
            path.parent().map(Path::to_owned),
            path.file_name().map(|n| n.to_owned()),
        ) else {
            return;
        };
        // The user's folder is created so a first config file written later is seen.
        if self.config_source.path.is_none() {
            if let Err(err) = std::fs::create_dir_all(&dir) {
                warn!(%err, dir = %dir.display(), "cannot create the configuration folder");
            }
        }
        let inotify = match Inotify::init() {
            Ok(i) => i,
            Err(err) => {
                warn!(%err, "no hot reload: inotify unavailable");
                return;
            }
        };
        let mask =
            WatchMask::CLOSE_WRITE | WatchMask::MOVED_TO | WatchMask::CREATE | WatchMask::DELETE;
        if let Err(err) = inotify.watches().add(&dir, mask) {
            warn!(%err, dir = %dir.display(), "no hot reload: cannot watch the configuration folder");
            return;
        }
        if self.config_source.path.is_none() {
            self.config_source.path = Some(path.clone());
        }
        let source = Generic::new(inotify, Interest::READ, TriggerMode::Level);
        let result = self
            .loop_handle
            .insert_source(source, move |_, inotify, state| {
                let mut buffer = [0u8; 4096];
                // SAFETY: the inotify instance is only read here and never closed while registered.
                let inotify = unsafe { inotify.get_mut() };
                let mut ours = false;
                while let Ok(events) = inotify.read_events(&mut buffer) {
                    let mut any = false;
                    for event in events {
                        any = true;
                        ours |= event.name == Some(name.as_os_str());
                    }
                    if !any {
                        break;
                    }
                }
                if ours {
                    state.schedule_config_reload();
                }
                Ok(PostAction::Continue)
            });
        match result {
            Ok(_) => info!(path = %path.display(), "watching the configuration for changes"),
            Err(err) => warn!(%err, "no hot reload"),
        }
    }

    /// Reloads 50 ms from now, once however many events an editor's save makes.
    fn schedule_config_reload(&mut self) {
        if self.config_source.reload_pending {
            return;
        }
        self.config_source.reload_pending = true;
        let timer = Timer::from_duration(Duration::from_millis(50));
        if let Err(err) = self.loop_handle.insert_source(timer, |_, _, state| {
            let _ = state.reload_config();
            TimeoutAction::Drop
        }) {
            warn!(%err, "cannot schedule a configuration reload");
            self.config_source.reload_pending = false;
        }
    }
}

/// The first of `sections` that names `output`: by connector, or by each identifier it
/// gives, matched against the monitor's identity from its EDID (kept in the output's
/// user data by the KMS backend) or, for virtual and nested outputs, against the make
/// and model they announce.
pub fn section_for<'a>(
    sections: &'a [ghost_config::OutputConfig],
    output: &Output,
) -> Option<&'a ghost_config::OutputConfig> {
    let find = |identity: &ghost_kms::OutputIdentity| {
        sections.iter().find(|o| {
            identity.matches(
                o.name.as_deref(),
                o.make.as_deref(),
                o.model.as_deref(),
                o.serial.as_deref(),
            )
        })
    };
    // Borrowed where the backend keeps one: this runs for every frame on KMS.
    if let Some(identity) = output.user_data().get::<ghost_kms::OutputIdentity>() {
        return find(identity);
    }
    let props = output.physical_properties();
    find(&ghost_kms::OutputIdentity {
        connector: output.name(),
        make: props.make,
        pnp_id: String::new(),
        model: props.model,
        serial: String::new(),
        needs_connector: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use smithay::output::{PhysicalProperties, Subpixel};

    fn config(text: &str) -> ghost_config::Config {
        ghost_config::Config::parse(text, std::path::Path::new("config.toml")).expect("valid")
    }

    fn output(name: &str, make: &str, model: &str) -> Output {
        Output::new(
            name.into(),
            PhysicalProperties {
                size: (0, 0).into(),
                subpixel: Subpixel::Unknown,
                make: make.into(),
                model: model.into(),
            },
        )
    }

    /// A real monitor (testdata/edid/00D225DDE8CF.bin): sections by PNP id and serial,
    /// as `ghostcomp edid` shows them, apply wherever it is plugged in.
    #[test]
    fn a_monitor_is_found_by_its_pnp_id_model_and_serial_on_any_connector() {
        let edid = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../testdata/edid/00D225DDE8CF.bin"
        ))
        .expect("the EDID");
        let info = ghost_kms::DisplayInfo::parse(&edid);
        let identity = ghost_kms::OutputIdentity::new("DP-3", Some(&info));
        assert!(!identity.serial.is_empty(), "{identity:?}");
        let monitor = output("DP-3", &identity.make, &identity.model);
        monitor.user_data().insert_if_missing(|| identity.clone());
        let sections = config(&format!(
            "[[output]]\nmake = \"{}\"\nserial = \"other\"\nscale = 1.5\n\n\
             [[output]]\nmake = \"{}\"\nmodel = \"{}\"\nserial = \"{}\"\nscale = 2.0\n",
            identity.pnp_id, identity.pnp_id, identity.model, identity.serial
        ));
        let found = section_for(&sections.output, &monitor).expect("a section");
        assert_eq!(found.scale, Some(2.0));
        // Another monitor of the same model, with its own serial: no section.
        let mut twin = identity.clone();
        twin.serial = "another".into();
        let other = output("DP-4", &twin.make, &twin.model);
        other.user_data().insert_if_missing(|| twin);
        assert!(section_for(&sections.output, &other).is_none());
    }

    /// The Samsung section of the config tests' file applies to that monitor by make,
    /// model and serial, and not to a Dell of the same model name without a serial.
    #[test]
    fn a_section_by_make_model_and_serial_names_that_monitor_only() {
        let sections = config(
            "[[output]]\nmake = \"Samsung Electric Company\"\nmodel = \"LS28AG700N\"\n\
             serial = \"H4ZR\"\nscale = 2.0\n",
        );
        let with = |make: &str, serial: &str| {
            let out = output("DP-2", make, "LS28AG700N");
            out.user_data()
                .insert_if_missing(|| ghost_kms::OutputIdentity {
                    connector: "DP-2".into(),
                    make: make.into(),
                    pnp_id: String::new(),
                    model: "LS28AG700N".into(),
                    serial: serial.into(),
                    needs_connector: false,
                });
            out
        };
        let samsung = with("Samsung Electric Company", "H4ZR");
        assert_eq!(
            section_for(&sections.output, &samsung).and_then(|s| s.scale),
            Some(2.0)
        );
        assert!(section_for(&sections.output, &with("Dell", "")).is_none());
    }

    #[test]
    fn virtual_outputs_match_by_connector_or_the_make_they_announce() {
        let sections = config(
            "[[output]]\nname = \"HEADLESS-2\"\nscale = 2.0\n\n\
             [[output]]\nmake = \"ghostnv\"\nscale = 1.5\n",
        );
        let named = output("HEADLESS-2", "Unknown", "Unknown");
        assert_eq!(
            section_for(&sections.output, &named).and_then(|s| s.scale),
            Some(2.0)
        );
        let nested = output("WINIT-1", "GhostNV", "Nested window");
        assert_eq!(
            section_for(&sections.output, &nested).and_then(|s| s.scale),
            Some(1.5)
        );
        assert!(section_for(&sections.output, &output("HEADLESS-1", "Unknown", "x")).is_none());
    }
}
