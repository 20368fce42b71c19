//! End to end: a real VNC server (wayvnc, through wlr-screencopy, the virtual keyboard
//! and the virtual pointer) and our own RFB viewer. The viewer sees the screen, types
//! into foot, clicks a window to focus it, and a compositor binding pressed remotely
//! works as a local one does. And the RemoteDesktop portal through Debian's
//! xdg-desktop-portal: a combined share-and-control session types, clicks where its
//! stream shows a window, and ends when the user revokes it.

use std::{net::TcpListener, time::Duration};

use anyhow::{ensure, Context, Result};
use ghost_tests::{
    client::TestClient,
    require_program,
    rfb::Viewer,
    share_session::{pick_when_asked, ShareSession},
    wait_for, Compositor,
};
use serde_json::{json, Value};

const RED: u32 = 0xff_d0_20_20;

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn window(comp: &Compositor, app_id: &str) -> Option<Value> {
    comp.windows()
        .ok()?
        .into_iter()
        .find(|w| w["app_id"] == app_id)
}

fn rect(w: &Value) -> (i64, i64, i64, i64) {
    let g = &w["geometry"];
    let n = |k: &str| g[k].as_i64().unwrap_or(0);
    // The title bar above a window with server-side decorations covers too.
    let bar = if w["server_side_decorations"] == true {
        24
    } else {
        0
    };
    (n("x"), n("y") - bar, n("width"), n("height") + bar)
}

/// A point of `below` that `above` does not cover.
fn visible_point(below: &Value, above: &Value) -> Option<(u16, u16)> {
    let (bx, by, bw, bh) = rect(below);
    let (ax, ay, aw, ah) = rect(above);
    let inside = |x: i64, y: i64| x >= ax && x < ax + aw && y >= ay && y < ay + ah;
    (0..bh / 10)
        .flat_map(|j| (0..bw / 10).map(move |i| (bx + 5 + i * 10, by + 5 + j * 10)))
        .find(|&(x, y)| !inside(x, y))
        .map(|(x, y)| (x as u16, y as u16))
}

/// Starts foot running `cat` into a file, waits until it has the keyboard, and returns
/// the file's path.
fn terminal_typing_into_a_file(comp: &mut Compositor) -> Result<std::path::PathBuf> {
    require_program("foot")?;
    let typed = comp.runtime_dir().join("typed.txt");
    let mut foot = comp.command("foot");
    foot.args(["--config=/dev/null", "--app-id=term", "sh", "-c"])
        .arg(format!("cat > {}", typed.display()));
    comp.spawn_client(foot)?;
    wait_for(Duration::from_secs(20), "foot focused", || {
        window(comp, "term").filter(|w| w["focused"] == true)
    })?;
    Ok(typed)
}

/// Starts wayvnc on the headless output with `args` and connects a viewer to it.
fn vnc(comp: &mut Compositor, args: &[&str]) -> Result<Viewer> {
    require_program("wayvnc")?;
    let port = free_port()?;
    let home = comp.runtime_dir().join("vnc-config");
    std::fs::create_dir_all(&home)?;
    let mut vnc = comp.command("wayvnc");
    vnc.env("XDG_CONFIG_HOME", &home).args(args).args([
        "--output=HEADLESS-1",
        "127.0.0.1",
        &port.to_string(),
    ]);
    comp.spawn_client(vnc)?;
    Viewer::connect(port, Duration::from_secs(20))
}

#[test]
fn a_vnc_viewer_sees_the_screen_types_clicks_and_uses_bindings() -> Result<()> {
    let mut comp = Compositor::start(&["--output", "1280x720@60"])?;
    let mut app = TestClient::connect(&comp.socket_path())?;
    let _red = app.color_window("red", 300, 200, &[RED])?;
    let red = comp.wait_window("red")?;
    let typed = terminal_typing_into_a_file(&mut comp)?;
    let mut viewer = vnc(&mut comp, &[])?;
    ensure!((viewer.width, viewer.height) == (1280, 720));

    // The picture: the red window where ghostcomp says it is (at a point the terminal,
    // opened after it, does not cover).
    let (rx, ry) = visible_point(&red, &window(&comp, "term").context("the terminal")?)
        .context("no part of the red window is in sight")?;
    wait_for(
        Duration::from_secs(10),
        "the red window in the VNC picture",
        || {
            viewer.refresh().ok()?;
            (viewer.pixel(rx, ry) == [0xd0, 0x20, 0x20]).then_some(())
        },
    )?;

    // Typing reaches the focused terminal's shell.
    viewer.type_text("hello from vnc\n")?;
    wait_for(Duration::from_secs(10), "the typed line", || {
        let text = std::fs::read_to_string(&typed).ok()?;
        text.contains("hello from vnc").then_some(text)
    })?;

    // A click focuses the window under it.
    viewer.click(rx, ry)?;
    wait_for(Duration::from_secs(10), "the red window focused", || {
        window(&comp, "red").filter(|w| w["focused"] == true)
    })?;

    // Super+Return, pressed remotely, is the compositor's terminal binding.
    let before = comp.windows()?.len();
    viewer.key(0xffeb, true)?; // Super_L
    viewer.key(0xff0d, true)?; // Return
    viewer.key(0xff0d, false)?;
    viewer.key(0xffeb, false)?;
    wait_for(
        Duration::from_secs(20),
        "a terminal from the binding",
        || {
            let now = comp.windows().ok()?.len();
            (now > before).then_some(())
        },
    )
    .context("the Super+Return binding did not act through the virtual keyboard")?;
    Ok(())
}

