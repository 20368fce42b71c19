//! Window management: a stacking desktop. Windows are placed centred on the output the
//! pointer is on, focus follows clicks and keyboard cycling, and windows can be moved,
//! resized, maximized, made fullscreen and minimized.

mod arrange;
pub mod decorations;
pub mod grabs;
mod layers;
pub mod placement;
pub mod popup_grab;
mod rules;
pub mod tiling;
mod tiling_glue;
mod window_states;
mod workspace_glue;
pub mod workspaces;

use std::{
    cell::{Cell, RefCell},
    sync::atomic::{AtomicU64, Ordering},
};

use smithay::{
    desktop::{layer_map_for_output, PopupKind, Window},
    output::Output,
    reexports::{
        wayland_protocols::xdg::shell::server::xdg_toplevel,
        wayland_server::{protocol::wl_surface::WlSurface, Resource},
    },
    utils::{Logical, Point, Rectangle, SERIAL_COUNTER},
    wayland::{
        compositor::with_states,
        foreign_toplevel_list::ForeignToplevelHandle,
        shell::xdg::{SurfaceCachedState, XdgToplevelSurfaceData},
    },
};

use crate::state::Ghost;

static NEXT_WINDOW_ID: AtomicU64 = AtomicU64::new(1);

/// What ghostcomp remembers about a window beyond what smithay tracks.
#[derive(Debug)]
pub struct WindowData {
    /// Stable id for IPC (`ghostcomp msg focus ID`).
    pub id: u64,
    /// Whether the compositor draws the title bar.
    pub server_side_decorations: Cell<bool>,
    /// Whether the window has been placed after its first buffer.
    pub placed: Cell<bool>,
    /// Geometry to return to when leaving maximized or fullscreen.
    pub restore: RefCell<Option<Rectangle<i32, Logical>>>,
    /// The ext-foreign-toplevel-list handle, for task bars.
    pub foreign: RefCell<Option<ForeignToplevelHandle>>,
    /// Set while an interactive resize keeps the opposite edges in place.
    pub resize: Cell<Option<grabs::ResizeAnchor>>,
    /// The server-side title bar's buffers.
    pub decorations: RefCell<decorations::TitleBar>,
    /// Opacity from window rules.
    pub opacity: Cell<f32>,
    /// VRR policy from window rules (kept here so a frame need not match rules).
    pub vrr: Cell<Option<ghost_config::VrrPolicy>>,
    /// Drawn black in every capture (`block_out_from_screencast` rules).
    pub block_out: Cell<bool>,
    /// An X11 program's `_NET_WM_BYPASS_COMPOSITOR`: 0 no preference, 1 it wants the
    /// fastest path to the screen (a game: content type "game" for the VRR policy), 2
    /// it wants to stay composited (never scanned out directly or put on a plane).
    pub bypass_compositor: Cell<u32>,
    /// Render element id of the black box, stable so capture damage stays small.
    pub block_out_id: smithay::backend::renderer::element::Id,
    /// The half or quarter of its output the window was snapped to, while it stays.
    pub snapped: Cell<Option<placement::Snap>>,
    /// Where it was relative to its output's corner while its workspace is not shown.
    pub parked_at: Cell<Option<Point<i32, Logical>>>,
    /// The user's word on floating in a tiled workspace (`toggle-floating`, or moving
    /// it with the pointer), above the window rules'.
    pub floating: Cell<Option<bool>>,
    /// While it is in a tiled workspace's tiles: its floating place and size, to go back
    /// to when it leaves them.
    pub tiled_from: Cell<Option<Rectangle<i32, Logical>>>,
}

