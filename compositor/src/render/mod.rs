//! Building an output's scene (front to back) and reading it back as a picture; what
//! happens after a frame is in `after_frame`. Shared by every backend and renderer.

use smithay::{
    backend::{
        allocator::Fourcc,
        renderer::{
            damage::OutputDamageTracker,
            element::{
                memory::MemoryRenderBufferRenderElement,
                solid::SolidColorRenderElement,
                surface::{render_elements_from_surface_tree, WaylandSurfaceRenderElement},
                AsRenderElements, Kind,
            },
            Bind, ExportMem, ImportAll, ImportMem, Offscreen, Renderer, Texture,
        },
    },
    desktop::{layer_map_for_output, utils::with_surfaces_surface_tree, Space, Window},
    input::pointer::CursorImageStatus,
    output::Output,
    reexports::wayland_server::{protocol::wl_surface::WlSurface, Resource},
    utils::{Logical, Physical, Point, Rectangle, Scale, Size, Transform},
    wayland::shell::wlr_layer::Layer,
};

pub mod after_frame;
pub mod colour;
pub mod colour_frames;
pub mod cursor;
pub mod notification;
pub mod overlay;
pub mod text;
pub mod yuv;

use crate::{shell::decorations, state::Ghost};
use notification::Notification;

/// The background where nothing is drawn.
pub const CLEAR_COLOR: [f32; 4] = [0.07, 0.08, 0.10, 1.0];

smithay::backend::renderer::element::render_elements! {
    /// Everything that can appear on an output.
    pub OutputElement<R> where R: ImportAll + ImportMem;
    /// Client surfaces (windows, popups, layers, cursor).
    Surface = WaylandSurfaceRenderElement<R>,
    /// Solid fills (title bars).
    Solid = SolidColorRenderElement,
    /// Compositor-drawn images (notifications).
    Memory = MemoryRenderBufferRenderElement<R>,
}

/// The scene of what the screen shows now, borrowing `$state`'s fields one by one so
/// the backend stays free to be borrowed mutably beside it. Every path that draws the
/// screen (a backend's frame, a cast drawing that frame itself) starts from this one.
#[macro_export]
macro_rules! screen_scene {
    ($state:expr) => {
        $crate::render::Scene::new(
            &$state.space,
            &$state.cursor_status,
            &$state.seat,
            $state.notification.as_ref(),
        )
        .sharing($state.casts.active() || $state.recordings.active())
        .remote_control($state.remotes.active())
        .selection($state.picks.selection())
        .locked(&$state.lock)
        .overlay($crate::telemetry::overlay::view(
            &$state.telemetry.overlay,
            &$state.space,
            $state.config.telemetry.overlay_corner,
        ))
    };
}

/// The parts of the compositor state a frame is drawn from, borrowed apart from the
/// backend so a backend can render while holding its renderer mutably.
pub struct Scene<'a> {
    /// Whether captures (screenshots, screencopy) include the cursor.
    pub capture_cursor: bool,
    /// Draws windows that `block_out_from_screencast` rules mark as black boxes: set for
    /// every picture that leaves the compositor, never for the screen itself.
    pub block_out: bool,
    /// Captures this window alone (a toplevel capture source), its geometry being the
    /// whole picture; None captures the output.
    pub only_window: Option<Window>,
    /// Captures the pointer's image alone (cursor capture sessions).
    pub only_cursor: bool,
    /// Something is being shared: a red dot in each output's top-right corner says so.
    sharing: bool,
    /// A remote peer may drive the input: an amber dot beside the red one.
    remote_control: bool,
    /// A region being dragged out in the share prompt (global logical coordinates).
    selection: Option<Rectangle<i32, Logical>>,
    pointer: Option<Point<f64, Logical>>,
    space: &'a Space<Window>,
    notification: Option<&'a Notification>,
    cursor: Option<(WlSurface, Point<f64, Logical>)>,
    /// Where the pointer is, when it shows a named shape (no client surface).
    named_at: Option<Point<f64, Logical>>,
    default_cursor: Option<&'a cursor::DefaultCursor>,
    focused: Option<WlSurface>,
    /// The session lock, when the session is locked: only lock surfaces are drawn.
    lock: Option<&'a crate::session::lock::SessionLock>,
    /// The performance overlay, while shown.
    overlay: Option<crate::telemetry::overlay::OverlayView<'a>>,
}

