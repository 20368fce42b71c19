//! Window management, in-process: a real compositor state and real protocol objects,
//! dispatched deterministically in the test's thread.

mod fixture;

use fixture::Fixture;
use ghost_compositor::{backend::headless::OutputSpec, shell::window_data};
use ghost_tests::wayland_protocols::xdg::shell::client::xdg_toplevel::State;
use smithay::{
    backend::input::{ButtonState, KeyState},
    input::keyboard::Keycode,
    utils::{Point, Rectangle},
};

const ALT: Keycode = Keycode::new(56 + 8);
const TAB: Keycode = Keycode::new(15 + 8);
const SUPER: Keycode = Keycode::new(125 + 8);
const BTN_LEFT: u32 = 0x110;
const BTN_RIGHT: u32 = 0x111;

fn geometry_of(fixture: &Fixture, app_id: &str) -> Rectangle<i32, smithay::utils::Logical> {
    geometry_of_locked(&fixture.state(), app_id)
}

fn focused_app_id(fixture: &Fixture) -> Option<String> {
    let state = fixture.state();
    let window = state.focused_window()?;
    Some(ghost_compositor::shell::title_and_app_id(window.toplevel()?.wl_surface()).1)
}

#[test]
fn new_windows_are_centred_and_focused() {
    let f = Fixture::new();
    let mut c = f.client();
    let _w = c.color_window("a", 400, 300, &[0xff102030]).unwrap();
    c.roundtrip().unwrap();
    assert_eq!(
        geometry_of(&f, "a"),
        Rectangle::new((760, 390).into(), (400, 300).into())
    );
    assert_eq!(focused_app_id(&f).as_deref(), Some("a"));
    let configure = c.state.toplevel_configure.clone().unwrap();
    assert!(configure.1.contains(&State::Activated), "{configure:?}");
}

#[test]
fn maximize_fills_the_area_panels_leave_and_unmaximize_restores() {
    let f = Fixture::new();
    let mut panel_client = f.client();
    let _panel = panel_client.top_panel(30, 30).unwrap();
    let mut c = f.client();
    let w = c.color_window("a", 400, 300, &[0xff102030]).unwrap();
    let before = geometry_of(&f, "a");
    w.toplevel.set_maximized();
    c.roundtrip().unwrap();
    let (size, states) = c.state.toplevel_configure.clone().unwrap();
    assert!(states.contains(&State::Maximized));
    assert_eq!(
        size,
        (1920, 1080 - 30),
        "the panel's exclusive zone is left free"
    );
    assert_eq!(geometry_of(&f, "a").loc, Point::from((0, 30)));

    w.toplevel.unset_maximized();
    c.roundtrip().unwrap();
    let (_, states) = c.state.toplevel_configure.clone().unwrap();
    assert!(!states.contains(&State::Maximized));
    assert_eq!(geometry_of(&f, "a").loc, before.loc, "back where it was");
}

#[test]
fn fullscreen_covers_the_output_and_leaves_no_title_bar() {
    let f = Fixture::new();
    let mut c = f.client();
    let w = c.color_window("a", 400, 300, &[0xff102030]).unwrap();
    assert_eq!(
        c.request_decorations(&w, true).unwrap(),
        2,
        "server side granted"
    );
    w.toplevel.set_fullscreen(None);
    c.roundtrip().unwrap();
    let (size, states) = c.state.toplevel_configure.clone().unwrap();
    assert!(states.contains(&State::Fullscreen));
    assert_eq!(size, (1920, 1080));
    assert_eq!(geometry_of(&f, "a").loc, Point::from((0, 0)));
    let state = f.state();
    let window = state.space.elements().next().cloned().unwrap();
    assert!(window_data(&window).server_side_decorations.get());
    // The client acks the fullscreen configure with its next commit; only then is the
    // state current. Until then the title bar stays.
    drop(state);
    let mut w = w;
    c.commit_next(&mut w, false).unwrap();
    c.roundtrip().unwrap();
    let state = f.state();
    let window = state.space.elements().next().cloned().unwrap();
    assert!(!ghost_compositor::shell::decorations::has_title_bar(
        &window
    ));
}

