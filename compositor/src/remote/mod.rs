//! Remote control: input that a remote peer sends through the RemoteDesktop portal,
//! after the user granted it. Each grant is a [`RemoteControl`] with the devices it may
//! drive; while any runs, an amber dot beside the sharing indicator says so, and the
//! user ends them all with the `stop-remote-control` binding or
//! `ghostcomp msg remote-revoke` (the portal then closes the app's session). Grants
//! end with the portal backend too. The events become input in [`apply`] through the
//! seat's own paths, as real devices' do; [`eis`] serves libei clients of a grant.

mod apply;
mod eis;

pub use apply::Held;
pub use eis::EisServer;

use std::time::Instant;

use ghost_capture::portal::RemoteInput;
use serde_json::{json, Value};

use crate::{
    ipc::{Reply, Request},
    state::Ghost,
};

/// How many grants may run at once: the portal backend opens one per app session.
pub const MAX_CONTROLS: usize = 64;

/// One grant of input control.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteControl {
    /// The id the portal backend names it by.
    pub id: u64,
    /// Who holds it.
    pub app_id: String,
    /// Device types granted (1 keyboard, 2 pointer, 4 touchscreen).
    pub devices: u32,
    /// When it was granted.
    pub since: Instant,
    /// Events carried out.
    pub events: u64,
}

/// Why an event of a grant was not carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteError {
    /// The grant ended (revoked, or never given).
    #[error("no remote control with id {0} (it ended or was revoked)")]
    Unknown(u64),
    /// The event needs a device the user did not grant.
    #[error("remote control {0} may not use that device")]
    NotGranted(u64),
    /// Too many grants run already.
    #[error("too many remote-control sessions run already")]
    Full,
}

/// Every grant running now.
#[derive(Debug, Default)]
pub struct RemoteControls {
    next_id: u64,
    controls: Vec<RemoteControl>,
}

impl RemoteControls {
    /// Grants `devices` to `app_id`; the new id.
    pub fn start(&mut self, app_id: &str, devices: u32) -> Result<u64, RemoteError> {
        if self.controls.len() >= MAX_CONTROLS {
            return Err(RemoteError::Full);
        }
        self.next_id += 1;
        self.controls.push(RemoteControl {
            id: self.next_id,
            app_id: app_id.to_string(),
            devices,
            since: Instant::now(),
            events: 0,
        });
        Ok(self.next_id)
    }

    /// Ends grant `id`; whether it ran.
    pub fn stop(&mut self, id: u64) -> bool {
        let before = self.controls.len();
        self.controls.retain(|c| c.id != id);
        before != self.controls.len()
    }

    /// Ends every grant; how many ran.
    pub fn stop_all(&mut self) -> usize {
        std::mem::take(&mut self.controls).len()
    }

    /// Whether grant `id` may send an event needing `device`; counts it.
    pub fn admit(&mut self, id: u64, device: u32) -> Result<(), RemoteError> {
        let control = self
            .controls
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or(RemoteError::Unknown(id))?;
        if control.devices & device == 0 {
            return Err(RemoteError::NotGranted(id));
        }
        control.events += 1;
        Ok(())
    }

    /// The grants' ids.
    pub fn ids(&self) -> Vec<u64> {
        self.controls.iter().map(|c| c.id).collect()
    }

    /// The devices grant `id` holds, while it runs.
    pub fn devices_of(&self, id: u64) -> Option<u32> {
        self.controls.iter().find(|c| c.id == id).map(|c| c.devices)
    }

    /// Whether someone controls input now (the indicator shows).
    pub fn active(&self) -> bool {
        !self.controls.is_empty()
    }

    /// The grants, for `ghostcomp msg remotes`.
    pub fn to_json(&self) -> Value {
        Value::Array(
            self.controls
                .iter()
                .map(|c| {
                    json!({
                        "id": c.id,
                        "app_id": c.app_id,
                        "keyboard": c.devices & ghost_capture::portal::KEYBOARD != 0,
                        "pointer": c.devices & ghost_capture::portal::POINTER != 0,
                        "touchscreen": c.devices & ghost_capture::portal::TOUCHSCREEN != 0,
                        "seconds": c.since.elapsed().as_secs(),
                        "events": c.events,
                    })
                })
                .collect(),
        )
    }
}

