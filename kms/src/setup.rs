//! Lighting every connected output in one atomic modeset, with fallbacks: each choice
//! (buffer format, mode, the set of outputs) is tried with TEST_ONLY before the real
//! commit, and a refusal steps down to the next safer choice instead of leaving the
//! screens black. The same code runs on simulated devices and real ones.

use std::collections::BTreeMap;

use ghostnv_backend::{
    commit::Committer,
    sim::{AtomicRequest, CrtcState, Framebuffer, PlaneState},
    DeviceModel, ModeInfo, PlaneKind, MODIFIER_LINEAR,
};

use crate::{
    allocate::allocate_crtcs,
    hdr::{add_connector_colour, HdrSignal},
};

/// XRGB2101010: 10 bits a channel, for HDR and deep colour.
pub const XRGB2101010: u32 = 0x3033_5258;
/// XBGR2101010: the 10-bit layout nvidia-drm offers (it has no XRGB2101010).
pub const XBGR2101010: u32 = 0x3033_4258;
/// XRGB8888: what every display engine scans out.
pub const XRGB8888: u32 = 0x3432_5258;

/// What one output ended up with.
#[derive(Debug, Clone, PartialEq)]
pub struct LitOutput {
    /// Connector id.
    pub connector: u32,
    /// CRTC id.
    pub crtc: u32,
    /// Primary plane id.
    pub plane: u32,
    /// The mode.
    pub mode: ModeInfo,
    /// The primary buffer's format.
    pub format: u32,
    /// The HDR signal the connector was set to send (None: SDR).
    pub hdr: Option<HdrSignal>,
}

/// What the caller wants for one connector.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutputWish {
    /// A mode; the preferred one when None or when the device refuses it.
    pub mode: Option<ModeInfo>,
    /// Formats to try first (e.g. XRGB2101010 for deep colour); XRGB8888 always follows.
    pub formats: Vec<u32>,
    /// HDR to try first (on a 10-bit buffer); SDR always follows.
    pub hdr: Option<HdrSignal>,
    /// `mode` is a custom timing the user asked for: tried though the connector does
    /// not list it (a listed mode is required otherwise, so a wish made for one monitor
    /// never drives another on the same connector with a timing it did not offer).
    pub custom: bool,
}

/// Why nothing could be lit.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// No connected connector with modes.
    #[error("no connected display")]
    NothingConnected,
    /// Every fallback was refused; the last reason.
    #[error("the device refused every configuration: {0}")]
    Refused(String),
}

fn primary(model: &DeviceModel, crtc: u32) -> Option<u32> {
    let index = model.crtcs.iter().position(|c| c.id == crtc)?;
    model
        .planes_for_crtc(index)
        .find(|p| p.kind == PlaneKind::Primary)
        .map(|p| p.id)
}

fn request(model: &DeviceModel, outputs: &[LitOutput]) -> AtomicRequest {
    let mut r = AtomicRequest {
        allow_modeset: true,
        ..AtomicRequest::default()
    };
    for o in outputs {
        let (w, h) = (u32::from(o.mode.width), u32::from(o.mode.height));
        r.crtcs.push(CrtcState {
            crtc: o.crtc,
            mode: Some(o.mode.clone()),
            connectors: vec![o.connector],
        });
        r.planes.push(PlaneState {
            plane: o.plane,
            crtc: Some(o.crtc),
            fb: Framebuffer {
                format: o.format,
                modifier: MODIFIER_LINEAR,
                width: w,
                height: h,
            },
            src: (0, 0, w, h),
            dst: (0, 0, w, h),
        });
        // Checked when the option was made; SDR never fails.
        let _ = add_connector_colour(&mut r, model, o.connector, o.hdr.as_ref());
    }
    // CRTCs nobody uses are switched off in the same commit.
    for c in &model.crtcs {
        if !outputs.iter().any(|o| o.crtc == c.id) {
            r.crtcs.push(CrtcState {
                crtc: c.id,
                mode: None,
                connectors: Vec::new(),
            });
        }
    }
    r
}

