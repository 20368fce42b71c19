//! Reads what `edid-decode` printed for an EDID into the fields the corpus test checks.
//! Only the blocks the EDID itself declares are read (padding and stray copies after
//! them are not part of it), and non-CTA blocks with a bad checksum are skipped, as the
//! kernel skips them.

use regex::Regex;

/// A mode as the reference prints it.
#[derive(Debug, Clone, PartialEq)]
pub struct RefMode {
    pub width: u32,
    pub height: u32,
    pub interlaced: bool,
    pub refresh_hz: f64,
}

/// The reference's reading of one EDID.
#[derive(Debug, Default)]
pub struct Reference {
    pub manufacturer: String,
    pub product_code: Option<u32>,
    pub product_name: Option<String>,
    pub serial_number: Option<u32>,
    pub serial_text: Option<String>,
    pub first_dtd: Option<RefMode>,
    pub modes: Vec<RefMode>,
    /// Traditional SDR, traditional HDR, PQ, HLG.
    pub eotfs: [bool; 4],
    /// Max, max frame-average, min (cd/m²).
    pub luminance: [Option<f64>; 3],
    /// BT.2020 RGB, BT.2020 YCC, BT.2020 cYCC, DCI-P3.
    pub colorimetry: [bool; 4],
    pub primaries: Option<[f64; 8]>,
    pub range_limits: Option<(u32, u32)>,
    pub freesync: Option<(u32, u32)>,
    pub hdmi_vrr: Option<(u32, u32)>,
    pub adaptive_sync: Option<(u32, u32)>,
}

fn blocks_to_read(bin: &[u8]) -> Vec<bool> {
    let declared = usize::from(bin.get(126).copied().unwrap_or(0));
    let eeodb = bin.get(128..256).and_then(|b| {
        (b[0] == 2 && b[2] > 6 && b[4] >> 5 == 7 && b[5] == 0x78).then(|| usize::from(b[6]))
    });
    let count = declared.max(eeodb.unwrap_or(0));
    (0..=count)
        .map(|i| {
            bin.get(i * 128..(i + 1) * 128).is_some_and(|b| {
                let sum = b.iter().fold(0u8, |s, x| s.wrapping_add(*x));
                i == 0 || sum == 0 || b[0] == 0x02
            })
        })
        .collect()
}

