use super::*;

/// A modeline as the compositor reads it from the config.
fn line(text: &str) -> ModeInfo {
    let l: ghost_config::Modeline = text.parse().expect("a modeline");
    let [width, hsync_start, hsync_end, htotal] = l.horizontal;
    let [height, vsync_start, vsync_end, vtotal] = l.vertical;
    let sign = |s: Option<bool>, plus, minus| s.map_or(0, |p| if p { plus } else { minus });
    ModeInfo {
        width,
        height,
        clock_khz: l.clock_khz,
        hsync_start,
        hsync_end,
        htotal,
        vsync_start,
        vsync_end,
        vtotal,
        flags: sign(l.hsync_positive, FLAG_PHSYNC, FLAG_NHSYNC)
            | sign(l.vsync_positive, FLAG_PVSYNC, FLAG_NVSYNC)
            | if l.interlace { FLAG_INTERLACE } else { 0 },
        preferred: false,
    }
}

// Published outputs of the X.Org `cvt` and `gtf` utilities (VESA CVT 1.1 and GTF 1.1),
// as the Arch Linux wiki's xrandr page and xrandr(1) users quote them:
// `cvt 1920 1080 60`, `cvt -r 1920 1080 60`, `gtf 1920 1080 60`.
#[test]
fn cvt_and_gtf_give_the_published_timings() {
    let cases = [
        (
            Formula::Cvt,
            1920,
            1080,
            60.0,
            "173.00 1920 2048 2248 2576 1080 1083 1088 1120 -hsync +vsync",
        ),
        (
            Formula::CvtRb,
            1920,
            1080,
            60.0,
            "138.50 1920 1968 2000 2080 1080 1083 1088 1111 +hsync -vsync",
        ),
        (
            Formula::CvtRb,
            2560,
            1440,
            60.0,
            "241.50 2560 2608 2640 2720 1440 1443 1448 1481 +hsync -vsync",
        ),
        (
            Formula::Gtf,
            1920,
            1080,
            60.0,
            "172.80 1920 2040 2248 2576 1080 1081 1084 1118 -hsync +vsync",
        ),
    ];
    for (formula, w, h, hz, want) in cases {
        let got = generate(formula, w, h, hz).expect("a timing");
        let want = line(want);
        // The utilities print the clock to 10 kHz.
        assert!(
            got.clock_khz.abs_diff(want.clock_khz) <= 5,
            "{}",
            AsModeline(&got)
        );
        let same_clock = ModeInfo {
            clock_khz: want.clock_khz,
            ..got.clone()
        };
        assert_eq!(
            same_clock,
            want,
            "{} {w}x{h}@{hz}: {}",
            formula.name(),
            AsModeline(&got)
        );
    }
}

// CVT 1.2 reduced blanking v2: 80 pixels of horizontal blanking (8 front, 32 sync,
// 40 back), 8 lines of sync, 6 of back porch, a vertical blank of at least 460 µs, and
// the pixel clock in 1 kHz steps so the rate is the one asked for.
#[test]
fn reduced_blanking_v2_has_its_fixed_blanking_and_the_exact_rate() {
    for (w, h, hz) in [
        (1920, 1080, 60.0),
        (2560, 1440, 165.0),
        (3840, 2160, 144.0),
        (1000, 700, 50.0),
    ] {
        let m = generate(Formula::CvtRb2, w, h, hz).expect("a timing");
        assert_eq!(
            (
                m.hsync_start - m.width,
                m.hsync_end - m.hsync_start,
                m.htotal - m.hsync_end
            ),
            (8, 32, 40)
        );
        assert_eq!(
            (m.vsync_end - m.vsync_start, m.vtotal - m.vsync_end),
            (8, 6)
        );
        let line_us = f64::from(m.htotal) / f64::from(m.clock_khz) * 1000.0;
        let vblank_us = f64::from(m.vtotal - m.height) * line_us;
        assert!(vblank_us >= 460.0, "{vblank_us} µs");
        assert!(
            (f64::from(m.refresh_mhz()) / 1000.0 - hz).abs() < 0.01,
            "{}",
            m.refresh_mhz()
        );
        assert_eq!(m.flags, FLAG_PHSYNC | FLAG_NVSYNC);
    }
}

