//! A real KMS device: opened from a DRM node, described as a [`DeviceModel`] (the same
//! shape the simulated devices use), and driven with atomic requests built by property
//! name. Framebuffers here are dumb buffers (CPU-written, what vkms and simpledrm have);
//! GBM buffers join with the GPU commit loop.

use std::{
    collections::BTreeMap,
    fs::{File, OpenOptions},
    os::fd::{AsFd, BorrowedFd, OwnedFd},
    path::Path,
    time::Duration,
};

use drm::{
    buffer::DrmFourcc,
    control::{
        atomic::AtomicModeReq, connector, crtc, dumbbuffer::DumbBuffer, framebuffer, property,
        AtomicCommitFlags, Device as ControlDevice, Mode, ResourceHandle,
    },
    ClientCapability, Device as BasicDevice, DriverCapability,
};

use crate::{
    blob::{damage_rects, PropertyBlob},
    model::{ConnectorModel, CrtcModel, DeviceModel, ModeInfo, PlaneKind, PlaneModel, Properties},
    property::{Property, PropertyKind},
    sim::{AtomicRequest, Refusal},
    Connection,
};

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

fn properties_of<T: ResourceHandle>(dev: &KmsDevice, handle: T) -> Properties {
    let Ok(set) = dev.get_properties(handle) else {
        return Properties::new();
    };
    let (ids, values) = set.as_props_and_values();
    let mut out = Properties::new();
    for (id, value) in ids.iter().zip(values) {
        let Ok(info) = dev.get_property(*id) else {
            continue;
        };
        let kind = match info.value_type() {
            property::ValueType::UnsignedRange(min, max) => PropertyKind::Range { min, max },
            property::ValueType::Boolean => PropertyKind::Range { min: 0, max: 1 },
            property::ValueType::SignedRange(min, max) => PropertyKind::SignedRange { min, max },
            property::ValueType::Enum(values) => {
                let (raw, entries) = values.values();
                PropertyKind::Enum(
                    raw.iter()
                        .zip(entries)
                        .map(|(v, e)| (e.name().to_string_lossy().into_owned(), *v))
                        .collect(),
                )
            }
            // drm 0.14 does not hand out bitmask names; an empty list accepts any bits.
            property::ValueType::Bitmask => PropertyKind::Bitmask(Vec::new()),
            property::ValueType::Blob => PropertyKind::Blob,
            property::ValueType::CRTC => PropertyKind::Object("CRTC".into()),
            property::ValueType::Framebuffer => PropertyKind::Object("framebuffer".into()),
            _ => PropertyKind::Object(String::new()),
        };
        out.insert(
            info.name().to_string_lossy().into_owned(),
            Property {
                id: u32::from(*id),
                kind,
                value: *value,
                immutable: !info.mutable(),
                atomic: info.atomic(),
            },
        );
    }
    out
}

/// IN_FORMATS (struct drm_format_modifier_blob): format → modifiers.
fn in_formats(blob: &[u8]) -> BTreeMap<u32, Vec<u64>> {
    let word = |at: usize| -> Option<u32> {
        Some(u32::from_ne_bytes(blob.get(at..at + 4)?.try_into().ok()?))
    };
    let mut out = BTreeMap::new();
    let (Some(count_formats), Some(formats_offset), Some(count_mods), Some(mods_offset)) =
        (word(8), word(12), word(16), word(20))
    else {
        return out;
    };
    let formats: Vec<u32> = (0..count_formats as usize)
        .filter_map(|i| word(formats_offset as usize + 4 * i))
        .collect();
    for m in 0..count_mods as usize {
        // struct drm_format_modifier { u64 formats; u32 offset; u32 pad; u64 modifier; }
        let at = mods_offset as usize + 24 * m;
        let Some(bits) = blob
            .get(at..at + 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_ne_bytes)
        else {
            continue;
        };
        let (Some(offset), Some(modifier)) = (
            word(at + 8),
            blob.get(at + 16..at + 24)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_ne_bytes),
        ) else {
            continue;
        };
        for bit in 0..64usize {
            if bits & (1 << bit) != 0 {
                if let Some(format) = formats.get(offset as usize + bit) {
                    out.entry(*format).or_insert_with(Vec::new).push(modifier);
                }
            }
        }
    }
    out
}

