//! Workspaces, pure: which window is on which workspace of which output, and what a
//! switch hides and shows. Nothing here knows smithay; the glue in `workspace_glue.rs`
//! maps and unmaps the windows this decides about.
//!
//! Each output has its own workspaces, made and removed as they are used (as niri and
//! GNOME do): there is always exactly one empty workspace at the end to go to, and an
//! empty workspace that is not shown goes away. Numbers are positions (1 is the first),
//! so they close up when a workspace in the middle empties; ids stay the same for a
//! workspace's whole life, for bars (ext-workspace-v1).

pub use ghost_config::{WorkspaceStep as Step, WorkspaceTarget as Target};

/// One workspace: its windows, bottom of the stack first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace<W> {
    /// Stable for the workspace's life, never reused.
    pub id: u64,
    /// The windows on it, bottom first.
    pub windows: Vec<W>,
    /// Whether it tiles its windows instead of letting them float.
    pub tiled: bool,
}

/// The workspaces of one output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputWorkspaces<W> {
    /// The output's connector name.
    pub output: String,
    /// In order; never empty, and the last one is always empty.
    pub workspaces: Vec<Workspace<W>>,
    /// Index of the one shown.
    pub active: usize,
}

/// What a change asks of the screen: windows to take off it and windows to put back,
/// bottom first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switch<W> {
    /// Windows of the workspace no longer shown.
    pub hide: Vec<W>,
    /// Windows of the workspace now shown, bottom first.
    pub show: Vec<W>,
}

impl<W> Default for Switch<W> {
    fn default() -> Self {
        Self {
            hide: Vec::new(),
            show: Vec::new(),
        }
    }
}

/// Every output's workspaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspaces<W> {
    outputs: Vec<OutputWorkspaces<W>>,
    next_id: u64,
    /// The workspaces of the last output to go, kept (with no output) until one comes.
    orphaned: bool,
    /// Whether new workspaces tile (`[layout] tiling`).
    default_tiled: bool,
}

impl<W> Default for Workspaces<W> {
    fn default() -> Self {
        Self {
            outputs: Vec::new(),
            next_id: 1,
            orphaned: false,
            default_tiled: false,
        }
    }
}

impl<W: Clone + PartialEq> Workspaces<W> {
    /// Every output's workspaces, in the order the outputs came.
    pub fn outputs(&self) -> &[OutputWorkspaces<W>] {
        &self.outputs
    }

    fn empty_workspace(&mut self) -> Workspace<W> {
        let id = self.next_id;
        self.next_id += 1;
        Workspace {
            id,
            windows: Vec::new(),
            tiled: self.default_tiled,
        }
    }

    /// Whether workspaces made from now on tile; empty ones switch now too, so the
    /// configuration applies to the workspaces a user goes to next.
    pub fn set_default_tiled(&mut self, tiled: bool) {
        if self.default_tiled == tiled {
            return;
        }
        self.default_tiled = tiled;
        for set in &mut self.outputs {
            for ws in set.workspaces.iter_mut().filter(|ws| ws.windows.is_empty()) {
                ws.tiled = tiled;
            }
        }
    }

    /// The workspace `output` shows.
    pub fn shown(&self, output: &str) -> Option<&Workspace<W>> {
        self.outputs
            .iter()
            .find(|o| o.output == output)
            .map(|set| &set.workspaces[set.active])
    }

    /// Tiles the workspace `output` shows, or lets it float; returns whether it tiles
    /// now (None: the output is unknown).
    pub fn toggle_tiled(&mut self, output: &str) -> Option<bool> {
        let set = self.outputs.iter_mut().find(|o| o.output == output)?;
        let shown = &mut set.workspaces[set.active];
        shown.tiled = !shown.tiled;
        Some(shown.tiled)
    }

    /// A new output starts with one empty workspace; the first output after every output
    /// went takes over the workspaces the last one left.
    pub fn add_output(&mut self, name: &str) {
        if self.orphaned {
            self.orphaned = false;
            if let Some(set) = self.outputs.first_mut() {
                set.output = name.to_owned();
                return;
            }
        }
        if self.outputs.iter().any(|o| o.output == name) {
            return;
        }
        let first = self.empty_workspace();
        self.outputs.push(OutputWorkspaces {
            output: name.to_owned(),
            workspaces: vec![first],
            active: 0,
        });
    }

