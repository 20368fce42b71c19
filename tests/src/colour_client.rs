//! The client side of wp_color_management_v1 for tests: what the manager supports,
//! parametric descriptions, surface descriptions, and output/preferred information.

use std::sync::{Arc, Mutex};

use anyhow::{bail, Result};
use wayland_client::{protocol::wl_output::WlOutput, Connection, Dispatch, Proxy, QueueHandle};
use wayland_protocols::wp::color_management::v1::client::{
    wp_color_management_output_v1::{self, WpColorManagementOutputV1},
    wp_color_management_surface_feedback_v1::{self, WpColorManagementSurfaceFeedbackV1},
    wp_color_management_surface_v1::WpColorManagementSurfaceV1,
    wp_color_manager_v1::{self, Primaries, RenderIntent, TransferFunction, WpColorManagerV1},
    wp_image_description_creator_params_v1::WpImageDescriptionCreatorParamsV1,
    wp_image_description_info_v1::{self, WpImageDescriptionInfoV1},
    wp_image_description_v1::{self, WpImageDescriptionV1},
};

use crate::client::{ColorWindow, State, TestClient};

/// What the manager advertised.
#[derive(Debug, Default, Clone)]
pub struct Supported {
    /// Rendering intents.
    pub intents: Vec<u32>,
    /// Features.
    pub features: Vec<u32>,
    /// Named transfer functions.
    pub transfers: Vec<u32>,
    /// Named primaries.
    pub primaries: Vec<u32>,
    /// `done` arrived.
    pub done: bool,
}

/// Everything an image description's information said.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Information {
    /// Chromaticities × 1e6 (r, g, b, white).
    pub primaries: Option<[i32; 8]>,
    /// Named primaries, when the compositor sent one.
    pub primaries_named: Option<u32>,
    /// Named transfer function.
    pub tf_named: Option<u32>,
    /// min × 1e4, max, reference (cd/m²).
    pub luminances: Option<(u32, u32, u32)>,
    /// Target luminance min × 1e4 and max.
    pub target_luminance: Option<(u32, u32)>,
    /// `done` arrived.
    pub done: bool,
}

/// Colour-management events the client saw.
#[derive(Debug, Default)]
pub struct ColourEvents {
    /// Manager capabilities.
    pub supported: Supported,
    /// image_description_changed events on output objects.
    pub output_changes: usize,
    /// preferred_changed identities from surface feedback.
    pub preferred_changes: Vec<u32>,
}

/// The outcome of an image description: identity when ready, the message when failed.
pub type Readiness = Arc<Mutex<Option<Result<u32, String>>>>;

impl TestClient {
    /// Binds the colour manager and waits for its capabilities.
    pub fn color_manager(&mut self) -> Result<WpColorManagerV1> {
        let manager: WpColorManagerV1 = self.bind(1..=1, ())?;
        while !self.state.colour.supported.done {
            self.wait()?;
        }
        Ok(manager)
    }

    /// Waits until `readiness` is decided.
    pub fn wait_ready(&mut self, readiness: &Readiness) -> Result<Result<u32, String>> {
        for _ in 0..10_000 {
            if let Some(r) = readiness
                .lock()
                .map_err(|_| anyhow::anyhow!("poisoned"))?
                .clone()
            {
                return Ok(r);
            }
            self.wait()?;
        }
        bail!("the image description never became ready or failed")
    }

    /// Creates a parametric description from named primaries and transfer function,
    /// with luminances (min × 1e4, max, reference) when given.
    pub fn parametric(
        &mut self,
        manager: &WpColorManagerV1,
        primaries: Primaries,
        tf: TransferFunction,
        luminances: Option<(u32, u32, u32)>,
    ) -> Result<(WpImageDescriptionV1, Readiness)> {
        let qh = self.qh();
        let creator = manager.create_parametric_creator(&qh, ());
        creator.set_primaries_named(primaries);
        creator.set_tf_named(tf);
        if let Some((min, max, reference)) = luminances {
            creator.set_luminances(min, max, reference);
        }
        let readiness: Readiness = Arc::default();
        let description = creator.create(&qh, readiness.clone());
        Ok((description, readiness))
    }

    /// A BT.2100 PQ description (BT.2020 primaries, the protocol's default
    /// luminances), ready to use: what an HDR video or game sets.
    pub fn pq_description(&mut self, manager: &WpColorManagerV1) -> Result<WpImageDescriptionV1> {
        let (description, ready) =
            self.parametric(manager, Primaries::Bt2020, TransferFunction::St2084Pq, None)?;
        self.wait_ready(&ready)?.map_err(anyhow::Error::msg)?;
        Ok(description)
    }

    /// Sets `description` on `window`'s surface (applied at its next commit).
    pub fn set_surface_description(
        &mut self,
        manager: &WpColorManagerV1,
        window: &ColorWindow,
        description: &WpImageDescriptionV1,
    ) -> WpColorManagementSurfaceV1 {
        let object = manager.get_surface(&window.surface, &self.qh(), ());
        object.set_image_description(description, RenderIntent::Perceptual);
        object
    }

    /// The description of `output` and its information.
    pub fn output_information(
        &mut self,
        manager: &WpColorManagerV1,
        output: &WlOutput,
    ) -> Result<(WpColorManagementOutputV1, u32, Information)> {
        let qh = self.qh();
        let object = manager.get_output(output, &qh, ());
        let readiness: Readiness = Arc::default();
        let description = object.get_image_description(&qh, readiness.clone());
        let identity = match self.wait_ready(&readiness)? {
            Ok(identity) => identity,
            Err(message) => bail!("the output's description failed: {message}"),
        };
        let info = self.information(&description)?;
        Ok((object, identity, info))
    }

