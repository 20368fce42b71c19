//! NVIDIA GPUs through NVML, the driver's management library. `libnvidia-ml.so.1` is
//! loaded at run time (the `nvml-wrapper` crate), so ghostcomp starts where it is
//! absent. NVML sits behind [`NvmlApi`]: the real library, or answers recorded from a
//! real GPU ([`Recorded`]) for tests on machines without one.

use serde_json::{json, Map, Value};

use super::{GpuReading, Provider, TelemetryError};

/// One question NVML answers about one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Query {
    /// Product name.
    Name,
    /// Core temperature, °C.
    Temperature,
    /// Power draw, milliwatts.
    Power,
    /// Enforced power limit, milliwatts.
    PowerLimit,
    /// Graphics (SM) clock, MHz.
    CoreClock,
    /// Memory clock, MHz.
    MemoryClock,
    /// Graphics engine busy, percent.
    Utilization,
    /// Encoder busy, percent.
    Encoder,
    /// Decoder busy, percent.
    Decoder,
    /// Video memory used and total, bytes.
    Memory,
    /// Clock event (throttle) reasons, NVML's bit mask.
    Throttle,
}

impl Query {
    /// Every query, in recording order.
    pub const ALL: [Query; 11] = [
        Query::Name,
        Query::Temperature,
        Query::Power,
        Query::PowerLimit,
        Query::CoreClock,
        Query::MemoryClock,
        Query::Utilization,
        Query::Encoder,
        Query::Decoder,
        Query::Memory,
        Query::Throttle,
    ];

    /// The key in recordings.
    pub fn key(self) -> &'static str {
        match self {
            Query::Name => "name",
            Query::Temperature => "temperature_c",
            Query::Power => "power_mw",
            Query::PowerLimit => "power_limit_mw",
            Query::CoreClock => "sm_clock_mhz",
            Query::MemoryClock => "memory_clock_mhz",
            Query::Utilization => "gpu_utilization_percent",
            Query::Encoder => "encoder_utilization_percent",
            Query::Decoder => "decoder_utilization_percent",
            Query::Memory => "memory_used_total_bytes",
            Query::Throttle => "throttle_reasons_mask",
        }
    }
}

/// An answer: text (the name), a number, or a pair (memory used and total).
pub type Answer = Value;

/// Why NVML did not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NvmlFailure {
    /// This GPU or driver does not report this figure (an H100 has no display
    /// clock; a datacenter board may not report fan speed): left out, not an error.
    NotSupported,
    /// NVML itself failed (library gone, GPU lost, driver reloaded).
    Failed(String),
}

/// What the provider needs of NVML.
pub trait NvmlApi: Send {
    /// How many GPUs NVML sees.
    fn device_count(&self) -> Result<u32, NvmlFailure>;
    /// One answer about device `index`.
    fn query(&self, index: u32, query: Query) -> Result<Answer, NvmlFailure>;
}

/// NVML's bits of the throttle reasons worth telling a user, with their words
/// (nvml.h's nvmlClocksEventReason* values).
const THROTTLE_WORDS: &[(u64, &str)] = &[
    (0x0000_0000_0000_0002, "application clocks"),
    (0x0000_0000_0000_0004, "power cap"),
    (0x0000_0000_0000_0008, "hardware slowdown"),
    (0x0000_0000_0000_0010, "sync boost"),
    (0x0000_0000_0000_0020, "thermal (software)"),
    (0x0000_0000_0000_0040, "thermal (hardware)"),
    (0x0000_0000_0000_0080, "power brake"),
    (0x0000_0000_0000_0100, "display clock"),
];

/// The words for NVML's throttle mask (idle is not a throttle: a resting GPU clocks
/// down on purpose).
pub fn throttle_words(mask: u64) -> Vec<&'static str> {
    THROTTLE_WORDS
        .iter()
        .filter(|(bit, _)| mask & bit != 0)
        .map(|(_, word)| *word)
        .collect()
}

/// The NVML source.
pub struct NvmlProvider {
    api: Result<Box<dyn NvmlApi>, String>,
}

impl NvmlProvider {
    /// Loads the real library; where it does not load, the provider reports it as
    /// unavailable.
    pub fn load() -> Self {
        Self {
            api: Real::load().map(|r| Box::new(r) as Box<dyn NvmlApi>),
        }
    }

    /// A provider over `api` (recorded answers in tests).
    pub fn with(api: Box<dyn NvmlApi>) -> Self {
        Self { api: Ok(api) }
    }
}

fn number(answer: &Answer) -> Option<u64> {
    answer.as_u64()
}

