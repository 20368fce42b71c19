//! wlr-screencopy-unstable-v1: what grim, wf-recorder and OBS's wlrobs read the screen
//! with. Frames are rendered through the same path as screenshots (the cursor only when
//! asked, windows blocked out of captures black) and copied
//! into the client's shm buffer; `copy_with_damage` waits for the output's next repaint.
//! Screen contents are private: sandboxed clients never see the global.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Mutex,
};

use smithay::{
    output::Output,
    reexports::{
        wayland_protocols_wlr::screencopy::v1::server::{
            zwlr_screencopy_frame_v1::{self, Flags, ZwlrScreencopyFrameV1},
            zwlr_screencopy_manager_v1::{self, ZwlrScreencopyManagerV1},
        },
        wayland_server::{
            protocol::{wl_buffer::WlBuffer, wl_shm},
            Client, DataInit, Dispatch, DisplayHandle, GlobalDispatch, New, Resource,
        },
    },
    wayland::shm::with_buffer_contents_mut,
};
use tracing::warn;

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
    used: AtomicBool,
}

/// Frames waiting for their output's next repaint (`copy_with_damage`).
#[derive(Default)]
pub struct ScreencopyState {
    waiting: Mutex<Vec<(ZwlrScreencopyFrameV1, WlBuffer)>>,
}

impl ScreencopyState {
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
    fn request(
        _state: &mut Self,
        _client: &Client,
        _manager: &ZwlrScreencopyManagerV1,
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
                let px = |v: i32| (f64::from(v) * s).round() as i32;
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
        let fits = smithay::wayland::shm::with_buffer_contents(&buffer, |_, _, b| {
            matches!(
                b.format,
                wl_shm::Format::Xrgb8888 | wl_shm::Format::Argb8888
            ) && b.width == w
                && b.height == h
                && b.stride >= w * 4
        });
        if !matches!(fits, Ok(true)) {
            frame.post_error(
                zwlr_screencopy_frame_v1::Error::InvalidBuffer,
                "the buffer must be a shm XRGB8888/ARGB8888 buffer of the advertised size",
            );
            return;
        }
        match (&data.output, wait) {
            (Some(output), true) => {
                if let Ok(mut waiting) = state.screencopy_state.waiting.lock() {
                    waiting.push((frame.clone(), buffer));
                }
                state.queue_redraw(output);
            }
            (Some(output), false) => {
                let output = output.clone();
                state.copy_frame(&output, frame, &buffer, data, false);
            }
            (None, _) => frame.failed(),
        }
    }
}

impl Ghost {
    /// Renders `output`, copies `region` into `buffer`, and tells the client.
    fn copy_frame(
        &mut self,
        output: &Output,
        frame: &ZwlrScreencopyFrameV1,
        buffer: &WlBuffer,
        data: &FrameData,
        damaged: bool,
    ) {
        let (x, y, w, h) = data.region;
        let crop = ghost_capture::Region {
            x,
            y,
            width: w,
            height: h,
        };
        // The output's own buffer where it shows exactly what the client asked for;
        // drawn again otherwise.
        let drawn;
        let picture = match self.shown_for_capture(output, data.cursor) {
            Some((view, _)) => view,
            None => {
                drawn = match self.capture(output, Shows::Output, false, data.cursor) {
                    Ok(crate::backend::Captured::Sdr(picture)) => picture,
                    Ok(crate::backend::Captured::Hdr(_)) | Err(_) => {
                        frame.failed();
                        return;
                    }
                };
                drawn.view()
            }
        };
        let Ok(part) = picture.crop(crop) else {
            frame.failed();
            return;
        };
        let copied = with_buffer_contents_mut(buffer, |ptr, len, b| {
            let stride = usize::try_from(b.stride).unwrap_or(0);
            let offset = usize::try_from(b.offset).unwrap_or(usize::MAX);
            if offset > len {
                return false;
            }
            let layout = match b.format {
                wl_shm::Format::Argb8888 => ghost_capture::PixelFormat::Argb8888,
                _ => ghost_capture::PixelFormat::Xrgb8888,
            };
            // SAFETY: smithay maps the whole pool for this callback and `len` is its
            // length; the slice starts at the buffer's offset inside it, and copy_into
            // checks the rows fit. The client may write concurrently, which can only
            // garble its own picture.
            let pool = unsafe { std::slice::from_raw_parts_mut(ptr.add(offset), len - offset) };
            part.copy_into(pool, stride, layout)
        });
        if !matches!(copied, Ok(true)) {
            warn!("screencopy: the client's buffer could not be written");
            frame.failed();
            return;
        }
        frame.flags(Flags::empty());
        if damaged && frame.version() >= 2 {
            frame.damage(
                0,
                0,
                u32::try_from(w).unwrap_or(0),
                u32::try_from(h).unwrap_or(0),
            );
        }
        let now = std::time::Duration::from(self.clock.now());
        let secs = now.as_secs();
        frame.ready((secs >> 32) as u32, secs as u32, now.subsec_nanos());
    }

    /// After `output` repainted: answers the frames waiting for damage on it.
    pub fn screencopy_after_repaint(&mut self, output: &Output) {
        let ready: Vec<(ZwlrScreencopyFrameV1, WlBuffer)> = {
            let Ok(mut waiting) = self.screencopy_state.waiting.lock() else {
                return;
            };
            let (mine, rest): (Vec<_>, Vec<_>) = waiting.drain(..).partition(|(f, _)| {
                f.data::<FrameData>().and_then(|d| d.output.as_ref()) == Some(output)
            });
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
            self.copy_frame(output, &frame, &buffer, data, true);
        }
    }
}
