//! Which CRTC drives which connector. Decided for all connected connectors at once (the
//! result goes into one atomic modeset, as drivers budget bandwidth across heads), as a
//! maximum bipartite matching, keeping current pairs where possible so a hotplug on one
//! port does not blank the others.

use std::collections::BTreeMap;

use ghostnv_backend::DeviceModel;

/// connector id → CRTC id for as many of `connectors` as the device can drive at once.
/// `current` pairs are kept when they are still possible.
pub fn allocate_crtcs(
    model: &DeviceModel,
    connectors: &[u32],
    current: &BTreeMap<u32, u32>,
) -> BTreeMap<u32, u32> {
    let reach: Vec<(u32, Vec<usize>)> = connectors
        .iter()
        .filter_map(|id| {
            let connector = model.connectors.iter().find(|c| c.id == *id)?;
            let mut crtcs: Vec<usize> = (0..model.crtcs.len())
                .filter(|i| connector.possible_crtcs & (1 << i) != 0)
                .collect();
            // The current CRTC first: augmenting paths then keep it unless they must not.
            if let Some(index) = current
                .get(id)
                .and_then(|crtc| model.crtcs.iter().position(|c| c.id == *crtc))
            {
                crtcs.sort_by_key(|i| *i != index);
            }
            Some((*id, crtcs))
        })
        .collect();
    let pinned = matching(model, &reach, current, true);
    let free = matching(model, &reach, current, false);
    // Keep every lit output where it is unless moving one lights more of them.
    let best = if pinned.iter().flatten().count() >= free.iter().flatten().count() {
        pinned
    } else {
        free
    };
    best.iter()
        .enumerate()
        .filter_map(|(crtc, c)| c.map(|c| (reach[c].0, model.crtcs[crtc].id)))
        .collect()
}

/// A maximum matching by augmenting paths; with `pin`, connectors in `current` hold
/// their CRTC and are never moved.
fn matching(
    model: &DeviceModel,
    reach: &[(u32, Vec<usize>)],
    current: &BTreeMap<u32, u32>,
    pin: bool,
) -> Vec<Option<usize>> {
    let mut owner: Vec<Option<usize>> = vec![None; model.crtcs.len()];
    let mut fixed = vec![false; reach.len()];
    if pin {
        for (connector, (id, crtcs)) in reach.iter().enumerate() {
            let index = current
                .get(id)
                .and_then(|crtc| model.crtcs.iter().position(|c| c.id == *crtc));
            if let Some(index) = index.filter(|i| crtcs.contains(i) && owner[*i].is_none()) {
                owner[index] = Some(connector);
                fixed[connector] = true;
            }
        }
    }
    fn augment(
        connector: usize,
        reach: &[(u32, Vec<usize>)],
        fixed: &[bool],
        owner: &mut [Option<usize>],
        seen: &mut [bool],
    ) -> bool {
        for &crtc in &reach[connector].1 {
            if seen[crtc] {
                continue;
            }
            seen[crtc] = true;
            let free = match owner[crtc] {
                None => true,
                Some(other) => !fixed[other] && augment(other, reach, fixed, owner, seen),
            };
            if free {
                owner[crtc] = Some(connector);
                return true;
            }
        }
        false
    }
    // Connectors that already have a CRTC go first, so they tend to keep it.
    let mut order: Vec<usize> = (0..reach.len()).filter(|c| !fixed[*c]).collect();
    order.sort_by_key(|i| !current.contains_key(&reach[*i].0));
    for connector in order {
        let mut seen = vec![false; model.crtcs.len()];
        augment(connector, reach, &fixed, &mut owner, &mut seen);
    }
    owner
}

/// What changed between two connector scans.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Hotplug {
    /// Newly connected connectors.
    pub connected: Vec<u32>,
    /// Connectors that lost their display.
    pub disconnected: Vec<u32>,
    /// Connectors still connected whose display changed (another EDID).
    pub replaced: Vec<u32>,
}

/// Compares two scans: (connector id, connected, EDID bytes) each.
pub fn hotplug(before: &[(u32, bool, Vec<u8>)], after: &[(u32, bool, Vec<u8>)]) -> Hotplug {
    let was = |id: u32| before.iter().find(|(i, ..)| *i == id);
    let mut out = Hotplug::default();
    for (id, connected, edid) in after {
        match (was(*id), connected) {
            (Some((_, true, old)), true) if old != edid => out.replaced.push(*id),
            (Some((_, true, _)), false) => out.disconnected.push(*id),
            (Some((_, false, _)) | None, true) => out.connected.push(*id),
            _ => {}
        }
    }
    for (id, connected, _) in before {
        if *connected && !after.iter().any(|(i, ..)| i == id) {
            out.disconnected.push(*id);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hotplug_sees_plug_unplug_and_a_swapped_monitor() {
        let before = vec![(1, true, vec![1]), (2, false, vec![]), (3, true, vec![3])];
        let after = vec![(1, true, vec![9]), (2, true, vec![2]), (3, false, vec![])];
        assert_eq!(
            hotplug(&before, &after),
            Hotplug {
                connected: vec![2],
                disconnected: vec![3],
                replaced: vec![1],
            }
        );
    }
}
