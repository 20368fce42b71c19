//! wlr-screencopy-unstable-v1: what grim, wf-recorder, wayvnc and OBS's wlrobs read the
//! screen with. A frame shows what screenshots show (the cursor only when asked,
//! windows blocked out of captures black). Where the output's own buffer holds that
//! picture (headless pixman) it is copied from there, with the arrow blended over the
//! copy when the client wants the pointer; on KMS with GLES a whole-output frame into
//! a dmabuf is drawn there by the GPU; otherwise the picture is drawn and read back,
//! then copied into the client's buffer (shm, or a linear dmabuf written through a
//! mapping). `copy_with_damage` answers a manager's first copy of
//! an output at once; later ones wait until the output shows something new and report
//! what changed since that manager's previous copy (the renderer's damage, gathered
//! per manager, so a recorder reading every other frame misses nothing).
//! Screen contents are private: sandboxed clients never see the global.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Mutex,
};

use smithay::{
    backend::allocator::Fourcc,
    output::Output,
    reexports::{
        wayland_protocols_wlr::screencopy::v1::server::{
            zwlr_screencopy_frame_v1::{self, Flags, ZwlrScreencopyFrameV1},
            zwlr_screencopy_manager_v1::{self, ZwlrScreencopyManagerV1},
        },
        wayland_server::{
            backend::{ClientId, ObjectId},
            protocol::{wl_buffer::WlBuffer, wl_shm},
            Client, DataInit, Dispatch, DisplayHandle, GlobalDispatch, New, Resource,
        },
    },
};
use tracing::warn;

use super::capture_buffer;
use crate::{backend::Shows, state::Ghost};

const VERSION: u32 = 3;

/// Data of the global: which clients may bind it.
pub struct ScreencopyGlobalData {
    filter: Box<dyn Fn(&Client) -> bool + Send + Sync>,
}

/// A frame: which output and which part of it, in physical pixels.
pub struct FrameData {
    output: Option<Output>,
    /// x, y, width, height within the output's picture.
    region: (i32, i32, i32, i32),
    /// The client asked for the cursor to be drawn in.
    cursor: bool,
    /// The manager object that made it: damage is reported since its last copy.
    manager: ObjectId,
    used: AtomicBool,
}

/// What changed on an output since a manager's last `copy_with_damage` of it.
struct Unsent {
    manager: ObjectId,
    output: Output,
    /// Output pixels; None once the backend could not say (everything counts).
    damage: Option<Vec<ghost_capture::Region>>,
}

/// Frames waiting for their output to change (`copy_with_damage`), and the damage
/// each manager has not been told about.
#[derive(Default)]
pub struct ScreencopyState {
    waiting: Mutex<Vec<(ZwlrScreencopyFrameV1, WlBuffer)>>,
    unsent: Mutex<Vec<Unsent>>,
    /// When a frame of each output was last copied.
    copied: Mutex<Vec<(Output, std::time::Instant)>>,
}

/// How long after its last copied frame a client still counts as following an output.
const FOLLOWING: std::time::Duration = std::time::Duration::from_secs(1);

impl ScreencopyState {
    /// Whether a client follows `output`: a recorder with `copy_with_damage`, or one
    /// that asked for a frame of it in the last second (VNC servers, pollers). Their
    /// frames are read from the output's own picture, which must then be drawn.
    pub fn follows(&self, output: &Output) -> bool {
        let recently = self.copied.lock().is_ok_and(|copied| {
            copied
                .iter()
                .any(|(o, at)| o == output && at.elapsed() < FOLLOWING)
        });
        recently
            || self
                .unsent
                .lock()
                .is_ok_and(|all| all.iter().any(|u| &u.output == output))
    }

    /// Notes that a frame of `output` was copied now (see [`ScreencopyState::follows`]).
    fn copied_now(&self, output: &Output) {
        if let Ok(mut copied) = self.copied.lock() {
            copied.retain(|(o, at)| o != output && at.elapsed() < FOLLOWING);
            copied.push((output.clone(), std::time::Instant::now()));
        }
    }

