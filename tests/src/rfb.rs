//! A small VNC (RFB 3.8) client for the remote-desktop tests: no security, raw
//! encoding, 32-bit true colour; key and pointer events; whole-screen updates.

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::{Duration, Instant},
};

use anyhow::{bail, ensure, Context, Result};

/// A connected viewer.
pub struct Viewer {
    stream: TcpStream,
    /// Framebuffer width.
    pub width: u16,
    /// Framebuffer height.
    pub height: u16,
    /// The last picture, BGRX, `width * 4` bytes a row.
    pub pixels: Vec<u8>,
}

fn read_u8(s: &mut TcpStream) -> Result<u8> {
    let mut b = [0; 1];
    s.read_exact(&mut b)?;
    Ok(b[0])
}

fn read_u16(s: &mut TcpStream) -> Result<u16> {
    let mut b = [0; 2];
    s.read_exact(&mut b)?;
    Ok(u16::from_be_bytes(b))
}

fn read_u32(s: &mut TcpStream) -> Result<u32> {
    let mut b = [0; 4];
    s.read_exact(&mut b)?;
    Ok(u32::from_be_bytes(b))
}

fn skip(s: &mut TcpStream, n: usize) -> Result<()> {
    let mut rest = vec![0; n];
    s.read_exact(&mut rest)?;
    Ok(())
}

