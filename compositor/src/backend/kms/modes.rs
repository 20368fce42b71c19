//! Mode changes on KMS: a mode the display lists, a custom one the display's timing
//! formula makes (inside its EDID's range limits), or a whole timing the user gave as a
//! modeline; each lit with a tested modeset, a refusal leaving a mode the display takes.

use anyhow::Context;
use ghost_kms::{setup::OutputWish, timing};
use ghostnv_backend::ModeInfo;
use smithay::output::{Mode, Output};

use super::{outputs, Backend};
use crate::{backend::OutputModes, state::Ghost};

/// The timing a `modeline` gives; sync polarities it leaves unsaid stay unset.
pub fn from_modeline(line: &ghost_config::Modeline) -> ModeInfo {
    let [width, hsync_start, hsync_end, htotal] = line.horizontal;
    let [height, vsync_start, vsync_end, vtotal] = line.vertical;
    let polarity = |sign: Option<bool>, plus: u32, minus: u32| match sign {
        Some(true) => plus,
        Some(false) => minus,
        None => 0,
    };
    ModeInfo {
        width,
        height,
        clock_khz: line.clock_khz,
        hsync_start,
        hsync_end,
        htotal,
        vsync_start,
        vsync_end,
        vtotal,
        flags: polarity(
            line.hsync_positive,
            timing::FLAG_PHSYNC,
            timing::FLAG_NHSYNC,
        ) | polarity(
            line.vsync_positive,
            timing::FLAG_PVSYNC,
            timing::FLAG_NVSYNC,
        ) | if line.interlace {
            timing::FLAG_INTERLACE
        } else {
            0
        },
        preferred: false,
    }
}

/// Switches `output` to `mode`: the display's own where it lists it, else a custom
/// timing made by the display's formula. Returns the mode now shown.
pub fn set_mode(state: &mut Ghost, output: &Output, mode: Mode) -> anyhow::Result<Mode> {
    let Backend::Kms(backend) = &mut state.backend else {
        anyhow::bail!("not a KMS output");
    };
    let o = backend.find(output).context("unknown output")?;
    let (connector, display) = (o.connector, o.display.clone());
    let listed = backend
        .scanout
        .model()
        .connectors
        .iter()
        .find(|c| c.id == connector)
        .and_then(|c| {
            c.modes
                .iter()
                .find(|m| outputs::to_mode(m) == mode)
                .cloned()
        });
    if let Some(info) = listed {
        return light(state, output, connector, info, None);
    }
    let (info, formula) =
        timing::custom_mode(mode.size.w, mode.size.h, mode.refresh, display.as_ref())
            .with_context(|| {
                format!(
                    "{}x{}@{:.3} is not a mode the display lists, and no custom timing for it fits",
                    mode.size.w,
                    mode.size.h,
                    f64::from(mode.refresh) / 1000.0
                )
            })?;
    light(state, output, connector, info, Some(formula))
}

/// Switches `output` to a whole timing (a modeline), checked against the display's
/// range limits first. Returns the mode now shown.
pub fn set_timing(state: &mut Ghost, output: &Output, info: ModeInfo) -> anyhow::Result<Mode> {
    let Backend::Kms(backend) = &mut state.backend else {
        anyhow::bail!("not a KMS output");
    };
    let o = backend.find(output).context("unknown output")?;
    let connector = o.connector;
    if let Some(limits) = o.display.as_ref().and_then(|d| d.range_limits.as_ref()) {
        timing::check_limits(&info, limits)
            .context("the modeline is outside the display's limits")?;
    }
    light(
        state,
        output,
        connector,
        info,
        Some(timing::Formula::Modeline),
    )
}

/// Whether `output` shows exactly `info` now (a config reload need not relight it).
pub fn is_current_timing(state: &Ghost, output: &Output, info: &ModeInfo) -> bool {
    let Backend::Kms(backend) = &state.backend else {
        return false;
    };
    backend
        .find(output)
        .and_then(|o| backend.scanout.head_of_connector(o.connector))
        .is_some_and(|h| {
            let mut lit = h.lit.mode.clone();
            lit.preferred = false;
            lit == *info
        })
}

/// Lights `connector` with `info` (tested first); `made` says how a timing the display
/// does not list was made.
fn light(
    state: &mut Ghost,
    output: &Output,
    connector: u32,
    info: ModeInfo,
    made: Option<timing::Formula>,
) -> anyhow::Result<Mode> {
    let Backend::Kms(backend) = &mut state.backend else {
        anyhow::bail!("not a KMS output");
    };
    let mut wishes = backend.scanout.wishes().clone();
    wishes.insert(
        connector,
        OutputWish {
            mode: Some(info.clone()),
            formats: Vec::new(),
            hdr: None,
            custom: made.is_some(),
        },
    );
    let lit = backend.scanout.light(wishes);
    let got = backend
        .scanout
        .head_of_connector(connector)
        .map(|h| h.lit.mode.clone());
    let shown = outputs::to_mode(&info);
    if got.as_ref() == Some(&info) {
        if let Some(o) = backend.find_mut(output) {
            o.timing_made_by = made;
        }
        if let Some(modes) = output.user_data().get::<OutputModes>() {
            if let Ok(mut list) = modes.modes.lock() {
                if !list.contains(&shown) {
                    list.push(shown);
                }
            }
        }
    }
    outputs::sync(state);
    lit.map_err(|e| anyhow::anyhow!("{e}"))?;
    if got.as_ref() != Some(&info) {
        anyhow::bail!(
            "the driver refused the mode ({}); the display kept a mode it takes",
            timing::AsModeline(&info)
        );
    }
    tracing::info!(
        output = output.name(),
        timing = %timing::AsModeline(&info),
        made_by = made.map_or("the display's list", timing::Formula::name),
        "mode set"
    );
    Ok(shown)
}
