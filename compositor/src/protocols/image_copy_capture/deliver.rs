//! Answering capture requests: checking the session's constraints and the client's
//! buffer, rendering what the session shows, and waiting while nothing changed.

use smithay::reexports::{
    wayland_protocols::ext::image_copy_capture::v1::server::{
        ext_image_copy_capture_frame_v1::{ExtImageCopyCaptureFrameV1, FailureReason},
        ext_image_copy_capture_session_v1::ExtImageCopyCaptureSessionV1,
    },
    wayland_server::{protocol::wl_output, Resource},
};
use tracing::{debug, warn};

use super::{session_of, FrameData, SessionData, SessionSource};
use crate::{
    backend::Shows,
    protocols::{capture_buffer, image_capture_source::Resolved},
    state::Ghost,
};

/// A session's picture: 8-bit, or an HDR output's signal for a 10-bit buffer.
enum Picture {
    Sdr(ghost_capture::Frame),
    Pq(ghost_capture::HdrFrame),
}

impl Picture {
    fn size(&self) -> (u32, u32) {
        match self {
            Picture::Sdr(f) => (f.width(), f.height()),
            Picture::Pq(f) => (f.width(), f.height()),
        }
    }
}

/// Whether a capture request was answered.
pub(super) enum Delivery {
    /// Ready or failed was sent.
    Done,
    /// Nothing new to show yet.
    Waiting,
}

impl Ghost {
    /// Whether a session captures `output` whole: its frames copy the output's own
    /// picture, which must then be drawn (see `casts_draw_frames`).
    pub fn image_copy_follows(&self, output: &smithay::output::Output) -> bool {
        self.image_copy_state.sessions.iter().any(|session| {
            let Some(SessionSource::Image(source)) =
                session.data::<SessionData>().map(|d| &d.source)
            else {
                return false;
            };
            matches!(self.resolve_capture_source(source),
                Resolved::Here(l) if &l.output == output && l.window.is_none())
        })
    }

    /// Sends a new session its constraints, or `stopped` when its source is gone.
    pub(super) fn start_session(&mut self, session: ExtImageCopyCaptureSessionV1) {
        self.image_copy_state.sessions.push(session.clone());
        self.send_constraints(&session);
    }

    /// Advertises the session's buffer size and formats when they changed (or were never
    /// sent); stops it when its source is gone. Returns the size, None when stopped or
    /// when nothing can be shown right now.
    fn send_constraints(&mut self, session: &ExtImageCopyCaptureSessionV1) -> Option<(u32, u32)> {
        let data = session.data::<SessionData>()?;
        let (source, shows_cursor) = match &data.source {
            SessionSource::Image(s) => (s, false),
            SessionSource::Cursor(s) => (s, true),
        };
        let located = match self.resolve_capture_source(source) {
            Resolved::Here(l) => l,
            Resolved::Hidden => return data.state.lock().ok()?.size,
            Resolved::Gone => {
                self.stop_session(session);
                return None;
            }
        };
        let shows = match (&located.window, shows_cursor) {
            (_, true) => Shows::Cursor,
            (Some(w), false) => Shows::Window(w),
            (None, false) => Shows::Output,
        };
        let size = self
            .capture_size(&located.output, shows)
            .map(|s| (s.w as u32, s.h as u32));
        let mut st = data.state.lock().ok()?;
        let size = match (size, st.size) {
            (Some(size), _) => size,
            // A hidden pointer: keep what was advertised, or a small default.
            (None, Some(old)) => return Some(old),
            (None, None) => (64, 64),
        };
        if st.size != Some(size) {
            st.size = Some(size);
            st.last = None;
            session.buffer_size(size.0, size.1);
            for (format, ..) in capture_buffer::FORMATS {
                session.shm_format(format);
            }
            // An HDR output's signal, for clients that keep it (after the 8-bit ones).
            if !shows_cursor && crate::protocols::color_management::output_is_hdr(&located.output) {
                session.shm_format(capture_buffer::PQ10);
            }
            if let Some(device) = self.backend.dmabuf_device() {
                // Linear buffers of the device clients share dmabufs with.
                session.dmabuf_device(device.to_ne_bytes().to_vec());
                let linear = 0u64.to_ne_bytes().to_vec();
                for (_, fourcc, _) in capture_buffer::FORMATS {
                    session.dmabuf_format(fourcc as u32, linear.clone());
                }
            }
            session.done();
        }
        Some(size)
    }

