//! `org.freedesktop.impl.portal.RemoteDesktop` (version 2: restore data): an app
//! (a remote-desktop server, a KVM switch such as input-leap) asks to control the
//! keyboard, the pointer or the touchscreen, usually together with a screen cast in
//! the same session (xdg-desktop-portal calls our ScreenCast's SelectSources on it).
//!
//! Start asks the user once for both: the share prompt says that the app would also
//! control input, and a session without a share asks a yes/no question. Restore data
//! (kept by xdg-desktop-portal behind a token only that app gets) skips the prompt next
//! time. Granted control lives in the compositor, which draws its indicator and may
//! revoke it; the Notify* calls become input there, through the same seat path as
//! real devices. Positions on a stream are in the stream's logical coordinates, which
//! the compositor maps to the desktop through the cast's source.

use std::{collections::HashMap, sync::Arc};

use zbus::zvariant::{OwnedObjectPath, OwnedValue};

use super::{
    screencast::{cursor_name, get_u32, insert_restore, owned, restore_of, stream_entry},
    session::{Queued, SessionState, Sessions},
    Choice, Desktop, Results, Stream, CANCELLED, FAILED, SUCCESS,
};

/// The keyboard may be controlled.
pub const KEYBOARD: u32 = 1;
/// The pointer may be controlled.
pub const POINTER: u32 = 2;
/// The touchscreen may be controlled.
pub const TOUCHSCREEN: u32 = 4;
/// Every device type.
const ALL_DEVICES: u32 = KEYBOARD | POINTER | TOUCHSCREEN;
/// What a session controls when SelectDevices names nothing (the portal's default).
const DEFAULT_DEVICES: u32 = KEYBOARD | POINTER;
/// NotifyPointerAxis's `finish` flag: the scroll ended (fingers lifted).
const AXIS_FINISH: &str = "finish";

/// One input event a remote peer sends, as the compositor carries it out.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RemoteInput {
    /// Relative motion, as a mouse moves.
    PointerMotion {
        /// Logical pixels right.
        dx: f64,
        /// Logical pixels down.
        dy: f64,
    },
    /// To a position on a cast's picture (its logical coordinates), or on the desktop
    /// (global logical coordinates: EIS devices' regions are the outputs).
    PointerMotionAbsolute {
        /// The compositor's cast id; the desktop when absent.
        #[serde(default)]
        cast: Option<u64>,
        /// From the picture's left edge.
        x: f64,
        /// From the picture's top edge.
        y: f64,
    },
    /// A button (Linux evdev code, BTN_LEFT is 272) pressed or released.
    PointerButton {
        /// The evdev code.
        button: u32,
        /// Pressed (true) or released.
        pressed: bool,
    },
    /// Smooth scrolling, as a touchpad does.
    PointerAxis {
        /// Logical pixels horizontally.
        dx: f64,
        /// Logical pixels vertically.
        dy: f64,
        /// The scroll ended (kinetic scrolling may follow).
        finish: bool,
    },
    /// Wheel clicks.
    PointerAxisDiscrete {
        /// 0 vertical, 1 horizontal.
        axis: u32,
        /// Clicks, positive down or right.
        steps: i32,
    },
    /// A key by its Linux evdev code.
    KeyboardKeycode {
        /// The evdev code (KEY_A is 30).
        keycode: u32,
        /// Pressed (true) or released.
        pressed: bool,
    },
    /// A key by the symbol it types (the compositor finds the key in its layout).
    KeyboardKeysym {
        /// The X keysym.
        keysym: u32,
        /// Pressed (true) or released.
        pressed: bool,
    },
    /// A finger touches a cast's picture (or the desktop).
    TouchDown {
        /// The compositor's cast id; the desktop when absent.
        #[serde(default)]
        cast: Option<u64>,
        /// Which finger.
        slot: u32,
        /// Logical position on the picture.
        x: f64,
        /// Logical position on the picture.
        y: f64,
    },
    /// A finger moves on a cast's picture (or the desktop).
    TouchMotion {
        /// The compositor's cast id; the desktop when absent.
        #[serde(default)]
        cast: Option<u64>,
        /// Which finger.
        slot: u32,
        /// Logical position on the picture.
        x: f64,
        /// Logical position on the picture.
        y: f64,
    },
    /// A finger lifts.
    TouchUp {
        /// Which finger.
        slot: u32,
    },
}