/// ghostcomp's data of a window (created on first use).
pub fn window_data(window: &Window) -> &WindowData {
    window.user_data().insert_if_missing(|| WindowData {
        id: NEXT_WINDOW_ID.fetch_add(1, Ordering::Relaxed),
        server_side_decorations: Cell::new(false),
        placed: Cell::new(false),
        restore: RefCell::new(None),
        foreign: RefCell::new(None),
        resize: Cell::new(None),
        decorations: RefCell::new(decorations::TitleBar::default()),
        opacity: Cell::new(1.0),
        vrr: Cell::new(None),
        block_out: Cell::new(false),
        bypass_compositor: Cell::new(0),
        block_out_id: smithay::backend::renderer::element::Id::new(),
        snapped: Cell::new(None),
        parked_at: Cell::new(None),
        floating: Cell::new(None),
        tiled_from: Cell::new(None),
    });
    // insert_if_missing just ensured it exists.
    window
        .user_data()
        .get::<WindowData>()
        .expect("window data was just inserted")
}

/// Title and app_id of a toplevel, empty when unset.
pub fn title_and_app_id(surface: &WlSurface) -> (String, String) {
    with_states(surface, |states| {
        states
            .data_map
            .get::<XdgToplevelSurfaceData>()
            .and_then(|d| d.lock().ok())
            .map(|d| {
                (
                    d.title.clone().unwrap_or_default(),
                    d.app_id.clone().unwrap_or_default(),
                )
            })
            .unwrap_or_default()
    })
}

/// Puts a toplevel's next configure in the fullscreen state on `output`, at `size`.
pub(crate) fn pend_fullscreen(
    toplevel: &smithay::wayland::shell::xdg::ToplevelSurface,
    output: &Output,
    size: smithay::utils::Size<i32, smithay::utils::Logical>,
) {
    let client_output = toplevel
        .wl_surface()
        .client()
        .and_then(|c| output.client_outputs(&c).next());
    toplevel.with_pending_state(|s| {
        s.states.set(xdg_toplevel::State::Fullscreen);
        s.size = Some(size);
        s.fullscreen_output = client_output;
    });
}

/// What the window shows, for the VRR policy and `msg windows`: its surface's
/// wp_content_type, or "game" for an X11 program that asked to bypass composition (X11
/// has no content type; SDL games and Wine ask for that when fullscreen).
pub fn window_content_type(window: &Window) -> Option<&'static str> {
    let surface = toplevel_surface(window)?;
    let said = crate::handlers::pacing::content_type(&surface);
    Some(
        if said == "none" && window_data(window).bypass_compositor.get() == 1 {
            "game"
        } else {
            said
        },
    )
}

/// The window's main surface: the xdg toplevel's, or the one Xwayland drew an X11
/// window into (None until Xwayland ties them together).
pub fn toplevel_surface(window: &Window) -> Option<WlSurface> {
    use smithay::wayland::seat::WaylandFocus;
    if let Some(x11) = window.x11_surface() {
        return crate::xwayland::surface_of(x11);
    }
    window.wl_surface().map(|s| s.into_owned())
}

/// Whether `window` is maximized, and whether it is fullscreen (xdg states or the X11
/// window's own). `decided` takes what the compositor last decided (sent or about to
/// be) rather than what the client has committed to.
pub fn window_is_maximized_or_fullscreen(window: &Window, decided: bool) -> (bool, bool) {
    use smithay::reexports::wayland_protocols::xdg::shell::server::xdg_toplevel::State;
    if let Some(x11) = window.x11_surface() {
        return (x11.is_maximized(), x11.is_fullscreen());
    }
    let states = window.toplevel().map(|t| match decided {
        true => t.with_pending_state(|s| s.states.clone()),
        false => t.current_state().states,
    });
    let has = |s: State| states.as_ref().is_some_and(|all| all.contains(s));
    (has(State::Maximized), has(State::Fullscreen))
}

/// Whether `window` belongs to another (an xdg toplevel with a parent, an X11
/// transient): a dialog rather than a main window.
pub fn has_parent(window: &Window) -> bool {
    if let Some(x11) = window.x11_surface() {
        return x11.is_transient_for().is_some();
    }
    window.toplevel().is_some_and(|t| t.parent().is_some())
}

