//! A wlr-screencopy client as wf-recorder uses it: one manager, one frame after another
//! with `copy_with_damage`, each into an shm buffer, recording the damage each frame
//! reports, so tests check what a recorder receives and when.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use wayland_client::{
    protocol::{wl_buffer::WlBuffer, wl_output::WlOutput, wl_shm},
    Connection, Dispatch, QueueHandle, WEnum,
};
use wayland_protocols_wlr::screencopy::v1::client::{
    zwlr_screencopy_frame_v1::{self, ZwlrScreencopyFrameV1},
    zwlr_screencopy_manager_v1::ZwlrScreencopyManagerV1,
};

use crate::{
    capture_client::lock,
    client::{State, TestClient},
};

/// What a frame told us.
#[derive(Debug, Default, Clone)]
pub struct WlrFrameEvents {
    /// The shm buffer it wants: format, width, height, stride.
    pub buffer: Option<(u32, u32, u32, u32)>,
    /// The dmabuf it takes too: fourcc, width, height (version 3).
    pub linux_dmabuf: Option<(u32, u32, u32)>,
    /// All buffer types were announced (version 3).
    pub buffer_done: bool,
    /// Damage rectangles (x, y, width, height).
    pub damage: Vec<(u32, u32, u32, u32)>,
    /// The copy finished.
    pub ready: bool,
    /// The copy failed.
    pub failed: bool,
}

type Shared<T> = Arc<Mutex<T>>;

/// A frame asked for and not answered yet.
pub struct WlrPending {
    frame: ZwlrScreencopyFrameV1,
    events: Shared<WlrFrameEvents>,
    buffer: WlBuffer,
    file: std::fs::File,
    size: (u32, u32),
}

/// A frame that was copied: its pixels (R, G, B per pixel) and reported damage.
#[derive(Debug)]
pub struct WlrCopied {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// R, G, B per pixel, top row first.
    pub rgb: Vec<[u8; 3]>,
    /// Damage rectangles (x, y, width, height).
    pub damage: Vec<(u32, u32, u32, u32)>,
}

/// Reads `client`'s events until `done` holds for a frame's `events` (10 s at most), as
/// recorders waiting on one frame at a time do.
pub fn wait_frame(
    client: &mut TestClient,
    events: &Arc<Mutex<WlrFrameEvents>>,
    done: impl Fn(&WlrFrameEvents) -> bool,
) -> Result<WlrFrameEvents> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let seen = events
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .clone();
        if done(&seen) {
            return Ok(seen);
        }
        if Instant::now() > deadline {
            anyhow::bail!("the compositor did not answer the frame in 10 s");
        }
        client.wait()?;
    }
}

impl TestClient {
    /// Binds the screencopy manager (version 3: damage and buffer_done).
    pub fn wlr_screencopy(&self) -> Result<ZwlrScreencopyManagerV1> {
        self.bind(3..=3, ())
    }

    /// Asks `manager` for a frame of `output` and copies it with damage once the
    /// compositor says which buffer it wants.
    pub fn wlr_copy_with_damage(
        &mut self,
        manager: &ZwlrScreencopyManagerV1,
        output: &WlOutput,
    ) -> Result<WlrPending> {
        let (frame, events) = self.wlr_frame(manager, output)?;
        let (format, w, h, stride) = lock(&events)?
            .buffer
            .context("the compositor named no shm buffer")?;
        let format = wl_shm::Format::try_from(format).unwrap_or(wl_shm::Format::Xrgb8888);
        let (buffer, file) = self.shm_buffer(w, h, stride, format)?;
        frame.copy_with_damage(&buffer);
        Ok(WlrPending {
            frame,
            events,
            buffer,
            file,
            size: (w, h),
        })
    }

    /// Copies one frame of `output` (or of `region` of it: x, y, width, height) into
    /// an shm buffer of the format the compositor names, with the pointer painted in
    /// where `overlay_cursor`, as VNC servers and recorders that show the pointer ask.
    pub fn wlr_copy(
        &mut self,
        manager: &ZwlrScreencopyManagerV1,
        output: &WlOutput,
        overlay_cursor: bool,
        region: Option<(i32, i32, i32, i32)>,
    ) -> Result<WlrCopied> {
        let events: Shared<WlrFrameEvents> = Shared::default();
        let overlay = i32::from(overlay_cursor);
        let frame = match region {
            Some((x, y, w, h)) => manager.capture_output_region(
                overlay,
                output,
                x,
                y,
                w,
                h,
                &self.qh(),
                events.clone(),
            ),
            None => manager.capture_output(overlay, output, &self.qh(), events.clone()),
        };
        let named = wait_frame(self, &events, |e| e.buffer_done || e.failed)?;
        anyhow::ensure!(!named.failed, "the compositor failed the frame");
        let (format, w, h, stride) = named.buffer.context("the compositor named no shm buffer")?;
        let format = wl_shm::Format::try_from(format).unwrap_or(wl_shm::Format::Xrgb8888);
        let (buffer, file) = self.shm_buffer(w, h, stride, format)?;
        frame.copy(&buffer);
        let pending = WlrPending {
            frame,
            events,
            buffer,
            file,
            size: (w, h),
        };
        match self.wlr_collect(pending, Duration::from_secs(10))? {
            Ok(copied) => Ok(copied),
            Err(_) => anyhow::bail!("the copy was not ready in 10 s"),
        }
    }