impl<'a> Scene<'a> {
    /// Borrows what a frame needs from the state's fields.
    pub fn new(
        space: &'a Space<Window>,
        cursor_status: &CursorImageStatus,
        seat: &smithay::input::Seat<Ghost>,
        notification: Option<&'a Notification>,
    ) -> Self {
        let pointer = seat.get_pointer().map(|p| p.current_location());
        let cursor = match (cursor_status, pointer) {
            (CursorImageStatus::Surface(surface), Some(loc)) if surface.is_alive() => {
                let hotspot = cursor::hotspot(surface);
                Some((surface.clone(), loc - hotspot.to_f64()))
            }
            _ => None,
        };
        let focused = seat
            .get_keyboard()
            .and_then(|k| k.current_focus())
            .and_then(|f| {
                smithay::wayland::seat::WaylandFocus::wl_surface(&f).map(|s| s.into_owned())
            });
        let named_at = match cursor_status {
            CursorImageStatus::Named(_) => pointer,
            _ => None,
        };
        Self {
            capture_cursor: false,
            block_out: false,
            only_window: None,
            only_cursor: false,
            sharing: false,
            remote_control: false,
            selection: None,
            pointer,
            space,
            notification,
            cursor,
            named_at,
            default_cursor: None,
            focused,
            lock: None,
            overlay: None,
        }
    }

    /// Draws the performance overlay where `view` says.
    pub fn overlay(mut self, view: Option<crate::telemetry::overlay::OverlayView<'a>>) -> Self {
        self.overlay = view;
        self
    }

    /// Shows the sharing indicator while `active` (the screen as people see it, never
    /// in what is shared).
    pub fn sharing(mut self, active: bool) -> Self {
        self.sharing = active;
        self
    }

    /// Shows the remote-control indicator while `active` (on the screen only).
    pub fn remote_control(mut self, active: bool) -> Self {
        self.remote_control = active;
        self
    }

    /// Outlines `selection`, the region being dragged out in the share prompt.
    pub fn selection(mut self, selection: Option<Rectangle<i32, Logical>>) -> Self {
        self.selection = selection;
        self
    }

    /// Draws only what `lock` allows while the session is locked.
    pub fn locked(mut self, lock: &'a crate::session::lock::SessionLock) -> Self {
        self.lock = lock.is_locked().then_some(lock);
        self
    }

    /// Leaves the pointer out when `draw` is false (a cursor plane shows it).
    pub fn with_pointer(mut self, draw: bool) -> Self {
        if !draw {
            self.cursor = None;
            self.named_at = None;
        }
        self
    }

    /// Draws `cursor` for named pointer shapes (backends where nobody else draws one).
    pub fn with_default_cursor(mut self, cursor: Option<&'a cursor::DefaultCursor>) -> Self {
        self.default_cursor = cursor;
        self
    }