    /// An output went away. Its shown workspace's windows join the shown workspace of
    /// the first remaining output (they stay on screen there), its other workspaces
    /// follow that output's own, before its empty last one. With no output left
    /// everything waits for the next one.
    pub fn remove_output(&mut self, name: &str) {
        let Some(index) = self.outputs.iter().position(|o| o.output == name) else {
            return;
        };
        if self.outputs.len() == 1 {
            self.orphaned = true;
            return;
        }
        let gone = self.outputs.remove(index);
        let heir = &mut self.outputs[0];
        for (i, workspace) in gone.workspaces.into_iter().enumerate() {
            if i == gone.active {
                heir.workspaces[heir.active]
                    .windows
                    .extend(workspace.windows);
            } else if !workspace.windows.is_empty() {
                let before_last = heir.workspaces.len() - 1;
                heir.workspaces.insert(before_last, workspace);
            }
        }
        self.tidy();
    }

    /// Whether `name` is an output this knows (an orphaned set answers to its old name).
    pub fn has_output(&self, name: &str) -> bool {
        !self.orphaned && self.outputs.iter().any(|o| o.output == name)
    }

    /// The output names this keeps workspaces for.
    pub fn output_names(&self) -> Vec<String> {
        match self.orphaned {
            true => Vec::new(),
            false => self.outputs.iter().map(|o| o.output.clone()).collect(),
        }
    }

    /// A new window joins the shown workspace of `output` (of the first output when that
    /// one is unknown).
    pub fn add_window(&mut self, output: &str, window: W) {
        self.remove_window(&window);
        let set = match self.outputs.iter().position(|o| o.output == output) {
            Some(i) => i,
            None if !self.outputs.is_empty() => 0,
            None => {
                self.add_output(output);
                0
            }
        };
        let set = &mut self.outputs[set];
        set.workspaces[set.active].windows.push(window);
        self.tidy();
    }

    /// A window closed or was minimized: it is on no workspace any more.
    pub fn remove_window(&mut self, window: &W) {
        let mut found = false;
        for set in &mut self.outputs {
            for workspace in &mut set.workspaces {
                let before = workspace.windows.len();
                workspace.windows.retain(|w| w != window);
                found |= workspace.windows.len() != before;
            }
        }
        if found {
            self.tidy();
        }
    }

    /// The output and workspace index of `window`.
    pub fn locate(&self, window: &W) -> Option<(&str, usize)> {
        self.outputs.iter().find_map(|set| {
            set.workspaces
                .iter()
                .position(|ws| ws.windows.contains(window))
                .map(|i| (set.output.as_str(), i))
        })
    }

    /// Whether `window` is on a workspace that is not shown.
    pub fn is_hidden(&self, window: &W) -> bool {
        self.outputs.iter().any(|set| {
            set.workspaces
                .iter()
                .enumerate()
                .any(|(i, ws)| i != set.active && ws.windows.contains(window))
        })
    }

    /// Every window on a workspace that is not shown.
    pub fn hidden(&self) -> impl Iterator<Item = &W> {
        self.outputs.iter().flat_map(|set| {
            set.workspaces
                .iter()
                .enumerate()
                .filter(move |(i, _)| *i != set.active)
                .flat_map(|(_, ws)| ws.windows.iter())
        })
    }

    /// Puts the shown workspaces' windows in stacking order (`rank`: lower is further
    /// down; windows it does not know keep their place at the bottom), so a workspace
    /// shown again restores the stack it had.
    pub fn restack(&mut self, rank: impl Fn(&W) -> Option<usize>) {
        for set in &mut self.outputs {
            set.workspaces[set.active]
                .windows
                .sort_by_key(|w| rank(w).map_or(0, |r| r + 1));
        }
    }