#[test]
fn minimize_hides_and_passes_focus_then_focus_restores() {
    let f = Fixture::new();
    let mut c = f.client();
    let _a = c.color_window("a", 300, 200, &[0xff102030]).unwrap();
    let b = c.color_window("b", 300, 200, &[0xff405060]).unwrap();
    assert_eq!(focused_app_id(&f).as_deref(), Some("b"));
    b.toplevel.set_minimized();
    c.roundtrip().unwrap();
    {
        let state = f.state();
        assert_eq!(state.space.elements().count(), 1);
        assert_eq!(state.minimized.len(), 1);
    }
    assert_eq!(focused_app_id(&f).as_deref(), Some("a"));
    let id = {
        let state = f.state();
        window_data(&state.minimized[0]).id
    };
    {
        let mut state = f.state();
        let window = state.window_by_id(id).unwrap();
        state.focus_window(&window);
        assert_eq!(state.space.elements().count(), 2);
        assert!(state.minimized.is_empty());
    }
    assert_eq!(focused_app_id(&f).as_deref(), Some("b"));
}

#[test]
fn alt_tab_cycles_focus() {
    let f = Fixture::new();
    let mut c = f.client();
    let _a = c.color_window("a", 300, 200, &[0xff102030]).unwrap();
    let _b = c.color_window("b", 300, 200, &[0xff405060]).unwrap();
    let _d = c.color_window("c", 300, 200, &[0xff708090]).unwrap();
    let mut seen = vec![focused_app_id(&f).unwrap()];
    for _ in 0..3 {
        let mut state = f.state();
        state.keyboard_key(ALT, KeyState::Pressed, 0);
        state.keyboard_key(TAB, KeyState::Pressed, 0);
        state.keyboard_key(TAB, KeyState::Released, 0);
        state.keyboard_key(ALT, KeyState::Released, 0);
        drop(state);
        seen.push(focused_app_id(&f).unwrap());
    }
    assert_eq!(seen, vec!["c", "a", "b", "c"]);
}

#[test]
fn super_drag_moves_and_super_right_drag_resizes() {
    let f = Fixture::new();
    let mut c = f.client();
    let _w = c.color_window("a", 400, 300, &[0xff102030]).unwrap();
    let start = geometry_of(&f, "a");
    {
        let mut state = f.state();
        let p = start.loc.to_f64() + Point::from((50.0, 50.0));
        state.pointer_motion_to(p, 0);
        state.keyboard_key(SUPER, KeyState::Pressed, 0);
        state.pointer_button(BTN_LEFT, ButtonState::Pressed, 1);
        state.pointer_motion_to(p + Point::from((100.0, 40.0)), 2);
        state.pointer_button(BTN_LEFT, ButtonState::Released, 3);
    }
    assert_eq!(geometry_of(&f, "a").loc, start.loc + Point::from((100, 40)));

    {
        let mut state = f.state();
        let g = geometry_of_locked(&state, "a");
        // Bottom-right third of the window: that corner follows the pointer.
        let p = g.loc.to_f64() + Point::from((390.0, 290.0));
        state.pointer_motion_to(p, 4);
        state.pointer_button(BTN_RIGHT, ButtonState::Pressed, 5);
        state.pointer_motion_to(p + Point::from((60.0, 30.0)), 6);
        state.pointer_button(BTN_RIGHT, ButtonState::Released, 7);
        state.keyboard_key(SUPER, KeyState::Released, 8);
    }
    c.roundtrip().unwrap();
    let sizes: Vec<_> = c.state.toplevel_configure.iter().map(|c| c.0).collect();
    assert_eq!(
        sizes.last(),
        Some(&(460, 330)),
        "the client is asked for the dragged size"
    );
}

fn geometry_of_locked(
    state: &ghost_compositor::Ghost,
    app_id: &str,
) -> Rectangle<i32, smithay::utils::Logical> {
    let window = state
        .space
        .elements()
        .find(|w| {
            w.toplevel().is_some_and(|t| {
                ghost_compositor::shell::title_and_app_id(t.wl_surface()).1 == app_id
            })
        })
        .cloned()
        .expect("mapped");
    state.space.element_geometry(&window).expect("geometry")
}

#[test]
fn title_bar_close_button_asks_the_client_to_close() {
    let f = Fixture::new();
    let mut c = f.client();
    let w = c.color_window("a", 400, 300, &[0xff102030]).unwrap();
    c.request_decorations(&w, true).unwrap();
    let g = geometry_of(&f, "a");
    {
        let mut state = f.state();
        // The close button is the title bar's right-most square, above the window.
        let p = Point::from((g.loc.x as f64 + 400.0 - 5.0, g.loc.y as f64 - 5.0));
        state.pointer_motion_to(p, 0);
        state.pointer_button(BTN_LEFT, ButtonState::Pressed, 1);
        state.pointer_button(BTN_LEFT, ButtonState::Released, 2);
    }
    c.roundtrip().unwrap();
    assert!(c.state_closed());
}

