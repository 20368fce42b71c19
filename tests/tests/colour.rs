//! End to end: colour management on the GLES renderer (Mesa's llvmpipe here). Real
//! clients of our own set image descriptions through wp_color_management_v1; the
//! screenshots are compared with the CPU reference of ghost-hdr, and so are the
//! screen shares of an HDR output (PipeWire): 10-bit PQ to a consumer that asks for it
//! (our own, and GStreamer's through PipeWire 1.4 and the portal), the tone-mapped 8-bit
//! picture to one that does not.
//!
//! Tolerances: 8-bit pictures within 2 code values (the shader runs in f32, the
//! reference in f64, and the SDR picture of an HDR output passes through a 10-bit
//! signal first); the 10-bit PQ signal within 1.5 code values.

use std::path::PathBuf;

use anyhow::{Context, Result};
use ghost_hdr::{ImageDescription, Luminances, Pipeline};
use ghost_tests::{
    client::TestClient,
    pipewire::spa::param::video::VideoFormat,
    pw_consumer::Wants,
    wayland_client::protocol::wl_output::WlOutput,
    wayland_protocols::wp::color_management::v1::client::wp_color_manager_v1::{
        Primaries, TransferFunction,
    },
    Compositor,
};

const COLOUR: u32 = 0xff_c0_60_30;
const SIGNAL: [f64; 3] = [192.0 / 255.0, 96.0 / 255.0, 48.0 / 255.0];

fn config_home(name: &str, hdr: bool) -> Result<PathBuf> {
    let home = std::env::temp_dir().join(format!("ghost-colour-{name}-{}", std::process::id()));
    let dir = home.join("ghostcomp");
    std::fs::create_dir_all(&dir)?;
    let hdr = if hdr { "on" } else { "off" };
    std::fs::write(
        dir.join("config.toml"),
        format!("[[output]]\nname = \"HEADLESS-1\"\nhdr = \"{hdr}\"\nmax_luminance = 600.0\nmin_luminance = 0.005\n"),
    )?;
    Ok(home)
}

fn hdr_output() -> ImageDescription {
    ImageDescription {
        luminances: Luminances {
            min: 0.005,
            max: 600.0,
            reference: 203.0,
        },
        ..ImageDescription::bt2100_pq()
    }
}

fn expected(client: &ImageDescription, output: &ImageDescription) -> [f64; 3] {
    Pipeline::encode(output).apply(Pipeline::decode(client, output).apply(SIGNAL))
}

/// A point 8 px inside the top-left corner of the window with `app_id` (windows are
/// cascaded, so later windows cover the rest of earlier ones).
fn inside(comp: &Compositor, app_id: &str) -> Result<(u32, u32)> {
    let w = comp.wait_window(app_id)?;
    let g = &w["geometry"];
    let x = g["x"].as_i64().context("x")? + 8;
    let y = g["y"].as_i64().context("y")? + 8;
    Ok((x as u32, y as u32))
}

/// Maps an sRGB window and a PQ window (BT.2020 primaries) showing the same numbers.
fn two_clients(comp: &Compositor) -> Result<TestClient> {
    let mut client = TestClient::connect(&comp.socket_path())?;
    let manager = client.color_manager()?;
    let _srgb = client.color_window("srgb-client", 64, 64, &[COLOUR])?;
    let description = client.pq_description(&manager)?;
    let mut pq = client.color_window("pq-client", 64, 64, &[COLOUR])?;
    let _surface = client.set_surface_description(&manager, &pq, &description);
    client.commit_next(&mut pq, false)?;
    client.roundtrip()?;
    std::mem::forget(pq);
    std::mem::forget(_surface);
    Ok(client)
}

fn assert_close(what: &str, got: [f64; 3], want: [f64; 3], tolerance: f64) {
    for i in 0..3 {
        assert!(
            (got[i] - want[i]).abs() <= tolerance,
            "{what}: got {got:?}, want {want:?} (± {tolerance})"
        );
    }
}

fn start(name: &str, hdr: bool) -> Result<Compositor> {
    let home = config_home(name, hdr)?;
    Compositor::start_with_config_home(&["--renderer", "gles", "--output", "480x240@60"], &home)
}

fn settle(comp: &Compositor) -> Result<()> {
    // One frame after the last commit is enough; ask twice to be sure it was drawn.
    comp.request(serde_json::json!({"request": "outputs"}))?;
    std::thread::sleep(std::time::Duration::from_millis(100));
    Ok(())
}

