//! wp_color_management_v1 (staging): clients say what their pixels mean (primaries,
//! transfer function, luminances, mastering metadata) and learn what each output and
//! the output a surface is on want. The colour science lives in `ghost-hdr`; this file
//! is the protocol glue: the manager, per-output and per-surface objects, and feedback.
//! Parametric descriptions are supported; ICC profiles and the Windows shortcuts are
//! not advertised, and asking for them is the protocol's `unsupported_feature` error.

mod description;

use std::sync::{
    atomic::{AtomicU32, Ordering},
    Mutex,
};

use ghost_hdr::ImageDescription;
use smithay::{
    output::Output,
    reexports::{
        wayland_protocols::wp::color_management::v1::server::{
            wp_color_management_output_v1::{self, WpColorManagementOutputV1},
            wp_color_management_surface_feedback_v1::{self, WpColorManagementSurfaceFeedbackV1},
            wp_color_management_surface_v1::{self, WpColorManagementSurfaceV1},
            wp_color_manager_v1::{self, Feature, RenderIntent, WpColorManagerV1},
            wp_image_description_v1::WpImageDescriptionV1,
        },
        wayland_server::{
            backend::GlobalId, protocol::wl_surface::WlSurface, Client, DataInit, Dispatch,
            DisplayHandle, GlobalDispatch, New, Resource, Weak,
        },
    },
    wayland::compositor::{with_states, Cacheable},
};

pub use description::{CreatorData, DescriptionData};

use crate::state::Ghost;

const VERSION: u32 = 1;

/// The identity of plain sRGB, what outputs start as.
const SRGB_IDENTITY: u32 = 1;

/// Identities of image descriptions: equal identity means equal description.
static NEXT_IDENTITY: AtomicU32 = AtomicU32::new(SRGB_IDENTITY + 1);

fn new_identity() -> u32 {
    NEXT_IDENTITY.fetch_add(1, Ordering::Relaxed)
}

/// The description an output is driven with, kept in the output's user data.
pub struct OutputColour {
    state: Mutex<(ImageDescription, u32)>,
}

impl OutputColour {
    /// The output's description and its identity.
    pub fn get(&self) -> (ImageDescription, u32) {
        self.state
            .lock()
            .map(|s| *s)
            .unwrap_or((ImageDescription::srgb(), SRGB_IDENTITY))
    }
}

/// The description `output` is driven with (sRGB until set otherwise).
pub fn output_description(output: &Output) -> (ImageDescription, u32) {
    output
        .user_data()
        .get::<OutputColour>()
        .map(OutputColour::get)
        .unwrap_or((ImageDescription::srgb(), SRGB_IDENTITY))
}

/// Whether `output` shows an HDR (PQ) signal: its captures and casts offer 10 bits.
pub fn output_is_hdr(output: &Output) -> bool {
    output_description(output).0.transfer == ghost_hdr::Transfer::Pq
}

/// A surface's committed description; `None` means sRGB (the protocol's default).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SurfaceColour {
    /// The description and its identity.
    pub description: Option<(ImageDescription, u32)>,
}

impl Cacheable for SurfaceColour {
    fn commit(&mut self, _dh: &DisplayHandle) -> Self {
        *self
    }

    fn merge_into(self, into: &mut Self, _dh: &DisplayHandle) {
        *into = self;
    }
}

/// The committed description of `surface` (sRGB when it set none).
pub fn surface_description(surface: &WlSurface) -> ImageDescription {
    with_states(surface, |states| {
        states
            .cached_state
            .get::<SurfaceColour>()
            .current()
            .description
            .map(|(d, _)| d)
    })
    .unwrap_or_else(ImageDescription::srgb)
}

/// Marks a surface that has a colour-management object, so a second one is an error.
#[derive(Default)]
struct SurfaceClaim(Mutex<bool>);

/// Data of the manager global: which clients may bind it (everyone, today).
pub struct ColorManagerGlobalData;

/// Every per-output object and surface feedback, to tell them about changes.
#[derive(Default)]
pub struct ColorManagementState {
    outputs: Vec<(Weak<WpColorManagementOutputV1>, Output)>,
    feedbacks: Vec<(Weak<WpColorManagementSurfaceFeedbackV1>, WlSurface)>,
    global: Option<GlobalId>,
}