impl Provider for NvmlProvider {
    fn name(&self) -> &'static str {
        "nvml"
    }

    fn sample(&mut self) -> Result<Vec<GpuReading>, TelemetryError> {
        let api = self
            .api
            .as_ref()
            .map_err(|why| TelemetryError::Unavailable(why.clone()))?;
        let fail = |f: NvmlFailure| match f {
            NvmlFailure::NotSupported => TelemetryError::Unavailable("no NVIDIA GPU".into()),
            NvmlFailure::Failed(why) => TelemetryError::Failed(why),
        };
        let count = api.device_count().map_err(fail)?;
        let mut out = Vec::new();
        for index in 0..count {
            let ask = |q: Query| -> Result<Option<Answer>, TelemetryError> {
                match api.query(index, q) {
                    Ok(a) => Ok(Some(a)),
                    Err(NvmlFailure::NotSupported) => Ok(None),
                    Err(NvmlFailure::Failed(why)) => Err(TelemetryError::Failed(why)),
                }
            };
            let num = |q: Query| -> Result<Option<u64>, TelemetryError> {
                Ok(ask(q)?.as_ref().and_then(number))
            };
            let percent = |q: Query| -> Result<Option<u32>, TelemetryError> {
                Ok(num(q)?.and_then(|v| u32::try_from(v).ok()))
            };
            let memory = ask(Query::Memory)?;
            let memory_part = |i: usize| memory.as_ref().and_then(|m| m.get(i)?.as_u64());
            out.push(GpuReading {
                name: ask(Query::Name)?
                    .and_then(|n| n.as_str().map(str::to_owned))
                    .unwrap_or_else(|| format!("NVIDIA GPU {index}")),
                source: "nvml",
                temperature_c: num(Query::Temperature)?.map(|c| c as f64),
                power_w: num(Query::Power)?.map(|mw| mw as f64 / 1000.0),
                power_limit_w: num(Query::PowerLimit)?.map(|mw| mw as f64 / 1000.0),
                core_clock_mhz: percent(Query::CoreClock)?,
                memory_clock_mhz: percent(Query::MemoryClock)?,
                gpu_busy_percent: percent(Query::Utilization)?,
                encoder_busy_percent: percent(Query::Encoder)?,
                decoder_busy_percent: percent(Query::Decoder)?,
                vram_used_bytes: memory_part(0),
                vram_total_bytes: memory_part(1),
                throttle_reasons: num(Query::Throttle)?
                    .map(throttle_words)
                    .unwrap_or_default(),
            });
        }
        Ok(out)
    }
}

/// The real library.
struct Real(nvml_wrapper::Nvml);

impl Real {
    fn load() -> Result<Real, String> {
        nvml_wrapper::Nvml::init()
            .map(Real)
            .map_err(|e| format!("NVML did not load: {e}"))
    }
}

fn failure(e: nvml_wrapper::error::NvmlError) -> NvmlFailure {
    use nvml_wrapper::error::NvmlError as E;
    match e {
        E::NotSupported | E::NoPermission | E::FunctionNotFound | E::NotFound => {
            NvmlFailure::NotSupported
        }
        other => NvmlFailure::Failed(other.to_string()),
    }
}

impl NvmlApi for Real {
    fn device_count(&self) -> Result<u32, NvmlFailure> {
        self.0.device_count().map_err(failure)
    }

    fn query(&self, index: u32, query: Query) -> Result<Answer, NvmlFailure> {
        use nvml_wrapper::enum_wrappers::device::{Clock, TemperatureSensor};
        let device = self.0.device_by_index(index).map_err(failure)?;
        Ok(match query {
            Query::Name => json!(device.name().map_err(failure)?),
            Query::Temperature => json!(device
                .temperature(TemperatureSensor::Gpu)
                .map_err(failure)?),
            Query::Power => json!(device.power_usage().map_err(failure)?),
            Query::PowerLimit => json!(device.enforced_power_limit().map_err(failure)?),
            Query::CoreClock => json!(device.clock_info(Clock::SM).map_err(failure)?),
            Query::MemoryClock => json!(device.clock_info(Clock::Memory).map_err(failure)?),
            Query::Utilization => json!(device.utilization_rates().map_err(failure)?.gpu),
            Query::Encoder => json!(device.encoder_utilization().map_err(failure)?.utilization),
            Query::Decoder => json!(device.decoder_utilization().map_err(failure)?.utilization),
            Query::Memory => {
                let m = device.memory_info().map_err(failure)?;
                json!([m.used, m.total])
            }
            Query::Throttle => json!(device.current_throttle_reasons().map_err(failure)?.bits()),
        })
    }
}

