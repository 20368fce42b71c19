//! Parametric image description creators, image descriptions and their information.

use std::sync::Mutex;

use ghost_hdr::{
    description::{Mastering, Transfer},
    primaries::{Primaries, Xy},
    ImageDescription, Luminances,
};
use smithay::reexports::{
    wayland_protocols::wp::color_management::v1::server::{
        wp_color_manager_v1::{Primaries as NamedPrimaries, TransferFunction},
        wp_image_description_creator_params_v1::{self, WpImageDescriptionCreatorParamsV1},
        wp_image_description_info_v1::{self, WpImageDescriptionInfoV1},
        wp_image_description_v1::{self, Cause, WpImageDescriptionV1},
    },
    wayland_server::{Client, DataInit, Dispatch, DisplayHandle, New, Resource},
};

use super::new_identity;
use crate::state::Ghost;

/// Transfer functions clients may name.
pub const SUPPORTED_TRANSFERS: [TransferFunction; 8] = [
    TransferFunction::Srgb,
    TransferFunction::ExtSrgb,
    TransferFunction::Gamma22,
    TransferFunction::Gamma28,
    TransferFunction::Bt1886,
    TransferFunction::ExtLinear,
    TransferFunction::St2084Pq,
    TransferFunction::Hlg,
];

/// Primaries clients may name.
pub const SUPPORTED_PRIMARIES: [NamedPrimaries; 5] = [
    NamedPrimaries::Srgb,
    NamedPrimaries::Bt2020,
    NamedPrimaries::DciP3,
    NamedPrimaries::DisplayP3,
    NamedPrimaries::AdobeRgb,
];

fn transfer_from_named(tf: TransferFunction) -> Option<Transfer> {
    Some(match tf {
        TransferFunction::Srgb => Transfer::Srgb,
        TransferFunction::ExtSrgb => Transfer::ExtSrgb,
        TransferFunction::Gamma22 => Transfer::Power(2.2),
        TransferFunction::Gamma28 => Transfer::Power(2.8),
        TransferFunction::Bt1886 => Transfer::Bt1886,
        TransferFunction::ExtLinear => Transfer::ExtLinear,
        TransferFunction::St2084Pq => Transfer::Pq,
        TransferFunction::Hlg => Transfer::Hlg,
        _ => return None,
    })
}

fn named_from_transfer(tf: Transfer) -> Option<TransferFunction> {
    Some(match tf {
        Transfer::Srgb => TransferFunction::Srgb,
        Transfer::ExtSrgb => TransferFunction::ExtSrgb,
        Transfer::Power(g) if (g - 2.2).abs() < 1e-9 => TransferFunction::Gamma22,
        Transfer::Power(g) if (g - 2.8).abs() < 1e-9 => TransferFunction::Gamma28,
        Transfer::Bt1886 => TransferFunction::Bt1886,
        Transfer::ExtLinear => TransferFunction::ExtLinear,
        Transfer::Pq => TransferFunction::St2084Pq,
        Transfer::Hlg => TransferFunction::Hlg,
        Transfer::Power(_) => return None,
    })
}

fn primaries_from_named(p: NamedPrimaries) -> Option<Primaries> {
    Some(match p {
        NamedPrimaries::Srgb => Primaries::BT709,
        NamedPrimaries::Bt2020 => Primaries::BT2020,
        NamedPrimaries::DciP3 => Primaries::DCI_P3,
        NamedPrimaries::DisplayP3 => Primaries::DISPLAY_P3,
        NamedPrimaries::AdobeRgb => Primaries::ADOBE_RGB,
        _ => return None,
    })
}

fn named_from_primaries(p: &Primaries) -> Option<NamedPrimaries> {
    SUPPORTED_PRIMARIES
        .into_iter()
        .find(|n| primaries_from_named(*n).as_ref() == Some(p))
}

/// Primaries from the eight chromaticity coordinates the requests carry.
#[allow(clippy::too_many_arguments)]
fn primaries(
    r_x: i32,
    r_y: i32,
    g_x: i32,
    g_y: i32,
    b_x: i32,
    b_y: i32,
    w_x: i32,
    w_y: i32,
) -> Primaries {
    Primaries {
        red: xy(r_x, r_y),
        green: xy(g_x, g_y),
        blue: xy(b_x, b_y),
        white: xy(w_x, w_y),
    }
}

/// The protocol sends chromaticities × 1 000 000.
fn xy(x: i32, y: i32) -> Xy {
    Xy {
        x: f64::from(x) / 1e6,
        y: f64::from(y) / 1e6,
    }
}

fn to_millionths(v: f64) -> i32 {
    (v * 1e6).round() as i32
}

