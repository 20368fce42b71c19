//! Key bindings: `"Super+Return" = { spawn = ["foot"] }`.

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::{fmt, str::FromStr};

/// Modifier keys a binding may hold down.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Modifiers {
    /// Super / Logo / Mod4.
    pub logo: bool,
    /// Control.
    pub ctrl: bool,
    /// Alt / Mod1.
    pub alt: bool,
    /// Shift.
    pub shift: bool,
}

/// A key combination: modifiers and one key named as xkb names keysyms ("Return", "q",
/// "F5", "Print").
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyCombo {
    /// Held modifiers.
    pub modifiers: Modifiers,
    /// The key, as written (case kept: xkb names are case-sensitive, e.g. "Return").
    pub key: String,
}

/// Why a combo string is not a combo.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComboError {
    /// Nothing after the last `+`.
    #[error("no key after the modifiers")]
    NoKey,
    /// A part before the key is not a modifier.
    #[error("unknown modifier {0:?} (use Super, Ctrl, Alt or Shift)")]
    UnknownModifier(String),
    /// The same modifier twice.
    #[error("modifier {0:?} given twice")]
    RepeatedModifier(String),
    /// The key has characters no keysym name has.
    #[error("{0:?} is not a key name (xkb names such as Return, q, F5, Print)")]
    BadKey(String),
}

impl FromStr for KeyCombo {
    type Err = ComboError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts: Vec<&str> = s.split('+').map(str::trim).collect();
        // "Super+plus" is how a '+' key is written; a trailing "+" alone means no key.
        let key = parts.pop().unwrap_or_default();
        if key.is_empty() {
            return Err(ComboError::NoKey);
        }
        if !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(ComboError::BadKey(key.to_owned()));
        }
        let mut modifiers = Modifiers::default();
        for part in parts {
            let slot = match part.to_ascii_lowercase().as_str() {
                "super" | "logo" | "mod4" | "win" => &mut modifiers.logo,
                "ctrl" | "control" => &mut modifiers.ctrl,
                "alt" | "mod1" => &mut modifiers.alt,
                "shift" => &mut modifiers.shift,
                _ => return Err(ComboError::UnknownModifier(part.to_owned())),
            };
            if *slot {
                return Err(ComboError::RepeatedModifier(part.to_owned()));
            }
            *slot = true;
        }
        Ok(KeyCombo {
            modifiers,
            key: key.to_owned(),
        })
    }
}

impl fmt::Display for KeyCombo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.modifiers;
        for (on, name) in [
            (m.logo, "Super"),
            (m.ctrl, "Ctrl"),
            (m.alt, "Alt"),
            (m.shift, "Shift"),
        ] {
            if on {
                write!(f, "{name}+")?;
            }
        }
        f.write_str(&self.key)
    }
}

impl KeyCombo {
    /// The combo as compared for duplicates: single letters are case-insensitive
    /// ("Super+q" and "Super+Q" are the same key).
    pub fn normalized(&self) -> KeyCombo {
        let key = if self.key.chars().count() == 1 {
            self.key.to_ascii_lowercase()
        } else {
            self.key.clone()
        };
        KeyCombo {
            modifiers: self.modifiers,
            key,
        }
    }
}

/// What to capture with a screenshot binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScreenshotTarget {
    /// The output under the pointer.
    Output,
    /// The focused window.
    Window,
    /// A region the user drags.
    Region,
}

/// Which half or quarter of the output a `snap` binding puts the focused window in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SnapTarget {
    /// Left half.
    Left,
    /// Right half.
    Right,
    /// Top half.
    Top,
    /// Bottom half.
    Bottom,
    /// Top-left quarter.
    TopLeft,
    /// Top-right quarter.
    TopRight,
    /// Bottom-left quarter.
    BottomLeft,
    /// Bottom-right quarter.
    BottomRight,
}

/// The words `snap` takes.
pub const SNAP_TARGETS: &[&str] = &[
    "left",
    "right",
    "top",
    "bottom",
    "top-left",
    "top-right",
    "bottom-left",
    "bottom-right",
];

/// Which workspace a `focus-workspace` or `move-to-workspace` binding means: a number
/// (1 is the first of the output's workspaces; past the last, the empty one at the end)
/// or a step from the output's current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WorkspaceTarget {
    /// The n-th workspace of the output, from 1.
    Number(u32),
    /// One down or up from the current one.
    Step(WorkspaceStep),
}

