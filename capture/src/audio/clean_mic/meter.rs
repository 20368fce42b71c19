//! The clean mic's measurements over each second: levels in and out, speech, the time
//! the chain took.

use std::time::Duration;

use ghost_voice::{FRAME, RATE};

/// Sums over the current second.
#[derive(Default)]
pub struct Meter {
    frames: u32,
    energy_in: f64,
    energy_out: f64,
    speech: f64,
    busy: Duration,
}

/// One second's figures.
pub struct Second {
    pub suppression_db: f64,
    pub cpu_percent: f64,
    pub speech: f32,
}

fn energy(frame: &[f32]) -> f64 {
    frame.iter().map(|v| f64::from(*v) * f64::from(*v)).sum()
}

impl Meter {
    /// Counts one frame; returns the second's figures when it completes.
    pub fn add(
        &mut self,
        input: &[f32],
        output: &[f32],
        speech: f32,
        took: Duration,
    ) -> Option<Second> {
        self.frames += 1;
        self.energy_in += energy(input);
        self.energy_out += energy(output);
        self.speech += f64::from(speech);
        self.busy += took;
        let per_second = RATE as usize / FRAME;
        if (self.frames as usize) < per_second {
            return None;
        }
        let second = Second {
            suppression_db: 10.0 * ((self.energy_in + 1e-12) / (self.energy_out + 1e-12)).log10(),
            cpu_percent: self.busy.as_secs_f64() * 100.0,
            speech: (self.speech / f64::from(self.frames)) as f32,
        };
        *self = Meter::default();
        Some(second)
    }
}
