//! The clean mic at run time: started, changed and stopped with `[voice]` (and
//! `msg voice set`), made the default source while a screen share runs, reported by
//! `msg voice`. The processing and PipeWire live in `ghost_capture::audio::clean_mic`.

use ghost_capture::audio::clean_mic::{CleanMic, CleanMicSettings, NODE_NAME};
use ghost_config::NoiseSuppression;
use ghost_voice::{Mode, Options};
use serde_json::{json, Value};
use tracing::{info, warn};

use crate::state::Ghost;

/// The clean mic and what `msg voice set` changed until the next config load.
#[derive(Default)]
pub struct Voice {
    mic: Option<CleanMic>,
    mode: Option<Mode>,
    echo: Option<bool>,
    problem: Option<String>,
}

fn mode_of(setting: NoiseSuppression) -> Mode {
    match setting {
        NoiseSuppression::Light => Mode::Light,
        NoiseSuppression::Quality => Mode::Quality,
        NoiseSuppression::Off => Mode::Off,
    }
}

impl Ghost {
    fn voice_settings(&self) -> CleanMicSettings {
        let config = &self.config.voice;
        CleanMicSettings {
            mode: self.voice.mode.unwrap_or(mode_of(config.noise_suppression)),
            options: Options {
                high_pass: config.high_pass,
                gain_control: config.gain_control,
                echo_cancel: self.voice.echo.unwrap_or(config.echo_cancellation),
            },
            microphone: config.microphone.clone(),
        }
    }

    /// Applies `[voice]`: a loaded config drops what `msg voice set` changed.
    pub fn voice_config_changed(&mut self) {
        self.voice.mode = None;
        self.voice.echo = None;
        self.voice_apply();
    }

    fn voice_apply(&mut self) {
        if !self.config.voice.enabled {
            if self.voice.mic.take().is_some() {
                info!("clean mic removed");
            }
            return;
        }
        let settings = self.voice_settings();
        match &self.voice.mic {
            Some(mic) => mic.update(settings),
            None => match CleanMic::start(settings) {
                Ok(mic) => {
                    self.voice.mic = Some(mic);
                    self.voice.problem = None;
                }
                Err(e) => {
                    warn!(%e, "no clean mic");
                    self.voice.problem = Some(e);
                }
            },
        }
        self.voice_sharing_changed();
    }

    /// A screen share started or ended: the clean mic is the default source while any
    /// runs (unless `default_while_sharing = false`), and the old default after.
    pub fn voice_sharing_changed(&mut self) {
        if let Some(mic) = &self.voice.mic {
            mic.make_default(self.voice_takes_default());
        }
    }

    /// Whether the clean mic should be the default source now.
    fn voice_takes_default(&self) -> bool {
        self.casts.active() && self.config.voice.default_while_sharing
    }

    /// `msg voice`.
    pub fn voice_json(&self) -> Value {
        let Some(mic) = &self.voice.mic else {
            return json!({
                "enabled": self.config.voice.enabled,
                "running": false,
                "problem": self.voice.problem,
            });
        };
        let s = mic.status();
        let settings = self.voice_settings();
        json!({
            "enabled": true,
            "running": s.running,
            "problem": s.problem,
            "node": NODE_NAME,
            "microphone": s.microphone,
            "mode": settings.mode.name(),
            "echo_cancellation": settings.options.echo_cancel,
            "latency_ms": s.latency_ms,
            "cpu_percent": s.cpu_percent,
            "suppression_db": s.suppression_db,
            "speech": s.speech,
            "erle_db": s.erle_db,
            "echo_delay_ms": s.echo_delay_ms,
            "reference_clock_ppm": s.reference_clock_ppm,
            "default_source": s.is_default,
            "sharing": self.voice_takes_default(),
        })
    }

    /// `msg voice set`: a mode or echo cancellation until the config is loaded again.
    pub fn voice_set(&mut self, mode: Option<&str>, echo: Option<bool>) -> Result<Value, String> {
        if !self.config.voice.enabled {
            return Err("the clean mic is off: [voice] enabled = true turns it on".into());
        }
        if let Some(word) = mode {
            let mode = Mode::from_name(word)
                .ok_or_else(|| format!("unknown mode {word}: light, quality or off"))?;
            self.voice.mode = Some(mode);
        }
        if echo.is_some() {
            self.voice.echo = echo;
        }
        self.voice_apply();
        Ok(self.voice_json())
    }
}
