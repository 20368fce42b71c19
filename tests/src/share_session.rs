//! A desktop session for screen-sharing tests: a private D-Bus session bus, PipeWire
//! and WirePlumber, ghostcomp's portal backend and Debian's xdg-desktop-portal, all
//! around a running ghostcomp, and the GStreamer consumer in `tests/portal` that asks
//! the ScreenCast portal for a stream the way browsers and OBS do.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::{wait_for, Compositor};

const XDG_DESKTOP_PORTAL: &str = "/usr/libexec/xdg-desktop-portal";
const PYTHON: &str = "/usr/bin/python3";

/// Answers the share prompt from a script (`ghostcomp msg ARGS`, such as `cast-pick
/// --output HEADLESS-1`) as soon as one waits.
pub fn pick_when_asked(
    comp: &Compositor,
    args: Vec<String>,
) -> std::thread::JoinHandle<Result<()>> {
    let ipc = comp
        .runtime_dir()
        .join(format!("ghostcomp.{}.sock", comp.socket()));
    std::thread::spawn(move || -> Result<()> {
        let bin = crate::ghostcomp_bin();
        wait_for(Duration::from_secs(30), "the prompt", || {
            Command::new(&bin)
                .arg("msg")
                .args(&args)
                .env("GHOSTCOMP_SOCKET", &ipc)
                .status()
                .ok()?
                .success()
                .then_some(())
        })
    })
}

/// The session's helper processes, killed on drop.
pub struct ShareSession {
    children: Vec<(String, Child)>,
    bus: String,
    runtime_dir: PathBuf,
    ghostcomp_ipc: PathBuf,
    /// A PipeWire unpacked beside the system's (see [`newer_pipewire`]) that the session
    /// runs instead, with its tools and GStreamer elements.
    pipewire_root: Option<PathBuf>,
}

/// PipeWire 1.4 as `scripts/pipewire-newer.sh` unpacks it (`scripts/install-deps.sh`
/// does): its SPA knows the PQ transfer and BT.2020 primaries by name, and its
/// GStreamer source maps 10-bit RGB.
pub fn newer_pipewire() -> Result<PathBuf> {
    let root = repo_file("target/pipewire-1.4");
    if !root.join("usr/bin/pipewire").exists() {
        bail!(
            "{} has no PipeWire 1.4: run scripts/pipewire-newer.sh target/pipewire-1.4",
            root.display()
        );
    }
    Ok(root)
}

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

/// Whether this machine has what a share session needs; the reason when not.
pub fn missing_parts() -> Option<String> {
    for program in ["pipewire", "wireplumber", "dbus-daemon", "dbus-send"] {
        if crate::require_program(program).is_err() {
            return Some(format!("{program} is not installed"));
        }
    }
    for path in [XDG_DESKTOP_PORTAL, PYTHON] {
        if !Path::new(path).exists() {
            return Some(format!("{path} is missing"));
        }
    }
    let gi = Command::new(PYTHON)
        .args(["-c", "import gi, dbus; gi.require_version('Gst', '1.0')"])
        .status();
    if !gi.is_ok_and(|s| s.success()) {
        return Some(
            "python3-gi, python3-dbus or GStreamer's introspection data are missing".into(),
        );
    }
    None
}

impl ShareSession {
    /// Starts the bus, PipeWire, WirePlumber, the portal backend and xdg-desktop-portal
    /// around `comp`.
    pub fn start(comp: &Compositor) -> Result<Self> {
        Self::start_with(comp, None)
    }

    /// As [`ShareSession::start`], with the PipeWire unpacked at `root` (its daemon,
    /// libraries, tools and GStreamer elements) instead of the system's.
    pub fn start_with_pipewire(comp: &Compositor, root: &Path) -> Result<Self> {
        Self::start_with(comp, Some(root.to_path_buf()))
    }

