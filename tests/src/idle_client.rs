//! What a video player does to keep the screen on: an idle inhibitor on its surface
//! (zwp_idle_inhibit_manager_v1).

use anyhow::Result;
use wayland_client::protocol::wl_surface::WlSurface;
use wayland_protocols::wp::idle_inhibit::zv1::client::{
    zwp_idle_inhibit_manager_v1::ZwpIdleInhibitManagerV1, zwp_idle_inhibitor_v1::ZwpIdleInhibitorV1,
};

use crate::client::{State, TestClient};

impl TestClient {
    /// Inhibits idling while `surface` is shown, until the inhibitor is destroyed.
    pub fn inhibit_idle(&mut self, surface: &WlSurface) -> Result<ZwpIdleInhibitorV1> {
        let manager: ZwpIdleInhibitManagerV1 = self.bind(1..=1, ())?;
        let inhibitor = manager.create_inhibitor(surface, &self.qh(), ());
        self.roundtrip()?;
        Ok(inhibitor)
    }
}

wayland_client::delegate_noop!(State: ignore ZwpIdleInhibitManagerV1);
wayland_client::delegate_noop!(State: ignore ZwpIdleInhibitorV1);
