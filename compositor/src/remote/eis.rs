//! Input through libei: the EIS side of the protocol (the `reis` crate) for the
//! RemoteDesktop portal's `ConnectToEIS`. The portal backend asks for a connection to a
//! grant (`remote-eis`); the compositor answers with its EIS socket and a one-time
//! token, the backend connects, writes the token, and hands the socket to the app,
//! which then speaks libei's protocol. The token ties the connection to the grant:
//! the seat offers only the devices the user granted, each event passes the same
//! checks as the portal's Notify calls, and revoking the grant disconnects the client.
//! Nothing reaches the seat from a connection that never showed a live token.

use std::{
    collections::HashMap,
    io::Read,
    os::unix::net::{UnixListener, UnixStream},
    path::PathBuf,
};

use ghost_capture::portal::{RemoteInput, KEYBOARD, POINTER, TOUCHSCREEN};
use reis::{
    calloop::{EisRequestSource, EisRequestSourceEvent},
    eis::{self, device::DeviceType},
    enumflags2::BitFlags,
    request::{Connection, DeviceCapability, EisRequest},
};
use smithay::reexports::calloop::{generic::Generic, Interest, Mode as FdMode, PostAction};

use crate::state::Ghost;

/// Characters of a token (hex of 16 random bytes), then a newline.
const TOKEN_LENGTH: usize = 32;
/// How many tokens may wait for their connection; each grant asks for one or two.
const MAX_TOKENS: usize = 64;

/// The EIS socket and the connections on it.
#[derive(Default)]
pub struct EisServer {
    /// Where the socket is, once the first app asked for it.
    path: Option<PathBuf>,
    /// Tokens handed out and not used yet, with their grant.
    tokens: HashMap<String, u64>,
    /// Each live connection's grant, our number for it and its client, to disconnect
    /// on revocation.
    clients: Vec<(u64, u64, Connection)>,
    next_client: u64,
}

