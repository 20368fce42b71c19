//! Cursor capture sessions: the pointer's image as its own capture, with its position
//! relative to the captured source sent as events, so a stream can draw the pointer
//! itself (metadata cursors) instead of having it baked into every frame.

use std::sync::Mutex;

use smithay::{
    reexports::wayland_server::{Client, DataInit, Dispatch, DisplayHandle, Resource},
    utils::{Logical, Rectangle},
};

use super::{
    ext_image_copy_capture_cursor_session_v1, CaptureSource, ExtImageCopyCaptureCursorSessionV1,
    SessionData, SessionSource, SessionState,
};
use crate::{protocols::image_capture_source::Resolved, state::Ghost};

/// A cursor session's data: its source and what its client was last told.
pub struct CursorSessionData {
    source: CaptureSource,
    state: Mutex<CursorState>,
}

#[derive(Default)]
struct CursorState {
    has_session: bool,
    inside: bool,
    position: Option<(i32, i32)>,
    hotspot: Option<(i32, i32)>,
}

impl CursorSessionData {
    /// A session following the pointer over `source`.
    pub fn new(source: CaptureSource) -> Self {
        Self {
            source,
            state: Mutex::new(CursorState::default()),
        }
    }
}

impl Dispatch<ExtImageCopyCaptureCursorSessionV1, CursorSessionData> for Ghost {
    fn request(
        state: &mut Self,
        _client: &Client,
        cursor_session: &ExtImageCopyCaptureCursorSessionV1,
        request: ext_image_copy_capture_cursor_session_v1::Request,
        data: &CursorSessionData,
        _dh: &DisplayHandle,
        data_init: &mut DataInit<'_, Self>,
    ) {
        if let ext_image_copy_capture_cursor_session_v1::Request::GetCaptureSession { session } =
            request
        {
            let Ok(mut st) = data.state.lock() else {
                return;
            };
            if st.has_session {
                cursor_session.post_error(
                    ext_image_copy_capture_cursor_session_v1::Error::DuplicateSession,
                    "the cursor session already has its capture session",
                );
                return;
            }
            st.has_session = true;
            drop(st);
            let session = data_init.init(
                session,
                SessionData {
                    source: SessionSource::Cursor(data.source.clone()),
                    paint_cursors: false,
                    cursor_session: Some(cursor_session.downgrade()),
                    state: Mutex::new(SessionState::default()),
                },
            );
            state.start_session(session);
        }
    }

    fn destroyed(
        state: &mut Self,
        _client: smithay::reexports::wayland_server::backend::ClientId,
        cursor_session: &ExtImageCopyCaptureCursorSessionV1,
        _data: &CursorSessionData,
    ) {
        state
            .image_copy_state
            .cursor_sessions
            .retain(|s| s != cursor_session);
    }
}

impl Ghost {
    /// The pointer moved or its source changed: tells every cursor session whether the
    /// pointer's image is over its source and where its hotspot is, in the source's
    /// buffer pixels.
    pub fn update_cursor_sessions(&mut self) {
        if self.image_copy_state.cursor_sessions.is_empty() {
            return;
        }
        let image = self.capture_cursor_image();
        for cursor_session in self.image_copy_state.cursor_sessions.clone() {
            let Some(data) = cursor_session.data::<CursorSessionData>() else {
                continue;
            };
            let Resolved::Here(located) = self.resolve_capture_source(&data.source) else {
                continue;
            };
            let Some(area) = self.source_area(&located) else {
                continue;
            };
            let scale = located.output.current_scale().fractional_scale();
            let Ok(mut st) = data.state.lock() else {
                continue;
            };
            let over = image.filter(|(rect, _)| rect.overlaps(area));
            match over {
                Some((rect, hotspot)) => {
                    if !st.inside {
                        st.inside = true;
                        st.position = None;
                        cursor_session.enter();
                    }
                    let at = (rect.loc + hotspot - area.loc)
                        .to_f64()
                        .to_physical(scale)
                        .to_i32_round();
                    if st.position != Some((at.x, at.y)) {
                        st.position = Some((at.x, at.y));
                        cursor_session.position(at.x, at.y);
                    }
                }
                None if st.inside => {
                    st.inside = false;
                    cursor_session.leave();
                }
                None => {}
            }
        }
    }

    /// Where a located source is, in global logical coordinates.
    fn source_area(
        &self,
        located: &crate::protocols::image_capture_source::Located,
    ) -> Option<Rectangle<i32, Logical>> {
        match &located.window {
            Some(window) => Some(Rectangle::new(
                self.space.element_location(window)?,
                window.geometry().size,
            )),
            None => self.space.output_geometry(&located.output),
        }
    }

    /// A cursor session's frame is about to be ready: sends the hotspot first if it
    /// changed, so it applies from this frame on.
    pub(super) fn cursor_frame_ready(&mut self, session: &super::ExtImageCopyCaptureSessionV1) {
        let Some(cursor_session) = session
            .data::<SessionData>()
            .and_then(|d| d.cursor_session.as_ref())
            .and_then(|w| w.upgrade().ok())
        else {
            return;
        };
        let Some(data) = cursor_session.data::<CursorSessionData>() else {
            return;
        };
        let Some((_, hotspot)) = self.capture_cursor_image() else {
            return;
        };
        let scale = match self.resolve_capture_source(&data.source) {
            Resolved::Here(l) => l.output.current_scale().fractional_scale(),
            _ => 1.0,
        };
        let h = hotspot.to_f64().to_physical(scale).to_i32_round();
        let Ok(mut st) = data.state.lock() else {
            return;
        };
        if st.hotspot != Some((h.x, h.y)) {
            st.hotspot = Some((h.x, h.y));
            cursor_session.hotspot(h.x, h.y);
        }
    }
}