/// Runs `f` on every surface of `window`, including the surface of an X11 window that
/// smithay does not know (see `xwayland::tie`).
pub fn with_window_surfaces<F>(window: &Window, mut f: F)
where
    F: FnMut(&WlSurface, &smithay::wayland::compositor::SurfaceData),
{
    window.with_surfaces(&mut f);
    if let Some(surface) = window.x11_surface().and_then(crate::xwayland::tied_by_id) {
        smithay::wayland::compositor::with_surface_tree_downward(
            &surface,
            (),
            |_, _, _| smithay::wayland::compositor::TraversalAction::DoChildren(()),
            |surface, states, _| f(surface, states),
            |_, _, _| true,
        );
    }
}

/// The window's title and app id; for an X11 window its WM_CLASS class.
pub fn window_title_and_app_id(window: &Window) -> (String, String) {
    if let Some(x11) = window.x11_surface() {
        return (x11.title(), x11.class());
    }
    window
        .toplevel()
        .map(|t| title_and_app_id(t.wl_surface()))
        .unwrap_or_default()
}

impl Ghost {
    /// Every window: shown, minimized, or on a workspace not shown.
    pub fn all_windows(&self) -> impl Iterator<Item = &Window> {
        self.space
            .elements()
            .chain(self.minimized.iter())
            .chain(self.workspaces.hidden())
    }

    /// The window whose toplevel surface is `surface`, wherever it is.
    pub fn window_for_surface(&self, surface: &WlSurface) -> Option<Window> {
        self.all_windows()
            .find(|w| toplevel_surface(w).as_ref() == Some(surface))
            .cloned()
    }

    /// The window with IPC id `id`.
    pub fn window_by_id(&self, id: u64) -> Option<Window> {
        self.all_windows()
            .find(|w| window_data(w).id == id)
            .cloned()
    }

    /// The output the pointer is on, else the first one.
    pub fn active_output(&self) -> Option<Output> {
        let pointer = self.seat.get_pointer()?.current_location();
        self.space
            .output_under(pointer)
            .next()
            .or_else(|| self.space.outputs().next())
            .cloned()
    }

    /// The surface with keyboard focus (an X11 window's by way of its tie).
    pub fn keyboard_focus_surface(&self) -> Option<WlSurface> {
        let focus = self.seat.get_keyboard()?.current_focus()?;
        smithay::wayland::seat::WaylandFocus::wl_surface(&focus).map(|s| s.into_owned())
    }

    /// The window with keyboard focus.
    pub fn focused_window(&self) -> Option<Window> {
        self.window_for_surface(&self.keyboard_focus_surface()?)
    }

    /// A new toplevel: it joins the space now and is placed once its size is known.
    pub fn add_window(&mut self, window: Window) {
        let data = window_data(&window);
        if let Some(surface) = toplevel_surface(&window) {
            let (title, app_id) = title_and_app_id(&surface);
            let handle = self
                .foreign_toplevel_list_state
                .new_toplevel::<Ghost>(title, app_id);
            *data.foreign.borrow_mut() = Some(handle);
        }
        let output = self.active_output();
        let origin = output
            .as_ref()
            .and_then(|o| self.space.output_geometry(o))
            .map(|g| g.loc)
            .unwrap_or_default();
        self.workspaces_sync_outputs();
        let name = output.map(|o| o.name()).unwrap_or_default();
        self.workspaces.add_window(&name, window.clone());
        self.space.map_element(window, origin, false);
    }

    /// A toplevel went away: forget it and give focus to the next window.
    pub fn remove_window(&mut self, surface: &WlSurface) {
        if let Some(window) = self.window_for_surface(surface) {
            self.forget_window(&window);
        }
    }

    /// Takes `window` off the desktop and gives focus to the next window.
    pub fn forget_window(&mut self, window: &Window) {
        let window = window.clone();
        if let Some(handle) = window_data(&window).foreign.borrow_mut().take() {
            self.foreign_toplevel_list_state.remove_toplevel(&handle);
        }
        let had_focus = self.focused_window().as_ref() == Some(&window);
        self.space.unmap_elem(&window);
        self.minimized.retain(|w| w != &window);
        self.workspaces.remove_window(&window);
        self.ext_workspaces_refresh();
        if had_focus {
            self.focus_top_window();
        }
        self.image_copy_sources_changed();
        self.queue_redraw_all();
    }

