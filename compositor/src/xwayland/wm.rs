//! ghostcomp as the X11 window manager: smithay's `X11Wm` reports what X11 windows
//! ask for, and these handlers answer as the compositor does for Wayland windows.
//! Managed windows join the stacking desktop (placed, focused, decorated when they
//! draw no frame of their own, and under the window rules); override-redirect ones
//! (menus, tooltips, drop-downs) are shown where they put themselves and never
//! managed.

use std::os::fd::OwnedFd;

use smithay::{
    desktop::Window,
    input::Seat,
    output::Output,
    utils::{Logical, Rectangle},
    wayland::selection::{
        data_device::{
            clear_data_device_selection, current_data_device_selection_userdata,
            request_data_device_client_selection, set_data_device_selection,
        },
        primary_selection::{
            clear_primary_selection, current_primary_selection_userdata,
            request_primary_client_selection, set_primary_selection,
        },
        SelectionTarget,
    },
    xwayland::{
        xwm::{Reorder, ResizeEdge, XwmId},
        X11Surface, X11Wm, XwmHandler,
    },
};

use crate::{
    shell::{decorations::TITLE_BAR_HEIGHT, window_data},
    state::Ghost,
};

impl Ghost {
    /// The desktop window of X11 window `x11` (mapped or minimized).
    pub fn window_for_x11(&self, x11: &X11Surface) -> Option<Window> {
        self.all_windows()
            .find(|w| w.x11_surface() == Some(x11))
            .cloned()
    }

    /// An X11 window that waited for Xwayland to tie it to its surface takes the focus
    /// once it is (checked after each event-loop iteration).
    pub fn x11_focus_when_tied(&mut self) {
        let Some(pending) = self.xwayland.focus_pending.as_ref() else {
            return;
        };
        if !pending.alive() {
            self.xwayland.focus_pending = None;
            return;
        }
        if super::surface_of(pending).is_none() {
            return;
        }
        let pending = pending.clone();
        self.xwayland.focus_pending = None;
        if let Some(window) = self.window_for_x11(&pending) {
            self.focus_window(&window);
        }
    }

    /// Where the window `x11` is a dialog of is (WM_TRANSIENT_FOR), if it is one.
    fn x11_parent_geometry(&self, x11: &X11Surface) -> Option<Rectangle<i32, Logical>> {
        let parent = x11.is_transient_for()?;
        let window = self.space.elements().find(|w| {
            w.x11_surface()
                .is_some_and(|p| p.window_id() == parent || p.mapped_window_id() == Some(parent))
        })?;
        self.space.element_geometry(window)
    }

    /// Forgets every X11 window: their server is gone.
    pub(super) fn remove_x11_windows(&mut self) {
        let gone: Vec<Window> = self
            .all_windows()
            .filter(|w| w.x11_surface().is_some())
            .cloned()
            .collect();
        for window in gone {
            self.forget_window(&window);
        }
    }

    /// Tells each X11 window where the desktop put it: X11 programs place their menus
    /// from their own position, and input arrives by it.
    pub fn x11_sync_positions(&self) {
        // After every event-loop iteration: nothing to do without X11 windows' server.
        if self.xwayland.wm.is_none() {
            return;
        }
        for window in self.space.elements() {
            let Some(x11) = window.x11_surface() else {
                continue;
            };
            if x11.is_override_redirect() {
                continue;
            }
            let Some(loc) = self.space.element_location(window) else {
                continue;
            };
            let geo = x11.geometry();
            if geo.loc != loc {
                if let Err(err) = x11.configure(Rectangle::new(loc, geo.size)) {
                    tracing::debug!(%err, "cannot move an X11 window");
                }
            }
        }
    }

    /// Maximizes an X11 window to the usable area of its output, or restores it.
    pub fn x11_set_maximized(&mut self, window: &Window, x11: &X11Surface, maximized: bool) {
        let target = if maximized {
            let Some(output) = self.output_of(window) else {
                return;
            };
            self.remember_window_geometry(window);
            let area = self.usable_area(&output);
            let bar = bar_height(window);
            Some(Rectangle::new(
                (area.loc.x, area.loc.y + bar).into(),
                (area.size.w, area.size.h - bar).into(),
            ))
        } else {
            window_data(window).restore.borrow_mut().take()
        };
        if let Err(err) = x11.set_maximized(maximized) {
            tracing::debug!(%err, "cannot tell an X11 window it is maximized");
        }
        if let Some(geo) = target {
            self.x11_place(window, x11, geo);
        }
    }

    /// Makes an X11 window cover `output` (or its own), or restores it.
    pub fn x11_set_fullscreen(
        &mut self,
        window: &Window,
        x11: &X11Surface,
        fullscreen: bool,
        output: Option<Output>,
    ) {
        let target = if fullscreen {
            let Some(output) = output.or_else(|| self.output_of(window)) else {
                return;
            };
            self.remember_window_geometry(window);
            self.space.output_geometry(&output)
        } else {
            window_data(window).restore.borrow_mut().take()
        };
        if let Err(err) = x11.set_fullscreen(fullscreen) {
            tracing::debug!(%err, "cannot tell an X11 window it is fullscreen");
        }
        if let Some(geo) = target {
            self.x11_place(window, x11, geo);
        }
    }