#[test]
fn a_modeline_is_the_timing_it_spells_out() {
    let mode = line("Modeline \"1920x1080_60.00\"  173.00  1920 2048 2248 2576  1080 1083 1088 1120 -hsync +vsync");
    assert_eq!(mode.clock_khz, 173_000);
    assert_eq!((mode.hsync_start, mode.vtotal), (2048, 1120));
    assert_eq!(mode.flags, FLAG_NHSYNC | FLAG_PVSYNC);
    assert_eq!(mode.refresh_mhz(), 59_963);
    assert_eq!(
        AsModeline(&mode).to_string(),
        "173.000 1920 2048 2248 2576 1080 1083 1088 1120 -hsync +vsync"
    );
    assert_eq!(
        line("74.25 1920 2008 2052 2200 540 542 547 562 interlace").flags,
        FLAG_INTERLACE
    );
}

fn limits(formula: RangeFormula) -> RangeLimits {
    RangeLimits {
        min_hz: 48,
        max_hz: 144,
        min_khz: 30,
        max_khz: 230,
        max_clock_khz: Some(600_000),
        bare: formula == RangeFormula::Bare,
        formula,
    }
}

#[test]
fn custom_timings_stay_inside_the_range_limits() {
    let cvt = RangeFormula::Cvt {
        standard: true,
        reduced: true,
    };
    let info = DisplayInfo {
        range_limits: Some(limits(cvt)),
        ..DisplayInfo::default()
    };
    let (mode, formula) = custom_mode(2560, 1440, 120_000, Some(&info)).expect("in range");
    assert_eq!(formula, Formula::CvtRb2);
    assert_eq!(mode.refresh_mhz(), 120_000);
    for (w, h, mhz, what) in [
        (2560, 1440, 165_000, "vertical rate"),
        (1280, 720, 40_000, "vertical rate"),
        (3840, 2160, 120_000, "horizontal rate"),
        (640, 360, 60_000, "horizontal rate"),
    ] {
        match custom_mode(w, h, mhz, Some(&info)) {
            Err(TimingError::OutOfRange { what: got, .. }) => {
                assert_eq!(got, what, "{w}x{h}@{mhz}")
            }
            other => panic!("{w}x{h}@{mhz}: {other:?}"),
        }
    }
    let narrow_clock = DisplayInfo {
        range_limits: Some(RangeLimits {
            max_khz: 400,
            max_clock_khz: Some(300_000),
            ..limits(cvt)
        }),
        ..DisplayInfo::default()
    };
    let refused =
        custom_mode(2560, 1440, 120_000, Some(&narrow_clock)).expect_err("over the clock");
    assert!(refused.to_string().contains("pixel clock"), "{refused}");
    // No EDID (virtual or unknown displays): reduced blanking v2, nothing to check.
    assert_eq!(
        custom_mode(1000, 700, 50_000, None).map(|m| m.1),
        Ok(Formula::CvtRb2)
    );
}

#[test]
fn the_formula_follows_what_the_display_says() {
    let with = |formula: Option<RangeFormula>| DisplayInfo {
        range_limits: formula.map(limits),
        ..DisplayInfo::default()
    };
    let standard_only = RangeFormula::Cvt {
        standard: true,
        reduced: false,
    };
    assert_eq!(formula_for(Some(&with(Some(standard_only)))), Formula::Cvt);
    assert_eq!(
        formula_for(Some(&with(Some(RangeFormula::Gtf)))),
        Formula::Gtf
    );
    assert_eq!(
        formula_for(Some(&with(Some(RangeFormula::Bare)))),
        Formula::CvtRb2
    );
    assert_eq!(formula_for(Some(&with(None))), Formula::CvtRb2);
}
