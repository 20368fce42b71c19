//! The figures as `ghostcomp msg stats` answers them (JSON), as it prints them for a
//! person, and as the overlay's panel lines: all three from the one JSON, so the panel,
//! the command and scripts never disagree.

use serde_json::{json, Value};

use super::panel::PanelData;
use crate::state::Ghost;

fn nanos(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Ghost {
    /// Everything `msg stats` reports.
    pub fn stats_json(&self) -> Value {
        let now = nanos(self.now());
        let outputs: Vec<Value> = self
            .space
            .outputs()
            .map(|o| {
                let name = o.name();
                let kms = match &self.backend {
                    crate::backend::Backend::Kms(k) => k.describe(o),
                    _ => None,
                };
                let kms = kms.unwrap_or(Value::Null);
                let frames = self
                    .telemetry
                    .output_frames(&name)
                    .map(|f| f.summary(now))
                    .unwrap_or_default();
                json!({
                    "name": name,
                    "refresh_hz": o.current_mode().map(|m| f64::from(m.refresh) / 1000.0),
                    "vrr": kms["vrr"]["enabled"].as_bool().unwrap_or(false),
                    "frames": frames,
                    "planes": kms["client_planes"]["planes"].as_array().cloned().unwrap_or_default(),
                    "cursor_on_plane": kms["cursor_plane"]["visible"].as_bool().unwrap_or(false),
                    "backend": self.backend.name(),
                })
            })
            .collect();
        let focused = self.focused_window();
        let windows: Vec<Value> = self
            .space
            .elements()
            .filter_map(|w| {
                let surface = crate::shell::toplevel_surface(w)?;
                let (committed, shown) = self
                    .telemetry
                    .window_cadence(&surface)
                    .map(|(c, s)| (c.summary(now), s.summary(now)))
                    .unwrap_or_default();
                let (title, app_id) = crate::shell::window_title_and_app_id(w);
                Some(json!({
                    "id": crate::shell::window_data(w).id,
                    "app_id": app_id,
                    "title": title,
                    "focused": focused.as_ref() == Some(w),
                    "frames": committed,
                    "shown": shown,
                }))
            })
            .collect();
        let (gpus, unavailable, cost, age) = match &self.telemetry.gpus {
            Some((s, at)) => (
                json!(s.gpus),
                json!(s
                    .unavailable
                    .iter()
                    .map(|(source, why)| json!({"source": source, "why": why}))
                    .collect::<Vec<_>>()),
                json!(s.cost_us),
                json!(at.elapsed().as_millis() as u64),
            ),
            None => (json!([]), json!([]), Value::Null, Value::Null),
        };
        let overlay = &self.telemetry.overlay;
        json!({
            "gpus": gpus,
            "gpu_sources_unavailable": unavailable,
            "gpu_sample_cost_us": cost,
            "gpu_sample_age_ms": age,
            "outputs": outputs,
            "windows": windows,
            "overlay": {
                "on": overlay.on,
                "output": overlay.output().map(|o| o.name()),
                "draw_cost_us": overlay.cost_us,
                "updates": overlay.updates,
            },
        })
    }

    /// The panel's figures for `output`.
    pub(super) fn panel_data(&self, output: &smithay::output::Output) -> PanelData {
        let stats = self.stats_json();
        let name = output.name();
        let this = stats["outputs"]
            .as_array()
            .and_then(|all| all.iter().find(|o| o["name"] == name.as_str()))
            .cloned()
            .unwrap_or(Value::Null);
        let refresh = this["refresh_hz"].as_f64().unwrap_or(60.0);
        let mut lines = output_lines(&this);
        lines.extend(gpu_lines(&stats, true));
        if let Some(w) = stats["windows"]
            .as_array()
            .and_then(|all| all.iter().find(|w| w["focused"] == true))
        {
            lines.push(window_line(w));
        }
        lines.push(format!(
            "overlay {:.2} ms a draw, GPU sample {} µs",
            self.telemetry.overlay.cost_us / 1000.0,
            stats["gpu_sample_cost_us"]
                .as_u64()
                .map_or("-".into(), |c| c.to_string()),
        ));
        PanelData {
            title: format!(
                "{name}  {refresh:.0} Hz  VRR {}",
                if this["vrr"] == true { "on" } else { "off" }
            ),
            lines,
            graph_ms: self
                .telemetry
                .output_frames(&name)
                .map(|f| f.graph(200))
                .unwrap_or_default(),
            period_ms: 1000.0 / refresh.max(1.0),
        }
    }
}

fn f(v: &Value, digits: usize) -> String {
    v.as_f64().map_or("-".into(), |x| format!("{x:.digits$}"))
}

/// An output's frame lines.
fn output_lines(o: &Value) -> Vec<String> {
    let fr = &o["frames"];
    let planes = o["planes"].as_array().map_or(0, Vec::len);
    vec![
        format!(
            "frame {} ms p99 {}  {} fps  missed {}/{}",
            f(&fr["frame_ms"], 2),
            f(&fr["frame_ms_p99"], 2),
            f(&fr["fps"], 0),
            fr["missed_last_second"],
            fr["missed_total"],
        ),
        format!(
            "render {} ms max {}  to vblank {} ms",
            f(&fr["render_ms"], 2),
            f(&fr["render_ms_max"], 2),
            f(&fr["to_vblank_ms"], 2),
        ),
        format!(
            "planes: {planes} window(s), cursor {}",
            if o["cursor_on_plane"] == true {
                "on its plane"
            } else {
                "composited"
            }
        ),
    ]
}

/// Three lines a GPU, or why there are none (`brief`: the sources' names alone, for
/// the panel).
fn gpu_lines(stats: &Value, brief: bool) -> Vec<String> {
    let gpus = stats["gpus"].as_array().cloned().unwrap_or_default();
    if gpus.is_empty() {
        let why: Vec<String> = stats["gpu_sources_unavailable"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|u| {
                        let source = u["source"].as_str().unwrap_or("?");
                        let why = u["why"].as_str().unwrap_or("?");
                        match brief {
                            true => format!("{source} {}", why.split(':').next().unwrap_or(why)),
                            false => format!("{source}: {why}"),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        return vec![format!(
            "GPU: no figures{}",
            if why.is_empty() {
                String::new()
            } else {
                format!(" ({})", why.join("; "))
            }
        )];
    }
    let gib = |v: &Value| {
        v.as_f64()
            .map_or("-".into(), |b| format!("{:.1}", b / (1u64 << 30) as f64))
    };
    gpus.iter()
        .flat_map(|g| {
            let throttle: Vec<&str> = g["throttle_reasons"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            [
                format!(
                    "{}: {} °C  {}/{} W",
                    g["name"].as_str().unwrap_or("GPU"),
                    f(&g["temperature_c"], 0),
                    f(&g["power_w"], 1),
                    f(&g["power_limit_w"], 0),
                ),
                format!(
                    "  {} MHz  busy {}%  enc {}% dec {}%",
                    g["core_clock_mhz"]
                        .as_u64()
                        .map_or("-".into(), |v| v.to_string()),
                    g["gpu_busy_percent"]
                        .as_u64()
                        .map_or("-".into(), |v| v.to_string()),
                    g["encoder_busy_percent"]
                        .as_u64()
                        .map_or("-".into(), |v| v.to_string()),
                    g["decoder_busy_percent"]
                        .as_u64()
                        .map_or("-".into(), |v| v.to_string()),
                ),
                format!(
                    "  VRAM {}/{} GiB  {}",
                    gib(&g["vram_used_bytes"]),
                    gib(&g["vram_total_bytes"]),
                    if throttle.is_empty() {
                        "not throttled".to_owned()
                    } else {
                        format!("throttled: {}", throttle.join(", "))
                    }
                ),
            ]
        })
        .collect()
}

/// A window's line.
fn window_line(w: &Value) -> String {
    let fr = &w["frames"];
    format!(
        "{}: {} fps ({} shown)  p99 {} ms  1% low {}",
        w["app_id"]
            .as_str()
            .filter(|a| !a.is_empty())
            .unwrap_or("window"),
        f(&fr["fps"], 0),
        f(&w["shown"]["fps"], 0),
        f(&fr["frame_ms_p99"], 1),
        f(&fr["low_1pct_fps"], 0),
    )
}

/// `msg stats` for a person.
pub fn format_stats(stats: &Value) -> String {
    let mut out = String::new();
    for line in gpu_lines(stats, false) {
        out += &format!("{line}\n");
    }
    for o in stats["outputs"].as_array().into_iter().flatten() {
        out += &format!(
            "{} ({}, {} Hz, VRR {})\n",
            o["name"].as_str().unwrap_or("?"),
            o["backend"].as_str().unwrap_or("?"),
            f(&o["refresh_hz"], 2),
            if o["vrr"] == true { "on" } else { "off" }
        );
        for line in output_lines(o) {
            out += &format!("  {line}\n");
        }
    }
    for w in stats["windows"].as_array().into_iter().flatten() {
        out += &format!("window {} {}\n", w["id"], window_line(w));
    }
    let overlay = &stats["overlay"];
    out += &format!(
        "overlay {}\n",
        if overlay["on"] == true {
            format!(
                "on {} ({:.2} ms a draw)",
                overlay["output"].as_str().unwrap_or("?"),
                overlay["draw_cost_us"].as_f64().unwrap_or(0.0) / 1000.0
            )
        } else {
            "off".into()
        }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_reads_every_source_of_figures() {
        let stats = json!({
            "gpus": [{"name": "NVIDIA H100", "source": "nvml", "temperature_c": 31.0, "power_w": 71.5,
                      "power_limit_w": 700.0, "core_clock_mhz": 345, "gpu_busy_percent": 0,
                      "encoder_busy_percent": null, "vram_used_bytes": 1073741824u64,
                      "vram_total_bytes": 85899345920u64, "throttle_reasons": ["power cap"]}],
            "outputs": [{"name": "HEADLESS-1", "backend": "headless", "refresh_hz": 60.0, "vrr": false,
                         "frames": {"fps": 60.0, "frame_ms": 16.67, "frame_ms_p99": 16.9,
                                    "missed_last_second": 0, "missed_total": 2},
                         "planes": [], "cursor_on_plane": false}],
            "windows": [{"id": 3, "app_id": "foot", "frames": {"fps": 59.9, "frame_ms_p99": 17.0, "low_1pct_fps": 58.8},
                         "shown": {"fps": 59.5}}],
            "overlay": {"on": false},
        });
        let text = format_stats(&stats);
        for want in [
            "NVIDIA H100: 31 °C  71.5/700 W",
            "345 MHz  busy 0%  enc -% dec -%",
            "VRAM 1.0/80.0 GiB  throttled: power cap",
            "HEADLESS-1 (headless, 60.00 Hz, VRR off)",
            "frame 16.67 ms p99 16.90  60 fps  missed 0/2",
            "window 3 foot: 60 fps (60 shown)  p99 17.0 ms  1% low 59",
            "overlay off",
        ] {
            assert!(text.contains(want), "{want:?} missing from:\n{text}");
        }
        let none = format_stats(
            &json!({"gpu_sources_unavailable": [{"source": "nvml", "why": "not available: NVML did not load"}]}),
        );
        assert!(
            none.starts_with("GPU: no figures (nvml: not available: NVML did not load)"),
            "{none}"
        );
    }
}