    /// Creates the global, visible to clients that pass `filter`.
    pub fn new<D, F>(dh: &DisplayHandle, filter: F) -> Self
    where
        D: GlobalDispatch<ZwlrScreencopyManagerV1, ScreencopyGlobalData> + 'static,
        F: Fn(&Client) -> bool + Send + Sync + 'static,
    {
        dh.create_global::<D, ZwlrScreencopyManagerV1, _>(
            VERSION,
            ScreencopyGlobalData {
                filter: Box::new(filter),
            },
        );
        Self::default()
    }
}

impl GlobalDispatch<ZwlrScreencopyManagerV1, ScreencopyGlobalData> for Ghost {
    fn bind(
        _state: &mut Self,
        _dh: &DisplayHandle,
        _client: &Client,
        resource: New<ZwlrScreencopyManagerV1>,
        _data: &ScreencopyGlobalData,
        data_init: &mut DataInit<'_, Self>,
    ) {
        data_init.init(resource, ());
    }

    fn can_view(client: Client, data: &ScreencopyGlobalData) -> bool {
        (data.filter)(&client)
    }
}

/// The output's picture size in physical pixels, upright.
fn picture_size(output: &Output) -> Option<(i32, i32)> {
    let mode = output.current_mode()?;
    let size = output.current_transform().transform_size(mode.size);
    Some((size.w, size.h))
}

impl Dispatch<ZwlrScreencopyManagerV1, ()> for Ghost {
    fn destroyed(state: &mut Self, _client: ClientId, manager: &ZwlrScreencopyManagerV1, _: &()) {
        if let Ok(mut unsent) = state.screencopy_state.unsent.lock() {
            unsent.retain(|u| u.manager != manager.id());
        }
    }

    fn request(
        state: &mut Self,
        _client: &Client,
        manager: &ZwlrScreencopyManagerV1,
        request: zwlr_screencopy_manager_v1::Request,
        _data: &(),
        _dh: &DisplayHandle,
        data_init: &mut DataInit<'_, Self>,
    ) {
        let (frame, output, region, cursor) = match request {
            zwlr_screencopy_manager_v1::Request::CaptureOutput {
                frame,
                output,
                overlay_cursor,
            } => (
                frame,
                Output::from_resource(&output),
                None,
                overlay_cursor != 0,
            ),
            zwlr_screencopy_manager_v1::Request::CaptureOutputRegion {
                frame,
                output,
                x,
                y,
                width,
                height,
                overlay_cursor,
            } => (
                frame,
                Output::from_resource(&output),
                Some((x, y, width, height)),
                overlay_cursor != 0,
            ),
            _ => return,
        };
        let size = output.as_ref().and_then(picture_size);
        let region = match (size, region, &output) {
            (Some((w, h)), None, _) => Some((0, 0, w, h)),
            (Some((w, h)), Some((x, y, rw, rh)), Some(o)) => {
                // The region is in output-local logical coordinates.
                let s = o.current_scale().fractional_scale();
                // In f64: the client's numbers may be anywhere in i32, their sums too.
                let px = |v: f64| (v * s).round() as i32;
                let (x, y, rw, rh) = (f64::from(x), f64::from(y), f64::from(rw), f64::from(rh));
                let (x0, y0) = (px(x).clamp(0, w), px(y).clamp(0, h));
                let (x1, y1) = (px(x + rw).clamp(0, w), px(y + rh).clamp(0, h));
                (x1 > x0 && y1 > y0).then_some((x0, y0, x1 - x0, y1 - y0))
            }
            _ => None,
        };
        let frame = data_init.init(
            frame,
            FrameData {
                output: output.clone(),
                region: region.unwrap_or_default(),
                cursor,
                manager: manager.id(),
                used: AtomicBool::new(false),
            },
        );
        let Some((_, _, w, h)) = region else {
            frame.failed();
            return;
        };
        let stride = u32::try_from(w).unwrap_or(0) * 4;
        frame.buffer(
            wl_shm::Format::Xrgb8888,
            u32::try_from(w).unwrap_or(0),
            u32::try_from(h).unwrap_or(0),
            stride,
        );
        if frame.version() >= 3 {
            if state.backend.dmabuf_device().is_some() {
                // Device memory works too (a recorder that encodes on the GPU).
                frame.linux_dmabuf(
                    Fourcc::Xrgb8888 as u32,
                    u32::try_from(w).unwrap_or(0),
                    u32::try_from(h).unwrap_or(0),
                );
            }
            frame.buffer_done();
        }
    }
}

