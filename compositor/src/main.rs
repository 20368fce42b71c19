//! `ghostcomp`: starts the compositor, or talks to a running one (`ghostcomp msg`), or
//! checks a configuration file (`ghostcomp validate`).

mod cli;
mod edid;
mod manpage;

use std::{path::PathBuf, process::ExitCode};

use anyhow::Context;
use clap::Parser;
use smithay::reexports::{calloop::EventLoop, wayland_server::Display};
use tracing::{error, info};

use cli::{
    BackendChoice, Cli, Command, InputCommand, MsgCommand, RecordCommand, RendererArg,
    ReplayCommand, StreamCommand, VoiceCommand, VoiceMsgCommand,
};
use ghost_compositor::{
    backend,
    ipc::{self, InputRequest, Request},
    Ghost,
};

fn main() -> ExitCode {
    // Started as the stand-in for Xwayland on demand (see xwayland::on_demand).
    if ghost_compositor::xwayland::on_demand::is_stand_in() {
        let err = ghost_compositor::xwayland::on_demand::wait_then_exec();
        eprintln!("ghostcomp: cannot start Xwayland: {err}");
        return ExitCode::FAILURE;
    }
    let cli = Cli::parse();
    match cli.subcommand {
        Some(Command::Msg { json, request }) => return msg(json, request),
        Some(Command::Validate { ref file }) => return validate(file.clone()),
        Some(Command::Edid {
            ref file,
            ref connector,
            json,
        }) => {
            return match edid::report(file.as_deref(), connector.as_deref(), json) {
                Ok(text) => emit(&text),
                Err(message) => {
                    eprintln!("ghostcomp edid: {message}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::Voice { ref action }) => return voice(action),
        Some(Command::Manpages { ref dir }) => {
            return match manpage::write(dir) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("ghostcomp manpages: {err}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::Portal) => {
            init_logging();
            return match ghost_compositor::portal::run() {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    error!("{err:#}");
                    eprintln!("ghostcomp portal: {err:#}");
                    ExitCode::FAILURE
                }
            };
        }
        None => {}
    }
    init_logging();
    match run(cli) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(err) => {
            error!("{err:#}");
            eprintln!("ghostcomp: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// Runs the compositor; the exit code is the kiosk program's in kiosk mode, else 0.
fn run(cli: Cli) -> anyhow::Result<i32> {
    ghost_compositor::clients::raise_fd_limit();
    ghost_compositor::clients::remember_panic_origin();
    let socket = Ghost::bind_socket(cli.socket.as_deref())?;
    let source = ghost_compositor::settings::ConfigSource::new(cli.config.clone());
    if let Some(path) = &source.path {
        info!(path = %path.display(), "loading configuration");
    }
    // A broken file does not keep the desktop from starting: defaults apply, and the
    // problems are logged and shown on screen.
    let (config, startup_problems) = match source.load() {
        Ok(config) => (config, None),
        Err(err) => {
            tracing::warn!("configuration not loaded; using the defaults:\n{err}");
            (ghost_config::Config::default(), Some(err.to_string()))
        }
    };
    let mut event_loop: EventLoop<Ghost> =
        EventLoop::try_new().context("cannot create the event loop")?;
    let display: Display<Ghost> = Display::new().context("cannot create the Wayland display")?;
    let mut state = Ghost::new(
        display,
        event_loop.handle(),
        event_loop.get_signal(),
        config,
    )?;
    state.config_source = source;
    state.listen(socket)?;
    // Asked to stop (a terminal's Ctrl+C, systemd, a logout): leave as `msg quit` does,
    // ending the session's programs.
    ghost_compositor::session::stop_on_signals(&event_loop.handle())?;

    // Set and not empty: `WAYLAND_DISPLAY= ghostcomp` means none.
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    let in_desktop = set("WAYLAND_DISPLAY") || set("DISPLAY");
    let renderer = match cli.renderer {
        RendererArg::Auto => backend::RendererChoice::Auto,
        RendererArg::Pixman => backend::RendererChoice::Pixman,
        RendererArg::Gles => backend::RendererChoice::Gles,
    };
    let choice = match cli.backend {
        BackendChoice::Auto if in_desktop => BackendChoice::Winit,
        BackendChoice::Auto if on_virtual_terminal() => BackendChoice::Kms,
        BackendChoice::Auto => BackendChoice::Headless,
        other => other,
    };
    let choice = match choice {
        BackendChoice::Kms => match backend::kms::init(&mut state, renderer) {
            Ok(()) => BackendChoice::Kms,
            Err(err) if cli.backend == BackendChoice::Auto => {
                tracing::warn!("no KMS ({err:#}); running headless");
                BackendChoice::Headless
            }
            Err(err) => return Err(err),
        },
        other => other,
    };
    match choice {
        BackendChoice::Kms => {}
        BackendChoice::Winit => backend::winit::init(&mut state)?,
        _ => {
            let specs = if cli.outputs.is_empty() {
                vec![backend::headless::OutputSpec::default()]
            } else {
                cli.outputs.clone()
            };
            backend::headless::init_with(&mut state, &specs, renderer)?;
        }
    }
    info!(backend = state.backend.name(), "backend ready");
    if !state.backend.converts_colour() {
        info!("the renderer shows every buffer as sRGB: wp_color_manager_v1 is not offered");
        let dh = state.display_handle.clone();
        state.color_management_state.withdraw::<Ghost>(&dh);
    }

    if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR") {
        let path = ipc::socket_path(runtime.as_ref(), &state.socket_name.to_string_lossy());
        ipc::server::start(&mut state, path)?;
    } else {
        tracing::warn!("XDG_RUNTIME_DIR is not set: no IPC socket");
    }
    state.output_management_changed();
    state.watch_config();
    state.voice_config_changed();
    state.start_telemetry();
    state.telemetry_reconfigured();
    if let Some(problems) = startup_problems {
        state.config_source.last_error = Some(problems.clone());
        state.set_notification(Some(format!(
            "Configuration not loaded; using the defaults (click to dismiss)\n{problems}"
        )));
    }

    state.xwayland_start();
    if cli.session {
        state.start_login_session();
    }
    for argv in state.config.autostart.clone() {
        state.spawn(&argv);
    }
    if let Some(argv) = &cli.command {
        state.spawn(argv);
    }
    if let Some(argv) = &cli.kiosk {
        state.start_kiosk(argv)?;
    }
    // Scripts wait for this line to know the compositor is ready.
    info!(
        wayland_display = %state.socket_name.to_string_lossy(),
        ipc = ?state.ipc_socket,
        "ghostcomp ready"
    );

    // The loop ends only when asked to (quit). A source that reports an error has
    // handled what it could; the others carry on. One that keeps failing (a listening
    // socket of smithay's at the open-file limit stays readable) would spin the loop:
    // each failure costs it 10 ms, and it is logged once a second at most.
    let mut last_report: Option<std::time::Instant> = None;
    while let Err(err) = event_loop.run(None, &mut state, Ghost::after_dispatch) {
        if last_report.is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(1)) {
            tracing::error!(%err, "an event source failed; carrying on");
            last_report = Some(std::time::Instant::now());
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }

    state.end_login_session();
    state.end_children();
    if let Some(path) = &state.ipc_socket {
        ipc::server::stop(path);
    }
    info!("bye");
    Ok(state.session.exit_code)
}

/// Started from a Linux virtual terminal (a text console, not a terminal emulator) on a
/// machine with a KMS device: then the displays are ours to drive.
fn on_virtual_terminal() -> bool {
    let has_drm = std::fs::read_dir("/dev/dri")
        .map(|d| {
            d.filter_map(Result::ok)
                .any(|e| e.file_name().to_string_lossy().starts_with("card"))
        })
        .unwrap_or(false);
    if !has_drm {
        return false;
    }
    if std::env::var("XDG_SESSION_TYPE").is_ok_and(|t| t == "tty") {
        return true;
    }
    // /dev/tty1…63 are virtual terminals; pseudo-terminals are /dev/pts/N.
    std::fs::read_link("/proc/self/fd/0")
        .ok()
        .and_then(|p| p.to_str().map(str::to_owned))
        .and_then(|p| p.strip_prefix("/dev/tty").map(str::to_owned))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// `ghostcomp msg stats [--watch]`: the figures for a person (or JSON), once or every
/// second until interrupted or the compositor goes.
fn stats(json: bool, watch: bool) -> ExitCode {
    use std::io::{IsTerminal, Write};
    let terminal = std::io::stdout().is_terminal();
    loop {
        let reply = ipc::client::find_socket()
            .and_then(|socket| ipc::client::send(&socket, &Request::Stats));
        let text = match reply {
            Ok(reply) if reply.ok => match json {
                true => format!("{}\n", serde_json::to_string(&reply).unwrap_or_default()),
                false => ghost_compositor::telemetry::text::format_stats(&reply.result),
            },
            Ok(reply) => {
                eprintln!("ghostcomp msg: {}", reply.error.unwrap_or_default());
                return ExitCode::FAILURE;
            }
            Err(err) => {
                eprintln!("ghostcomp msg: {err:#}");
                return ExitCode::FAILURE;
            }
        };
        // Each round replaces the last on a terminal; a pipe gets one block (one JSON
        // line) a second.
        let clear = if watch && terminal && !json {
            "\x1b[H\x1b[2J"
        } else {
            ""
        };
        let mut out = std::io::stdout().lock();
        if out
            .write_all(format!("{clear}{text}").as_bytes())
            .and_then(|()| out.flush())
            .is_err()
        {
            return ExitCode::SUCCESS;
        }
        drop(out);
        if !watch {
            return ExitCode::SUCCESS;
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

fn msg(json: bool, command: MsgCommand) -> ExitCode {
    if let MsgCommand::Stats { watch, json: own } = command {
        return stats(json || own, watch);
    }
    let request = match command {
        MsgCommand::Stats { .. } => Request::Stats,
        MsgCommand::Overlay { state } => Request::Overlay {
            on: match state.as_str() {
                "on" => Some(true),
                "off" => Some(false),
                _ => None,
            },
        },
        MsgCommand::Version => Request::Version,
        MsgCommand::Encoders => Request::Encoders,
        MsgCommand::Outputs => Request::Outputs,
        MsgCommand::Windows => Request::Windows,
        MsgCommand::Focus { id } => Request::Focus { id },
        MsgCommand::Workspaces => Request::Workspaces,
        MsgCommand::FocusWorkspace { workspace, output } => {
            Request::FocusWorkspace { workspace, output }
        }
        MsgCommand::MoveToWorkspace { workspace, window } => {
            Request::MoveToWorkspace { workspace, window }
        }
        MsgCommand::Close { id } => Request::Close { id },
        MsgCommand::Power { output, state } => Request::Power {
            output,
            on: state == "on",
        },
        MsgCommand::Screenshot {
            output,
            region,
            hdr,
            writeback,
            file,
        } => {
            let path = if file.is_absolute() {
                file
            } else {
                match std::env::current_dir() {
                    Ok(cwd) => cwd.join(file),
                    Err(e) => {
                        eprintln!("ghostcomp msg: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            };
            Request::Screenshot {
                output,
                region,
                path,
                hdr,
                writeback,
            }
        }
        MsgCommand::Casts => Request::Casts,
        MsgCommand::CastStart {
            output,
            window,
            region,
            cursor,
        } => Request::CastStart {
            output,
            window,
            region,
            cursor: cursor.map(|c| match c.as_str() {
                "hidden" => ghost_config::CursorMode::Hidden,
                "metadata" => ghost_config::CursorMode::Metadata,
                _ => ghost_config::CursorMode::Embedded,
            }),
            requester: Some("ghostcomp msg".into()),
            portal: false,
        },
        MsgCommand::CastStop { id } => Request::CastStop { id },
        MsgCommand::Remotes => Request::Remotes,
        MsgCommand::RemoteRevoke { id } => Request::RemoteRevoke { id },
        MsgCommand::CastPick {
            output,
            window,
            region,
            cancel,
        } => Request::CastPick {
            output,
            window,
            region,
            cancel,
        },
        MsgCommand::CreateOutput { spec } => Request::CreateOutput {
            width: spec.width,
            height: spec.height,
            refresh_mhz: Some(spec.refresh_mhz),
            scale: Some(spec.scale),
        },
        MsgCommand::RemoveOutput { name } => Request::RemoveOutput { name },
        MsgCommand::Lock => Request::Lock,
        MsgCommand::Record { action } => match action {
            RecordCommand::Start {
                source,
                audio,
                file,
            } => match absolute(file) {
                Ok(path) => Request::RecordStart {
                    output: source.output,
                    window: source.window,
                    region: source.region,
                    path,
                    audio,
                },
                Err(code) => return code,
            },
            RecordCommand::Stop => Request::RecordStop,
            RecordCommand::Status => Request::RecordStatus,
        },
        MsgCommand::Replay { action } => match action {
            ReplayCommand::Save { file } => match absolute(file) {
                Ok(path) => Request::ReplaySave { path },
                Err(code) => return code,
            },
            ReplayCommand::Status => Request::ReplayStatus,
        },
        MsgCommand::Stream { action } => match action {
            StreamCommand::Start { source, audio, url } => Request::StreamStart {
                url,
                output: source.output,
                window: source.window,
                region: source.region,
                audio,
            },
            StreamCommand::Stop => Request::StreamStop,
            StreamCommand::Status => Request::StreamStatus,
        },
        MsgCommand::Voice { action } => match action {
            None | Some(VoiceMsgCommand::Status) => Request::Voice,
            Some(VoiceMsgCommand::Set { mode, echo }) => Request::VoiceSet {
                mode,
                echo_cancellation: echo.map(|e| e == "on"),
            },
        },
        MsgCommand::Reload => Request::Reload,
        MsgCommand::Quit => Request::Quit,
        MsgCommand::Input { input } => Request::Input(match input {
            InputCommand::Key { combo } => InputRequest::Key { combo },
            InputCommand::Type { text } => InputRequest::Type { text },
            InputCommand::PointerMove { x, y } => InputRequest::PointerMove { x, y },
            InputCommand::PointerMoveBy { dx, dy } => InputRequest::PointerMoveBy { dx, dy },
            InputCommand::Click { button } => InputRequest::Click { button },
            InputCommand::Press { button } => InputRequest::Press { button },
            InputCommand::Release { button } => InputRequest::Release { button },
            InputCommand::TabletMove { x, y, pressure } => InputRequest::TabletMove {
                x,
                y,
                pressure,
                tilt: None,
            },
            InputCommand::TabletTip { state } => InputRequest::TabletTip {
                down: state == "down",
            },
            InputCommand::TabletOut => InputRequest::TabletOut,
        }),
    };
    let reply = ipc::client::find_socket().and_then(|socket| ipc::client::send(&socket, &request));
    match reply {
        Ok(reply) => {
            if json {
                emit(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(&reply).unwrap_or_default()
                ));
            } else if let Some(err) = &reply.error {
                eprintln!("ghostcomp msg: {err}");
            } else if !reply.result.is_null() {
                emit(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(&reply.result).unwrap_or_default()
                ));
            }
            if reply.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(err) => {
            eprintln!("ghostcomp msg: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// `ghostcomp voice …`: the voice chain offline.
fn voice(action: &VoiceCommand) -> ExitCode {
    let VoiceCommand::Process {
        mode,
        high_pass,
        gain_control,
        echo_reference,
        input,
        output,
    } = action;
    let Some(mode) = ghost_voice::Mode::from_name(mode) else {
        eprintln!("ghostcomp voice: unknown mode {mode}");
        return ExitCode::FAILURE;
    };
    let options = ghost_voice::Options {
        high_pass: *high_pass,
        gain_control: *gain_control,
        echo_cancel: echo_reference.is_some(),
    };
    let mut chain = match ghost_voice::Chain::new(mode, options) {
        Ok(chain) => chain,
        Err(e) => {
            eprintln!("ghostcomp voice: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = ghost_voice::wav::read(input).and_then(|samples| {
        let far = match echo_reference {
            Some(path) => ghost_voice::wav::read(path)?,
            None => Vec::new(),
        };
        let cleaned = chain.process_all_with_reference(&samples, &far);
        ghost_voice::wav::write(output, &cleaned)
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ghostcomp voice: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `file` made absolute against the current directory (the compositor has its own).
fn absolute(file: PathBuf) -> Result<PathBuf, ExitCode> {
    if file.is_absolute() {
        return Ok(file);
    }
    std::env::current_dir()
        .map(|cwd| cwd.join(file))
        .map_err(|e| {
            eprintln!("ghostcomp msg: {e}");
            ExitCode::FAILURE
        })
}

fn validate(file: Option<PathBuf>) -> ExitCode {
    let Some(path) = file.or_else(ghost_config::Config::default_path) else {
        println!("ok (no configuration file; built-in defaults)");
        return ExitCode::SUCCESS;
    };
    match ghost_config::Config::load(&path) {
        Ok(_) => {
            println!("ok");
            ExitCode::SUCCESS
        }
        Err(err) => {
            println!("{err}");
            ExitCode::FAILURE
        }
    }
}

/// Prints `text`; a closed pipe (`| head`) is not an error worth a panic.
pub fn emit(text: &str) -> ExitCode {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ghostcomp: {e}");
            ExitCode::FAILURE
        }
    }
}