impl ColorManagementState {
    /// Creates the global.
    pub fn new<D>(dh: &DisplayHandle) -> Self
    where
        D: GlobalDispatch<WpColorManagerV1, ColorManagerGlobalData> + 'static,
    {
        let global = dh.create_global::<D, WpColorManagerV1, _>(VERSION, ColorManagerGlobalData);
        Self {
            global: Some(global),
            ..Self::default()
        }
    }

    /// Removes the global where the renderer cannot honour descriptions (pixman shows
    /// every buffer as sRGB): the protocol would otherwise promise clients a
    /// conversion that never happens. Called once the backend is up, before clients.
    pub fn withdraw<D: 'static>(&mut self, dh: &DisplayHandle) {
        if let Some(global) = self.global.take() {
            dh.remove_global::<D>(global);
        }
    }

    /// Whether the global is offered.
    pub fn offered(&self) -> bool {
        self.global.is_some()
    }
}

impl Ghost {
    /// Drives `output` with `description` and tells every client that asked.
    pub fn set_output_description(&mut self, output: &Output, description: ImageDescription) {
        output
            .user_data()
            .insert_if_missing_threadsafe(|| OutputColour {
                state: Mutex::new((ImageDescription::srgb(), SRGB_IDENTITY)),
            });
        let Some(colour) = output.user_data().get::<OutputColour>() else {
            return;
        };
        let Ok(mut state) = colour.state.lock() else {
            return;
        };
        if state.0 == description {
            return;
        }
        *state = (description, new_identity());
        let identity = state.1;
        drop(state);
        self.queue_redraw(output);
        let cm = &mut self.color_management_state;
        cm.outputs.retain(|(o, _)| o.upgrade().is_ok());
        cm.feedbacks
            .retain(|(f, s)| f.upgrade().is_ok() && s.is_alive());
        for (object, o) in &cm.outputs {
            if o == output {
                if let Ok(object) = object.upgrade() {
                    object.image_description_changed();
                }
            }
        }
        let feedbacks: Vec<_> = cm.feedbacks.clone();
        for (feedback, surface) in feedbacks {
            if self.surface_output(&surface).as_ref() == Some(output) {
                if let Ok(feedback) = feedback.upgrade() {
                    feedback.preferred_changed(identity);
                }
            }
        }
    }

    /// The output a surface is mainly shown on (the first output if unknown).
    fn surface_output(&self, surface: &WlSurface) -> Option<Output> {
        with_states(surface, |states| {
            smithay::desktop::utils::surface_primary_scanout_output(surface, states)
        })
        .or_else(|| self.space.outputs().next().cloned())
    }
}

impl GlobalDispatch<WpColorManagerV1, ColorManagerGlobalData> for Ghost {
    fn bind(
        _state: &mut Self,
        _dh: &DisplayHandle,
        _client: &Client,
        resource: New<WpColorManagerV1>,
        _global_data: &ColorManagerGlobalData,
        data_init: &mut DataInit<'_, Self>,
    ) {
        let manager = data_init.init(resource, ());
        manager.supported_intent(RenderIntent::Perceptual);
        for feature in [
            Feature::Parametric,
            Feature::SetPrimaries,
            Feature::SetTfPower,
            Feature::SetLuminances,
            Feature::SetMasteringDisplayPrimaries,
        ] {
            manager.supported_feature(feature);
        }
        for tf in description::SUPPORTED_TRANSFERS {
            manager.supported_tf_named(tf);
        }
        for primaries in description::SUPPORTED_PRIMARIES {
            manager.supported_primaries_named(primaries);
        }
        manager.done();
    }
}

impl Dispatch<WpColorManagerV1, ()> for Ghost {
    fn request(
        state: &mut Self,
        _client: &Client,
        manager: &WpColorManagerV1,
        request: wp_color_manager_v1::Request,
        _data: &(),
        _dh: &DisplayHandle,
        data_init: &mut DataInit<'_, Self>,
    ) {
        use wp_color_manager_v1::{Error, Request};
        match request {
            Request::GetOutput { id, output } => {
                let output = Output::from_resource(&output);
                let object = data_init.init(id, output.clone());
                if let Some(output) = output {
                    state
                        .color_management_state
                        .outputs
                        .push((object.downgrade(), output));
                }
            }
            Request::GetSurface { id, surface } => {
                let taken = with_states(&surface, |states| {
                    states
                        .data_map
                        .insert_if_missing_threadsafe(SurfaceClaim::default);
                    let claim = states.data_map.get::<SurfaceClaim>();
                    claim
                        .and_then(|c| c.0.lock().ok())
                        .is_some_and(|mut taken| {
                            let was = *taken;
                            *taken = true;
                            was
                        })
                });
                if taken {
                    manager.post_error(
                        Error::SurfaceExists,
                        "the surface already has a color management object",
                    );
                    return;
                }
                data_init.init(id, surface.downgrade());
            }
            Request::GetSurfaceFeedback { id, surface } => {
                let feedback = data_init.init(id, surface.downgrade());
                state
                    .color_management_state
                    .feedbacks
                    .push((feedback.downgrade(), surface));
            }
            Request::CreateParametricCreator { obj } => {
                data_init.init(obj, CreatorData::default());
            }
            Request::CreateIccCreator { .. } => manager.post_error(
                Error::UnsupportedFeature,
                "ICC profiles are not supported; use a parametric description",
            ),
            Request::CreateWindowsScrgb { .. } => manager.post_error(
                Error::UnsupportedFeature,
                "windows_scrgb is not supported; use a parametric description",
            ),
            Request::Destroy => {}
            _ => {}
        }
    }
}

