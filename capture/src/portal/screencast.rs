//! `org.freedesktop.impl.portal.ScreenCast` (version 4: restore data): sessions choose
//! a monitor, a window or a region of the desktop (a "virtual" source), with the
//! cursor hidden, embedded or as metadata, and get a
//! PipeWire stream the app reads through the remote xdg-desktop-portal opens for it.

use std::{collections::HashMap, sync::Arc};

use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

use super::{
    session::{SessionState, Sessions},
    Choice, Desktop, Results, Source, CANCELLED, FAILED, SUCCESS,
};

/// Monitors may be shared.
pub(super) const MONITOR: u32 = 1;
/// Windows may be shared.
const WINDOW: u32 = 2;
/// Regions of the desktop may be shared ("virtual" in the portal's terms).
const VIRTUAL: u32 = 4;
/// Cursor modes: hidden, embedded, metadata.
const CURSOR_HIDDEN: u32 = 1;
const CURSOR_EMBEDDED: u32 = 2;
const CURSOR_METADATA: u32 = 4;
/// Restore data is (vendor, version, data); ours is a string.
pub(super) const VENDOR: &str = "GhostNV";
pub(super) const RESTORE_VERSION: u32 = 1;

/// The ScreenCast implementation.
pub struct ScreenCast {
    desktop: Arc<dyn Desktop>,
    sessions: Sessions,
}

impl ScreenCast {
    /// Serves `desktop`'s sources, keeping sessions in `sessions`.
    pub fn new(desktop: Arc<dyn Desktop>, sessions: Sessions) -> Self {
        Self { desktop, sessions }
    }
}

pub(super) fn get_u32(options: &HashMap<String, OwnedValue>, key: &str) -> Option<u32> {
    options.get(key).and_then(|v| v.downcast_ref::<u32>().ok())
}

/// Our restore data out of SelectSources' options, when it is ours and understood.
pub(super) fn restore_of(options: &HashMap<String, OwnedValue>) -> Option<String> {
    let value = options.get("restore_data")?.try_clone().ok()?;
    let (vendor, version, data): (String, u32, OwnedValue) = value.try_into().ok()?;
    if vendor != VENDOR || version != RESTORE_VERSION {
        return None;
    }
    data.downcast_ref::<String>().ok()
}

pub(super) fn owned<'a>(value: impl Into<Value<'a>>) -> Option<OwnedValue> {
    OwnedValue::try_from(value.into()).ok()
}

pub(super) fn cursor_name(mode: u32) -> &'static str {
    match mode {
        CURSOR_HIDDEN => "hidden",
        CURSOR_METADATA => "metadata",
        _ => "embedded",
    }
}

#[zbus::interface(name = "org.freedesktop.impl.portal.ScreenCast")]
impl ScreenCast {
    /// A new session: remembered, with its object for Close.
    async fn create_session(
        &self,
        _handle: OwnedObjectPath,
        session_handle: OwnedObjectPath,
        app_id: String,
        _options: HashMap<String, OwnedValue>,
        #[zbus(object_server)] server: &zbus::ObjectServer,
    ) -> (u32, Results) {
        let state = SessionState {
            app_id,
            types: MONITOR,
            cursor_mode: CURSOR_HIDDEN,
            ..Default::default()
        };
        let desktop = self.desktop.clone();
        match self
            .sessions
            .open(server, session_handle, state, desktop)
            .await
        {
            true => (SUCCESS, Results::new()),
            false => (FAILED, Results::new()),
        }
    }

    /// What the app accepts: source types, cursor mode, persistence, restore data.
    async fn select_sources(
        &self,
        _handle: OwnedObjectPath,
        session_handle: OwnedObjectPath,
        _app_id: String,
        options: HashMap<String, OwnedValue>,
    ) -> (u32, Results) {
        let types = get_u32(&options, "types").unwrap_or(MONITOR) & (MONITOR | WINDOW | VIRTUAL);
        let cursor = get_u32(&options, "cursor_mode").unwrap_or(CURSOR_HIDDEN);
        let persist = get_u32(&options, "persist_mode").unwrap_or(0).min(2);
        let restore = restore_of(&options);
        let known = self.sessions.with(&session_handle, |s| {
            s.types = if types == 0 { MONITOR } else { types };
            s.cursor_mode = match cursor {
                CURSOR_HIDDEN | CURSOR_EMBEDDED | CURSOR_METADATA => cursor,
                _ => CURSOR_EMBEDDED,
            };
            s.sources_selected = true;
            // A remote-desktop session keeps the restore data SelectDevices gave.
            if s.devices == 0 {
                s.persist_mode = persist;
                s.restore = restore;
            }
        });
        match known {
            Some(()) => (SUCCESS, Results::new()),
            None => (FAILED, Results::new()),
        }
    }

