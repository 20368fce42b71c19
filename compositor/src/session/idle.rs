//! Switching the displays off after `[idle] blank_after` seconds without input, and on
//! again at the next input. A client inhibiting idle (a video player, through
//! idle-inhibit-unstable-v1) keeps them on while its surface lives. Only displays the
//! compositor drives itself (KMS) are blanked.

use std::time::{Duration, Instant};

use smithay::reexports::{
    calloop::{
        timer::{TimeoutAction, Timer},
        RegistrationToken,
    },
    wayland_server::{protocol::wl_surface::WlSurface, Resource},
};
use tracing::{info, warn};

use crate::{backend::Backend, state::Ghost};

/// Idle bookkeeping.
#[derive(Debug)]
pub struct IdleState {
    last_input: Instant,
    /// The displays are off because of idling.
    pub blanked: bool,
    timer: Option<RegistrationToken>,
    inhibitors: Vec<WlSurface>,
}

impl Default for IdleState {
    fn default() -> Self {
        Self {
            last_input: Instant::now(),
            blanked: false,
            timer: None,
            inhibitors: Vec::new(),
        }
    }
}

impl Ghost {
    /// Someone used the keyboard, pointer or touch screen.
    pub fn note_input_activity(&mut self) {
        self.idle.last_input = Instant::now();
        self.idle_notifier_state.notify_activity(&self.seat);
        if self.idle.blanked {
            self.idle.blanked = false;
            info!("input: switching the displays on");
            self.set_all_power(true);
            self.arm_idle_timer();
        }
    }

    /// A client asks that the displays stay on while `surface` lives.
    pub fn inhibit_idle(&mut self, surface: WlSurface) {
        self.idle.inhibitors.push(surface);
        self.idle_notifier_state.set_is_inhibited(true);
    }

    /// That request ended.
    pub fn uninhibit_idle(&mut self, surface: &WlSurface) {
        self.idle.inhibitors.retain(|s| s != surface);
        self.idle_notifier_state
            .set_is_inhibited(!self.idle.inhibitors.is_empty());
    }

    /// (Re)arms the check for `[idle] blank_after` seconds after the last input.
    pub fn arm_idle_timer(&mut self) {
        if let Some(token) = self.idle.timer.take() {
            self.loop_handle.remove(token);
        }
        let after = self.config.idle.blank_after;
        if after == 0 || !matches!(self.backend, Backend::Kms(_)) {
            return;
        }
        let deadline = self.idle.last_input + Duration::from_secs(u64::from(after));
        let token =
            self.loop_handle
                .insert_source(Timer::from_deadline(deadline), |_, _, state| {
                    state.idle.timer = None;
                    state.idle_check();
                    TimeoutAction::Drop
                });
        match token {
            Ok(token) => self.idle.timer = Some(token),
            Err(err) => warn!(%err, "cannot arm the idle timer"),
        }
    }

    fn idle_check(&mut self) {
        self.idle.inhibitors.retain(|s| s.is_alive());
        self.idle_notifier_state
            .set_is_inhibited(!self.idle.inhibitors.is_empty());
        let after = Duration::from_secs(u64::from(self.config.idle.blank_after));
        let idle_for = self.idle.last_input.elapsed();
        if self.config.idle.blank_after == 0 || self.idle.blanked {
            return;
        }
        if idle_for < after || !self.idle.inhibitors.is_empty() {
            if !self.idle.inhibitors.is_empty() {
                // Look again later; input resets the clock anyway.
                self.idle.last_input = Instant::now();
            }
            self.arm_idle_timer();
            return;
        }
        info!(
            seconds = after.as_secs(),
            "idle: switching the displays off"
        );
        self.idle.blanked = true;
        self.set_all_power(false);
    }

    fn set_all_power(&mut self, on: bool) {
        for output in self.outputs() {
            if let Err(err) = crate::backend::kms::set_power(self, &output, on) {
                warn!(%err, output = output.name(), "display power not changed");
            }
        }
    }
}

impl smithay::wayland::idle_notify::IdleNotifierHandler for Ghost {
    fn idle_notifier_state(
        &mut self,
    ) -> &mut smithay::wayland::idle_notify::IdleNotifierState<Self> {
        &mut self.idle_notifier_state
    }
}
smithay::delegate_idle_notify!(Ghost);
