//! When variable refresh is on, following KWin's model (never / always / automatic) with
//! one more rule: by content type.

/// The user's setting for an output (or a window rule's override).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Fixed refresh always.
    Off,
    /// VRR whenever the panel supports it.
    On,
    /// VRR while a fullscreen window is the only thing changing on the output.
    Fullscreen,
    /// VRR while the focused fullscreen window says it shows a game or video.
    ContentType,
}

/// What wp_content_type_v1 says a surface shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    /// Nothing said.
    None,
    /// Still images.
    Photo,
    /// Video.
    Video,
    /// A game.
    Game,
}

/// What the output shows now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scene {
    /// The panel and driver can do VRR.
    pub capable: bool,
    /// A window covers the output (fullscreen).
    pub fullscreen: bool,
    /// What the fullscreen window says it shows.
    pub content: ContentType,
}

/// Whether VRR is on for `scene` under `policy`.
pub fn vrr_active(policy: Policy, scene: Scene) -> bool {
    if !scene.capable {
        return false;
    }
    match policy {
        Policy::Off => false,
        Policy::On => true,
        Policy::Fullscreen => scene.fullscreen,
        Policy::ContentType => {
            scene.fullscreen && matches!(scene.content, ContentType::Game | ContentType::Video)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies() {
        let game = Scene {
            capable: true,
            fullscreen: true,
            content: ContentType::Game,
        };
        let desktop = Scene {
            capable: true,
            fullscreen: false,
            content: ContentType::None,
        };
        let photo = Scene {
            content: ContentType::Photo,
            ..game
        };
        assert!(vrr_active(Policy::On, desktop));
        assert!(!vrr_active(Policy::Fullscreen, desktop));
        assert!(vrr_active(Policy::Fullscreen, photo));
        assert!(vrr_active(Policy::ContentType, game));
        assert!(!vrr_active(Policy::ContentType, photo));
        assert!(!vrr_active(
            Policy::On,
            Scene {
                capable: false,
                ..game
            }
        ));
        assert!(!vrr_active(Policy::Off, game));
    }
}