#[test]
fn a_vnc_servers_us_keymap_types_the_right_letters_into_a_german_seat() -> Result<()> {
    // On a German layout Y and Z swap places: passing the server's keycodes through
    // unread would type "yz" for "zy".
    let home = std::env::temp_dir().join(format!("ghost-remote-de-{}", std::process::id()));
    std::fs::create_dir_all(home.join("ghostcomp"))?;
    std::fs::write(
        home.join("ghostcomp/config.toml"),
        "[input]\nxkb_layout = \"de\"\n",
    )?;
    let mut comp = Compositor::start_with_config_home(&["--output", "1280x720@60"], &home)?;
    let typed = terminal_typing_into_a_file(&mut comp)?;
    let mut viewer = vnc(&mut comp, &["--keyboard=us"])?;
    viewer.type_text("zyZY\n")?;
    let text = wait_for(Duration::from_secs(10), "the typed line", || {
        std::fs::read_to_string(&typed)
            .ok()
            .filter(|t| t.ends_with('\n'))
    })?;
    ensure!(text == "zyZY\n", "typed {text:?}");
    std::fs::remove_dir_all(&home).ok();
    Ok(())
}

#[test]
fn a_vnc_viewer_sees_the_pointer_move_over_a_still_desktop() -> Result<()> {
    // wayvnc draws the pointer into its picture (--render-cursor) through screencopy
    // frames that wait for a change: a pointer moving over an otherwise still desktop
    // must answer them.
    let mut comp = Compositor::start(&["--output", "1280x720@60"])?;
    let mut viewer = vnc(&mut comp, &["--render-cursor", "--max-fps=60"])?;
    viewer.pointer(4, 4, 0)?;
    std::thread::sleep(Duration::from_millis(300));
    viewer.refresh()?;
    let (x, y) = (640, 300);
    let background = viewer.pixel(x + 12, y + 12);
    let shows =
        |v: &Viewer| (y..y + 24).any(|py| (x..x + 24).any(|px| v.pixel(px, py) != background));
    ensure!(!shows(&viewer), "the spot is not empty desktop");
    viewer.pointer(x + 2, y + 2, 0)?;
    wait_for(
        Duration::from_secs(5),
        "the pointer in the VNC picture",
        || {
            viewer.refresh_incremental().ok()?;
            shows(&viewer).then_some(())
        },
    )?;
    Ok(())
}

/// The remote-control indicator's middle on a 1280-wide output at scale 1: an amber
/// square left of the sharing indicator.
const REMOTE_DOT: (u32, u32) = (1245, 15);
const AMBER: [u8; 3] = [0xff, 0xa6, 0x00];

/// ghostcomp at 1280x720 with `config`, and the portal session around it.
fn portal_desktop(name: &str, config: &str) -> Result<(Compositor, ShareSession)> {
    if let Some(why) = ghost_tests::share_session::missing_parts() {
        anyhow::bail!("{why}: scripts/install-deps.sh installs it");
    }
    let home = std::env::temp_dir().join(format!("ghost-remote-{name}-{}", std::process::id()));
    std::fs::create_dir_all(home.join("ghostcomp"))?;
    std::fs::write(home.join("ghostcomp/config.toml"), config)?;
    let comp = Compositor::start_with_config_home(&["--output", "1280x720@60"], &home)?;
    let session = ShareSession::start(&comp)?;
    Ok((comp, session))
}

fn remote_client(session: &ShareSession, args: &[&str]) -> Result<Value> {
    session.run_script("tests/portal/remote_client.py", args)
}

fn pixel(comp: &Compositor, (x, y): (u32, u32)) -> Result<[u8; 3]> {
    let shot = comp.screenshot(json!({}))?;
    let p = shot.pixel(x, y);
    Ok([p[0], p[1], p[2]])
}

