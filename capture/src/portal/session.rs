//! Portal sessions (screen casts, remote desktops): what each app chose, the streams
//! and the control it holds, and the
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
    /// Input devices a remote-desktop session asks to control (1 keyboard, 2 pointer,
    /// 4 touchscreen); 0 for a screen cast alone.
    pub devices: u32,
    /// A remote-desktop session that also shares the screen (SelectSources was called).
    pub sources_selected: bool,
    /// The compositor's id for the control the user granted, once started.
    pub remote: Option<u64>,
    /// Each stream's PipeWire node and the compositor's cast id, for input placed on
    /// a stream.
    pub nodes: Vec<(u32, u64)>,
    /// The app took a libei connection (its input goes there, once).
    pub uses_eis: bool,
}

/// How many sessions may be open at once. Each holds an exported object and, once
/// started, a stream: any process on the session bus can call the backend directly, and
/// must not make it grow without end. Apps open one or two.
pub const MAX_SESSIONS: usize = 256;

/// What goes to the compositor in order: remote input, and the end of a control
/// (after the input its app sent before closing).
pub enum Queued {
    /// One event of a control.
    Input(u64, super::RemoteInput),
    /// The control ends.
    Stop(u64),
}

/// Every open session by object path, and the ordered way to the compositor for
/// their input.
#[derive(Clone)]
pub struct Sessions {
    all: Arc<Mutex<HashMap<OwnedObjectPath, SessionState>>>,
    queue: std::sync::mpsc::Sender<Queued>,
}

impl Sessions {
    /// No sessions yet; one thread carries every session's input to `desktop`, so a
    /// key's release never overtakes its press (each D-Bus call runs as a task of its
    /// own) and a closing session's last keys arrive before its control ends.
    pub fn new(desktop: Arc<dyn Desktop>) -> Self {
        let (queue, queued) = std::sync::mpsc::channel::<Queued>();
        let _ = std::thread::Builder::new()
            .name("remote-input".into())
            .spawn(move || {
                for item in queued {
                    match item {
                        Queued::Input(remote, event) => {
                            if let Err(err) = desktop.remote_input(remote, &event) {
                                tracing::debug!(%err, remote, "remote input not carried out");
                            }
                        }
                        Queued::Stop(remote) => desktop.stop_remote(remote),
                    }
                }
            });
        Self {
            all: Arc::default(),
            queue,
        }
    }

    /// Sends remote input (or a control's end) after what was queued before.
    pub fn queue(&self, item: Queued) {
        let _ = self.queue.send(item);
    }

    /// Runs `f` on a session's state.
    pub fn with<T>(
        &self,
        path: &OwnedObjectPath,
        f: impl FnOnce(&mut SessionState) -> T,
    ) -> Option<T> {
        let mut all = self.all.lock().ok()?;
        all.get_mut(path).map(f)
    }

    /// Whether another session may be opened.
    pub fn has_room(&self) -> bool {
        self.all.lock().is_ok_and(|all| all.len() < MAX_SESSIONS)
    }

    /// Adds a session.
    pub fn insert(&self, path: OwnedObjectPath, state: SessionState) {
        if let Ok(mut all) = self.all.lock() {
            all.insert(path, state);
        }
    }

    /// Removes a session, returning its state.
    pub fn remove(&self, path: &OwnedObjectPath) -> Option<SessionState> {
        self.all.lock().ok()?.remove(path)
    }

    /// Sessions holding remote control, with the compositor's id for it.
    pub fn controlling(&self) -> Vec<(OwnedObjectPath, u64)> {
        let Ok(all) = self.all.lock() else {
            return Vec::new();
        };
        all.iter()
            .filter_map(|(path, s)| Some((path.clone(), s.remote?)))
            .collect()
    }

    /// Opens a session at `path` for `state`: remembered, with its object for Close.
    /// False when there is no room or the object cannot be exported.
    pub async fn open(
        &self,
        server: &zbus::ObjectServer,
        path: OwnedObjectPath,
        state: SessionState,
        desktop: Arc<dyn Desktop>,
    ) -> bool {
        if !self.has_room() {
            tracing::warn!(
                app_id = state.app_id,
                "too many portal sessions are open; refusing another"
            );
            return false;
        }
        let session = Session::new(path.clone(), self.clone(), desktop);
        if let Err(err) = server.at(&path, session).await {
            tracing::warn!(%err, "cannot export a portal session");
            return false;
        }
        self.insert(path, state);
        true
    }

    /// Ends what a closed session held: its streams, and its remote control once the
    /// input queued before it went out.
    pub fn release(&self, desktop: &dyn Desktop, state: SessionState) {
        for id in state.streams {
            desktop.stop_cast(id);
        }
        if let Some(remote) = state.remote {
            self.queue(Queued::Stop(remote));
        }
    }
}

/// Closes the session at `path` from this side (the compositor revoked it): its
/// object goes and xdg-desktop-portal hears `Closed`, so the app learns it.
pub async fn close_from_here(server: &zbus::ObjectServer, path: &OwnedObjectPath) {
    if let Ok(iface) = server.interface::<_, Session>(path).await {
        let _ = Session::closed(iface.signal_emitter()).await;
    }
    let _ = server.remove::<Session, _>(path).await;
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
            let (desktop, sessions) = (self.desktop.clone(), self.sessions.clone());
            blocking::unblock(move || sessions.release(desktop.as_ref(), state)).await;
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