    /// Called on every commit after smithay's bookkeeping: initial configures, first
    /// placement of new windows, layer-surface arrangement, and resize anchoring.
    pub fn shell_commit(&mut self, surface: &WlSurface, root: &WlSurface) {
        if let Some(window) = self.window_for_surface(surface) {
            self.toplevel_commit(&window);
        }
        if let Some(PopupKind::Xdg(ref xdg)) = self.popups.find_popup(surface) {
            if !xdg.is_initial_configure_sent() {
                if let Err(err) = xdg.send_configure() {
                    tracing::warn!(%err, "initial popup configure failed");
                }
            }
        }
        self.layer_commit(surface);
        grabs::resize_commit(self, root);
    }

    fn toplevel_commit(&mut self, window: &Window) {
        let Some(toplevel) = window.toplevel() else {
            return;
        };
        let data = window_data(window);
        let has_buffer = window.geometry().size.w > 0 && window.geometry().size.h > 0;
        if !toplevel.is_initial_configure_sent() {
            self.prepare_open_state(window);
            toplevel.send_configure();
            // A client that attached its first buffer before the configure (which
            // xdg-shell does not allow, but some do) is placed now all the same.
            if !has_buffer {
                return;
            }
        }
        if has_buffer && !data.placed.get() {
            data.placed.set(true);
            // Minimized before its first frame: it opens where it would have when
            // restored, without taking the focus.
            if self.minimized.contains(window) {
                return;
            }
            self.place_new_window(window);
            self.apply_open_rules(window);
            // A rule may have put it on a workspace not shown: it waits there.
            if !self.workspaces.is_hidden(window) {
                self.focus_window(window);
            }
        }
    }

    /// Gives keyboard focus to `surface` (or nobody) and updates activated states.
    pub fn set_keyboard_focus(&mut self, surface: Option<WlSurface>) {
        let Some(keyboard) = self.seat.get_keyboard() else {
            return;
        };
        // While locked the keyboard goes to lock surfaces only.
        if self.lock.is_locked() && surface.as_ref().is_some_and(|s| !self.lock.owns(s)) {
            return;
        }
        // A layer surface holding the keyboard exclusively keeps it.
        if !self.lock.is_locked() {
            if let Some(exclusive) = self.exclusive_layer() {
                if surface.as_ref() != Some(&exclusive) {
                    return;
                }
            }
        }
        // An X11 window takes focus through the X server as well.
        let x11 = surface.as_ref().and_then(|s| {
            self.space
                .elements()
                .find(|w| toplevel_surface(w).as_ref() == Some(s))
                .and_then(|w| w.x11_surface().cloned())
        });
        let target = match (x11, surface.clone()) {
            (Some(x11), _) => Some(crate::xwayland::KeyboardFocus::X11(x11)),
            (None, s) => s.map(crate::xwayland::KeyboardFocus::Surface),
        };
        keyboard.set_focus(self, target, SERIAL_COUNTER.next_serial());
        // Taskbars hear of it before the client's next round trip ends.
        self.foreign_toplevels_refresh();
        for window in self.space.elements() {
            let active = toplevel_surface(window) == surface;
            if window.set_activated(active) {
                if let Some(t) = window.toplevel() {
                    t.send_pending_configure();
                }
            }
        }
        self.queue_redraw_all();
    }

