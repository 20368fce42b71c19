//! More of the test client: decorations, layer surfaces, popups, and buffers of any size.

use std::os::fd::{AsFd, OwnedFd};

use anyhow::Result;
use wayland_client::{
    delegate_noop,
    protocol::{
        wl_buffer::WlBuffer,
        wl_compositor::WlCompositor,
        wl_shm::{self, WlShm},
        wl_surface::WlSurface,
    },
    Connection, Dispatch, QueueHandle,
};
use wayland_protocols::wp::fractional_scale::v1::client::{
    wp_fractional_scale_manager_v1::WpFractionalScaleManagerV1,
    wp_fractional_scale_v1::{self, WpFractionalScaleV1},
};
use wayland_protocols::xdg::{
    decoration::zv1::client::{
        zxdg_decoration_manager_v1::ZxdgDecorationManagerV1,
        zxdg_toplevel_decoration_v1::{self, ZxdgToplevelDecorationV1},
    },
    shell::client::{
        xdg_popup::{self, XdgPopup},
        xdg_positioner::{self, XdgPositioner},
        xdg_surface::XdgSurface,
        xdg_wm_base::XdgWmBase,
    },
};
use wayland_protocols_wlr::layer_shell::v1::client::{
    zwlr_layer_shell_v1::{self, ZwlrLayerShellV1},
    zwlr_layer_surface_v1::{self, ZwlrLayerSurfaceV1},
};

use crate::client::{ColorWindow, State, TestClient};

/// A mapped layer surface.
pub struct Layer {
    /// Its surface.
    pub surface: WlSurface,
    /// Its role object.
    pub layer: ZwlrLayerSurfaceV1,
}

/// A mapped popup.
pub struct Popup {
    /// Its surface.
    pub surface: WlSurface,
    /// Its role object.
    pub popup: XdgPopup,
}

/// Marker user data: the xdg_surface belongs to a popup.
pub struct PopupSurface;

impl TestClient {
    /// A buffer of `width`×`height` in one ARGB colour.
    pub fn solid_buffer(&self, width: i32, height: i32, color: u32) -> Result<WlBuffer> {
        let shm: WlShm = self.bind(1..=1, ())?;
        let bytes = (width * height * 4) as usize;
        let fd: OwnedFd = rustix::fs::memfd_create("ghost-test", rustix::fs::MemfdFlags::CLOEXEC)?;
        let file = std::fs::File::from(fd);
        let px = color.to_le_bytes();
        let data: Vec<u8> = std::iter::repeat_n(px, (width * height) as usize)
            .flatten()
            .collect();
        std::io::Write::write_all(&mut &file, &data)?;
        let pool = shm.create_pool(file.as_fd(), bytes as i32, &self.qh(), ());
        let buffer = pool.create_buffer(
            0,
            width,
            height,
            width * 4,
            wl_shm::Format::Argb8888,
            &self.qh(),
            (),
        );
        pool.destroy();
        Ok(buffer)
    }

    /// Asks for server-side (or client-side) decorations on `window` and returns the
    /// mode the compositor configured (1 = client side, 2 = server side).
    pub fn request_decorations(&mut self, window: &ColorWindow, server_side: bool) -> Result<u32> {
        let manager: ZxdgDecorationManagerV1 = self.bind(1..=1, ())?;
        let deco = manager.get_toplevel_decoration(&window.toplevel, &self.qh(), ());
        deco.set_mode(if server_side {
            zxdg_toplevel_decoration_v1::Mode::ServerSide
        } else {
            zxdg_toplevel_decoration_v1::Mode::ClientSide
        });
        self.roundtrip()?;
        self.state
            .decoration_mode
            .ok_or_else(|| anyhow::anyhow!("no decoration configure"))
    }

    /// Subscribes `window` to fractional-scale-v1; the preferred scale (in 120ths)
    /// arrives in `state.preferred_scale_120`.
    pub fn watch_fractional_scale(&mut self, window: &ColorWindow) -> Result<WpFractionalScaleV1> {
        let manager: WpFractionalScaleManagerV1 = self.bind(1..=1, ())?;
        Ok(manager.get_fractional_scale(&window.surface, &self.qh(), ()))
    }

    /// Maps a launcher as fuzzel and wofi are: a 400x100 overlay layer surface in the
    /// middle of the output that takes the keyboard exclusively.
    pub fn launcher(&mut self) -> Result<Layer> {
        self.launcher_with(zwlr_layer_surface_v1::KeyboardInteractivity::Exclusive)
    }

    /// [`Self::launcher`] asking for the keyboard as `interactivity` says (on demand:
    /// a panel's menu, a launcher that lets other windows have it when clicked).
    pub fn launcher_with(
        &mut self,
        interactivity: zwlr_layer_surface_v1::KeyboardInteractivity,
    ) -> Result<Layer> {
        let (surface, layer) = self.new_layer(zwlr_layer_shell_v1::Layer::Overlay, "launcher")?;
        layer.set_size(400, 100);
        layer.set_keyboard_interactivity(interactivity);
        self.map_layer(surface, layer)
    }

    /// Maps a layer surface anchored to the top edge, `height` tall, reserving
    /// `exclusive` pixels.
    pub fn top_panel(&mut self, height: u32, exclusive: i32) -> Result<Layer> {
        let (surface, layer) = self.new_layer(zwlr_layer_shell_v1::Layer::Top, "panel")?;
        layer.set_size(0, height);
        use zwlr_layer_surface_v1::Anchor;
        layer.set_anchor(Anchor::Top | Anchor::Left | Anchor::Right);
        layer.set_exclusive_zone(exclusive);
        self.map_layer(surface, layer)
    }