    fn start_with(comp: &Compositor, pipewire_root: Option<PathBuf>) -> Result<Self> {
        let runtime_dir = comp.runtime_dir().to_path_buf();
        let mut session = Self {
            children: Vec::new(),
            bus: String::new(),
            runtime_dir: runtime_dir.clone(),
            ghostcomp_ipc: runtime_dir.join(format!("ghostcomp.{}.sock", comp.socket())),
            pipewire_root,
        };
        let mut dbus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
            .env("XDG_RUNTIME_DIR", &runtime_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start dbus-daemon")?;
        let mut address = String::new();
        if let Some(out) = dbus.stdout.take() {
            BufReader::new(out).read_line(&mut address)?;
        }
        session.children.push(("dbus-daemon".into(), dbus));
        session.bus = address.trim().to_string();
        anyhow::ensure!(!session.bus.is_empty(), "dbus-daemon gave no address");

        session.spawn("pipewire", session.command("pipewire"))?;
        wait_for(Duration::from_secs(10), "PipeWire's socket", || {
            runtime_dir.join("pipewire-0").exists().then_some(())
        })?;
        session.spawn("wireplumber", session.command("wireplumber"))?;
        let mut backend = session.command(&crate::ghostcomp_bin().to_string_lossy());
        backend
            .arg("portal")
            .env("GHOSTCOMP_SOCKET", &session.ghostcomp_ipc);
        session.spawn("ghostcomp-portal", backend)?;
        session.wait_for_name("org.freedesktop.impl.portal.desktop.ghost")?;
        let mut xdp = session.command(XDG_DESKTOP_PORTAL);
        xdp.arg("-r")
            .env("XDG_CURRENT_DESKTOP", "ghost")
            .env("XDG_DESKTOP_PORTAL_DIR", repo_file("data/portal"));
        session.spawn("xdg-desktop-portal", xdp)?;
        session.wait_for_name("org.freedesktop.portal.Desktop")?;
        Ok(session)
    }

    /// A command set up to run in the session (its bus, runtime directory, PipeWire).
    pub fn command(&self, program: &str) -> Command {
        let own = self
            .pipewire_root
            .as_ref()
            .map(|root| root.join("usr/bin").join(program))
            .filter(|path| path.exists());
        let mut cmd = match own {
            Some(path) => Command::new(path),
            None => Command::new(program),
        };
        if let Some(root) = &self.pipewire_root {
            let lib = root.join("usr/lib/x86_64-linux-gnu");
            cmd.env("LD_LIBRARY_PATH", &lib)
                .env("PIPEWIRE_MODULE_DIR", lib.join("pipewire-0.3"))
                .env("SPA_PLUGIN_DIR", lib.join("spa-0.2"))
                .env("PIPEWIRE_CONFIG_DIR", root.join("usr/share/pipewire"))
                .env("GST_PLUGIN_SYSTEM_PATH", root.join("gstreamer-1.0"))
                .env(
                    "GST_REGISTRY",
                    self.runtime_dir.join("gstreamer-registry.bin"),
                );
        }
        cmd.env("XDG_RUNTIME_DIR", &self.runtime_dir)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus)
            .env("HOME", &self.runtime_dir)
            .env("XDG_CONFIG_HOME", self.runtime_dir.join("config"))
            .env("XDG_DATA_HOME", self.runtime_dir.join("data"))
            .env("GHOSTCOMP_SOCKET", &self.ghostcomp_ipc)
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("DISPLAY")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs a PipeWire tool (`pw-link`, `pw-cli`, `pw-metadata`, …) in the session and
    /// gives its output; an error with its stderr where it fails.
    pub fn tool_output(&self, program: &str, args: &[&str]) -> Result<String> {
        let out = self.command(program).args(args).output()?;
        if !out.status.success() {
            bail!(
                "{program} {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn spawn(&mut self, name: &str, mut cmd: Command) -> Result<()> {
        let log = std::fs::File::create(self.runtime_dir.join(format!("{name}.log")))?;
        let child = cmd
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        self.children.push((name.into(), child));
        Ok(())
    }

    fn wait_for_name(&self, name: &str) -> Result<()> {
        let up = wait_for(Duration::from_secs(15), name, || {
            let out = self
                .command("dbus-send")
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/",
                    "org.freedesktop.DBus.NameHasOwner",
                    &format!("string:{name}"),
                ])
                .output()
                .ok()?;
            String::from_utf8_lossy(&out.stdout)
                .contains("boolean true")
                .then_some(())
        });
        if up.is_err() {
            bail!("{name} never appeared on the bus; logs:\n{}", self.logs());
        }
        Ok(())
    }

    /// Kills one helper (`ghostcomp-portal`, `pipewire`, …) as a crash would.
    pub fn kill(&mut self, name: &str) {
        for (n, child) in &mut self.children {
            if n == name {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    /// Every helper's log, for failure messages.
    pub fn logs(&self) -> String {
        let mut all = String::new();
        for (name, _) in &self.children {
            let text = std::fs::read_to_string(self.runtime_dir.join(format!("{name}.log")))
                .unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(15).collect();
            all.push_str(&format!("--- {name}\n"));
            for line in tail.iter().rev() {
                all.push_str(line);
                all.push('\n');
            }
        }
        all
    }

    /// Runs the portal consumer (`tests/portal/cast_consumer.py --portal`) with `args`
    /// and returns its JSON report.
    pub fn consume(&self, args: &[&str]) -> Result<Value> {
        let mut all = vec!["--portal"];
        all.extend_from_slice(args);
        self.run_script("tests/portal/cast_consumer.py", &all)
    }

    /// Runs one of the repository's Python scripts in the session and reads the JSON
    /// object it prints.
    pub fn run_script(&self, script: &str, args: &[&str]) -> Result<Value> {
        let out = self
            .command(PYTHON)
            .arg(repo_file(script))
            .args(args)
            .output()
            .with_context(|| format!("cannot run {script}"))?;
        if !out.status.success() {
            bail!(
                "{script} failed: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                self.logs()
            );
        }
        serde_json::from_slice(&out.stdout).with_context(|| {
            format!(
                "{script} printed {:?}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// Whether the helper `name` (`ghostcomp-portal`, `pipewire`, …) is still running.
    pub fn is_running(&mut self, name: &str) -> bool {
        self.children
            .iter_mut()
            .any(|(n, child)| n == name && matches!(child.try_wait(), Ok(None)))
    }
}

impl Drop for ShareSession {
    fn drop(&mut self) {
        for (_, child) in self.children.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