#[test]
fn a_portal_remote_desktop_sends_every_kind_of_input_and_ends_when_revoked() -> Result<()> {
    let (mut comp, session) = portal_desktop("revoke", "")?;
    let mut app = TestClient::connect(&comp.socket_path())?;
    let _red = app.color_window("red", 300, 200, &[RED])?;
    let red = comp.wait_window("red")?;
    let typed = terminal_typing_into_a_file(&mut comp)?;
    let terminal = window(&comp, "term").context("the terminal")?;
    let (rx, ry) = visible_point(&red, &terminal).context("no part of the red window shows")?;
    let (tx, ty) = visible_point(&terminal, &red).context("no part of the terminal shows")?;

    // The user grants the request at the prompt (which names the control too).
    let picker = pick_when_asked(
        &comp,
        vec!["cast-pick".into(), "--output".into(), "HEADLESS-1".into()],
    );
    let scenario = format!("{rx},{ry},{tx},{ty}");
    let after = format!("{rx},{ry}");
    let report = std::thread::scope(|scope| -> Result<Value> {
        let client = scope.spawn(|| {
            remote_client(
                &session,
                &[
                    "--devices",
                    "7",
                    "--garbage",
                    "--scenario",
                    &scenario,
                    "--wait-closed",
                    "30",
                    "--click-after-close",
                    &after,
                ],
            )
        });
        picker
            .join()
            .map_err(|_| anyhow::anyhow!("the picker panicked"))??;
        // Every kind of input did its part (see remote_client.py's scenario): keysyms
        // typed into the focused terminal (the capital through Shift); absolute and
        // relative motion and a click on the stream's picture took focus to the red
        // window, so the keycodes typed then went there; a finger's tap brought focus
        // back (on the terminal's title bar, which the compositor draws) and the last
        // keycodes reached the terminal.
        let text = wait_for(Duration::from_secs(20), "the typed lines", || {
            let text = std::fs::read_to_string(&typed).ok()?;
            text.contains("ok\n").then_some(text)
        })
        .map_err(|e| {
            let text = std::fs::read_to_string(&typed).unwrap_or_default();
            anyhow::anyhow!("{e}: the terminal read {text:?}")
        })?;
        ensure!(text == "Hello portal\nok\n", "the terminal read {text:?}");
        ensure!(
            window(&comp, "term").is_some_and(|w| w["focused"] == true),
            "the tap focused the terminal"
        );
        let remotes = comp.request(json!({"request": "remotes"}))?;
        ensure!(
            remotes[0]["keyboard"] == true && remotes[0]["pointer"] == true,
            "{remotes}"
        );
        ensure!(
            remotes[0]["touchscreen"] == true && remotes[0]["events"].as_u64() >= Some(40),
            "{remotes}"
        );
        ensure!(pixel(&comp, REMOTE_DOT)? == AMBER, "the indicator shows");
        // The user takes control back.
        let out = comp.msg_cli(&["remote-revoke"])?;
        ensure!(out.status.success(), "{out:?}");
        client
            .join()
            .map_err(|_| anyhow::anyhow!("the client panicked"))?
    })?;
    ensure!(report["start"] == 0 && report["devices"] == 7, "{report}");
    ensure!(
        report["errors"] == json!([]),
        "xdg-desktop-portal refused input: {report}"
    );
    ensure!(report["size"] == json!([1280, 720]), "{report}");
    ensure!(report["closed"] == true, "the app heard Closed: {report}");
    // The session's share ended with it, and so did the indicator.
    wait_for(Duration::from_secs(5), "the share to end", || {
        let casts = comp.request(json!({"request": "casts"})).ok()?;
        casts.as_array()?.is_empty().then_some(())
    })?;
    ensure!(comp.request(json!({"request": "remotes"}))? == json!([]));
    ensure!(pixel(&comp, REMOTE_DOT)? != AMBER, "the indicator is gone");
    // The click on the red window sent after the revocation went nowhere.
    std::thread::sleep(Duration::from_millis(300));
    ensure!(
        window(&comp, "term").is_some_and(|w| w["focused"] == true),
        "{report}"
    );
    Ok(())
}