    /// A new surface with a layer-surface role on `layer`, nothing committed yet.
    fn new_layer(
        &mut self,
        layer: zwlr_layer_shell_v1::Layer,
        namespace: &str,
    ) -> Result<(WlSurface, ZwlrLayerSurfaceV1)> {
        let compositor: WlCompositor = self.bind(4..=5, ())?;
        let shell: ZwlrLayerShellV1 = self.bind(1..=4, ())?;
        let surface = compositor.create_surface(&self.qh(), ());
        let role = shell.get_layer_surface(&surface, None, layer, namespace.into(), &self.qh(), ());
        Ok((surface, role))
    }

    /// Commits a configured layer surface's first buffer at the size it was given.
    fn map_layer(&mut self, surface: WlSurface, layer: ZwlrLayerSurfaceV1) -> Result<Layer> {
        surface.commit();
        self.state.layer_configure = None;
        while self.state.layer_configure.is_none() {
            self.wait()?;
        }
        let (serial, w, h) = self.state.layer_configure.unwrap_or_default();
        layer.ack_configure(serial);
        let buffer = self.solid_buffer(w as i32, h as i32, 0xff203040)?;
        surface.attach(Some(&buffer), 0, 0);
        surface.commit();
        self.roundtrip()?;
        Ok(Layer { surface, layer })
    }

    /// Maps a `width`×`height` popup of `parent` anchored below-right of the point
    /// (`x`, `y`) in the parent's window geometry, allowed to slide and flip.
    pub fn popup(
        &mut self,
        parent: &ColorWindow,
        x: i32,
        y: i32,
        width: i32,
        height: i32,
    ) -> Result<Popup> {
        let compositor: WlCompositor = self.bind(4..=5, ())?;
        let wm_base: XdgWmBase = self.bind(1..=1, ())?;
        let positioner = wm_base.create_positioner(&self.qh(), ());
        positioner.set_size(width, height);
        positioner.set_anchor_rect(x, y, 1, 1);
        positioner.set_anchor(xdg_positioner::Anchor::BottomRight);
        positioner.set_gravity(xdg_positioner::Gravity::BottomRight);
        use xdg_positioner::ConstraintAdjustment as C;
        positioner.set_constraint_adjustment(C::SlideX | C::SlideY | C::FlipX | C::FlipY);
        let surface = compositor.create_surface(&self.qh(), ());
        let xdg_surface = wm_base.get_xdg_surface(&surface, &self.qh(), PopupSurface);
        let popup = xdg_surface.get_popup(Some(&parent.xdg_surface), &positioner, &self.qh(), ());
        surface.commit();
        self.state.popup_serial = None;
        while self.state.popup_serial.is_none() {
            self.wait()?;
        }
        if let Some(serial) = self.state.popup_serial {
            xdg_surface.ack_configure(serial);
        }
        let buffer = self.solid_buffer(width, height, 0xff30c030)?;
        surface.attach(Some(&buffer), 0, 0);
        surface.commit();
        self.roundtrip()?;
        Ok(Popup { surface, popup })
    }
}

impl Dispatch<WpFractionalScaleV1, ()> for State {
    fn event(
        state: &mut Self,
        _: &WpFractionalScaleV1,
        event: wp_fractional_scale_v1::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        if let wp_fractional_scale_v1::Event::PreferredScale { scale } = event {
            state.preferred_scale_120 = Some(scale);
        }
    }
}

impl Dispatch<ZxdgToplevelDecorationV1, ()> for State {
    fn event(
        state: &mut Self,
        _: &ZxdgToplevelDecorationV1,
        event: zxdg_toplevel_decoration_v1::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        if let zxdg_toplevel_decoration_v1::Event::Configure { mode } = event {
            state.decoration_mode = Some(match mode {
                wayland_client::WEnum::Value(m) => m as u32,
                wayland_client::WEnum::Unknown(v) => v,
            });
        }
    }
}

impl Dispatch<ZwlrLayerSurfaceV1, ()> for State {
    fn event(
        state: &mut Self,
        _: &ZwlrLayerSurfaceV1,
        event: zwlr_layer_surface_v1::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        if let zwlr_layer_surface_v1::Event::Configure {
            serial,
            width,
            height,
        } = event
        {
            state.layer_configure = Some((serial, width, height));
        }
    }
}

impl Dispatch<XdgPopup, ()> for State {
    fn event(
        state: &mut Self,
        _: &XdgPopup,
        event: xdg_popup::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        match event {
            xdg_popup::Event::Configure {
                x,
                y,
                width,
                height,
            } => state.popup_configure = Some((x, y, width, height)),
            xdg_popup::Event::PopupDone => state.popup_done = true,
            _ => {}
        }
    }
}

impl Dispatch<XdgSurface, PopupSurface> for State {
    fn event(
        state: &mut Self,
        _: &XdgSurface,
        event: wayland_protocols::xdg::shell::client::xdg_surface::Event,
        _: &PopupSurface,
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        if let wayland_protocols::xdg::shell::client::xdg_surface::Event::Configure { serial } =
            event
        {
            state.popup_serial = Some(serial);
        }
    }
}

delegate_noop!(State: ignore ZxdgDecorationManagerV1);
delegate_noop!(State: ignore WpFractionalScaleManagerV1);
delegate_noop!(State: ignore ZwlrLayerShellV1);
delegate_noop!(State: ignore XdgPositioner);