impl RemoteInput {
    /// The device type the event needs granted.
    pub fn device(&self) -> u32 {
        match self {
            RemoteInput::KeyboardKeycode { .. } | RemoteInput::KeyboardKeysym { .. } => KEYBOARD,
            RemoteInput::TouchDown { .. }
            | RemoteInput::TouchMotion { .. }
            | RemoteInput::TouchUp { .. } => TOUCHSCREEN,
            _ => POINTER,
        }
    }
}

/// Our restore data for a remote-desktop session: the devices granted and the share's
/// own restore data, `remote:DEVICES:SHARE`.
fn remote_restore(devices: u32, share: &str) -> String {
    format!("remote:{devices}:{share}")
}

/// Reads [`remote_restore`]'s data back: devices granted and the share's data.
fn parse_remote_restore(data: &str) -> Option<(u32, &str)> {
    let rest = data.strip_prefix("remote:")?;
    let (devices, share) = rest.split_once(':')?;
    Some((devices.parse().ok()?, share))
}

/// The question a session without a share asks.
fn control_question(devices: u32) -> String {
    let mut names = Vec::new();
    for (bit, name) in [
        (KEYBOARD, "keyboard"),
        (POINTER, "pointer"),
        (TOUCHSCREEN, "touchscreen"),
    ] {
        if devices & bit != 0 {
            names.push(name);
        }
    }
    format!("wants to control your {}", names.join(" and "))
}

/// The RemoteDesktop implementation.
pub struct RemoteDesktop {
    desktop: Arc<dyn Desktop>,
    sessions: Sessions,
}

impl RemoteDesktop {
    /// Serves `desktop`'s input, keeping sessions in `sessions` (shared with the
    /// ScreenCast interface, which selects a session's sources).
    pub fn new(desktop: Arc<dyn Desktop>, sessions: Sessions) -> Self {
        Self { desktop, sessions }
    }

    /// Queues `event` of the session at `path` for the compositor, where the session
    /// started, holds that device, and (for a position) shows that stream. Nothing
    /// here waits, so events leave in the order their calls arrived.
    fn notify(
        &self,
        path: &OwnedObjectPath,
        event: impl FnOnce(&SessionState) -> Option<RemoteInput>,
    ) {
        let Some(Some((remote, event))) = self.sessions.with(path, |s| {
            let event = event(s)?;
            let allowed = s.devices & event.device() != 0 && !s.uses_eis;
            let remote = s.remote.filter(|_| allowed)?;
            Some((remote, event))
        }) else {
            tracing::debug!(%path, "input for a session that may not send it; dropped");
            return;
        };
        self.sessions.queue(Queued::Input(remote, event));
    }
}

/// The cast behind PipeWire node `node` of a session.
fn cast_of(state: &SessionState, node: u32) -> Option<u64> {
    state
        .nodes
        .iter()
        .find(|(n, _)| *n == node)
        .map(|(_, id)| *id)
}

/// A finite coordinate, or none (NaN and infinities from a peer go no further).
fn finite(x: f64, y: f64) -> Option<(f64, f64)> {
    (x.is_finite() && y.is_finite()).then_some((x, y))
}

#[zbus::interface(name = "org.freedesktop.impl.portal.RemoteDesktop")]
impl RemoteDesktop {
    /// A new session, controlling the keyboard and pointer unless SelectDevices says
    /// otherwise.
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
            types: super::screencast::MONITOR,
            devices: DEFAULT_DEVICES,
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

