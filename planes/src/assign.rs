//! Plane assignment: which layers of an output's scene go onto hardware planes and which
//! are composited into the primary plane's buffer.
//!
//! The rule that keeps the picture exact: a plane shows one layer above everything the
//! renderer composited, so a layer may leave composition only when no composited layer
//! above it overlaps it (the cursor, on top, first), planes keep the layers' order, and
//! a layer covering the whole output with nothing composited may be scanned out
//! directly on the primary plane. Candidates are checked
//! with TEST_ONLY commits through [`PlaneTest`], within a budget per frame; the result
//! is cached by the scene's shape (sizes, formats, which layers), so a steady scene
//! needs no test at all, and a refused real commit drops the cache entry.

use std::collections::HashMap;

/// A rectangle on the output, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rect {
    /// Left.
    pub x: i32,
    /// Top.
    pub y: i32,
    /// Width.
    pub w: u32,
    /// Height.
    pub h: u32,
}

impl Rect {
    fn overlaps(&self, o: &Rect) -> bool {
        let (ax1, ay1) = (self.x + self.w as i32, self.y + self.h as i32);
        let (bx1, by1) = (o.x + o.w as i32, o.y + o.h as i32);
        self.x < bx1 && o.x < ax1 && self.y < by1 && o.y < ay1
    }
}

/// One layer of the scene (a surface's buffer, the cursor, a compositor-drawn part).
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// Stable identity across frames (the surface).
    pub id: u64,
    /// Where it is shown.
    pub dst: Rect,
    /// Its buffer's size (a different size means scaling).
    pub buffer: (u32, u32),
    /// fourcc and modifier of its buffer; None when the buffer cannot be scanned out
    /// (shm, or compositor-drawn).
    pub format: Option<(u32, u64)>,
    /// Fully opaque.
    pub opaque: bool,
    /// The cursor image.
    pub cursor: bool,
}

/// What a plane is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The bottom plane: the composited buffer or one layer scanned out directly.
    Primary,
    /// Above the primary, in the order given.
    Overlay,
    /// The topmost, for the cursor.
    Cursor,
}

/// One plane of the CRTC.
#[derive(Debug, Clone, PartialEq)]
pub struct Plane {
    /// Object id.
    pub id: u32,
    /// Role.
    pub kind: Kind,
    /// (format, modifier) pairs it scans out.
    pub formats: Vec<(u32, u64)>,
    /// It can scale.
    pub scaling: bool,
}

/// The decision for one frame.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assignment {
    /// Layer scanned out directly on the primary plane, or None for the composited buffer.
    pub primary: Option<u64>,
    /// (plane id, layer id), bottom to top.
    pub planes: Vec<(u32, u64)>,
}

impl Assignment {
    /// Layers the renderer still composites.
    pub fn composited<'a>(&'a self, layers: &'a [Layer]) -> impl Iterator<Item = &'a Layer> {
        layers.iter().filter(|l| {
            Some(l.id) != self.primary && !self.planes.iter().any(|(_, id)| *id == l.id)
        })
    }
}

/// Asks the device whether an assignment would be accepted (TEST_ONLY).
pub trait PlaneTest {
    /// True when the device takes `assignment` for `layers`.
    fn test(&mut self, layers: &[Layer], assignment: &Assignment) -> bool;
}

/// What of one layer decides whether an assignment is feasible (not where it is).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct LayerShape {
    id: u64,
    size: (u32, u32),
    buffer: (u32, u32),
    format: Option<(u32, u64)>,
    opaque: bool,
    cursor: bool,
}

/// Shape of a scene for the cache.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Shape(Vec<LayerShape>);

impl LayerShape {
    fn of(l: &Layer) -> Self {
        LayerShape {
            id: l.id,
            size: (l.dst.w, l.dst.h),
            buffer: l.buffer,
            format: l.format,
            opaque: l.opaque,
            cursor: l.cursor,
        }
    }

    fn matches(&self, l: &Layer) -> bool {
        self.id == l.id
            && self.size == (l.dst.w, l.dst.h)
            && self.buffer == l.buffer
            && self.format == l.format
            && self.opaque == l.opaque
            && self.cursor == l.cursor
    }
}

impl Shape {
    /// Whether `layers` have this shape, compared in place (the steady case).
    fn matches(&self, layers: &[Layer]) -> bool {
        self.0.len() == layers.len() && self.0.iter().zip(layers).all(|(s, l)| s.matches(l))
    }
}

fn shape(layers: &[Layer]) -> Shape {
    Shape(layers.iter().map(LayerShape::of).collect())
}

/// Plane assignment with its cache and counters.
#[derive(Debug, Default)]
pub struct Assigner {
    cache: HashMap<Shape, Assignment>,
    /// The last frame's shape and decision: a steady scene is answered from here
    /// without building or hashing its shape.
    last: Option<(Shape, Assignment)>,
    /// TEST_ONLY commits the last frame needed.
    pub last_tests: usize,
    /// TEST_ONLY commits allowed per frame.
    pub budget: usize,
}

fn fits(plane: &Plane, layer: &Layer) -> bool {
    let Some(format) = layer.format else {
        return false;
    };
    plane.formats.contains(&format)
        && (plane.scaling || (layer.buffer.0, layer.buffer.1) == (layer.dst.w, layer.dst.h))
}