#[test]
fn popups_are_kept_on_screen() {
    let f = Fixture::new();
    let mut c = f.client();
    let parent = c.color_window("a", 400, 300, &[0xff102030]).unwrap();
    let g = geometry_of(&f, "a");
    // Anchored at the parent's bottom-right corner and 300 px tall: it would leave the
    // screen at the bottom only if the window were low; move the window there first.
    {
        let mut state = f.state();
        let window = state.space.elements().next().cloned().unwrap();
        state.space.map_element(window, (1700, 900), false);
    }
    let _ = g;
    let _popup = c.popup(&parent, 390, 290, 250, 300).unwrap();
    let (x, y, w, h) = c.state.popup_configure.unwrap();
    let (abs_x, abs_y) = (1700 + x, 900 + y);
    assert!(
        abs_x >= 0 && abs_x + w <= 1920,
        "popup x {abs_x}..{} leaves the output",
        abs_x + w
    );
    assert!(
        abs_y >= 0 && abs_y + h <= 1080,
        "popup y {abs_y}..{} leaves the output",
        abs_y + h
    );
    assert_eq!((w, h), (250, 300));
}

#[test]
fn new_windows_open_on_the_output_under_the_pointer() {
    let spec = OutputSpec::default();
    let f = Fixture::with_outputs(&[spec, spec]);
    f.state()
        .pointer_motion_to(Point::from((1920.0 + 100.0, 100.0)), 0);
    let mut c = f.client();
    let _w = c.color_window("a", 400, 300, &[0xff102030]).unwrap();
    let g = geometry_of(&f, "a");
    assert_eq!(g.loc, Point::from((1920 + 760, 390)));
    let state = f.state();
    let window = state.space.elements().next().cloned().unwrap();
    let outputs = state.space.outputs_for_element(&window);
    assert_eq!(
        outputs.iter().map(|o| o.name()).collect::<Vec<_>>(),
        vec!["HEADLESS-2"]
    );
}

#[test]
fn windows_of_the_same_size_open_side_by_side_instead_of_hiding_each_other() {
    let f = Fixture::new();
    let mut c = f.client();
    let mut windows = Vec::new();
    for i in 0..10 {
        windows.push(
            c.color_window(&format!("w{i}"), 256, 256, &[0xff102030])
                .unwrap(),
        );
    }
    let rects: Vec<_> = (0..10)
        .map(|i| Rectangle::new(geometry_of(&f, &format!("w{i}")).loc, (256, 256).into()))
        .collect();
    let screen = Rectangle::<i32, smithay::utils::Logical>::from_size((1920, 1080).into());
    for (i, a) in rects.iter().enumerate() {
        assert!(screen.contains_rect(*a), "{a:?}");
        // Ten of them fit without touching: none hides another at all.
        for b in &rects[i + 1..] {
            assert!(!a.overlaps(*b), "{a:?} and {b:?} overlap: {rects:?}");
        }
    }
    assert_eq!(
        rects[0].loc,
        Point::from((832, 412)),
        "the first is centred"
    );
}

#[test]
fn window_rules_open_windows_maximized_on_their_output_and_set_opacity() {
    let spec = OutputSpec::default();
    let f = Fixture::with_outputs(&[spec, spec]);
    f.state().config.window_rule = vec![ghost_config::WindowRule {
        app_id: Some("^org\\.example\\.ruled$".into()),
        maximized: Some(true),
        output: Some("HEADLESS-2".into()),
        opacity: Some(0.5),
        ..Default::default()
    }];
    let mut c = f.client();
    let _ruled = c
        .color_window("org.example.ruled", 300, 200, &[0xff102030])
        .unwrap();
    c.roundtrip().unwrap();
    let (size, states) = c.state.toplevel_configure.clone().unwrap();
    assert!(states.contains(&State::Maximized), "{states:?}");
    assert_eq!(size, (1920, 1080));
    assert_eq!(
        geometry_of(&f, "org.example.ruled").loc,
        Point::from((1920, 0))
    );
    {
        let state = f.state();
        let window = state.space.elements().next().cloned().unwrap();
        assert_eq!(window_data(&window).opacity.get(), 0.5);
    }
    // A window the rule does not match opens normally.
    let mut other = f.client();
    let _plain = other
        .color_window("org.example.other", 300, 200, &[0xff102030])
        .unwrap();
    let state = f.state();
    let plain = state
        .space
        .elements()
        .find(|w| {
            w.toplevel().is_some_and(|t| {
                ghost_compositor::shell::title_and_app_id(t.wl_surface()).1 == "org.example.other"
            })
        })
        .cloned()
        .unwrap();
    assert_eq!(window_data(&plain).opacity.get(), 1.0);
}