    /// Which devices the app wants, persistence and restore data.
    async fn select_devices(
        &self,
        _handle: OwnedObjectPath,
        session_handle: OwnedObjectPath,
        _app_id: String,
        options: HashMap<String, OwnedValue>,
    ) -> (u32, Results) {
        let devices = get_u32(&options, "types").unwrap_or(DEFAULT_DEVICES) & ALL_DEVICES;
        let persist = get_u32(&options, "persist_mode").unwrap_or(0).min(2);
        let restore = restore_of(&options);
        let known = self.sessions.with(&session_handle, |s| {
            s.devices = if devices == 0 {
                DEFAULT_DEVICES
            } else {
                devices
            };
            s.persist_mode = persist;
            s.restore = restore;
        });
        match known {
            Some(()) => (SUCCESS, Results::new()),
            None => (FAILED, Results::new()),
        }
    }

    /// Asks the user (or restores), grants control and starts the share.
    async fn start(
        &self,
        _handle: OwnedObjectPath,
        session_handle: OwnedObjectPath,
        _app_id: String,
        _parent_window: String,
        _options: HashMap<String, OwnedValue>,
    ) -> (u32, Results) {
        let first = self.sessions.with(&session_handle, |s| {
            (s.clone(), !std::mem::replace(&mut s.started, true))
        });
        let Some((state, true)) = first else {
            return (FAILED, Results::new());
        };
        let desktop = self.desktop.clone();
        let asked = state.clone();
        let outcome = blocking::unblock(move || grant(desktop.as_ref(), &asked)).await;
        let granted = match outcome {
            Ok(Some(granted)) => granted,
            Ok(None) => return (CANCELLED, Results::new()),
            Err(err) => {
                tracing::warn!(%err, app_id = state.app_id, "remote desktop not started");
                return (FAILED, Results::new());
            }
        };
        let still_open = self.sessions.with(&session_handle, |s| {
            s.remote = Some(granted.remote);
            if let Some((choice, stream)) = &granted.share {
                s.choice = Some(choice.clone());
                s.streams.push(stream.id);
                s.nodes.push((stream.node_id, stream.id));
            }
        });
        if still_open.is_none() {
            // Closed while the user chose.
            let desktop = self.desktop.clone();
            blocking::unblock(move || {
                desktop.stop_remote(granted.remote);
                if let Some((_, stream)) = granted.share {
                    desktop.stop_cast(stream.id);
                }
            })
            .await;
            return (CANCELLED, Results::new());
        }
        start_results(&state, &granted).map_or((FAILED, Results::new()), |r| (SUCCESS, r))
    }

    /// Relative pointer motion.
    async fn notify_pointer_motion(
        &self,
        session_handle: OwnedObjectPath,
        _options: HashMap<String, OwnedValue>,
        dx: f64,
        dy: f64,
    ) {
        self.notify(&session_handle, |_| {
            let (dx, dy) = finite(dx, dy)?;
            Some(RemoteInput::PointerMotion { dx, dy })
        });
    }

    /// The pointer to a position on one of the session's streams.
    async fn notify_pointer_motion_absolute(
        &self,
        session_handle: OwnedObjectPath,
        _options: HashMap<String, OwnedValue>,
        stream: u32,
        x: f64,
        y: f64,
    ) {
        self.notify(&session_handle, |s| {
            let (x, y) = finite(x, y)?;
            let cast = Some(cast_of(s, stream)?);
            Some(RemoteInput::PointerMotionAbsolute { cast, x, y })
        });
    }

    /// A button (evdev code) pressed (state 1) or released (0).
    async fn notify_pointer_button(
        &self,
        session_handle: OwnedObjectPath,
        _options: HashMap<String, OwnedValue>,
        button: i32,
        state: u32,
    ) {
        self.notify(&session_handle, |_| {
            Some(RemoteInput::PointerButton {
                button: u32::try_from(button).ok()?,
                pressed: state != 0,
            })
        });
    }

