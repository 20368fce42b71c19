//! Screen casts: PipeWire video streams of an output, a window or a region of an
//! output, produced in the
//! compositor (see `ghost_capture::pipewire`). The portal backend (`ghostcomp portal`)
//! starts and stops them over IPC; `ghostcomp msg casts` lists them and `msg cast-stop`
//! ends one. A frame is sent after a repaint that changed what the cast shows, at most
//! `[capture] max_fps` a second; windows blocked out of captures are black.

use std::time::Duration;

use anyhow::Context;
use ghost_capture::pipewire::{CastSpec, CastState, Caster, CursorMeta, Pushed};
use ghost_config::CursorMode;
use serde_json::{json, Value};
use smithay::{
    desktop::Window,
    output::Output,
    reexports::calloop::{generic::Generic, Interest, Mode as FdMode, PostAction},
    utils::{Logical, Rectangle},
};

use crate::{backend::Shows, shell::window_data, state::Ghost};

mod audio;
mod cursor;
mod direct;
mod gpu;
mod hdr;
pub mod pick;
pub mod record;
mod shown;

/// A renderer's damage rectangle as capture code counts it (picture pixels).
pub fn region_of(r: &Rectangle<i32, smithay::utils::Physical>) -> ghost_capture::Region {
    ghost_capture::Region {
        x: r.loc.x,
        y: r.loc.y,
        width: r.size.w,
        height: r.size.h,
    }
}

/// What a cast shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CastSource {
    /// An output, by name.
    Output(String),
    /// A window, by IPC id; the cast follows it as it moves.
    Window(u64),
    /// A rectangle of an output (logical, relative to the output's corner), so it
    /// stays on the same part of that screen when the layout changes.
    Region {
        /// The output.
        output: String,
        /// The rectangle.
        area: Rectangle<i32, Logical>,
    },
}

impl CastSource {
    /// The source as IPC shows it; regions in the layout's coordinates, as requests
    /// give them.
    pub fn to_json(&self, state: &Ghost) -> Value {
        match self {
            CastSource::Output(name) => json!({"output": name}),
            CastSource::Window(id) => json!({"window": id}),
            CastSource::Region { output, area } => {
                let origin = state
                    .space
                    .outputs()
                    .find(|o| &o.name() == output)
                    .and_then(|o| state.space.output_geometry(o))
                    .map(|g| g.loc)
                    .unwrap_or_default();
                json!({"output": output, "region": [
                    origin.x + area.loc.x, origin.y + area.loc.y, area.size.w, area.size.h
                ]})
            }
        }
    }
}

/// One running cast.
struct Cast {
    id: u64,
    source: CastSource,
    cursor: CursorMode,
    /// Who asked (the portal's app id, or "ipc").
    requester: String,
    /// Started for the portal backend: ends with its lease.
    portal: bool,
    size: (u32, u32),
    last: Option<ghost_capture::Frame>,
    /// The last 10-bit picture sent, to send nothing while it stays the same.
    last_hdr: Option<ghost_capture::HdrFrame>,
    last_cursor: Option<CursorMeta>,
    /// Output repaints not sent yet (the read-in-place path), in picture pixels.
    unsent: Vec<ghost_capture::Region>,
    /// Whether the consumer has a first picture from the read-in-place path.
    primed: bool,
    /// Where the read-in-place path last laid the arrow over the picture it sent.
    last_stamp: Option<ghost_capture::Region>,
    /// Frames drawn straight into the stream's buffers (no copy from the output's).
    drawn_in_stream: u64,
    /// The consumer may lack the latest picture: every buffer was with it, or the
    /// change came before the cast's frame interval was over.
    behind: bool,
    /// Its state while its consumer takes DMA-BUF drawn on the GPU.
    gpu: Option<gpu::GpuCast>,
    /// Whether a consumer was streaming at the last look: one that starts (the first,
    /// or a new one after the last left) needs a whole first picture.
    streaming: bool,
}

