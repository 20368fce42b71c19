//! Requests that smithay 0.7 mishandles when a client sends nonsense, answered here
//! before smithay sees them; everything else goes on to smithay unchanged. Each guard
//! was found by the wire fuzzer (`tests/tests/wire_fuzz.rs`); `tests/tests/hostile.rs`
//! sends each case on purpose.
//!
//! - Rectangles of negative size (wl_region.add/subtract, wl_surface.damage and
//!   damage_buffer): the protocol gives them no meaning and smithay's geometry refuses
//!   them (debug builds assert); an empty rectangle adds or removes nothing, so the
//!   request is dropped, as pixman-based compositors do.
//! - wl_shm_pool.resize to a size of zero or less: smithay posts the error and then
//!   panics on the size; the error is posted here and the request goes no further.

use smithay::{
    reexports::wayland_server::{
        backend::ClientId,
        delegate_dispatch, delegate_global_dispatch,
        protocol::{
            wl_buffer::WlBuffer,
            wl_callback::WlCallback,
            wl_compositor::WlCompositor,
            wl_region::{self, WlRegion},
            wl_shm::{self, WlShm},
            wl_shm_pool::{self, WlShmPool},
            wl_subcompositor::WlSubcompositor,
            wl_subsurface::WlSubsurface,
            wl_surface::{self, WlSurface},
        },
        Client, DataInit, Dispatch, DisplayHandle, Resource,
    },
    wayland::{
        compositor::{CompositorState, RegionUserData, SubsurfaceUserData, SurfaceUserData},
        shm::{ShmBufferUserData, ShmPoolUserData, ShmState},
    },
};

use crate::state::Ghost;

// smithay's compositor and shm delegates, but for the guarded interfaces below.
delegate_global_dispatch!(Ghost: [WlCompositor: ()] => CompositorState);
delegate_global_dispatch!(Ghost: [WlSubcompositor: ()] => CompositorState);
delegate_dispatch!(Ghost: [WlCompositor: ()] => CompositorState);
delegate_dispatch!(Ghost: [WlCallback: ()] => CompositorState);
delegate_dispatch!(Ghost: [WlSubcompositor: ()] => CompositorState);
delegate_dispatch!(Ghost: [WlSubsurface: SubsurfaceUserData] => CompositorState);
delegate_global_dispatch!(Ghost: [WlShm: ()] => ShmState);
delegate_dispatch!(Ghost: [WlShm: ()] => ShmState);
delegate_dispatch!(Ghost: [WlBuffer: ShmBufferUserData] => ShmState);

/// Whether a rectangle from a client has a size (zero counts: it is merely empty).
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

impl Dispatch<WlShmPool, ShmPoolUserData> for Ghost {
    fn request(
        state: &mut Self,
        client: &Client,
        resource: &WlShmPool,
        request: wl_shm_pool::Request,
        data: &ShmPoolUserData,
        dh: &DisplayHandle,
        data_init: &mut DataInit<'_, Self>,
    ) {
        if let wl_shm_pool::Request::Resize { size } = request {
            if size <= 0 {
                resource.post_error(wl_shm::Error::InvalidFd, "invalid wl_shm_pool size");
                return;
            }
        }
        <ShmState as Dispatch<WlShmPool, ShmPoolUserData, Self>>::request(
            state, client, resource, request, data, dh, data_init,
        );
    }
}