fn mode_info(mode: &Mode) -> ModeInfo {
    let (width, height) = mode.size();
    ModeInfo {
        width,
        height,
        clock_khz: mode.clock(),
        htotal: mode.hsync().2,
        vtotal: mode.vsync().2,
        preferred: mode
            .mode_type()
            .contains(drm::control::ModeTypeFlags::PREFERRED),
    }
}

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

    /// The driver's name and release, e.g. "vkms 1.0.00" or "nvidia-drm 560.35.03".
    pub fn driver_version(&self) -> Option<String> {
        let version = self
            .model
            .driver_version
            .map_or_else(|| "(release unknown)".to_owned(), |v| v.to_string());
        Some(format!("{} {version}", self.model.driver))
    }

    /// The driver's release: DRM's triple, or where that says nothing, the kernel
    /// module's version file the quirk table names.
    fn release(&self, driver: &str) -> Option<crate::DriverVersion> {
        let drm = self.get_driver().ok().and_then(|d| {
            let (major, minor, patch) = d.version;
            crate::DriverVersion::from_drm(major.into(), minor.into(), patch.into())
        });
        drm.or_else(|| {
            let file = crate::quirks::for_driver(driver).module_version_file?;
            let text = std::fs::read_to_string(file).ok()?;
            match text.parse() {
                Ok(v) => Some(v),
                Err(err) => {
                    tracing::warn!(file, %err, "cannot read the driver's release");
                    None
                }
            }
        })
    }

    /// Reads the device again (after a hotplug or a VT switch).
    pub fn reread(&mut self) -> Result<(), DeviceError> {
        self.modes.clear();
        self.model = self.read_model()?;
        Ok(())
    }

    fn read_model(&mut self) -> Result<DeviceModel, DeviceError> {
        let driver = self
            .get_driver()
            .map(|d| d.name().to_string_lossy().into_owned())
            .map_err(io("driver"))?;
        let mut caps = BTreeMap::new();
        for (name, cap) in [
            ("DUMB_BUFFER", DriverCapability::DumbBuffer),
            ("ASYNC_PAGE_FLIP", DriverCapability::ASyncPageFlip),
            ("CURSOR_WIDTH", DriverCapability::CursorWidth),
            ("CURSOR_HEIGHT", DriverCapability::CursorHeight),
            ("ADDFB2_MODIFIERS", DriverCapability::AddFB2Modifiers),
            ("TIMESTAMP_MONOTONIC", DriverCapability::MonotonicTimestamp),
            ("SYNCOBJ_TIMELINE", DriverCapability::TimelineSyncObj),
            ("PRIME", DriverCapability::Prime),
        ] {
            if let Ok(v) = self.get_driver_capability(cap) {
                caps.insert(name.to_owned(), v);
            }
        }
        let resources = self.resource_handles().map_err(io("resources"))?;
        let crtc_handles: Vec<crtc::Handle> = resources.crtcs().to_vec();
        let mask = |list: Vec<crtc::Handle>| -> u32 {
            crtc_handles
                .iter()
                .enumerate()
                .filter(|(_, h)| list.contains(h))
                .fold(0, |m, (i, _)| m | 1 << i)
        };
        let crtcs = crtc_handles
            .iter()
            .map(|h| CrtcModel {
                id: u32::from(*h),
                properties: properties_of(self, *h),
            })
            .collect();
        let mut connectors = Vec::new();
        for handle in resources.connectors() {
            let info = self.get_connector(*handle, true).map_err(io("connector"))?;
            let mut reach = 0;
            for encoder in info.encoders() {
                if let Ok(e) = self.get_encoder(*encoder) {
                    reach |= mask(resources.filter_crtcs(e.possible_crtcs()));
                }
            }
            for mode in info.modes() {
                self.modes.entry(u32::from(*handle)).or_insert(*mode);
            }
            let properties = properties_of(self, *handle);
            let edid = properties
                .get("EDID")
                .filter(|p| p.value != 0)
                .and_then(|p| self.get_property_blob(p.value).ok())
                .filter(|bytes| !bytes.is_empty());
            connectors.push(ConnectorModel {
                id: u32::from(*handle),
                edid,
                connector_type: info.interface() as u32,
                type_index: info.interface_id(),
                connection: match info.state() {
                    connector::State::Connected => Connection::Connected,
                    connector::State::Disconnected => Connection::Disconnected,
                    connector::State::Unknown => Connection::Unknown,
                },
                modes: info.modes().iter().map(mode_info).collect(),
                possible_crtcs: reach,
                properties,
            });
        }
        let mut planes = Vec::new();
        for handle in self.plane_handles().map_err(io("planes"))? {
            let info = self.get_plane(handle).map_err(io("plane"))?;
            let properties = properties_of(self, handle);
            let kind = match properties.get("type").map(|p| p.value) {
                Some(1) => PlaneKind::Primary,
                Some(2) => PlaneKind::Cursor,
                _ => PlaneKind::Overlay,
            };
            let formats_blob = properties
                .get("IN_FORMATS")
                .and_then(|p| self.get_property_blob(p.value).ok())
                .map(|b| in_formats(&b))
                .unwrap_or_default();
            planes.push(PlaneModel {
                id: u32::from(handle),
                kind,
                possible_crtcs: mask(resources.filter_crtcs(info.possible_crtcs())),
                formats: info.formats().to_vec(),
                in_formats: formats_blob,
                properties,
            });
        }
        let driver_version = self.release(&driver);
        Ok(DeviceModel {
            driver,
            driver_version,
            caps,
            crtcs,
            connectors,
            planes,
        })
    }

    /// The kernel's mode of `connector` that matches `mode` (size, clock and totals).
    pub fn kernel_mode(&self, connector: u32, mode: &ModeInfo) -> Option<Mode> {
        let info = self
            .get_connector(
                connector::Handle::from(drm::control::RawResourceHandle::new(connector)?),
                false,
            )
            .ok()?;
        info.modes().iter().find(|m| mode_info(m) == *mode).copied()
    }

    /// A dumb buffer of `width`×`height` XRGB8888 filled by `fill(x, y) -> 0xAARRGGBB`,
    /// with its framebuffer.
    pub fn dumb_framebuffer(
        &self,
        width: u32,
        height: u32,
        format: DrmFourcc,
        fill: impl Fn(u32, u32) -> u32,
    ) -> Result<(DumbBuffer, framebuffer::Handle), DeviceError> {
        let mut buffer = self
            .create_dumb_buffer((width, height), format, 32)
            .map_err(io("dumb buffer"))?;
        {
            use drm::buffer::Buffer;
            let pitch = buffer.pitch() as usize;
            let mut map = self.map_dumb_buffer(&mut buffer).map_err(io("map"))?;
            for y in 0..height {
                for x in 0..width {
                    let at = y as usize * pitch + x as usize * 4;
                    if let Some(px) = map.as_mut().get_mut(at..at + 4) {
                        px.copy_from_slice(&fill(x, y).to_le_bytes());
                    }
                }
            }
        }
        // ADDFB2 with the buffer's own format (legacy ADDFB would make any 32-bit buffer
        // XRGB8888 and hide format refusals).
        let fb = self
            .add_planar_framebuffer(&OnePlane(&buffer), drm::control::FbCmd2Flags::empty())
            .map_err(io("framebuffer"))?;
        Ok((buffer, fb))
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

    /// Frees a framebuffer and its dumb buffer (nothing may scan it out any more).
    pub fn destroy_dumb(&self, buffer: DumbBuffer, fb: framebuffer::Handle) {
        if let Err(err) = self.destroy_framebuffer(fb) {
            tracing::debug!(%err, "framebuffer already gone");
        }
        if let Err(err) = self.destroy_dumb_buffer(buffer) {
            tracing::debug!(%err, "dumb buffer already gone");
        }
    }

    /// Copies rectangles of `source` (rows of `stride` bytes, 4 bytes a pixel, the
    /// buffer's own size) into a dumb buffer: how a CPU-rendered frame reaches scanout.
    pub fn write_dumb(
        &self,
        buffer: &mut DumbBuffer,
        source: &[u8],
        stride: usize,
        rects: &[(u32, u32, u32, u32)],
    ) -> Result<(), DeviceError> {
        use drm::buffer::Buffer;
        let size = buffer.size();
        let pitch = buffer.pitch() as usize;
        let mut map = self.map_dumb_buffer(buffer).map_err(io("map"))?;
        copy_rects(map.as_mut(), pitch, size, source, stride, rects);
        Ok(())
    }

    /// Maps a dumb buffer for as long as the returned mapping lives, so copying a
    /// frame into it costs no mmap and no page faults each time.
    pub fn map_persistent(&self, buffer: &DumbBuffer) -> Result<MappedBuffer, DeviceError> {
        use drm::buffer::Buffer;
        let handle = u32::from(Buffer::handle(buffer));
        let info = drm_ffi::mode::dumbbuffer::map(self.as_fd(), handle, 0, 0).map_err(io("map"))?;
        let (_, height) = Buffer::size(buffer);
        let pitch = Buffer::pitch(buffer) as usize;
        let len = pitch * height as usize;
        // SAFETY: a fresh shared mapping of the buffer's whole length at the offset the
        // kernel gave for it; nothing else in this process maps that range, and the
        // mapping is only released by `MappedBuffer`'s drop.
        let ptr = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                len,
                rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
                rustix::mm::MapFlags::SHARED,
                self.as_fd(),
                info.offset,
            )
        }
        .map_err(|e| {
            DeviceError::Io("mmap", std::io::Error::from_raw_os_error(e.raw_os_error()))
        })?;
        Ok(MappedBuffer {
            ptr: ptr.cast(),
            len,
            pitch,
            size: Buffer::size(buffer),
        })
    }

    /// The pixels of a dumb buffer as 0xAARRGGBB words, rows top first.
    pub fn read_dumb(&self, buffer: &mut DumbBuffer) -> Result<Vec<u32>, DeviceError> {
        use drm::buffer::Buffer;
        let (width, height) = buffer.size();
        let pitch = buffer.pitch() as usize;
        let map = self.map_dumb_buffer(buffer).map_err(io("map"))?;
        let mut out = Vec::with_capacity(width as usize * height as usize);
        for y in 0..height as usize {
            for x in 0..width as usize {
                let at = y * pitch + x * 4;
                let px = map.as_ref().get(at..at + 4).unwrap_or(&[0; 4]);
                out.push(u32::from_le_bytes([px[0], px[1], px[2], px[3]]));
            }
        }
        Ok(out)
    }

    /// Submits `request`: every value is set through the property of that name, so
    /// no id is hard-coded. `fbs` maps plane ids to the framebuffer to show. With a
    /// writeback connector and buffer, returns the fence that signals once the frame
    /// has been written; otherwise, with `request.out_fence`, the CRTC's out-fence.
    pub fn submit(
        &self,
        request: &AtomicRequest,
        fbs: &BTreeMap<u32, framebuffer::Handle>,
        writeback: Option<(u32, framebuffer::Handle)>,
        mode: Submit,
    ) -> Result<Option<OwnedFd>, DeviceError> {
        let mut req = AtomicModeReq::new();
        // Blobs this request made (modes, damage clips, HDR metadata), held until the
        // commit below has taken its own reference to each, then destroyed: a test
        // commit that is refused, or a mode replaced later, leaves nothing behind.
        let mut blobs = Vec::new();
        let prop = |props: &Properties,
                    object: u32,
                    name: &str|
         -> Result<property::Handle, DeviceError> {
            props
                .get(name)
                .and_then(|p| drm::control::RawResourceHandle::new(p.id))
                .map(property::Handle::from)
                .ok_or(DeviceError::Refused(Refusal::NoProperty(
                    object,
                    name.to_owned(),
                )))
        };
        for c in &request.crtcs {
            let crtc = self
                .model
                .crtcs
                .iter()
                .find(|k| k.id == c.crtc)
                .ok_or(Refusal::NoObject(c.crtc))?;
            let handle = crtc::Handle::from(raw(c.crtc)?);
            match &c.mode {
                Some(mode) => {
                    let connector = *c.connectors.first().ok_or(Refusal::NoObject(0))?;
                    let kernel = self
                        .kernel_mode(connector, mode)
                        .ok_or(Refusal::NoObject(connector))?;
                    let blob = self
                        .create_property_blob(&kernel)
                        .map_err(io("mode blob"))?;
                    if let property::Value::Blob(id) = blob {
                        if let Ok(id) = u32::try_from(id) {
                            blobs.push(PropertyBlob { device: self, id });
                        }
                    }
                    req.add_property(handle, prop(&crtc.properties, c.crtc, "MODE_ID")?, blob);
                    req.add_property(
                        handle,
                        prop(&crtc.properties, c.crtc, "ACTIVE")?,
                        property::Value::Boolean(true),
                    );
                    for id in &c.connectors {
                        let k = self
                            .model
                            .connectors
                            .iter()
                            .find(|k| k.id == *id)
                            .ok_or(Refusal::NoObject(*id))?;
                        req.add_property(
                            connector::Handle::from(raw(*id)?),
                            prop(&k.properties, *id, "CRTC_ID")?,
                            property::Value::CRTC(Some(handle)),
                        );
                    }
                }
                None => {
                    req.add_property(
                        handle,
                        prop(&crtc.properties, c.crtc, "ACTIVE")?,
                        property::Value::Boolean(false),
                    );
                }
            }
        }
        for p in &request.planes {
            let model = self
                .model
                .planes
                .iter()
                .find(|m| m.id == p.plane)
                .ok_or(Refusal::NoObject(p.plane))?;
            let handle = drm::control::plane::Handle::from(raw(p.plane)?);
            let set = |req: &mut AtomicModeReq,
                       name: &str,
                       value: property::Value<'static>|
             -> Result<(), DeviceError> {
                req.add_property(handle, prop(&model.properties, p.plane, name)?, value);
                Ok(())
            };
            match p.crtc {
                Some(crtc) => {
                    let fb = fbs
                        .get(&p.plane)
                        .copied()
                        .ok_or(Refusal::NoObject(p.plane))?;
                    set(&mut req, "FB_ID", property::Value::Framebuffer(Some(fb)))?;
                    set(
                        &mut req,
                        "CRTC_ID",
                        property::Value::CRTC(Some(crtc::Handle::from(raw(crtc)?))),
                    )?;
                    let (sx, sy, sw, sh) = p.src;
                    // SRC_* are 16.16 fixed point.
                    set(
                        &mut req,
                        "SRC_X",
                        property::Value::UnsignedRange(u64::from(sx) << 16),
                    )?;
                    set(
                        &mut req,
                        "SRC_Y",
                        property::Value::UnsignedRange(u64::from(sy) << 16),
                    )?;
                    set(
                        &mut req,
                        "SRC_W",
                        property::Value::UnsignedRange(u64::from(sw) << 16),
                    )?;
                    set(
                        &mut req,
                        "SRC_H",
                        property::Value::UnsignedRange(u64::from(sh) << 16),
                    )?;
                    let (dx, dy, dw, dh) = p.dst;
                    set(
                        &mut req,
                        "CRTC_X",
                        property::Value::SignedRange(i64::from(dx)),
                    )?;
                    set(
                        &mut req,
                        "CRTC_Y",
                        property::Value::SignedRange(i64::from(dy)),
                    )?;
                    set(
                        &mut req,
                        "CRTC_W",
                        property::Value::UnsignedRange(u64::from(dw)),
                    )?;
                    set(
                        &mut req,
                        "CRTC_H",
                        property::Value::UnsignedRange(u64::from(dh)),
                    )?;
                }
                None => {
                    set(&mut req, "FB_ID", property::Value::Framebuffer(None))?;
                    set(&mut req, "CRTC_ID", property::Value::CRTC(None))?;
                }
            }
        }
        for (object, name, value) in &request.properties {
            self.add_named(&mut req, *object, name, *value)?;
        }
        for (object, name, bytes) in &request.blobs {
            if bytes.is_empty() {
                self.add_named(&mut req, *object, name, 0)?;
                continue;
            }
            let blob = PropertyBlob::new(self, bytes.clone())?;
            self.add_named(&mut req, *object, name, u64::from(blob.id))?;
            blobs.push(blob);
        }
        for (plane, clips) in &request.damage_clips {
            let blob = PropertyBlob::new(self, damage_rects(clips))?;
            self.add_named(&mut req, *plane, "FB_DAMAGE_CLIPS", u64::from(blob.id))?;
            blobs.push(blob);
        }
        let mut fence: i32 = -1;
        if let Some((connector, fb)) = writeback {
            let k = self
                .model
                .connectors
                .iter()
                .find(|k| k.id == connector)
                .ok_or(Refusal::NoObject(connector))?;
            let crtc = request
                .crtcs
                .first()
                .map(|c| c.crtc)
                .ok_or(Refusal::NoObject(0))?;
            let handle = connector::Handle::from(raw(connector)?);
            req.add_property(
                handle,
                prop(&k.properties, connector, "CRTC_ID")?,
                property::Value::CRTC(Some(crtc::Handle::from(raw(crtc)?))),
            );
            req.add_property(
                handle,
                prop(&k.properties, connector, "WRITEBACK_FB_ID")?,
                property::Value::Framebuffer(Some(fb)),
            );
            if let Ok(p) = prop(&k.properties, connector, "WRITEBACK_OUT_FENCE_PTR") {
                // The kernel writes the fence's file descriptor through this pointer
                // during the ioctl below; `fence` lives until after it.
                let at = std::ptr::addr_of_mut!(fence) as u64;
                req.add_property(handle, p, property::Value::UnsignedRange(at));
            }
        }
        let mut crtc_fence: i32 = -1;
        if let Some(crtc) = request.out_fence {
            // The kernel writes the fence's file descriptor through this pointer during
            // the ioctl below; `crtc_fence` lives until after it.
            let at = std::ptr::addr_of_mut!(crtc_fence) as u64;
            self.add_named(&mut req, crtc, "OUT_FENCE_PTR", at)?;
        }
        let mut flags = AtomicCommitFlags::empty();
        if request.allow_modeset {
            flags |= AtomicCommitFlags::ALLOW_MODESET;
        }
        match mode {
            Submit::TestOnly => flags |= AtomicCommitFlags::TEST_ONLY,
            Submit::Blocking => {}
            Submit::Flip => {
                flags |= AtomicCommitFlags::NONBLOCK | AtomicCommitFlags::PAGE_FLIP_EVENT
            }
        }
        if request.async_flip {
            flags |= AtomicCommitFlags::PAGE_FLIP_ASYNC;
        }
        self.atomic_commit(flags, req)
            .map_err(io("atomic commit"))?;
        let own = |fd: i32| {
            // SAFETY: the kernel created this file descriptor for us in the commit
            // above (-1 where it did not) and nothing else owns it.
            (fd >= 0).then(|| unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
        };
        let (writeback_fence, crtc_fence) = (own(fence), own(crtc_fence));
        Ok(writeback_fence.or(crtc_fence))
    }

    /// Adds `name` = `value` on any object (CRTC, connector or plane) by property name.
    fn add_named(
        &self,
        req: &mut AtomicModeReq,
        object: u32,
        name: &str,
        value: u64,
    ) -> Result<(), DeviceError> {
        let model = &self.model;
        let properties = model
            .crtcs
            .iter()
            .find(|c| c.id == object)
            .map(|c| &c.properties)
            .or_else(|| {
                model
                    .connectors
                    .iter()
                    .find(|c| c.id == object)
                    .map(|c| &c.properties)
            })
            .or_else(|| {
                model
                    .planes
                    .iter()
                    .find(|p| p.id == object)
                    .map(|p| &p.properties)
            })
            .ok_or(Refusal::NoObject(object))?;
        let id = properties
            .get(name)
            .and_then(|p| drm::control::RawResourceHandle::new(p.id))
            .ok_or_else(|| Refusal::NoProperty(object, name.to_owned()))?;
        let handle = raw(object)?;
        req.add_raw_property(handle, property::Handle::from(id), value);
        Ok(())
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

/// Copies rectangles (x, y, w, h) of `source` into `dst`, clipped to `size`.
fn copy_rects(
    dst: &mut [u8],
    pitch: usize,
    (width, height): (u32, u32),
    source: &[u8],
    stride: usize,
    rects: &[(u32, u32, u32, u32)],
) {
    for &(x, y, w, h) in rects {
        let x0 = x.min(width) as usize;
        let x1 = (x.saturating_add(w)).min(width) as usize;
        let y0 = y.min(height) as usize;
        let y1 = (y.saturating_add(h)).min(height) as usize;
        if x0 >= x1 {
            continue;
        }
        for row in y0..y1 {
            let (Some(to), Some(from)) = (
                dst.get_mut(row * pitch + x0 * 4..row * pitch + x1 * 4),
                source.get(row * stride + x0 * 4..row * stride + x1 * 4),
            ) else {
                continue;
            };
            to.copy_from_slice(from);
        }
    }
}

/// A dumb buffer mapped into memory until this is dropped.
pub struct MappedBuffer {
    ptr: *mut u8,
    len: usize,
    pitch: usize,
    size: (u32, u32),
}

impl MappedBuffer {
    /// Copies rectangles (x, y, w, h) of `source` (rows of `stride` bytes) in.
    pub fn write(&mut self, source: &[u8], stride: usize, rects: &[(u32, u32, u32, u32)]) {
        // SAFETY: `ptr` is a live mapping of `len` bytes made by `map_persistent` and
        // only unmapped in drop; `&mut self` makes this the only view of it.
        let dst = unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) };
        copy_rects(dst, self.pitch, self.size, source, stride, rects);
    }
}