#[test]
fn srgb_and_pq_clients_on_an_hdr_output_match_the_cpu_reference() -> Result<()> {
    let comp = start("hdr", true)?;
    let _client = two_clients(&comp)?;
    let srgb_at = inside(&comp, "srgb-client")?;
    let pq_at = inside(&comp, "pq-client")?;
    settle(&comp)?;
    let output = hdr_output();

    let signal = comp.screenshot_hdr()?;
    assert_eq!(signal.cicp, Some([9, 16, 0, 1]), "tagged BT.2020 + PQ");
    let read = |at: (u32, u32)| signal.pixel(at.0, at.1).map(|v| f64::from(v) / 65535.0);
    let srgb_want = expected(&ImageDescription::srgb(), &output);
    let pq_want = expected(&ImageDescription::bt2100_pq(), &output);
    assert_close(
        "sRGB client, PQ signal",
        read(srgb_at),
        srgb_want,
        1.5 / 1023.0,
    );
    assert_close("PQ client, PQ signal", read(pq_at), pq_want, 1.5 / 1023.0);
    // SDR white sits at the configured reference luminance, not at the panel's peak.
    let white = Pipeline::encode(&output)
        .apply(Pipeline::decode(&ImageDescription::srgb(), &output).apply([1.0; 3]));
    assert!((ghost_hdr::transfer::pq_eotf(white[0]) - 203.0).abs() < 0.01);

    // The default screenshot is sRGB: the 10-bit signal tone and gamut mapped by the
    // reference pipeline (saturated colours near the sRGB edge are softly compressed).
    let sdr = comp.screenshot(serde_json::json!({}))?;
    let px = |at: (u32, u32)| sdr.pixel(at.0, at.1).map(|v| f64::from(v) / 255.0);
    let back = ImageDescription::srgb();
    for (what, at) in [("sRGB client", srgb_at), ("PQ client", pq_at)] {
        let quantised = read(at).map(|v| (v * 1023.0).round() / 1023.0);
        let want = Pipeline::encode(&back).apply(Pipeline::decode(&output, &back).apply(quantised));
        assert_close(
            &format!("{what} in the SDR screenshot"),
            px(at),
            want,
            2.0 / 255.0,
        );
    }
    Ok(())
}

/// The HDR screenshot's signal at `at` in 10-bit code values.
fn ten_bit(signal: &ghost_tests::Image16, at: (u32, u32)) -> [f64; 3] {
    signal
        .pixel(at.0, at.1)
        .map(|v| f64::from(v) * 1023.0 / 65535.0)
}

/// Shares `comp`'s output (or the window with IPC id `window`) to a consumer of our own
/// asking for `wants`; what arrived.
fn share(
    comp: &Compositor,
    window: Option<u64>,
    wants: Wants,
) -> Result<ghost_tests::pw_consumer::Observed> {
    let request = match window {
        Some(id) => serde_json::json!({"request": "cast-start", "window": id}),
        None => serde_json::json!({"request": "cast-start"}),
    };
    let cast = comp.request(request)?;
    let node = cast["node_id"].as_u64().context("a node")? as u32;
    let socket = comp.runtime_dir().join("pipewire-0");
    let seen = ghost_tests::pw_consumer::consume_as(
        &socket,
        node,
        std::time::Duration::from_secs(2),
        wants,
        || Ok(()),
    )?;
    comp.request(serde_json::json!({"request": "cast-stop", "id": cast["id"]}))?;
    Ok(seen)
}

