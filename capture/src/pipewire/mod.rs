//! Screen-cast video streams produced inside the compositor with PipeWire.
//!
//! The compositor owns the pictures, so it owns the streams: a frame goes from the
//! renderer into a PipeWire buffer without crossing another process, and a stream keeps
//! running if the portal process that asked for it dies. The PipeWire loop runs on the
//! compositor's thread — its descriptor sits in the compositor's event loop and
//! [`Caster::dispatch`] runs it — so no locks stand between a repaint and its stream.
//!
//! Buffers are shared memory the compositor allocates, one sealed memfd each (every
//! consumer can map them; see [`memory`] for why not PipeWire's), in one of the 8-bit
//! layouts the consumer picks; or, where the compositor draws on a GPU and the consumer
//! imports DMA-BUF, buffers on the GPU that the compositor renders into (see [`gpu`]). Each buffer carries a header (presentation
//! time and sequence), damage rectangles since the previous frame, and, for casts whose
//! cursor is metadata, the pointer's position, hotspot and image.

pub mod gpu;
mod memory;
mod meta;
mod params;
mod stream;

use std::{collections::HashMap, os::fd::BorrowedFd, time::Duration};

use pipewire as pw;

pub use meta::CursorMeta;
pub use stream::{CastState, Draw, GpuDraw, Pushed};

use crate::frame::{FrameView, Region};

/// Why a cast could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum CastError {
    /// No PipeWire daemon answered (not running, or no socket in the runtime directory).
    #[error("cannot connect to PipeWire: {0}")]
    Connect(pw::Error),
    /// PipeWire refused the stream.
    #[error("PipeWire refused the stream: {0}")]
    Stream(String),
    /// The stream never got a node id.
    #[error("the stream got no PipeWire node in time")]
    NoNode,
    /// No cast with that id.
    #[error("no cast {0}")]
    Unknown(u64),
}

/// What a new cast streams.
#[derive(Debug, Clone)]
pub struct CastSpec {
    /// Shown to consumers (`pw-dump`, OBS's source list).
    pub name: String,
    /// Picture size in pixels.
    pub width: u32,
    /// Picture size in pixels.
    pub height: u32,
    /// The most frames a second the stream sends.
    pub max_fps: u32,
    /// The source is an HDR output's signal: 10-bit PQ is offered first.
    pub hdr: bool,
}

/// The compositor's connection to PipeWire and its running casts.
pub struct Caster {
    main_loop: pw::main_loop::MainLoop,
    _context: pw::context::Context,
    core: pw::core::Core,
    _core_listener: pw::core::Listener,
    broken: std::rc::Rc<std::cell::Cell<bool>>,
    casts: HashMap<u64, stream::Cast>,
    next: u64,
}

impl Caster {
    /// Connects to the PipeWire daemon of this session.
    pub fn connect() -> Result<Self, CastError> {
        pw::init();
        let main_loop = pw::main_loop::MainLoop::new(None).map_err(CastError::Connect)?;
        let context = pw::context::Context::new(&main_loop).map_err(CastError::Connect)?;
        let core = context.connect(None).map_err(CastError::Connect)?;
        let broken = std::rc::Rc::new(std::cell::Cell::new(false));
        let flag = broken.clone();
        let core_listener = core
            .add_listener_local()
            .error(move |id, _seq, res, message| {
                tracing::warn!(id, res, message, "PipeWire error");
                if id == pw::core::PW_ID_CORE {
                    flag.set(true);
                }
            })
            .register();
        Ok(Self {
            main_loop,
            _context: context,
            core,
            _core_listener: core_listener,
            broken,
            casts: HashMap::new(),
            next: 1,
        })
    }

