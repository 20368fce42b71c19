//! Layer surfaces (panels, docks, wallpapers, notifications): laid out on their output
//! on every commit, with the space panels reserve taken first, and maximized windows
//! refitted when that space changes.

use smithay::{
    desktop::{layer_map_for_output, LayerMap, LayerSurface},
    output::Output,
    reexports::wayland_server::protocol::wl_surface::WlSurface,
    utils::{Logical, Rectangle, Size},
    wayland::{
        compositor::with_states,
        shell::wlr_layer::{Anchor, ExclusiveZone, LayerSurfaceCachedState, LayerSurfaceData},
    },
};

use crate::state::Ghost;

/// Marks a layer surface that has shown (on-demand ones take the keyboard only then).
struct FirstShown(());

/// The free zone an output's windows were last fitted to.
#[derive(Default)]
struct LastFreeZone(std::sync::Mutex<Option<Rectangle<i32, Logical>>>);

impl Ghost {
    /// After a layer surface's commit: lays its output out again (answering its first
    /// commit with a configure) and refits maximized windows if the free space moved.
    pub(super) fn layer_commit(&mut self, surface: &WlSurface) {
        let output = self.space.outputs().find(|o| {
            layer_map_for_output(o)
                .layer_for_surface(surface, smithay::desktop::WindowSurfaceType::TOPLEVEL)
                .is_some()
        });
        let Some(output) = output.cloned() else {
            return;
        };
        let initial_sent = with_states(surface, |states| {
            states
                .data_map
                .get::<LayerSurfaceData>()
                .and_then(|d| d.lock().ok())
                .is_some_and(|d| d.initial_configure_sent)
        });
        let mut map = layer_map_for_output(&output);
        let size = self
            .space
            .output_geometry(&output)
            .map(|g| g.size)
            .unwrap_or_default();
        exclusive_zones_first(&mut map);
        map.arrange();
        let zone = free_zone(&map, size);
        let zone_changed = output
            .user_data()
            .get_or_insert_threadsafe(LastFreeZone::default)
            .0
            .lock()
            .is_ok_and(|mut last| last.replace(zone) != Some(zone));
        if !initial_sent {
            if let Some(layer) =
                map.layer_for_surface(surface, smithay::desktop::WindowSurfaceType::TOPLEVEL)
            {
                layer.layer_surface().send_configure();
            }
        }
        drop(map);
        if zone_changed {
            self.refit_maximized(&output);
        }
        self.layer_keyboard_follow(surface, &output);
        // A launcher or a lock-like overlay asking for the keyboard exclusively gets it
        // as soon as it shows.
        if let Some(exclusive) = self.exclusive_layer() {
            if self.keyboard_focus_surface().as_ref() != Some(&exclusive) {
                self.set_keyboard_focus(Some(exclusive));
            }
        }
        self.queue_redraw(&output);
    }

    /// The keyboard as a layer surface's commits change what it asks: an on-demand top
    /// or overlay surface (a launcher, a panel's menu) takes the keyboard when it first
    /// shows, and gives it up to a click elsewhere (an exclusive one keeps it); one
    /// whose interactivity becomes none gives the keyboard back to the top window.
    fn layer_keyboard_follow(&mut self, surface: &WlSurface, output: &Output) {
        use smithay::wayland::shell::wlr_layer::{KeyboardInteractivity, Layer};
        let map = layer_map_for_output(output);
        let Some(layer) = map
            .layer_for_surface(surface, smithay::desktop::WindowSurfaceType::TOPLEVEL)
            .cloned()
        else {
            return;
        };
        drop(map);
        let state = layer.cached_state();
        let shows = smithay::backend::renderer::utils::with_renderer_surface_state(surface, |s| {
            s.buffer().is_some()
        })
        .unwrap_or(false);
        let focused = self.keyboard_focus_surface().as_ref() == Some(surface);
        match state.keyboard_interactivity {
            KeyboardInteractivity::None if focused => self.focus_top_window(),
            KeyboardInteractivity::OnDemand
                if shows && matches!(state.layer, Layer::Top | Layer::Overlay) =>
            {
                let first = with_states(surface, |states| {
                    states
                        .data_map
                        .insert_if_missing_threadsafe(|| FirstShown(()))
                });
                if first && !self.lock.is_locked() {
                    self.set_keyboard_focus(Some(surface.clone()));
                }
            }
            _ => {}
        }
    }