    fn x11_place(&mut self, window: &Window, x11: &X11Surface, geo: Rectangle<i32, Logical>) {
        if let Err(err) = x11.configure(geo) {
            tracing::debug!(%err, "cannot configure an X11 window");
        }
        self.map_or_park(window, geo.loc, true);
        self.queue_redraw_all();
    }

    fn x11_seat(&self) -> Seat<Ghost> {
        self.seat.clone()
    }
}

fn bar_height(window: &Window) -> i32 {
    if window_data(window).server_side_decorations.get() {
        TITLE_BAR_HEIGHT
    } else {
        0
    }
}

impl smithay::wayland::xwayland_shell::XWaylandShellHandler for Ghost {
    fn xwayland_shell_state(
        &mut self,
    ) -> &mut smithay::wayland::xwayland_shell::XWaylandShellState {
        &mut self.xwayland_shell_state
    }
}
smithay::delegate_xwayland_shell!(Ghost);

impl XwmHandler for Ghost {
    fn xwm_state(&mut self, _xwm: XwmId) -> &mut X11Wm {
        // smithay calls this from the window manager's own event source, which exists
        // only while `wm` is set.
        self.xwayland
            .wm
            .as_mut()
            .expect("smithay asks for the X11 window manager only while it runs")
    }

    fn new_window(&mut self, _xwm: XwmId, _window: X11Surface) {}

    fn new_override_redirect_window(&mut self, _xwm: XwmId, _window: X11Surface) {}

    fn map_window_request(&mut self, _xwm: XwmId, x11: X11Surface) {
        if let Err(err) = x11.set_mapped(true) {
            tracing::warn!(%err, "cannot map an X11 window");
            return;
        }
        let window = Window::new_x11_window(x11.clone());
        let data = window_data(&window);
        // Windows that draw no frame of their own (Motif hints) get the title bar.
        data.server_side_decorations.set(!x11.is_decorated());
        self.add_window(window.clone());
        // Dialogs (WM_TRANSIENT_FOR) open centred over their parent; the rest as any
        // new window.
        match self.x11_parent_geometry(&x11) {
            Some(parent) => {
                let size = x11.geometry().size;
                let loc = parent.loc
                    + smithay::utils::Point::from((
                        (parent.size.w - size.w) / 2,
                        (parent.size.h - size.h) / 2,
                    ));
                self.space.map_element(window.clone(), loc, false);
            }
            None => self.place_new_window(&window),
        }
        data.placed.set(true);
        if let Some(loc) = self.space.element_location(&window) {
            if let Err(err) = x11.configure(Rectangle::new(loc, x11.geometry().size)) {
                tracing::debug!(%err, "cannot place an X11 window");
            }
        }
        self.apply_open_rules(&window);
        if !self.workspaces.is_hidden(&window) {
            self.focus_window(&window);
        }
        self.x11_watch_properties(x11.window_id());
        if super::surface_of(&x11).is_none() {
            self.xwayland.focus_pending = Some(x11.clone());
        }
        if let Some(wm) = self.xwayland.wm.as_mut() {
            if let Err(err) = wm.raise_window(&x11) {
                tracing::debug!(%err, "cannot raise an X11 window");
            }
        }
    }

    fn mapped_override_redirect_window(&mut self, _xwm: XwmId, x11: X11Surface) {
        let loc = x11.geometry().loc;
        let window = Window::new_x11_window(x11);
        self.space.map_element(window, loc, true);
        self.queue_redraw_all();
    }

    fn unmapped_window(&mut self, _xwm: XwmId, x11: X11Surface) {
        if let Some(window) = self.window_for_x11(&x11) {
            self.forget_window(&window);
        }
        if !x11.is_override_redirect() {
            if let Err(err) = x11.set_mapped(false) {
                tracing::debug!(%err, "cannot unmap an X11 window");
            }
        }
    }

    fn destroyed_window(&mut self, _xwm: XwmId, x11: X11Surface) {
        if let Some(window) = self.window_for_x11(&x11) {
            self.forget_window(&window);
        }
    }

    fn configure_request(
        &mut self,
        _xwm: XwmId,
        x11: X11Surface,
        x: Option<i32>,
        y: Option<i32>,
        w: Option<u32>,
        h: Option<u32>,
        _reorder: Option<Reorder>,
    ) {
        let mut geo = x11.geometry();
        let managed = self.window_for_x11(&x11);
        // A managed window may change its size; where it is, the desktop decides.
        if managed.is_none() {
            geo.loc.x = x.unwrap_or(geo.loc.x);
            geo.loc.y = y.unwrap_or(geo.loc.y);
        }
        if let Some(w) = w {
            geo.size.w = w.clamp(1, 16384) as i32;
        }
        if let Some(h) = h {
            geo.size.h = h.clamp(1, 16384) as i32;
        }
        if let Some(loc) = managed
            .as_ref()
            .and_then(|m| self.space.element_location(m))
        {
            geo.loc = loc;
        }
        if let Err(err) = x11.configure(geo) {
            tracing::debug!(%err, "cannot configure an X11 window");
        }
    }