    /// Smooth scrolling; `finish` in the options ends it.
    async fn notify_pointer_axis(
        &self,
        session_handle: OwnedObjectPath,
        options: HashMap<String, OwnedValue>,
        dx: f64,
        dy: f64,
    ) {
        let finish = options
            .get(AXIS_FINISH)
            .and_then(|v| v.downcast_ref::<bool>().ok())
            .unwrap_or(false);
        self.notify(&session_handle, |_| {
            let (dx, dy) = finite(dx, dy)?;
            Some(RemoteInput::PointerAxis { dx, dy, finish })
        });
    }

    /// Wheel clicks on an axis (0 vertical, 1 horizontal).
    async fn notify_pointer_axis_discrete(
        &self,
        session_handle: OwnedObjectPath,
        _options: HashMap<String, OwnedValue>,
        axis: u32,
        steps: i32,
    ) {
        self.notify(&session_handle, |_| {
            (axis <= 1).then_some(RemoteInput::PointerAxisDiscrete { axis, steps })
        });
    }

    /// A key by evdev code.
    async fn notify_keyboard_keycode(
        &self,
        session_handle: OwnedObjectPath,
        _options: HashMap<String, OwnedValue>,
        keycode: i32,
        state: u32,
    ) {
        self.notify(&session_handle, |_| {
            Some(RemoteInput::KeyboardKeycode {
                keycode: u32::try_from(keycode).ok()?,
                pressed: state != 0,
            })
        });
    }

    /// A key by keysym.
    async fn notify_keyboard_keysym(
        &self,
        session_handle: OwnedObjectPath,
        _options: HashMap<String, OwnedValue>,
        keysym: i32,
        state: u32,
    ) {
        self.notify(&session_handle, |_| {
            Some(RemoteInput::KeyboardKeysym {
                keysym: u32::try_from(keysym).ok()?,
                pressed: state != 0,
            })
        });
    }

    /// A finger touches a stream.
    async fn notify_touch_down(
        &self,
        session_handle: OwnedObjectPath,
        _options: HashMap<String, OwnedValue>,
        stream: u32,
        slot: u32,
        x: f64,
        y: f64,
    ) {
        self.notify(&session_handle, |s| {
            let (x, y) = finite(x, y)?;
            let cast = Some(cast_of(s, stream)?);
            Some(RemoteInput::TouchDown { cast, slot, x, y })
        });
    }

    /// A finger moves on a stream.
    async fn notify_touch_motion(
        &self,
        session_handle: OwnedObjectPath,
        _options: HashMap<String, OwnedValue>,
        stream: u32,
        slot: u32,
        x: f64,
        y: f64,
    ) {
        self.notify(&session_handle, |s| {
            let (x, y) = finite(x, y)?;
            let cast = Some(cast_of(s, stream)?);
            Some(RemoteInput::TouchMotion { cast, slot, x, y })
        });
    }

    /// A finger lifts.
    async fn notify_touch_up(
        &self,
        session_handle: OwnedObjectPath,
        _options: HashMap<String, OwnedValue>,
        slot: u32,
    ) {
        self.notify(&session_handle, |_| Some(RemoteInput::TouchUp { slot }));
    }

    /// A libei socket for a started session's control (xdg-desktop-portal 1.17 and
    /// newer pass it on); once per session, and Notify calls stop counting.
    #[zbus(name = "ConnectToEIS")]
    async fn connect_to_eis(
        &self,
        session_handle: OwnedObjectPath,
        _app_id: String,
        _options: HashMap<String, OwnedValue>,
    ) -> zbus::fdo::Result<zbus::zvariant::OwnedFd> {
        let remote = self
            .sessions
            .with(&session_handle, |s| {
                let remote = s.remote.filter(|_| !s.uses_eis)?;
                s.uses_eis = true;
                Some(remote)
            })
            .flatten()
            .ok_or_else(|| {
                zbus::fdo::Error::AccessDenied(
                    "the session holds no control, or has its EIS connection".into(),
                )
            })?;
        let desktop = self.desktop.clone();
        let fd = blocking::unblock(move || desktop.connect_eis(remote))
            .await
            .map_err(zbus::fdo::Error::Failed)?;
        Ok(fd.into())
    }

