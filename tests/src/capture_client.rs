//! An ext-image-copy-capture client: what grim 1.5, wayvnc or a portal backend does —
//! name a source (an output, a toplevel from ext-foreign-toplevel-list, or the pointer),
//! read its constraints, and capture frames into shm buffers, recording damage and
//! failures so tests check what a capturing application receives.

use std::{
    os::fd::{AsFd, OwnedFd},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use wayland_client::{
    protocol::{
        wl_buffer::WlBuffer,
        wl_output::WlOutput,
        wl_pointer::WlPointer,
        wl_shm::{self, WlShm},
    },
    Connection, Dispatch, QueueHandle, WEnum,
};
use wayland_protocols::ext::{
    foreign_toplevel_list::v1::client::{
        ext_foreign_toplevel_handle_v1::{self, ExtForeignToplevelHandleV1},
        ext_foreign_toplevel_list_v1::{self, ExtForeignToplevelListV1},
    },
    image_capture_source::v1::client::{
        ext_foreign_toplevel_image_capture_source_manager_v1::ExtForeignToplevelImageCaptureSourceManagerV1,
        ext_image_capture_source_v1::ExtImageCaptureSourceV1,
        ext_output_image_capture_source_manager_v1::ExtOutputImageCaptureSourceManagerV1,
    },
    image_copy_capture::v1::client::{
        ext_image_copy_capture_cursor_session_v1::{self, ExtImageCopyCaptureCursorSessionV1},
        ext_image_copy_capture_frame_v1::{self, ExtImageCopyCaptureFrameV1},
        ext_image_copy_capture_manager_v1::{ExtImageCopyCaptureManagerV1, Options},
        ext_image_copy_capture_session_v1::{self, ExtImageCopyCaptureSessionV1},
    },
};

use crate::client::{State, TestClient};

/// What a session told us.
#[derive(Debug, Default, Clone)]
pub struct SessionEvents {
    /// The latest buffer size.
    pub size: Option<(u32, u32)>,
    /// Shm formats of the latest constraints.
    pub shm_formats: Vec<wl_shm::Format>,
    /// The device dmabufs must come from (dev_t), when dmabufs are offered.
    pub dmabuf_device: Option<u64>,
    /// dmabuf formats and their modifiers, when offered.
    pub dmabuf_formats: Vec<(u32, Vec<u64>)>,
    /// How many constraint batches ended (`done`).
    pub done: u32,
    /// The session stopped.
    pub stopped: bool,
}

/// What a frame told us.
#[derive(Debug, Default, Clone)]
pub struct FrameEvents {
    /// Damage rectangles (x, y, width, height).
    pub damage: Vec<(i32, i32, i32, i32)>,
    /// The frame is ready.
    pub ready: bool,
    /// The failure reason, if it failed.
    pub failed: Option<u32>,
    /// A presentation time arrived.
    pub timed: bool,
}

/// What a cursor session told us.
#[derive(Debug, Default, Clone)]
pub struct CursorEvents {
    /// The pointer's image is over the source.
    pub inside: bool,
    /// Enter events so far.
    pub enters: u32,
    /// Leave events so far.
    pub leaves: u32,
    /// The latest hotspot position relative to the source.
    pub position: Option<(i32, i32)>,
    /// The latest hotspot offset within the image.
    pub hotspot: Option<(i32, i32)>,
}

type Shared<T> = Arc<Mutex<T>>;

/// A capture session and its events.
pub struct CaptureSession {
    /// The session.
    pub session: ExtImageCopyCaptureSessionV1,
    /// What it told us.
    pub events: Shared<SessionEvents>,
}

/// A cursor session, its capture session and their events.
pub struct CursorSession {
    /// The cursor session.
    pub cursor: ExtImageCopyCaptureCursorSessionV1,
    /// Its capture session (the pointer's image).
    pub image: CaptureSession,
    /// What the cursor session told us.
    pub events: Shared<CursorEvents>,
}

/// How a capture ended.
#[derive(Debug)]
pub enum Capture {
    /// Ready: the picture as R, G, B, A rows (alpha as stored) and the damage.
    Ready {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// R, G, B, A per pixel, top row first (for XBGR2101010, its stored words).
        rgba: Vec<u8>,
        /// Damage rectangles.
        damage: Vec<(i32, i32, i32, i32)>,
    },
    /// Failed with this reason.
    Failed(u32),
    /// Nothing arrived in time (the compositor waits for new content).
    Pending(PendingFrame),
}

impl TestClient {
    fn capture_manager(&self) -> Result<ExtImageCopyCaptureManagerV1> {
        self.bind(1..=1, ())
    }

    fn start_session(
        &mut self,
        source: &ExtImageCaptureSourceV1,
        paint: bool,
    ) -> Result<CaptureSession> {
        let manager = self.capture_manager()?;
        let events = Shared::default();
        let options = if paint {
            Options::PaintCursors
        } else {
            Options::empty()
        };
        let session = manager.create_session(source, options, &self.qh(), events.clone());
        let mut s = CaptureSession { session, events };
        self.wait_constraints(&mut s)?;
        Ok(s)
    }

    /// Waits until the session's first constraints (or its stop) arrived.
    pub fn wait_constraints(&mut self, s: &mut CaptureSession) -> Result<()> {
        for _ in 0..100 {
            self.roundtrip()?;
            let e = lock(&s.events)?;
            if e.done > 0 || e.stopped {
                return Ok(());
            }
        }
        bail!("the session never sent its constraints")
    }

    /// A source naming `output`.
    pub fn output_source(&self, output: &WlOutput) -> Result<ExtImageCaptureSourceV1> {
        let sources: ExtOutputImageCaptureSourceManagerV1 = self.bind(1..=1, ())?;
        Ok(sources.create_source(output, &self.qh(), ()))
    }

    /// A source naming the toplevel whose app_id is `app_id` (after `list_toplevels`).
    pub fn toplevel_source(&self, app_id: &str) -> Result<ExtImageCaptureSourceV1> {
        let handle = self
            .state
            .toplevels
            .iter()
            .find(|(_, a)| a == app_id)
            .map(|(h, _)| h.clone())
            .with_context(|| format!("no toplevel {app_id} was announced"))?;
        let sources: ExtForeignToplevelImageCaptureSourceManagerV1 = self.bind(1..=1, ())?;
        Ok(sources.create_source(&handle, &self.qh(), ()))
    }

    /// A session capturing `output`, with the pointer painted in when `paint_cursors`.
    pub fn capture_output(
        &mut self,
        output: &WlOutput,
        paint_cursors: bool,
    ) -> Result<CaptureSession> {
        let source = self.output_source(output)?;
        self.start_session(&source, paint_cursors)
    }

    /// Binds ext-foreign-toplevel-list; the toplevels it announces gather in
    /// `state.toplevels`.
    pub fn list_toplevels(&mut self) -> Result<()> {
        let _list: ExtForeignToplevelListV1 = self.bind(1..=1, ())?;
        self.roundtrip()?;
        self.roundtrip()
    }

    /// A session capturing the toplevel whose app_id is `app_id`.
    pub fn capture_toplevel(&mut self, app_id: &str) -> Result<CaptureSession> {
        let source = self.toplevel_source(app_id)?;
        self.start_session(&source, false)
    }

    /// A cursor session following `pointer` over `source`, with its capture session.
    pub fn capture_cursor(
        &mut self,
        source: &ExtImageCaptureSourceV1,
        pointer: &WlPointer,
    ) -> Result<CursorSession> {
        let manager = self.capture_manager()?;
        let events = Shared::default();
        let cursor =
            manager.create_pointer_cursor_session(source, pointer, &self.qh(), events.clone());
        let image_events = Shared::default();
        let session = cursor.get_capture_session(&self.qh(), image_events.clone());
        let mut image = CaptureSession {
            session,
            events: image_events,
        };
        self.wait_constraints(&mut image)?;
        Ok(CursorSession {
            cursor,
            image,
            events,
        })
    }

    /// Captures one frame of `s` into a fresh shm buffer of `size` (the advertised one
    /// when None) in `format`, waiting up to `patience` for the compositor's answer.
    pub fn capture_frame(
        &mut self,
        s: &CaptureSession,
        format: wl_shm::Format,
        size: Option<(u32, u32)>,
        patience: Duration,
    ) -> Result<Capture> {
        let (w, h) = match size {
            Some(size) => size,
            None => lock(&s.events)?.size.context("no buffer size advertised")?,
        };
        let qh = self.qh();
        let (buffer, file) = self.shm_buffer(w, h, w * 4, format)?;
        let events: Shared<FrameEvents> = Shared::default();
        let frame = s.session.create_frame(&qh, events.clone());
        frame.attach_buffer(&buffer);
        frame.damage_buffer(0, 0, w as i32, h as i32);
        frame.capture();
        self.collect(
            PendingFrame {
                frame,
                events,
                buffer,
                file,
                size: (w, h),
                format,
            },
            patience,
        )
    }

    /// Captures one frame of `s` into a dmabuf: a dumb buffer of `card` (XRGB8888,
    /// linear) of the advertised size. Returns the picture as R, G, B per pixel.
    pub fn capture_frame_into_dmabuf(
        &mut self,
        s: &CaptureSession,
        card: &std::path::Path,
    ) -> Result<Vec<[u8; 3]>> {
        let (w, h) = lock(&s.events)?.size.context("no buffer size advertised")?;
        let mut device = crate::dmabuf_client::DeviceBuffers::open(card)?;
        let buffer = device.add(self, w as i32, h as i32, 0)?;
        let events: Shared<FrameEvents> = Shared::default();
        let frame = s.session.create_frame(&self.qh(), events.clone());
        frame.attach_buffer(&buffer);
        frame.damage_buffer(0, 0, w as i32, h as i32);
        frame.capture();
        let outcome = crate::wait_for(Duration::from_secs(10), "a frame in the dmabuf", || {
            self.roundtrip().ok()?;
            let e = lock(&events).ok()?.clone();
            match (e.ready, e.failed) {
                (true, _) => Some(Ok(())),
                (_, Some(reason)) => Some(Err(reason)),
                _ => None,
            }
        })?;
        if let Err(reason) = outcome {
            anyhow::bail!("the capture into a dmabuf failed ({reason})");
        }
        frame.destroy();
        buffer.destroy();
        device.read_rgb(0)
    }

    /// A `w`×`h` shm buffer in `format` at `stride` bytes a row, with the memory it
    /// lives in, for a compositor to copy a picture into.
    pub fn shm_buffer(
        &self,
        w: u32,
        h: u32,
        stride: u32,
        format: wl_shm::Format,
    ) -> Result<(WlBuffer, std::fs::File)> {
        let qh = self.qh();
        let shm: WlShm = self.bind(1..=1, ())?;
        let bytes = (stride * h).max(4) as usize;
        let fd: OwnedFd =
            rustix::fs::memfd_create("ghost-capture", rustix::fs::MemfdFlags::CLOEXEC)?;
        let file = std::fs::File::from(fd);
        file.set_len(bytes as u64)?;
        let pool = shm.create_pool(file.as_fd(), bytes as i32, &qh, ());
        let buffer = pool.create_buffer(0, w as i32, h as i32, stride as i32, format, &qh, ());
        pool.destroy();
        Ok((buffer, file))
    }

    /// Waits up to `patience` for a frame to finish; reads its buffer when ready.
    pub fn collect(&mut self, pending: PendingFrame, patience: Duration) -> Result<Capture> {
        let start = Instant::now();
        loop {
            self.roundtrip()?;
            let e = lock(&pending.events)?.clone();
            if let Some(reason) = e.failed {
                pending.frame.destroy();
                pending.buffer.destroy();
                return Ok(Capture::Failed(reason));
            }
            if e.ready {
                pending.frame.destroy();
                pending.buffer.destroy();
                let (w, h) = pending.size;
                let mut raw = vec![0u8; (w * h * 4) as usize];
                rustix::io::pread(&pending.file, &mut raw, 0)?;
                let rgba = raw
                    .chunks_exact(4)
                    .flat_map(|p| match pending.format {
                        // R, G, B, A bytes as stored; for 10-bit formats, the stored
                        // little-endian words.
                        wl_shm::Format::Xbgr8888
                        | wl_shm::Format::Abgr8888
                        | wl_shm::Format::Xbgr2101010 => [p[0], p[1], p[2], p[3]],
                        _ => [p[2], p[1], p[0], p[3]],
                    })
                    .collect();
                anyhow::ensure!(e.timed, "the frame came without a presentation time");
                return Ok(Capture::Ready {
                    width: w,
                    height: h,
                    rgba,
                    damage: e.damage,
                });
            }
            if start.elapsed() > patience {
                return Ok(Capture::Pending(pending));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// A frame sent for capture and not answered yet.
#[derive(Debug)]
pub struct PendingFrame {
    frame: ExtImageCopyCaptureFrameV1,
    events: Shared<FrameEvents>,
    buffer: WlBuffer,
    file: std::fs::File,
    size: (u32, u32),
    format: wl_shm::Format,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>> {
    m.lock().map_err(|_| anyhow::anyhow!("poisoned"))
}

impl Dispatch<ExtImageCopyCaptureSessionV1, Shared<SessionEvents>> for State {
    fn event(
        _: &mut Self,
        _: &ExtImageCopyCaptureSessionV1,
        event: ext_image_copy_capture_session_v1::Event,
        data: &Shared<SessionEvents>,
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        let Ok(mut e) = data.lock() else { return };
        match event {
            ext_image_copy_capture_session_v1::Event::BufferSize { width, height } => {
                e.size = Some((width, height));
                e.shm_formats.clear();
                e.dmabuf_formats.clear();
            }
            ext_image_copy_capture_session_v1::Event::DmabufDevice { device } => {
                e.dmabuf_device = device.try_into().ok().map(u64::from_ne_bytes);
            }
            ext_image_copy_capture_session_v1::Event::DmabufFormat { format, modifiers } => {
                let modifiers = modifiers
                    .chunks_exact(8)
                    .filter_map(|m| m.try_into().ok().map(u64::from_ne_bytes))
                    .collect();
                e.dmabuf_formats.push((format, modifiers));
            }
            ext_image_copy_capture_session_v1::Event::ShmFormat {
                format: WEnum::Value(f),
            } => e.shm_formats.push(f),
            ext_image_copy_capture_session_v1::Event::Done => e.done += 1,
            ext_image_copy_capture_session_v1::Event::Stopped => e.stopped = true,
            _ => {}
        }
    }
}

impl Dispatch<ExtImageCopyCaptureFrameV1, Shared<FrameEvents>> for State {
    fn event(
        _: &mut Self,
        _: &ExtImageCopyCaptureFrameV1,
        event: ext_image_copy_capture_frame_v1::Event,
        data: &Shared<FrameEvents>,
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        let Ok(mut e) = data.lock() else { return };
        match event {
            ext_image_copy_capture_frame_v1::Event::Damage {
                x,
                y,
                width,
                height,
            } => e.damage.push((x, y, width, height)),
            ext_image_copy_capture_frame_v1::Event::PresentationTime { .. } => e.timed = true,
            ext_image_copy_capture_frame_v1::Event::Ready => e.ready = true,
            ext_image_copy_capture_frame_v1::Event::Failed { reason } => {
                e.failed = Some(match reason {
                    WEnum::Value(r) => r as u32,
                    WEnum::Unknown(r) => r,
                })
            }
            _ => {}
        }
    }
}

impl Dispatch<ExtImageCopyCaptureCursorSessionV1, Shared<CursorEvents>> for State {
    fn event(
        _: &mut Self,
        _: &ExtImageCopyCaptureCursorSessionV1,
        event: ext_image_copy_capture_cursor_session_v1::Event,
        data: &Shared<CursorEvents>,
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        let Ok(mut e) = data.lock() else { return };
        match event {
            ext_image_copy_capture_cursor_session_v1::Event::Enter => {
                e.inside = true;
                e.enters += 1;
            }
            ext_image_copy_capture_cursor_session_v1::Event::Leave => {
                e.inside = false;
                e.leaves += 1;
            }
            ext_image_copy_capture_cursor_session_v1::Event::Position { x, y } => {
                e.position = Some((x, y))
            }
            ext_image_copy_capture_cursor_session_v1::Event::Hotspot { x, y } => {
                e.hotspot = Some((x, y))
            }
            _ => {}
        }
    }
}

impl Dispatch<ExtForeignToplevelListV1, ()> for State {
    fn event(
        _: &mut Self,
        _: &ExtForeignToplevelListV1,
        _: ext_foreign_toplevel_list_v1::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
    }

    wayland_client::event_created_child!(State, ExtForeignToplevelListV1, [
        ext_foreign_toplevel_list_v1::EVT_TOPLEVEL_OPCODE => (ExtForeignToplevelHandleV1, ()),
    ]);
}

impl Dispatch<ExtForeignToplevelHandleV1, ()> for State {
    fn event(
        state: &mut Self,
        handle: &ExtForeignToplevelHandleV1,
        event: ext_foreign_toplevel_handle_v1::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        match event {
            ext_foreign_toplevel_handle_v1::Event::AppId { app_id } => {
                state.toplevels.retain(|(h, _)| h != handle);
                state.toplevels.push((handle.clone(), app_id));
            }
            ext_foreign_toplevel_handle_v1::Event::Closed => {
                state.toplevels.retain(|(h, _)| h != handle)
            }
            _ => {}
        }
    }
}

wayland_client::delegate_noop!(State: ignore ExtImageCopyCaptureManagerV1);
wayland_client::delegate_noop!(State: ignore ExtOutputImageCaptureSourceManagerV1);
wayland_client::delegate_noop!(State: ignore ExtForeignToplevelImageCaptureSourceManagerV1);
wayland_client::delegate_noop!(State: ignore ExtImageCaptureSourceV1);

impl Capture {
    /// The picture of a ready capture: width, height, R, G, B, A rows and damage.
    #[allow(clippy::type_complexity)]
    pub fn ready(self) -> Result<(u32, u32, Vec<u8>, Vec<(i32, i32, i32, i32)>)> {
        match self {
            Capture::Ready {
                width,
                height,
                rgba,
                damage,
            } => Ok((width, height, rgba, damage)),
            Capture::Failed(reason) => bail!("the capture failed (reason {reason})"),
            Capture::Pending(_) => bail!("the capture was not answered in time"),
        }
    }
}
