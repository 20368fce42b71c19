//! `[[window_rule]]`s: settings for windows whose app_id and title match. Rules that
//! decide how a window opens (output, maximized, fullscreen) apply once, when it maps;
//! rules that describe how it looks, is captured or is paced (opacity, blocking
//! out of captures, VRR) follow title changes and config reloads.

use smithay::{
    desktop::Window,
    reexports::wayland_server::{protocol::wl_surface::WlSurface, Resource},
};

use super::window_data;
use crate::state::Ghost;

impl Ghost {
    fn matching_rules(&self, window: &Window) -> Vec<ghost_config::WindowRule> {
        if window.toplevel().is_none() && window.x11_surface().is_none() {
            return Vec::new();
        }
        let (title, app_id) = super::window_title_and_app_id(window);
        self.config
            .window_rule
            .iter()
            .filter(|r| r.matches(&app_id, &title))
            .cloned()
            .collect()
    }

    /// Whether the window of `surface` may take every key while focused: the last
    /// matching rule's `inhibit_shortcuts`, else yes unless its client is sandboxed.
    pub fn may_inhibit_shortcuts(&self, surface: &WlSurface) -> bool {
        let sandboxed = surface
            .client()
            .is_some_and(|c| !crate::state::client_is_privileged(&c));
        let rule = self.window_for_surface(surface).and_then(|w| {
            self.matching_rules(&w)
                .iter()
                .rev()
                .find_map(|r| r.inhibit_shortcuts)
        });
        rule.unwrap_or(!sandboxed)
    }

    /// The last matching rule's `floating`: whether the window stays out of a tiled
    /// workspace's tiles.
    pub(crate) fn floating_rule(&self, window: &Window) -> Option<bool> {
        self.matching_rules(window)
            .iter()
            .rev()
            .find_map(|r| r.floating)
    }

    /// Whether a window opens fullscreen: a kiosk program's main window, or as the
    /// last matching rule says.
    fn opens_fullscreen(&self, window: &Window) -> bool {
        (self.session.kiosk() && !crate::shell::has_parent(window))
            || self
                .matching_rules(window)
                .iter()
                .filter_map(|r| r.fullscreen)
                .next_back()
                == Some(true)
    }

    /// Puts a window that opens fullscreen into that state before its first configure,
    /// sized to the output it will open on, so that its first frame already fills the
    /// screen (a kiosk program, a game) instead of drawing once at its own size and
    /// again when the rules apply at its first commit.
    pub fn prepare_open_state(&mut self, window: &Window) {
        let Some(toplevel) = window.toplevel() else {
            return;
        };
        if !self.opens_fullscreen(window) {
            return;
        }
        let Some(output) = self.active_output() else {
            return;
        };
        let Some(geo) = self.space.output_geometry(&output) else {
            return;
        };
        super::pend_fullscreen(toplevel, &output, geo.size);
    }

    /// Applies the rules that decide how a window opens; later rules win.
    pub fn apply_open_rules(&mut self, window: &Window) {
        let rules = self.matching_rules(window);
        let mut output = None;
        let mut maximized = None;
        let mut fullscreen = None;
        let mut workspace = None;
        let mut position = None;
        for r in &rules {
            output = r.output.clone().or(output);
            position = r.position.or(position);
            workspace = r.workspace.or(workspace);
            maximized = r.maximized.or(maximized);
            fullscreen = r.fullscreen.or(fullscreen);
        }
        if let Some(name) = output {
            let target = self.space.outputs().find(|o| o.name() == name).cloned();
            if let (Some(target), Some(current)) = (target, self.space.element_location(window)) {
                let from = self.space.outputs_for_element(window).into_iter().next();
                let from_origin = from
                    .and_then(|o| self.space.output_geometry(&o))
                    .map(|g| g.loc)
                    .unwrap_or_default();
                if let Some(to) = self.space.output_geometry(&target) {
                    self.space
                        .map_element(window.clone(), to.loc + (current - from_origin), false);
                }
            }
        }
        if let Some((x, y)) = position {
            if let Some(origin) = self
                .output_of(window)
                .and_then(|o| self.space.output_geometry(&o))
                .map(|g| g.loc)
            {
                let at = origin + smithay::utils::Point::from((x, y));
                self.space.map_element(window.clone(), at, false);
            }
        }
        // In kiosk mode the program's main windows fill the screen; its dialogs do not.
        if self.opens_fullscreen(window) {
            fullscreen = Some(true);
        }
        self.apply_live_rules(window);
        if fullscreen == Some(true) {
            self.set_fullscreen(window, true, None);
        } else if maximized == Some(true) {
            self.set_maximized(window, true);
        }
        if let Some(number) = workspace {
            let target = crate::shell::workspaces::Target::Number(number);
            self.move_window_to_workspace(window, target);
        }
    }

    /// Applies the rules that describe how a window looks.
    pub fn apply_live_rules(&mut self, window: &Window) {
        let rules = self.matching_rules(window);
        let opacity = rules
            .iter()
            .filter_map(|r| r.opacity)
            .next_back()
            .unwrap_or(1.0);
        let data = window_data(window);
        data.vrr.set(rules.iter().filter_map(|r| r.vrr).next_back());
        data.block_out.set(
            rules
                .iter()
                .filter_map(|r| r.block_out_from_screencast)
                .next_back()
                .unwrap_or(false),
        );
        if (data.opacity.get() - opacity as f32).abs() > f32::EPSILON {
            data.opacity.set(opacity as f32);
            self.queue_redraw_all();
        }
    }
}