#[test]
fn an_hdr_outputs_share_is_10_bit_pq_to_consumers_that_take_it_and_tone_mapped_to_others(
) -> Result<()> {
    if let Some(why) = ghost_tests::share_session::missing_parts() {
        anyhow::bail!("{why}: scripts/install-deps.sh installs it");
    }
    let comp = start("hdr-share", true)?;
    let _session = ghost_tests::share_session::ShareSession::start(&comp)?;
    let _client = two_clients(&comp)?;
    let srgb_at = inside(&comp, "srgb-client")?;
    let pq_at = inside(&comp, "pq-client")?;
    settle(&comp)?;
    let output = hdr_output();
    let signal = comp.screenshot_hdr()?;

    let seen = share(&comp, None, Wants::Pq10)?;
    assert_eq!(
        seen.format,
        Some((VideoFormat::xRGB_210LE.as_raw(), 14, 7)),
        "xRGB_210LE tagged PQ and BT.2020: {seen:?}"
    );
    assert!(seen.frames >= 1, "{seen:?}");
    for (what, at, client) in [
        ("sRGB client", srgb_at, ImageDescription::srgb()),
        ("PQ client", pq_at, ImageDescription::bt2100_pq()),
    ] {
        let got = seen.pixel10(at.0, at.1).context("a pixel")?;
        let screen = ten_bit(&signal, at);
        let reference = expected(&client, &output).map(|v| v * 1023.0);
        let got = got.map(f64::from);
        eprintln!("{what}: 10-bit share {got:?}, screen {screen:?}, ghost-hdr {reference:?}");
        assert_close(
            &format!("{what}, 10-bit share against the screen"),
            got,
            screen,
            1.0,
        );
        assert_close(
            &format!("{what}, 10-bit share against ghost-hdr"),
            got,
            reference,
            1.5,
        );
    }

    // A consumer that does not take PQ gets the 8-bit tone-mapped picture: the SDR
    // screenshot's.
    let seen = share(&comp, None, Wants::Bgrx)?;
    let sdr = comp.screenshot(serde_json::json!({}))?;
    for at in [srgb_at, pq_at] {
        let got = seen.pixel(at.0, at.1).context("a pixel")?.map(f64::from);
        assert_close(
            "the 8-bit share",
            got,
            sdr.pixel(at.0, at.1).map(f64::from),
            2.0,
        );
    }

    // A window share of the PQ client is its signal too, in the window's own picture.
    let window = comp.wait_window("pq-client")?;
    let seen = share(&comp, window["id"].as_u64(), Wants::Pq10)?;
    assert_eq!(seen.size, Some((64, 64)), "{seen:?}");
    let got = seen.pixel10(8, 8).context("a pixel")?.map(f64::from);
    let screen = ten_bit(&signal, pq_at);
    assert_close("the PQ window's 10-bit share", got, screen, 1.0);
    Ok(())
}

/// The (R, G, B) the portal consumer read at `at`.
fn probed(report: &serde_json::Value, at: (u32, u32)) -> Result<[f64; 3]> {
    let got: Vec<f64> = report["probes"][format!("{},{}", at.0, at.1)]
        .as_array()
        .context("a probe")?
        .iter()
        .filter_map(|v| v.as_f64())
        .collect();
    got.try_into().map_err(|_| anyhow::anyhow!("{report}"))
}

#[test]
fn an_hdr_share_reaches_gstreamer_through_pipewire_1_4_as_tagged_10_bit_pq() -> Result<()> {
    if let Some(why) = ghost_tests::share_session::missing_parts() {
        anyhow::bail!("{why}: scripts/install-deps.sh installs it");
    }
    let root = ghost_tests::share_session::newer_pipewire()?;
    let home = config_home("hdr-share-pw14", true)?;
    let file = home.join("ghostcomp/config.toml");
    let text = std::fs::read_to_string(&file)? + "[capture]\nunattended = \"grant\"\n";
    std::fs::write(&file, text)?;
    let comp = Compositor::start_with_config_home(
        &["--renderer", "gles", "--output", "480x240@60"],
        &home,
    )?;
    let session = ghost_tests::share_session::ShareSession::start_with_pipewire(&comp, &root)?;
    let version = session.tool_output("pw-cli", &["info", "0"])?;
    assert!(
        version.contains("version: \"1.4"),
        "PipeWire 1.4 runs: {version}"
    );
    let _client = two_clients(&comp)?;
    let srgb_at = inside(&comp, "srgb-client")?;
    let pq_at = inside(&comp, "pq-client")?;
    settle(&comp)?;
    let output = hdr_output();
    let signal = comp.screenshot_hdr()?;

    // Tagged: the daemon hands a consumer asking for PQ the format with SMPTE ST 2084
    // and BT.2020, which 1.4 names (pw-dump there reads them).
    let seen = share(&comp, None, Wants::Pq10)?;
    assert_eq!(
        seen.format,
        Some((VideoFormat::xRGB_210LE.as_raw(), 14, 7)),
        "{seen:?}"
    );

    // GStreamer's PipeWire source, through the portal, takes the 10-bit RGB it maps
    // (r210) and reads each client's signal as the screen shows it.
    let probe = |at: (u32, u32)| format!("{},{}", at.0, at.1);
    let report = session.consume(&[
        "--format",
        "r210",
        "--seconds",
        "2",
        "--probe",
        &probe(srgb_at),
        "--probe",
        &probe(pq_at),
    ])?;
    assert_eq!(report["format"], "r210", "{report}");
    for (what, at, client) in [
        ("sRGB client", srgb_at, ImageDescription::srgb()),
        ("PQ client", pq_at, ImageDescription::bt2100_pq()),
    ] {
        let got = probed(&report, at)?;
        let reference = expected(&client, &output).map(|v| v * 1023.0);
        assert_close(
            &format!("{what} in GStreamer"),
            got,
            ten_bit(&signal, at),
            1.0,
        );
        assert_close(
            &format!("{what} in GStreamer, ghost-hdr"),
            got,
            reference,
            1.5,
        );
    }

    // A GStreamer consumer of 8-bit RGB gets the tone-mapped picture.
    let report = session.consume(&["--seconds", "2", "--probe", &probe(pq_at)])?;
    let sdr = comp.screenshot(serde_json::json!({}))?;
    let got = probed(&report, pq_at)?;
    assert_close(
        "the 8-bit GStreamer share",
        got,
        sdr.pixel(pq_at.0, pq_at.1).map(f64::from),
        2.0,
    );
    Ok(())
}

