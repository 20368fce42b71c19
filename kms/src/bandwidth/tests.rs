use super::*;
use crate::display_info::DisplayInfo;

/// The modes a 4K 144 Hz monitor lists (a real EDID from the corpus), as the kernel
/// would give them.
fn monitor() -> Vec<ModeInfo> {
    let edid = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/edid/00D225DDE8CF.bin"
    ))
    .expect("the EDID");
    DisplayInfo::parse(&edid)
        .modes
        .iter()
        .map(|m| ModeInfo {
            width: m.width as u16,
            height: m.height as u16,
            clock_khz: m.pixel_clock_khz as u32,
            htotal: m.htotal as u16,
            vtotal: m.vtotal as u16,
            flags: if m.interlaced { 1 << 4 } else { 0 },
            ..ModeInfo::default()
        })
        .collect()
}

fn at(modes: &[ModeInfo], w: u16, h: u16, hz: i32) -> ModeInfo {
    modes
        .iter()
        .filter(|m| (m.width, m.height) == (w, h))
        .min_by_key(|m| (m.refresh_mhz() - hz * 1000).abs())
        .cloned()
        .expect("listed")
}

fn hdmi(max_tmds_mhz: u32, frl: Option<(u32, u32)>) -> LinkCaps {
    LinkCaps {
        hdmi: true,
        max_tmds_mhz: Some(max_tmds_mhz),
        max_frl: frl.map(|(gbps_per_lane, lanes)| FrlRate {
            gbps_per_lane,
            lanes,
        }),
        dsc: false,
    }
}

fn first(plan: &Plan) -> (u16, u16, i32, u32) {
    let c = &plan.candidates[0];
    (
        c.mode.width,
        c.mode.height,
        (c.mode.refresh_mhz() + 500) / 1000,
        c.bpc,
    )
}

#[test]
fn depth_goes_first_when_the_link_is_a_little_short() {
    let modes = monitor();
    let wanted = at(&modes, 3840, 2160, 144);
    // HDMI 2.1 at 40 Gbit/s: 4K 144 Hz takes 37.6 Gbit/s at 10 bits, 30.1 at 8.
    let plan = plan(&wanted, 10, &modes, &hdmi(600, Some((10, 4))));
    assert_eq!(first(&plan), (3840, 2160, 144, 8));
    assert_eq!(plan.ruled_out[0].0.bpc, 10);
    assert!(
        plan.ruled_out[0].1.contains("FRL 4×10"),
        "{:?}",
        plan.ruled_out[0]
    );
}

#[test]
fn then_the_rate_then_the_size() {
    let modes = monitor();
    let wanted = at(&modes, 3840, 2160, 144);
    // HDMI 2.0 (600 MHz TMDS, no FRL): no 4K rate above 60 fits at any depth, and 60 Hz
    // only at 8 bits (594 MHz; 742.5 at 10 bits).
    let plan = plan(&wanted, 10, &modes, &hdmi(600, None));
    assert_eq!(first(&plan), (3840, 2160, 60, 8));
    // The order: every 4K candidate before any smaller size, each mode deepest first.
    let sizes: Vec<u32> = plan
        .candidates
        .iter()
        .map(|c| u32::from(c.mode.width) * u32::from(c.mode.height))
        .collect();
    assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
    for pair in plan.candidates.windows(2) {
        if pair[0].mode == pair[1].mode {
            assert!(pair[0].bpc > pair[1].bpc);
        }
    }
    // Nothing interlaced, nothing the link cannot carry.
    let caps = hdmi(600, None);
    assert!(plan
        .candidates
        .iter()
        .all(|c| c.mode.flags & (1 << 4) == 0 && caps.check(&c.mode, c.bpc).is_ok()));
    // Every 4K rate above 60 was ruled out with its reason.
    assert!(plan
        .ruled_out
        .iter()
        .any(|(c, why)| c.mode == wanted && c.bpc == 8 && why.contains("600 MHz")));
}

#[test]
fn a_link_the_edid_says_nothing_about_is_left_to_the_driver() {
    let modes = monitor();
    let wanted = at(&modes, 3840, 2160, 144);
    let dp = LinkCaps::default();
    let plan = plan(&wanted, 12, &modes, &dp);
    assert_eq!(first(&plan), (3840, 2160, 144, 12));
    assert_eq!(plan.candidates[1].bpc, 10);
    assert_eq!(plan.candidates[2].bpc, 8);
    assert!(plan.ruled_out.is_empty());
    assert!(plan.candidates.len() <= MOST_CANDIDATES);
}
