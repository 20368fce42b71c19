//! A screen locker as the protocol sees one (ext-session-lock-v1): it asks to lock,
//! gives each output a lock surface of one colour at the size the compositor asks, and
//! unlocks; swaylock cannot unlock without a password typed through PAM.

use std::os::fd::{AsFd, OwnedFd};

use anyhow::{bail, Result};
use wayland_client::{
    protocol::{
        wl_buffer::WlBuffer,
        wl_compositor::WlCompositor,
        wl_output::WlOutput,
        wl_shm::{self, WlShm},
        wl_surface::WlSurface,
    },
    Connection, Dispatch, QueueHandle,
};
use wayland_protocols::ext::session_lock::v1::client::{
    ext_session_lock_manager_v1::ExtSessionLockManagerV1,
    ext_session_lock_surface_v1::{self, ExtSessionLockSurfaceV1},
    ext_session_lock_v1::{self, ExtSessionLockV1},
};

use crate::client::{State, TestClient};

/// What the lock objects reported.
#[derive(Debug, Default)]
pub struct LockEvents {
    /// The compositor said the session is locked.
    pub locked: bool,
    /// The compositor refused or ended the lock.
    pub finished: bool,
    /// The latest configure of a lock surface: (serial, width, height).
    pub configure: Option<(u32, u32, u32)>,
}

/// A held lock and its surfaces.
pub struct HeldLock {
    /// The lock object.
    pub lock: ExtSessionLockV1,
    surfaces: Vec<(WlSurface, ExtSessionLockSurfaceV1, WlBuffer)>,
}

impl TestClient {
    /// Asks to lock the session; returns once the compositor answered locked or finished.
    pub fn lock_session(&mut self) -> Result<HeldLock> {
        let manager: ExtSessionLockManagerV1 = self.bind(1..=1, ())?;
        self.state.lock = LockEvents::default();
        let lock = manager.lock(&self.qh(), ());
        for _ in 0..200 {
            if self.state.lock.locked || self.state.lock.finished {
                return Ok(HeldLock {
                    lock,
                    surfaces: Vec::new(),
                });
            }
            self.roundtrip()?;
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        bail!("the compositor neither locked nor refused within 2 s")
    }

    /// Gives every output a lock surface of `argb`, at the size the compositor
    /// configures, as screen lockers do.
    pub fn show_lock_surface(&mut self, held: &mut HeldLock, argb: u32) -> Result<()> {
        let qh = self.qh();
        let compositor: WlCompositor = self.bind(4..=5, ())?;
        for output in self.bind_each::<WlOutput>(4) {
            let surface = compositor.create_surface(&qh, ());
            self.state.lock.configure = None;
            let lock_surface = held.lock.get_lock_surface(&surface, &output, &qh, ());
            while self.state.lock.configure.is_none() {
                self.wait()?;
            }
            let Some((serial, width, height)) = self.state.lock.configure else {
                bail!("no configure");
            };
            lock_surface.ack_configure(serial);
            let buffer = solid_buffer(self, &qh, width, height, argb)?;
            surface.attach(Some(&buffer), 0, 0);
            surface.damage_buffer(0, 0, width as i32, height as i32);
            surface.commit();
            held.surfaces.push((surface, lock_surface, buffer));
        }
        self.roundtrip()
    }

    /// Unlocks and destroys the lock.
    pub fn unlock_session(&mut self, held: HeldLock) -> Result<()> {
        for (surface, lock_surface, _) in held.surfaces {
            lock_surface.destroy();
            surface.destroy();
        }
        held.lock.unlock_and_destroy();
        self.roundtrip()
    }
}

fn solid_buffer(
    client: &TestClient,
    qh: &QueueHandle<State>,
    width: u32,
    height: u32,
    argb: u32,
) -> Result<WlBuffer> {
    let shm: WlShm = client.bind(1..=1, ())?;
    let bytes = (width * height * 4) as usize;
    let fd: OwnedFd = rustix::fs::memfd_create("ghost-lock", rustix::fs::MemfdFlags::CLOEXEC)?;
    let file = std::fs::File::from(fd);
    {
        use std::io::Write;
        let row: Vec<u8> = (0..width).flat_map(|_| argb.to_le_bytes()).collect();
        let mut w = std::io::BufWriter::new(&file);
        for _ in 0..height {
            w.write_all(&row)?;
        }
        w.flush()?;
    }
    let pool = shm.create_pool(file.as_fd(), bytes as i32, qh, ());
    let buffer = pool.create_buffer(
        0,
        width as i32,
        height as i32,
        (width * 4) as i32,
        wl_shm::Format::Argb8888,
        qh,
        (),
    );
    pool.destroy();
    Ok(buffer)
}

impl Dispatch<ExtSessionLockManagerV1, ()> for State {
    fn event(
        _: &mut Self,
        _: &ExtSessionLockManagerV1,
        _: <ExtSessionLockManagerV1 as wayland_client::Proxy>::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
    }
}

impl Dispatch<ExtSessionLockV1, ()> for State {
    fn event(
        state: &mut Self,
        _: &ExtSessionLockV1,
        event: ext_session_lock_v1::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        match event {
            ext_session_lock_v1::Event::Locked => state.lock.locked = true,
            ext_session_lock_v1::Event::Finished => state.lock.finished = true,
            _ => {}
        }
    }
}

impl Dispatch<ExtSessionLockSurfaceV1, ()> for State {
    fn event(
        state: &mut Self,
        _: &ExtSessionLockSurfaceV1,
        event: ext_session_lock_surface_v1::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        if let ext_session_lock_surface_v1::Event::Configure {
            serial,
            width,
            height,
        } = event
        {
            state.lock.configure = Some((serial, width, height));
        }
    }
}