/// A step through an output's workspaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkspaceStep {
    /// The one after the current one.
    Next,
    /// The one before it.
    Previous,
}

/// What a binding does.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Start a program: `{ spawn = ["foot", "-e", "htop"] }`.
    Spawn(Vec<String>),
    /// Ask the focused window to close.
    Close,
    /// Focus the next window.
    FocusNext,
    /// Focus the previous window.
    FocusPrevious,
    /// Move the focused window with the pointer.
    Move,
    /// Resize the focused window with the pointer.
    Resize,
    /// Toggle maximized.
    Maximize,
    /// Toggle fullscreen.
    Fullscreen,
    /// Minimize the focused window.
    Minimize,
    /// Save a screenshot to the pictures folder.
    Screenshot(ScreenshotTarget),
    /// Start or stop recording the screen.
    RecordToggle,
    /// Save the replay buffer.
    SaveReplay,
    /// Re-read the configuration file.
    ReloadConfig,
    /// Leave the compositor.
    Quit,
    /// Lock the session.
    Lock,
    /// Show or hide the performance overlay.
    ToggleOverlay,
    /// Put the focused window in a half or quarter of its output (again: back where
    /// it was): `{ snap = "left" }`.
    Snap(SnapTarget),
    /// Tile the focused output's shown workspace, or let its windows float again.
    ToggleTiling,
    /// Take the focused window out of its workspace's tiles, or put it back.
    ToggleFloating,
    /// Show another workspace of the focused output: `{ focus-workspace = 2 }`,
    /// `{ focus-workspace = "next" }`.
    FocusWorkspace(WorkspaceTarget),
    /// Move the focused window to another workspace of its output (the view stays):
    /// `{ move-to-workspace = 2 }`.
    MoveToWorkspace(WorkspaceTarget),
    /// Take input control away from every remote peer (their portal sessions close,
    /// with their shares).
    StopRemoteControl,
}

/// Actions written as a bare word: `"close"`.
pub const UNIT_ACTIONS: &[&str] = &[
    "close",
    "focus-next",
    "focus-previous",
    "move",
    "resize",
    "maximize",
    "fullscreen",
    "minimize",
    "record-toggle",
    "save-replay",
    "reload-config",
    "quit",
    "lock",
    "toggle-overlay",
    "toggle-tiling",
    "toggle-floating",
    "stop-remote-control",
];

/// Actions that take a value: `{ spawn = ["foot"] }`.
pub const VALUE_ACTIONS: &[&str] = &[
    "spawn",
    "screenshot",
    "snap",
    "focus-workspace",
    "move-to-workspace",
];

/// Actions people expect that ghostcomp does not have yet, with why: `validate` refuses
/// them by name instead of calling them unknown.
pub const NOT_YET: &[(&str, &str)] = &[];

/// Every action name, for suggestions.
pub fn action_names() -> impl Iterator<Item = &'static str> {
    UNIT_ACTIONS.iter().chain(VALUE_ACTIONS).copied()
}

/// One binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The keys.
    pub combo: KeyCombo,
    /// What they do.
    pub action: Action,
}

/// All bindings, in file order (a map of combo strings to actions in the file). Two
/// sets of bindings are equal when they bind the same keys to the same actions, in any
/// order (a combo is bound at most once).
#[derive(Debug, Clone, Eq)]
pub struct Bindings(pub Vec<Binding>);