#[test]
fn screencopy_of_an_hdr_output_is_10_bit_pq_or_tone_mapped_8_bit() -> Result<()> {
    use ghost_tests::capture_client::Capture;
    use ghost_tests::wayland_client::protocol::wl_shm::Format;
    let comp = start("hdr-copy", true)?;
    let _client = two_clients(&comp)?;
    let pq_at = inside(&comp, "pq-client")?;
    settle(&comp)?;
    let signal = comp.screenshot_hdr()?;
    let sdr = comp.screenshot(serde_json::json!({}))?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    let output: WlOutput = client.bind(1..=4, ())?;
    let session = client.capture_output(&output, false)?;
    let formats = session
        .events
        .lock()
        .map(|e| e.shm_formats.clone())
        .unwrap_or_default();
    assert!(formats.contains(&Format::Xbgr2101010), "{formats:?}");
    let patience = std::time::Duration::from_secs(5);
    let Capture::Ready { width, rgba, .. } =
        client.capture_frame(&session, Format::Xbgr2101010, None, patience)?
    else {
        anyhow::bail!("no 10-bit frame");
    };
    let at = (pq_at.1 * width + pq_at.0) as usize * 4;
    let word = u32::from_le_bytes(rgba[at..at + 4].try_into()?);
    let got = [word & 1023, (word >> 10) & 1023, (word >> 20) & 1023].map(f64::from);
    let screen = ten_bit(&signal, pq_at);
    assert_close("the 10-bit screencopy", got, screen, 1.0);
    let Capture::Ready { width, rgba, .. } =
        client.capture_frame(&session, Format::Xrgb8888, None, patience)?
    else {
        anyhow::bail!("no 8-bit frame");
    };
    let at = (pq_at.1 * width + pq_at.0) as usize * 4;
    let got = [rgba[at], rgba[at + 1], rgba[at + 2]].map(f64::from);
    let want = sdr.pixel(pq_at.0, pq_at.1).map(f64::from);
    assert_close("the 8-bit screencopy, tone-mapped", got, want, 2.0);
    Ok(())
}

#[test]
fn srgb_and_pq_clients_on_an_sdr_output_match_the_cpu_reference() -> Result<()> {
    let comp = start("sdr", false)?;
    let _client = two_clients(&comp)?;
    let srgb_at = inside(&comp, "srgb-client")?;
    let pq_at = inside(&comp, "pq-client")?;
    settle(&comp)?;
    let output = ImageDescription::srgb();
    let shot = comp.screenshot(serde_json::json!({}))?;
    let px = |at: (u32, u32)| shot.pixel(at.0, at.1).map(|v| f64::from(v) / 255.0);
    assert_close("sRGB client", px(srgb_at), SIGNAL, 1.0 / 255.0);
    let pq_want = expected(&ImageDescription::bt2100_pq(), &output);
    assert_close("PQ client, tone mapped", px(pq_at), pq_want, 2.0 / 255.0);
    assert!(
        comp.screenshot_hdr().is_err(),
        "an SDR output has no HDR screenshot"
    );
    Ok(())
}

/// pixman draws every buffer as sRGB, so the protocol is not offered there: a client
/// that finds no manager leaves its pictures as they are rather than trusting a
/// conversion nobody does.
#[test]
fn colour_management_is_offered_only_where_the_renderer_converts() -> Result<()> {
    let home = config_home("offered", false)?;
    for (renderer, offered) in [("pixman", false), ("gles", true)] {
        let comp = Compositor::start_with_config_home(&["--renderer", renderer], &home)?;
        let mut client = TestClient::connect(&comp.socket_path())?;
        assert_eq!(client.color_manager().is_ok(), offered, "{renderer}");
        let outputs = comp.request(serde_json::json!({"request": "outputs"}))?;
        assert_eq!(
            outputs[0]["colour"]["surfaces_converted"], offered,
            "{renderer}"
        );
    }
    Ok(())
}