    /// Asks the compositor for the user's choice (or the restored one) and starts the
    /// stream.
    async fn start(
        &self,
        _handle: OwnedObjectPath,
        session_handle: OwnedObjectPath,
        _app_id: String,
        _parent_window: String,
        _options: HashMap<String, OwnedValue>,
    ) -> (u32, Results) {
        // A session starts once (the portal's contract); another Start, even one
        // arriving while the first waits for the user, would only pile up streams.
        let first = self.sessions.with(&session_handle, |s| {
            (s.clone(), !std::mem::replace(&mut s.started, true))
        });
        let Some((state, true)) = first else {
            return (FAILED, Results::new());
        };
        let desktop = self.desktop.clone();
        let asked = state.clone();
        let outcome = blocking::unblock(move || {
            let choice = desktop.choose(&asked.app_id, asked.types, asked.restore.as_deref(), 0)?;
            let Some(choice) = choice else {
                return Ok(None);
            };
            let stream = desktop.start_cast(
                &choice.source,
                cursor_name(asked.cursor_mode),
                &asked.app_id,
            )?;
            Ok::<_, String>(Some((choice, stream)))
        })
        .await;
        let (choice, stream) = match outcome {
            Ok(Some(pair)) => pair,
            Ok(None) => return (CANCELLED, Results::new()),
            Err(err) => {
                tracing::warn!(%err, app_id = state.app_id, "screen cast not started");
                return (FAILED, Results::new());
            }
        };
        let still_open = self.sessions.with(&session_handle, |s| {
            s.choice = Some(choice.clone());
            s.streams.push(stream.id);
            s.nodes.push((stream.node_id, stream.id));
        });
        if still_open.is_none() {
            // Closed while the user chose: the stream has no one to go to.
            self.desktop.stop_cast(stream.id);
            return (CANCELLED, Results::new());
        }
        results(&choice, &stream, state.persist_mode)
            .map_or((FAILED, Results::new()), |r| (SUCCESS, r))
    }

    /// Monitors, windows and regions.
    #[zbus(property)]
    fn available_source_types(&self) -> u32 {
        MONITOR | WINDOW | VIRTUAL
    }

    /// Hidden, embedded and metadata.
    #[zbus(property)]
    fn available_cursor_modes(&self) -> u32 {
        CURSOR_HIDDEN | CURSOR_EMBEDDED | CURSOR_METADATA
    }

    /// Interface version (4: restore data).
    #[zbus(property, name = "version")]
    fn version(&self) -> u32 {
        4
    }
}

/// Start's results: the stream with its size and kind, and restore data when the app
/// asked to persist.
pub(super) fn results(
    choice: &Choice,
    stream: &super::Stream,
    persist_mode: u32,
) -> Option<Results> {
    let mut results = Results::new();
    results.insert(
        "streams".into(),
        owned(vec![stream_entry(choice, stream)?])?,
    );
    if persist_mode > 0 {
        insert_restore(&mut results, persist_mode, choice.restore.clone())?;
    }
    Some(results)
}

/// One stream as Start lists it: its node, with its size, kind and sound.
pub(super) fn stream_entry(
    choice: &Choice,
    stream: &super::Stream,
) -> Option<(u32, HashMap<String, OwnedValue>)> {
    let source_type = match choice.source {
        Source::Output(_) => MONITOR,
        Source::Window(_) => WINDOW,
        Source::Region { .. } => VIRTUAL,
    };
    let mut properties: HashMap<String, OwnedValue> = HashMap::new();
    properties.insert(
        "size".into(),
        owned(zbus::zvariant::Structure::from((
            stream.width as i32,
            stream.height as i32,
        )))?,
    );
    properties.insert("source_type".into(), owned(source_type)?);
    properties.insert("id".into(), owned(stream.id.to_string())?);
    // The share's sound, for consumers that look for it; the video stays the only
    // stream, as OBS takes the last stream listed and browsers the first.
    if let Some(audio) = stream.audio_node_id {
        properties.insert("audio_node_id".into(), owned(audio)?);
    }
    Some((stream.node_id, properties))
}

/// Adds the persistence the app asked for and our restore data (which
/// xdg-desktop-portal keeps behind a token).
pub(super) fn insert_restore(results: &mut Results, persist_mode: u32, data: String) -> Option<()> {
    results.insert("persist_mode".into(), owned(persist_mode)?);
    results.insert(
        "restore_data".into(),
        owned(zbus::zvariant::Structure::from((
            VENDOR.to_string(),
            RESTORE_VERSION,
            Value::from(data),
        )))?,
    );
    Some(())
}