    fn stop_session(&mut self, session: &ExtImageCopyCaptureSessionV1) {
        if let Some(data) = session.data::<SessionData>() {
            if let Ok(mut st) = data.state.lock() {
                if st.stopped {
                    return;
                }
                st.stopped = true;
            }
        }
        debug!("capture session stopped: its source is gone");
        session.stopped();
        self.image_copy_state.sessions.retain(|s| s != session);
    }

    /// Answers `frame` if there is something new to show (always for a session's first
    /// frame), or fails it.
    pub(super) fn try_deliver(
        &mut self,
        frame: &ExtImageCopyCaptureFrameV1,
        first: bool,
        shown_at: Option<std::time::Duration>,
    ) -> Delivery {
        let Some(session) = session_of(frame) else {
            frame.failed(FailureReason::Stopped);
            return Delivery::Done;
        };
        let Some(data) = session.data::<SessionData>() else {
            frame.failed(FailureReason::Unknown);
            return Delivery::Done;
        };
        let buffer = frame
            .data::<FrameData>()
            .and_then(|d| d.state.lock().ok().and_then(|s| s.buffer.clone()));
        let Some(buffer) = buffer else {
            frame.failed(FailureReason::Unknown);
            return Delivery::Done;
        };
        let Some(size) = self.send_constraints(&session) else {
            frame.failed(FailureReason::Stopped);
            return Delivery::Done;
        };
        let stopped = data.state.lock().map(|s| s.stopped).unwrap_or(true);
        if stopped {
            frame.failed(FailureReason::Stopped);
            return Delivery::Done;
        }
        let ten_bit = capture_buffer::pq10_size(&buffer);
        let fits = capture_buffer::layout(&buffer).is_some_and(|(w, h, _)| (w, h) == size)
            || ten_bit == Some(size);
        if !fits {
            frame.failed(FailureReason::BufferConstraints);
            return Delivery::Done;
        }
        let picture = match self.render_session(&data.source, data.paint_cursors, ten_bit.is_some())
        {
            Ok(Some(p)) if p.size() == size => p,
            Ok(Some(_)) => {
                // The source changed size since the constraints were checked.
                self.send_constraints(&session);
                frame.failed(FailureReason::BufferConstraints);
                return Delivery::Done;
            }
            Ok(None) => return Delivery::Waiting,
            Err(err) => {
                warn!("capture failed: {err:#}");
                frame.failed(FailureReason::Unknown);
                return Delivery::Done;
            }
        };
        let Ok(mut st) = data.state.lock() else {
            frame.failed(FailureReason::Unknown);
            return Delivery::Done;
        };
        let damage = match &picture {
            Picture::Sdr(p) => ghost_capture::changed_regions(st.last.as_ref(), p),
            Picture::Pq(p) if st.last_hdr.as_ref() == Some(p) => Vec::new(),
            Picture::Pq(_) => vec![ghost_capture::Region {
                x: 0,
                y: 0,
                width: size.0 as i32,
                height: size.1 as i32,
            }],
        };
        if !first && damage.is_empty() {
            return Delivery::Waiting;
        }
        let written = match &picture {
            Picture::Sdr(p) => capture_buffer::write(&buffer, &p.view()),
            Picture::Pq(p) => capture_buffer::write_pq10(&buffer, p),
        };
        if !written {
            frame.failed(FailureReason::BufferConstraints);
            return Delivery::Done;
        }
        if let SessionSource::Cursor(_) = data.source {
            drop(st);
            self.cursor_frame_ready(&session);
            st = match data.state.lock() {
                Ok(st) => st,
                Err(_) => return Delivery::Done,
            };
        }
        frame.transform(wl_output::Transform::Normal);
        for r in &damage {
            frame.damage(r.x, r.y, r.width, r.height);
        }
        // When the output showed this picture, where a repaint just did.
        let now = shown_at.unwrap_or_else(|| std::time::Duration::from(self.clock.now()));
        let secs = now.as_secs();
        frame.presentation_time((secs >> 32) as u32, secs as u32, now.subsec_nanos());
        frame.ready();
        match picture {
            Picture::Sdr(p) => st.last = Some(p),
            Picture::Pq(p) => st.last_hdr = Some(p),
        }
        Delivery::Done
    }