impl Dispatch<ZwlrScreencopyFrameV1, FrameData> for Ghost {
    fn request(
        state: &mut Self,
        _client: &Client,
        frame: &ZwlrScreencopyFrameV1,
        request: zwlr_screencopy_frame_v1::Request,
        data: &FrameData,
        _dh: &DisplayHandle,
        _data_init: &mut DataInit<'_, Self>,
    ) {
        let (buffer, wait) = match request {
            zwlr_screencopy_frame_v1::Request::Copy { buffer } => (buffer, false),
            zwlr_screencopy_frame_v1::Request::CopyWithDamage { buffer } => (buffer, true),
            _ => return,
        };
        if data.used.swap(true, Ordering::AcqRel) {
            frame.post_error(
                zwlr_screencopy_frame_v1::Error::AlreadyUsed,
                "the frame was already copied",
            );
            return;
        }
        let (_, _, w, h) = data.region;
        let fits = capture_buffer::layout(&buffer)
            .is_some_and(|(bw, bh, _)| (bw as i32, bh as i32) == (w, h));
        if !fits {
            frame.post_error(
                zwlr_screencopy_frame_v1::Error::InvalidBuffer,
                "the buffer must be an XRGB8888/ARGB8888 buffer (shm or linear dmabuf) of \
                 the advertised size",
            );
            return;
        }
        match (&data.output, wait) {
            (Some(output), true) => {
                let output = output.clone();
                state.copy_with_damage(&output, frame, buffer, data);
            }
            (Some(output), false) => {
                let output = output.clone();
                state.copy_frame(&output, frame, &buffer, data, None, None);
            }
            (None, _) => frame.failed(),
        }
    }
}

impl Ghost {
    /// A `copy_with_damage`: at once for the manager's first copy of the output (with
    /// all of it damaged) or when the output changed since its last one; otherwise the
    /// frame waits for the output's next change.
    fn copy_with_damage(
        &mut self,
        output: &Output,
        frame: &ZwlrScreencopyFrameV1,
        buffer: WlBuffer,
        data: &FrameData,
    ) {
        // Some(true): changed since the last copy; Some(false): unchanged; None: the
        // backend cannot say.
        let changed = {
            let Ok(mut unsent) = self.screencopy_state.unsent.lock() else {
                return frame.failed();
            };
            match unsent
                .iter_mut()
                .find(|u| u.manager == data.manager && &u.output == output)
            {
                // The manager's first copy of this output: the whole picture, now.
                None => {
                    unsent.push(Unsent {
                        manager: data.manager.clone(),
                        output: output.clone(),
                        damage: None,
                    });
                    Some(true)
                }
                Some(u) => u.damage.as_ref().map(|d| !d.is_empty()),
            }
        };
        match changed {
            Some(true) => {
                let damage = self.take_unsent(data.manager.clone(), output);
                self.copy_frame(output, frame, &buffer, data, Some(damage), None);
            }
            Some(false) | None => {
                if let Ok(mut waiting) = self.screencopy_state.waiting.lock() {
                    waiting.push((frame.clone(), buffer));
                }
                // Where nobody knows what changed, the next repaint answers.
                if changed.is_none() {
                    self.queue_redraw(output);
                }
            }
        }
    }

