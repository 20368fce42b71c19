//! Workspaces on screen: carries out what the pure model in `workspaces.rs` decides.
//! Windows of a workspace that is not shown leave the space (as minimized ones do) and
//! remember where they were relative to their output, so they come back in place, on
//! another output too when theirs went away.

use smithay::{desktop::Window, output::Output, utils::Point};

use super::{
    window_data,
    workspaces::{Switch, Target},
};
use crate::state::Ghost;

impl Ghost {
    /// Keeps the model's outputs in step with the space's (after each dispatch).
    pub fn workspaces_sync_outputs(&mut self) {
        let names: Vec<String> = self.space.outputs().map(|o| o.name()).collect();
        let known = self.workspaces.output_names();
        if known == names {
            return;
        }
        for gone in known.iter().filter(|n| !names.contains(n)) {
            self.workspaces.remove_output(gone);
        }
        for name in &names {
            self.workspaces.add_output(name);
        }
    }

    fn output_named(&self, name: &str) -> Option<Output> {
        self.space.outputs().find(|o| o.name() == name).cloned()
    }

    fn output_origin(&self, name: &str) -> Point<i32, smithay::utils::Logical> {
        self.output_named(name)
            .and_then(|o| self.space.output_geometry(&o))
            .map(|g| g.loc)
            .unwrap_or_default()
    }

    /// Shown windows belong to the shown workspace of the output they lie on now (they
    /// may have been dragged to another), in their stacking order.
    fn workspaces_settle(&mut self) {
        self.workspaces_sync_outputs();
        let shown: Vec<(Window, Option<String>)> = self
            .space
            .elements()
            .map(|w| (w.clone(), self.output_of(w).map(|o| o.name())))
            .collect();
        for (window, output) in &shown {
            if let Some(output) = output {
                self.workspaces.settle(window, output);
            }
        }
        let order: Vec<Window> = shown.into_iter().map(|(w, _)| w).collect();
        self.workspaces
            .restack(|w| order.iter().position(|o| o == w));
    }

    /// Puts `window` at `loc` (global): on screen, or where it will come back when its
    /// workspace is not shown (a client may maximize a window the user does not see).
    pub(crate) fn map_or_park(
        &mut self,
        window: &Window,
        loc: Point<i32, smithay::utils::Logical>,
        activate: bool,
    ) {
        if self.workspaces.is_hidden(window) {
            let output = self.workspaces.locate(window).map(|(n, _)| n.to_owned());
            let origin = output.map(|o| self.output_origin(&o)).unwrap_or_default();
            window_data(window).parked_at.set(Some(loc - origin));
        } else {
            self.space.map_element(window.clone(), loc, activate);
        }
    }

    /// The output workspace bindings act on: the focused window's, else the pointer's.
    pub fn workspace_output(&self) -> Option<Output> {
        self.focused_window()
            .and_then(|w| self.output_of(&w))
            .or_else(|| self.active_output())
    }

    /// Shows workspace `target` of `output`.
    pub fn focus_workspace(&mut self, output: &Output, target: Target) {
        self.workspaces_settle();
        if let Some(switch) = self.workspaces.activate(&output.name(), target) {
            self.apply_workspace_switch(switch, Some(output.clone()));
        }
    }

    /// Shows the workspace with ext-workspace id `id`; false when there is none.
    pub fn focus_workspace_id(&mut self, id: u64) -> bool {
        self.workspaces_settle();
        match self.workspaces.activate_id(id) {
            Some(switch) => {
                let output = self
                    .workspaces
                    .outputs()
                    .iter()
                    .find(|set| set.workspaces.iter().any(|ws| ws.id == id))
                    .and_then(|set| self.output_named(&set.output));
                self.apply_workspace_switch(switch, output);
                true
            }
            None => false,
        }
    }

    /// Shows the workspace `window` is on, when it is hidden there (it is being
    /// focused: by a task bar, an activation, `msg focus`).
    pub fn reveal_window(&mut self, window: &Window) {
        if !self.workspaces.is_hidden(window) {
            return;
        }
        self.workspaces_settle();
        if let Some(switch) = self.workspaces.reveal(window) {
            let output = self
                .workspaces
                .locate(window)
                .and_then(|(name, _)| self.output_named(name));
            self.apply_workspace_switch(switch, output);
        }
    }