/// The PipeWire connection (made on the first cast) and the casts.
#[derive(Default)]
pub struct Casts {
    caster: Option<Caster>,
    casts: Vec<Cast>,
    /// The casts' audio nodes, while a cast runs.
    audio: Option<ghost_capture::audio::share_audio::ShareAudio>,
    /// Buffers on the GPU for casts drawn there (KMS with GLES), made at the first.
    gpu: Option<std::rc::Rc<std::cell::RefCell<gpu::GbmCastBuffers>>>,
}

impl Casts {
    /// Whether some cast shows the pointer, so pointer moves must lead to frames.
    pub fn follow_pointer(&self) -> bool {
        self.casts.iter().any(|c| c.cursor != CursorMode::Hidden)
    }

    /// Whether anything is being cast (the on-screen indicator shows then).
    pub fn active(&self) -> bool {
        !self.casts.is_empty()
    }
}

impl Ghost {
    fn caster(&mut self) -> anyhow::Result<&mut Caster> {
        if self.casts.caster.as_ref().is_some_and(|c| c.is_broken()) {
            self.casts.caster = None;
            self.casts.casts.clear();
            self.casts.audio = None;
        }
        if self.casts.caster.is_none() {
            let caster = Caster::connect()?;
            let fd = caster
                .fd()
                .try_clone_to_owned()
                .context("cannot watch PipeWire")?;
            self.loop_handle
                .insert_source(
                    Generic::new(fd, Interest::READ, FdMode::Level),
                    |_, _, state| {
                        state.dispatch_casts();
                        Ok(PostAction::Continue)
                    },
                )
                .map_err(|e| anyhow::anyhow!("cannot watch PipeWire: {e}"))?;
            self.casts.caster = Some(caster);
        }
        self.casts.caster.as_mut().context("no PipeWire connection")
    }

    fn dispatch_casts(&mut self) {
        let Some(caster) = &self.casts.caster else {
            return;
        };
        caster.dispatch();
        if caster.is_broken() {
            tracing::warn!("PipeWire went away: every cast ended");
            self.casts.casts.clear();
            self.casts.audio = None;
            self.casts.caster = None;
            return;
        }
        // A consumer that just started streaming gets a whole first frame at the next
        // repaint, even of a screen where nothing moves: what an earlier consumer got
        // says nothing of what this one has.
        let mut starving: Vec<CastSource> = Vec::new();
        for cast in &mut self.casts.casts {
            let streaming = caster.state(cast.id) == Some(CastState::Streaming);
            if streaming && !cast.streaming {
                cast.primed = false;
                cast.last = None;
                cast.last_hdr = None;
                cast.last_cursor = None;
                cast.gpu = None;
            }
            cast.streaming = streaming;
            if streaming && cast.last.is_none() && !cast.primed {
                starving.push(cast.source.clone());
            }
        }
        for source in starving {
            if let Some((output, _)) = self.locate_cast(&source) {
                self.queue_redraw(&output);
            }
        }
    }

    /// Where a cast's source is now: the output it is drawn at, and its window.
    fn locate_cast(&self, source: &CastSource) -> Option<(Output, Option<Window>)> {
        match source {
            CastSource::Output(name) | CastSource::Region { output: name, .. } => self
                .space
                .outputs()
                .find(|o| &o.name() == name)
                .map(|o| (o.clone(), None)),
            CastSource::Window(id) => {
                let window = self.space.elements().find(|w| window_data(w).id == *id)?;
                let output = self
                    .space
                    .outputs_for_element(window)
                    .into_iter()
                    .next()
                    .or_else(|| self.space.outputs().next().cloned())?;
                Some((output, Some(window.clone())))
            }
        }
    }