    /// Hands out what changed on `output` since `manager`'s last copy, and starts
    /// gathering again. None: everything.
    fn take_unsent(
        &mut self,
        manager: ObjectId,
        output: &Output,
    ) -> Option<Vec<ghost_capture::Region>> {
        let mut unsent = self.screencopy_state.unsent.lock().ok()?;
        let u = unsent
            .iter_mut()
            .find(|u| u.manager == manager && &u.output == output)?;
        u.damage.replace(Vec::new())
    }

    /// Renders `output`, copies `region` into `buffer`, and tells the client; `damage`
    /// (output pixels, None for all of it) is reported for `copy_with_damage` frames,
    /// and `shown_at` is when the output showed the picture, where a repaint just did.
    fn copy_frame(
        &mut self,
        output: &Output,
        frame: &ZwlrScreencopyFrameV1,
        buffer: &WlBuffer,
        data: &FrameData,
        damage: Option<Option<Vec<ghost_capture::Region>>>,
        shown_at: Option<std::time::Duration>,
    ) {
        let (x, y, w, h) = data.region;
        let crop = ghost_capture::Region {
            x,
            y,
            width: w,
            height: h,
        };
        let whole = picture_size(output) == Some((w, h)) && (x, y) == (0, 0);
        // Drawn by the GPU into a dmabuf where it can be; copied through memory otherwise.
        let copied = (whole && self.capture_into_dmabuf(output, buffer, data.cursor))
            || self.copy_through_memory(output, buffer, crop, data.cursor);
        if !copied {
            frame.failed();
            return;
        }
        self.screencopy_state.copied_now(output);
        frame.flags(Flags::empty());
        if let (Some(damage), true) = (damage, frame.version() >= 2) {
            let boxes = match damage {
                Some(boxes) => boxes.iter().filter_map(|r| r.within(crop)).collect(),
                None => vec![ghost_capture::Region {
                    x: 0,
                    y: 0,
                    width: w,
                    height: h,
                }],
            };
            let n = |v: i32| u32::try_from(v).unwrap_or(0);
            for r in boxes {
                frame.damage(n(r.x), n(r.y), n(r.width), n(r.height));
            }
        }
        let now = shown_at.unwrap_or_else(|| std::time::Duration::from(self.clock.now()));
        let secs = now.as_secs();
        frame.ready((secs >> 32) as u32, secs as u32, now.subsec_nanos());
    }

    /// Copies `crop` of what a capture of `output` shows into `buffer`: from the
    /// output's own buffer where it shows what the client asked for (with the arrow
    /// laid over it where the client wants the pointer and the screen has none),
    /// drawn again otherwise. False where it cannot.
    fn copy_through_memory(
        &mut self,
        output: &Output,
        buffer: &WlBuffer,
        crop: ghost_capture::Region,
        cursor: bool,
    ) -> bool {
        let drawn;
        let (picture, stamp) = match self.shown_for_capture(output, cursor) {
            Some(shown) => shown,
            None => {
                // The output's buffer is not drawn while its casts draw its frames; it
                // is from its next repaint on, as this client now follows it.
                if matches!(self.backend, crate::backend::Backend::Headless(_))
                    && self.backend.shown(output).is_none()
                {
                    self.queue_redraw(output);
                }
                drawn = match self.capture(output, Shows::Output, false, cursor) {
                    Ok(crate::backend::Captured::Sdr(picture)) => picture,
                    Ok(crate::backend::Captured::Hdr(_)) | Err(_) => return false,
                };
                (drawn.view(), None)
            }
        };
        let Ok(part) = picture.crop(crop) else {
            return false;
        };
        let stamp = stamp.map(|s| ghost_capture::Stamp {
            x: s.x - crop.x,
            y: s.y - crop.y,
            ..s
        });
        if !capture_buffer::write_stamped(buffer, &part, stamp.as_ref()) {
            warn!("screencopy: the client's buffer could not be written");
            return false;
        }
        true
    }

