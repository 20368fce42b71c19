//! Consent for screen sharing: which output, window or region a portal request gets.
//!
//! A request names what it accepts (monitors, windows, regions) and may carry what the
//! user chose last time (restore data). It is answered at once when that still exists,
//! or when `[capture] unattended` says so; otherwise the user is asked: a prompt on
//! every output, then a click on a window shares that window, a click on the desktop
//! shares that output, dragging a rectangle shares that region (outlined while
//! dragging), Tab and Shift+Tab outline each window and output in turn, Return shares
//! the outlined one (or, with none, the output under the pointer or the focused window)
//! and Escape refuses. `ghostcomp msg cast-pick` answers from a script. Requests wait their
//! turn, one prompt at a time.

use std::{collections::VecDeque, os::unix::net::UnixStream, time::Instant};

use ghost_config::Unattended;
use serde_json::json;
use smithay::{
    desktop::Window,
    output::Output,
    utils::{Logical, Point, Rectangle, Size},
};

use super::CastSource;
use crate::{
    ipc::{server::respond, Reply},
    shell::window_data,
    state::Ghost,
};

/// The input devices of a remote-desktop request, in words ("keyboard and pointer").
fn control_words(control: u32) -> Option<String> {
    use ghost_capture::portal::{KEYBOARD, POINTER, TOUCHSCREEN};
    let names: Vec<&str> = [
        (KEYBOARD, "keyboard"),
        (POINTER, "pointer"),
        (TOUCHSCREEN, "touchscreen"),
    ]
    .into_iter()
    .filter(|(bit, _)| control & bit != 0)
    .map(|(_, name)| name)
    .collect();
    (!names.is_empty()).then(|| names.join(" and "))
}

/// Monitors may be chosen.
pub const MONITOR: u32 = 1;
/// Windows may be chosen.
pub const WINDOW: u32 = 2;
/// Regions of an output may be chosen (the portal's "virtual" sources).
pub const REGION: u32 = 4;
/// A press and release closer than this (logical pixels each way) is a click, not a
/// drag.
const DRAG_MIN: f64 = 8.0;

/// Keys the prompt takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickKey {
    /// Return: share the outlined choice, or the obvious one.
    Share,
    /// Escape: refuse.
    Refuse,
    /// Tab: outline the next window or output.
    Next,
    /// Shift+Tab: outline the previous one.
    Previous,
}

/// What a request asks the user.
#[derive(Debug, Clone, Default)]
pub struct Asked {
    /// The application asking (shown in the prompt).
    pub app_id: String,
    /// Which kinds of source it accepts (monitors, windows, regions).
    pub types: u32,
    /// A yes/no question instead of a choice of source.
    pub question: Option<String>,
    /// Input devices it would control too (remote desktop), which the prompt names.
    pub control: u32,
}

/// A request waiting for the user.
struct Pending {
    asked: Asked,
    reply: UnixStream,
    since: Instant,
}

/// Requests waiting for the user, the first one prompted.
#[derive(Default)]
pub struct Picks {
    pending: VecDeque<Pending>,
    /// Where the button went down, while it is held during a prompt.
    pressed_at: Option<Point<f64, Logical>>,
    /// The rectangle being dragged out, on the output where the drag began, or the
    /// outline of the choice Tab moved to.
    selection: Option<Rectangle<i32, Logical>>,
    /// The choice Tab moved to.
    highlighted: Option<CastSource>,
}

