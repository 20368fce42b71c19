//! wl_compositor, wl_subcompositor, wl_shm and wl_buffer (their dispatch, with the
//! guards against nonsense from clients, is in `guards`).

use smithay::{
    backend::renderer::utils::on_commit_buffer_handler,
    reexports::wayland_server::{
        protocol::{wl_buffer, wl_surface::WlSurface},
        Client, Resource,
    },
    wayland::{
        buffer::BufferHandler,
        compositor::{
            get_parent, is_sync_subsurface, CompositorClientState, CompositorHandler,
            CompositorState,
        },
        shm::{ShmHandler, ShmState},
    },
};

use crate::state::Ghost;

impl CompositorHandler for Ghost {
    fn compositor_state(&mut self) -> &mut CompositorState {
        &mut self.compositor_state
    }

    fn client_compositor_state<'a>(&self, client: &'a Client) -> &'a CompositorClientState {
        if let Some(state) = crate::state::compositor_client_state(client) {
            return state;
        }
        // Every client is inserted with ClientState (Xwayland's with smithay's data);
        // anything else is a bug in ghostcomp.
        panic!("client without ghostcomp ClientState");
    }

    fn new_surface(&mut self, surface: &WlSurface) {
        self.watch_paced_commits(surface);
        self.watch_acquire_points(surface);
    }

    /// Refuses subsurfaces nested deeper than [`MAX_SUBSURFACE_DEPTH`]: smithay walks and
    /// merges surface trees recursively, so a client-made chain of thousands would cost
    /// quadratic time (seconds of a frozen desktop) and deep recursion.
    fn new_subsurface(&mut self, surface: &WlSurface, parent: &WlSurface) {
        let mut depth = 1;
        let mut above = Some(parent.clone());
        while let Some(next) = above {
            depth += 1;
            if depth > MAX_SUBSURFACE_DEPTH {
                if let Some(client) = surface.client() {
                    crate::clients::post_display_error(
                        self,
                        &client.id(),
                        crate::clients::WL_DISPLAY_INVALID_METHOD,
                        "subsurfaces nested too deep",
                    );
                }
                return;
            }
            above = get_parent(&next);
        }
    }

    fn commit(&mut self, surface: &WlSurface) {
        let new_buffer = smithay::wayland::compositor::with_states(surface, |states| {
            matches!(
                states
                    .cached_state
                    .get::<smithay::wayland::compositor::SurfaceAttributes>()
                    .current()
                    .buffer,
                Some(smithay::wayland::compositor::BufferAssignment::NewBuffer(_))
            )
        });
        on_commit_buffer_handler::<Self>(surface);
        if is_sync_subsurface(surface) {
            return;
        }
        let mut root = surface.clone();
        while let Some(parent) = get_parent(&root) {
            root = parent;
        }
        if let Some(window) = self.window_for_surface(&root) {
            window.on_commit();
            self.telemetry_commit(surface, &root, new_buffer);
        }
        self.popups.commit(surface);
        self.shell_commit(surface, &root);
        self.queue_redraw_for_surface(&root);
    }
}
/// How deep subsurfaces may nest (a toplevel and its subsurfaces count as levels).
/// Toolkits use two or three.
pub const MAX_SUBSURFACE_DEPTH: usize = 64;

impl BufferHandler for Ghost {
    fn buffer_destroyed(&mut self, _buffer: &wl_buffer::WlBuffer) {}
}

impl ShmHandler for Ghost {
    fn shm_state(&self) -> &ShmState {
        &self.shm_state
    }
}
