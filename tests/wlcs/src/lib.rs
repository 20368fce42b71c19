//! `ghost-wlcs`: ghostcomp's real compositor state (headless backend) as a server for
//! the Wayland Conformance Suite. WLCS loads this library, starts the server (a thread
//! running ghostcomp's event loop), hands it client sockets, and drives pointer and touch
//! input and window placement through the hooks below, which reach the server thread
//! over a calloop channel. Every hook waits until the server thread has carried it out
//! and flushed its clients, so what a test does next sees its effect (an asynchronous
//! hook would race the test's own round trips).

use std::{
    collections::HashMap,
    io::{Error, ErrorKind},
    os::{
        fd::{AsRawFd, OwnedFd},
        unix::net::UnixStream,
    },
    sync::{
        atomic::{AtomicU32, Ordering},
        mpsc,
    },
    thread::JoinHandle,
    time::Duration,
};

use ghost_compositor::{backend::headless, shell::window_data, ClientState, Ghost};
use smithay::{
    backend::input::{ButtonState, TouchSlot},
    reexports::{
        calloop::{
            channel::{channel, Channel, Event, Sender},
            EventLoop,
        },
        wayland_server::{Client, Display, Resource},
    },
    utils::{Logical, Point},
};
use wayland_sys::{
    client::{wayland_client_handle, wl_display, wl_proxy},
    common::{wl_fixed_t, wl_fixed_to_double},
    ffi_dispatch,
};
use wlcs::{
    extension_list,
    ffi_display_server_api::{
        WlcsExtensionDescriptor, WlcsIntegrationDescriptor, WlcsServerIntegration,
    },
    ffi_wrappers::wlcs_server,
    wlcs_server_integration, Wlcs,
};

wlcs_server_integration!(GhostServer);

/// Every global ghostcomp offers, at the version it offers, so WLCS runs the tests for
/// them (and skips the rest).
static EXTENSIONS: &[WlcsExtensionDescriptor] = extension_list!(
    ("wl_compositor", 5),
    ("wl_subcompositor", 1),
    ("xdg_wm_base", 6),
    ("zxdg_decoration_manager_v1", 1),
    ("zwlr_layer_shell_v1", 4),
    ("wl_shm", 2),
    ("zxdg_output_manager_v1", 3),
    ("wl_data_device_manager", 3),
    ("zwp_primary_selection_device_manager_v1", 1),
    ("xdg_activation_v1", 1),
    ("wp_presentation", 2),
    ("wp_viewporter", 1),
    ("wp_fractional_scale_manager_v1", 1),
    ("wp_single_pixel_buffer_manager_v1", 1),
    ("wp_cursor_shape_manager_v1", 2),
    ("zwp_pointer_constraints_v1", 1),
    ("zwp_relative_pointer_manager_v1", 1),
    ("zwp_keyboard_shortcuts_inhibit_manager_v1", 1),
    ("zwp_idle_inhibit_manager_v1", 1),
    ("ext_foreign_toplevel_list_v1", 1),
    ("wp_security_context_manager_v1", 1),
    ("zwlr_output_manager_v1", 4),
    ("wl_seat", 9),
    ("wl_output", 4),
);

static DESCRIPTOR: WlcsIntegrationDescriptor = WlcsIntegrationDescriptor {
    version: 1,
    num_extensions: EXTENSIONS.len(),
    supported_extensions: EXTENSIONS.as_ptr(),
};

static NEXT_DEVICE: AtomicU32 = AtomicU32::new(0);

/// What WLCS asks of the server thread.
enum Command {
    Stop,
    NewClient {
        stream: UnixStream,
        key: i32,
    },
    PositionWindow {
        key: i32,
        surface: u32,
        location: Point<i32, Logical>,
    },
    PointerTo(Point<f64, Logical>),
    PointerBy(Point<f64, Logical>),
    Button {
        code: i32,
        pressed: bool,
    },
    TouchDown {
        slot: u32,
        at: Point<f64, Logical>,
    },
    TouchMove {
        slot: u32,
        at: Point<f64, Logical>,
    },
    TouchUp {
        slot: u32,
    },
}

/// A command and the way to say it was carried out.
type Request = (Command, mpsc::Sender<()>);

/// Sends `command` to the server thread and waits until it is done.
fn call(sender: &Sender<Request>, command: Command) {
    let (done, wait) = mpsc::channel();
    if sender.send((command, done)).is_ok() {
        let _ = wait.recv_timeout(Duration::from_secs(10));
    }
}

struct GhostServer {
    server: Option<(Sender<Request>, JoinHandle<()>)>,
}

impl GhostServer {
    fn send(&self, command: Command) {
        if let Some((sender, _)) = &self.server {
            call(sender, command);
        }
    }
}

impl Wlcs for GhostServer {
    type Pointer = Device;
    type Touch = Device;

    fn new() -> Self {
        GhostServer { server: None }
    }

