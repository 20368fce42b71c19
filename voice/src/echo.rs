//! Echo cancellation: WebRTC's AEC3 (the `webrtc-audio-processing` crate, its C++ built
//! in). AEC3 finds the delay between what the speakers play and what comes back through
//! the microphone itself and follows it as it moves, which is also how a slow clock
//! offset between the two devices shows up to it; [`crate::drift`] keeps the reference's
//! pace to the microphone's first so that the offset never accumulates.

use webrtc_audio_processing::config::{Config, EchoCanceller as Aec3};
use webrtc_audio_processing::Processor;

use crate::{FRAME, RATE};

/// Why the echo canceller could not start.
#[derive(Debug, thiserror::Error)]
#[error("WebRTC's echo canceller could not start: {0}")]
pub struct EchoError(String);

/// What the canceller measures, for status reports.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EchoStats {
    /// Echo return loss enhancement in dB (how much echo it removed), once measured.
    pub erle_db: Option<f64>,
    /// The echo path's delay it found, in ms.
    pub delay_ms: Option<u32>,
}

/// Samples by which WebRTC's processing at 48 kHz (its three-band filter bank) delays
/// the microphone signal, measured by `tests::the_processing_delay_is_what_the_chain_removes`.
pub const PROCESSING_DELAY: usize = 430;

/// One microphone's canceller.
pub struct EchoCanceller {
    processor: Processor,
}

impl EchoCanceller {
    /// A canceller for 48 kHz mono, delay found automatically.
    pub fn new() -> Result<EchoCanceller, EchoError> {
        let processor = Processor::new(RATE).map_err(|e| EchoError(format!("{e:?}")))?;
        processor.set_config(Config {
            echo_canceller: Some(Aec3::Full {
                stream_delay_ms: None,
            }),
            ..Config::default()
        });
        Ok(EchoCanceller { processor })
    }

    /// One frame of what the speakers played (the far end).
    pub fn render(&mut self, far: &[f32; FRAME]) {
        // The frame has the processor's own size, so the call cannot be refused.
        let _ = self.processor.analyze_render_frame([&far[..]]);
    }

    /// Removes the echo from one microphone frame in place.
    pub fn capture(&mut self, near: &mut [f32; FRAME]) {
        let _ = self.processor.process_capture_frame([&mut near[..]]);
    }

    /// What AEC3 measured over the last frames.
    pub fn stats(&self) -> EchoStats {
        let stats = self.processor.get_stats();
        EchoStats {
            erle_db: stats.echo_return_loss_enhancement,
            delay_ms: stats.delay_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_processing_delay_is_what_the_chain_removes() {
        let mut aec = EchoCanceller::new().unwrap();
        let mut out = Vec::new();
        for n in 0..20 {
            let mut frame = [0f32; FRAME];
            if n == 10 {
                frame[100] = 0.5;
            }
            aec.render(&[0.0; FRAME]);
            aec.capture(&mut frame);
            out.extend(frame);
        }
        let peak = out
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .map(|(i, _)| i)
            .unwrap();
        assert_eq!(peak, 10 * FRAME + 100 + PROCESSING_DELAY);
    }
}
