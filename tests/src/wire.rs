//! A Wayland client that writes the wire format by hand, so that tests can send what no
//! client library would: null strings where the protocol forbids them, unknown opcodes,
//! truncated messages, thousands of objects or file descriptors.

use std::{
    io::{IoSlice, Read, Write},
    os::{
        fd::{AsFd, BorrowedFd},
        unix::net::UnixStream,
    },
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use rustix::net::{sendmsg, SendAncillaryBuffer, SendAncillaryMessage, SendFlags};

/// One argument of a request.
pub enum Arg<'a> {
    Uint(u32),
    Int(i32),
    /// A string, or None for the null string (length 0 on the wire).
    Str(Option<&'a str>),
    NewId(u32),
    Object(u32),
    Array(&'a [u8]),
    Fd(BorrowedFd<'a>),
}

/// A global the registry announced: name, interface, version.
pub type Global = (u32, String, u32);

/// How a round trip ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// The sync callback came back.
    Done,
    /// wl_display.error: the object, the code and the message.
    Error(u32, u32, String),
    /// The compositor closed the connection without an error first.
    Closed,
}

/// A raw connection; object ids are handed out from 2 up.
pub struct WireClient {
    stream: UnixStream,
    next_id: u32,
    /// Events read but not yet looked at: (object, opcode, body).
    pub events: Vec<(u32, u16, Vec<u8>)>,
    pending: Vec<u8>,
}

impl WireClient {
    pub fn connect(socket: &Path) -> Result<Self> {
        let stream = UnixStream::connect(socket)
            .with_context(|| format!("connecting to {}", socket.display()))?;
        Ok(Self {
            stream,
            next_id: 2,
            events: Vec::new(),
            pending: Vec::new(),
        })
    }

    /// A fresh object id for a new_id argument.
    pub fn new_id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Sends one request (its file descriptors alongside).
    pub fn send(&mut self, object: u32, opcode: u16, args: &[Arg]) -> Result<()> {
        let mut body = Vec::new();
        let mut fds = Vec::new();
        for arg in args {
            match arg {
                Arg::Uint(v) | Arg::NewId(v) | Arg::Object(v) => body.extend(v.to_ne_bytes()),
                Arg::Int(v) => body.extend(v.to_ne_bytes()),
                Arg::Str(None) => body.extend(0u32.to_ne_bytes()),
                Arg::Str(Some(s)) => push_bytes(&mut body, &[s.as_bytes(), &[0]].concat()),
                Arg::Array(a) => push_bytes(&mut body, a),
                Arg::Fd(fd) => fds.push(*fd),
            }
        }
        self.send_raw(object, opcode, &body, &fds)
    }

    /// Sends a message whose body is given as it is (it may lie about its arguments).
    pub fn send_raw(
        &mut self,
        object: u32,
        opcode: u16,
        body: &[u8],
        fds: &[BorrowedFd],
    ) -> Result<()> {
        let size = u32::try_from(8 + body.len()).context("message too large")?;
        let mut message = Vec::with_capacity(size as usize);
        message.extend(object.to_ne_bytes());
        message.extend(((size << 16) | u32::from(opcode)).to_ne_bytes());
        message.extend(body);
        self.send_bytes(&message, fds)
    }

    /// Writes bytes as they are, with file descriptors attached to the first of them.
    pub fn send_bytes(&mut self, bytes: &[u8], fds: &[BorrowedFd]) -> Result<()> {
        if fds.is_empty() {
            return Ok(self.stream.write_all(bytes)?);
        }
        let mut space =
            vec![std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(fds.len()))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        control.push(SendAncillaryMessage::ScmRights(fds));
        let sent = sendmsg(
            &self.stream,
            &[IoSlice::new(bytes)],
            &mut control,
            SendFlags::empty(),
        )?;
        Ok(self.stream.write_all(&bytes[sent..])?)
    }

    /// wl_display.sync and waits for the answer, keeping the other events.
    pub fn roundtrip(&mut self, timeout: Duration) -> Result<Answer> {
        let callback = self.new_id();
        // A compositor that has just sent an error and hung up refuses the sync; the error
        // may still wait unread in the socket, so it is read before answering Closed.
        let _ = self.send(1, 0, &[Arg::NewId(callback)]);
        let end = Instant::now() + timeout;
        loop {
            while let Some((object, opcode, body)) = self.next_event() {
                if object == 1 && opcode == 0 {
                    return Ok(display_error(&body));
                }
                if object == callback && opcode == 0 {
                    return Ok(Answer::Done);
                }
                self.events.push((object, opcode, body));
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                bail!("no answer to a round trip within {timeout:?}");
            }
            self.stream.set_read_timeout(Some(left))?;
            let mut buf = [0u8; 65536];
            match self.stream.read(&mut buf) {
                Ok(0) => return Ok(Answer::Closed),
                Ok(n) => self.pending.extend(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                    return Ok(Answer::Closed)
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn next_event(&mut self) -> Option<(u32, u16, Vec<u8>)> {
        if self.pending.len() < 8 {
            return None;
        }
        let object = u32::from_ne_bytes(self.pending[0..4].try_into().ok()?);
        let word = u32::from_ne_bytes(self.pending[4..8].try_into().ok()?);
        let size = (word >> 16) as usize;
        if size < 8 || self.pending.len() < size {
            return None;
        }
        let body = self.pending[8..size].to_vec();
        self.pending.drain(..size);
        Some((object, (word & 0xffff) as u16, body))
    }

    /// wl_display.get_registry, a round trip, and the registry's id with the globals it
    /// announced.
    pub fn globals(&mut self) -> Result<(u32, Vec<Global>)> {
        let registry = self.new_id();
        self.send(1, 1, &[Arg::NewId(registry)])?;
        if self.roundtrip(Duration::from_secs(5))? != Answer::Done {
            bail!("the compositor refused the registry");
        }
        let mut globals = Vec::new();
        for (object, opcode, body) in std::mem::take(&mut self.events) {
            if object == registry && opcode == 0 && body.len() >= 12 {
                let name = u32::from_ne_bytes(body[0..4].try_into()?);
                let len = u32::from_ne_bytes(body[4..8].try_into()?) as usize;
                let interface =
                    String::from_utf8_lossy(&body[8..8 + len.saturating_sub(1)]).into_owned();
                let at = 8 + len.div_ceil(4) * 4;
                let version = u32::from_ne_bytes(body[at..at + 4].try_into()?);
                globals.push((name, interface, version));
            }
        }
        Ok((registry, globals))
    }

    /// Binds `interface` at `version` (or the compositor's own when lower); returns its id.
    pub fn bind(
        &mut self,
        registry: u32,
        globals: &[(u32, String, u32)],
        interface: &str,
        version: u32,
    ) -> Result<u32> {
        let Some((name, _, offered)) = globals.iter().find(|g| g.1 == interface) else {
            bail!("no {interface} global");
        };
        let id = self.new_id();
        self.send(
            registry,
            0,
            &[
                Arg::Uint(*name),
                Arg::Str(Some(interface)),
                Arg::Uint(version.min(*offered)),
                Arg::NewId(id),
            ],
        )?;
        Ok(id)
    }

    /// Sends wl_display.sync as fast as the socket takes it for `duration`, reading the
    /// answers as they come so that the compositor never has a reason to drop it for
    /// not reading. Returns how many requests went out, or the error that ended it
    /// early (the compositor hung up).
    pub fn flood(&mut self, duration: Duration) -> (u64, Option<std::io::Error>) {
        let end = Instant::now() + duration;
        let mut sent = 0;
        let mut sink = vec![0u8; 1 << 16];
        if let Err(e) = self.stream.set_nonblocking(true) {
            return (0, Some(e));
        }
        let mut batch = Vec::with_capacity(12 * 256);
        while Instant::now() < end {
            batch.clear();
            for _ in 0..256 {
                let id = self.new_id();
                batch.extend(1u32.to_ne_bytes());
                batch.extend((12u32 << 16).to_ne_bytes());
                batch.extend(id.to_ne_bytes());
            }
            let mut at = 0;
            while at < batch.len() && Instant::now() < end {
                match self.stream.write(&batch[at..]) {
                    Ok(n) => at += n,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => return (sent, Some(e)),
                }
                loop {
                    match self.stream.read(&mut sink) {
                        Ok(0) => return (sent, Some(std::io::ErrorKind::UnexpectedEof.into())),
                        Ok(_) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        Err(e) => return (sent, Some(e)),
                    }
                }
            }
            sent += (at / 12) as u64;
        }
        (sent, None)
    }

    /// The socket, for tests that need to hold it open or shut it.
    pub fn stream(&self) -> &UnixStream {
        &self.stream
    }

    /// Its descriptor.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.stream.as_fd()
    }
}

/// A length-prefixed byte run padded to 32 bits (strings and arrays).
fn push_bytes(body: &mut Vec<u8>, bytes: &[u8]) {
    body.extend((bytes.len() as u32).to_ne_bytes());
    body.extend(bytes);
    body.resize(body.len().div_ceil(4) * 4, 0);
}

fn display_error(body: &[u8]) -> Answer {
    let word = |i: usize| {
        body.get(i..i + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_ne_bytes)
            .unwrap_or(0)
    };
    let len = word(8) as usize;
    let message = body
        .get(12..12 + len.saturating_sub(1))
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .unwrap_or_default();
    Answer::Error(word(0), word(4), message)
}