    /// Renders what a session shows (the HDR signal with `hdr`); None when it shows
    /// nothing right now.
    fn render_session(
        &mut self,
        source: &SessionSource,
        paint_cursors: bool,
        hdr: bool,
    ) -> anyhow::Result<Option<Picture>> {
        let (source, cursor_only) = match source {
            SessionSource::Image(s) => (s, false),
            SessionSource::Cursor(s) => (s, true),
        };
        let Resolved::Here(located) = self.resolve_capture_source(source) else {
            return Ok(None);
        };
        let shows = match (&located.window, cursor_only) {
            (_, true) => Shows::Cursor,
            (Some(w), false) => Shows::Window(w),
            (None, false) => Shows::Output,
        };
        if self.capture_size(&located.output, shows).is_none() {
            return Ok(None);
        }
        // The output's own picture where it shows what the capture asks for (the arrow
        // laid over the copy where the pointer is painted in and the screen has none):
        // one copy instead of drawing the whole output again.
        if let (Shows::Output, false) = (shows, hdr) {
            if let Some((view, stamp)) = self.shown_for_capture(&located.output, paint_cursors) {
                let (width, height) = (view.width(), view.height());
                let stride = width as usize * 4;
                let mut bytes = vec![0; stride * height as usize];
                let layout = ghost_capture::PixelFormat::Xrgb8888;
                if view.copy_into(&mut bytes, stride, layout) {
                    if let Some(stamp) = stamp {
                        stamp.blend_into(&mut bytes, stride, layout, width, height);
                    }
                    let frame = ghost_capture::Frame::new(width, height, stride, layout, bytes)?;
                    return Ok(Some(Picture::Sdr(frame)));
                }
            }
        }
        match self.capture(&located.output, shows, hdr, paint_cursors)? {
            crate::backend::Captured::Sdr(frame) => Ok(Some(Picture::Sdr(frame))),
            crate::backend::Captured::Hdr(frame) => Ok(Some(Picture::Pq(frame))),
        }
    }

    /// After `output` was drawn: answers waiting frames whose pictures may have changed,
    /// and stops sessions whose sources went away.
    pub fn image_copy_after_repaint(
        &mut self,
        output: &smithay::output::Output,
        shown_at: Option<std::time::Duration>,
    ) {
        if self.image_copy_state.waiting.is_empty() {
            return;
        }
        let waiting = std::mem::take(&mut self.image_copy_state.waiting);
        let mut still = Vec::new();
        for frame in waiting {
            if !frame.is_alive() {
                continue;
            }
            let concerned = session_of(&frame)
                .and_then(|s| s.data::<SessionData>().map(|d| d.source.clone()))
                .map(|source| match source {
                    SessionSource::Cursor(_) => true,
                    SessionSource::Image(s) => match self.resolve_capture_source(&s) {
                        Resolved::Here(l) => &l.output == output || l.window.is_some(),
                        Resolved::Hidden => false,
                        Resolved::Gone => true,
                    },
                })
                .unwrap_or(true);
            if !concerned {
                still.push(frame);
                continue;
            }
            if let Delivery::Waiting = self.try_deliver(&frame, false, shown_at) {
                still.push(frame);
            }
        }
        self.image_copy_state.waiting.extend(still);
    }

    /// A window or output went away: stops the sessions that captured it and fails
    /// their waiting frames.
    pub fn image_copy_sources_changed(&mut self) {
        for session in self.image_copy_state.sessions.clone() {
            let gone = session
                .data::<SessionData>()
                .map(|d| match &d.source {
                    SessionSource::Image(s) | SessionSource::Cursor(s) => {
                        matches!(self.resolve_capture_source(s), Resolved::Gone)
                    }
                })
                .unwrap_or(false);
            if gone {
                self.stop_session(&session);
            }
        }
        let waiting = std::mem::take(&mut self.image_copy_state.waiting);
        for frame in waiting {
            let stopped = session_of(&frame)
                .and_then(|s| {
                    s.data::<SessionData>()
                        .and_then(|d| d.state.lock().ok().map(|s| s.stopped))
                })
                .unwrap_or(true);
            if stopped {
                frame.failed(FailureReason::Stopped);
            } else {
                self.image_copy_state.waiting.push(frame);
            }
        }
        self.update_cursor_sessions();
        self.casts_sources_changed();
    }
}