impl Picks {
    /// Whether the user is being asked (input goes to the prompt).
    pub fn asking(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The region being dragged out (global logical coordinates), to outline on
    /// screen.
    pub fn selection(&self) -> Option<Rectangle<i32, Logical>> {
        self.selection
    }
}

/// The rectangle between two corners, clipped to `bounds`.
fn spanned(
    a: Point<f64, Logical>,
    b: Point<f64, Logical>,
    bounds: Rectangle<i32, Logical>,
) -> Option<Rectangle<i32, Logical>> {
    let loc = Point::from((a.x.min(b.x).floor() as i32, a.y.min(b.y).floor() as i32));
    let end: Point<i32, Logical> =
        Point::from((a.x.max(b.x).ceil() as i32, a.y.max(b.y).ceil() as i32));
    Rectangle::new(loc, Size::from((end.x - loc.x, end.y - loc.y))).intersection(bounds)
}

/// Coordinates a region from outside may hold (restore data from the portal's
/// permission store, IPC requests): far beyond any output, and far from overflowing
/// when added up.
const REGION_LIMIT: i32 = 1 << 16;

/// `[x, y, w, h]` from outside as a rectangle, when it is one: a positive size and
/// coordinates within [`REGION_LIMIT`].
pub fn bounded_region([x, y, w, h]: [i32; 4]) -> Option<Rectangle<i32, Logical>> {
    let within = |v: i32| (-REGION_LIMIT..=REGION_LIMIT).contains(&v);
    let size = |v: i32| (1..=REGION_LIMIT).contains(&v);
    (within(x) && within(y) && size(w) && size(h))
        .then(|| Rectangle::new((x, y).into(), (w, h).into()))
}

/// Restore data for a region: `region:OUTPUT:x,y,w,h`, relative to the output.
fn parse_region_restore(data: &str) -> Option<(String, Rectangle<i32, Logical>)> {
    let (output, numbers) = data.rsplit_once(':')?;
    let n: Vec<i32> = numbers
        .split(',')
        .map(|v| v.parse().ok())
        .collect::<Option<_>>()?;
    let region = bounded_region(<[i32; 4]>::try_from(n).ok()?)?;
    Some((output.to_string(), region))
}

/// What the user chose and how to find it again next time.
fn chosen(source: &CastSource, state: &Ghost) -> serde_json::Value {
    let restore = match source {
        CastSource::Output(name) => format!("output:{name}"),
        CastSource::Window(id) => {
            let app_id = state
                .window_by_id(*id)
                .map(|w| crate::shell::window_title_and_app_id(&w).1)
                .unwrap_or_default();
            format!("window:{app_id}")
        }
        CastSource::Region { output, area } => format!(
            "region:{output}:{},{},{},{}",
            area.loc.x, area.loc.y, area.size.w, area.size.h
        ),
    };
    json!({"source": source.to_json(state), "restore": restore})
}

/// All of `output` as a region source.
fn whole(output: &Output, state: &Ghost) -> Option<CastSource> {
    let geo = state.space.output_geometry(output)?;
    Some(CastSource::Region {
        output: output.name(),
        area: Rectangle::from_size(geo.size),
    })
}

impl Ghost {
    /// What restore data from an earlier choice names now, if it still exists.
    fn restored(&self, restore: &str, types: u32) -> Option<CastSource> {
        if let Some(name) = restore.strip_prefix("output:") {
            let exists = self.space.outputs().any(|o| o.name() == name);
            return (types & MONITOR != 0 && exists).then(|| CastSource::Output(name.into()));
        }
        if let Some(data) = restore.strip_prefix("region:") {
            let (name, area) = parse_region_restore(data)?;
            let output = self.space.outputs().find(|o| o.name() == name)?;
            let size = self.space.output_geometry(output)?.size;
            let area = area.intersection(Rectangle::from_size(size))?;
            return (types & REGION != 0).then_some(CastSource::Region { output: name, area });
        }
        let app_id = restore.strip_prefix("window:")?;
        if types & WINDOW == 0 || app_id.is_empty() {
            return None;
        }
        self.space
            .elements()
            .find(|w| crate::shell::window_title_and_app_id(w).1 == app_id)
            .map(|w| CastSource::Window(window_data(w).id))
    }

