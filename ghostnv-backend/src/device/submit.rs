//! Atomic requests on the real device: every value set through the property of that
//! name, blobs made for the commit and freed after it.

use std::collections::BTreeMap;
use std::os::fd::OwnedFd;

use drm::control::{
    atomic::AtomicModeReq, connector, crtc, framebuffer, property, AtomicCommitFlags,
    Device as ControlDevice,
};

use super::{
    blob::{damage_rects, PropertyBlob},
    io, raw, DeviceError, KmsDevice, Submit,
};
use crate::{
    model::Properties,
    sim::{AtomicRequest, Refusal},
};

impl KmsDevice {
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
        let properties = self
            .model
            .properties_of(object)
            .ok_or(Refusal::NoObject(object))?;
        let id = properties
            .get(name)
            .and_then(|p| drm::control::RawResourceHandle::new(p.id))
            .ok_or_else(|| Refusal::NoProperty(object, name.to_owned()))?;
        let handle = raw(object)?;
        req.add_raw_property(handle, property::Handle::from(id), value);
        Ok(())
    }
}