impl PartialEq for Bindings {
    fn eq(&self, other: &Self) -> bool {
        let sorted = |b: &Bindings| {
            let mut v: Vec<(KeyCombo, Action)> =
                b.0.iter()
                    .map(|b| (b.combo.normalized(), b.action.clone()))
                    .collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        sorted(self) == sorted(other)
    }
}

impl Bindings {
    /// The action bound to exactly these modifiers and key (letters case-insensitive).
    pub fn action_for(&self, modifiers: Modifiers, key: &str) -> Option<&Action> {
        let want = KeyCombo {
            modifiers,
            key: key.to_owned(),
        }
        .normalized();
        self.0
            .iter()
            .find(|b| b.combo.normalized() == want)
            .map(|b| &b.action)
    }
}

impl Default for Bindings {
    fn default() -> Self {
        let logo = Modifiers {
            logo: true,
            ..Modifiers::default()
        };
        let logo_shift = Modifiers {
            shift: true,
            ..logo
        };
        let alt = Modifiers {
            alt: true,
            ..Modifiers::default()
        };
        let b = |modifiers: Modifiers, key: &str, action: Action| Binding {
            combo: KeyCombo {
                modifiers,
                key: key.into(),
            },
            action,
        };
        Bindings(
            vec![
                b(logo, "Return", Action::Spawn(vec!["foot".into()])),
                b(logo, "q", Action::Close),
                b(alt, "Tab", Action::FocusNext),
                b(logo, "Tab", Action::FocusNext),
                b(logo_shift, "Tab", Action::FocusPrevious),
                b(logo, "f", Action::Fullscreen),
                b(logo, "m", Action::Maximize),
                b(logo, "n", Action::Minimize),
                b(logo, "Print", Action::Screenshot(ScreenshotTarget::Output)),
                b(logo_shift, "r", Action::ReloadConfig),
                b(logo_shift, "e", Action::Quit),
                b(logo_shift, "o", Action::ToggleOverlay),
                b(logo, "t", Action::ToggleTiling),
                b(logo_shift, "space", Action::ToggleFloating),
                b(logo_shift, "Escape", Action::StopRemoteControl),
                b(logo, "Left", Action::Snap(SnapTarget::Left)),
                b(logo, "Right", Action::Snap(SnapTarget::Right)),
                b(
                    logo,
                    "Page_Down",
                    Action::FocusWorkspace(WorkspaceTarget::Step(WorkspaceStep::Next)),
                ),
                b(
                    logo,
                    "Page_Up",
                    Action::FocusWorkspace(WorkspaceTarget::Step(WorkspaceStep::Previous)),
                ),
            ]
            .into_iter()
            .chain((1..=9).flat_map(|n| {
                let key = n.to_string();
                [
                    b(
                        logo,
                        &key,
                        Action::FocusWorkspace(WorkspaceTarget::Number(n)),
                    ),
                    b(
                        logo_shift,
                        &key,
                        Action::MoveToWorkspace(WorkspaceTarget::Number(n)),
                    ),
                ]
            }))
            .collect(),
        )
    }
}

impl Serialize for Bindings {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for b in &self.0 {
            map.serialize_entry(&b.combo.to_string(), &b.action)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Bindings {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct InFileOrder;
        impl<'de> de::Visitor<'de> for InFileOrder {
            type Value = Bindings;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of key combinations to actions")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Bindings, A::Error> {
                let mut out = Vec::new();
                while let Some((combo, action)) = map.next_entry::<String, Action>()? {
                    let combo: KeyCombo = combo
                        .parse()
                        .map_err(|e| de::Error::custom(format!("binding {combo:?}: {e}")))?;
                    out.push(Binding { combo, action });
                }
                Ok(Bindings(out))
            }
        }
        d.deserialize_map(InFileOrder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combos() {
        let c: KeyCombo = "Super+Shift+Return".parse().unwrap();
        assert!(c.modifiers.logo && c.modifiers.shift && !c.modifiers.ctrl);
        assert_eq!(c.key, "Return");
        assert_eq!(c.to_string(), "Super+Shift+Return");
        assert_eq!(
            "ctrl+alt+BackSpace"
                .parse::<KeyCombo>()
                .unwrap()
                .to_string(),
            "Ctrl+Alt+BackSpace"
        );
        assert_eq!("Super+".parse::<KeyCombo>(), Err(ComboError::NoKey));
        assert!(matches!(
            "Hyper+x".parse::<KeyCombo>(),
            Err(ComboError::UnknownModifier(_))
        ));
        assert!(matches!(
            "Super+Super+x".parse::<KeyCombo>(),
            Err(ComboError::RepeatedModifier(_))
        ));
        assert!(matches!(
            "Super+a b".parse::<KeyCombo>(),
            Err(ComboError::BadKey(_))
        ));
    }

    #[test]
    fn lookup_is_case_insensitive_for_letters() {
        let b = Bindings::default();
        let logo = Modifiers {
            logo: true,
            ..Modifiers::default()
        };
        assert_eq!(b.action_for(logo, "Q"), Some(&Action::Close));
        assert_eq!(
            b.action_for(logo, "return"),
            None,
            "named keys keep their case"
        );
    }
}
