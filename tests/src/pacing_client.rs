//! The client side of the frame-pacing protocols for tests: wp_fifo_v1,
//! wp_commit_timing_v1, wp_content_type_v1 and wp_tearing_control_v1.

use anyhow::Result;
use wayland_protocols::wp::{
    commit_timing::v1::client::{
        wp_commit_timer_v1::WpCommitTimerV1, wp_commit_timing_manager_v1::WpCommitTimingManagerV1,
    },
    content_type::v1::client::{
        wp_content_type_manager_v1::WpContentTypeManagerV1,
        wp_content_type_v1::{Type, WpContentTypeV1},
    },
    fifo::v1::client::{wp_fifo_manager_v1::WpFifoManagerV1, wp_fifo_v1::WpFifoV1},
    tearing_control::v1::client::{
        wp_tearing_control_manager_v1::WpTearingControlManagerV1,
        wp_tearing_control_v1::{PresentationHint, WpTearingControlV1},
    },
};

use crate::client::{ColorWindow, State, TestClient};

/// Monotonic clock now, in nanoseconds (the clock presentation feedback uses).
pub fn monotonic_ns() -> u128 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    t.tv_sec as u128 * 1_000_000_000 + t.tv_nsec as u128
}

impl TestClient {
    /// A fifo object for `window`.
    pub fn fifo(&mut self, window: &ColorWindow) -> Result<WpFifoV1> {
        let manager: WpFifoManagerV1 = self.bind(1..=1, ())?;
        Ok(manager.get_fifo(&window.surface, &self.qh(), ()))
    }

    /// A commit timer for `window`.
    pub fn commit_timer(&mut self, window: &ColorWindow) -> Result<WpCommitTimerV1> {
        let manager: WpCommitTimingManagerV1 = self.bind(1..=1, ())?;
        Ok(manager.get_timer(&window.surface, &self.qh(), ()))
    }

    /// Says `window` shows a game and may tear (applied at its next commit).
    pub fn game_hints(
        &mut self,
        window: &ColorWindow,
    ) -> Result<(WpContentTypeV1, WpTearingControlV1)> {
        let qh = self.qh();
        let types: WpContentTypeManagerV1 = self.bind(1..=1, ())?;
        let content = types.get_surface_content_type(&window.surface, &qh, ());
        content.set_content_type(Type::Game);
        let tearing: WpTearingControlManagerV1 = self.bind(1..=1, ())?;
        let control = tearing.get_tearing_control(&window.surface, &qh, ());
        control.set_presentation_hint(PresentationHint::Async);
        Ok((content, control))
    }
}

/// Sets a commit timer's timestamp (monotonic nanoseconds).
pub fn set_timestamp(timer: &WpCommitTimerV1, ns: u128) {
    let secs = (ns / 1_000_000_000) as u64;
    timer.set_timestamp(
        (secs >> 32) as u32,
        secs as u32,
        (ns % 1_000_000_000) as u32,
    );
}

wayland_client::delegate_noop!(State: ignore WpFifoManagerV1);
wayland_client::delegate_noop!(State: ignore WpFifoV1);
wayland_client::delegate_noop!(State: ignore WpCommitTimingManagerV1);
wayland_client::delegate_noop!(State: ignore WpCommitTimerV1);
wayland_client::delegate_noop!(State: ignore WpContentTypeManagerV1);
wayland_client::delegate_noop!(State: ignore WpContentTypeV1);
wayland_client::delegate_noop!(State: ignore WpTearingControlManagerV1);
wayland_client::delegate_noop!(State: ignore WpTearingControlV1);
