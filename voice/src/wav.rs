//! 48 kHz mono WAV files in and out (16-bit integer or 32-bit float in, 16-bit out),
//! for the offline chain and its tests.

use std::path::Path;

use crate::RATE;

/// Why a file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WavError {
    /// Not readable or writable as WAV.
    #[error("{0}: {1}")]
    Io(String, hound::Error),
    /// Not what the chain takes.
    #[error("{0}: {1} Hz, {2} channel(s); the chain takes 48000 Hz mono")]
    Format(String, u32, u16),
}

/// Reads a 48 kHz mono WAV as samples of full scale 1.0.
pub fn read(path: &Path) -> Result<Vec<f32>, WavError> {
    let name = path.display().to_string();
    let mut reader = hound::WavReader::open(path).map_err(|e| WavError::Io(name.clone(), e))?;
    let spec = reader.spec();
    if spec.sample_rate != RATE || spec.channels != 1 {
        return Err(WavError::Format(name, spec.sample_rate, spec.channels));
    }
    let samples: Result<Vec<f32>, hound::Error> = match spec.sample_format {
        hound::SampleFormat::Float => reader.samples::<f32>().collect(),
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u32 << (spec.bits_per_sample - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect()
        }
    };
    samples.map_err(|e| WavError::Io(name, e))
}

/// Writes samples as a 16-bit 48 kHz mono WAV.
pub fn write(path: &Path, samples: &[f32]) -> Result<(), WavError> {
    let name = path.display().to_string();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer =
        hound::WavWriter::create(path, spec).map_err(|e| WavError::Io(name.clone(), e))?;
    for s in samples {
        let v = (s.clamp(-1.0, 1.0) * 32767.0).round() as i16;
        writer
            .write_sample(v)
            .map_err(|e| WavError::Io(name.clone(), e))?;
    }
    writer.finalize().map_err(|e| WavError::Io(name, e))
}