    /// The obvious choice: the output under the pointer for monitor requests, else the
    /// focused window.
    fn obvious_choice(&self, types: u32) -> Option<CastSource> {
        if types & MONITOR != 0 {
            return self.active_output().map(|o| CastSource::Output(o.name()));
        }
        if types & WINDOW != 0 {
            if let Some(w) = self.focused_window() {
                return Some(CastSource::Window(window_data(&w).id));
            }
        }
        if types & REGION != 0 {
            return self.active_output().and_then(|o| whole(&o, self));
        }
        None
    }

    /// A region given in the layout's coordinates, as a source on the output holding
    /// its top-left corner (or `output`), clipped to that output.
    pub fn region_source(&self, output: Option<&str>, region: [i32; 4]) -> Option<CastSource> {
        let global = bounded_region(region)?;
        let output = match output {
            Some(name) => self.space.outputs().find(|o| o.name() == name)?.clone(),
            None => self.space.output_under(global.loc.to_f64()).next()?.clone(),
        };
        let geo = self.space.output_geometry(&output)?;
        let mut area = global.intersection(geo)?;
        area.loc -= geo.loc;
        Some(CastSource::Region {
            output: output.name(),
            area,
        })
    }

    /// Takes a screen-share request: answers it now (restore data, unattended policy)
    /// or queues it for the user. Returns the immediate reply, if any. Control of
    /// input is never granted unattended: only the user or restore data (an earlier
    /// grant of theirs) give it.
    pub fn choose_cast(
        &mut self,
        mut asked: Asked,
        restore: Option<String>,
        reply: UnixStream,
    ) -> Option<Reply> {
        if asked.types & (MONITOR | WINDOW | REGION) == 0 {
            asked.types = MONITOR;
        }
        let (app_id, types) = (asked.app_id.clone(), asked.types);
        if let Some(source) = restore.as_deref().and_then(|r| self.restored(r, types)) {
            tracing::info!(app_id, ?source, "screen share restored");
            return Some(Reply::ok(chosen(&source, self)));
        }
        match self.config.capture.unattended {
            Unattended::Grant if asked.control == 0 => {
                return Some(match self.obvious_choice(types) {
                    Some(source) => {
                        tracing::info!(app_id, ?source, "screen share granted (unattended)");
                        Reply::ok(chosen(&source, self))
                    }
                    None => Reply::error("nothing to share"),
                });
            }
            Unattended::Deny => return Some(Reply::error("cancelled: screen sharing is denied")),
            Unattended::Grant | Unattended::Off => {}
        }
        self.picks.pending.push_back(Pending {
            asked,
            reply,
            since: Instant::now(),
        });
        if self.picks.pending.len() == 1 {
            self.prompt_pick();
        }
        None
    }

    fn prompt_pick(&mut self) {
        let Some(p) = self.picks.pending.front() else {
            self.set_notification(None);
            return;
        };
        let p = &p.asked;
        let what = match (p.types & MONITOR != 0, p.types & WINDOW != 0) {
            (true, true) => "Click a window or the desktop of a screen to share it.",
            (false, true) => "Click the window to share.",
            (true, false) => "Click the screen to share.",
            (false, false) => "Drag a rectangle to share, or click a screen to share all of it.",
        };
        let what = if p.types & REGION != 0 && p.types & (MONITOR | WINDOW) != 0 {
            format!("{what} Drag to share a region.")
        } else {
            what.to_string()
        };
        let app = if p.app_id.is_empty() {
            "An application".to_string()
        } else {
            p.app_id.clone()
        };
        let wants = match control_words(p.control) {
            Some(devices) => format!("wants to share your screen and control your {devices}"),
            None => "wants to share your screen".to_string(),
        };
        let text = match &p.question {
            Some(question) => {
                format!("{app}: {question}\nReturn or a click: allow · Escape: refuse")
            }
            None => format!(
                "{app} {wants}.\n{what}\nTab: go through them · Return: share · Escape: refuse"
            ),
        };
        self.set_notification(Some(text));
    }

