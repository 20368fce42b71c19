//! A client that shows device memory: dumb buffers allocated on a KMS node, exported
//! through PRIME and shared with linux-dmabuf, as a video player's decoder output
//! would be. These are the buffers a compositor can put on a plane. It also reads
//! linux-dmabuf feedback, which says which formats would get there.

use std::{io::Read, os::fd::AsFd, path::Path};

use anyhow::{Context, Result};
use drm::{
    buffer::{Buffer as _, DrmFourcc},
    control::{dumbbuffer::DumbBuffer, Device as ControlDevice},
    Device,
};
use wayland_client::{
    delegate_noop, protocol::wl_buffer::WlBuffer, Connection, Dispatch, QueueHandle, WEnum,
};
use wayland_protocols::wp::linux_dmabuf::zv1::client::{
    zwp_linux_buffer_params_v1::ZwpLinuxBufferParamsV1,
    zwp_linux_dmabuf_feedback_v1::{self, ZwpLinuxDmabufFeedbackV1},
    zwp_linux_dmabuf_v1::ZwpLinuxDmabufV1,
};

use crate::client::{ColorWindow, State, TestClient};

/// DRM_FORMAT_XRGB8888.
const XRGB8888: u32 = 0x3432_5258;

/// A KMS node opened by the client.
struct Card(std::fs::File);

impl AsFd for Card {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl Device for Card {}
impl ControlDevice for Card {}

/// Dumb buffers of a KMS node the client opened, shared as dmabufs (freed on drop).
pub struct DeviceBuffers {
    card: Card,
    buffers: Vec<DumbBuffer>,
}

impl Drop for DeviceBuffers {
    fn drop(&mut self) {
        for buffer in self.buffers.drain(..) {
            let _ = self.card.destroy_dumb_buffer(buffer);
        }
    }
}

impl DeviceBuffers {
    /// Opens `card` (a KMS node) for allocating.
    pub fn open(card: &Path) -> Result<Self> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(card)
            .with_context(|| format!("opening {}", card.display()))?;
        Ok(Self {
            card: Card(file),
            buffers: Vec::new(),
        })
    }

    /// A new `width`×`height` XRGB8888 buffer filled with `color`, shared with the
    /// compositor through `client`'s linux-dmabuf.
    pub fn add(
        &mut self,
        client: &mut TestClient,
        width: i32,
        height: i32,
        color: u32,
    ) -> Result<WlBuffer> {
        let qh = client.qh();
        let dmabuf: ZwpLinuxDmabufV1 = client.bind(3..=3, ())?;
        let mut buffer = self
            .card
            .create_dumb_buffer((width as u32, height as u32), DrmFourcc::Xrgb8888, 32)
            .context("a dumb buffer")?;
        {
            let mut map = self.card.map_dumb_buffer(&mut buffer)?;
            for px in map.as_mut().chunks_exact_mut(4) {
                px.copy_from_slice(&color.to_le_bytes());
            }
        }
        let fd = self
            .card
            .buffer_to_prime_fd(buffer.handle(), drm::CLOEXEC | drm::RDWR)
            .context("exporting a dumb buffer through PRIME")?;
        let params = dmabuf.create_params(&qh, ());
        params.add(fd.as_fd(), 0, 0, buffer.pitch(), 0, 0);
        let wl_buffer = params.create_immed(
            width,
            height,
            XRGB8888,
            wayland_protocols::wp::linux_dmabuf::zv1::client::zwp_linux_buffer_params_v1::Flags::empty(),
            &qh,
            (),
        );
        params.destroy();
        self.buffers.push(buffer);
        Ok(wl_buffer)
    }

    /// The pixels of buffer `index` (in the order added) as R, G, B, rows packed.
    pub fn read_rgb(&mut self, index: usize) -> Result<Vec<[u8; 3]>> {
        let buffer = self.buffers.get_mut(index).context("no such buffer")?;
        let (w, h) = drm::buffer::Buffer::size(buffer);
        let pitch = buffer.pitch() as usize;
        let map = self.card.map_dumb_buffer(buffer)?;
        let bytes: &[u8] = map.as_ref();
        let mut rgb = Vec::with_capacity((w * h) as usize);
        for y in 0..h as usize {
            for x in 0..w as usize {
                let p = &bytes[y * pitch + x * 4..][..4];
                rgb.push([p[2], p[1], p[0]]);
            }
        }
        Ok(rgb)
    }
}

