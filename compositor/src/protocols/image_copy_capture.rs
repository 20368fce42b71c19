//! ext-image-copy-capture-v1: the standard capture protocol (grim 1.5+, wayvnc,
//! xdg-desktop-portal-wlr 0.8+, OBS). A session captures one source — an output, one
//! toplevel, or the pointer's image — into buffers the client attaches: shm, or
//! linear dmabufs of the device where the backend takes dmabufs (see `capture_buffer`).
//!
//! The first frame of a session is answered at once; later frames wait until the picture
//! changed (checked after every repaint of the source's output) and carry the damage
//! since the session's previous frame, computed by `ghost_capture::changed_regions`.
//! When the source's size changes the session sends new constraints and the pending
//! frame fails with `buffer_constraints`; when the source goes away the session stops.
//! Windows blocked out of captures are black in every frame. Screen contents are
//! private: sandboxed clients never see the globals.

use std::sync::Mutex;

use smithay::{
    input::pointer::PointerHandle,
    reexports::{
        wayland_protocols::ext::image_copy_capture::v1::server::{
            ext_image_copy_capture_cursor_session_v1::{self, ExtImageCopyCaptureCursorSessionV1},
            ext_image_copy_capture_frame_v1::{self, ExtImageCopyCaptureFrameV1},
            ext_image_copy_capture_manager_v1::{self, ExtImageCopyCaptureManagerV1, Options},
            ext_image_copy_capture_session_v1::{self, ExtImageCopyCaptureSessionV1},
        },
        wayland_server::{
            protocol::wl_buffer::WlBuffer, Client, DataInit, Dispatch, DisplayHandle,
            GlobalDispatch, New, Resource, Weak,
        },
    },
};

use super::image_capture_source::CaptureSource;
use crate::state::Ghost;

mod cursor;
mod deliver;

use deliver::Delivery;

/// Which clients may bind the manager.
pub struct ManagerGlobalData {
    filter: Box<dyn Fn(&Client) -> bool + Send + Sync>,
}

/// What a session captures.
#[derive(Debug, Clone)]
pub enum SessionSource {
    /// The source's picture.
    Image(CaptureSource),
    /// The pointer's image, positioned relative to the source.
    Cursor(CaptureSource),
}

/// A session's data.
pub struct SessionData {
    source: SessionSource,
    paint_cursors: bool,
    /// The cursor session a cursor image session belongs to.
    cursor_session: Option<Weak<ExtImageCopyCaptureCursorSessionV1>>,
    state: Mutex<SessionState>,
}

#[derive(Default)]
struct SessionState {
    /// The buffer size last advertised.
    size: Option<(u32, u32)>,
    /// The last picture delivered, for damage.
    last: Option<ghost_capture::Frame>,
    /// The last 10-bit HDR picture delivered, to wait while it stays the same.
    last_hdr: Option<ghost_capture::HdrFrame>,
    frame_exists: bool,
    stopped: bool,
}

/// A frame's data.
pub struct FrameData {
    session: Weak<ExtImageCopyCaptureSessionV1>,
    state: Mutex<FrameState>,
}

#[derive(Default)]
struct FrameState {
    buffer: Option<WlBuffer>,
    captured: bool,
}

/// Live sessions and the frames waiting for new content.
#[derive(Default)]
pub struct ImageCopyCaptureState {
    sessions: Vec<ExtImageCopyCaptureSessionV1>,
    cursor_sessions: Vec<ExtImageCopyCaptureCursorSessionV1>,
    waiting: Vec<ExtImageCopyCaptureFrameV1>,
}

impl ImageCopyCaptureState {
    /// Creates the manager and the source managers, visible to clients that pass
    /// `filter`.
    pub fn new<F>(dh: &DisplayHandle, filter: F) -> Self
    where
        F: Fn(&Client) -> bool + Send + Sync + Clone + 'static,
    {
        super::image_capture_source::create_globals(dh, filter.clone());
        dh.create_global::<Ghost, ExtImageCopyCaptureManagerV1, _>(
            1,
            ManagerGlobalData {
                filter: Box::new(filter),
            },
        );
        Self::default()
    }

    /// Whether some capture follows the pointer (a painted or separate cursor), so a
    /// pointer move must lead to a repaint even where nothing on screen changes.
    pub fn follows_pointer(&self) -> bool {
        !self.cursor_sessions.is_empty()
            || self.waiting.iter().any(|f| {
                session_of(f)
                    .and_then(|s| s.data::<SessionData>().map(|d| d.paint_cursors))
                    .unwrap_or(false)
            })
    }
}

fn session_of(frame: &ExtImageCopyCaptureFrameV1) -> Option<ExtImageCopyCaptureSessionV1> {
    frame.data::<FrameData>()?.session.upgrade().ok()
}

impl GlobalDispatch<ExtImageCopyCaptureManagerV1, ManagerGlobalData> for Ghost {
    fn bind(
        _state: &mut Self,
        _dh: &DisplayHandle,
        _client: &Client,
        resource: New<ExtImageCopyCaptureManagerV1>,
        _data: &ManagerGlobalData,
        data_init: &mut DataInit<'_, Self>,
    ) {
        data_init.init(resource, ());
    }

    fn can_view(client: Client, data: &ManagerGlobalData) -> bool {
        (data.filter)(&client)
    }
}