    fn configure_notify(
        &mut self,
        _xwm: XwmId,
        x11: X11Surface,
        geometry: Rectangle<i32, Logical>,
        _above: Option<u32>,
    ) {
        if !x11.is_override_redirect() {
            return;
        }
        if let Some(window) = self.window_for_x11(&x11) {
            self.space.map_element(window, geometry.loc, false);
            self.queue_redraw_all();
        }
    }

    fn maximize_request(&mut self, _xwm: XwmId, x11: X11Surface) {
        if let Some(window) = self.window_for_x11(&x11) {
            self.x11_set_maximized(&window, &x11, true);
        }
    }

    fn unmaximize_request(&mut self, _xwm: XwmId, x11: X11Surface) {
        if let Some(window) = self.window_for_x11(&x11) {
            self.x11_set_maximized(&window, &x11, false);
        }
    }

    fn fullscreen_request(&mut self, _xwm: XwmId, x11: X11Surface) {
        if let Some(window) = self.window_for_x11(&x11) {
            self.x11_set_fullscreen(&window, &x11, true, None);
        }
    }

    fn unfullscreen_request(&mut self, _xwm: XwmId, x11: X11Surface) {
        if let Some(window) = self.window_for_x11(&x11) {
            self.x11_set_fullscreen(&window, &x11, false, None);
        }
    }

    fn minimize_request(&mut self, _xwm: XwmId, x11: X11Surface) {
        if let Some(window) = self.window_for_x11(&x11) {
            self.minimize(&window);
        }
    }

    fn unminimize_request(&mut self, _xwm: XwmId, x11: X11Surface) {
        if let Some(window) = self.window_for_x11(&x11) {
            self.focus_window(&window);
        }
    }

    fn resize_request(&mut self, _xwm: XwmId, x11: X11Surface, _button: u32, edge: ResizeEdge) {
        if let Some(window) = self.window_for_x11(&x11) {
            let seat = self.x11_seat();
            let edges = crate::shell::grabs::ResizeEdges {
                top: matches!(
                    edge,
                    ResizeEdge::Top | ResizeEdge::TopLeft | ResizeEdge::TopRight
                ),
                bottom: matches!(
                    edge,
                    ResizeEdge::Bottom | ResizeEdge::BottomLeft | ResizeEdge::BottomRight
                ),
                left: matches!(
                    edge,
                    ResizeEdge::Left | ResizeEdge::TopLeft | ResizeEdge::BottomLeft
                ),
                right: matches!(
                    edge,
                    ResizeEdge::Right | ResizeEdge::TopRight | ResizeEdge::BottomRight
                ),
            };
            self.start_resize_grab(&seat, &window, edges, None);
        }
    }

    fn move_request(&mut self, _xwm: XwmId, x11: X11Surface, _button: u32) {
        if let Some(window) = self.window_for_x11(&x11) {
            let seat = self.x11_seat();
            self.start_move_grab(&seat, &window, None);
        }
    }

    fn allow_selection_access(&mut self, _xwm: XwmId, _selection: SelectionTarget) -> bool {
        // Only the X11 program the user is in may read or take the clipboard, as a
        // Wayland client may only while it has the keyboard.
        self.focused_window()
            .is_some_and(|w| w.x11_surface().is_some())
    }

    fn send_selection(
        &mut self,
        _xwm: XwmId,
        selection: SelectionTarget,
        mime_type: String,
        fd: OwnedFd,
    ) {
        let seat = self.x11_seat();
        let result = match selection {
            SelectionTarget::Clipboard => {
                request_data_device_client_selection(&seat, mime_type, fd)
                    .map_err(|e| e.to_string())
            }
            SelectionTarget::Primary => {
                request_primary_client_selection(&seat, mime_type, fd).map_err(|e| e.to_string())
            }
        };
        if let Err(err) = result {
            tracing::debug!(%err, "an X11 program asked for a selection nobody offers");
        }
    }

    fn new_selection(&mut self, _xwm: XwmId, selection: SelectionTarget, mime_types: Vec<String>) {
        let seat = self.x11_seat();
        let dh = self.display_handle.clone();
        match selection {
            SelectionTarget::Clipboard => set_data_device_selection(&dh, &seat, mime_types, ()),
            SelectionTarget::Primary => set_primary_selection(&dh, &seat, mime_types, ()),
        }
    }

    fn cleared_selection(&mut self, _xwm: XwmId, selection: SelectionTarget) {
        let seat = self.x11_seat();
        match selection {
            SelectionTarget::Clipboard => {
                if current_data_device_selection_userdata(&seat).is_some() {
                    clear_data_device_selection(&self.display_handle, &seat);
                }
            }
            SelectionTarget::Primary => {
                if current_primary_selection_userdata(&seat).is_some() {
                    clear_primary_selection(&self.display_handle, &seat);
                }
            }
        }
    }

    fn disconnected(&mut self, _xwm: XwmId) {
        self.xwayland_gone();
    }
}