    /// Elements of `output`, front to back. The cursor is left out of screenshots.
    pub fn elements<R>(
        &self,
        renderer: &mut R,
        output: &Output,
        with_cursor: bool,
    ) -> Vec<OutputElement<R>>
    where
        R: Renderer + ImportAll + ImportMem,
        R::TextureId: Clone + Texture + Send + 'static,
    {
        let Some(output_geo) = self.space.output_geometry(output) else {
            return Vec::new();
        };
        let scale = Scale::from(output.current_scale().fractional_scale());
        if let Some(lock) = self.lock {
            // A locked session shows its lock surfaces (and the pointer over them) on
            // the screen and in whole-output captures; nothing else, ever.
            let mut elements = Vec::new();
            if self.only_window.is_some() || self.only_cursor {
                return elements;
            }
            if with_cursor {
                self.cursor_elements(renderer, output_geo.loc, scale, &mut elements);
            }
            elements.extend(lock.elements::<R, OutputElement<R>>(renderer, output, scale));
            return elements;
        }
        if let Some(window) = &self.only_window {
            return self.window_alone(renderer, window, scale, with_cursor);
        }
        if self.only_cursor {
            let mut elements = Vec::new();
            if let Some((image, _)) = self.cursor_image() {
                self.cursor_elements(renderer, image.loc, scale, &mut elements);
            }
            return elements;
        }
        let origin = output_geo.loc;
        let to_physical = |p: Point<i32, Logical>| -> Point<i32, Physical> {
            (p - origin).to_physical_precise_round(scale)
        };
        let mut elements: Vec<OutputElement<R>> = Vec::new();

        if with_cursor {
            self.cursor_elements(renderer, origin, scale, &mut elements);
        }

        if self.sharing {
            elements.push(OutputElement::Solid(overlay::sharing_dot(
                output_geo, scale,
            )));
        }
        if self.remote_control {
            elements.push(OutputElement::Solid(overlay::remote_dot(output_geo, scale)));
        }
        if let Some(selection) = self.selection {
            elements.extend(
                overlay::selection_edges(selection, output_geo, scale).map(OutputElement::Solid),
            );
        }

        if let Some(view) = self.overlay.as_ref().filter(|v| v.output == output) {
            let loc = to_physical(view.at).to_f64();
            match MemoryRenderBufferRenderElement::from_buffer(
                renderer,
                loc,
                view.buffer,
                None,
                None,
                None,
                Kind::Unspecified,
            ) {
                Ok(e) => elements.push(OutputElement::Memory(e)),
                Err(err) => tracing::warn!(?err, "cannot draw the performance overlay"),
            }
        }

        if let Some(n) = self.notification {
            let at = notification::placement(n.size, output_geo);
            let loc = to_physical(at.loc).to_f64();
            match MemoryRenderBufferRenderElement::from_buffer(
                renderer,
                loc,
                &n.buffer,
                None,
                None,
                None,
                Kind::Unspecified,
            ) {
                Ok(e) => elements.push(OutputElement::Memory(e)),
                Err(err) => tracing::warn!(?err, "cannot draw the notification"),
            }
        }

        let map = layer_map_for_output(output);
        let layer_elements =
            |layer: Layer, renderer: &mut R, elements: &mut Vec<OutputElement<R>>| {
                for surface in map.layers_on(layer).rev() {
                    let Some(geo) = map.layer_geometry(surface) else {
                        continue;
                    };
                    let loc = geo.loc.to_physical_precise_round(scale);
                    elements.extend(
                        AsRenderElements::<R>::render_elements::<WaylandSurfaceRenderElement<R>>(
                            surface, renderer, loc, scale, 1.0,
                        )
                        .into_iter()
                        .map(OutputElement::Surface),
                    );
                }
            };
        layer_elements(Layer::Overlay, renderer, &mut elements);
        layer_elements(Layer::Top, renderer, &mut elements);

        for window in self.space.elements().rev() {
            let Some(loc) = self.space.element_location(window) else {
                continue;
            };
            let bbox = self.space.element_bbox(window).unwrap_or_default();
            let bar = decorations::title_bar_rect(window, loc);
            if !output_geo.overlaps(bbox) && !output_geo.overlaps(bar) {
                continue;
            }
            let focused = window.toplevel().map(|t| t.wl_surface()) == self.focused.as_ref();
            elements.extend(
                decorations::title_bar_elements(window, loc, origin, scale, focused)
                    .into_iter()
                    .map(OutputElement::Solid),
            );
            self.window_content(renderer, window, loc - origin, scale, &mut elements);
        }

        layer_elements(Layer::Bottom, renderer, &mut elements);
        layer_elements(Layer::Background, renderer, &mut elements);
        elements
    }
}

