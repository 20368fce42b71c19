//! Marks the compositor draws over everything on the screen itself (never in what is
//! shared): the sharing indicator, the remote-control indicator and the outline of a region being dragged out in the
//! share prompt.

use smithay::{
    backend::renderer::{
        element::{solid::SolidColorRenderElement, Id, Kind},
        utils::CommitCounter,
    },
    utils::{Logical, Physical, Rectangle, Scale, Size},
};

/// The sharing indicator: a red square this big (logical pixels), as far from the
/// output's top-right corner.
const SHARING_DOT: f64 = 10.0;
/// Its colour.
pub const SHARING_COLOR: [f32; 4] = [0.9, 0.1, 0.1, 1.0];

/// The remote-control indicator (someone else drives the input): an amber square
/// left of the sharing indicator's place.
pub const REMOTE_COLOR: [f32; 4] = [1.0, 0.65, 0.0, 1.0];

/// The outline of a region being dragged out: this colour, this wide (logical pixels).
pub const SELECTION_COLOR: [f32; 4] = [0.25, 0.6, 1.0, 1.0];
const SELECTION_EDGE: f64 = 2.0;

/// Ids that stay the same from frame to frame (the indicator, the four edges of the
/// selection), so damage tracking sees the same elements move rather than new ones.
fn fixed_id(index: usize) -> Id {
    static IDS: std::sync::OnceLock<[Id; 6]> = std::sync::OnceLock::new();
    IDS.get_or_init(|| std::array::from_fn(|_| Id::new()))[index].clone()
}

fn solid(
    index: usize,
    geometry: Rectangle<i32, Physical>,
    color: [f32; 4],
) -> SolidColorRenderElement {
    SolidColorRenderElement::new(
        fixed_id(index),
        geometry,
        CommitCounter::default(),
        color,
        Kind::Unspecified,
    )
}

/// The sharing indicator of an output at `output_geo`.
pub fn sharing_dot(
    output_geo: Rectangle<i32, Logical>,
    scale: Scale<f64>,
) -> SolidColorRenderElement {
    corner_dot(output_geo, scale, 1, 0, SHARING_COLOR)
}

/// The remote-control indicator of an output at `output_geo`: as big as the sharing
/// indicator, one place to its left (both show when a peer watches and controls).
pub fn remote_dot(
    output_geo: Rectangle<i32, Logical>,
    scale: Scale<f64>,
) -> SolidColorRenderElement {
    corner_dot(output_geo, scale, 2, 5, REMOTE_COLOR)
}

/// A square of the indicators' size, `place` squares (each with its margin) from the
/// output's top-right corner.
fn corner_dot(
    output_geo: Rectangle<i32, Logical>,
    scale: Scale<f64>,
    place: i32,
    index: usize,
    color: [f32; 4],
) -> SolidColorRenderElement {
    let size: Size<i32, Physical> = output_geo.size.to_physical_precise_round(scale);
    let side = ((SHARING_DOT * scale.x).round() as i32).max(1);
    let margin = side;
    solid(
        index,
        Rectangle::new(
            (size.w - place * (side + margin), margin).into(),
            (side, side).into(),
        ),
        color,
    )
}

/// The edges of `selection` (global logical) that lie on the output at `output_geo`.
pub fn selection_edges(
    selection: Rectangle<i32, Logical>,
    output_geo: Rectangle<i32, Logical>,
    scale: Scale<f64>,
) -> impl Iterator<Item = SolidColorRenderElement> {
    let local = selection.intersection(output_geo);
    let edges = local.map(|local| {
        let rect: Rectangle<i32, Physical> = Rectangle::new(
            (local.loc - output_geo.loc).to_physical_precise_round(scale),
            local.size.to_physical_precise_round(scale),
        );
        let (x, y, w, h) = (rect.loc.x, rect.loc.y, rect.size.w, rect.size.h);
        let edge = ((SELECTION_EDGE * scale.x).round() as i32).max(1);
        let (across, down) = (edge.min(h), edge.min(w));
        [
            Rectangle::new((x, y).into(), (w, across).into()),
            Rectangle::new((x, y + h - across).into(), (w, across).into()),
            Rectangle::new((x, y).into(), (down, h).into()),
            Rectangle::new((x + w - down, y).into(), (down, h).into()),
        ]
    });
    edges
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(index, geometry)| solid(1 + index, geometry, SELECTION_COLOR))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outline_is_clipped_to_the_output_and_scaled() {
        let output = Rectangle::new((1000, 0).into(), (800, 600).into());
        let scale = Scale::from(2.0);
        let selection = Rectangle::new((900, 100).into(), (200, 50).into());
        let edges: Vec<_> = selection_edges(selection, output, scale)
            .map(|e| {
                use smithay::backend::renderer::element::Element;
                e.geometry(scale)
            })
            .collect();
        // The part on this output is x 1000..1100, local 0..100, physical 0..200.
        assert_eq!(edges.len(), 4);
        assert_eq!(edges[0], Rectangle::new((0, 200).into(), (200, 4).into()));
        assert_eq!(edges[3], Rectangle::new((196, 200).into(), (4, 100).into()));
        let elsewhere = Rectangle::new((0, 0).into(), (100, 100).into());
        assert_eq!(selection_edges(elsewhere, output, scale).count(), 0);
    }
}