impl Dispatch<WpColorManagementOutputV1, Option<Output>> for Ghost {
    fn request(
        _state: &mut Self,
        _client: &Client,
        _object: &WpColorManagementOutputV1,
        request: wp_color_management_output_v1::Request,
        output: &Option<Output>,
        _dh: &DisplayHandle,
        data_init: &mut DataInit<'_, Self>,
    ) {
        if let wp_color_management_output_v1::Request::GetImageDescription { image_description } =
            request
        {
            let current = output.as_ref().map(output_description);
            description::init_for_information(data_init, image_description, current);
        }
    }
}

impl Dispatch<WpColorManagementSurfaceV1, Weak<WlSurface>> for Ghost {
    fn request(
        _state: &mut Self,
        _client: &Client,
        object: &WpColorManagementSurfaceV1,
        request: wp_color_management_surface_v1::Request,
        surface: &Weak<WlSurface>,
        _dh: &DisplayHandle,
        _data_init: &mut DataInit<'_, Self>,
    ) {
        use wp_color_management_surface_v1::{Error, Request};
        let Ok(surface) = surface.upgrade() else {
            if !matches!(request, Request::Destroy) {
                object.post_error(Error::Inert, "the surface was destroyed");
            }
            return;
        };
        let set = |value: Option<(ImageDescription, u32)>| {
            with_states(&surface, |states| {
                states
                    .cached_state
                    .get::<SurfaceColour>()
                    .pending()
                    .description = value;
            })
        };
        match request {
            Request::SetImageDescription {
                image_description,
                render_intent,
            } => {
                if render_intent.into_result().ok() != Some(RenderIntent::Perceptual) {
                    object.post_error(
                        Error::RenderIntent,
                        "only the perceptual intent is supported",
                    );
                    return;
                }
                match description::ready_description(&image_description) {
                    Some(ready) => set(Some(ready)),
                    None => object.post_error(
                        Error::ImageDescription,
                        "the image description is not ready or has failed",
                    ),
                }
            }
            Request::UnsetImageDescription => set(None),
            Request::Destroy => {
                set(None);
                with_states(&surface, |states| {
                    if let Some(mut taken) = states
                        .data_map
                        .get::<SurfaceClaim>()
                        .and_then(|c| c.0.lock().ok())
                    {
                        *taken = false;
                    }
                });
            }
            _ => {}
        }
    }
}

impl Dispatch<WpColorManagementSurfaceFeedbackV1, Weak<WlSurface>> for Ghost {
    fn request(
        state: &mut Self,
        _client: &Client,
        object: &WpColorManagementSurfaceFeedbackV1,
        request: wp_color_management_surface_feedback_v1::Request,
        surface: &Weak<WlSurface>,
        _dh: &DisplayHandle,
        data_init: &mut DataInit<'_, Self>,
    ) {
        use wp_color_management_surface_feedback_v1::{Error, Request};
        let id: New<WpImageDescriptionV1> = match request {
            Request::GetPreferred { image_description } => image_description,
            Request::GetPreferredParametric { image_description } => image_description,
            _ => return,
        };
        let Ok(surface) = surface.upgrade() else {
            object.post_error(Error::Inert, "the surface was destroyed");
            return;
        };
        let preferred = state
            .surface_output(&surface)
            .map(|o| output_description(&o))
            .unwrap_or((ImageDescription::srgb(), SRGB_IDENTITY));
        description::init_for_information(data_init, id, Some(preferred));
    }
}
