//! The xdg-desktop-portal backend: `org.freedesktop.impl.portal.ScreenCast`,
//! `org.freedesktop.impl.portal.RemoteDesktop`,
//! `org.freedesktop.impl.portal.Screenshot` and `org.freedesktop.impl.portal.Access`
//! (xdg-desktop-portal 1.16 offers the Screenshot portal only with an Access backend) on
//! the session bus, as `org.freedesktop.impl.portal.desktop.ghost`.
//!
//! It runs as its own small process (`ghostcomp portal`), not inside the compositor:
//! D-Bus calls may block for as long as the user takes to choose, the bus may stall, and
//! a bug in this code must not take the desktop down with it. The process holds no
//! pictures: it asks the compositor, through the [`Desktop`] trait (the compositor's IPC
//! in practice), which source the user consents to and to start a PipeWire stream of
//! it; the streams live in the compositor, so frames never cross this process. If the
//! compositor goes away the portal answers with errors and exits; if the portal dies,
//! the compositor and its streams carry on and D-Bus starts a new portal on the next
//! call.

mod access;
mod remote_desktop;
mod screencast;
mod screenshot;
mod session;

use std::{collections::HashMap, sync::Arc};

pub use access::Access;
pub use remote_desktop::{RemoteDesktop, RemoteInput, KEYBOARD, POINTER, TOUCHSCREEN};
pub use screencast::ScreenCast;
pub use screenshot::Screenshot;

/// What the portal needs from the compositor. Calls may block (the user chooses).
pub trait Desktop: Send + Sync + 'static {
    /// Which source `app_id` may share, among `types` (1 monitors, 2 windows, 4
    /// regions): at once
    /// when `restore` still names something, else as the user (or the unattended
    /// policy) decides. `control` names the input devices the app would also control
    /// (remote desktop; 0 for a share alone), which the prompt says. `Ok(None)` when
    /// refused.
    fn choose(
        &self,
        app_id: &str,
        types: u32,
        restore: Option<&str>,
        control: u32,
    ) -> Result<Option<Choice>, String>;
    /// Starts a PipeWire stream of `source` with the cursor `hidden`, `embedded` or
    /// `metadata`.
    fn start_cast(&self, source: &Source, cursor: &str, app_id: &str) -> Result<Stream, String>;
    /// Ends a stream.
    fn stop_cast(&self, id: u64);
    /// Writes a PNG of `output` to `path`.
    fn screenshot(&self, output: &str, path: &std::path::Path) -> Result<(), String>;
    /// Asks the user a yes/no `question` on behalf of `app_id`; `control` names the
    /// input devices a yes gives (remote desktop; 0 for none), which no unattended
    /// policy grants.
    fn confirm(&self, app_id: &str, question: &str, control: u32) -> Result<bool, String>;
    /// Gives `app_id` the control of `devices` the user granted: input it sends goes
    /// through the seat, and the screen shows that someone controls it. The id names
    /// the control.
    fn start_remote(&self, app_id: &str, devices: u32) -> Result<u64, String>;
    /// One input event of control `id`; an error once the control ended.
    fn remote_input(&self, id: u64, event: &RemoteInput) -> Result<(), String>;
    /// Ends control `id`.
    fn stop_remote(&self, id: u64);
    /// The controls still running (the user may revoke one at any time).
    fn remotes(&self) -> Result<Vec<u64>, String>;
    /// A socket speaking libei's protocol to the compositor for control `id` (the app
    /// sends its input there instead of through Notify calls).
    fn connect_eis(&self, id: u64) -> Result<std::os::fd::OwnedFd, String>;
}

/// A shareable thing the user chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An output, by name.
    Output(String),
    /// A window, by the compositor's id.
    Window(u64),
    /// A rectangle of the desktop (logical pixels of the layout) on one output: the
    /// portal's "virtual" source.
    Region {
        /// The output it lies on.
        output: String,
        /// `[x, y, width, height]`.
        area: [i32; 4],
    },
}

/// The user's choice and how to find it again in a later session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// What was chosen.
    pub source: Source,
    /// Opaque data that names it again (kept by xdg-desktop-portal for restore tokens).
    pub restore: String,
}

/// A running stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    /// The compositor's id for it.
    pub id: u64,
    /// The PipeWire node consumers connect to.
    pub node_id: u32,
    /// Picture size.
    pub width: u32,
    /// Picture size.
    pub height: u32,
    /// The share's audio node (`share_audio`), where it was ready in time.
    pub audio_node_id: Option<u32>,
}

/// Why the portal cannot serve.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// The session bus refused us (not running, or the name is taken).
    #[error("D-Bus: {0}")]
    Bus(#[from] zbus::Error),
}

/// The well-known name xdg-desktop-portal looks for (see `ghost.portal`).
pub const BUS_NAME: &str = "org.freedesktop.impl.portal.desktop.ghost";
/// Where the interfaces live.
pub const OBJECT_PATH: &str = "/org/freedesktop/portal/desktop";

/// Portal responses: success, cancelled by the user, other failure.
pub(crate) const SUCCESS: u32 = 0;
pub(crate) const CANCELLED: u32 = 1;
pub(crate) const FAILED: u32 = 2;

/// A{sv} results of a portal call.
pub(crate) type Results = HashMap<String, zbus::zvariant::OwnedValue>;

/// Serves both interfaces on the session bus until `keep_running` says stop (checked
/// every second; the compositor going away is the usual reason).
pub fn serve(
    desktop: Arc<dyn Desktop>,
    keep_running: impl Fn() -> bool,
) -> Result<(), PortalError> {
    let sessions = session::Sessions::new(desktop.clone());
    let connection = zbus::blocking::connection::Builder::session()?
        .serve_at(
            OBJECT_PATH,
            ScreenCast::new(desktop.clone(), sessions.clone()),
        )?
        .serve_at(
            OBJECT_PATH,
            RemoteDesktop::new(desktop.clone(), sessions.clone()),
        )?
        .serve_at(OBJECT_PATH, Screenshot::new(desktop.clone()))?
        .serve_at(OBJECT_PATH, Access::new(desktop.clone()))?
        .name(BUS_NAME)?
        .build()?;
    tracing::info!(name = BUS_NAME, "portal backend ready");
    while keep_running() {
        std::thread::sleep(std::time::Duration::from_secs(1));
        close_revoked(&connection, &sessions, desktop.as_ref());
    }
    Ok(())
}

/// Closes the sessions whose remote control the user revoked in the compositor (a
/// binding, `ghostcomp msg remote-revoke`), with their shares: the app hears `Closed`.
fn close_revoked(
    connection: &zbus::blocking::Connection,
    sessions: &session::Sessions,
    desktop: &dyn Desktop,
) {
    let controlling = sessions.controlling();
    if controlling.is_empty() {
        return;
    }
    let Ok(running) = desktop.remotes() else {
        return;
    };
    for (path, remote) in controlling {
        if running.contains(&remote) {
            continue;
        }
        tracing::info!(%path, remote, "remote control revoked: closing the session");
        if let Some(state) = sessions.remove(&path) {
            sessions.release(desktop, state);
        }
        let server = connection.object_server();
        zbus::block_on(session::close_from_here(server.inner(), &path));
    }
}
