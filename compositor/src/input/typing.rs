//! Typing text and named keys through the keymap, for the IPC test injector: which key
//! (and whether Shift) produces each keysym in the configured layout.

use std::collections::HashMap;

use smithay::input::keyboard::{xkb, Keycode, Keysym};

/// xkb keycode of the left Shift key (evdev 42 + 8).
pub const SHIFT: Keycode = Keycode::new(42 + 8);
/// xkb keycode of the left Control key (evdev 29 + 8).
pub const CTRL: Keycode = Keycode::new(29 + 8);
/// xkb keycode of the left Alt key (evdev 56 + 8).
pub const ALT: Keycode = Keycode::new(56 + 8);
/// xkb keycode of the left Super key (evdev 125 + 8).
pub const SUPER: Keycode = Keycode::new(125 + 8);

/// Why text or a key name cannot be typed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TypingError {
    /// No key of the layout produces this character.
    #[error("no key in the current layout types {0:?}")]
    NoKeyFor(char),
    /// Not a key name xkb knows (e.g. "Return", "a", "F5").
    #[error("unknown key name {0:?}")]
    UnknownKeyName(String),
    /// A modifier that is not Shift, Ctrl, Alt or Super.
    #[error("unknown modifier {0:?} (use Shift, Ctrl, Alt or Super)")]
    UnknownModifier(String),
}

/// The xkb keymap of the configured layout (what the seat's keyboard uses).
pub fn layout_keymap(input: &ghost_config::InputConfig) -> Option<xkb::Keymap> {
    let context = xkb::Context::new(xkb::CONTEXT_NO_FLAGS);
    xkb::Keymap::new_from_names(
        &context,
        "",
        "",
        &input.xkb_layout,
        &input.xkb_variant,
        input.xkb_options.clone(),
        xkb::KEYMAP_COMPILE_NO_FLAGS,
    )
}

/// Reverse lookup from keysyms to keys in one layout.
pub struct KeyboardTyping {
    keys: HashMap<u32, (Keycode, bool)>,
}

impl KeyboardTyping {
    /// Builds the lookup for the configured layout.
    pub fn new(input: &ghost_config::InputConfig) -> anyhow::Result<Self> {
        let keymap = layout_keymap(input).ok_or_else(|| {
            anyhow::anyhow!(
                "xkb cannot compile the keymap for layout {:?}",
                input.xkb_layout
            )
        })?;
        let mut keys = HashMap::new();
        let (min, max) = (keymap.min_keycode().raw(), keymap.max_keycode().raw());
        // Level 1 first, so an unshifted key wins over a shifted one for the same symbol.
        for (level, shift) in [(0, false), (1, true)] {
            for raw in min..=max {
                let code = Keycode::new(raw);
                for sym in keymap.key_get_syms_by_level(code, 0, level) {
                    keys.entry(sym.raw()).or_insert((code, shift));
                }
            }
        }
        Ok(Self { keys })
    }

    /// The key (and Shift) that types `c`.
    pub fn key_for_char(&self, c: char) -> Result<(Keycode, bool), TypingError> {
        let sym = match c {
            '\n' => Keysym::Return,
            '\t' => Keysym::Tab,
            _ => xkb::utf32_to_keysym(c as u32),
        };
        self.keys
            .get(&sym.raw())
            .copied()
            .ok_or(TypingError::NoKeyFor(c))
    }

    /// The key that gives `sym`, and whether it needs Shift (a key without Shift
    /// preferred).
    pub fn key_and_shift_for_sym(&self, sym: Keysym) -> Option<(Keycode, bool)> {
        self.keys.get(&sym.raw()).copied()
    }

    /// The key that gives `sym` at its base level (no Shift), if any.
    pub fn key_for_sym(&self, sym: Keysym) -> Option<Keycode> {
        self.keys
            .get(&sym.raw())
            .filter(|(_, shift)| !shift)
            .map(|(code, _)| *code)
    }

    /// Parses `Ctrl+Shift+t` style combos into modifier keys and the main key.
    pub fn parse_combo(&self, combo: &str) -> Result<(Vec<Keycode>, Keycode), TypingError> {
        let mut parts: Vec<&str> = combo.split('+').collect();
        let key = parts.pop().unwrap_or_default();
        let mut mods = Vec::new();
        for m in parts {
            mods.push(match m.to_ascii_lowercase().as_str() {
                "shift" => SHIFT,
                "ctrl" | "control" => CTRL,
                "alt" => ALT,
                "super" | "logo" | "mod4" => SUPER,
                _ => return Err(TypingError::UnknownModifier(m.to_owned())),
            });
        }
        // xkb's parser cannot take interior NULs; such names are not keys anyway.
        if key.is_empty() || key.contains('\0') {
            return Err(TypingError::UnknownKeyName(key.to_owned()));
        }
        let sym = xkb::keysym_from_name(key, xkb::KEYSYM_NO_FLAGS);
        let sym = if sym.raw() == 0 {
            xkb::keysym_from_name(key, xkb::KEYSYM_CASE_INSENSITIVE)
        } else {
            sym
        };
        let (code, _) = self
            .keys
            .get(&sym.raw())
            .copied()
            .ok_or_else(|| TypingError::UnknownKeyName(key.to_owned()))?;
        Ok((mods, code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us() -> KeyboardTyping {
        KeyboardTyping::new(&ghost_config::InputConfig::default()).unwrap()
    }

    #[test]
    fn us_layout_types_ascii() {
        let t = us();
        assert_eq!(t.key_for_char('a').unwrap(), (Keycode::new(38), false));
        assert_eq!(t.key_for_char('A').unwrap(), (Keycode::new(38), true));
        assert!(t.key_for_char('>').unwrap().1);
        assert_eq!(t.key_for_char('\n').unwrap(), (Keycode::new(36), false));
        assert!(t.key_for_char('中').is_err());
    }

    #[test]
    fn combos_parse() {
        let t = us();
        assert_eq!(
            t.parse_combo("Super+Return").unwrap(),
            (vec![SUPER], Keycode::new(36))
        );
        assert!(t.parse_combo("Hyper+x").is_err());
        assert!(t.parse_combo("bogus\0").is_err());
        assert!(t.parse_combo("").is_err());
    }
}