#[derive(Default)]
struct Parts {
    primaries: Option<Primaries>,
    transfer: Option<Transfer>,
    luminances: Option<Luminances>,
    mastering_primaries: Option<Primaries>,
    mastering_luminance: Option<(f64, f64)>,
    max_cll: Option<f64>,
    max_fall: Option<f64>,
}

/// User data of a parametric creator: what it has been told so far.
#[derive(Default)]
pub struct CreatorData(Mutex<Parts>);

/// User data of an image description: the description once ready (`None` if it
/// failed), its identity, and whether the client may ask for its information.
pub struct DescriptionData {
    description: Option<(ImageDescription, u32)>,
    informative: bool,
}

/// The ready description behind an image description object, if it is one.
pub fn ready_description(object: &WpImageDescriptionV1) -> Option<(ImageDescription, u32)> {
    object.data::<DescriptionData>().and_then(|d| d.description)
}

/// Creates an image description the client may query (an output's or a preferred
/// one) and says it is ready, or that the output is gone.
pub fn init_for_information(
    data_init: &mut DataInit<'_, Ghost>,
    id: New<WpImageDescriptionV1>,
    description: Option<(ImageDescription, u32)>,
) {
    let object = data_init.init(
        id,
        DescriptionData {
            description,
            informative: true,
        },
    );
    match description {
        Some((_, identity)) => object.ready(identity),
        None => object.failed(Cause::NoOutput, "the output no longer exists".into()),
    }
}

impl Dispatch<WpImageDescriptionCreatorParamsV1, CreatorData> for Ghost {
    fn request(
        _state: &mut Self,
        _client: &Client,
        creator: &WpImageDescriptionCreatorParamsV1,
        request: wp_image_description_creator_params_v1::Request,
        data: &CreatorData,
        _dh: &DisplayHandle,
        data_init: &mut DataInit<'_, Self>,
    ) {
        use wp_image_description_creator_params_v1::{Error, Request};
        let Ok(mut parts) = data.0.lock() else {
            return;
        };
        let already = |creator: &WpImageDescriptionCreatorParamsV1, what: &str| {
            creator.post_error(Error::AlreadySet, format!("{what} was already set"));
        };
        match request {
            Request::SetTfNamed { tf } => {
                let Some(transfer) = tf.into_result().ok().and_then(transfer_from_named) else {
                    creator.post_error(Error::InvalidTf, "unsupported transfer function");
                    return;
                };
                if parts.transfer.replace(transfer).is_some() {
                    already(creator, "the transfer function");
                }
            }
            Request::SetTfPower { eexp } => {
                let exponent = f64::from(eexp) / 10_000.0;
                if !(1.0..=10.0).contains(&exponent) {
                    creator.post_error(Error::InvalidTf, "exponent must be 1.0 to 10.0");
                    return;
                }
                if parts.transfer.replace(Transfer::Power(exponent)).is_some() {
                    already(creator, "the transfer function");
                }
            }
            Request::SetPrimariesNamed { primaries } => {
                let Some(p) = primaries.into_result().ok().and_then(primaries_from_named) else {
                    creator.post_error(Error::InvalidPrimariesNamed, "unsupported primaries");
                    return;
                };
                if parts.primaries.replace(p).is_some() {
                    already(creator, "the primaries");
                }
            }
            Request::SetPrimaries {
                r_x,
                r_y,
                g_x,
                g_y,
                b_x,
                b_y,
                w_x,
                w_y,
            } => {
                let p = primaries(r_x, r_y, g_x, g_y, b_x, b_y, w_x, w_y);
                if parts.primaries.replace(p).is_some() {
                    already(creator, "the primaries");
                }
            }
            Request::SetLuminances {
                min_lum,
                max_lum,
                reference_lum,
            } => {
                let l = Luminances {
                    min: f64::from(min_lum) / 10_000.0,
                    max: f64::from(max_lum),
                    reference: f64::from(reference_lum),
                };
                if !(l.min < l.reference && l.reference <= l.max) {
                    creator.post_error(Error::InvalidLuminance, "need min < reference <= max");
                    return;
                }
                if parts.luminances.replace(l).is_some() {
                    already(creator, "the luminances");
                }
            }
            Request::SetMasteringDisplayPrimaries {
                r_x,
                r_y,
                g_x,
                g_y,
                b_x,
                b_y,
                w_x,
                w_y,
            } => {
                let p = primaries(r_x, r_y, g_x, g_y, b_x, b_y, w_x, w_y);
                if parts.mastering_primaries.replace(p).is_some() {
                    already(creator, "the mastering primaries");
                }
            }
            Request::SetMasteringLuminance { min_lum, max_lum } => {
                let range = (f64::from(min_lum) / 10_000.0, f64::from(max_lum));
                if range.0 >= range.1 {
                    creator.post_error(Error::InvalidLuminance, "need min < max");
                    return;
                }
                if parts.mastering_luminance.replace(range).is_some() {
                    already(creator, "the mastering luminance");
                }
            }
            Request::SetMaxCll { max_cll }
                if parts.max_cll.replace(f64::from(max_cll)).is_some() =>
            {
                already(creator, "max_cll")
            }
            Request::SetMaxFall { max_fall }
                if parts.max_fall.replace(f64::from(max_fall)).is_some() =>
            {
                already(creator, "max_fall")
            }
            Request::Create { image_description } => {
                if parts.primaries.is_none() || parts.transfer.is_none() {
                    creator.post_error(
                        Error::IncompleteSet,
                        "primaries and a transfer function are required",
                    );
                    return;
                }
                let built = ImageDescription::from_parts(
                    parts.primaries,
                    parts.transfer,
                    parts.luminances,
                    Mastering {
                        primaries: parts.mastering_primaries,
                        luminance: parts.mastering_luminance,
                    },
                    parts.max_cll,
                    parts.max_fall,
                );
                let (description, failure) = match built {
                    Ok(d) => (Some((d, new_identity())), None),
                    Err(e) => (None, Some(e.to_string())),
                };
                let object = data_init.init(
                    image_description,
                    DescriptionData {
                        description,
                        informative: false,
                    },
                );
                match (description, failure) {
                    (Some((_, identity)), _) => object.ready(identity),
                    (None, reason) => object.failed(Cause::Unsupported, reason.unwrap_or_default()),
                }
            }
            _ => {}
        }
    }
}

