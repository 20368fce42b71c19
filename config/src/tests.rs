use super::*;
use proptest::prelude::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("c.toml"))
}

#[test]
fn empty_file_is_the_defaults() {
    assert_eq!(parse("").unwrap(), Config::default());
}

#[test]
fn the_example_equals_the_defaults() {
    assert_eq!(parse(EXAMPLE).unwrap(), Config::default());
}

#[test]
fn every_schema_key_is_in_the_example() {
    fn walk(fields: &[schema::Field], out: &mut Vec<&'static str>) {
        for f in fields {
            out.push(f.name);
            match f.kind {
                schema::Kind::Table(inner) | schema::Kind::TableArray(inner) => walk(inner, out),
                _ => {}
            }
        }
    }
    let mut keys = Vec::new();
    walk(schema::ROOT, &mut keys);
    for key in keys {
        assert!(
            EXAMPLE.contains(key),
            "example.toml does not document `{key}`"
        );
    }
}

#[test]
fn full_file_parses() {
    let text = r#"
autostart = [["foot"], ["waybar", "-c", "x"]]
[environment]
MOZ_ENABLE_WAYLAND = "1"
[input]
xkb_layout = "de"
repeat_rate = 30
[[input.device]]
name = "touchpad"
natural_scroll = true
[[output]]
name = "HEADLESS-1"
mode = "2560x1440@144"
scale = 1.5
position = [0, 0]
vrr = "fullscreen"
[[output]]
make = "Samsung Electric Company"
model = "LS28AG700N"
mode = "highest-refresh"
hdr = "on"
[bindings]
"Super+t" = { spawn = ["foot"] }
"Super+l" = "lock"
"Ctrl+Print" = { screenshot = "region" }
[[window_rule]]
app_id = "^firefox$"
opacity = 0.9
[capture]
encoders = ["software"]
[xwayland]
mode = "off"
[debug]
overlay_planes = false
"#;
    let c = parse(text).unwrap();
    assert_eq!(c.input.xkb_layout, "de");
    assert_eq!(c.input.repeat_delay, 600);
    assert_eq!(c.input.device[0].natural_scroll, Some(true));
    let o = c.output_named("HEADLESS-1").unwrap();
    assert_eq!(
        o.mode,
        Some(ModeSetting::Exact(ModeSpec {
            width: 2560,
            height: 1440,
            refresh_mhz: Some(144_000)
        }))
    );
    assert_eq!(o.vrr, VrrPolicy::Fullscreen);
    let samsung = c
        .output
        .iter()
        .find(|o| o.model.as_deref() == Some("LS28AG700N"))
        .unwrap();
    assert_eq!(samsung.mode, Some(ModeSetting::HighestRefresh));
    assert_eq!(samsung.hdr, Toggle::On);
    assert_eq!(
        c.bindings.0.len(),
        3,
        "a [bindings] section replaces the defaults"
    );
    assert_eq!(c.bindings.0[1].action, Action::Lock);
    assert!(c.window_rule[0].matches("firefox", "x"));
    assert!(!c.window_rule[0].matches("firefox-esr", "x"));
    assert_eq!(c.capture.encoders, vec![Encoder::Software]);
    assert_eq!(c.xwayland.mode, XwaylandMode::Off);
    assert!(!c.debug.overlay_planes && c.debug.cursor_plane);
    assert_eq!(c.autostart[1], vec!["waybar", "-c", "x"]);
}

#[test]
fn several_problems_are_reported_at_once_in_file_order() {
    let text = "[input]\nrepeat_rat = 5\nnatural_scrol = true\n[xwayland]\nmode = \"ondemand\"\n";
    let err = parse(text).unwrap_err();
    let lines: Vec<(usize, usize)> = err.problems().iter().map(|p| (p.line, p.column)).collect();
    assert_eq!(lines, vec![(2, 1), (3, 1), (5, 8)]);
    let msg = err.to_string();
    assert!(msg.contains("did you mean `repeat_rate`?"), "{msg}");
    assert!(msg.contains("did you mean `natural_scroll`?"), "{msg}");
    assert!(msg.contains("did you mean `on-demand`?"), "{msg}");
    assert!(msg.ends_with("3 problems"), "{msg}");
}