    /// Asks for `description`'s information and collects it.
    pub fn information(&mut self, description: &WpImageDescriptionV1) -> Result<Information> {
        let collected: Arc<Mutex<Information>> = Arc::default();
        let _info = description.get_information(&self.qh(), collected.clone());
        for _ in 0..10_000 {
            if let Ok(info) = collected.lock() {
                if info.done {
                    return Ok(info.clone());
                }
            }
            self.wait()?;
        }
        bail!("the information never finished")
    }

    /// Feedback for `window`'s surface and the preferred description's identity.
    pub fn preferred(
        &mut self,
        manager: &WpColorManagerV1,
        window: &ColorWindow,
    ) -> Result<(WpColorManagementSurfaceFeedbackV1, u32)> {
        let qh = self.qh();
        let feedback = manager.get_surface_feedback(&window.surface, &qh, ());
        let readiness: Readiness = Arc::default();
        let _description = feedback.get_preferred(&qh, readiness.clone());
        match self.wait_ready(&readiness)? {
            Ok(identity) => Ok((feedback, identity)),
            Err(message) => bail!("no preferred description: {message}"),
        }
    }
}

impl Dispatch<WpColorManagerV1, ()> for State {
    fn event(
        state: &mut Self,
        _proxy: &WpColorManagerV1,
        event: wp_color_manager_v1::Event,
        _data: &(),
        _conn: &Connection,
        _qh: &QueueHandle<Self>,
    ) {
        use wp_color_manager_v1::Event;
        let s = &mut state.colour.supported;
        match event {
            Event::SupportedIntent { render_intent } => s.intents.push(raw(render_intent)),
            Event::SupportedFeature { feature } => s.features.push(raw(feature)),
            Event::SupportedTfNamed { tf } => s.transfers.push(raw(tf)),
            Event::SupportedPrimariesNamed { primaries } => s.primaries.push(raw(primaries)),
            Event::Done => s.done = true,
            _ => {}
        }
    }
}

impl Dispatch<WpImageDescriptionV1, Readiness> for State {
    fn event(
        _state: &mut Self,
        _proxy: &WpImageDescriptionV1,
        event: wp_image_description_v1::Event,
        readiness: &Readiness,
        _conn: &Connection,
        _qh: &QueueHandle<Self>,
    ) {
        let outcome = match event {
            wp_image_description_v1::Event::Ready { identity } => Ok(identity),
            wp_image_description_v1::Event::Failed { msg, .. } => Err(msg),
            _ => return,
        };
        if let Ok(mut r) = readiness.lock() {
            *r = Some(outcome);
        }
    }
}

impl Dispatch<WpImageDescriptionInfoV1, Arc<Mutex<Information>>> for State {
    fn event(
        _state: &mut Self,
        _proxy: &WpImageDescriptionInfoV1,
        event: wp_image_description_info_v1::Event,
        info: &Arc<Mutex<Information>>,
        _conn: &Connection,
        _qh: &QueueHandle<Self>,
    ) {
        use wp_image_description_info_v1::Event;
        let Ok(mut info) = info.lock() else { return };
        match event {
            Event::Primaries {
                r_x,
                r_y,
                g_x,
                g_y,
                b_x,
                b_y,
                w_x,
                w_y,
            } => info.primaries = Some([r_x, r_y, g_x, g_y, b_x, b_y, w_x, w_y]),
            Event::PrimariesNamed { primaries } => info.primaries_named = Some(raw(primaries)),
            Event::TfNamed { tf } => info.tf_named = Some(raw(tf)),
            Event::Luminances {
                min_lum,
                max_lum,
                reference_lum,
            } => info.luminances = Some((min_lum, max_lum, reference_lum)),
            Event::TargetLuminance { min_lum, max_lum } => {
                info.target_luminance = Some((min_lum, max_lum))
            }
            Event::Done => info.done = true,
            _ => {}
        }
    }
}

impl Dispatch<WpColorManagementOutputV1, ()> for State {
    fn event(
        state: &mut Self,
        _proxy: &WpColorManagementOutputV1,
        event: wp_color_management_output_v1::Event,
        _data: &(),
        _conn: &Connection,
        _qh: &QueueHandle<Self>,
    ) {
        if let wp_color_management_output_v1::Event::ImageDescriptionChanged = event {
            state.colour.output_changes += 1;
        }
    }
}

impl Dispatch<WpColorManagementSurfaceFeedbackV1, ()> for State {
    fn event(
        state: &mut Self,
        _proxy: &WpColorManagementSurfaceFeedbackV1,
        event: wp_color_management_surface_feedback_v1::Event,
        _data: &(),
        _conn: &Connection,
        _qh: &QueueHandle<Self>,
    ) {
        if let wp_color_management_surface_feedback_v1::Event::PreferredChanged { identity } = event
        {
            state.colour.preferred_changes.push(identity);
        }
    }
}

wayland_client::delegate_noop!(State: ignore WpImageDescriptionCreatorParamsV1);
wayland_client::delegate_noop!(State: ignore wayland_protocols::wp::color_management::v1::client::wp_image_description_creator_icc_v1::WpImageDescriptionCreatorIccV1);
wayland_client::delegate_noop!(State: ignore WlOutput);
wayland_client::delegate_noop!(State: ignore WpColorManagementSurfaceV1);

/// The numeric value of a protocol enum, known or not.
fn raw<T: Into<u32>>(e: wayland_client::WEnum<T>) -> u32 {
    match e {
        wayland_client::WEnum::Value(v) => v.into(),
        wayland_client::WEnum::Unknown(u) => u,
    }
}

/// Keeps `Proxy` in scope for callers that compare objects.
pub fn same<P: Proxy>(a: &P, b: &P) -> bool {
    a.id() == b.id()
}