impl Scene<'_> {
    /// The pointer's elements with `origin` (global logical) at the picture's top left.
    fn cursor_elements<R>(
        &self,
        renderer: &mut R,
        origin: Point<i32, Logical>,
        scale: Scale<f64>,
        elements: &mut Vec<OutputElement<R>>,
    ) where
        R: Renderer + ImportAll + ImportMem,
        R::TextureId: Clone + Texture + Send + 'static,
    {
        if let Some((surface, loc)) = &self.cursor {
            let loc = (loc.to_i32_round() - origin).to_physical_precise_round(scale);
            elements.extend(render_elements_from_surface_tree::<_, OutputElement<R>>(
                renderer,
                surface,
                loc,
                scale,
                1.0,
                Kind::Cursor,
            ));
        }
        if let (Some(at), Some(arrow)) = (self.named_at, self.default_cursor) {
            let loc: Point<f64, Physical> = (at.to_i32_round() - arrow.hotspot - origin)
                .to_physical_precise_round::<f64, i32>(scale)
                .to_f64();
            match MemoryRenderBufferRenderElement::from_buffer(
                renderer,
                loc,
                &arrow.buffer,
                None,
                None,
                None,
                Kind::Cursor,
            ) {
                Ok(e) => elements.push(OutputElement::Memory(e)),
                Err(err) => tracing::warn!(?err, "cannot draw the pointer"),
            }
        }
    }

    /// A window's surfaces (popups included) with its geometry's top left at `at`
    /// (logical, from the picture's top left), or a black box in their place when the
    /// window is blocked out of this picture.
    fn window_content<R>(
        &self,
        renderer: &mut R,
        window: &Window,
        at: Point<i32, Logical>,
        scale: Scale<f64>,
        elements: &mut Vec<OutputElement<R>>,
    ) where
        R: Renderer + ImportAll + ImportMem,
        R::TextureId: Clone + Texture + Send + 'static,
    {
        let data = crate::shell::window_data(window);
        if self.block_out && data.block_out.get() {
            let size = window.geometry().size.to_physical_precise_round(scale);
            elements.push(OutputElement::Solid(SolidColorRenderElement::new(
                data.block_out_id.clone(),
                Rectangle::new(at.to_physical_precise_round(scale), size),
                smithay::backend::renderer::utils::CommitCounter::default(),
                [0.0, 0.0, 0.0, 1.0],
                Kind::Unspecified,
            )));
            return;
        }
        let render_loc = (at - window.geometry().loc).to_physical_precise_round(scale);
        // An X11 window whose surface smithay does not know (Xwayland 22.1).
        if let Some(surface) = window.x11_surface().and_then(crate::xwayland::tied_by_id) {
            elements.extend(render_elements_from_surface_tree::<_, OutputElement<R>>(
                renderer,
                &surface,
                at.to_physical_precise_round(scale),
                scale,
                data.opacity.get(),
                Kind::Unspecified,
            ));
            return;
        }
        elements.extend(
            AsRenderElements::<R>::render_elements::<WaylandSurfaceRenderElement<R>>(
                window,
                renderer,
                render_loc,
                scale,
                data.opacity.get(),
            )
            .into_iter()
            .map(OutputElement::Surface),
        );
    }

    /// Elements of a toplevel capture: the window alone, its geometry's top left at the
    /// picture's origin, and the pointer when asked and over it.
    fn window_alone<R>(
        &self,
        renderer: &mut R,
        window: &Window,
        scale: Scale<f64>,
        with_cursor: bool,
    ) -> Vec<OutputElement<R>>
    where
        R: Renderer + ImportAll + ImportMem,
        R::TextureId: Clone + Texture + Send + 'static,
    {
        let mut elements = Vec::new();
        let Some(loc) = self.space.element_location(window) else {
            return elements;
        };
        if with_cursor {
            self.cursor_elements(renderer, loc, scale, &mut elements);
        }
        self.window_content(renderer, window, (0, 0).into(), scale, &mut elements);
        elements
    }

    /// The size of the picture a capture of `output` (or of the scene's single window
    /// or cursor, at `output`'s scale) has, upright; None when there is nothing to show.
    pub fn capture_size(&self, output: &Output) -> Option<Size<i32, Physical>> {
        let scale = output.current_scale().fractional_scale();
        let logical = if let Some(window) = &self.only_window {
            window.geometry().size
        } else if self.only_cursor {
            self.cursor_image()?.0.size
        } else {
            let mode = output.current_mode()?;
            return Some(output.current_transform().transform_size(mode.size));
        };
        let size = logical.to_physical_precise_round(scale);
        (size.w > 0 && size.h > 0).then_some(size)
    }

    /// Where the pointer's image is drawn (global logical) and its hotspot within it;
    /// None while the pointer is hidden or shows a shape nobody draws.
    pub fn cursor_image(&self) -> Option<(Rectangle<i32, Logical>, Point<i32, Logical>)> {
        let pointer = self.pointer?.to_i32_round();
        if let Some((surface, loc)) = &self.cursor {
            let bbox = smithay::desktop::utils::bbox_from_surface_tree(surface, (0, 0));
            let top_left = loc.to_i32_round() + bbox.loc;
            return Some((Rectangle::new(top_left, bbox.size), pointer - top_left));
        }
        let arrow = self.default_cursor?;
        self.named_at?;
        let size = (arrow.image.width as i32, arrow.image.height as i32);
        Some((
            Rectangle::new(pointer - arrow.hotspot, size.into()),
            arrow.hotspot,
        ))
    }

    /// What shows where nothing is drawn: the desktop's background, or transparency
    /// around a window or pointer captured alone.
    pub fn clear_color(&self) -> [f32; 4] {
        if self.lock.is_some() {
            crate::session::lock::COVER
        } else if self.only_window.is_some() || self.only_cursor {
            [0.0, 0.0, 0.0, 0.0]
        } else {
            CLEAR_COLOR
        }
    }
}