    /// A shown window now lies on `output` (it was dragged there, or a rule put it
    /// there): it moves to that output's shown workspace.
    pub fn settle(&mut self, window: &W, output: &str) {
        let Some(to) = self.outputs.iter().position(|o| o.output == output) else {
            return;
        };
        let shown_elsewhere = self
            .outputs
            .iter()
            .any(|set| set.output != output && set.workspaces[set.active].windows.contains(window));
        if !shown_elsewhere {
            return;
        }
        self.remove_window(window);
        let set = &mut self.outputs[to];
        set.workspaces[set.active].windows.push(window.clone());
        self.tidy();
    }

    fn index_of(set: &OutputWorkspaces<W>, target: Target) -> usize {
        let last = set.workspaces.len() - 1;
        match target {
            Target::Number(n) => (n.max(1) as usize - 1).min(last),
            Target::Step(Step::Next) => (set.active + 1).min(last),
            Target::Step(Step::Previous) => set.active.saturating_sub(1),
        }
    }

    /// Shows workspace `target` of `output`. None when the output is unknown.
    pub fn activate(&mut self, output: &str, target: Target) -> Option<Switch<W>> {
        let set = self.outputs.iter().position(|o| o.output == output)?;
        let index = Self::index_of(&self.outputs[set], target);
        Some(self.show(set, index))
    }

    /// Shows the workspace with id `id`, on whichever output it is. None when no
    /// workspace has that id.
    pub fn activate_id(&mut self, id: u64) -> Option<Switch<W>> {
        let (set, index) = self.outputs.iter().enumerate().find_map(|(s, set)| {
            set.workspaces
                .iter()
                .position(|ws| ws.id == id)
                .map(|i| (s, i))
        })?;
        Some(self.show(set, index))
    }

    /// Shows the workspace `window` is on. None when it is on none.
    pub fn reveal(&mut self, window: &W) -> Option<Switch<W>> {
        let (set, index) = self.outputs.iter().enumerate().find_map(|(s, set)| {
            set.workspaces
                .iter()
                .position(|ws| ws.windows.contains(window))
                .map(|i| (s, i))
        })?;
        Some(self.show(set, index))
    }

    fn show(&mut self, set: usize, index: usize) -> Switch<W> {
        let outputs = &mut self.outputs[set];
        if outputs.active == index {
            return Switch::default();
        }
        let switch = Switch {
            hide: outputs.workspaces[outputs.active].windows.clone(),
            show: outputs.workspaces[index].windows.clone(),
        };
        outputs.active = index;
        self.tidy();
        switch
    }

    /// Moves `window` to workspace `target` of its output; the shown workspace stays.
    /// Returns whether the window is now hidden (None: it is on no workspace).
    pub fn move_window(&mut self, window: &W, target: Target) -> Option<bool> {
        let (set, from) = self.outputs.iter().enumerate().find_map(|(s, set)| {
            set.workspaces
                .iter()
                .position(|ws| ws.windows.contains(window))
                .map(|i| (s, i))
        })?;
        let to = Self::index_of(&self.outputs[set], target);
        let outputs = &mut self.outputs[set];
        if to != from {
            outputs.workspaces[from].windows.retain(|w| w != window);
            outputs.workspaces[to].windows.push(window.clone());
        }
        let hidden = to != outputs.active;
        self.tidy();
        Some(hidden)
    }

    /// Restores the invariants: no empty workspace but the shown one and the last, and
    /// always an empty last one (the shown one, when it is empty and just before it).
    fn tidy(&mut self) {
        for s in 0..self.outputs.len() {
            let set = &mut self.outputs[s];
            let mut i = 0;
            while i < set.workspaces.len() {
                let last = i + 1 == set.workspaces.len();
                if set.workspaces[i].windows.is_empty() && i != set.active && !last {
                    set.workspaces.remove(i);
                    if set.active > i {
                        set.active -= 1;
                    }
                } else {
                    i += 1;
                }
            }
            if set
                .workspaces
                .last()
                .is_none_or(|ws| !ws.windows.is_empty())
            {
                let fresh = self.empty_workspace();
                self.outputs[s].workspaces.push(fresh);
            }
            let set = &mut self.outputs[s];
            let n = set.workspaces.len();
            if n >= 2 && set.active == n - 2 && set.workspaces[n - 2].windows.is_empty() {
                set.workspaces.pop();
            }
        }
    }
}

#[cfg(test)]
#[path = "workspaces_tests.rs"]
mod tests;