    /// Answers the prompted request with `source` (None refuses).
    pub fn answer_pick(&mut self, source: Option<CastSource>) -> bool {
        let Some(mut p) = self.picks.pending.pop_front() else {
            return false;
        };
        self.picks.pressed_at = None;
        self.picks.highlighted = None;
        if self.picks.selection.take().is_some() {
            self.queue_redraw_all();
        }
        let reply = match &source {
            Some(source) => {
                tracing::info!(app_id = p.asked.app_id, ?source, waited = ?p.since.elapsed(), "screen share chosen");
                Reply::ok(chosen(source, self))
            }
            None => Reply::error("cancelled by the user"),
        };
        respond(&mut p.reply, &reply);
        self.prompt_pick();
        true
    }

    /// The button went down while the user is asked: a click or the start of a
    /// drag. Returns whether the prompt took it.
    pub fn pick_press(&mut self, pos: Point<f64, Logical>) -> bool {
        if !self.picks.asking() {
            return false;
        }
        self.picks.pressed_at = Some(pos);
        self.picks.highlighted = None;
        if self.picks.selection.take().is_some() {
            self.queue_redraw_all();
        }
        true
    }

    /// What Tab goes through: windows from the top (if wanted), then outputs (as
    /// monitors, or as whole-output regions), each with its outline.
    fn pick_candidates(&self, types: u32) -> Vec<(CastSource, Rectangle<i32, Logical>)> {
        let mut candidates = Vec::new();
        if types & WINDOW != 0 {
            for w in self.space.elements().rev() {
                if let Some(geo) = self.space.element_geometry(w) {
                    candidates.push((CastSource::Window(window_data(w).id), geo));
                }
            }
        }
        if types & (MONITOR | REGION) != 0 {
            for o in self.space.outputs() {
                let Some(geo) = self.space.output_geometry(o) else {
                    continue;
                };
                let source = match types & MONITOR != 0 {
                    true => Some(CastSource::Output(o.name())),
                    false => whole(o, self),
                };
                candidates.extend(source.map(|s| (s, geo)));
            }
        }
        candidates
    }

    /// Tab or Shift+Tab: outlines the next or previous choice.
    fn pick_cycle(&mut self, forward: bool) {
        let Some(types) = self.picks.pending.front().map(|p| p.asked.types) else {
            return;
        };
        let candidates = self.pick_candidates(types);
        if candidates.is_empty() {
            return;
        }
        let n = candidates.len();
        let now = self
            .picks
            .highlighted
            .as_ref()
            .and_then(|h| candidates.iter().position(|(s, _)| s == h));
        let next = match (now, forward) {
            (None, true) => 0,
            (None, false) => n - 1,
            (Some(i), true) => (i + 1) % n,
            (Some(i), false) => (i + n - 1) % n,
        };
        let (source, outline) = candidates[next].clone();
        self.picks.highlighted = Some(source);
        self.picks.selection = Some(outline);
        self.queue_redraw_all();
    }

    /// The rectangle a drag from `start` to `pos` spans, clipped to the output where it
    /// began; None while it is still a click or when regions are not wanted.
    fn dragged_rectangle(
        &self,
        start: Point<f64, Logical>,
        pos: Point<f64, Logical>,
    ) -> Option<Rectangle<i32, Logical>> {
        let accepts = self
            .picks
            .pending
            .front()
            .is_some_and(|p| p.asked.types & REGION != 0);
        let dragged = (pos.x - start.x).abs() >= DRAG_MIN || (pos.y - start.y).abs() >= DRAG_MIN;
        if !accepts || !dragged {
            return None;
        }
        let bounds = self
            .space
            .output_under(start)
            .next()
            .and_then(|o| self.space.output_geometry(o))?;
        spanned(start, pos, bounds)
    }

    /// The pointer moved while the user is asked: outlines the region being dragged.
    pub fn pick_motion(&mut self, pos: Point<f64, Logical>) {
        let Some(start) = self.picks.pressed_at else {
            return;
        };
        let selection = self.dragged_rectangle(start, pos);
        if selection != self.picks.selection {
            self.picks.selection = selection;
            self.queue_redraw_all();
        }
    }

