use super::*;
use proptest::prelude::*;

fn numbers(set: &OutputWorkspaces<u32>) -> Vec<Vec<u32>> {
    set.workspaces.iter().map(|w| w.windows.clone()).collect()
}

fn one_output() -> Workspaces<u32> {
    let mut ws = Workspaces::default();
    ws.add_output("A");
    ws
}

#[test]
fn an_output_starts_with_one_empty_workspace_and_windows_open_on_the_shown_one() {
    let mut ws = one_output();
    assert_eq!(numbers(&ws.outputs()[0]), vec![Vec::<u32>::new()]);
    ws.add_window("A", 1);
    // A window on the last workspace makes a new empty one after it.
    assert_eq!(numbers(&ws.outputs()[0]), vec![vec![1], vec![]]);
    assert!(!ws.is_hidden(&1));
}

#[test]
fn going_to_the_empty_workspace_hides_the_windows_and_coming_back_shows_them() {
    let mut ws = one_output();
    ws.add_window("A", 1);
    ws.add_window("A", 2);
    let switch = ws.activate("A", Target::Number(2)).unwrap();
    assert_eq!(switch.hide, vec![1, 2]);
    assert!(switch.show.is_empty());
    assert!(ws.is_hidden(&1));
    ws.add_window("A", 3);
    assert_eq!(numbers(&ws.outputs()[0]), vec![vec![1, 2], vec![3], vec![]]);
    let back = ws.activate("A", Target::Step(Step::Previous)).unwrap();
    assert_eq!((back.hide, back.show), (vec![3], vec![1, 2]));
}

#[test]
fn numbers_past_the_last_go_to_the_empty_one_and_an_empty_workspace_left_goes_away() {
    let mut ws = one_output();
    ws.add_window("A", 1);
    ws.activate("A", Target::Number(9)).unwrap();
    assert_eq!(ws.outputs()[0].active, 1);
    // Shown and empty: it stays the last; leaving it for the first removes nothing.
    ws.activate("A", Target::Number(1)).unwrap();
    assert_eq!(numbers(&ws.outputs()[0]), vec![vec![1], vec![]]);
    // Moving the only window away empties workspace 1, which stays while shown...
    assert_eq!(ws.move_window(&1, Target::Number(2)), Some(true));
    assert_eq!(numbers(&ws.outputs()[0]), vec![vec![], vec![1], vec![]]);
    // ...and goes once another is shown; numbers close up.
    let switch = ws.activate("A", Target::Number(2)).unwrap();
    assert_eq!(switch.show, vec![1]);
    assert_eq!(numbers(&ws.outputs()[0]), vec![vec![1], vec![]]);
    assert_eq!(ws.outputs()[0].active, 0);
}

#[test]
fn a_removed_outputs_windows_stay_in_sight_and_its_other_workspaces_follow() {
    let mut ws = Workspaces::default();
    ws.add_output("A");
    ws.add_output("B");
    ws.add_window("A", 1);
    ws.add_window("B", 2);
    ws.activate("B", Target::Number(2));
    ws.add_window("B", 3);
    ws.remove_output("B");
    assert_eq!(ws.output_names(), vec!["A".to_owned()]);
    assert_eq!(numbers(&ws.outputs()[0]), vec![vec![1, 3], vec![2], vec![]]);
    assert!(ws.is_hidden(&2) && !ws.is_hidden(&3));
    // The last output going keeps everything for the next one.
    ws.remove_output("A");
    assert!(!ws.has_output("A"));
    ws.add_output("C");
    assert_eq!(ws.locate(&2), Some(("C", 1)));
}

#[test]
fn a_window_dragged_to_another_output_joins_its_shown_workspace() {
    let mut ws = Workspaces::default();
    ws.add_output("A");
    ws.add_output("B");
    ws.add_window("A", 1);
    ws.settle(&1, "B");
    assert_eq!(ws.locate(&1), Some(("B", 0)));
    // A hidden window is not moved by where it last was.
    ws.activate("B", Target::Number(2));
    ws.settle(&1, "A");
    assert_eq!(ws.locate(&1), Some(("B", 0)));
}

#[test]
fn ids_stay_with_their_workspace_when_numbers_change() {
    let mut ws = one_output();
    ws.add_window("A", 1);
    ws.activate("A", Target::Number(2));
    ws.add_window("A", 2);
    let id_of_2 = ws.outputs()[0].workspaces[1].id;
    ws.remove_window(&1);
    assert_eq!(ws.outputs()[0].workspaces[0].id, id_of_2);
    let switch = ws.activate_id(id_of_2).unwrap();
    assert!(switch.hide.is_empty() && switch.show.is_empty());
}

#[test]
fn tiling_is_per_workspace_and_new_workspaces_follow_the_default() {
    let mut ws = one_output();
    ws.add_window("A", 1);
    assert_eq!(ws.toggle_tiled("A"), Some(true));
    assert!(ws.shown("A").unwrap().tiled);
    ws.activate("A", Target::Number(2));
    assert!(!ws.shown("A").unwrap().tiled);
    ws.set_default_tiled(true);
    // The empty workspace shown follows the new default; workspace 1 keeps its own.
    assert!(ws.shown("A").unwrap().tiled);
    ws.add_window("A", 2);
    assert!(ws.outputs()[0].workspaces[2].tiled);
    assert!(ws.toggle_tiled("B").is_none());
}