#[test]
fn a_granted_remote_desktop_restores_without_asking_and_unattended_never_grants_it() -> Result<()> {
    let (mut comp, session) = portal_desktop("restore", "[capture]\nunattended = \"grant\"\n")?;
    let typed = terminal_typing_into_a_file(&mut comp)?;
    // Unattended "grant" shares screens alone: control still asks, and a refusal
    // leaves the app without it.
    let refuse = pick_when_asked(&comp, vec!["cast-pick".into(), "--cancel".into()]);
    let refused = remote_client(&session, &["--type", "no\n"])?;
    refuse
        .join()
        .map_err(|_| anyhow::anyhow!("the picker panicked"))??;
    ensure!(refused["start"] == 1, "refused at the prompt: {refused}");

    // Debian 12's xdg-desktop-portal (RemoteDesktop version 1) keeps no restore data
    // for remote desktops; the backend is called as newer ones call it.
    let grant = pick_when_asked(&comp, vec!["cast-pick".into()]);
    let first = remote_client(&session, &["--direct", "--devices", "1", "--type", "one\n"])?;
    grant
        .join()
        .map_err(|_| anyhow::anyhow!("the picker panicked"))??;
    let data = first["restore_data"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    ensure!(first["start"] == 0 && !data.is_empty(), "{first}");
    // Nobody answers a prompt this time.
    let second = remote_client(
        &session,
        &[
            "--direct",
            "--devices",
            "1",
            "--restore-data",
            &data,
            "--type",
            "two\n",
        ],
    )?;
    ensure!(second["start"] == 0 && second["devices"] == 1, "{second}");
    let text = wait_for(Duration::from_secs(10), "both lines", || {
        std::fs::read_to_string(&typed)
            .ok()
            .filter(|t| t.contains("two\n"))
    })?;
    ensure!(
        text == "one\ntwo\n",
        "only granted sessions typed: {text:?}"
    );
    Ok(())
}

/// Debian 13's libei, unpacked by `scripts/libei.sh` (`scripts/install-deps.sh` runs it).
fn libei() -> Result<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/libei/usr/lib/x86_64-linux-gnu/libei.so.1");
    ensure!(
        path.exists(),
        "{} is missing: run scripts/libei.sh target/libei",
        path.display()
    );
    Ok(path.to_string_lossy().into_owned())
}

#[test]
fn a_libei_client_types_and_clicks_through_connect_to_eis_until_revoked() -> Result<()> {
    let libei = libei()?;
    let (mut comp, session) = portal_desktop("eis", "")?;
    let mut app = TestClient::connect(&comp.socket_path())?;
    let _red = app.color_window("red", 300, 200, &[RED])?;
    let red = comp.wait_window("red")?;
    let typed = terminal_typing_into_a_file(&mut comp)?;
    let terminal = window(&comp, "term").context("the terminal")?;
    let (rx, ry) = visible_point(&red, &terminal).context("no part of the red window shows")?;

    // The user grants control at the prompt (a yes/no question: no share here).
    let picker = pick_when_asked(&comp, vec!["cast-pick".into()]);
    let click = format!("{rx},{ry}");
    let report = std::thread::scope(|scope| -> Result<Value> {
        let client = scope.spawn(|| {
            session.run_script(
                "tests/portal/eis_client.py",
                &[
                    "--libei",
                    &libei,
                    "--type",
                    "hi eis\n",
                    "--click",
                    &click,
                    "--wait-disconnect",
                    "30",
                ],
            )
        });
        picker
            .join()
            .map_err(|_| anyhow::anyhow!("the picker panicked"))??;
        // libei's keys reach the focused terminal; its absolute pointer, placed in
        // desktop coordinates (the device's regions are the outputs), clicks the red
        // window there.
        wait_for(Duration::from_secs(20), "the typed line", || {
            let text = std::fs::read_to_string(&typed).ok()?;
            text.contains("hi eis\n").then_some(())
        })?;
        wait_for(Duration::from_secs(10), "the red window focused", || {
            window(&comp, "red").filter(|w| w["focused"] == true)
        })?;
        ensure!(pixel(&comp, REMOTE_DOT)? == AMBER, "the indicator shows");
        // The user's binding takes control back.
        comp.input(json!({"action": "key", "combo": "Super+Shift+Escape"}))?;
        client
            .join()
            .map_err(|_| anyhow::anyhow!("the client panicked"))?
    })?;
    ensure!(
        report["start"] == 0 && report["connected"] == true,
        "{report}"
    );
    ensure!(
        report["capabilities"] == json!(["absolute", "keyboard", "pointer"]),
        "a keyboard and pointer grant offers those: {report}"
    );
    // The keyboard comes with the seat's xkb keymap (type 1), for clients that type
    // text by symbol.
    ensure!(
        report["keymap"]["type"] == 1
            && report["keymap"]["head"]
                .as_str()
                .is_some_and(|h| h.starts_with("xkb_keymap")),
        "the keyboard's keymap: {report}"
    );
    ensure!(
        report["disconnected"] == true,
        "Super+Shift+Escape disconnects the libei client: {report}"
    );
    ensure!(comp.request(json!({"request": "remotes"}))? == json!([]));

    // A keyboard-only grant offers libei a keyboard alone.
    let picker = pick_when_asked(&comp, vec!["cast-pick".into()]);
    let keys_only = session.run_script(
        "tests/portal/eis_client.py",
        &["--libei", &libei, "--devices", "1"],
    )?;
    picker
        .join()
        .map_err(|_| anyhow::anyhow!("the picker panicked"))??;
    ensure!(
        keys_only["capabilities"] == json!(["keyboard"]),
        "{keys_only}"
    );
    Ok(())
}