impl Dispatch<WpImageDescriptionV1, DescriptionData> for Ghost {
    fn request(
        state: &mut Self,
        _client: &Client,
        object: &WpImageDescriptionV1,
        request: wp_image_description_v1::Request,
        data: &DescriptionData,
        _dh: &DisplayHandle,
        data_init: &mut DataInit<'_, Self>,
    ) {
        use wp_image_description_v1::{Error, Request};
        if let Request::GetInformation { information } = request {
            if !data.informative {
                object.post_error(
                    Error::NoInformation,
                    "only output and preferred descriptions have information",
                );
                return;
            }
            let Some((description, _)) = data.description else {
                object.post_error(Error::NotReady, "the image description failed");
                return;
            };
            let info = data_init.init(information, ());
            // `done` destroys the object; sending it while the request that created the
            // object is still being dispatched makes wayland-backend panic, so the
            // information goes out right after this dispatch.
            state
                .loop_handle
                .insert_idle(move |_| send_information(&info, &description));
        }
    }
}

fn send_primaries(p: &Primaries, send: impl FnOnce(i32, i32, i32, i32, i32, i32, i32, i32)) {
    send(
        to_millionths(p.red.x),
        to_millionths(p.red.y),
        to_millionths(p.green.x),
        to_millionths(p.green.y),
        to_millionths(p.blue.x),
        to_millionths(p.blue.y),
        to_millionths(p.white.x),
        to_millionths(p.white.y),
    );
}

fn send_information(info: &WpImageDescriptionInfoV1, d: &ImageDescription) {
    send_primaries(&d.primaries, |a, b, c, e, f, g, h, i| {
        info.primaries(a, b, c, e, f, g, h, i)
    });
    if let Some(named) = named_from_primaries(&d.primaries) {
        info.primaries_named(named);
    }
    match named_from_transfer(d.transfer) {
        Some(named) => info.tf_named(named),
        None => {
            if let Transfer::Power(g) = d.transfer {
                info.tf_power((g * 10_000.0).round() as u32);
            }
        }
    }
    let l = d.luminances;
    info.luminances(
        (l.min * 10_000.0).round() as u32,
        l.max.round() as u32,
        l.reference.round() as u32,
    );
    // The target colour volume: the mastering display if stated, else the container.
    send_primaries(
        d.mastering.primaries.as_ref().unwrap_or(&d.primaries),
        |a, b, c, e, f, g, h, i| info.target_primaries(a, b, c, e, f, g, h, i),
    );
    let (min, max) = d.mastering.luminance.unwrap_or((l.min, l.max));
    info.target_luminance((min * 10_000.0).round() as u32, max.round() as u32);
    if let Some(cll) = d.max_cll {
        info.target_max_cll(cll.round() as u32);
    }
    if let Some(fall) = d.max_fall {
        info.target_max_fall(fall.round() as u32);
    }
    info.done();
}

impl Dispatch<WpImageDescriptionInfoV1, ()> for Ghost {
    fn request(
        _state: &mut Self,
        _client: &Client,
        _object: &WpImageDescriptionInfoV1,
        _request: wp_image_description_info_v1::Request,
        _data: &(),
        _dh: &DisplayHandle,
        _data_init: &mut DataInit<'_, Self>,
    ) {
    }
}
