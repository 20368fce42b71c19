//! Frame pacing protocols: wp_fifo_v1 (a content update waits for the previous one to
//! be shown), wp_commit_timing_v1 (a content update waits for a presentation time) and
//! wp_content_type_v1 (what a surface shows, for VRR policy). smithay queues the blocked
//! commits; this file releases them as outputs refresh, and keeps an otherwise idle
//! output refreshing while a client waits.

use std::{collections::HashMap, time::Duration};

use smithay::{
    delegate_commit_timing, delegate_content_type, delegate_fifo,
    output::Output,
    reexports::wayland_server::{
        backend::ClientId, protocol::wl_surface::WlSurface, Client, Resource,
    },
    utils::{Monotonic, Time},
    wayland::{
        commit_timing::CommitTimerBarrierStateUserData,
        compositor::{add_pre_commit_hook, with_states, SurfaceData},
        content_type::ContentTypeSurfaceCachedState,
        fifo::{FifoBarrierCachedState, FifoCachedState},
    },
};

use crate::state::Ghost;

delegate_fifo!(Ghost);
delegate_commit_timing!(Ghost);
delegate_content_type!(Ghost);

/// Whether a pending content update waits on a fifo barrier or a commit time.
fn waits(states: &SurfaceData) -> bool {
    let fifo = states
        .cached_state
        .get::<FifoCachedState>()
        .pending()
        .wait_barrier;
    let timed = states
        .data_map
        .get::<smithay::wayland::commit_timing::CommitTimerStateUserData>()
        .is_some_and(|t| t.borrow().timestamp.is_some());
    fifo || timed
}

impl Ghost {
    /// Watches `surface`'s commits: one that will wait on a barrier or a time makes
    /// the outputs refresh, so the barrier clears even when nothing else changes.
    pub fn watch_paced_commits(&mut self, surface: &WlSurface) {
        add_pre_commit_hook::<Self, _>(surface, |state, _dh, surface| {
            if with_states(surface, waits) {
                state.queue_redraw_all();
            }
        });
    }

    /// After `output` refreshed: clears the fifo barriers of the surfaces it shows and
    /// the commit timers due by its next refresh, then lets their clients' queued
    /// content updates apply. An output whose surfaces still wait keeps refreshing.
    pub fn release_frame_barriers(&mut self, output: &Output) {
        let refresh = output
            .current_mode()
            .map(|m| Duration::from_nanos(1_000_000_000_000 / m.refresh.max(1) as u64))
            .unwrap_or(Duration::from_millis(16));
        let next: Duration = Duration::from(self.clock.now()) + refresh;
        let next: Time<Monotonic> = next.into();
        let mut released: HashMap<ClientId, Client> = HashMap::new();
        let mut still_waiting = false;
        let mut visit = |surface: &WlSurface, states: &SurfaceData| {
            let mut cleared = false;
            let barrier = states
                .cached_state
                .get::<FifoBarrierCachedState>()
                .current()
                .barrier
                .take();
            if let Some(barrier) = barrier {
                barrier.signal();
                cleared = true;
            }
            if let Some(mut timers) = states
                .data_map
                .get::<CommitTimerBarrierStateUserData>()
                .and_then(|t| t.lock().ok())
            {
                cleared |= timers.signal_until(next);
                still_waiting |= timers.next_deadline().is_some();
            }
            if cleared {
                if let Some(client) = surface.client() {
                    released.insert(client.id(), client);
                }
            }
        };
        for window in self.space.elements() {
            if self.space.outputs_for_element(window).contains(output) {
                crate::shell::with_window_surfaces(window, &mut visit);
            }
        }
        for layer in smithay::desktop::layer_map_for_output(output).layers() {
            layer.with_surfaces(&mut visit);
        }
        let dh = self.display_handle.clone();
        for client in released.into_values() {
            if let Some(state) = crate::state::compositor_client_state(&client) {
                state.blocker_cleared(self, &dh);
            }
        }
        if still_waiting {
            self.queue_redraw(output);
        }
    }
}

/// What a surface says it shows (wp_content_type_v1), as a short word for IPC.
pub fn content_type(surface: &WlSurface) -> &'static str {
    use smithay::reexports::wayland_protocols::wp::content_type::v1::server::wp_content_type_v1::Type;
    with_states(surface, |states| {
        match states
            .cached_state
            .get::<ContentTypeSurfaceCachedState>()
            .current()
            .content_type()
        {
            Type::Photo => "photo",
            Type::Video => "video",
            Type::Game => "game",
            _ => "none",
        }
    })
}
