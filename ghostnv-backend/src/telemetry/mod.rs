//! GPU telemetry: temperature, power, clocks, engine load, memory and throttling, from
//! whichever source the machine has. NVIDIA GPUs answer through NVML
//! ([`nvml::NvmlProvider`], the library loaded at run time); amdgpu, i915 and xe
//! through sysfs and hwmon ([`hwmon::HwmonProvider`]). Each source is a [`Provider`];
//! [`Telemetry`] samples them all and keeps a failing one from costing anything: it is
//! reported once, skipped, and tried again only after [`RETRY_AFTER`].

pub mod hwmon;
pub mod nvml;

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

/// How long a provider that failed is left alone before it is tried again (a driver
/// reloaded, a GPU that came back), so a missing library or a vanished device costs
/// one attempt a minute, not one a sample.
pub const RETRY_AFTER: Duration = Duration::from_secs(60);

/// One GPU's figures at one moment; what a source does not report is `None`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GpuReading {
    /// The product name, or the DRM card for sysfs sources ("card1 (amdgpu)").
    pub name: String,
    /// Where the figures come from: "nvml" or "hwmon".
    pub source: &'static str,
    /// Core temperature in °C.
    pub temperature_c: Option<f64>,
    /// Board power draw in watts.
    pub power_w: Option<f64>,
    /// The power limit in force, in watts.
    pub power_limit_w: Option<f64>,
    /// Graphics (SM) clock in MHz.
    pub core_clock_mhz: Option<u32>,
    /// Memory clock in MHz.
    pub memory_clock_mhz: Option<u32>,
    /// Share of time the graphics engine was busy, in percent.
    pub gpu_busy_percent: Option<u32>,
    /// Share of time the video encoder was busy, in percent.
    pub encoder_busy_percent: Option<u32>,
    /// Share of time the video decoder was busy, in percent.
    pub decoder_busy_percent: Option<u32>,
    /// Video memory in use, in bytes.
    pub vram_used_bytes: Option<u64>,
    /// Video memory in all, in bytes.
    pub vram_total_bytes: Option<u64>,
    /// Why the clocks are held down now ("power cap", "thermal", …); empty when they
    /// are not, or the source does not say.
    pub throttle_reasons: Vec<&'static str>,
}

/// Why a provider gave no figures this time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TelemetryError {
    /// The source is not on this machine (no library, no device).
    #[error("not available: {0}")]
    Unavailable(String),
    /// The source was there and stopped answering.
    #[error("stopped answering: {0}")]
    Failed(String),
}

/// One source of GPU figures.
pub trait Provider: Send {
    /// A short name for reports ("nvml", "hwmon").
    fn name(&self) -> &'static str;
    /// The figures of every GPU this source knows, now.
    fn sample(&mut self) -> Result<Vec<GpuReading>, TelemetryError>;
}

/// What one round of sampling found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Snapshot {
    /// Every GPU any working source reported.
    pub gpus: Vec<GpuReading>,
    /// Sources that gave nothing, with why (kept while they are being skipped).
    pub unavailable: Vec<(String, String)>,
    /// What the round cost, in microseconds of wall time.
    pub cost_us: u64,
}

struct Slot {
    provider: Box<dyn Provider>,
    /// When it last failed and why; None while it works.
    failed: Option<(Instant, String)>,
    /// Rounds in which it was asked (for tests of the retry policy).
    attempts: u64,
}

/// Every provider of the machine, sampled together.
pub struct Telemetry {
    slots: Vec<Slot>,
}

impl Telemetry {
    /// The given providers.
    pub fn new(providers: Vec<Box<dyn Provider>>) -> Self {
        Self {
            slots: providers
                .into_iter()
                .map(|provider| Slot {
                    provider,
                    failed: None,
                    attempts: 0,
                })
                .collect(),
        }
    }

    /// The sources this machine may have: NVML (when `libnvidia-ml.so.1` loads) and
    /// sysfs/hwmon for the other DRM devices under `sys_class_drm`.
    pub fn detect(sys_class_drm: &Path) -> Self {
        Self::new(vec![
            Box::new(nvml::NvmlProvider::load()),
            Box::new(hwmon::HwmonProvider::new(sys_class_drm)),
        ])
    }

    /// Samples every provider that is not being skipped at `now`.
    pub fn sample(&mut self, now: Instant) -> Snapshot {
        let started = Instant::now();
        let mut snapshot = Snapshot::default();
        for slot in &mut self.slots {
            let name = slot.provider.name();
            if let Some((at, why)) = &slot.failed {
                if now.duration_since(*at) < RETRY_AFTER {
                    snapshot.unavailable.push((name.to_owned(), why.clone()));
                    continue;
                }
            }
            slot.attempts += 1;
            match slot.provider.sample() {
                Ok(gpus) => {
                    if slot.failed.take().is_some() {
                        tracing::info!(source = name, "GPU telemetry source answers again");
                    }
                    snapshot.gpus.extend(gpus);
                }
                Err(err) => {
                    // Reported when it first fails (or fails differently), not on
                    // each retry.
                    let why = err.to_string();
                    let again = slot.failed.as_ref().is_some_and(|(_, w)| *w == why);
                    match (&err, again) {
                        (_, true) => {}
                        (TelemetryError::Unavailable(_), false) => {
                            tracing::debug!(source = name, %err, "no GPU telemetry from this source")
                        }
                        (TelemetryError::Failed(_), false) => {
                            tracing::warn!(source = name, %err, "GPU telemetry source failed; skipped")
                        }
                    }
                    snapshot.unavailable.push((name.to_owned(), why.clone()));
                    slot.failed = Some((now, why));
                }
            }
        }
        snapshot.cost_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        snapshot
    }

    /// How many rounds asked the provider called `name`.
    pub fn attempts(&self, name: &str) -> u64 {
        self.slots
            .iter()
            .filter(|s| s.provider.name() == name)
            .map(|s| s.attempts)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A provider that answers from a shared script.
    struct Scripted(Arc<Mutex<Result<Vec<GpuReading>, TelemetryError>>>);
    impl Provider for Scripted {
        fn name(&self) -> &'static str {
            "scripted"
        }
        fn sample(&mut self) -> Result<Vec<GpuReading>, TelemetryError> {
            self.0.lock().unwrap().clone()
        }
    }

    #[test]
    fn a_failing_source_is_skipped_and_retried_only_after_a_minute() {
        let script = Arc::new(Mutex::new(Ok(vec![GpuReading {
            name: "gpu".into(),
            ..Default::default()
        }])));
        let mut telemetry = Telemetry::new(vec![Box::new(Scripted(script.clone()))]);
        let t0 = Instant::now();
        assert_eq!(telemetry.sample(t0).gpus.len(), 1);
        *script.lock().unwrap() = Err(TelemetryError::Failed("GPU is lost".into()));
        let failed = telemetry.sample(t0 + Duration::from_secs(1));
        assert!(failed.gpus.is_empty());
        assert_eq!(failed.unavailable[0].0, "scripted");
        // Sampled every 100 ms for the next 59 s: asked not once more.
        for tenth in 11..600 {
            telemetry.sample(t0 + Duration::from_millis(tenth * 100));
        }
        assert_eq!(telemetry.attempts("scripted"), 2);
        *script.lock().unwrap() = Ok(vec![GpuReading::default()]);
        let back = telemetry.sample(t0 + Duration::from_secs(62));
        assert_eq!(back.gpus.len(), 1);
        assert!(back.unavailable.is_empty());
        assert_eq!(telemetry.attempts("scripted"), 3);
    }
}
