//! GPUs other than NVIDIA's through the kernel's own files: the DRM device's sysfs
//! attributes and its hwmon node (Documentation/gpu/amdgpu/thermal.rst, the hwmon
//! sysfs-interface, i915's and xe's frequency files). Each driver exposes a different
//! subset; whatever a file does not say stays `None`. A file that disappears (a GPU
//! unplugged or its driver unbound) only drops its figure; a GPU whose directory is
//! gone drops out of the list.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::{GpuReading, Provider, TelemetryError};

/// The sysfs source for every non-NVIDIA DRM device (NVML covers NVIDIA's, whose
/// driver has no hwmon node).
pub struct HwmonProvider {
    sys_class_drm: PathBuf,
    /// The last energy counter reading of each hwmon node (µJ and when), for boards
    /// that report energy rather than power (i915, xe).
    energy: HashMap<PathBuf, (u64, Instant)>,
}

fn read_u64(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn first_hwmon(device: &Path) -> Option<PathBuf> {
    let mut nodes: Vec<PathBuf> = std::fs::read_dir(device.join("hwmon"))
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    nodes.sort();
    nodes.into_iter().next()
}

fn mhz(hz: u64) -> u32 {
    u32::try_from(hz / 1_000_000).unwrap_or(u32::MAX)
}

impl HwmonProvider {
    /// The source for the devices under `sys_class_drm` (normally /sys/class/drm).
    pub fn new(sys_class_drm: &Path) -> Self {
        Self {
            sys_class_drm: sys_class_drm.to_owned(),
            energy: HashMap::new(),
        }
    }

    /// The cards (`cardN`, not their connectors) with their drivers.
    fn cards(&self) -> Vec<(String, PathBuf, String)> {
        let Ok(entries) = std::fs::read_dir(&self.sys_class_drm) else {
            return Vec::new();
        };
        let mut cards: Vec<(String, PathBuf, String)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let digits = name.strip_prefix("card")?;
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let card = e.path();
                let driver = std::fs::read_link(card.join("device/driver"))
                    .ok()?
                    .file_name()?
                    .to_str()?
                    .to_owned();
                Some((name, card, driver))
            })
            .collect();
        cards.sort();
        cards
    }

    fn read_card(&mut self, name: &str, card: &Path, driver: &str, now: Instant) -> GpuReading {
        let device = card.join("device");
        let hwmon = first_hwmon(&device);
        let at = |file: &str| hwmon.as_ref().and_then(|h| read_u64(&h.join(file)));
        let power_uw = at("power1_average").or_else(|| at("power1_input"));
        let power_w = power_uw
            .map(|uw| uw as f64 / 1e6)
            .or_else(|| self.power_from_energy(hwmon.as_deref(), now));
        let core_clock_mhz = at("freq1_input")
            .map(mhz)
            .or_else(|| read_u64(&card.join("gt_act_freq_mhz")).and_then(|v| u32::try_from(v).ok()))
            .or_else(|| {
                read_u64(&device.join("tile0/gt0/freq0/act_freq"))
                    .and_then(|v| u32::try_from(v).ok())
            });
        let mut throttle_reasons = Vec::new();
        let gt = card.join("gt/gt0");
        for (file, word) in [
            ("throttle_reason_pl1", "power cap"),
            ("throttle_reason_pl2", "power cap"),
            ("throttle_reason_thermal", "thermal (hardware)"),
            ("throttle_reason_prochot", "thermal (hardware)"),
        ] {
            if read_u64(&gt.join(file)) == Some(1) && !throttle_reasons.contains(&word) {
                throttle_reasons.push(word);
            }
        }
        GpuReading {
            name: format!("{name} ({driver})"),
            source: "hwmon",
            temperature_c: at("temp1_input").map(|m| m as f64 / 1000.0),
            power_w,
            power_limit_w: at("power1_cap")
                .or_else(|| at("power1_max"))
                .map(|uw| uw as f64 / 1e6),
            core_clock_mhz,
            memory_clock_mhz: at("freq2_input").map(mhz),
            gpu_busy_percent: read_u64(&device.join("gpu_busy_percent"))
                .and_then(|v| u32::try_from(v).ok()),
            encoder_busy_percent: None,
            decoder_busy_percent: None,
            vram_used_bytes: read_u64(&device.join("mem_info_vram_used")),
            vram_total_bytes: read_u64(&device.join("mem_info_vram_total")),
            throttle_reasons,
        }
    }

    /// Power from the energy counter's rise since the last sample.
    fn power_from_energy(&mut self, hwmon: Option<&Path>, now: Instant) -> Option<f64> {
        let hwmon = hwmon?;
        let energy = read_u64(&hwmon.join("energy1_input"))?;
        let previous = self.energy.insert(hwmon.to_owned(), (energy, now));
        let (before, then) = previous?;
        let seconds = now.duration_since(then).as_secs_f64();
        (seconds > 0.0 && energy >= before).then(|| (energy - before) as f64 / 1e6 / seconds)
    }
}

impl Provider for HwmonProvider {
    fn name(&self) -> &'static str {
        "hwmon"
    }

    fn sample(&mut self) -> Result<Vec<GpuReading>, TelemetryError> {
        let now = Instant::now();
        let cards: Vec<_> = self
            .cards()
            .into_iter()
            .filter(|(_, _, driver)| driver != "nvidia")
            .collect();
        if cards.is_empty() {
            return Err(TelemetryError::Unavailable(format!(
                "no GPU with sysfs figures under {}",
                self.sys_class_drm.display()
            )));
        }
        // Devices with no figure at all (vkms, simpledrm, a board whose files went)
        // are no GPUs to report.
        let readings: Vec<GpuReading> = cards
            .iter()
            .map(|(name, card, driver)| self.read_card(name, card, driver, now))
            .filter(|r| {
                *r != GpuReading {
                    name: r.name.clone(),
                    source: "hwmon",
                    ..Default::default()
                }
            })
            .collect();
        if readings.is_empty() {
            return Err(TelemetryError::Unavailable(format!(
                "no GPU with sysfs figures under {}",
                self.sys_class_drm.display()
            )));
        }
        Ok(readings)
    }
}

#[cfg(test)]
mod tests;