    /// Copies a frame of `output` into a dmabuf: a dumb buffer of `card` of the size
    /// the compositor names in its `linux_dmabuf` event. Fails where it names none.
    pub fn wlr_copy_into_dmabuf(
        &mut self,
        manager: &ZwlrScreencopyManagerV1,
        output: &WlOutput,
        card: &std::path::Path,
    ) -> Result<WlrCopied> {
        let (frame, events) = self.wlr_frame(manager, output)?;
        let (format, w, h) = lock(&events)?
            .linux_dmabuf
            .context("the compositor named no dmabuf")?;
        anyhow::ensure!(
            format == 0x3432_5258,
            "a dmabuf of format {format:#x}, not XRGB8888"
        );
        let mut device = crate::dmabuf_client::DeviceBuffers::open(card)?;
        let buffer = device.add(self, w as i32, h as i32, 0)?;
        frame.copy(&buffer);
        let ready = crate::wait_for(Duration::from_secs(10), "the copy into a dmabuf", || {
            self.roundtrip().ok()?;
            let e = lock(&events).ok()?.clone();
            (e.ready || e.failed).then_some(e.ready)
        })?;
        anyhow::ensure!(ready, "the copy into the dmabuf failed");
        frame.destroy();
        buffer.destroy();
        Ok(WlrCopied {
            width: w,
            height: h,
            rgb: device.read_rgb(0)?,
            damage: Vec::new(),
        })
    }

    /// Asks `manager` for a frame of `output` and waits until the compositor named the
    /// buffers it takes (or failed the frame).
    fn wlr_frame(
        &mut self,
        manager: &ZwlrScreencopyManagerV1,
        output: &WlOutput,
    ) -> Result<(ZwlrScreencopyFrameV1, Shared<WlrFrameEvents>)> {
        let events: Shared<WlrFrameEvents> = Shared::default();
        let frame = manager.capture_output(0, output, &self.qh(), events.clone());
        for _ in 0..100 {
            self.roundtrip()?;
            if lock(&events)?.buffer_done || lock(&events)?.failed {
                break;
            }
        }
        Ok((frame, events))
    }

    /// Waits up to `patience` for `pending` to be copied; gives it back when it is not.
    pub fn wlr_collect(
        &mut self,
        pending: WlrPending,
        patience: Duration,
    ) -> Result<std::result::Result<WlrCopied, WlrPending>> {
        let start = Instant::now();
        loop {
            self.roundtrip()?;
            let e = lock(&pending.events)?.clone();
            anyhow::ensure!(!e.failed, "the copy failed");
            if e.ready {
                pending.frame.destroy();
                pending.buffer.destroy();
                let (w, h) = pending.size;
                let mut raw = vec![0u8; (w * h * 4) as usize];
                rustix::io::pread(&pending.file, &mut raw, 0)?;
                let rgb = raw.chunks_exact(4).map(|p| [p[2], p[1], p[0]]).collect();
                return Ok(Ok(WlrCopied {
                    width: w,
                    height: h,
                    rgb,
                    damage: e.damage,
                }));
            }
            if start.elapsed() > patience {
                return Ok(Err(pending));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Dispatch<ZwlrScreencopyFrameV1, Shared<WlrFrameEvents>> for State {
    fn event(
        _: &mut Self,
        _: &ZwlrScreencopyFrameV1,
        event: zwlr_screencopy_frame_v1::Event,
        data: &Shared<WlrFrameEvents>,
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        let Ok(mut e) = data.lock() else {
            return;
        };
        match event {
            zwlr_screencopy_frame_v1::Event::Buffer {
                format: WEnum::Value(format),
                width,
                height,
                stride,
            } => e.buffer = Some((format.into(), width, height, stride)),
            zwlr_screencopy_frame_v1::Event::LinuxDmabuf {
                format,
                width,
                height,
            } => e.linux_dmabuf = Some((format, width, height)),
            zwlr_screencopy_frame_v1::Event::BufferDone => e.buffer_done = true,
            zwlr_screencopy_frame_v1::Event::Damage {
                x,
                y,
                width,
                height,
            } => e.damage.push((x, y, width, height)),
            zwlr_screencopy_frame_v1::Event::Ready { .. } => e.ready = true,
            zwlr_screencopy_frame_v1::Event::Failed => e.failed = true,
            _ => {}
        }
    }
}

wayland_client::delegate_noop!(State: ignore ZwlrScreencopyManagerV1);

// The virtual pointer of the remote-input latency probe: no events.
wayland_client::delegate_noop!(State: ignore wayland_protocols_wlr::virtual_pointer::v1::client::zwlr_virtual_pointer_manager_v1::ZwlrVirtualPointerManagerV1);
wayland_client::delegate_noop!(State: ignore wayland_protocols_wlr::virtual_pointer::v1::client::zwlr_virtual_pointer_v1::ZwlrVirtualPointerV1);