delegate_noop!(State: ignore ZwpLinuxDmabufV1);
delegate_noop!(State: ignore ZwpLinuxBufferParamsV1);

impl TestClient {
    /// A toplevel showing `colors` (0xAARRGGBB, shown opaque: XRGB8888) in turn from
    /// dmabufs of `card`'s dumb buffers, `width`×`height` (with `fullscreen`, the size
    /// the compositor asks for instead).
    pub fn dmabuf_window(
        &mut self,
        app_id: &str,
        card: &Path,
        size: (i32, i32),
        fullscreen: bool,
        colors: &[u32],
    ) -> Result<ColorWindow> {
        let (surface, xdg_surface, toplevel) = self.toplevel(app_id, fullscreen)?;
        let (width, height) = match self.configured_size() {
            (w, h) if fullscreen && w > 0 && h > 0 => (w, h),
            _ => size,
        };
        let mut device = DeviceBuffers::open(card)?;
        let mut wl_buffers: Vec<WlBuffer> = Vec::new();
        for color in colors {
            wl_buffers.push(device.add(self, width, height, *color)?);
        }
        let mut window = ColorWindow {
            surface,
            xdg_surface,
            toplevel,
            buffers: wl_buffers,
            _backing: Box::new(device),
            next: 0,
        };
        self.commit_next(&mut window, false)?;
        self.roundtrip()?;
        Ok(window)
    }
}

/// One tranche of linux-dmabuf feedback.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tranche {
    /// Flagged scanout: buffers in these formats may go onto a plane.
    pub scanout: bool,
    /// (fourcc, modifier) pairs, in preference order.
    pub formats: Vec<(u32, u64)>,
}

/// What linux-dmabuf feedback objects told us.
#[derive(Debug, Default)]
pub struct FeedbackEvents {
    table: Vec<(u32, u64)>,
    building: Tranche,
    tranches: Vec<Tranche>,
    /// Every complete feedback (at each `done`), oldest first.
    pub received: Vec<Vec<Tranche>>,
}

impl TestClient {
    /// Asks for `surface`'s dmabuf feedback (linux-dmabuf v4); what arrives collects
    /// in `state.dmabuf_feedback`.
    pub fn watch_dmabuf_feedback(
        &mut self,
        surface: &wayland_client::protocol::wl_surface::WlSurface,
    ) -> Result<ZwpLinuxDmabufFeedbackV1> {
        let dmabuf: ZwpLinuxDmabufV1 = self.bind(4..=5, ())?;
        let feedback = dmabuf.get_surface_feedback(surface, &self.qh(), ());
        self.roundtrip()?;
        Ok(feedback)
    }
}

impl Dispatch<ZwpLinuxDmabufFeedbackV1, ()> for State {
    fn event(
        state: &mut Self,
        _: &ZwpLinuxDmabufFeedbackV1,
        event: zwp_linux_dmabuf_feedback_v1::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        use zwp_linux_dmabuf_feedback_v1::Event;
        let events = &mut state.dmabuf_feedback;
        match event {
            Event::FormatTable { fd, size } => {
                let mut bytes = Vec::new();
                let read = std::fs::File::from(fd)
                    .take(u64::from(size))
                    .read_to_end(&mut bytes);
                events.table = match read {
                    // Entries of 16 bytes: fourcc, padding, modifier.
                    Ok(_) => bytes
                        .chunks_exact(16)
                        .map(|e| {
                            let code = u32::from_le_bytes([e[0], e[1], e[2], e[3]]);
                            let mut m = [0u8; 8];
                            m.copy_from_slice(&e[8..16]);
                            (code, u64::from_le_bytes(m))
                        })
                        .collect(),
                    Err(_) => Vec::new(),
                };
            }
            Event::TrancheFormats { indices } => {
                for pair in indices.chunks_exact(2) {
                    let index = usize::from(u16::from_le_bytes([pair[0], pair[1]]));
                    if let Some(format) = events.table.get(index) {
                        events.building.formats.push(*format);
                    }
                }
            }
            Event::TrancheFlags { flags } => {
                let bits = match flags {
                    WEnum::Value(f) => f.bits(),
                    WEnum::Unknown(b) => b,
                };
                events.building.scanout = bits & 1 != 0;
            }
            Event::TrancheDone => {
                let tranche = std::mem::take(&mut events.building);
                events.tranches.push(tranche);
            }
            Event::Done => {
                let tranches = std::mem::take(&mut events.tranches);
                events.received.push(tranches);
            }
            _ => {}
        }
    }
}