/// Answers recorded from a real GPU: `{"device_count": N, "devices": [{key: answer or
/// {"error": "not supported" | why}}]}`, as `ghostnv-telemetry --record` writes them.
pub struct Recorded {
    recording: Value,
}

impl Recorded {
    /// Answers from a recording.
    pub fn new(recording: Value) -> Self {
        Self { recording }
    }

    /// Records every answer of `api` (the real library on a real GPU).
    pub fn record(api: &dyn NvmlApi) -> Value {
        let count = api.device_count().unwrap_or(0);
        let devices: Vec<Value> = (0..count)
            .map(|i| {
                let mut answers = Map::new();
                for q in Query::ALL {
                    let answer = match api.query(i, q) {
                        Ok(a) => a,
                        Err(NvmlFailure::NotSupported) => json!({"error": "not supported"}),
                        Err(NvmlFailure::Failed(why)) => json!({ "error": why }),
                    };
                    answers.insert(q.key().into(), answer);
                }
                Value::Object(answers)
            })
            .collect();
        json!({"device_count": count, "devices": devices})
    }
}

impl NvmlApi for Recorded {
    fn device_count(&self) -> Result<u32, NvmlFailure> {
        self.recording["device_count"]
            .as_u64()
            .and_then(|c| u32::try_from(c).ok())
            .ok_or_else(|| NvmlFailure::Failed("no device count recorded".into()))
    }

    fn query(&self, index: u32, query: Query) -> Result<Answer, NvmlFailure> {
        let answer = &self.recording["devices"][index as usize][query.key()];
        match answer.get("error").and_then(Value::as_str) {
            Some("not supported") => Err(NvmlFailure::NotSupported),
            Some(why) => Err(NvmlFailure::Failed(why.to_owned())),
            None if answer.is_null() => Err(NvmlFailure::NotSupported),
            None => Ok(answer.clone()),
        }
    }
}

/// Loads the real library and records every answer (for `ghostnv-telemetry --record`).
pub fn record_real() -> Result<Value, String> {
    Real::load().map(|r| Recorded::record(&r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_mask_words() {
        assert!(throttle_words(0x1).is_empty(), "idle is not a throttle");
        assert_eq!(
            throttle_words(0x4 | 0x20),
            vec!["power cap", "thermal (software)"]
        );
    }

    fn h100() -> Value {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/telemetry/h100-nvml.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn an_h100s_recorded_answers_read_as_nvidia_smi_read_them() {
        let mut p = NvmlProvider::with(Box::new(Recorded::new(h100())));
        let gpus = p.sample().unwrap();
        assert_eq!(gpus.len(), 1);
        let g = &gpus[0];
        assert_eq!(g.name, "NVIDIA H100 80GB HBM3");
        assert_eq!(g.source, "nvml");
        assert_eq!(g.temperature_c, Some(33.0));
        assert_eq!(g.power_w, Some(71.01));
        assert_eq!(g.power_limit_w, Some(700.0));
        assert_eq!(g.core_clock_mhz, Some(345));
        assert_eq!(g.memory_clock_mhz, Some(2619));
        assert_eq!(g.gpu_busy_percent, Some(0));
        // nvidia-smi's 81559 MiB.
        assert_eq!(g.vram_total_bytes.map(|b| b >> 20), Some(81_559));
        assert!(g.throttle_reasons.is_empty(), "idle is no throttle");
    }

    #[test]
    fn figures_a_board_does_not_report_are_left_out_and_a_lost_gpu_fails_the_source() {
        let mut recording = h100();
        recording["devices"][0]["encoder_utilization_percent"] = json!({"error": "not supported"});
        let mut p = NvmlProvider::with(Box::new(Recorded::new(recording.clone())));
        let g = &p.sample().unwrap()[0];
        assert_eq!(g.encoder_busy_percent, None);
        assert_eq!(g.temperature_c, Some(33.0));
        recording["devices"][0]["power_mw"] = json!({"error": "GPU is lost"});
        let mut p = NvmlProvider::with(Box::new(Recorded::new(recording)));
        assert_eq!(
            p.sample(),
            Err(TelemetryError::Failed("GPU is lost".into()))
        );
    }

    #[test]
    fn a_missing_library_is_unavailable_not_a_failure() {
        let mut p = NvmlProvider {
            api: Err("NVML did not load: libnvidia-ml.so.1 not found".into()),
        };
        assert!(matches!(p.sample(), Err(TelemetryError::Unavailable(_))));
    }
}