impl Viewer {
    /// Connects to `port` on localhost, retrying until `timeout` (the server may still
    /// be starting), and completes the handshake.
    pub fn connect(port: u16, timeout: Duration) -> Result<Self> {
        let end = Instant::now() + timeout;
        let mut stream = loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => break s,
                Err(e) if Instant::now() < end => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => return Err(e).context("connecting to the VNC server"),
            }
        };
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        let mut version = [0; 12];
        stream.read_exact(&mut version)?;
        ensure!(
            version.starts_with(b"RFB "),
            "not an RFB server: {version:?}"
        );
        stream.write_all(b"RFB 003.008\n")?;
        let count = read_u8(&mut stream)?;
        ensure!(count > 0, "the server refused the connection");
        let mut types = vec![0; usize::from(count)];
        stream.read_exact(&mut types)?;
        ensure!(types.contains(&1), "no 'None' security offered: {types:?}");
        stream.write_all(&[1])?;
        ensure!(read_u32(&mut stream)? == 0, "security handshake failed");
        stream.write_all(&[1])?; // ClientInit: shared
        let width = read_u16(&mut stream)?;
        let height = read_u16(&mut stream)?;
        skip(&mut stream, 16)?; // the server's pixel format
        let name_len = read_u32(&mut stream)? as usize;
        skip(&mut stream, name_len)?;
        // SetPixelFormat: 32 bpp, depth 24, little endian, true colour, 8 bits a channel
        // at shifts 16, 8, 0 (BGRX in memory).
        let mut msg = vec![0, 0, 0, 0, 32, 24, 0, 1];
        msg.extend_from_slice(&255u16.to_be_bytes());
        msg.extend_from_slice(&255u16.to_be_bytes());
        msg.extend_from_slice(&255u16.to_be_bytes());
        msg.extend_from_slice(&[16, 8, 0, 0, 0, 0]);
        stream.write_all(&msg)?;
        // SetEncodings: raw only.
        stream.write_all(&[2, 0, 0, 1, 0, 0, 0, 0])?;
        Ok(Self {
            stream,
            width,
            height,
            pixels: vec![0; usize::from(width) * usize::from(height) * 4],
        })
    }

    /// Asks for the whole screen and reads updates until one arrives.
    pub fn refresh(&mut self) -> Result<()> {
        self.request_update(false)
    }

    /// Asks for what changed since the last update and waits for it (the server answers
    /// when something has).
    pub fn refresh_incremental(&mut self) -> Result<()> {
        self.request_update(true)
    }

    fn request_update(&mut self, incremental: bool) -> Result<()> {
        let mut req = vec![3, u8::from(incremental), 0, 0, 0, 0];
        req.extend_from_slice(&self.width.to_be_bytes());
        req.extend_from_slice(&self.height.to_be_bytes());
        self.stream.write_all(&req)?;
        loop {
            match read_u8(&mut self.stream)? {
                0 => {
                    skip(&mut self.stream, 1)?;
                    let rects = read_u16(&mut self.stream)?;
                    for _ in 0..rects {
                        self.read_rect()?;
                    }
                    return Ok(());
                }
                1 => {
                    skip(&mut self.stream, 3)?;
                    let n = read_u16(&mut self.stream)?;
                    skip(&mut self.stream, usize::from(n) * 6)?;
                }
                2 => {}
                3 => {
                    skip(&mut self.stream, 3)?;
                    let n = read_u32(&mut self.stream)? as usize;
                    skip(&mut self.stream, n)?;
                }
                other => bail!("unknown server message {other}"),
            }
        }
    }

    fn read_rect(&mut self) -> Result<()> {
        let x = usize::from(read_u16(&mut self.stream)?);
        let y = usize::from(read_u16(&mut self.stream)?);
        let w = usize::from(read_u16(&mut self.stream)?);
        let h = usize::from(read_u16(&mut self.stream)?);
        let encoding = read_u32(&mut self.stream)? as i32;
        match encoding {
            0 => {
                let mut row = vec![0; w * 4];
                let stride = usize::from(self.width) * 4;
                for r in 0..h {
                    self.stream.read_exact(&mut row)?;
                    let at = (y + r) * stride + x * 4;
                    if let Some(dst) = self.pixels.get_mut(at..at + w * 4) {
                        dst.copy_from_slice(&row);
                    }
                }
                Ok(())
            }
            // DesktopSize: the framebuffer changed size.
            -223 => {
                self.width = w as u16;
                self.height = h as u16;
                self.pixels = vec![0; w * h * 4];
                Ok(())
            }
            other => bail!("the server sent encoding {other}, which was not asked for"),
        }
    }

    /// RGB at (x, y) of the last picture.
    pub fn pixel(&self, x: u16, y: u16) -> [u8; 3] {
        let at = (usize::from(y) * usize::from(self.width) + usize::from(x)) * 4;
        [self.pixels[at + 2], self.pixels[at + 1], self.pixels[at]]
    }

    /// Presses or releases the key for X keysym `keysym`.
    pub fn key(&mut self, keysym: u32, down: bool) -> Result<()> {
        let mut msg = vec![4, u8::from(down), 0, 0];
        msg.extend_from_slice(&keysym.to_be_bytes());
        self.stream.write_all(&msg)?;
        Ok(())
    }

    /// Types `text` (ASCII; `\n` is Return) key by key.
    pub fn type_text(&mut self, text: &str) -> Result<()> {
        for c in text.chars() {
            let sym = match c {
                '\n' => 0xff0d,
                c if c.is_ascii() => c as u32,
                c => bail!("{c:?} is not ASCII"),
            };
            self.key(sym, true)?;
            self.key(sym, false)?;
        }
        Ok(())
    }

    /// Moves the pointer to (x, y) with `buttons` held (bit 0 left, 1 middle, 2 right).
    pub fn pointer(&mut self, x: u16, y: u16, buttons: u8) -> Result<()> {
        let mut msg = vec![5, buttons];
        msg.extend_from_slice(&x.to_be_bytes());
        msg.extend_from_slice(&y.to_be_bytes());
        self.stream.write_all(&msg)?;
        Ok(())
    }

    /// A left click at (x, y).
    pub fn click(&mut self, x: u16, y: u16) -> Result<()> {
        self.pointer(x, y, 0)?;
        self.pointer(x, y, 1)?;
        self.pointer(x, y, 0)
    }
}