    /// The button came up while the user is asked: a dragged region is shared, else
    /// the press was a click. Returns whether the prompt took it.
    pub fn pick_release(&mut self, pos: Point<f64, Logical>) -> bool {
        let Some(start) = self.picks.pressed_at.take() else {
            return self.picks.asking();
        };
        if self.picks.selection.take().is_some() {
            self.queue_redraw_all();
        }
        match self.dragged_rectangle(start, pos) {
            Some(r) => {
                let source = self.region_source(None, [r.loc.x, r.loc.y, r.size.w, r.size.h]);
                if source.is_some() {
                    self.answer_pick(source);
                }
            }
            None => self.pick_at(start),
        }
        true
    }

    /// A click while the user is asked: what is under the pointer, if the request
    /// accepts it.
    fn pick_at(&mut self, pos: Point<f64, Logical>) {
        let Some(types) = self.picks.pending.front().map(|p| p.asked.types) else {
            return;
        };
        let window: Option<Window> = self.space.element_under(pos).map(|(w, _)| w.clone());
        let output = self.space.output_under(pos).next().cloned();
        let source = match (window, output) {
            (Some(w), _) if types & WINDOW != 0 => Some(CastSource::Window(window_data(&w).id)),
            (_, Some(o)) if types & MONITOR != 0 => Some(CastSource::Output(o.name())),
            (_, Some(o)) if types & REGION != 0 => whole(&o, self),
            _ => None,
        };
        if let Some(source) = source {
            self.answer_pick(Some(source));
        }
    }

    /// A key while the user is asked. Returns whether the key was taken.
    pub fn pick_key(&mut self, key: PickKey) -> bool {
        let Some(types) = self.picks.pending.front().map(|p| p.asked.types) else {
            return false;
        };
        match key {
            PickKey::Share => {
                let source = self
                    .picks
                    .highlighted
                    .clone()
                    .or_else(|| self.obvious_choice(types));
                if source.is_some() {
                    self.answer_pick(source);
                }
            }
            PickKey::Refuse => {
                self.answer_pick(None);
            }
            PickKey::Next => self.pick_cycle(true),
            PickKey::Previous => self.pick_cycle(false),
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_control_request_names_its_devices_in_the_prompt() {
        assert_eq!(control_words(0), None);
        assert_eq!(control_words(3).as_deref(), Some("keyboard and pointer"));
        assert_eq!(
            control_words(7).as_deref(),
            Some("keyboard and pointer and touchscreen")
        );
    }

    #[test]
    fn region_restore_data_reads_back_what_was_written() {
        let (output, area) = parse_region_restore("DP-1:10,20,300,200").expect("valid");
        assert_eq!(output, "DP-1");
        assert_eq!(area, Rectangle::new((10, 20).into(), (300, 200).into()));
        // An output name may itself hold colons.
        let (output, _) = parse_region_restore("a:b:0,0,1,1").expect("valid");
        assert_eq!(output, "a:b");
        for bad in [
            "DP-1:1,2,3",
            "DP-1:0,0,0,5",
            "x:2147483647,0,2147483647,1",
            ":,,,",
        ] {
            assert_eq!(parse_region_restore(bad), None, "{bad}");
        }
    }

    proptest! {
        /// Whatever comes back from the permission store, reading it never panics, and
        /// an accepted region can be clipped to an output without overflowing.
        #[test]
        fn any_region_restore_data_is_read_safely(data in ".{0,40}", n in proptest::collection::vec(any::<i32>(), 4)) {
            let _ = parse_region_restore(&data);
            let text = format!("OUT:{},{},{},{}", n[0], n[1], n[2], n[3]);
            if let Some((_, area)) = parse_region_restore(&text) {
                let output = Rectangle::<i32, Logical>::from_size((8192, 8192).into());
                let _ = area.intersection(output);
            }
        }
    }
}