    /// The descriptor to watch: readable when [`Caster::dispatch`] has work.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.main_loop.loop_().fd()
    }

    /// Runs whatever PipeWire has queued, without blocking.
    pub fn dispatch(&self) {
        self.main_loop.loop_().iterate(Duration::ZERO);
    }

    /// Whether the connection to the daemon broke (casts are gone with it).
    pub fn is_broken(&self) -> bool {
        self.broken.get()
    }

    /// Starts a cast; returns its id once PipeWire gave the stream a node, which is what
    /// consumers connect to.
    ///
    /// With `gpu`, the compositor draws casts on a GPU: consumers that import DMA-BUF
    /// get its buffers (see [`gpu`]).
    pub fn start(
        &mut self,
        spec: CastSpec,
        gpu: Option<gpu::SharedGpuBuffers>,
    ) -> Result<u64, CastError> {
        let cast = stream::Cast::new(&self.core, &spec, gpu)?;
        // The node id arrives with the stream's first state change: run the loop until
        // then (PipeWire answers within milliseconds when it runs at all).
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        while cast.node_id().is_none() {
            if let CastState::Failed(message) = cast.state() {
                return Err(CastError::Stream(message));
            }
            if std::time::Instant::now() > deadline || self.is_broken() {
                return Err(CastError::NoNode);
            }
            self.main_loop.loop_().iterate(Duration::from_millis(20));
        }
        let id = self.next;
        self.next += 1;
        self.casts.insert(id, cast);
        Ok(id)
    }

    /// The PipeWire node of a cast.
    pub fn node_id(&self, id: u64) -> Option<u32> {
        self.casts.get(&id)?.node_id()
    }

    /// The state of a cast.
    pub fn state(&self, id: u64) -> Option<CastState> {
        Some(self.casts.get(&id)?.state())
    }

    /// Frames sent so far.
    pub fn frames(&self, id: u64) -> Option<u64> {
        Some(self.casts.get(&id)?.frames())
    }

    /// Whether a cast takes a frame at `now` (monotonic): it streams, and its frame
    /// interval has passed since the last one.
    pub fn wants_frame(&self, id: u64, now: Duration) -> bool {
        self.casts.get(&id).is_some_and(|c| c.wants_frame(now))
    }

    /// Sends `frame` on cast `id`, with the damage since its previous frame and the
    /// pointer for metadata casts.
    pub fn push(
        &mut self,
        id: u64,
        frame: FrameView<'_>,
        damage: &[Region],
        cursor: Option<&CursorMeta>,
        now: Duration,
    ) -> Result<Pushed, CastError> {
        let cast = self.casts.get_mut(&id).ok_or(CastError::Unknown(id))?;
        Ok(cast.push(frame, damage, cursor, now))
    }

    /// Sends a frame of `size` that `draw` paints straight into the stream's buffer
    /// (only the regions that buffer lacks), saving the copy `push` makes from a
    /// picture that exists anyway.
    pub fn push_drawn(
        &mut self,
        id: u64,
        size: (u32, u32),
        damage: &[Region],
        cursor: Option<&CursorMeta>,
        now: Duration,
        draw: &mut Draw<'_>,
    ) -> Result<Pushed, CastError> {
        let cast = self.casts.get_mut(&id).ok_or(CastError::Unknown(id))?;
        Ok(cast.push_drawn(size, damage, cursor, now, draw))
    }

    /// Whether cast `id`'s consumer took DMA-BUF (frames from `push_gpu`).
    pub fn is_dmabuf(&self, id: u64) -> bool {
        self.casts.get(&id).is_some_and(|c| c.is_dmabuf())
    }

    /// Sends a frame of `size` that `draw` renders into the stream's GPU buffer.
    pub fn push_gpu(
        &mut self,
        id: u64,
        size: (u32, u32),
        damage: &[Region],
        cursor: Option<&CursorMeta>,
        now: Duration,
        draw: &mut GpuDraw<'_>,
    ) -> Result<Pushed, CastError> {
        let cast = self.casts.get_mut(&id).ok_or(CastError::Unknown(id))?;
        Ok(cast.push_gpu(size, damage, cursor, now, draw))
    }

    /// Whether cast `id`'s consumer took the 10-bit PQ format (frames from `push_hdr`).
    pub fn is_pq10(&self, id: u64) -> bool {
        self.casts.get(&id).is_some_and(|c| c.is_pq10())
    }

    /// Sends an HDR output's signal (cropped to the cast) on a 10-bit PQ cast.
    pub fn push_hdr(
        &mut self,
        id: u64,
        frame: &crate::hdr::HdrFrame,
        cursor: Option<&CursorMeta>,
        now: Duration,
    ) -> Result<Pushed, CastError> {
        let cast = self.casts.get_mut(&id).ok_or(CastError::Unknown(id))?;
        Ok(cast.push_hdr(frame, cursor, now))
    }

    /// Whether a frame of cast `id` waits for a graph cycle to reach the consumer.
    pub fn undelivered(&self, id: u64) -> bool {
        self.casts.get(&id).is_some_and(|c| c.undelivered())
    }

    /// Sends on a frame of cast `id` that still waits for the consumer (see
    /// [`stream::Cast::undelivered`]); whether one did, so the caller tries again.
    pub fn deliver(&self, id: u64) -> bool {
        self.casts.get(&id).is_some_and(|c| c.deliver())
    }

    /// Offers a new picture size (the source was resized); the consumer renegotiates.
    pub fn resize(&mut self, id: u64, width: u32, height: u32) -> Result<(), CastError> {
        let cast = self.casts.get_mut(&id).ok_or(CastError::Unknown(id))?;
        cast.resize(width, height)
    }

    /// Ends a cast; its consumers see the stream go away.
    pub fn stop(&mut self, id: u64) -> bool {
        self.casts.remove(&id).is_some()
    }
}