    fn start(&mut self) {
        let (sender, receiver) = channel();
        let thread = std::thread::spawn(move || serve(receiver));
        self.server = Some((sender, thread));
    }

    fn stop(&mut self) {
        if let Some((sender, thread)) = self.server.take() {
            call(&sender, Command::Stop);
            let _ = thread.join();
        }
    }

    fn create_client_socket(&self) -> std::io::Result<OwnedFd> {
        let (sender, _) = self
            .server
            .as_ref()
            .ok_or_else(|| Error::from(ErrorKind::NotConnected))?;
        let (client_end, server_end) = UnixStream::pair()?;
        // WLCS names clients by the fd of their connection (wl_display_get_fd).
        let key = client_end.as_raw_fd();
        let (done, wait) = mpsc::channel();
        sender
            .send((
                Command::NewClient {
                    stream: server_end,
                    key,
                },
                done,
            ))
            .map_err(|e| Error::new(ErrorKind::ConnectionReset, e))?;
        wait.recv_timeout(Duration::from_secs(10))
            .map_err(|e| Error::new(ErrorKind::TimedOut, e))?;
        Ok(client_end.into())
    }

    fn position_window_absolute(
        &self,
        display: *mut wl_display,
        surface: *mut wl_proxy,
        x: i32,
        y: i32,
    ) {
        // SAFETY: WLCS passes the live wl_display and wl_surface proxy of one of its
        // clients; reading the fd and the protocol id does not change them.
        let (key, surface) = unsafe {
            (
                ffi_dispatch!(wayland_client_handle(), wl_display_get_fd, display),
                ffi_dispatch!(wayland_client_handle(), wl_proxy_get_id, surface),
            )
        };
        self.send(Command::PositionWindow {
            key,
            surface,
            location: (x, y).into(),
        });
    }

    fn create_pointer(&mut self) -> Option<Device> {
        let (sender, _) = self.server.as_ref()?;
        Some(Device {
            id: NEXT_DEVICE.fetch_add(1, Ordering::Relaxed),
            sender: sender.clone(),
        })
    }

    fn create_touch(&mut self) -> Option<Device> {
        self.create_pointer()
    }

    fn get_descriptor(&self) -> &WlcsIntegrationDescriptor {
        &DESCRIPTOR
    }
}

/// A fake input device.
struct Device {
    id: u32,
    sender: Sender<Request>,
}

fn point(x: wl_fixed_t, y: wl_fixed_t) -> Point<f64, Logical> {
    (wl_fixed_to_double(x), wl_fixed_to_double(y)).into()
}

impl wlcs::Pointer for Device {
    fn move_absolute(&mut self, x: wl_fixed_t, y: wl_fixed_t) {
        call(&self.sender, Command::PointerTo(point(x, y)));
    }

    fn move_relative(&mut self, dx: wl_fixed_t, dy: wl_fixed_t) {
        call(&self.sender, Command::PointerBy(point(dx, dy)));
    }

    fn button_up(&mut self, button: i32) {
        call(
            &self.sender,
            Command::Button {
                code: button,
                pressed: false,
            },
        );
    }

    fn button_down(&mut self, button: i32) {
        call(
            &self.sender,
            Command::Button {
                code: button,
                pressed: true,
            },
        );
    }
}

/// Where a WLCS touch lands. The touch hooks are typed `wl_fixed_t`, but WLCS's in-process
/// server hands them whole pixels (`src/in_process_server.cpp`: `void down_at(int x, int
/// y) { touch->touch_down(touch.get(), x, y); }`, where the pointer's hooks get
/// `wl_fixed_from_int(x)`), so the values are taken as pixels.
fn touch_point(x: wl_fixed_t, y: wl_fixed_t) -> Point<f64, Logical> {
    (f64::from(x), f64::from(y)).into()
}

impl wlcs::Touch for Device {
    fn touch_down(&mut self, x: wl_fixed_t, y: wl_fixed_t) {
        call(
            &self.sender,
            Command::TouchDown {
                slot: self.id,
                at: touch_point(x, y),
            },
        );
    }

    fn touch_move(&mut self, x: wl_fixed_t, y: wl_fixed_t) {
        call(
            &self.sender,
            Command::TouchMove {
                slot: self.id,
                at: touch_point(x, y),
            },
        );
    }

    fn touch_up(&mut self) {
        call(&self.sender, Command::TouchUp { slot: self.id });
    }
}