impl Drop for EisServer {
    fn drop(&mut self) {
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A fresh random token.
fn new_token() -> std::io::Result<String> {
    let mut bytes = [0u8; TOKEN_LENGTH / 2];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The seat's layout as an xkb keymap in a sealed-off memory file, for EIS keyboards:
/// libei clients that type text look up which key gives a symbol in it.
fn keymap_file(input: &ghost_config::InputConfig) -> Option<(std::os::fd::OwnedFd, u32)> {
    use smithay::input::keyboard::xkb;
    let keymap = crate::input::typing::layout_keymap(input)?;
    let mut text = keymap
        .get_as_string(xkb::KEYMAP_FORMAT_TEXT_V1)
        .into_bytes();
    text.push(0);
    let fd =
        rustix::fs::memfd_create("ghostcomp-eis-keymap", rustix::fs::MemfdFlags::CLOEXEC).ok()?;
    let mut file = std::fs::File::from(fd);
    std::io::Write::write_all(&mut file, &text).ok()?;
    Some((file.into(), u32::try_from(text.len()).ok()?))
}

/// What a grant's devices let an EIS seat offer.
fn seat_capabilities(devices: u32) -> BitFlags<DeviceCapability> {
    let mut caps = BitFlags::empty();
    if devices & KEYBOARD != 0 {
        caps |= DeviceCapability::Keyboard;
    }
    if devices & POINTER != 0 {
        caps |= DeviceCapability::Pointer
            | DeviceCapability::PointerAbsolute
            | DeviceCapability::Button
            | DeviceCapability::Scroll;
    }
    if devices & TOUCHSCREEN != 0 {
        caps |= DeviceCapability::Touch;
    }
    caps
}

/// Tells a client why it is disconnected, now.
fn hang_up(connection: &Connection, reason: eis::connection::DisconnectReason, why: &str) {
    connection.disconnected(reason, Some(why));
    let _ = connection.flush();
}

/// The portal's event for one EIS request; None for requests that carry no input.
fn remote_input_of(request: &EisRequest) -> Option<RemoteInput> {
    let pressed_button = |s: &eis::button::ButtonState| *s == eis::button::ButtonState::Press;
    Some(match request {
        EisRequest::PointerMotion(m) => RemoteInput::PointerMotion {
            dx: f64::from(m.dx),
            dy: f64::from(m.dy),
        },
        EisRequest::PointerMotionAbsolute(m) => RemoteInput::PointerMotionAbsolute {
            cast: None,
            x: f64::from(m.dx_absolute),
            y: f64::from(m.dy_absolute),
        },
        EisRequest::Button(b) => RemoteInput::PointerButton {
            button: b.button,
            pressed: pressed_button(&b.state),
        },
        EisRequest::ScrollDelta(s) => RemoteInput::PointerAxis {
            dx: f64::from(s.dx),
            dy: f64::from(s.dy),
            finish: false,
        },
        EisRequest::ScrollStop(_) => RemoteInput::PointerAxis {
            dx: 0.0,
            dy: 0.0,
            finish: true,
        },
        EisRequest::ScrollDiscrete(s) if s.discrete_dy != 0 => RemoteInput::PointerAxisDiscrete {
            axis: 0,
            steps: s.discrete_dy / 120,
        },
        EisRequest::ScrollDiscrete(s) => RemoteInput::PointerAxisDiscrete {
            axis: 1,
            steps: s.discrete_dx / 120,
        },
        EisRequest::KeyboardKey(k) => RemoteInput::KeyboardKeycode {
            keycode: k.key,
            pressed: k.state == eis::keyboard::KeyState::Press,
        },
        EisRequest::TouchDown(t) => RemoteInput::TouchDown {
            cast: None,
            slot: t.touch_id,
            x: f64::from(t.x),
            y: f64::from(t.y),
        },
        EisRequest::TouchMotion(t) => RemoteInput::TouchMotion {
            cast: None,
            slot: t.touch_id,
            x: f64::from(t.x),
            y: f64::from(t.y),
        },
        EisRequest::TouchUp(t) => RemoteInput::TouchUp { slot: t.touch_id },
        _ => return None,
    })
}

impl Ghost {
    /// A connection for grant `remote`: the socket and a one-time token to write on it
    /// first.
    pub(super) fn eis_connection_for(&mut self, remote: u64) -> anyhow::Result<(PathBuf, String)> {
        anyhow::ensure!(
            self.remotes.ids().contains(&remote),
            "no remote control with id {remote}"
        );
        anyhow::ensure!(
            self.eis.tokens.len() < MAX_TOKENS,
            "too many EIS connections wait for their client"
        );
        let path = match self.eis.path.clone() {
            Some(path) => path,
            None => self.eis_listen()?,
        };
        let token = new_token()?;
        self.eis.tokens.insert(token.clone(), remote);
        Ok((path, token))
    }

    /// Opens the EIS socket beside the IPC socket.
    fn eis_listen(&mut self) -> anyhow::Result<PathBuf> {
        let runtime = std::env::var_os("XDG_RUNTIME_DIR")
            .ok_or_else(|| anyhow::anyhow!("XDG_RUNTIME_DIR is not set"))?;
        let path = PathBuf::from(runtime).join(format!(
            "ghostcomp-eis.{}.sock",
            self.socket_name.to_string_lossy()
        ));
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path)?;
        listener.set_nonblocking(true)?;
        self.loop_handle
            .insert_source(
                Generic::new(listener, Interest::READ, FdMode::Level),
                |_, listener, state| {
                    while let Ok((stream, _)) = listener.accept() {
                        state.eis_await_token(stream);
                    }
                    Ok(PostAction::Continue)
                },
            )
            .map_err(|e| anyhow::anyhow!("cannot listen for EIS clients: {e}"))?;
        tracing::info!(path = %path.display(), "EIS socket open");
        self.eis.path = Some(path.clone());
        Ok(path)
    }

    /// Reads a new connection's token without blocking the loop; a live one makes it
    /// an EIS client of that grant, anything else closes it.
    fn eis_await_token(&mut self, stream: UnixStream) {
        if stream.set_nonblocking(true).is_err() {
            return;
        }
        let mut line = Vec::with_capacity(TOKEN_LENGTH + 1);
        let inserted = self.loop_handle.insert_source(
            Generic::new(stream, Interest::READ, FdMode::Level),
            move |_, stream, state| {
                let mut byte = [0u8; 1];
                // SAFETY: the stream is only read here and stays open while registered.
                let reader = unsafe { stream.get_mut() };
                // One byte at a time: nothing past the newline is the token's (the
                // client's first EI bytes stay in the socket for the EIS context).
                loop {
                    match reader.read(&mut byte) {
                        Ok(0) => return Ok(PostAction::Remove),
                        Ok(_) if byte[0] == b'\n' => break,
                        Ok(_) if line.len() < TOKEN_LENGTH => line.push(byte[0]),
                        Ok(_) => return Ok(PostAction::Remove),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            return Ok(PostAction::Continue)
                        }
                        Err(_) => return Ok(PostAction::Remove),
                    }
                }
                let token = String::from_utf8_lossy(&line).into_owned();
                match (state.eis.tokens.remove(&token), reader.try_clone()) {
                    (Some(remote), Ok(socket)) => state.eis_accept(remote, socket),
                    (None, _) => tracing::warn!("an EIS connection without a live token: closed"),
                    (_, Err(e)) => tracing::warn!("EIS connection: {e}"),
                }
                Ok(PostAction::Remove)
            },
        );
        if let Err(e) = inserted {
            tracing::warn!("cannot read an EIS connection: {e}");
        }
    }

    /// Serves libei's protocol on `socket` for grant `remote`.
    fn eis_accept(&mut self, remote: u64, socket: UnixStream) {
        let context = match socket
            .set_nonblocking(true)
            .and_then(|()| eis::Context::new(socket))
        {
            Ok(context) => context,
            Err(e) => {
                tracing::warn!("EIS connection: {e}");
                return;
            }
        };
        let source = EisRequestSource::new(context, 1);
        self.eis.next_client += 1;
        let client = self.eis.next_client;
        let inserted = self
            .loop_handle
            .insert_source(source, move |event, connection, state| {
                Ok(match event {
                    Ok(event) => state.eis_event((remote, client), connection, event),
                    Err(e) => {
                        tracing::debug!(remote, "EIS client: {e}");
                        state.eis_forget(client);
                        PostAction::Remove
                    }
                })
            });
        match inserted {
            Ok(_) => tracing::info!(remote, "EIS client connected"),
            Err(e) => tracing::warn!("cannot serve an EIS client: {e}"),
        }
    }

    /// One event of client `client` of grant `remote`.
    fn eis_event(
        &mut self,
        (remote, client): (u64, u64),
        connection: &Connection,
        event: EisRequestSourceEvent,
    ) -> PostAction {
        let Some(devices) = self.remotes.devices_of(remote) else {
            hang_up(
                connection,
                eis::connection::DisconnectReason::Disconnected,
                "revoked",
            );
            self.eis_forget(client);
            return PostAction::Remove;
        };
        match event {
            EisRequestSourceEvent::Connected => {
                if connection.context_type() != eis::handshake::ContextType::Sender {
                    hang_up(
                        connection,
                        eis::connection::DisconnectReason::Error,
                        "only senders of input are served",
                    );
                    return PostAction::Remove;
                }
                // The connection keeps its seats; nothing else needs this handle.
                let _seat = connection.add_seat(Some("ghostcomp"), seat_capabilities(devices));
                self.eis.clients.push((remote, client, connection.clone()));
            }
            EisRequestSourceEvent::Request(EisRequest::Disconnect) => {
                self.eis_forget(client);
                return PostAction::Remove;
            }
            EisRequestSourceEvent::Request(EisRequest::Bind(bind)) => {
                let wanted = bind.capabilities & seat_capabilities(devices);
                self.eis_add_devices(&bind.seat, wanted);
            }
            EisRequestSourceEvent::Request(request) => {
                if let Some(event) = remote_input_of(&request) {
                    if self.remote_input(remote, &event).is_err() {
                        hang_up(
                            connection,
                            eis::connection::DisconnectReason::Disconnected,
                            "revoked",
                        );
                        self.eis_forget(client);
                        return PostAction::Remove;
                    }
                }
            }
        }
        let _ = connection.flush();
        PostAction::Continue
    }

    /// One device per kind the client bound: keyboard (with the seat's keymap),
    /// relative pointer, absolute pointer over the outputs, touchscreen over the
    /// outputs.
    fn eis_add_devices(&self, seat: &reis::request::Seat, wanted: BitFlags<DeviceCapability>) {
        let regions: Vec<_> = self
            .space
            .outputs()
            .filter_map(|o| {
                let geo = self.space.output_geometry(o)?;
                let scale = o.current_scale().fractional_scale() as f32;
                Some((geo, scale))
            })
            .collect();
        let with_regions = |device: &reis::request::Device| {
            for (geo, scale) in &regions {
                device.device().region(
                    geo.loc.x.max(0) as u32,
                    geo.loc.y.max(0) as u32,
                    geo.size.w.max(0) as u32,
                    geo.size.h.max(0) as u32,
                    *scale,
                );
            }
        };
        let keymap = keymap_file(&self.config.input);
        let with_keymap = |device: &reis::request::Device| {
            let keyboard = device.interface::<eis::Keyboard>();
            if let (Some(keyboard), Some((fd, size))) = (keyboard, keymap.as_ref()) {
                use std::os::fd::AsFd;
                keyboard.keymap(eis::keyboard::KeymapType::Xkb, *size, fd.as_fd());
            }
        };
        let pointer_extras = DeviceCapability::Button | DeviceCapability::Scroll;
        let kinds = [
            (
                "keyboard",
                BitFlags::from(DeviceCapability::Keyboard),
                false,
            ),
            (
                "pointer",
                BitFlags::from(DeviceCapability::Pointer) | pointer_extras,
                false,
            ),
            (
                "absolute pointer",
                BitFlags::from(DeviceCapability::PointerAbsolute) | pointer_extras,
                true,
            ),
            ("touchscreen", BitFlags::from(DeviceCapability::Touch), true),
        ];
        for (name, caps, absolute) in kinds {
            // The kind's main capability decides; buttons and scrolling come along.
            let main = caps & !pointer_extras;
            let main = if main.is_empty() { caps } else { main };
            if !wanted.contains(main) {
                continue;
            }
            let device = seat.add_device(Some(name), DeviceType::Virtual, caps, |d| {
                if absolute {
                    with_regions(d);
                }
                with_keymap(d);
            });
            device.resumed();
        }
    }

    fn eis_forget(&mut self, client: u64) {
        self.eis.clients.retain(|(_, c, _)| *c != client);
    }

    /// Disconnects the EIS clients of grants that ended.
    pub(super) fn eis_disconnect_ended(&mut self) {
        let live = self.remotes.ids();
        self.eis.clients.retain(|(remote, _, connection)| {
            if live.contains(remote) {
                return true;
            }
            hang_up(
                connection,
                eis::connection::DisconnectReason::Disconnected,
                "revoked",
            );
            false
        });
        self.eis.tokens.retain(|_, remote| live.contains(remote));
    }
}