#[test]
fn restack_orders_the_shown_windows_for_the_next_show() {
    let mut ws = one_output();
    for w in [1, 2, 3] {
        ws.add_window("A", w);
    }
    ws.restack(|w| Some([0, 2, 0, 1][*w as usize]));
    let switch = ws.activate("A", Target::Number(2)).unwrap();
    assert_eq!(switch.hide, vec![2, 3, 1]);
}

#[derive(Debug, Clone)]
enum Op {
    AddOutput(u8),
    RemoveOutput(u8),
    AddWindow(u8, u32),
    RemoveWindow(u32),
    Activate(u8, u32),
    Next(u8),
    Previous(u8),
    Move(u32, u32),
    Settle(u32, u8),
    ActivateId(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..3).prop_map(Op::AddOutput),
        (0u8..3).prop_map(Op::RemoveOutput),
        (0u8..3, 0u32..12).prop_map(|(o, w)| Op::AddWindow(o, w)),
        (0u32..12).prop_map(Op::RemoveWindow),
        (0u8..3, 1u32..6).prop_map(|(o, n)| Op::Activate(o, n)),
        (0u8..3).prop_map(Op::Next),
        (0u8..3).prop_map(Op::Previous),
        (0u32..12, 1u32..6).prop_map(|(w, n)| Op::Move(w, n)),
        (0u32..12, 0u8..3).prop_map(|(w, o)| Op::Settle(w, o)),
        (0u64..20).prop_map(Op::ActivateId),
    ]
}

fn name(o: u8) -> String {
    format!("out-{o}")
}

fn shown(ws: &Workspaces<u32>) -> Vec<u32> {
    let mut v: Vec<u32> = ws
        .outputs()
        .iter()
        .flat_map(|s| s.workspaces[s.active].windows.clone())
        .collect();
    v.sort_unstable();
    v
}

fn check_invariants(ws: &Workspaces<u32>) -> Result<(), TestCaseError> {
    let mut seen = Vec::new();
    let mut ids = Vec::new();
    for set in ws.outputs() {
        prop_assert!(!set.workspaces.is_empty());
        prop_assert!(set.active < set.workspaces.len());
        prop_assert!(set.workspaces.last().is_some_and(|w| w.windows.is_empty()));
        for (i, w) in set.workspaces.iter().enumerate() {
            let last = i + 1 == set.workspaces.len();
            prop_assert!(!w.windows.is_empty() || last || i == set.active);
            ids.push(w.id);
            seen.extend(w.windows.iter().copied());
        }
        // Never two empty workspaces at the end.
        let n = set.workspaces.len();
        prop_assert!(n < 2 || !set.workspaces[n - 2].windows.is_empty());
    }
    let total = seen.len();
    seen.sort_unstable();
    seen.dedup();
    prop_assert_eq!(seen.len(), total, "a window on two workspaces");
    let id_count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    prop_assert_eq!(ids.len(), id_count, "two workspaces with one id");
    Ok(())
}

proptest! {
    /// Whatever happens, every window is on exactly one workspace, each output ends with
    /// one empty workspace, no hidden workspace is empty, and a switch hides exactly
    /// what stops being shown and shows what starts to be.
    #[test]
    fn workspaces_stay_consistent(ops in proptest::collection::vec(op(), 1..60)) {
        let mut ws: Workspaces<u32> = Workspaces::default();
        let mut windows: Vec<u32> = Vec::new();
        for op in ops {
            let before = shown(&ws);
            let switch = match op {
                Op::AddOutput(o) => { ws.add_output(&name(o)); None }
                Op::RemoveOutput(o) => { ws.remove_output(&name(o)); None }
                Op::AddWindow(o, w) => {
                    ws.add_window(&name(o), w);
                    if !windows.contains(&w) { windows.push(w); }
                    None
                }
                Op::RemoveWindow(w) => { ws.remove_window(&w); windows.retain(|x| *x != w); None }
                Op::Activate(o, n) => ws.activate(&name(o), Target::Number(n)),
                Op::Next(o) => ws.activate(&name(o), Target::Step(Step::Next)),
                Op::Previous(o) => ws.activate(&name(o), Target::Step(Step::Previous)),
                Op::Move(w, n) => {
                    let hidden = ws.move_window(&w, Target::Number(n));
                    if let Some(hidden) = hidden {
                        prop_assert_eq!(hidden, ws.is_hidden(&w));
                    }
                    None
                }
                Op::Settle(w, o) => { ws.settle(&w, &name(o)); None }
                Op::ActivateId(id) => ws.activate_id(id),
            };
            check_invariants(&ws)?;
            let after = shown(&ws);
            if let Some(switch) = switch {
                for w in &switch.hide {
                    prop_assert!(before.contains(w) && !after.contains(w));
                }
                for w in &switch.show {
                    prop_assert!(!before.contains(w) && after.contains(w));
                }
            }
            if !ws.output_names().is_empty() {
                for w in &windows {
                    prop_assert!(ws.locate(w).is_some(), "window {} lost", w);
                }
                let hidden: Vec<u32> = ws.hidden().copied().collect();
                for w in &windows {
                    prop_assert_eq!(hidden.contains(w), ws.is_hidden(w));
                    prop_assert_eq!(!hidden.contains(w), after.contains(w));
                }
            }
        }
    }
}