    /// The part of `output`'s picture a region cast shows, in its pixels: the region
    /// scaled and clipped to the output. None for other sources (all of the picture).
    fn cast_crop(source: &CastSource, output: &Output) -> Option<ghost_capture::Region> {
        let CastSource::Region { area, .. } = source else {
            return None;
        };
        let scale = output.current_scale().fractional_scale();
        let mode = output.current_mode()?;
        let size = output.current_transform().transform_size(mode.size);
        let px = |v: i32| (v as f64 * scale).round() as i32;
        let (x0, y0) = (px(area.loc.x).max(0), px(area.loc.y).max(0));
        let x1 = px(area.loc.x + area.size.w).min(size.w);
        let y1 = px(area.loc.y + area.size.h).min(size.h);
        Some(ghost_capture::Region {
            x: x0,
            y: y0,
            width: (x1 - x0).max(1),
            height: (y1 - y0).max(1),
        })
    }

    /// Starts casting `source`; the reply names the PipeWire node consumers connect to.
    pub fn start_cast(
        &mut self,
        source: CastSource,
        cursor: Option<CursorMode>,
        requester: String,
        portal: bool,
    ) -> anyhow::Result<Value> {
        let (output, window) = self
            .locate_cast(&source)
            .with_context(|| format!("nothing to cast: {source:?} is not shown"))?;
        let shows = window.as_ref().map_or(Shows::Output, Shows::Window);
        let (width, height) = match Self::cast_crop(&source, &output) {
            Some(crop) => (crop.width as u32, crop.height as u32),
            None => {
                let size = self
                    .capture_size(&output, shows)
                    .context("the source has no size")?;
                (size.w as u32, size.h as u32)
            }
        };
        let cursor = cursor.unwrap_or(self.config.capture.cursor_mode);
        let name = match &window {
            Some(w) => {
                let (title, _) = crate::shell::window_title_and_app_id(w);
                format!("ghostcomp window {title}")
            }
            None if matches!(source, CastSource::Region { .. }) => {
                format!("ghostcomp region of {}", output.name())
            }
            None => format!("ghostcomp output {}", output.name()),
        };
        let max_fps = self.config.capture.max_fps;
        let hdr = crate::protocols::color_management::output_is_hdr(&output);
        let gpu = self
            .cast_gpu_buffers(&source, &output)
            .map(|g| g as ghost_capture::pipewire::gpu::SharedGpuBuffers);
        let caster = self.caster()?;
        let id = caster.start(
            CastSpec {
                name: name.clone(),
                width,
                height,
                max_fps,
                hdr,
            },
            gpu,
        )?;
        let node_id = caster.node_id(id);
        tracing::info!(id, ?source, ?node_id, requester, "cast started");
        self.casts.casts.push(Cast {
            id,
            source,
            cursor,
            requester,
            portal,
            size: (width, height),
            last: None,
            last_hdr: None,
            last_cursor: None,
            unsent: Vec::new(),
            primed: false,
            last_stamp: None,
            drawn_in_stream: 0,
            behind: false,
            gpu: None,
            streaming: false,
        });
        self.cast_audio_start(id, window.as_ref(), &name);
        self.queue_redraw(&output);
        self.voice_sharing_changed();
        let audio = ghost_capture::audio::share_audio::node_name(id);
        Ok(
            json!({"id": id, "node_id": node_id, "width": width, "height": height,
            "audio_node_name": audio}),
        )
    }

    /// Ends cast `id`.
    pub fn stop_cast(&mut self, id: u64) -> bool {
        let known = self.casts.casts.iter().any(|c| c.id == id);
        self.casts.casts.retain(|c| c.id != id);
        if let Some(caster) = self.casts.caster.as_mut() {
            caster.stop(id);
        }
        self.cast_audio_stop(id);
        if known {
            tracing::info!(id, "cast stopped");
            self.queue_redraw_all();
            self.voice_sharing_changed();
        }
        known
    }