#[test]
fn the_protocol_round_trips() -> Result<()> {
    let comp = start("protocol", true)?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    let manager = client.color_manager()?;
    let supported = client.state.colour.supported.clone();
    assert_eq!(supported.intents, vec![0], "perceptual only");
    assert!(supported.features.contains(&1), "parametric");
    assert!(!supported.features.contains(&0), "no ICC");
    assert!(supported
        .transfers
        .contains(&(TransferFunction::St2084Pq as u32)));
    assert!(supported.primaries.contains(&(Primaries::Bt2020 as u32)));

    // The output says what it is driven with: PQ, BT.2020, the configured luminances.
    let output: WlOutput = client.bind(1..=4, ())?;
    client.roundtrip()?;
    let (_object, output_identity, info) = client.output_information(&manager, &output)?;
    assert_eq!(info.tf_named, Some(TransferFunction::St2084Pq as u32));
    assert_eq!(info.primaries_named, Some(Primaries::Bt2020 as u32));
    assert_eq!(info.luminances, Some((50, 600, 203)));
    assert_eq!(info.primaries.map(|p| p[0]), Some(708_000));

    // A surface on that output prefers exactly that description.
    let window = client.color_window("feedback-client", 32, 32, &[COLOUR])?;
    let (_feedback, preferred) = client.preferred(&manager, &window)?;
    assert_eq!(preferred, output_identity);

    // A client's own description becomes ready; luminances in the wrong order fail.
    let (description, ready) = client.parametric(
        &manager,
        Primaries::DisplayP3,
        TransferFunction::Gamma22,
        Some((2000, 300, 100)),
    )?;
    assert!(client.wait_ready(&ready)?.is_ok());
    let _surface = client.set_surface_description(&manager, &window, &description);
    window.surface.commit();
    client.roundtrip()?;

    // Asking for information on a client-made description is a protocol error.
    let _ = client.information(&description);
    assert!(ghost_tests::client::is_protocol_error(&client.conn));
    assert!(comp.windows().is_ok(), "the compositor survives");
    Ok(())
}

#[test]
fn icc_and_a_second_surface_object_are_protocol_errors() -> Result<()> {
    let comp = start("errors", true)?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    let manager = client.color_manager()?;
    let window = client.color_window("twice", 32, 32, &[COLOUR])?;
    let _a = manager.get_surface(&window.surface, &client.qh(), ());
    let _b = manager.get_surface(&window.surface, &client.qh(), ());
    assert!(client.roundtrip().is_err());
    assert!(ghost_tests::client::is_protocol_error(&client.conn));

    let mut client = TestClient::connect(&comp.socket_path())?;
    let manager = client.color_manager()?;
    let _icc = manager.create_icc_creator(&client.qh(), ());
    assert!(client.roundtrip().is_err());
    assert!(comp.windows().is_ok(), "the compositor survives");
    Ok(())
}

#[test]
fn switching_hdr_off_in_the_config_tells_clients() -> Result<()> {
    let home = config_home("switch", true)?;
    let comp = Compositor::start_with_config_home(
        &["--renderer", "gles", "--output", "480x240@60"],
        &home,
    )?;
    let mut client = TestClient::connect(&comp.socket_path())?;
    let manager = client.color_manager()?;
    let output: WlOutput = client.bind(1..=4, ())?;
    client.roundtrip()?;
    let (_object, before, info) = client.output_information(&manager, &output)?;
    assert_eq!(info.tf_named, Some(TransferFunction::St2084Pq as u32));
    let window = client.color_window("switch-client", 32, 32, &[COLOUR])?;
    let (_feedback, preferred) = client.preferred(&manager, &window)?;
    assert_eq!(preferred, before);

    let config = home.join("ghostcomp/config.toml");
    let tmp = home.join("ghostcomp/.config.toml.new");
    std::fs::write(&tmp, "[[output]]\nname = \"HEADLESS-1\"\nhdr = \"off\"\n")?;
    std::fs::rename(&tmp, &config)?;
    for _ in 0..500 {
        client.roundtrip()?;
        if client.state.colour.output_changes > 0
            && !client.state.colour.preferred_changes.is_empty()
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(client.state.colour.output_changes, 1);
    let (_object, after, info) = client.output_information(&manager, &output)?;
    assert_ne!(after, before);
    assert_eq!(client.state.colour.preferred_changes, vec![after]);
    assert_eq!(info.tf_named, Some(TransferFunction::Srgb as u32));
    assert_eq!(info.primaries_named, Some(Primaries::Srgb as u32));
    Ok(())
}
