//! A real KMS device: opened from a DRM node, described as a [`DeviceModel`] (the same
//! shape the simulated devices use), and driven with atomic requests built by property
//! name. Opening and page-flip events live here; reading the model in `read`, dumb
//! buffers (CPU-written, what vkms and simpledrm have) in `dumb`, atomic submission in
//! `submit` with the blobs it makes in `blob`.

use std::{
    collections::BTreeMap,
    fs::{File, OpenOptions},
    os::fd::{AsFd, BorrowedFd, OwnedFd},
    path::Path,
    time::Duration,
};

use drm::{
    control::{Device as ControlDevice, Mode},
    ClientCapability, Device as BasicDevice,
};

use crate::{model::DeviceModel, sim::Refusal};

mod blob;
mod dumb;
mod read;
mod submit;

pub use dumb::MappedBuffer;

/// Why talking to the device failed.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// An ioctl or open failed.
    #[error("{0}: {1}")]
    Io(&'static str, std::io::Error),
    /// The request names something the device does not have.
    #[error("request refused before submission: {0}")]
    Refused(#[from] Refusal),
}

pub(crate) fn io(what: &'static str) -> impl Fn(std::io::Error) -> DeviceError {
    move |e| DeviceError::Io(what, e)
}

/// An open DRM primary node with atomic modesetting enabled.
pub struct KmsDevice {
    file: File,
    /// What the device has, read at open.
    pub model: DeviceModel,
    modes: BTreeMap<u32, Mode>,
}

impl AsFd for KmsDevice {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

impl BasicDevice for KmsDevice {}
impl ControlDevice for KmsDevice {}

impl KmsDevice {
    /// Opens `path` (e.g. /dev/dri/card0) and reads what it has.
    pub fn open(path: &Path) -> Result<Self, DeviceError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(io("open"))?;
        Self::from_fd(file.into())
    }

    /// Takes a node a session opened for us (libseat hands out file descriptors, so
    /// the compositor never needs the right to open /dev/dri itself).
    pub fn from_fd(fd: OwnedFd) -> Result<Self, DeviceError> {
        // Events are read when the node is readable, and a read must never wait: one
        // that found its event already taken (by a wait for a flip) would block the
        // whole compositor until some later flip.
        let flags = rustix::fs::fcntl_getfl(&fd).map_err(|e| {
            DeviceError::Io("fcntl", std::io::Error::from_raw_os_error(e.raw_os_error()))
        })?;
        rustix::fs::fcntl_setfl(&fd, flags | rustix::fs::OFlags::NONBLOCK).map_err(|e| {
            DeviceError::Io("fcntl", std::io::Error::from_raw_os_error(e.raw_os_error()))
        })?;
        let mut dev = Self {
            file: File::from(fd),
            model: DeviceModel {
                driver: String::new(),
                driver_version: None,
                caps: BTreeMap::new(),
                crtcs: Vec::new(),
                connectors: Vec::new(),
                planes: Vec::new(),
            },
            modes: BTreeMap::new(),
        };
        dev.set_client_capability(ClientCapability::UniversalPlanes, true)
            .map_err(io("universal planes"))?;
        dev.set_client_capability(ClientCapability::Atomic, true)
            .map_err(io("atomic"))?;
        // Writeback connectors are only listed to clients that ask.
        let _ = dev.set_client_capability(ClientCapability::WritebackConnectors, true);
        dev.model = dev.read_model()?;
        Ok(dev)
    }

    /// Blocks until the next page-flip event: the CRTC, the vblank sequence and the
    /// vblank time (CLOCK_MONOTONIC) the kernel stamped it with.
    pub fn wait_flip(&self) -> Result<(u32, u32, std::time::Duration), DeviceError> {
        // A node a session opened may be non-blocking: wait for it to be readable. A
        // flip that takes seconds will not come.
        for _ in 0..3 {
            let mut fds = [rustix::event::PollFd::new(
                &self.file,
                rustix::event::PollFlags::IN,
            )];
            let ready = rustix::event::poll(&mut fds, 1000).map_err(|e| {
                DeviceError::Io(
                    "events",
                    std::io::Error::from_raw_os_error(e.raw_os_error()),
                )
            })?;
            if ready == 0 {
                continue;
            }
            let events = match self.receive_events() {
                Ok(events) => events,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(DeviceError::Io("events", e)),
            };
            for event in events {
                if let drm::control::Event::PageFlip(flip) = event {
                    return Ok((u32::from(flip.crtc), flip.frame, flip.duration));
                }
            }
        }
        Err(DeviceError::Io(
            "events",
            std::io::Error::new(std::io::ErrorKind::TimedOut, "no page flip in 3 s"),
        ))
    }

    /// The page-flip events waiting on the node (call when it is readable): CRTC,
    /// vblank sequence and vblank time each.
    pub fn flip_events(&self) -> Result<Vec<Flipped>, DeviceError> {
        let events = match self.receive_events() {
            Ok(events) => events,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(Vec::new()),
            Err(e) => return Err(DeviceError::Io("events", e)),
        };
        Ok(events
            .filter_map(|event| match event {
                drm::control::Event::PageFlip(flip) => Some(Flipped {
                    crtc: u32::from(flip.crtc),
                    sequence: flip.frame,
                    time: flip.duration,
                }),
                _ => None,
            })
            .collect())
    }

    /// Waits until a fence (a sync_file: writeback done, a flip started, a GPU's
    /// drawing finished) signals, up to `timeout`.
    pub fn wait_fence(fence: impl AsFd, timeout: Duration) -> Result<bool, DeviceError> {
        let mut fds = [rustix::event::PollFd::new(
            &fence,
            rustix::event::PollFlags::IN,
        )];
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        let ready = rustix::event::poll(&mut fds, ms).map_err(|e| {
            DeviceError::Io("fence", std::io::Error::from_raw_os_error(e.raw_os_error()))
        })?;
        Ok(ready > 0)
    }
}

/// A page flip completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flipped {
    /// The CRTC.
    pub crtc: u32,
    /// Its vblank counter.
    pub sequence: u32,
    /// The vblank time, CLOCK_MONOTONIC.
    pub time: Duration,
}

/// How to submit a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submit {
    /// DRM_MODE_ATOMIC_TEST_ONLY: check, change nothing.
    TestOnly,
    /// Apply and return when done.
    Blocking,
    /// Apply at the next vblank without waiting, and send a page-flip event then.
    Flip,
}

pub(super) fn raw(id: u32) -> Result<drm::control::RawResourceHandle, Refusal> {
    drm::control::RawResourceHandle::new(id).ok_or(Refusal::NoObject(id))
}
