//! Sound for recordings: the desktop's audio (what the default output plays, from its
//! monitor) and the microphone (the default input), each captured from PipeWire on a
//! thread of its own as 48 kHz stereo floats, and encoded as an AAC track beside the
//! video. Samples are placed on the recording's clock by when they arrived; silence
//! fills where PipeWire sent nothing (a suspended output), so the tracks stay in step
//! with the picture.

use std::{sync::mpsc, thread, time::Duration};

use ffmpeg_next::{codec, encoder, format::Sample, frame, ChannelLayout, Packet, Rational};
use pipewire as pw;
use pw::spa;

/// Samples a second of every track.
pub const RATE: u32 = 48_000;
const CHANNELS: usize = 2;

/// A sound a recording can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioSource {
    /// What the default output plays.
    Desktop,
    /// The default input (the microphone).
    Mic,
}

impl AudioSource {
    /// The word `--audio` and IPC use.
    pub fn name(self) -> &'static str {
        match self {
            AudioSource::Desktop => "desktop",
            AudioSource::Mic => "mic",
        }
    }

    /// Parses that word.
    pub fn from_name(word: &str) -> Option<AudioSource> {
        match word {
            "desktop" => Some(AudioSource::Desktop),
            "mic" => Some(AudioSource::Mic),
            _ => None,
        }
    }
}

/// Interleaved stereo samples and when they arrived (CLOCK_MONOTONIC).
pub struct Chunk {
    samples: Vec<f32>,
    at: Duration,
}

/// A PipeWire capture stream on its own thread.
pub struct AudioCapture {
    chunks: mpsc::Receiver<Chunk>,
    quit: Option<pw::channel::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

fn monotonic() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

impl AudioCapture {
    /// Connects a capture stream of `source` to this session's PipeWire.
    pub fn start(source: AudioSource) -> Result<AudioCapture, String> {
        let (tx, chunks) = mpsc::channel();
        let (quit, quit_rx) = pw::channel::channel::<()>();
        let (ready_tx, ready) = mpsc::channel();
        let thread = thread::Builder::new()
            .name(format!("ghost-audio-{}", source.name()))
            .spawn(move || {
                if let Err(e) = capture(source, tx, quit_rx, &ready_tx) {
                    let _ = ready_tx.send(Err(e));
                }
            })
            .map_err(|e| format!("no thread for audio: {e}"))?;
        match ready.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(())) => Ok(AudioCapture {
                chunks,
                quit: Some(quit),
                thread: Some(thread),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => Err("PipeWire did not answer".into()),
        }
    }