    /// Keyboard, pointer and touchscreen.
    #[zbus(property)]
    fn available_device_types(&self) -> u32 {
        ALL_DEVICES
    }

    /// Interface version (2: restore data).
    #[zbus(property, name = "version")]
    fn version(&self) -> u32 {
        2
    }
}

/// What Start got: the control, and the share where the session has one.
struct Granted {
    remote: u64,
    share: Option<(Choice, Stream)>,
}

/// Asks the user (unless restore data from an earlier grant of at least these devices
/// stands), then starts the control and the share. `Ok(None)` when refused.
fn grant(desktop: &dyn Desktop, asked: &SessionState) -> Result<Option<Granted>, String> {
    let restored = asked
        .restore
        .as_deref()
        .and_then(parse_remote_restore)
        .filter(|(devices, _)| asked.devices & !devices == 0);
    let share = match (asked.sources_selected, restored) {
        (true, restored) => {
            let share_restore = restored.map(|(_, share)| share).filter(|s| !s.is_empty());
            // A restored share that is gone asks again, and the prompt names the
            // control too.
            let Some(choice) =
                desktop.choose(&asked.app_id, asked.types, share_restore, asked.devices)?
            else {
                return Ok(None);
            };
            Some(choice)
        }
        (false, Some(_)) => None,
        (false, None) => {
            if !desktop.confirm(
                &asked.app_id,
                &control_question(asked.devices),
                asked.devices,
            )? {
                return Ok(None);
            }
            None
        }
    };
    let remote = desktop.start_remote(&asked.app_id, asked.devices)?;
    let share = match share {
        Some(choice) => {
            let started = desktop.start_cast(
                &choice.source,
                cursor_name(asked.cursor_mode),
                &asked.app_id,
            );
            match started {
                Ok(stream) => Some((choice, stream)),
                Err(err) => {
                    desktop.stop_remote(remote);
                    return Err(err);
                }
            }
        }
        None => None,
    };
    Ok(Some(Granted { remote, share }))
}

/// Start's results: the devices, the stream, and restore data when asked to persist.
fn start_results(state: &SessionState, granted: &Granted) -> Option<Results> {
    let mut results = Results::new();
    results.insert("devices".into(), owned(state.devices)?);
    let mut share_restore = String::new();
    if let Some((choice, stream)) = &granted.share {
        results.insert(
            "streams".into(),
            owned(vec![stream_entry(choice, stream)?])?,
        );
        share_restore = choice.restore.clone();
    }
    if state.persist_mode > 0 {
        let data = remote_restore(state.devices, &share_restore);
        insert_restore(&mut results, state.persist_mode, data)?;
    }
    Some(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restore_data_reads_back_what_was_written() {
        let data = remote_restore(KEYBOARD | POINTER, "output:HEADLESS-1");
        assert_eq!(parse_remote_restore(&data), Some((3, "output:HEADLESS-1")));
        assert_eq!(parse_remote_restore(&remote_restore(1, "")), Some((1, "")));
        for bad in ["", "remote:", "remote:x:y", "output:HEADLESS-1", "remote:3"] {
            assert_eq!(parse_remote_restore(bad), None, "{bad}");
        }
    }

    #[test]
    fn each_event_needs_its_own_device() {
        let key = RemoteInput::KeyboardKeysym {
            keysym: 0x61,
            pressed: true,
        };
        let touch = RemoteInput::TouchUp { slot: 0 };
        let click = RemoteInput::PointerButton {
            button: 272,
            pressed: true,
        };
        assert_eq!(
            (key.device(), touch.device(), click.device()),
            (KEYBOARD, TOUCHSCREEN, POINTER)
        );
    }

    #[test]
    fn the_question_names_the_devices() {
        assert_eq!(
            control_question(KEYBOARD | POINTER),
            "wants to control your keyboard and pointer"
        );
        assert_eq!(
            control_question(TOUCHSCREEN),
            "wants to control your touchscreen"
        );
    }
}