    /// Watches the portal backend's lease connection; when it closes, every cast the
    /// portal started and every remote control it holds end (its sessions cannot close
    /// them any more).
    pub fn take_portal_lease(
        &mut self,
        stream: std::os::unix::net::UnixStream,
    ) -> anyhow::Result<()> {
        stream.set_nonblocking(true)?;
        self.loop_handle
            .insert_source(
                Generic::new(stream, Interest::READ, FdMode::Level),
                |_, stream, state| {
                    let mut buffer = [0u8; 64];
                    // SAFETY: the stream is only read here and stays open while registered.
                    let stream = unsafe { stream.get_mut() };
                    loop {
                        match std::io::Read::read(stream, &mut buffer) {
                            Ok(0) => break,
                            Ok(_) => continue,
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                                return Ok(PostAction::Continue)
                            }
                            Err(_) => break,
                        }
                    }
                    let orphaned: Vec<u64> = state
                        .casts
                        .casts
                        .iter()
                        .filter(|c| c.portal)
                        .map(|c| c.id)
                        .collect();
                    tracing::info!(casts = orphaned.len(), "the portal backend went away");
                    for id in orphaned {
                        state.stop_cast(id);
                    }
                    // Its grants of input control end too: nobody can close them now.
                    state.stop_remote_control();
                    Ok(PostAction::Remove)
                },
            )
            .map_err(|e| anyhow::anyhow!("cannot watch the portal: {e}"))?;
        Ok(())
    }

    /// Cast `id`'s source and picture size, for input placed on its picture.
    pub fn cast_source_size(&self, id: u64) -> Option<(CastSource, (u32, u32))> {
        let cast = self.casts.casts.iter().find(|c| c.id == id)?;
        Some((cast.source.clone(), cast.size))
    }

    /// Every cast, for `ghostcomp msg casts`.
    pub fn casts_json(&self) -> Value {
        let caster = self.casts.caster.as_ref();
        Value::Array(
            self.casts
                .casts
                .iter()
                .map(|c| {
                    let state = caster.and_then(|k| k.state(c.id));
                    json!({
                        "id": c.id,
                        "node_id": caster.and_then(|k| k.node_id(c.id)),
                        "source": c.source.to_json(self),
                        "cursor": format!("{:?}", c.cursor).to_lowercase(),
                        "requester": c.requester,
                        "portal": c.portal,
                        "width": c.size.0,
                        "height": c.size.1,
                        "state": match state {
                            Some(CastState::Streaming) => "streaming".to_string(),
                            Some(CastState::Paused) => "paused".to_string(),
                            Some(CastState::Connecting) => "connecting".to_string(),
                            Some(CastState::Failed(m)) => format!("failed: {m}"),
                            None => "gone".to_string(),
                        },
                        "frames": caster.and_then(|k| k.frames(c.id)),
                        "frames_drawn_in_stream": c.drawn_in_stream,
                        "buffers": match caster.is_some_and(|k| k.is_dmabuf(c.id)) {
                            true => "dmabuf",
                            false => "memory",
                        },
                        "audio": self.cast_audio_json(c.id),
                    })
                })
                .collect(),
        )
    }

    /// Ends casts whose source went away.
    pub fn casts_sources_changed(&mut self) {
        let gone: Vec<u64> = self
            .casts
            .casts
            .iter()
            .filter(|c| self.locate_cast(&c.source).is_none())
            .map(|c| c.id)
            .collect();
        for id in gone {
            self.stop_cast(id);
        }
    }

    /// After `output` was drawn: sends a frame to each cast that shows it and takes one.
    pub fn casts_after_repaint(&mut self, output: &Output, shown_at: Option<Duration>) {
        if self.casts.casts.is_empty() {
            return;
        }
        // Frames are stamped with the time the output showed them, where it did.
        let now = shown_at.unwrap_or_else(|| Duration::from(self.clock.now()));
        let mut retry = false;
        for index in 0..self.casts.casts.len() {
            let (id, source, cursor) = {
                let c = &self.casts.casts[index];
                (c.id, c.source.clone(), c.cursor)
            };
            let Some((at, window)) = self.locate_cast(&source) else {
                continue;
            };
            if &at != output && window.is_none() {
                continue;
            }
            if window.is_none() {
                self.note_repaint(index, output);
            }
            let Some(caster) = self.casts.caster.as_ref() else {
                continue;
            };
            retry |= caster.deliver(id);
            if !caster.wants_frame(id, now) {
                // Too soon after its last frame: it may lack this repaint's change.
                self.casts.casts[index].behind = caster.state(id) == Some(CastState::Streaming);
                retry |= self.casts.casts[index].behind;
                continue;
            }
            self.casts.casts[index].behind = false;
            let crop = Self::cast_crop(&source, &at);
            // A 10-bit consumer takes the output's HDR signal, drawn for it; a DMA-BUF
            // one a picture drawn on the GPU.
            let hdr = caster.is_pq10(id);
            if caster.is_dmabuf(id) {
                if let Err(err) = self.cast_gpu_frame(index, &at, window.as_ref(), cursor, now) {
                    tracing::warn!(id, "cast frame on the GPU: {err:#}");
                }
                retry |= self.casts.casts[index].behind;
                continue;
            }
            let sent = match window {
                None if !hdr => self.cast_shown(index, output, crop, cursor, now),
                _ => Ok(false),
            };
            let result = match sent {
                Ok(true) => Ok(()),
                Ok(false) if hdr => {
                    self.cast_hdr_frame(index, &at, window.as_ref(), crop, cursor, now)
                }
                Ok(false) => self.cast_frame(index, &at, window.as_ref(), crop, cursor, now),
                Err(e) => Err(e),
            };
            if let Err(err) = result {
                tracing::warn!(id, "cast frame: {err:#}");
            }
            retry |= self.casts.casts[index].behind
                || self
                    .casts
                    .caster
                    .as_ref()
                    .is_some_and(|k| k.undelivered(id));
        }
        // A cast that could not take the latest picture tries again at the next refresh,
        // though nothing changes any more: the consumer must not keep an old one.
        if retry {
            self.queue_redraw(output);
        }
    }

    /// Adds what `output`'s last frame repainted to a cast's unsent damage.
    fn note_repaint(&mut self, index: usize, output: &Output) {
        let Some(damage) = self.backend.repainted(output) else {
            return;
        };
        ghost_capture::accumulate(
            &mut self.casts.casts[index].unsent,
            damage.iter().map(region_of),
        );
    }

    fn cast_frame(
        &mut self,
        index: usize,
        output: &Output,
        window: Option<&Window>,
        crop: Option<ghost_capture::Region>,
        cursor: CursorMode,
        now: Duration,
    ) -> anyhow::Result<()> {
        let shows = window.map_or(Shows::Output, Shows::Window);
        let picture = match self.capture(output, shows, false, cursor == CursorMode::Embedded)? {
            crate::backend::Captured::Sdr(frame) => frame,
            crate::backend::Captured::Hdr(_) => anyhow::bail!("an HDR picture"),
        };
        let picture = match crop {
            Some(crop) => picture.crop(crop)?,
            None => picture,
        };
        let pointer = match cursor {
            CursorMode::Metadata => Some(self.cursor_meta(output, window, crop)),
            _ => None,
        };
        let cast = &mut self.casts.casts[index];
        let size = (picture.width(), picture.height());
        let Some(caster) = self.casts.caster.as_mut() else {
            return Ok(());
        };
        if size != cast.size {
            caster.resize(cast.id, size.0, size.1)?;
            cast.size = size;
            cast.last = None;
            return Ok(());
        }
        let damage = ghost_capture::changed_regions(cast.last.as_ref(), &picture);
        let pointer_moved = pointer.is_some() && pointer != cast.last_cursor;
        if damage.is_empty() && cast.last.is_some() && !pointer_moved {
            return Ok(());
        }
        match caster.push(cast.id, picture.view(), &damage, pointer.as_ref(), now)? {
            Pushed::Sent => {
                cast.last = Some(picture);
                cast.last_cursor = pointer;
                // The screen's repaints do not describe this picture (blocked windows
                // differ): the in-place path starts again from a whole frame.
                cast.primed = false;
                cast.unsent.clear();
            }
            Pushed::WrongSize => {
                caster.resize(cast.id, size.0, size.1)?;
                cast.last = None;
            }
            Pushed::NoBuffer => cast.behind = true,
            Pushed::Idle => {}
        }
        Ok(())
    }
}
