//! OBS Studio as a screen-share consumer: Debian's `obs` with a scene of one "Screen
//! Capture (PipeWire)" source, started on a running ghostcomp inside a
//! [`ShareSession`], recording to a file from the moment it starts. The recording is
//! read back with ffmpeg: what a streamer would have sent is what the file holds.

use std::{
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::{bail, Context, Result};

use crate::{share_session::ShareSession, Compositor};

const OBS: &str = "/usr/bin/obs";

/// Where OBS's window is: its app_id.
pub const APP_ID: &str = "com.obsproject.Studio";

/// What is missing to run OBS and read its recordings, if anything.
pub fn missing() -> Option<String> {
    [OBS, "/usr/bin/ffmpeg", "/usr/bin/ffprobe"]
        .into_iter()
        .find(|p| !Path::new(p).exists())
        .map(|p| format!("{p} is not installed"))
        .or_else(|| {
            let plugin = "/usr/lib/x86_64-linux-gnu/obs-plugins/linux-pipewire.so";
            (!Path::new(plugin).exists()).then(|| format!("{plugin} (obs-plugins) is missing"))
        })
}

/// A running OBS that records; ended by [`Obs::stop`] or on drop.
pub struct Obs {
    child: Option<Child>,
    recordings: PathBuf,
    log: PathBuf,
}

/// OBS's settings (`tests/obs/`, which `bench/lib.sh` uses too): no first-run wizard,
/// a 1080p60 canvas, simple output recording x264 into Matroska under `recordings`, and
/// one scene holding the screen.
fn write_config(config: &Path, recordings: &Path) -> Result<()> {
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("obs");
    let obs = config.join("obs-studio");
    let profile = obs.join("basic/profiles/Share");
    let scenes = obs.join("basic/scenes");
    std::fs::create_dir_all(&profile)?;
    std::fs::create_dir_all(&scenes)?;
    std::fs::copy(templates.join("global.ini"), obs.join("global.ini"))?;
    let basic = std::fs::read_to_string(templates.join("basic.ini"))?;
    std::fs::write(
        profile.join("basic.ini"),
        basic.replace("@RECORDINGS@", &recordings.to_string_lossy()),
    )?;
    std::fs::copy(templates.join("scene.json"), scenes.join("Share.json"))?;
    Ok(())
}

impl Obs {
    /// Starts OBS on `comp`'s display inside `session`, recording at once; its source
    /// asks the portal for the screen as it loads.
    pub fn record(comp: &Compositor, session: &ShareSession) -> Result<Self> {
        if let Some(why) = missing() {
            bail!("{why}: scripts/install-deps.sh installs it");
        }
        let config = comp.runtime_dir().join("obs-config");
        let recordings = comp.runtime_dir().join("obs-recordings");
        std::fs::create_dir_all(&recordings)?;
        write_config(&config, &recordings)?;
        let log = comp.runtime_dir().join("obs.log");
        let child = session
            .command(OBS)
            .env("XDG_CONFIG_HOME", &config)
            .env("WAYLAND_DISPLAY", comp.socket())
            .env("XDG_SESSION_TYPE", "wayland")
            .env("XDG_CURRENT_DESKTOP", "ghost")
            .env("QT_QPA_PLATFORM", "wayland")
            // The test machine has no GPU: Mesa draws OBS's canvas on the CPU.
            .env("LIBGL_ALWAYS_SOFTWARE", "1")
            .args(["--startrecording", "--disable-shutdown-check", "--multi"])
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .context("cannot start obs")?;
        Ok(Self {
            child: Some(child),
            recordings,
            log,
        })
    }

    /// Ends the recording and OBS and returns the file. OBS 29 does not quit on a
    /// signal while it records; killed, it leaves its muxer process (in its process
    /// group) to write out what it was sent and finish the file, which is waited for.
    pub fn stop(mut self) -> Result<PathBuf> {
        if let Some(mut child) = self.child.take() {
            let group = i32::try_from(child.id())
                .ok()
                .and_then(rustix::process::Pid::from_raw);
            let _ = child.kill();
            let _ = child.wait();
            if let Some(group) = group {
                let gone = crate::wait_for(Duration::from_secs(15), "OBS's muxer", || {
                    rustix::process::test_kill_process_group(group)
                        .is_err()
                        .then_some(())
                });
                if gone.is_err() {
                    let _ =
                        rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
                }
            }
        }
        std::fs::read_dir(&self.recordings)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|x| x == "mkv"))
            .with_context(|| format!("OBS wrote no recording: {}", self.log_tail()))
    }

    /// The last lines of OBS's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(25)..].join("\n")
    }
}