impl Reference {
    pub fn read(text: &str, bin: &[u8]) -> Self {
        let block_header = Regex::new(r"^Block (\d+), ").unwrap();
        let mode = Regex::new(
            r"^\s*(DMT 0x[0-9a-f]{2}|IBM|Apple|VIC\s+\d+|HDMI VIC\s+\d+|DTD(?:\s+\d+)?|GTF|CVT)\s*:\s+(\d+)x(\d+)(i?)\s+([\d.]+) Hz",
        )
        .unwrap();
        let number = |re: &str| Regex::new(re).unwrap();
        let manufacturer = number(r"^\s+Manufacturer: (\S+)");
        let model = number(r"^\s+Model: (\d+)");
        let serial = number(r"^\s+Serial Number: (\d+)");
        let name = number(r"^\s+Display Product Name: '(.*)'");
        let serial_text = number(r"^\s+Display Product Serial Number: '(.*)'");
        let luminance = [
            number(r"Desired content max luminance: \d+ \(([\d.]+) cd/m\^2\)"),
            number(r"Desired content max frame-average luminance: \d+ \(([\d.]+) cd/m\^2\)"),
            number(r"Desired content min luminance: \d+ \(([\d.]+) cd/m\^2\)"),
        ];
        let chroma = number(r"^\s+(Red|Green|Blue|White)\s*: ([\d.]+), ([\d.]+)");
        let ranges = number(r"Monitor ranges \([^)]*\): (\d+)-(\d+) Hz V");
        let amd_min = number(r"^\s+Minimum Refresh Rate: (\d+) Hz");
        let amd_max = number(r"^\s+Maximum Refresh Rate: (\d+) Hz");
        let vrr_min = number(r"^\s+VRRmin: (\d+) Hz");
        let vrr_max = number(r"^\s+VRRmax: (\d+) Hz");
        let as_min = number(r"^\s+Min Refresh Rate: (\d+) Hz");
        let as_max = number(r"^\s+Max Refresh Rate: (\d+) Hz");

        let readable = blocks_to_read(bin);
        let mut out = Reference::default();
        let mut block: Option<usize> = None;
        let mut section = String::new();
        let mut primaries = [f64::NAN; 8];
        let mut freesync = (None, None);
        let mut hdmi = (None, None);
        let mut adaptive = (None, None);
        let mut preferred_flag = false;
        // A detailed timing is only a mode if its sync widths are non-zero and it is
        // not stereo (what the kernel accepts); its lines say so after the first one.
        let sync = number(r"^\s+[HV]front\s+-?\d+ [HV]sync\s+(\d+)");
        let mut pending_dtd: Option<usize> = None;
        let mut first_dtd_at: Option<usize> = None;
        for line in text.lines() {
            if line == "Warnings:" || line == "Failures:" || line == "[stderr]" {
                break;
            }
            if let Some(c) = block_header.captures(line) {
                block = c[1].parse().ok();
                continue;
            }
            let Some(index) = block else { continue };
            if !readable.get(index).copied().unwrap_or(false) {
                continue;
            }
            if line.starts_with("  ") && !line.starts_with("   ") {
                section = line.trim().to_owned();
            }
            let cap = |re: &Regex| re.captures(line).map(|c| c[1].to_owned());
            if index == 0 {
                if let Some(v) = cap(&manufacturer) {
                    out.manufacturer.get_or_insert_default_string(v);
                }
                if out.product_code.is_none() {
                    out.product_code = cap(&model).and_then(|v| v.parse().ok());
                }
                if out.serial_number.is_none() {
                    out.serial_number = cap(&serial).and_then(|v| v.parse().ok());
                }
                if out.product_name.is_none() {
                    out.product_name = cap(&name).map(|s| s.trim().to_owned());
                }
                if out.serial_text.is_none() {
                    // An empty serial string is no serial.
                    out.serial_text = cap(&serial_text)
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty());
                }
                if line.trim_start().starts_with("First detailed timing") {
                    preferred_flag = true;
                }
                if let Some(c) = chroma.captures(line) {
                    let at = match &c[1] {
                        "Red" => 0,
                        "Green" => 2,
                        "Blue" => 4,
                        _ => 6,
                    };
                    primaries[at] = c[2].parse().unwrap_or(f64::NAN);
                    primaries[at + 1] = c[3].parse().unwrap_or(f64::NAN);
                }
                if out.range_limits.is_none() {
                    out.range_limits = ranges
                        .captures(line)
                        .and_then(|c| Some((c[1].parse().ok()?, c[2].parse().ok()?)));
                }
            }
            if let (Some(at), Some(c)) = (pending_dtd, sync.captures(line)) {
                if &c[1] == "0" {
                    out.modes[at].width = 0;
                }
                continue;
            }
            if let Some(c) = mode.captures(line) {
                let m = RefMode {
                    width: c[2].parse().unwrap_or(0),
                    height: c[3].parse().unwrap_or(0),
                    interlaced: &c[4] == "i",
                    refresh_hz: c[5].parse().unwrap_or(0.0),
                };
                let stereo = ["interleaved", "field sequential", "side by side"]
                    .iter()
                    .any(|s| line.contains(s));
                if index == 0
                    && preferred_flag
                    && out.first_dtd.is_none()
                    && c[1].starts_with("DTD")
                {
                    let n: String = c[1].chars().filter(char::is_ascii_digit).collect();
                    if n == "1" && !stereo {
                        first_dtd_at = Some(out.modes.len());
                        out.first_dtd = Some(m.clone());
                    }
                }
                pending_dtd = c[1].starts_with("DTD").then_some(out.modes.len());
                out.modes.push(RefMode {
                    width: if stereo { 0 } else { m.width },
                    ..m
                });
                continue;
            }
            pending_dtd = None;
            let trimmed = line.trim();
            match trimmed {
                "Traditional gamma - SDR luminance range" => out.eotfs[0] = true,
                "Traditional gamma - HDR luminance range" => out.eotfs[1] = true,
                "SMPTE ST2084" => out.eotfs[2] = true,
                "Hybrid Log-Gamma" => out.eotfs[3] = true,
                _ => {}
            }
            if section.starts_with("Colorimetry Data Block") {
                match trimmed {
                    "BT2020RGB" => out.colorimetry[0] = true,
                    "BT2020YCC" => out.colorimetry[1] = true,
                    "BT2020cYCC" => out.colorimetry[2] = true,
                    "DCI-P3" | "ST2113RGB" => out.colorimetry[3] = true,
                    _ => {}
                }
            }
            for (slot, re) in out.luminance.iter_mut().zip(&luminance) {
                if slot.is_none() {
                    *slot = cap(re).and_then(|v| v.parse().ok());
                }
            }
            let first = |slot: &mut Option<u32>, re: &Regex| {
                if slot.is_none() {
                    *slot = re.captures(line).and_then(|c| c[1].parse().ok());
                }
            };
            if section.contains("(AMD)") {
                first(&mut freesync.0, &amd_min);
                first(&mut freesync.1, &amd_max);
            }
            if section.contains("(HDMI Forum)") || section.contains("Sink Capability") {
                first(&mut hdmi.0, &vrr_min);
                first(&mut hdmi.1, &vrr_max);
            }
            if section.starts_with("Adaptive Sync") {
                first(&mut adaptive.0, &as_min);
                first(&mut adaptive.1, &as_max);
            }
        }
        if first_dtd_at.is_some_and(|at| out.modes[at].width == 0) {
            out.first_dtd = None;
        }
        out.modes.retain(|m| m.width != 0);
        if primaries.iter().all(|v| !v.is_nan()) {
            out.primaries = Some(primaries);
        }
        out.freesync = freesync.0.zip(freesync.1);
        out.hdmi_vrr = hdmi
            .0
            .filter(|v| *v > 0)
            .map(|min| (min, hdmi.1.unwrap_or(0)));
        out.adaptive_sync = adaptive.0.zip(adaptive.1);
        out
    }
}

trait FirstString {
    fn get_or_insert_default_string(&mut self, value: String);
}

impl FirstString for String {
    fn get_or_insert_default_string(&mut self, value: String) {
        if self.is_empty() {
            *self = value;
        }
    }
}
