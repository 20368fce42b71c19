//! Window states the user and clients ask for: maximized, fullscreen, minimized, and
//! the geometry a window returns to when it leaves them.

use smithay::{
    desktop::Window,
    output::Output,
    reexports::wayland_protocols::xdg::shell::server::xdg_toplevel,
    utils::{Point, Rectangle},
};

use super::{decorations::TITLE_BAR_HEIGHT, pend_fullscreen, window_data};
use crate::state::Ghost;

impl Ghost {
    pub(crate) fn remember_window_geometry(&self, window: &Window) {
        let data = window_data(window);
        let mut restore = data.restore.borrow_mut();
        if restore.is_none() {
            if let Some(loc) = self.space.element_location(window) {
                *restore = Some(Rectangle::new(loc, window.geometry().size));
            }
        }
    }

    fn restore_geometry(&mut self, window: &Window) {
        let Some(geo) = window_data(window).restore.borrow_mut().take() else {
            return;
        };
        if let Some(t) = window.toplevel() {
            t.with_pending_state(|s| s.size = Some(geo.size));
        }
        self.map_or_park(window, geo.loc, true);
    }

    /// Maximizes to the usable area of the window's output, or restores.
    pub fn set_maximized(&mut self, window: &Window, maximized: bool) {
        if let Some(x11) = window.x11_surface().cloned() {
            return self.x11_set_maximized(window, &x11, maximized);
        }
        let Some(toplevel) = window.toplevel().cloned() else {
            return;
        };
        if maximized {
            let Some(output) = self.output_of(window) else {
                return;
            };
            self.remember_window_geometry(window);
            let area = self.usable_area(&output);
            let bar = if window_data(window).server_side_decorations.get() {
                TITLE_BAR_HEIGHT
            } else {
                0
            };
            toplevel.with_pending_state(|s| {
                s.states.set(xdg_toplevel::State::Maximized);
                s.size = Some((area.size.w, area.size.h - bar).into());
            });
            self.map_or_park(window, Point::from((area.loc.x, area.loc.y + bar)), true);
        } else {
            toplevel.with_pending_state(|s| {
                s.states.unset(xdg_toplevel::State::Maximized);
                s.size = None;
            });
            self.restore_geometry(window);
        }
        if toplevel.is_initial_configure_sent() {
            toplevel.send_pending_configure();
        }
        self.queue_redraw_all();
    }

    /// Fits a fullscreen window to `output`, or a maximized one to the space its panels
    /// leave, again: after the output changed, the window came to it, or panels moved.
    /// Other windows stay as they are.
    pub fn refit_window(&mut self, window: &Window, output: &Output) {
        let Some(states) = window.toplevel().map(|t| t.current_state().states) else {
            return;
        };
        if states.contains(xdg_toplevel::State::Fullscreen) {
            self.set_fullscreen(window, true, Some(output.clone()));
        } else if states.contains(xdg_toplevel::State::Maximized) {
            self.set_maximized(window, true);
        }
    }

    /// Makes the window cover a whole output (no title bar), or restores it.
    pub fn set_fullscreen(&mut self, window: &Window, fullscreen: bool, output: Option<Output>) {
        if let Some(x11) = window.x11_surface().cloned() {
            return self.x11_set_fullscreen(window, &x11, fullscreen, output);
        }
        let Some(toplevel) = window.toplevel().cloned() else {
            return;
        };
        if fullscreen {
            let Some(output) = output.or_else(|| self.output_of(window)) else {
                return;
            };
            let Some(geo) = self.space.output_geometry(&output) else {
                return;
            };
            self.remember_window_geometry(window);
            pend_fullscreen(&toplevel, &output, geo.size);
            self.map_or_park(window, geo.loc, true);
        } else {
            toplevel.with_pending_state(|s| {
                s.states.unset(xdg_toplevel::State::Fullscreen);
                s.size = None;
                s.fullscreen_output = None;
            });
            self.restore_geometry(window);
        }
        if toplevel.is_initial_configure_sent() {
            toplevel.send_pending_configure();
        }
        self.queue_redraw_all();
    }

    /// Whether the window is fullscreen (it then has no title bar).
    pub fn is_fullscreen(window: &Window) -> bool {
        if let Some(x11) = window.x11_surface() {
            return x11.is_fullscreen();
        }
        window.toplevel().is_some_and(|t| {
            t.current_state()
                .states
                .contains(xdg_toplevel::State::Fullscreen)
        })
    }

    /// Hides a window until it is focused again (IPC, activation, or focus cycling).
    pub fn minimize(&mut self, window: &Window) {
        self.remember_window_geometry(window);
        self.space.unmap_elem(window);
        self.minimized.push(window.clone());
        self.workspaces.remove_window(window);
        self.ext_workspaces_refresh();
        if self.focused_window().as_ref() == Some(window) {
            let next = self.space.elements().last().cloned();
            match next {
                Some(next) => self.focus_window(&next),
                None => self.set_keyboard_focus(None),
            }
        }
        self.queue_redraw_all();
    }
}
