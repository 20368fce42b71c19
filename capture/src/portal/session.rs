//! Screen-cast sessions: what each app chose and the streams it runs, and the
//! `org.freedesktop.impl.portal.Session` object xdg-desktop-portal closes when the app
//! is done (or gone).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use zbus::{object_server::SignalEmitter, zvariant::OwnedObjectPath};

use super::{Choice, Desktop};

/// What a session asked for and got.
#[derive(Debug, Default, Clone)]
pub struct SessionState {
    /// The app, as xdg-desktop-portal names it.
    pub app_id: String,
    /// Source types asked for (1 monitor, 2 window).
    pub types: u32,
    /// 1 hidden, 2 embedded, 4 metadata.
    pub cursor_mode: u32,
    /// 0 none, 1 while the app runs, 2 until revoked.
    pub persist_mode: u32,
    /// Restore data from an earlier session, if the app passed a token.
    pub restore: Option<String>,
    /// The user's choice, once made.
    pub choice: Option<Choice>,
    /// Streams started for it (compositor ids).
    pub streams: Vec<u64>,
    /// Start was called (a session starts once).
    pub started: bool,
}

/// How many sessions may be open at once. Each holds an exported object and, once
/// started, a stream: any process on the session bus can call the backend directly, and
/// must not make it grow without end. Apps open one or two.
pub const MAX_SESSIONS: usize = 256;

/// Every open session by object path.
#[derive(Clone, Default)]
pub struct Sessions(pub Arc<Mutex<HashMap<OwnedObjectPath, SessionState>>>);

impl Sessions {
    /// Runs `f` on a session's state.
    pub fn with<T>(
        &self,
        path: &OwnedObjectPath,
        f: impl FnOnce(&mut SessionState) -> T,
    ) -> Option<T> {
        let mut all = self.0.lock().ok()?;
        all.get_mut(path).map(f)
    }

    /// Whether another session may be opened.
    pub fn has_room(&self) -> bool {
        self.0.lock().is_ok_and(|all| all.len() < MAX_SESSIONS)
    }

    /// Adds a session.
    pub fn insert(&self, path: OwnedObjectPath, state: SessionState) {
        if let Ok(mut all) = self.0.lock() {
            all.insert(path, state);
        }
    }

    /// Removes a session, returning its state.
    pub fn remove(&self, path: &OwnedObjectPath) -> Option<SessionState> {
        self.0.lock().ok()?.remove(path)
    }
}

/// The session object at a session handle.
pub struct Session {
    path: OwnedObjectPath,
    sessions: Sessions,
    desktop: Arc<dyn Desktop>,
}

impl Session {
    /// The object for `path`.
    pub fn new(path: OwnedObjectPath, sessions: Sessions, desktop: Arc<dyn Desktop>) -> Self {
        Self {
            path,
            sessions,
            desktop,
        }
    }
}

#[zbus::interface(name = "org.freedesktop.impl.portal.Session")]
impl Session {
    /// The app is done (or gone): its streams end.
    async fn close(
        &self,
        #[zbus(object_server)] server: &zbus::ObjectServer,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) {
        if let Some(state) = self.sessions.remove(&self.path) {
            let desktop = self.desktop.clone();
            blocking::unblock(move || {
                for id in state.streams {
                    desktop.stop_cast(id);
                }
            })
            .await;
        }
        let _ = Self::closed(&emitter).await;
        let _ = server.remove::<Self, _>(&self.path).await;
    }

    /// Sent when the session ends from this side.
    #[zbus(signal)]
    async fn closed(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;

    /// Interface version.
    #[zbus(property, name = "version")]
    fn version(&self) -> u32 {
        1
    }
}