    /// What arrived since the last call.
    fn drain(&self) -> Vec<Chunk> {
        self.chunks.try_iter().collect()
    }
}

impl Drop for AudioCapture {
    fn drop(&mut self) {
        if let Some(quit) = self.quit.take() {
            let _ = quit.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn capture(
    source: AudioSource,
    tx: mpsc::Sender<Chunk>,
    quit: pw::channel::Receiver<()>,
    ready: &mpsc::Sender<Result<(), String>>,
) -> Result<(), String> {
    pw::init();
    let main_loop = pw::main_loop::MainLoop::new(None).map_err(|e| format!("PipeWire: {e}"))?;
    let context = pw::context::Context::new(&main_loop).map_err(|e| format!("PipeWire: {e}"))?;
    let core = context
        .connect(None)
        .map_err(|e| format!("no PipeWire in this session: {e}"))?;
    let mut props = pw::properties::properties! {
        *pw::keys::MEDIA_TYPE => "Audio",
        *pw::keys::MEDIA_CATEGORY => "Capture",
        *pw::keys::MEDIA_ROLE => if source == AudioSource::Mic { "Communication" } else { "Music" },
        *pw::keys::NODE_NAME => format!("ghostcomp-record-{}", source.name()),
    };
    if source == AudioSource::Desktop {
        props.insert(*pw::keys::STREAM_CAPTURE_SINK, "true");
    }
    let stream = pw::stream::Stream::new(&core, "ghostcomp recording", props)
        .map_err(|e| format!("PipeWire stream: {e}"))?;
    let _listener = stream
        .add_local_listener::<()>()
        .process(move |stream, _| {
            if let Some(samples) = float_samples(stream) {
                let _ = tx.send(Chunk {
                    samples,
                    at: monotonic(),
                });
            }
        })
        .register()
        .map_err(|e| format!("PipeWire stream: {e}"))?;
    connect_capture(&stream, &[libspa_sys_position::FL, libspa_sys_position::FR])?;
    let main_loop_weak = main_loop.downgrade();
    let _quit = quit.attach(main_loop.loop_(), move |()| {
        if let Some(main_loop) = main_loop_weak.upgrade() {
            main_loop.quit();
        }
    });
    let _ = ready.send(Ok(()));
    main_loop.run();
    Ok(())
}

/// SPA channel positions (spa/param/audio/raw.h).
pub(crate) mod libspa_sys_position {
    pub const MONO: u32 = 2;
    pub const FL: u32 = 3;
    pub const FR: u32 = 4;
}

/// The interleaved samples of the next buffer of a 32-bit float capture stream.
pub(crate) fn float_samples(stream: &pw::stream::StreamRef) -> Option<Vec<f32>> {
    let mut buffer = stream.dequeue_buffer()?;
    let data = buffer.datas_mut().first_mut()?;
    let size = data.chunk().size() as usize;
    let bytes = data.data()?;
    Some(
        bytes
            .get(..size)
            .unwrap_or_default()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
    )
}

/// Connects a capture stream of 48 kHz 32-bit float audio with these channel
/// positions to whatever the session links it to.
pub(crate) fn connect_capture(
    stream: &pw::stream::Stream,
    positions: &[u32],
) -> Result<(), String> {
    let bytes = float_format(positions)?;
    let pod = spa::pod::Pod::from_bytes(&bytes).ok_or("audio format: not a pod")?;
    stream
        .connect(
            spa::utils::Direction::Input,
            None,
            pw::stream::StreamFlags::AUTOCONNECT | pw::stream::StreamFlags::MAP_BUFFERS,
            &mut [pod],
        )
        .map_err(|e| format!("PipeWire stream: {e}"))
}

/// The EnumFormat pod of 48 kHz 32-bit float audio with these channel positions.
fn float_format(positions: &[u32]) -> Result<Vec<u8>, String> {
    let mut info = spa::param::audio::AudioInfoRaw::new();
    info.set_format(spa::param::audio::AudioFormat::F32LE);
    info.set_rate(RATE);
    info.set_channels(positions.len() as u32);
    let mut position = [0; spa::param::audio::MAX_CHANNELS];
    for (slot, p) in position.iter_mut().zip(positions) {
        *slot = *p;
    }
    info.set_position(position);
    let object = spa::pod::Object {
        type_: spa::utils::SpaTypes::ObjectParamFormat.as_raw(),
        id: spa::param::ParamType::EnumFormat.as_raw(),
        properties: info.into(),
    };
    Ok(spa::pod::serialize::PodSerializer::serialize(
        std::io::Cursor::new(Vec::new()),
        &spa::pod::Value::Object(object),
    )
    .map_err(|e| format!("audio format: {e:?}"))?
    .0
    .into_inner())
}

/// One audio track: capture, placement on the recording's clock, AAC.
pub struct AudioTrack {
    source: AudioSource,
    capture: AudioCapture,
    encoder: encoder::Audio,
    /// Interleaved samples waiting for a whole encoder frame.
    pending: Vec<f32>,
    /// Samples placed on the track so far (its clock).
    placed: u64,
    start: Duration,
    frame_size: usize,
}

// SAFETY: the encoder and resampler are used only by the thread owning the track.
unsafe impl Send for AudioTrack {}

impl AudioTrack {
    /// Starts capturing `source` and opens an AAC encoder; samples before `start`
    /// (the recording's first frame) are not kept.
    pub fn open(
        source: AudioSource,
        start: Duration,
        global_header: bool,
    ) -> Result<AudioTrack, String> {
        ffmpeg_next::init().map_err(|e| e.to_string())?;
        let codec = encoder::find(codec::Id::AAC).ok_or("this FFmpeg has no AAC encoder")?;
        let mut audio = codec::context::Context::new_with_codec(codec)
            .encoder()
            .audio()
            .map_err(|e| e.to_string())?;
        audio.set_rate(RATE as i32);
        audio.set_format(Sample::F32(ffmpeg_next::format::sample::Type::Planar));
        audio.set_channel_layout(ChannelLayout::STEREO);
        audio.set_time_base(Rational(1, RATE as i32));
        audio.set_bit_rate(160_000);
        if global_header {
            audio.set_flags(codec::Flags::GLOBAL_HEADER);
        }
        let encoder = audio.open().map_err(|e| format!("AAC: {e}"))?;
        let frame_size = encoder.frame_size().max(1) as usize;
        let capture = AudioCapture::start(source)?;
        Ok(AudioTrack {
            source,
            capture,
            encoder,
            pending: Vec::new(),
            placed: 0,
            start,
            frame_size,
        })
    }

    /// The source.
    pub fn source(&self) -> AudioSource {
        self.source
    }

    /// What a muxer's stream needs to know.
    pub fn parameters(&self) -> codec::Parameters {
        codec::Parameters::from(&*self.encoder)
    }

    /// The track's time base (one sample).
    pub fn time_base(&self) -> Rational {
        Rational(1, RATE as i32)
    }

    /// Takes what PipeWire captured and encodes every whole frame of it.
    pub fn pump(&mut self, out: &mut Vec<Packet>) -> Result<(), String> {
        for chunk in self.capture.drain() {
            let frames = (chunk.samples.len() / CHANNELS) as u64;
            // Where this chunk's first sample belongs on the recording's clock.
            let end = chunk.at.saturating_sub(self.start);
            let end_sample = (end.as_secs_f64() * f64::from(RATE)) as u64;
            let first = end_sample.saturating_sub(frames);
            let mut samples = chunk.samples.as_slice();
            let have = self.placed + (self.pending.len() / CHANNELS) as u64;
            if end_sample < frames {
                // Partly before the recording began: keep the tail.
                let skip = (frames - end_sample) as usize * CHANNELS;
                samples = samples.get(skip..).unwrap_or_default();
            } else if first > have + u64::from(RATE) / 50 {
                // A gap of more than 20 ms: PipeWire sent nothing (nothing played).
                let gap = (first - have) as usize * CHANNELS;
                self.pending.extend(std::iter::repeat_n(0.0, gap));
            }
            self.pending.extend_from_slice(samples);
        }
        self.encode_whole(out)
    }

    fn encode_whole(&mut self, out: &mut Vec<Packet>) -> Result<(), String> {
        let whole = self.frame_size * CHANNELS;
        while self.pending.len() >= whole {
            let mut frame = frame::Audio::new(
                Sample::F32(ffmpeg_next::format::sample::Type::Planar),
                self.frame_size,
                ChannelLayout::STEREO,
            );
            frame.set_rate(RATE);
            for (i, pair) in self.pending[..whole].chunks_exact(CHANNELS).enumerate() {
                frame.plane_mut::<f32>(0)[i] = pair[0];
                frame.plane_mut::<f32>(1)[i] = pair[1];
            }
            self.pending.drain(..whole);
            frame.set_pts(Some(self.placed as i64));
            self.placed += self.frame_size as u64;
            self.encoder
                .send_frame(&frame)
                .map_err(|e| format!("AAC: {e}"))?;
            self.receive(out)?;
        }
        Ok(())
    }

    fn receive(&mut self, out: &mut Vec<Packet>) -> Result<(), String> {
        loop {
            let mut packet = Packet::empty();
            match self.encoder.receive_packet(&mut packet) {
                Ok(()) => out.push(packet),
                Err(ffmpeg_next::Error::Other { errno }) if errno == ffmpeg_next::ffi::EAGAIN => {
                    return Ok(())
                }
                Err(ffmpeg_next::Error::Eof) => return Ok(()),
                Err(e) => return Err(format!("AAC: {e}")),
            }
        }
    }

    /// Ends the track at `at`: what was captured up to then, padded with silence to
    /// the recording's length, and the encoder drained.
    pub fn finish(&mut self, at: Duration, out: &mut Vec<Packet>) -> Result<(), String> {
        self.pump(out)?;
        let length = (at.saturating_sub(self.start).as_secs_f64() * f64::from(RATE)) as u64;
        let have = self.placed + (self.pending.len() / CHANNELS) as u64;
        if length > have {
            self.pending.extend(std::iter::repeat_n(
                0.0,
                (length - have) as usize * CHANNELS,
            ));
        }
        // The last partial frame, padded.
        let rest = self.pending.len() % (self.frame_size * CHANNELS);
        if rest != 0 {
            self.pending
                .extend(std::iter::repeat_n(0.0, self.frame_size * CHANNELS - rest));
        }
        self.encode_whole(out)?;
        self.encoder.send_eof().map_err(|e| format!("AAC: {e}"))?;
        self.receive(out)
    }
}

/// The sound tracks of one recording, streams 1, 2, … after the video.
#[derive(Default)]
pub struct Tracks {
    tracks: Vec<AudioTrack>,
    /// Sources that could not be captured, with the reason.
    pub refused: Vec<String>,
}

impl Tracks {
    /// Opens a track for each of `sources`; one that cannot start is left out and said.
    pub fn open(sources: &[AudioSource], start: Duration, global_header: bool) -> Tracks {
        let mut tracks = Tracks::default();
        for source in sources {
            match AudioTrack::open(*source, start, global_header) {
                Ok(track) => tracks.tracks.push(track),
                Err(e) => {
                    tracing::warn!(source = source.name(), "no sound track: {e}");
                    tracks.refused.push(format!("{}: {e}", source.name()));
                }
            }
        }
        tracks
    }

    /// The sources being recorded.
    pub fn sources(&self) -> Vec<AudioSource> {
        self.tracks.iter().map(AudioTrack::source).collect()
    }

    /// What a muxer needs of each track.
    pub fn streams(&self) -> Vec<super::mux::Track> {
        self.tracks
            .iter()
            .map(|t| super::mux::Track {
                parameters: t.parameters(),
                time_base: t.time_base(),
            })
            .collect()
    }

    /// Encodes what arrived; `write` gets each packet with its stream index.
    pub fn pump(
        &mut self,
        mut write: impl FnMut(usize, &Packet) -> Result<(), String>,
    ) -> Result<(), String> {
        for (i, track) in self.tracks.iter_mut().enumerate() {
            let mut packets = Vec::new();
            track.pump(&mut packets)?;
            for p in &packets {
                write(i + 1, p)?;
            }
        }
        Ok(())
    }

    /// Ends every track at `at`.
    pub fn finish(
        &mut self,
        at: Duration,
        mut write: impl FnMut(usize, &Packet) -> Result<(), String>,
    ) -> Result<(), String> {
        for (i, track) in self.tracks.iter_mut().enumerate() {
            let mut packets = Vec::new();
            track.finish(at, &mut packets)?;
            for p in &packets {
                write(i + 1, p)?;
            }
        }
        self.tracks.clear();
        Ok(())
    }
}