impl Scene<'_> {
    /// The surfaces on `output` that set a colour description (the rest are sRGB),
    /// keyed by the id their render elements carry.
    pub fn surface_descriptions(
        &self,
        output: &Output,
    ) -> std::collections::HashMap<
        smithay::backend::renderer::element::Id,
        ghost_hdr::ImageDescription,
    > {
        use crate::protocols::color_management::SurfaceColour;
        let mut out = std::collections::HashMap::new();
        let mut visit =
            |surface: &WlSurface, states: &smithay::wayland::compositor::SurfaceData| {
                let current = states
                    .cached_state
                    .get::<SurfaceColour>()
                    .current()
                    .description;
                if let Some((description, _)) = current {
                    out.insert(
                        smithay::backend::renderer::element::Id::from_wayland_resource(surface),
                        description,
                    );
                }
            };
        for window in self.space.elements() {
            crate::shell::with_window_surfaces(window, &mut visit);
        }
        for layer in layer_map_for_output(output).layers() {
            layer.with_surfaces(&mut visit);
        }
        if let Some((cursor, _)) = &self.cursor {
            with_surfaces_surface_tree(cursor, &mut visit);
        }
        out
    }
}

/// Renders `output` into a fresh offscreen buffer (the cursor only when the scene's
/// `capture_cursor` says so) and reads it back, upright
/// as a person sees the output: the output's transform is undone, so a screen rotated
/// to portrait gives a portrait picture.
pub fn capture_output<R, T>(
    scene: &Scene<'_>,
    renderer: &mut R,
    output: &Output,
) -> anyhow::Result<ghost_capture::Frame>
where
    R: Renderer + ImportAll + ImportMem + Offscreen<T> + Bind<T> + ExportMem,
    R::TextureId: Clone + Texture + Send + 'static,
    R::Error: std::error::Error + Send + Sync + 'static,
{
    let size = scene
        .capture_size(output)
        .ok_or_else(|| anyhow::anyhow!("nothing of {} to capture", output.name()))?;
    let scale = output.current_scale().fractional_scale();
    let buffer_size = size.to_logical(1).to_buffer(1, Transform::Normal);
    let mut buffer = renderer.create_buffer(Fourcc::Abgr8888, buffer_size)?;
    let elements = scene.elements(renderer, output, scene.capture_cursor);
    let mut framebuffer = renderer.bind(&mut buffer)?;
    let mut tracker = OutputDamageTracker::new(size, scale, Transform::Normal);
    tracker
        .render_output(
            renderer,
            &mut framebuffer,
            0,
            &elements,
            scene.clear_color(),
        )
        .map_err(|e| anyhow::anyhow!("rendering the screenshot failed: {e:?}"))?;
    let region = Rectangle::from_size((size.w, size.h).into());
    let mapping = renderer.copy_framebuffer(&framebuffer, region, Fourcc::Abgr8888)?;
    let bytes = renderer.map_texture(&mapping)?.to_vec();
    let frame = ghost_capture::Frame::new(
        size.w as u32,
        size.h as u32,
        size.w as usize * 4,
        ghost_capture::PixelFormat::Abgr8888,
        bytes,
    )?;
    Ok(frame)
}
