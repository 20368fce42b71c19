//! Which wl_surface Xwayland draws an X11 window into. Xwayland from 23.1 says so
//! through xwayland_shell_v1, which smithay follows. Older ones (Debian 12 has 22.1)
//! only send the surface's protocol id in a WL_SURFACE_ID message, which smithay
//! records and leaves to the compositor: ghostcomp finds the Xwayland client's surface
//! with that id after each event-loop iteration and ties it to the window here, and
//! drawing, input, focus and frame callbacks use [`surface_of`].

use std::sync::Mutex;

use smithay::{
    reexports::wayland_server::{protocol::wl_surface::WlSurface, Resource},
    utils::IsAlive,
    xwayland::X11Surface,
};

use crate::state::Ghost;

/// The surface tied to an X11 window by its WL_SURFACE_ID, in the window's user data.
#[derive(Default)]
struct Tied(Mutex<Option<WlSurface>>);

/// The wl_surface of X11 window `x11`: smithay's association, else the one tied by id.
pub fn surface_of(x11: &X11Surface) -> Option<WlSurface> {
    if let Some(surface) = x11.wl_surface() {
        return Some(surface);
    }
    let tied = x11.user_data().get::<Tied>()?;
    let guard = tied.0.lock().ok()?;
    guard.as_ref().filter(|s| s.alive()).cloned()
}

/// Whether `x11`'s surface is one ghostcomp tied (smithay does not know of it, so
/// what smithay would forward to it must be forwarded by hand).
pub fn tied_by_id(x11: &X11Surface) -> Option<WlSurface> {
    if x11.wl_surface().is_some() {
        return None;
    }
    surface_of(x11)
}

impl Ghost {
    /// Ties every X11 window Xwayland named a surface id for to that surface.
    pub fn x11_tie_surfaces(&mut self) {
        let Some(client) = self.xwayland.client() else {
            return;
        };
        for window in self.all_windows() {
            let Some(x11) = window.x11_surface() else {
                continue;
            };
            if surface_of(x11).is_some() {
                continue;
            }
            // Deprecated by smithay for Xwayland 23.1+; the only link 22.1 gives.
            #[allow(deprecated)]
            let Some(id) = x11.wl_surface_id() else {
                continue;
            };
            let Ok(surface) = client.object_from_protocol_id::<WlSurface>(&self.display_handle, id)
            else {
                continue;
            };
            tracing::debug!(
                window = x11.window_id(),
                surface = surface.id().protocol_id(),
                "X11 window tied to its surface"
            );
            let tied = x11.user_data().get_or_insert_threadsafe(Tied::default);
            if let Ok(mut guard) = tied.0.lock() {
                *guard = Some(surface);
            }
        }
    }
}