/// Lights every connected connector (as many as the device can drive at once), with
/// `wishes` per connector id, keeping `current` connector → CRTC pairs where possible.
/// Per output it steps down from the wished format to XRGB8888 and from the wished mode
/// to the preferred one; if the whole set is still refused, it drops outputs from the
/// last until the rest lights. Returns what was committed.
pub fn light_outputs<C: Committer>(
    device: &mut C,
    wishes: &BTreeMap<u32, OutputWish>,
    current: &BTreeMap<u32, u32>,
) -> Result<Vec<LitOutput>, SetupError> {
    let model = device.model().clone();
    let connected: Vec<u32> = model
        .connectors
        .iter()
        .filter(|c| c.is_display())
        .map(|c| c.id)
        .collect();
    if connected.is_empty() {
        return Err(SetupError::NothingConnected);
    }
    let pairs = allocate_crtcs(&model, &connected, current);
    // Candidate settings per output, best first.
    let mut candidates: Vec<Vec<LitOutput>> = Vec::new();
    for (connector, crtc) in &pairs {
        let Some(plane) = primary(&model, *crtc) else {
            continue;
        };
        let Some(k) = model.connectors.iter().find(|k| k.id == *connector) else {
            continue;
        };
        let Some(preferred) = k.preferred_mode().cloned() else {
            continue;
        };
        let wish = wishes.get(connector).cloned().unwrap_or_default();
        let mut modes = Vec::new();
        if let Some(m) = wish.mode.filter(|m| wish.custom || k.modes.contains(m)) {
            modes.push(m);
        }
        if !modes.contains(&preferred) {
            modes.push(preferred);
        }
        let mut formats = wish.formats.clone();
        if !formats.contains(&XRGB8888) {
            formats.push(XRGB8888);
        }
        let mut options = Vec::new();
        let hdr = wish.hdr.filter(|signal| {
            let mut scratch = AtomicRequest::default();
            match add_connector_colour(&mut scratch, &model, *connector, Some(signal)) {
                Ok(()) => true,
                Err(why) => {
                    tracing::info!(connector, %why, "HDR not possible; SDR instead");
                    false
                }
            }
        });
        if let Some(signal) = hdr {
            // The 10-bit formats the caller draws, where it named some.
            let mut deep: Vec<u32> = wish
                .formats
                .iter()
                .copied()
                .filter(|f| [XRGB2101010, XBGR2101010].contains(f))
                .collect();
            if deep.is_empty() {
                deep = vec![XRGB2101010, XBGR2101010];
            }
            for mode in &modes {
                for format in deep.iter().copied() {
                    options.push(LitOutput {
                        connector: *connector,
                        crtc: *crtc,
                        plane,
                        mode: mode.clone(),
                        format,
                        hdr: Some(signal),
                    });
                }
            }
        }
        for mode in &modes {
            for format in &formats {
                options.push(LitOutput {
                    connector: *connector,
                    crtc: *crtc,
                    plane,
                    mode: mode.clone(),
                    format: *format,
                    hdr: None,
                });
            }
        }
        candidates.push(options);
    }
    let mut last = String::from("no candidate");
    // Drop outputs from the end until the set fits.
    for count in (1..=candidates.len()).rev() {
        let set = &candidates[..count];
        // Settle each output in turn: its best option that the device accepts together
        // with the choices already settled and the safest choice for the rest.
        let mut chosen: Vec<LitOutput> = set.iter().map(|o| o[o.len() - 1].clone()).collect();
        let mut ok = true;
        for (i, options) in set.iter().enumerate() {
            let mut settled = false;
            for option in options {
                chosen[i] = option.clone();
                match device.test(&request(&model, &chosen)) {
                    Ok(()) => {
                        settled = true;
                        break;
                    }
                    Err(e) => {
                        tracing::debug!(connector = option.connector, format = option.format, %e, "refused");
                        last = e;
                    }
                }
            }
            if !settled {
                ok = false;
                break;
            }
        }
        if ok {
            match device.commit(&request(&model, &chosen)) {
                Ok(()) => return Ok(chosen),
                Err(e) => last = e,
            }
        }
    }
    Err(SetupError::Refused(last))
}