#[test]
fn nul_in_xkb_strings_is_refused() {
    assert!(parse("[input]\nxkb_layout = \"us\\u0000\"\n").is_err());
}

fn arb_mode() -> impl Strategy<Value = ModeSetting> {
    prop_oneof![
        Just(ModeSetting::Preferred),
        Just(ModeSetting::HighestRefresh),
        (1i32..8000, 1i32..8000, proptest::option::of(1i32..500)).prop_map(|(w, h, hz)| {
            ModeSetting::Exact(ModeSpec {
                width: w,
                height: h,
                refresh_mhz: hz.map(|hz| hz * 1000),
            })
        }),
    ]
}

fn arb_output() -> impl Strategy<Value = OutputConfig> {
    (
        "[A-Z]{1,4}-[0-9]",
        any::<bool>(),
        proptest::option::of(arb_mode()),
        proptest::option::of((-5000i32..5000, -5000i32..5000)),
        proptest::option::of(prop_oneof![Just(1.0f64), Just(1.25), Just(1.5), Just(2.0)]),
        prop_oneof![
            Just(VrrPolicy::Off),
            Just(VrrPolicy::On),
            Just(VrrPolicy::Fullscreen),
            Just(VrrPolicy::ContentType)
        ],
        proptest::option::of(6u8..16),
    )
        .prop_map(
            |(name, enabled, mode, position, scale, vrr, max_bpc)| OutputConfig {
                name: Some(name),
                make: None,
                model: None,
                serial: None,
                enabled,
                mode,
                modeline: None,
                position,
                scale,
                transform: Transform::Normal,
                vrr,
                hdr: Toggle::Off,
                sdr_brightness: 203.0,
                max_bpc,
                max_luminance: None,
                min_luminance: None,
            },
        )
}

fn arb_action() -> impl Strategy<Value = Action> {
    prop_oneof![
        proptest::collection::vec("[a-z]{1,8}", 1..4).prop_map(Action::Spawn),
        Just(Action::Close),
        Just(Action::Quit),
        Just(Action::Screenshot(ScreenshotTarget::Window)),
    ]
}

fn arb_config() -> impl Strategy<Value = Config> {
    (
        proptest::collection::vec(arb_output(), 0..3),
        proptest::collection::btree_map("[a-z]{1,6}", arb_action(), 0..5),
        proptest::collection::btree_map("[A-Z_]{1,8}", "[ -~]{0,12}", 0..4),
        proptest::collection::vec(proptest::collection::vec("[a-z/-]{1,8}", 1..3), 0..3),
        1i32..100,
        any::<bool>(),
    )
        .prop_map(|(output, binds, environment, autostart, rate, natural)| {
            let mut c = Config {
                output,
                environment,
                autostart,
                ..Config::default()
            };
            c.input.repeat_rate = rate;
            c.input.natural_scroll = natural;
            c.bindings = Bindings(
                binds
                    .into_iter()
                    .map(|(key, action)| Binding {
                        combo: KeyCombo {
                            modifiers: Modifiers {
                                logo: true,
                                ..Modifiers::default()
                            },
                            key,
                        },
                        action,
                    })
                    .collect(),
            );
            c
        })
}

proptest! {
    #[test]
    fn any_valid_config_round_trips(config in arb_config()) {
        let text = toml::to_string(&config).unwrap();
        let back = parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n---\n{text}")))?;
        prop_assert_eq!(back, config);
    }

    #[test]
    fn the_parser_never_panics(text in "\\PC{0,200}") {
        let _ = parse(&text);
    }

    #[test]
    fn bytes_of_the_example_mutated_never_panic(pos in 0usize..2000, byte in any::<u8>()) {
        let mut bytes = EXAMPLE.as_bytes().to_vec();
        let at = pos % bytes.len();
        bytes[at] = byte;
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = parse(text);
        }
    }
}