impl Drop for MappedBuffer {
    fn drop(&mut self) {
        // SAFETY: the mapping was made by `map_persistent` with this pointer and length
        // and nothing refers to it once its owner is dropped.
        if let Err(err) = unsafe { rustix::mm::munmap(self.ptr.cast(), self.len) } {
            tracing::warn!(%err, "munmap of a scanout buffer failed");
        }
    }
}

/// A single-plane buffer as ADDFB2 wants it.
struct OnePlane<'a>(&'a DumbBuffer);

impl drm::buffer::PlanarBuffer for OnePlane<'_> {
    fn size(&self) -> (u32, u32) {
        drm::buffer::Buffer::size(self.0)
    }

    fn format(&self) -> DrmFourcc {
        drm::buffer::Buffer::format(self.0)
    }

    fn modifier(&self) -> Option<drm::buffer::DrmModifier> {
        None
    }

    fn pitches(&self) -> [u32; 4] {
        [drm::buffer::Buffer::pitch(self.0), 0, 0, 0]
    }

    fn handles(&self) -> [Option<drm::buffer::Handle>; 4] {
        [Some(drm::buffer::Buffer::handle(self.0)), None, None, None]
    }

    fn offsets(&self) -> [u32; 4] {
        [0; 4]
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

fn raw(id: u32) -> Result<drm::control::RawResourceHandle, Refusal> {
    drm::control::RawResourceHandle::new(id).ok_or(Refusal::NoObject(id))
}
