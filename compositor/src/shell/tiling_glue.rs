//! Tiled workspaces on screen: after each dispatch every output's shown workspace that
//! tiles gets its windows laid out by [`super::tiling::tile`], in the order they
//! opened. Windows that float there (a `floating` rule, `toggle-floating`, dialogs,
//! fullscreen or maximized ones) are left alone; a window that leaves the tiles goes
//! back to the size and place it had before. Moving or resizing a tiled window with
//! the pointer takes it out of the tiles where it is.

use smithay::{
    desktop::Window,
    reexports::wayland_protocols::xdg::shell::server::xdg_toplevel::State,
    utils::{Logical, Point, Rectangle},
};

use super::{decorations::TITLE_BAR_HEIGHT, tiling, window_data};
use crate::state::Ghost;

const TILED: [State; 4] = [
    State::TiledLeft,
    State::TiledRight,
    State::TiledTop,
    State::TiledBottom,
];

impl Ghost {
    fn tile_params(&self) -> tiling::TileParams {
        tiling::TileParams {
            gap: i32::try_from(self.config.layout.gaps).unwrap_or(0),
            master_ratio: self.config.layout.master_ratio,
        }
    }

    /// Whether `window` floats even on a tiled workspace: the user took it out, a rule
    /// says so, it is a dialog, or it fills its output.
    fn floats(&self, window: &Window) -> bool {
        let data = window_data(window);
        if let Some(floating) = data.floating.get() {
            return floating;
        }
        if window
            .x11_surface()
            .is_some_and(|x| x.is_override_redirect())
        {
            return true;
        }
        let (maximized, fullscreen) = super::window_is_maximized_or_fullscreen(window, true);
        if maximized || fullscreen {
            return true;
        }
        self.floating_rule(window)
            .unwrap_or_else(|| super::has_parent(window))
    }

    /// Lays out the shown tiled workspaces and lets windows that left the tiles float
    /// again (after each dispatch; nothing is sent where nothing changed).
    pub fn tiling_refresh(&mut self) {
        self.workspaces.set_default_tiled(self.config.layout.tiling);
        let mut tiled_now: Vec<Window> = Vec::new();
        let outputs: Vec<smithay::output::Output> = self.space.outputs().cloned().collect();
        for output in outputs {
            let Some(shown) = self.workspaces.shown(&output.name()) else {
                continue;
            };
            if !shown.tiled {
                continue;
            }
            let mut windows: Vec<Window> = shown
                .windows
                .iter()
                .filter(|w| self.space.elements().any(|e| e == *w) && !self.floats(w))
                .filter(|w| super::toplevel_surface(w).is_some() || w.x11_surface().is_some())
                .cloned()
                .collect();
            windows.sort_by_key(|w| window_data(w).id);
            let area = self.usable_area(&output);
            let tiles = tiling::tile(area, windows.len(), self.tile_params());
            for (window, tile) in windows.iter().zip(tiles) {
                self.put_in_tile(window, tile);
            }
            tiled_now.extend(windows);
        }
        let left: Vec<Window> = self
            .space
            .elements()
            .filter(|w| window_data(w).tiled_from.get().is_some() && !tiled_now.contains(w))
            .cloned()
            .collect();
        for window in left {
            self.leave_tiles(&window, true);
        }
    }

    fn put_in_tile(&mut self, window: &Window, tile: Rectangle<i32, Logical>) {
        let data = window_data(window);
        if data.tiled_from.get().is_none() {
            let loc = self.space.element_location(window).unwrap_or_default();
            data.tiled_from
                .set(Some(Rectangle::new(loc, window.geometry().size)));
        }
        let bar = if data.server_side_decorations.get() {
            TITLE_BAR_HEIGHT
        } else {
            0
        };
        let content = Rectangle::new(
            tile.loc + Point::from((0, bar)),
            (tile.size.w, (tile.size.h - bar).max(1)).into(),
        );
        if let Some(toplevel) = window.toplevel() {
            toplevel.with_pending_state(|s| {
                s.size = Some(content.size);
                for state in TILED {
                    s.states.set(state);
                }
            });
            if toplevel.is_initial_configure_sent() {
                toplevel.send_pending_configure();
            }
        } else if let Some(x11) = window.x11_surface() {
            if x11.geometry() != content {
                if let Err(err) = x11.configure(content) {
                    tracing::debug!(%err, "cannot tile an X11 window");
                }
            }
        }
        if self.space.element_location(window) != Some(content.loc) {
            self.space.map_element(window.clone(), content.loc, false);
            self.queue_redraw_all();
        }
    }

    /// Takes `window` out of the tiles: back to its size and place from before when
    /// `restore`, else where it is now.
    fn leave_tiles(&mut self, window: &Window, restore: bool) {
        let Some(before) = window_data(window).tiled_from.take() else {
            return;
        };
        // Fullscreen or maximized: those states decide its size; it returns from them
        // to its tile's place, and floats from there.
        let (maximized, fullscreen) = super::window_is_maximized_or_fullscreen(window, true);
        let restore = restore && !maximized && !fullscreen;
        if let Some(toplevel) = window.toplevel() {
            toplevel.with_pending_state(|s| {
                for state in TILED {
                    s.states.unset(state);
                }
                if restore {
                    s.size = Some(before.size);
                }
            });
            if toplevel.is_initial_configure_sent() {
                toplevel.send_pending_configure();
            }
        } else if let (Some(x11), true) = (window.x11_surface(), restore) {
            if let Err(err) = x11.configure(before) {
                tracing::debug!(%err, "cannot float an X11 window");
            }
        }
        if restore {
            self.space.map_element(window.clone(), before.loc, false);
        }
        self.queue_redraw_all();
    }

    /// Before the pointer moves or resizes `window`: a tiled one floats where it is.
    pub(crate) fn float_in_place(&mut self, window: &Window) {
        if window_data(window).tiled_from.get().is_some() {
            window_data(window).floating.set(Some(true));
            self.leave_tiles(window, false);
        }
    }

    /// The `toggle-tiling` binding: the focused output's shown workspace tiles or
    /// floats.
    pub fn toggle_tiling(&mut self) {
        if let Some(output) = self.workspace_output() {
            let tiled = self.workspaces.toggle_tiled(&output.name());
            tracing::info!(output = output.name(), ?tiled, "workspace layout");
            self.tiling_refresh();
            self.ext_workspaces_refresh();
        }
    }

    /// The `toggle-floating` binding: the focused window leaves the tiles or joins them.
    pub fn toggle_floating(&mut self, window: &Window) {
        let floats = self.floats(window);
        window_data(window).floating.set(Some(!floats));
        self.tiling_refresh();
    }

    /// Whether the shown workspace of the window's output tiles and the window is in
    /// its tiles, for `msg windows`.
    pub fn is_tiled(window: &Window) -> bool {
        window_data(window).tiled_from.get().is_some()
    }
}
