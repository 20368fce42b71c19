//! What the next frame of a KMS output asks of the display: variable refresh (the
//! output's policy, or a window rule of the window shown fullscreen, with what that
//! window says it shows) and tearing (a fullscreen window that asked through
//! wp_tearing_control_v1). The decisions themselves are ghost-kms's and ghost-vrr's.

use ghost_config::VrrPolicy;
use ghost_vrr::policy::{ContentType, Policy};
use smithay::{desktop::Window, output::Output};

use crate::state::Ghost;

/// The inputs of the VRR and tearing decisions for one output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameScene {
    /// The policy in force (a window rule's over the output's).
    pub policy: Policy,
    /// A fullscreen window covers the output.
    pub fullscreen: bool,
    /// What that window says it shows.
    pub content: ContentType,
    /// That window allows tearing.
    pub tearing: bool,
}

fn policy(p: VrrPolicy) -> Policy {
    match p {
        VrrPolicy::Off => Policy::Off,
        VrrPolicy::On => Policy::On,
        VrrPolicy::Fullscreen => Policy::Fullscreen,
        VrrPolicy::ContentType => Policy::ContentType,
    }
}

fn content(word: &str) -> ContentType {
    match word {
        "game" => ContentType::Game,
        "video" => ContentType::Video,
        "photo" => ContentType::Photo,
        _ => ContentType::None,
    }
}

impl Ghost {
    /// The window shown fullscreen on `output`, when the topmost window there is.
    pub fn fullscreen_window_on(&self, output: &Output) -> Option<Window> {
        let area = self.space.output_geometry(output)?;
        let top = self
            .space
            .elements()
            .rev()
            .find(|w| {
                self.space
                    .element_geometry(w)
                    .is_some_and(|g| g.overlaps(area))
            })?
            .clone();
        Self::is_fullscreen(&top).then_some(top)
    }

    /// What the next frame of `output` asks for.
    pub fn frame_scene(&self, output: &Output) -> FrameScene {
        let output_policy = self
            .output_section(output)
            .map(|o| o.vrr)
            .unwrap_or_default();
        let Some(window) = self.fullscreen_window_on(output) else {
            return FrameScene {
                policy: policy(output_policy),
                fullscreen: false,
                content: ContentType::None,
                tearing: false,
            };
        };
        let rule = crate::shell::window_data(&window).vrr.get();
        // An X11 game's surface too (Xwayland's).
        let surface = crate::shell::toplevel_surface(&window);
        FrameScene {
            policy: policy(rule.unwrap_or(output_policy)),
            fullscreen: true,
            content: crate::shell::window_content_type(&window)
                .map(content)
                .unwrap_or(ContentType::None),
            tearing: surface
                .as_ref()
                .is_some_and(crate::protocols::tearing_control::allows_tearing),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_words_map_to_policies_and_content() {
        assert_eq!(policy(VrrPolicy::ContentType), Policy::ContentType);
        assert_eq!(policy(VrrPolicy::Off), Policy::Off);
        assert_eq!(content("game"), ContentType::Game);
        assert_eq!(content("none"), ContentType::None);
    }
}