    /// The pointer moved: frames that draw it and wait for a change get one now, all of
    /// their output counted as changed (a pointer on a cursor plane, or on a headless
    /// output, moves without a repaint that would answer them; VNC servers that draw
    /// the pointer into their picture wait on exactly these).
    pub fn screencopy_cursor_moved(&mut self) {
        let ready: Vec<(ZwlrScreencopyFrameV1, WlBuffer)> = {
            let Ok(mut waiting) = self.screencopy_state.waiting.lock() else {
                return;
            };
            if waiting.is_empty() {
                return;
            }
            let (mine, rest): (Vec<_>, Vec<_>) = waiting
                .drain(..)
                .partition(|(f, _)| f.data::<FrameData>().is_some_and(|d| d.cursor));
            *waiting = rest;
            mine
        };
        for (frame, buffer) in ready {
            if !frame.is_alive() {
                continue;
            }
            let Some(data) = frame.data::<FrameData>() else {
                continue;
            };
            let Some(output) = data.output.clone() else {
                continue;
            };
            // Whatever was gathered is covered by reporting the whole output.
            let _ = self.take_unsent(data.manager.clone(), &output);
            self.copy_frame(&output, &frame, &buffer, data, Some(None), None);
        }
    }

    /// After `output` repainted: adds what changed to every manager's unsent damage,
    /// then answers the frames waiting for a change on it.
    pub fn screencopy_after_repaint(
        &mut self,
        output: &Output,
        shown_at: Option<std::time::Duration>,
    ) {
        let tracked = |state: &Self| {
            let unsent = state
                .screencopy_state
                .unsent
                .lock()
                .is_ok_and(|u| !u.is_empty());
            let waiting = state
                .screencopy_state
                .waiting
                .lock()
                .is_ok_and(|w| !w.is_empty());
            unsent || waiting
        };
        // Most repaints have no recorder watching: nothing to gather.
        if !tracked(self) {
            return;
        }
        let repainted: Option<Vec<ghost_capture::Region>> = self
            .backend
            .repainted(output)
            .map(|damage| damage.iter().map(crate::casts::region_of).collect());
        if let Ok(mut unsent) = self.screencopy_state.unsent.lock() {
            for u in unsent.iter_mut().filter(|u| &u.output == output) {
                match (&mut u.damage, &repainted) {
                    (Some(boxes), Some(more)) => ghost_capture::accumulate(boxes, more.clone()),
                    (damage, None) => *damage = None,
                    (None, Some(_)) => {}
                }
            }
        }
        let ready: Vec<(ZwlrScreencopyFrameV1, WlBuffer)> = {
            let Ok(mut waiting) = self.screencopy_state.waiting.lock() else {
                return;
            };
            let Ok(unsent) = self.screencopy_state.unsent.lock() else {
                return;
            };
            let changed = |frame: &ZwlrScreencopyFrameV1| {
                let Some(data) = frame.data::<FrameData>() else {
                    return false;
                };
                data.output.as_ref() == Some(output)
                    && unsent
                        .iter()
                        .find(|u| u.manager == data.manager && &u.output == output)
                        .is_none_or(|u| u.damage.as_ref().is_none_or(|d| !d.is_empty()))
            };
            let (mine, rest): (Vec<_>, Vec<_>) = waiting.drain(..).partition(|(f, _)| changed(f));
            *waiting = rest;
            mine
        };
        for (frame, buffer) in ready {
            if !frame.is_alive() {
                continue;
            }
            let Some(data) = frame.data::<FrameData>() else {
                continue;
            };
            let damage = self.take_unsent(data.manager.clone(), output);
            self.copy_frame(output, &frame, &buffer, data, Some(damage), shown_at);
        }
    }
}