    /// The mapped top or overlay layer surface that asked for the keyboard exclusively
    /// (keyboard_interactivity exclusive): while it shows, nothing else gets the keyboard.
    pub fn exclusive_layer(&self) -> Option<WlSurface> {
        use smithay::wayland::shell::wlr_layer::{KeyboardInteractivity, Layer};
        self.space.outputs().find_map(|output| {
            let map = layer_map_for_output(output);
            let found = [Layer::Overlay, Layer::Top].into_iter().find_map(|layer| {
                map.layers_on(layer)
                    .find(|l| {
                        l.cached_state().keyboard_interactivity == KeyboardInteractivity::Exclusive
                            && map.layer_geometry(l).is_some_and(|g| !g.is_empty())
                    })
                    .map(|l| l.wl_surface().clone())
            });
            found
        })
    }

    /// Fits the maximized windows on `output` to the space the panels leave now
    /// (fullscreen ones cover the panels and need nothing).
    fn refit_maximized(&mut self, output: &Output) {
        // Where the windows are now: the space's per-output lists wait for its refresh.
        let windows: Vec<_> = self
            .space
            .elements()
            .filter(|w| self.output_of(w).as_ref() == Some(output))
            .cloned()
            .collect();
        for window in windows {
            if !Self::is_fullscreen(&window) {
                self.refit_window(&window, output);
            }
        }
    }
}

/// Whether `layer` reserves part of the output (a panel, a dock).
fn reserves_space(layer: &LayerSurface) -> bool {
    with_states(layer.wl_surface(), |states| {
        matches!(
            states
                .cached_state
                .get::<LayerSurfaceCachedState>()
                .current()
                .exclusive_zone,
            ExclusiveZone::Exclusive(_)
        )
    })
}

/// Puts the layer surfaces that reserve space before the others, keeping each group's
/// order: the layout takes them in order, and a surface that respects exclusive zones
/// must be placed inside what every panel left free, whichever was opened first.
fn exclusive_zones_first(map: &mut LayerMap) {
    let layers: Vec<_> = map.layers().cloned().collect();
    let Some(first_reserving) = layers.iter().position(reserves_space) else {
        return;
    };
    let Some(last_reserving) = layers.iter().rposition(reserves_space) else {
        return;
    };
    if first_reserving == 0 && layers[..=last_reserving].iter().all(reserves_space) {
        return;
    }
    // Those that reserve nothing and stand before a reserving one go to the end.
    for layer in layers[..last_reserving]
        .iter()
        .filter(|l| !reserves_space(l))
    {
        map.unmap_layer(layer);
        if let Err(err) = map.map_layer(layer) {
            tracing::warn!(%err, "could not map a layer surface again");
        }
    }
}

/// The part of the output (output-local, logical) that panels leave to windows. A
/// surface reserves space only when anchored to one edge, alone or with both edges
/// beside it, as the protocol says; anchored to a corner, two opposite edges, all four
/// or none, its exclusive zone counts as zero. Its margin on that edge is reserved too.
pub(super) fn free_zone(map: &LayerMap, output: Size<i32, Logical>) -> Rectangle<i32, Logical> {
    let mut zone = Rectangle::from_size(output);
    for layer in map.layers() {
        let state = with_states(layer.wl_surface(), |states| {
            *states
                .cached_state
                .get::<LayerSurfaceCachedState>()
                .current()
        });
        let ExclusiveZone::Exclusive(amount) = state.exclusive_zone else {
            continue;
        };
        let amount = amount as i32;
        let sides = Anchor::LEFT | Anchor::RIGHT;
        let ends = Anchor::TOP | Anchor::BOTTOM;
        let edge =
            |edge: Anchor, across: Anchor| state.anchor == edge || state.anchor == edge | across;
        if edge(Anchor::TOP, sides) {
            let taken = amount + state.margin.top;
            zone.loc.y += taken;
            zone.size.h -= taken;
        } else if edge(Anchor::BOTTOM, sides) {
            zone.size.h -= amount + state.margin.bottom;
        } else if edge(Anchor::LEFT, ends) {
            let taken = amount + state.margin.left;
            zone.loc.x += taken;
            zone.size.w -= taken;
        } else if edge(Anchor::RIGHT, ends) {
            zone.size.w -= amount + state.margin.right;
        }
    }
    zone.size.w = zone.size.w.max(0);
    zone.size.h = zone.size.h.max(0);
    zone
}
