//! wp_tearing_control_v1: a client says its content may be shown with tearing (an
//! asynchronous page flip) rather than waiting for vblank, which games ask for to cut
//! latency. The hint is double-buffered surface state; the KMS backend honours it for a
//! fullscreen, directly scanned-out surface where the device has async flips.

use std::sync::Mutex;

use smithay::{
    reexports::{
        wayland_protocols::wp::tearing_control::v1::server::{
            wp_tearing_control_manager_v1::{self, WpTearingControlManagerV1},
            wp_tearing_control_v1::{self, PresentationHint, WpTearingControlV1},
        },
        wayland_server::{
            protocol::wl_surface::WlSurface, Client, DataInit, Dispatch, DisplayHandle,
            GlobalDispatch, New, Resource, Weak,
        },
    },
    wayland::compositor::{with_states, Cacheable},
};

use crate::state::Ghost;

/// A surface's committed presentation hint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TearingHint {
    /// The client allows tearing (asynchronous flips).
    pub allow_tearing: bool,
}

impl Cacheable for TearingHint {
    fn commit(&mut self, _dh: &DisplayHandle) -> Self {
        *self
    }

    fn merge_into(self, into: &mut Self, _dh: &DisplayHandle) {
        *into = self;
    }
}

/// Whether `surface` currently allows tearing.
pub fn allows_tearing(surface: &WlSurface) -> bool {
    with_states(surface, |states| {
        states
            .cached_state
            .get::<TearingHint>()
            .current()
            .allow_tearing
    })
}

/// Marks a surface that already has a tearing-control object.
#[derive(Default)]
struct Claimed(Mutex<bool>);

/// The manager global.
pub struct TearingControlState;

impl TearingControlState {
    /// Creates the global.
    pub fn new<D>(dh: &DisplayHandle) -> Self
    where
        D: GlobalDispatch<WpTearingControlManagerV1, ()> + 'static,
    {
        dh.create_global::<D, WpTearingControlManagerV1, _>(1, ());
        Self
    }
}

impl GlobalDispatch<WpTearingControlManagerV1, ()> for Ghost {
    fn bind(
        _state: &mut Self,
        _dh: &DisplayHandle,
        _client: &Client,
        resource: New<WpTearingControlManagerV1>,
        _data: &(),
        data_init: &mut DataInit<'_, Self>,
    ) {
        data_init.init(resource, ());
    }
}

impl Dispatch<WpTearingControlManagerV1, ()> for Ghost {
    fn request(
        _state: &mut Self,
        _client: &Client,
        manager: &WpTearingControlManagerV1,
        request: wp_tearing_control_manager_v1::Request,
        _data: &(),
        _dh: &DisplayHandle,
        data_init: &mut DataInit<'_, Self>,
    ) {
        if let wp_tearing_control_manager_v1::Request::GetTearingControl { id, surface } = request {
            let taken = with_states(&surface, |states| {
                states
                    .data_map
                    .insert_if_missing_threadsafe(Claimed::default);
                states
                    .data_map
                    .get::<Claimed>()
                    .and_then(|c| c.0.lock().ok())
                    .is_some_and(|mut taken| std::mem::replace(&mut *taken, true))
            });
            if taken {
                manager.post_error(
                    wp_tearing_control_manager_v1::Error::TearingControlExists,
                    "the surface already has a tearing control object",
                );
                return;
            }
            data_init.init(id, surface.downgrade());
        }
    }
}

impl Dispatch<WpTearingControlV1, Weak<WlSurface>> for Ghost {
    fn request(
        _state: &mut Self,
        _client: &Client,
        _object: &WpTearingControlV1,
        request: wp_tearing_control_v1::Request,
        surface: &Weak<WlSurface>,
        _dh: &DisplayHandle,
        _data_init: &mut DataInit<'_, Self>,
    ) {
        let Ok(surface) = surface.upgrade() else {
            return;
        };
        let set = |allow: bool| {
            with_states(&surface, |states| {
                states
                    .cached_state
                    .get::<TearingHint>()
                    .pending()
                    .allow_tearing = allow;
            })
        };
        match request {
            wp_tearing_control_v1::Request::SetPresentationHint { hint } => {
                set(hint.into_result().ok() == Some(PresentationHint::Async));
            }
            wp_tearing_control_v1::Request::Destroy => {
                // The surface goes back to vsync at its next commit.
                set(false);
                with_states(&surface, |states| {
                    if let Some(mut taken) = states
                        .data_map
                        .get::<Claimed>()
                        .and_then(|c| c.0.lock().ok())
                    {
                        *taken = false;
                    }
                });
            }
            _ => {}
        }
    }
}