impl Ghost {
    /// Carries out a remote-control request.
    pub(crate) fn remote_request(&mut self, request: Request) -> Reply {
        match request {
            Request::RemoteStart { app_id, devices } => {
                match self.remotes.start(&app_id, devices) {
                    Ok(id) => {
                        tracing::info!(id, app_id, devices, "remote control granted");
                        self.queue_redraw_all();
                        Reply::ok(json!({"id": id}))
                    }
                    Err(e) => Reply::error(e.to_string()),
                }
            }
            Request::RemoteInput { id, event } => match self.remote_input(id, &event) {
                Ok(()) => Reply::ok(Value::Null),
                Err(e) => Reply::error(e.to_string()),
            },
            Request::RemoteStop { id } => match self.stop_remote(id) {
                true => Reply::ok(Value::Null),
                false => Reply::error(RemoteError::Unknown(id).to_string()),
            },
            Request::Remotes => Reply::ok(self.remotes.to_json()),
            Request::RemoteEis { id } => match self.eis_connection_for(id) {
                Ok((socket, token)) => Reply::ok(json!({"socket": socket, "token": token})),
                Err(e) => Reply::error(format!("{e:#}")),
            },
            Request::RemoteRevoke { id: Some(id) } => match self.stop_remote(id) {
                true => Reply::ok(json!({"revoked": 1})),
                false => Reply::error(RemoteError::Unknown(id).to_string()),
            },
            Request::RemoteRevoke { id: None } => {
                Reply::ok(json!({"revoked": self.stop_remote_control()}))
            }
            _ => Reply::error("not a remote-control request"),
        }
    }

    /// One event of grant `id`, through the seat.
    fn remote_input(&mut self, id: u64, event: &RemoteInput) -> Result<(), RemoteError> {
        self.remotes.admit(id, event.device())?;
        self.note_input_activity();
        self.apply_remote_input(event);
        Ok(())
    }

    /// Ends grant `id`; whether it ran.
    fn stop_remote(&mut self, id: u64) -> bool {
        let ran = self.remotes.stop(id);
        if ran {
            // An ended grant loses its EIS clients at once.
            self.eis_disconnect_ended();
            tracing::info!(id, "remote control ended");
            self.release_remote_keys();
            self.queue_redraw_all();
        }
        ran
    }

    /// Ends every grant (the user's binding, a revoke, the portal going away); how many
    /// ran.
    pub fn stop_remote_control(&mut self) -> usize {
        let count = self.remotes.stop_all();
        self.eis_disconnect_ended();
        if count > 0 {
            tracing::info!(count, "remote control revoked");
            self.release_remote_keys();
            self.queue_redraw_all();
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ghost_capture::portal::{KEYBOARD, POINTER};

    #[test]
    fn a_grant_admits_only_its_devices_until_it_ends() {
        let mut controls = RemoteControls::default();
        let id = controls.start("org.example.Remote", POINTER).unwrap();
        assert!(controls.active());
        assert_eq!(controls.admit(id, POINTER), Ok(()));
        assert_eq!(
            controls.admit(id, KEYBOARD),
            Err(RemoteError::NotGranted(id))
        );
        assert!(controls.stop(id));
        assert_eq!(controls.admit(id, POINTER), Err(RemoteError::Unknown(id)));
        assert!(!controls.active());
        assert!(!controls.stop(id));
    }

    #[test]
    fn ids_are_not_reused_and_grants_are_bounded() {
        let mut controls = RemoteControls::default();
        let first = controls.start("a", KEYBOARD).unwrap();
        controls.stop(first);
        let second = controls.start("a", KEYBOARD).unwrap();
        assert_ne!(first, second, "a revoked id never comes back to life");
        for _ in 1..MAX_CONTROLS {
            controls.start("a", KEYBOARD).unwrap();
        }
        assert_eq!(controls.start("a", KEYBOARD), Err(RemoteError::Full));
        assert_eq!(controls.stop_all(), MAX_CONTROLS);
        assert!(!controls.active());
    }
}