impl Drop for Obs {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A recording read back: its size, and its frames' pictures on demand.
pub struct Recording {
    path: PathBuf,
    /// Width and height of its video.
    pub size: (u32, u32),
    /// Length in seconds.
    pub seconds: f64,
}

impl Recording {
    /// Reads the video stream's size, and its length from its frame count (OBS
    /// writes a constant 60 frames a second).
    pub fn open(path: &Path) -> Result<Self> {
        let out = Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", "v:0", "-count_packets"])
            .args([
                "-show_entries",
                "stream=width,height,nb_read_packets",
                "-of",
                "json",
            ])
            .arg(path)
            .output()?;
        let info: serde_json::Value = serde_json::from_slice(&out.stdout)
            .with_context(|| String::from_utf8_lossy(&out.stderr).into_owned())?;
        let stream = &info["streams"][0];
        let n = |key: &str| {
            let v = &stream[key];
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .unwrap_or(0)
        };
        Ok(Self {
            path: path.to_path_buf(),
            size: (n("width") as u32, n("height") as u32),
            seconds: n("nb_read_packets") as f64 / 60.0,
        })
    }

    /// The (R, G, B) of the frame at `at` seconds, averaged over the 5×5 pixels around
    /// `x`, `y` (the encoder blurs single pixels).
    pub fn colour(&self, at: f64, x: u32, y: u32) -> Result<[u8; 3]> {
        let out = Command::new("ffmpeg")
            .args(["-v", "error", "-ss", &format!("{at:.3}"), "-i"])
            .arg(&self.path)
            .args(["-frames:v", "1", "-vf"])
            // Converted before the cut: a YUV 4:2:0 picture is cut at even pixels only.
            .arg(format!(
                "format=rgb24,crop=5:5:{}:{}",
                x.saturating_sub(2),
                y.saturating_sub(2)
            ))
            .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
            .output()?;
        if out.stdout.len() < 75 {
            bail!(
                "ffmpeg found no frame at {at:.3} s of {:.3}: {}",
                self.seconds,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let mut sum = [0u32; 3];
        for px in out.stdout.chunks_exact(3).take(25) {
            for (s, v) in sum.iter_mut().zip(px) {
                *s += u32::from(*v);
            }
        }
        Ok(sum.map(|s| (s / 25) as u8))
    }

    /// How many times a second the picture inside `area` (x, y, width, height) changed
    /// between `from` and `to` seconds: the frames OBS composed anew, not the ones it
    /// repeated to keep its output rate.
    pub fn changes_per_second(
        &self,
        area: (u32, u32, u32, u32),
        from: f64,
        to: f64,
    ) -> Result<f64> {
        let (x, y, w, h) = area;
        let out = Command::new("ffmpeg")
            .args(["-v", "error", "-ss", &format!("{from:.3}"), "-t"])
            .arg(format!("{:.3}", to - from))
            .arg("-i")
            .arg(&self.path)
            .args(["-map", "0:v", "-vf"])
            .arg(format!("crop={w}:{h}:{x}:{y}"))
            .args(["-f", "framemd5", "-"])
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let hashes: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.rsplit(',').next().map(str::trim))
            .collect();
        let changes = hashes.windows(2).filter(|p| p[0] != p[1]).count();
        Ok(changes as f64 / (to - from))
    }
}