    /// Moves `window` to workspace `target` of its output; the view stays. Returns
    /// whether it left the screen.
    pub fn move_window_to_workspace(&mut self, window: &Window, target: Target) -> bool {
        self.workspaces_settle();
        let output = self
            .workspaces
            .locate(window)
            .map(|(name, _)| name.to_owned());
        let Some(hidden) = self.workspaces.move_window(window, target) else {
            return false;
        };
        if hidden && self.space.elements().any(|w| w == window) {
            let origin = output.map(|o| self.output_origin(&o)).unwrap_or_default();
            self.park_window(window, origin);
            if self.focused_window().as_ref() == Some(window) {
                let output = self.output_of(window).or_else(|| self.active_output());
                self.focus_top_window_on(output.as_ref());
            }
        }
        self.workspaces_changed();
        hidden
    }

    fn park_window(&mut self, window: &Window, origin: Point<i32, smithay::utils::Logical>) {
        let loc = self.space.element_location(window).unwrap_or_default();
        window_data(window).parked_at.set(Some(loc - origin));
        self.space.unmap_elem(window);
    }

    fn apply_workspace_switch(&mut self, switch: Switch<Window>, output: Option<Output>) {
        let origin = output
            .as_ref()
            .and_then(|o| self.space.output_geometry(o))
            .map(|g| g.loc)
            .unwrap_or_default();
        let focused = self.focused_window();
        for window in &switch.hide {
            self.park_window(window, origin);
        }
        for window in switch.show {
            let at = window_data(&window).parked_at.take().unwrap_or_default();
            self.space.map_element(window, origin + at, false);
        }
        // The keyboard goes with the view: to the top window of the workspace shown,
        // to nobody on an empty one.
        let lost_focus = focused.as_ref().is_none_or(|f| switch.hide.contains(f));
        if lost_focus {
            self.focus_top_window_on(output.as_ref());
        }
        self.workspaces_changed();
    }

    /// Focuses the top window on `output` (nobody where it has none).
    fn focus_top_window_on(&mut self, output: Option<&Output>) {
        let top = self
            .space
            .elements()
            .rev()
            .find(|w| output.is_none() || self.output_of(w).as_ref() == output)
            .cloned();
        match top {
            Some(top) => self.focus_window(&top),
            None => self.set_keyboard_focus(None),
        }
    }

    /// After windows came or went from the screen: bars, captures and the picture.
    fn workspaces_changed(&mut self) {
        self.foreign_toplevels_refresh();
        self.ext_workspaces_refresh();
        self.image_copy_sources_changed();
        self.queue_redraw_all();
    }

    /// Carries out a `focus-workspace` binding.
    pub fn focus_workspace_binding(&mut self, target: Target) {
        if let Some(output) = self.workspace_output() {
            self.focus_workspace(&output, target);
        }
    }

    /// Carries out a `move-to-workspace` binding on the focused window.
    pub fn move_to_workspace_binding(&mut self, target: Target) {
        if let Some(window) = self.focused_window() {
            self.move_window_to_workspace(&window, target);
        }
    }

    /// `msg workspaces`: each output's workspaces, their windows and which one shows.
    pub fn workspaces_json(&mut self) -> serde_json::Value {
        self.workspaces_settle();
        let outputs: Vec<serde_json::Value> = self
            .workspaces
            .outputs()
            .iter()
            .map(|set| {
                let workspaces: Vec<serde_json::Value> = set
                    .workspaces
                    .iter()
                    .enumerate()
                    .map(|(i, ws)| {
                        serde_json::json!({
                            "number": i + 1,
                            "id": ws.id,
                            "active": i == set.active,
                            "tiled": ws.tiled,
                            "windows": ws.windows.iter().map(|w| window_data(w).id).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                serde_json::json!({"output": set.output, "workspaces": workspaces})
            })
            .collect();
        serde_json::Value::Array(outputs)
    }

    /// Where a window of a workspace not shown will come back (global).
    pub(crate) fn parked_geometry(
        &self,
        window: &Window,
    ) -> Option<smithay::utils::Rectangle<i32, smithay::utils::Logical>> {
        let at = window_data(window).parked_at.get()?;
        let (output, _) = self.workspaces.locate(window)?;
        let origin = self.output_origin(output);
        Some(smithay::utils::Rectangle::new(
            origin + at,
            window.geometry().size,
        ))
    }

    /// The workspace number (from 1) `window` is on, for `msg windows`.
    pub fn workspace_number_of(&self, window: &Window) -> Option<usize> {
        self.workspaces.locate(window).map(|(_, i)| i + 1)
    }
}
