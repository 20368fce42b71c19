//! `ghost-planes` owns plane assignment: which elements of an output's scene go to the
//! cursor plane, to overlay planes, or directly onto the primary plane, and which are
//! composited. It is pure: the scene and the plane set come in as data, every candidate
//! configuration is checked through a [`TestCommit`] implementation (TEST_ONLY atomic
//! commits on hardware), and a decision comes out.
//!
//! Today it decides the cursor (whether an image fits a hardware cursor plane) and,
//! in [`assign`], which top layers of a scene go onto cursor and overlay planes and
//! whether a fullscreen opaque layer is scanned out directly, with a test budget and a
//! cache by scene shape.

pub mod assign;
pub mod picture;

/// Limits of a hardware cursor plane (DRM_CAP_CURSOR_WIDTH/HEIGHT and driver rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CursorPlaneLimits {
    /// Largest buffer width.
    pub max_width: u32,
    /// Largest buffer height.
    pub max_height: u32,
    /// The buffer must be square with a power-of-two side (nvidia-drm: 32/64/128/256).
    pub square_power_of_two: bool,
}

/// A proposed plane configuration that hardware may accept or refuse.
pub trait TestCommit {
    /// Why the device refused.
    type Error;
    /// Asks the device whether a cursor buffer of `side` × `side` can be scanned out.
    fn test_cursor(&mut self, buffer_side: u32) -> Result<(), Self::Error>;
}

/// Where the cursor ends up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorPlacement {
    /// On the cursor plane, in a square buffer of this side.
    Plane {
        /// The buffer side the image is copied into.
        buffer_side: u32,
    },
    /// Drawn by the renderer into the composited frame.
    Composited,
}

/// The smallest buffer side the cursor plane takes that holds an image of `width` ×
/// `height`, or None when the image does not fit.
pub fn cursor_buffer_side(limits: &CursorPlaneLimits, width: u32, height: u32) -> Option<u32> {
    let need = width.max(height).max(1);
    let side = if limits.square_power_of_two {
        need.checked_next_power_of_two()?.max(32)
    } else {
        need
    };
    (side <= limits.max_width && side <= limits.max_height).then_some(side)
}

/// Places a cursor image: on the plane when it fits and the device accepts it, otherwise
/// composited. A refused test never leaves the cursor invisible.
pub fn place_cursor<T: TestCommit>(
    limits: &CursorPlaneLimits,
    width: u32,
    height: u32,
    device: &mut T,
) -> CursorPlacement {
    match cursor_buffer_side(limits, width, height) {
        Some(side) if device.test_cursor(side).is_ok() => {
            CursorPlacement::Plane { buffer_side: side }
        }
        _ => CursorPlacement::Composited,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NVIDIA: CursorPlaneLimits = CursorPlaneLimits {
        max_width: 256,
        max_height: 256,
        square_power_of_two: true,
    };

    struct Device {
        accepts: bool,
        tests: u32,
    }

    impl TestCommit for Device {
        type Error = ();
        fn test_cursor(&mut self, _side: u32) -> Result<(), ()> {
            self.tests += 1;
            self.accepts.then_some(()).ok_or(())
        }
    }

    #[test]
    fn nvidia_cursor_sizes() {
        assert_eq!(cursor_buffer_side(&NVIDIA, 24, 24), Some(32));
        assert_eq!(cursor_buffer_side(&NVIDIA, 48, 30), Some(64));
        assert_eq!(cursor_buffer_side(&NVIDIA, 256, 256), Some(256));
        assert_eq!(cursor_buffer_side(&NVIDIA, 257, 10), None);
    }

    #[test]
    fn refused_cursor_is_composited() {
        let mut dev = Device {
            accepts: false,
            tests: 0,
        };
        assert_eq!(
            place_cursor(&NVIDIA, 24, 24, &mut dev),
            CursorPlacement::Composited
        );
        assert_eq!(dev.tests, 1);
        let mut dev = Device {
            accepts: true,
            tests: 0,
        };
        assert_eq!(
            place_cursor(&NVIDIA, 300, 24, &mut dev),
            CursorPlacement::Composited
        );
        assert_eq!(dev.tests, 0, "no test for a cursor that cannot fit");
    }

    proptest! {
        #[test]
        fn chosen_side_holds_the_image_and_fits_the_plane(w in 0u32..600, h in 0u32..600) {
            if let Some(side) = cursor_buffer_side(&NVIDIA, w, h) {
                prop_assert!(side >= w && side >= h && side <= 256 && side.is_power_of_two());
            } else {
                prop_assert!(w.max(h) > 256);
            }
        }
    }
}