    /// Raises `window`, focuses it, and restores it if minimized.
    pub fn focus_window(&mut self, window: &Window) {
        self.reveal_window(window);
        if let Some(pos) = self.minimized.iter().position(|w| w == window) {
            let w = self.minimized.remove(pos);
            let loc = window_data(&w).restore.borrow_mut().take().map(|g| g.loc);
            self.space
                .map_element(w.clone(), loc.unwrap_or_default(), false);
            // It comes back on the shown workspace of the output it returns to.
            let output = self.output_of(&w).map(|o| o.name()).unwrap_or_default();
            self.workspaces.add_window(&output, w);
            self.ext_workspaces_refresh();
        }
        self.space.raise_element(window, false);
        if let (Some(x11), Some(wm)) = (window.x11_surface(), self.xwayland.wm.as_mut()) {
            if let Err(err) = wm.raise_window(x11) {
                tracing::debug!(%err, "cannot raise an X11 window");
            }
        }
        self.set_keyboard_focus(toplevel_surface(window));
    }

    /// Gives the keyboard to the window on top (nobody where there is none), when what
    /// had it went away.
    pub fn focus_top_window(&mut self) {
        match self.space.elements().last().cloned() {
            Some(top) => self.focus_window(&top),
            None => self.set_keyboard_focus(None),
        }
    }

    /// Focuses the next (or previous) window in stacking order, like Alt+Tab.
    pub fn cycle_focus(&mut self, forward: bool) {
        let windows: Vec<Window> = self.space.elements().cloned().collect();
        if windows.is_empty() {
            return;
        }
        let current = self.focused_window();
        let target = if forward {
            // The bottom-most window comes to the top; repeating walks the whole stack.
            windows.first().cloned()
        } else {
            let idx = current
                .and_then(|c| windows.iter().position(|w| *w == c))
                .unwrap_or(windows.len() - 1);
            windows
                .get(idx.checked_sub(1).unwrap_or(windows.len() - 1))
                .cloned()
        };
        if let Some(target) = target {
            self.focus_window(&target);
        }
    }

    /// Asks a window to close (the client decides).
    pub fn close_window(&self, window: &Window) {
        if let Some(t) = window.toplevel() {
            t.send_close();
        }
        if let Some(x11) = window.x11_surface() {
            if let Err(err) = x11.close() {
                tracing::debug!(%err, "cannot close an X11 window");
            }
        }
    }

    /// The area windows may use on `output`: the output minus exclusive layer surfaces.
    pub fn usable_area(&self, output: &Output) -> Rectangle<i32, Logical> {
        let geo = self.space.output_geometry(output).unwrap_or_default();
        let zone = layers::free_zone(&layer_map_for_output(output), geo.size);
        Rectangle::new(geo.loc + zone.loc, zone.size)
    }

    /// The output the window is on: the one under its centre, computed from where it is
    /// now (the space's own list is only refreshed between event-loop iterations).
    pub(crate) fn output_of(&self, window: &Window) -> Option<Output> {
        self.space
            .element_geometry(window)
            .and_then(|g| {
                let centre = g.loc.to_f64() + g.size.to_f64().downscale(2.0).to_point();
                self.space.output_under(centre).next().cloned()
            })
            .or_else(|| self.space.outputs_for_element(window).into_iter().next())
            .or_else(|| self.active_output())
    }

    /// Tells task bars the window's new title or app_id (and re-checks rules).
    pub fn sync_foreign_toplevel(&mut self, surface: &WlSurface) {
        let Some(window) = self.window_for_surface(surface) else {
            return;
        };
        self.apply_live_rules(&window);
        let (title, app_id) = title_and_app_id(surface);
        if let Some(handle) = window_data(&window).foreign.borrow().as_ref() {
            handle.send_title(&title);
            handle.send_app_id(&app_id);
            handle.send_done();
        }
        self.foreign_toplevels_refresh();
        self.queue_redraw_all();
    }

    /// Minimum and maximum size a client asked for (0 = unbounded).
    pub fn size_limits(
        surface: &WlSurface,
    ) -> (
        smithay::utils::Size<i32, Logical>,
        smithay::utils::Size<i32, Logical>,
    ) {
        with_states(surface, |states| {
            let mut cached = states.cached_state.get::<SurfaceCachedState>();
            let current = cached.current();
            (current.min_size, current.max_size)
        })
    }
}
