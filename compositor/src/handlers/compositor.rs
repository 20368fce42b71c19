//! wl_compositor, wl_subcompositor, wl_shm and wl_buffer.

use smithay::{
    backend::renderer::utils::on_commit_buffer_handler,
    delegate_shm,
    reexports::wayland_server::{
        backend::ClientId,
        delegate_dispatch, delegate_global_dispatch,
        protocol::{
            wl_buffer,
            wl_callback::WlCallback,
            wl_compositor::WlCompositor,
            wl_region::{self, WlRegion},
            wl_subcompositor::WlSubcompositor,
            wl_subsurface::WlSubsurface,
            wl_surface::{self, WlSurface},
        },
        Client, DataInit, Dispatch, DisplayHandle, Resource,
    },
    wayland::{
        buffer::BufferHandler,
        compositor::{
            get_parent, is_sync_subsurface, CompositorClientState, CompositorHandler,
            CompositorState, RegionUserData, SubsurfaceUserData, SurfaceUserData,
        },
        shm::{ShmHandler, ShmState},
    },
};

use crate::state::{ClientState, Ghost};

impl CompositorHandler for Ghost {
    fn compositor_state(&mut self) -> &mut CompositorState {
        &mut self.compositor_state
    }

    fn client_compositor_state<'a>(&self, client: &'a Client) -> &'a CompositorClientState {
        if let Some(state) = client.get_data::<ClientState>() {
            return &state.compositor_state;
        }
        // Every client is inserted with ClientState; anything else is a bug in ghostcomp.
        panic!("client without ghostcomp ClientState");
    }

    fn new_surface(&mut self, surface: &WlSurface) {
        self.watch_paced_commits(surface);
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
        }
        self.popups.commit(surface);
        self.shell_commit(surface, &root);
        self.queue_redraw_for_surface(&root);
    }
}
// smithay's compositor delegates, but for wl_region and wl_surface, which go through
// `without_negative_rectangles` first.
delegate_global_dispatch!(Ghost: [WlCompositor: ()] => CompositorState);
delegate_global_dispatch!(Ghost: [WlSubcompositor: ()] => CompositorState);
delegate_dispatch!(Ghost: [WlCompositor: ()] => CompositorState);
delegate_dispatch!(Ghost: [WlCallback: ()] => CompositorState);
delegate_dispatch!(Ghost: [WlSubcompositor: ()] => CompositorState);
delegate_dispatch!(Ghost: [WlSubsurface: SubsurfaceUserData] => CompositorState);

/// Whether a rectangle from a client has a size: the protocol gives negative sizes no
/// meaning, smithay's geometry refuses them (debug builds assert), and an empty
/// rectangle adds or removes nothing, so such a request is dropped (as pixman-based
/// compositors do).
fn has_size(width: i32, height: i32) -> bool {
    width >= 0 && height >= 0
}

impl Dispatch<WlRegion, RegionUserData> for Ghost {
    fn request(
        state: &mut Self,
        client: &Client,
        resource: &WlRegion,
        request: wl_region::Request,
        data: &RegionUserData,
        dh: &DisplayHandle,
        data_init: &mut DataInit<'_, Self>,
    ) {
        if let wl_region::Request::Add { width, height, .. }
        | wl_region::Request::Subtract { width, height, .. } = request
        {
            if !has_size(width, height) {
                return;
            }
        }
        <CompositorState as Dispatch<WlRegion, RegionUserData, Self>>::request(
            state, client, resource, request, data, dh, data_init,
        );
    }
}

impl Dispatch<WlSurface, SurfaceUserData> for Ghost {
    fn request(
        state: &mut Self,
        client: &Client,
        resource: &WlSurface,
        request: wl_surface::Request,
        data: &SurfaceUserData,
        dh: &DisplayHandle,
        data_init: &mut DataInit<'_, Self>,
    ) {
        if let wl_surface::Request::Damage { width, height, .. }
        | wl_surface::Request::DamageBuffer { width, height, .. } = request
        {
            if !has_size(width, height) {
                return;
            }
        }
        <CompositorState as Dispatch<WlSurface, SurfaceUserData, Self>>::request(
            state, client, resource, request, data, dh, data_init,
        );
    }

    fn destroyed(state: &mut Self, client: ClientId, resource: &WlSurface, data: &SurfaceUserData) {
        <CompositorState as Dispatch<WlSurface, SurfaceUserData, Self>>::destroyed(
            state, client, resource, data,
        );
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
delegate_shm!(Ghost);