/// The server thread: ghostcomp's state with one headless output, until Stop.
fn serve(commands: Channel<Request>) {
    let Ok(mut event_loop) = EventLoop::<Ghost>::try_new() else {
        return;
    };
    let Ok(display) = Display::<Ghost>::new() else {
        return;
    };
    let Ok(mut state) = Ghost::new(
        display,
        event_loop.handle(),
        event_loop.get_signal(),
        ghost_config::Config::default(),
    ) else {
        return;
    };
    if headless::init(&mut state, &[headless::OutputSpec::default()]).is_err() {
        return;
    }
    // WLCS moves its virtual pointer anywhere, outputs or not.
    state.clamp_pointer = false;
    let mut clients: HashMap<i32, Client> = HashMap::new();
    let inserted =
        event_loop
            .handle()
            .insert_source(commands, move |event, _, state| match event {
                Event::Msg((command, done)) => {
                    handle(command, state, &mut clients);
                    let _ = done.send(());
                }
                Event::Closed => state.loop_signal.stop(),
            });
    if inserted.is_err() {
        return;
    }
    let _ = event_loop.run(
        Some(Duration::from_millis(16)),
        &mut state,
        Ghost::after_dispatch,
    );
}

/// WLCS moves layer surfaces too: the layer map puts a surface anchored to the top and
/// left edges at its margins, so the surface is given those, as if its client had asked
/// for them (it keeps its layer, size and everything else).
fn place_layer_surface(
    state: &mut Ghost,
    client: &Client,
    surface: u32,
    location: Point<i32, Logical>,
) {
    use smithay::{
        desktop::layer_map_for_output,
        wayland::{
            compositor::with_states,
            shell::wlr_layer::{Anchor, LayerSurfaceCachedState, Margins},
        },
    };
    for output in state.space.outputs().cloned().collect::<Vec<_>>() {
        let origin = state
            .space
            .output_geometry(&output)
            .map(|g| g.loc)
            .unwrap_or_default();
        let mut map = layer_map_for_output(&output);
        let found = map
            .layers()
            .find(|l| {
                let s = l.wl_surface();
                s.id().protocol_id() == surface && s.client().as_ref() == Some(client)
            })
            .cloned();
        if let Some(layer) = found {
            with_states(layer.wl_surface(), |states| {
                let mut cached = states.cached_state.get::<LayerSurfaceCachedState>();
                let current = cached.current();
                current.anchor = Anchor::TOP | Anchor::LEFT;
                current.margin = Margins {
                    top: location.y - origin.y,
                    left: location.x - origin.x,
                    ..Default::default()
                };
            });
            map.arrange();
            drop(map);
            state.queue_redraw_all();
            return;
        }
    }
}

fn now_ms(state: &Ghost) -> u32 {
    state.now().as_millis() as u32
}

fn handle(command: Command, state: &mut Ghost, clients: &mut HashMap<i32, Client>) {
    let time = now_ms(state);
    match command {
        Command::Stop => state.loop_signal.stop(),
        Command::NewClient { stream, key } => {
            if let Ok(client) = state.add_client(stream, ClientState::default()) {
                clients.insert(key, client);
            }
        }
        Command::PositionWindow {
            key,
            surface,
            location,
        } => {
            let Some(client) = clients.get(&key) else {
                return;
            };
            let window = state
                .space
                .elements()
                .chain(state.minimized.iter())
                .find(|w| {
                    w.toplevel().is_some_and(|t| {
                        let s = t.wl_surface();
                        s.id().protocol_id() == surface && s.client().as_ref() == Some(client)
                    })
                });
            if window.is_none() {
                place_layer_surface(state, client, surface, location);
                return;
            }
            if let Some(window) = window.cloned() {
                // Placed by the test: ghostcomp must not re-centre it on its first buffer.
                window_data(&window).placed.set(true);
                // A move, not a raise: the windows above it stay above (smithay's
                // map_element puts the window on top).
                let above: Vec<_> = state
                    .space
                    .elements()
                    .skip_while(|w| *w != &window)
                    .skip(1)
                    .cloned()
                    .collect();
                state.space.map_element(window, location, false);
                for w in &above {
                    state.space.raise_element(w, false);
                }
                state.queue_redraw_all();
            }
        }
        Command::PointerTo(at) => state.pointer_motion_to(at, time),
        Command::PointerBy(delta) => {
            // A mouse's motion: the same path as libinput's relative motion, so that
            // pointer locks and confinements hold it.
            let utime = state.now().as_micros() as u64;
            state.pointer_motion_relative(delta, delta, utime);
        }
        Command::Button { code, pressed } => {
            let button_state = if pressed {
                ButtonState::Pressed
            } else {
                ButtonState::Released
            };
            state.pointer_button(code as u32, button_state, time);
        }
        Command::TouchDown { slot, at } => {
            state.touch_down_at(TouchSlot::from(Some(slot)), at, time);
            state.touch_frame();
        }
        Command::TouchMove { slot, at } => {
            state.touch_motion_at(TouchSlot::from(Some(slot)), at, time);
            state.touch_frame();
        }
        Command::TouchUp { slot } => {
            state.touch_up_slot(TouchSlot::from(Some(slot)), time);
            state.touch_frame();
        }
    }
    let _ = state.display_handle.flush_clients();
}
