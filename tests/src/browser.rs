//! Real browsers as screen-share consumers: Debian's Chromium (the WebRTC capturer of
//! Chrome, Edge, Discord, Slack, Teams and every Electron app) and Firefox ESR (its own
//! copy), started on a running ghostcomp inside a [`ShareSession`], showing
//! `tests/portal/share.html`, whose title reports what the shared track delivers.

use std::{
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Stdio},
    time::Duration,
};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::{share_session::ShareSession, wait_for, Compositor};

/// Which browser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Chromium,
    Firefox,
}

impl Kind {
    fn program(self) -> &'static str {
        match self {
            Kind::Chromium => "/usr/bin/chromium",
            Kind::Firefox => "/usr/bin/firefox-esr",
        }
    }

    /// The app_id its window has.
    pub fn app_id(self) -> &'static str {
        match self {
            Kind::Chromium => "chromium",
            Kind::Firefox => "firefox-esr",
        }
    }
}

/// A running browser, killed (with every process it started) on drop.
pub struct Browser {
    kind: Kind,
    child: Child,
    log: PathBuf,
}

/// Whether `kind` is installed; why not when it is not.
pub fn missing(kind: Kind) -> Option<String> {
    (!Path::new(kind.program()).exists()).then(|| format!("{} is not installed", kind.program()))
}

/// The test page with `query` (without the `?`).
pub fn page(query: &str) -> String {
    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("portal/share.html");
    format!("file://{}?{query}", page.display())
}

impl Browser {
    /// Starts `kind` on `comp`'s display, inside `session` (its bus, PipeWire and
    /// portal), showing `url`, with a fresh profile.
    pub fn launch(
        kind: Kind,
        comp: &Compositor,
        session: &ShareSession,
        url: &str,
    ) -> Result<Self> {
        if let Some(why) = missing(kind) {
            bail!("{why}: scripts/install-deps.sh installs it");
        }
        let profile = comp
            .runtime_dir()
            .join(format!("{}-profile", kind.app_id()));
        std::fs::create_dir_all(&profile)?;
        let log = comp.runtime_dir().join(format!("{}.log", kind.app_id()));
        let mut cmd = session.command(kind.program());
        cmd.env("WAYLAND_DISPLAY", comp.socket())
            .env("XDG_SESSION_TYPE", "wayland")
            .env("XDG_CURRENT_DESKTOP", "ghost");
        match kind {
            Kind::Chromium => {
                cmd.args([
                    "--ozone-platform=wayland",
                    // The test machine runs as root, where Chromium's sandbox cannot start.
                    "--no-sandbox",
                    "--no-first-run",
                    "--no-default-browser-check",
                    "--disable-gpu",
                    // Share what the portal grants without Chromium's own picker.
                    "--use-fake-ui-for-media-stream",
                    "--auto-select-desktop-capture-source=Entire screen",
                    "--enable-features=WebRTCPipeWireCapturer",
                    "--enable-logging=stderr",
                    "--vmodule=*screencast*=1",
                ])
                .arg(format!("--user-data-dir={}", profile.display()))
                .arg(url);
            }
            Kind::Firefox => {
                // Prompts and first-run pages off; getDisplayMedia granted once clicked.
                std::fs::write(
                    profile.join("user.js"),
                    [
                        "user_pref(\"media.navigator.permission.disabled\", true);",
                        "user_pref(\"media.webrtc.capture.allow-pipewire\", true);",
                        "user_pref(\"browser.shell.checkDefaultBrowser\", false);",
                        "user_pref(\"browser.aboutwelcome.enabled\", false);",
                        "user_pref(\"datareporting.policy.dataSubmissionEnabled\", false);",
                        "user_pref(\"toolkit.telemetry.reportingpolicy.firstRun\", false);",
                        "user_pref(\"browser.startup.homepage_override.mstone\", \"ignore\");",
                        "",
                    ]
                    .join("\n"),
                )?;
                cmd.env("MOZ_ENABLE_WAYLAND", "1")
                    .args(["--no-remote", "--new-instance", "--profile"])
                    .arg(&profile)
                    .arg(url);
            }
        }
        let child = cmd
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .with_context(|| format!("cannot start {}", kind.program()))?;
        Ok(Self { kind, child, log })
    }

    /// The browser's window, once it has one.
    pub fn window(&self, comp: &Compositor) -> Result<Value> {
        comp.wait_window(self.kind.app_id())
    }

    /// The page's latest report, read from the window title as `ghostcomp msg windows`
    /// prints it.
    pub fn report(&self, comp: &Compositor) -> Result<Option<Value>> {
        let out = comp.msg_cli(&["windows"])?;
        if !out.status.success() {
            bail!(
                "ghostcomp msg windows: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let windows: Value = serde_json::from_slice(&out.stdout)?;
        Ok(windows
            .as_array()
            .into_iter()
            .flatten()
            .filter(|w| w["app_id"] == self.kind.app_id())
            .filter_map(|w| parse_title(w["title"].as_str()?))
            .next())
    }

    /// Waits until the page reports something `ready` accepts, and returns it.
    pub fn wait_report(
        &self,
        comp: &Compositor,
        within: Duration,
        what: &str,
        mut ready: impl FnMut(&Value) -> bool,
    ) -> Result<Value> {
        let mut last = None;
        let found = wait_for(within, what, || {
            let report = self.report(comp).ok()??;
            if ready(&report) {
                return Some(report);
            }
            last = Some(report);
            None
        });
        found.with_context(|| format!("the page last said {last:?}; {}", self.log_tail()))
    }

    /// The last lines of the browser's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().filter(|l| !l.contains("crashpad")).collect();
        lines[lines.len().saturating_sub(25)..].join("\n")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The browser's helpers share its process group.
        if let Some(group) = i32::try_from(self.child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
        let _ = self.child.wait();
    }
}

/// The JSON of a title "share: {…}" (browsers may append their own name).
fn parse_title(title: &str) -> Option<Value> {
    let rest = title.strip_prefix("share: ")?;
    let end = rest.rfind('}')?;
    serde_json::from_str(&rest[..=end]).ok()
}

/// The RGB the page read at `x,y`.
pub fn probe(report: &Value, x: u32, y: u32) -> Vec<u8> {
    report["probes"][format!("{x},{y}")]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_u64().unwrap_or(0) as u8).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_with_a_browser_suffix_parse() {
        let v = parse_title("share: {\"state\":\"started\",\"w\":1920} - Chromium").unwrap();
        assert_eq!(v["w"], 1920);
        assert!(parse_title("New Tab - Chromium").is_none());
    }
}