impl Dispatch<ExtImageCopyCaptureManagerV1, ()> for Ghost {
    fn request(
        state: &mut Self,
        _client: &Client,
        manager: &ExtImageCopyCaptureManagerV1,
        request: ext_image_copy_capture_manager_v1::Request,
        _data: &(),
        _dh: &DisplayHandle,
        data_init: &mut DataInit<'_, Self>,
    ) {
        match request {
            ext_image_copy_capture_manager_v1::Request::CreateSession {
                session,
                source,
                options,
            } => {
                let paint_cursors = match options.into_result() {
                    Ok(o) if Options::all().contains(o) => o.contains(Options::PaintCursors),
                    _ => {
                        manager.post_error(
                            ext_image_copy_capture_manager_v1::Error::InvalidOption,
                            "unknown capture options",
                        );
                        return;
                    }
                };
                let source = source
                    .data::<CaptureSource>()
                    .cloned()
                    .unwrap_or(CaptureSource::Nothing);
                let session = data_init.init(
                    session,
                    SessionData {
                        source: SessionSource::Image(source),
                        paint_cursors,
                        cursor_session: None,
                        state: Mutex::new(SessionState::default()),
                    },
                );
                state.start_session(session);
            }
            ext_image_copy_capture_manager_v1::Request::CreatePointerCursorSession {
                session,
                source,
                pointer,
            } => {
                let source = source
                    .data::<CaptureSource>()
                    .cloned()
                    .unwrap_or(CaptureSource::Nothing);
                let ours = PointerHandle::<Ghost>::from_resource(&pointer).is_some();
                let session = data_init.init(session, cursor::CursorSessionData::new(source));
                if ours {
                    state.image_copy_state.cursor_sessions.push(session);
                    state.update_cursor_sessions();
                }
            }
            _ => {}
        }
    }
}

impl Dispatch<ExtImageCopyCaptureSessionV1, SessionData> for Ghost {
    fn request(
        _state: &mut Self,
        _client: &Client,
        session: &ExtImageCopyCaptureSessionV1,
        request: ext_image_copy_capture_session_v1::Request,
        data: &SessionData,
        _dh: &DisplayHandle,
        data_init: &mut DataInit<'_, Self>,
    ) {
        if let ext_image_copy_capture_session_v1::Request::CreateFrame { frame } = request {
            let Ok(mut s) = data.state.lock() else { return };
            if s.frame_exists {
                session.post_error(
                    ext_image_copy_capture_session_v1::Error::DuplicateFrame,
                    "the session's previous frame still exists",
                );
                return;
            }
            s.frame_exists = true;
            data_init.init(
                frame,
                FrameData {
                    session: session.downgrade(),
                    state: Mutex::new(FrameState::default()),
                },
            );
        }
    }

    fn destroyed(
        state: &mut Self,
        _client: smithay::reexports::wayland_server::backend::ClientId,
        session: &ExtImageCopyCaptureSessionV1,
        _data: &SessionData,
    ) {
        state.image_copy_state.sessions.retain(|s| s != session);
    }
}

impl Dispatch<ExtImageCopyCaptureFrameV1, FrameData> for Ghost {
    fn request(
        state: &mut Self,
        _client: &Client,
        frame: &ExtImageCopyCaptureFrameV1,
        request: ext_image_copy_capture_frame_v1::Request,
        data: &FrameData,
        _dh: &DisplayHandle,
        _data_init: &mut DataInit<'_, Self>,
    ) {
        let Ok(mut f) = data.state.lock() else { return };
        let already = |frame: &ExtImageCopyCaptureFrameV1| {
            frame.post_error(
                ext_image_copy_capture_frame_v1::Error::AlreadyCaptured,
                "the frame was already captured",
            )
        };
        match request {
            ext_image_copy_capture_frame_v1::Request::AttachBuffer { buffer } => {
                if f.captured {
                    return already(frame);
                }
                f.buffer = Some(buffer);
            }
            ext_image_copy_capture_frame_v1::Request::DamageBuffer {
                x,
                y,
                width,
                height,
            } => {
                if f.captured {
                    return already(frame);
                }
                // Every capture rewrites the whole buffer, so the client's damage only
                // needs checking.
                if x < 0 || y < 0 || width <= 0 || height <= 0 {
                    frame.post_error(
                        ext_image_copy_capture_frame_v1::Error::InvalidBufferDamage,
                        "damage must have a non-negative origin and a positive size",
                    );
                }
            }
            ext_image_copy_capture_frame_v1::Request::Capture => {
                if f.captured {
                    return already(frame);
                }
                if f.buffer.is_none() {
                    frame.post_error(
                        ext_image_copy_capture_frame_v1::Error::NoBuffer,
                        "capture needs an attached buffer",
                    );
                    return;
                }
                f.captured = true;
                drop(f);
                let first = session_of(frame)
                    .and_then(|s| {
                        s.data::<SessionData>()
                            .and_then(|d| d.state.lock().ok().map(|st| st.last.is_none()))
                    })
                    .unwrap_or(true);
                match state.try_deliver(frame, first, None) {
                    Delivery::Waiting => {
                        state.image_copy_state.waiting.push(frame.clone());
                        if state.image_copy_state.follows_pointer() {
                            state.queue_redraw_all();
                        }
                    }
                    Delivery::Done => {}
                }
            }
            _ => {}
        }
    }

    fn destroyed(
        state: &mut Self,
        _client: smithay::reexports::wayland_server::backend::ClientId,
        frame: &ExtImageCopyCaptureFrameV1,
        data: &FrameData,
    ) {
        state.image_copy_state.waiting.retain(|f| f != frame);
        if let Ok(session) = data.session.upgrade() {
            if let Some(Ok(mut st)) = session.data::<SessionData>().map(|d| d.state.lock()) {
                st.frame_exists = false;
            }
        }
    }
}
