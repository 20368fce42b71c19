//! `ghostcomp edid`: what a monitor says about itself, for users and bug reports.

use std::{
    io::Read,
    path::{Path, PathBuf},
};

use ghost_kms::DisplayInfo;

/// The kernel's copy of the EDID of `connector` (e.g. "DP-1") on any card.
fn connector_edid_path(connector: &str) -> Option<PathBuf> {
    let entries = std::fs::read_dir("/sys/class/drm").ok()?;
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.split_once('-'))
                .is_some_and(|(card, name)| card.starts_with("card") && name == connector)
        })
        .map(|p| p.join("edid"))
}

fn read_input(file: Option<&Path>, connector: Option<&str>) -> Result<Vec<u8>, String> {
    if let Some(connector) = connector {
        let path = connector_edid_path(connector)
            .ok_or_else(|| format!("no connector named {connector} in /sys/class/drm"))?;
        return std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()));
    }
    match file {
        Some(path) if path == Path::new("-") => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .map_err(|e| format!("standard input: {e}"))?;
            Ok(bytes)
        }
        Some(path) => std::fs::read(path).map_err(|e| format!("{}: {e}", path.display())),
        None => Err("give an EDID file, - or --connector".to_owned()),
    }
}

/// Accepts raw bytes, or the hex text `edid-decode`, `xrandr --verbose` and
/// `drm_info` print, so a dump pasted from a bug report works as well.
fn decode_hex_if_text(bytes: Vec<u8>) -> Vec<u8> {
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return bytes;
    };
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() < 256 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return bytes;
    }
    (0..digits.len() / 2)
        .filter_map(|i| u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).ok())
        .collect()
}

/// The subcommand's report (text or JSON); an unreadable source is an error, an
/// undecodable EDID is not (its problems are listed like any other field). The binary
/// prints either.
pub fn report(file: Option<&Path>, connector: Option<&str>, json: bool) -> Result<String, String> {
    let bytes = decode_hex_if_text(read_input(file, connector)?);
    let info = DisplayInfo::parse(&bytes);
    if !json {
        return Ok(info.summary());
    }
    let mut value = serde_json::to_value(&info).map_err(|e| e.to_string())?;
    if let Some(object) = value.as_object_mut() {
        let preferred = info
            .preferred_mode()
            .and_then(|m| serde_json::to_value(m).ok());
        object.insert("preferred_mode".into(), preferred.into());
        object.insert("make".into(), info.make().into());
    }
    Ok(format!("{value:#}\n"))
}