impl Assigner {
    /// An assigner that may spend `budget` tests a frame.
    pub fn new(budget: usize) -> Self {
        Self {
            budget,
            ..Self::default()
        }
    }

    /// Forgets what the cache says of `layers`' shape (a real commit was refused).
    pub fn invalidate(&mut self, layers: &[Layer]) {
        self.cache.remove(&shape(layers));
        if self.last.as_ref().is_some_and(|(s, _)| s.matches(layers)) {
            self.last = None;
        }
    }

    /// Decides the planes for `layers` (top to bottom) on `planes`, the output being
    /// `output` large.
    pub fn assign<T: PlaneTest>(
        &mut self,
        layers: &[Layer],
        planes: &[Plane],
        output: (u32, u32),
        device: &mut T,
    ) -> Assignment {
        self.last_tests = 0;
        if let Some((_, decided)) = self.last.as_ref().filter(|(s, _)| s.matches(layers)) {
            return decided.clone();
        }
        let key = shape(layers);
        if let Some(cached) = self.cache.get(&key) {
            self.last = Some((key, cached.clone()));
            return cached.clone();
        }
        let candidates = candidates(layers, planes, output);
        let mut chosen = Assignment::default();
        for candidate in candidates {
            if self.last_tests >= self.budget {
                break;
            }
            self.last_tests += 1;
            if device.test(layers, &candidate) {
                chosen = candidate;
                break;
            }
        }
        self.cache.insert(key.clone(), chosen.clone());
        self.last = Some((key, chosen.clone()));
        chosen
    }
}

/// Candidate assignments, most offloaded first, each keeping the picture exact.
fn candidates(layers: &[Layer], planes: &[Plane], output: (u32, u32)) -> Vec<Assignment> {
    let cursor_plane = planes.iter().find(|p| p.kind == Kind::Cursor);
    let overlays: Vec<&Plane> = planes.iter().filter(|p| p.kind == Kind::Overlay).collect();
    let primary = planes.iter().find(|p| p.kind == Kind::Primary);
    // The run at the top: the cursor (if it is the top layer) on the cursor plane, then
    // layers on overlays, from the highest overlay down.
    let mut run: Vec<(u32, u64)> = Vec::new();
    let mut rest = layers;
    if let (Some(top), Some(cp)) = (layers.first(), cursor_plane) {
        if top.cursor && fits(cp, top) {
            run.push((cp.id, top.id));
            rest = &layers[1..];
        }
    }
    // A bottom layer that the primary can scan out directly stays for the primary
    // rather than taking an overlay (the primary would then compose nothing).
    let full = Rect {
        x: 0,
        y: 0,
        w: output.0,
        h: output.1,
    };
    let for_primary =
        |l: &Layer| l.opaque && !l.cursor && l.dst == full && primary.is_some_and(|p| fits(p, l));
    let stackable = match rest.split_last() {
        Some((bottom, above)) if for_primary(bottom) => above,
        _ => rest,
    };
    // Top to bottom: a layer goes onto the next overlay down when it fits and nothing
    // composited above it overlaps it (a plane shows above all composited content);
    // otherwise it is composited, and hides the layers below it that it overlaps.
    let mut free = overlays.iter().rev();
    let mut composited_above: Vec<&Layer> = Vec::new();
    for layer in stackable {
        let plane = free.clone().next();
        let blocked = composited_above.iter().any(|c| c.dst.overlaps(&layer.dst));
        match plane {
            Some(plane) if !layer.cursor && !blocked && fits(plane, layer) => {
                free.next();
                run.push((plane.id, layer.id));
            }
            _ => composited_above.push(layer),
        }
    }
    // Direct scanout: everything above went onto planes, and the bottom layer covers
    // the output, is opaque, and fits the primary.
    let scanout = match rest.last() {
        Some(bottom) if composited_above.is_empty() && for_primary(bottom) => Some(bottom.id),
        _ => None,
    };
    let mut out = Vec::new();
    // Most offloaded first; then give back the lowest plane layer one at a time.
    for keep in (0..=run.len()).rev() {
        let planes: Vec<(u32, u64)> = run[..keep].iter().rev().copied().collect();
        if keep == run.len() {
            if let Some(id) = scanout {
                out.push(Assignment {
                    primary: Some(id),
                    planes: planes.clone(),
                });
            }
        }
        out.push(Assignment {
            primary: None,
            planes,
        });
    }
    // Keep only candidates whose plane layers are all above every composited layer they
    // overlap (true by construction for the top run; checked to be safe).
    out.retain(|a| exact(layers, a));
    out
}

/// Whether `a` shows the same picture as full composition: every layer on a plane is
/// above every composited layer it overlaps, and a directly scanned-out layer has
/// nothing composited above it that it would have to be blended under.
pub fn exact(layers: &[Layer], a: &Assignment) -> bool {
    let position = |id: u64| layers.iter().position(|l| l.id == id);
    for (_, id) in &a.planes {
        let Some(i) = position(*id) else { return false };
        let composited_above = layers[..i]
            .iter()
            .any(|l| a.composited(layers).any(|c| c.id == l.id) && l.dst.overlaps(&layers[i].dst));
        if composited_above {
            return false;
        }
    }
    if let Some(id) = a.primary {
        // Only valid when nothing else is composited (the primary then shows that layer).
        if a.composited(layers).next().is_some() || position(id).is_none() {
            return false;
        }
    }
    true
}
