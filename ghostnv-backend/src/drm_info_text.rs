//! A converter from `drm_info`'s text tree (what people paste into bug reports) to the
//! `drm_info -j` JSON shape the model loads, so published dumps of real hardware become
//! simulated devices.
//!
//! The text form loses two things the JSON has: mode timings (only size and refresh
//! are printed) and the numeric values of enum entries. Modes get a synthetic timing
//! with exactly the printed refresh (htotal = width, vtotal = height, clock chosen to
//! match); enum entries get their position in the printed list, which is the kernel's
//! value for every standard property (plane type, DPMS, blend mode, colour encoding),
//! and bitmask entries get the bit numbers the kernel assigns to rotation names.

use serde_json::{json, Map, Value};

use crate::model::{DeviceModel, ModelError};

struct Node {
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn child(&self, prefix: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.text.starts_with(prefix))
    }

    fn value(&self, key: &str) -> Option<&str> {
        self.children
            .iter()
            .find_map(|c| c.text.strip_prefix(key)?.strip_prefix(": "))
    }
}

/// Splits the tree drawing (│ ├ └ ─ and spaces, four columns a level) from the text.
fn parse_tree(text: &str) -> Node {
    let mut root = Node {
        text: String::new(),
        children: Vec::new(),
    };
    let mut stack: Vec<(usize, Vec<usize>)> = Vec::new(); // (depth, path to node)
    for line in text.lines() {
        let prefix_chars = line
            .chars()
            .take_while(|c| matches!(c, '│' | '├' | '└' | '─' | ' '))
            .count();
        let content = line.chars().skip(prefix_chars).collect::<String>();
        if content.trim().is_empty() {
            continue;
        }
        let depth = prefix_chars / 4;
        while stack.last().is_some_and(|(d, _)| *d >= depth) {
            stack.pop();
        }
        let path = stack.last().map(|(_, p)| p.clone()).unwrap_or_default();
        let mut parent = &mut root;
        for i in &path {
            parent = &mut parent.children[*i];
        }
        parent.children.push(Node {
            text: content.trim_end().to_owned(),
            children: Vec::new(),
        });
        let mut own = path;
        own.push(parent.children.len() - 1);
        stack.push((depth, own));
    }
    root
}

fn index_set(text: &str) -> Vec<u64> {
    text.trim_matches(|c| c == '{' || c == '}')
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

fn limit(word: &str) -> Option<i128> {
    Some(match word.trim() {
        "INT32_MIN" => i128::from(i32::MIN),
        "INT32_MAX" => i128::from(i32::MAX),
        "UINT16_MAX" => i128::from(u16::MAX),
        "UINT32_MAX" => i128::from(u32::MAX),
        "INT64_MIN" => i128::from(i64::MIN),
        "INT64_MAX" => i128::from(i64::MAX),
        "UINT64_MAX" => i128::from(u64::MAX),
        n => n.parse().ok()?,
    })
}

fn rotation_bit(name: &str) -> Option<u64> {
    Some(match name {
        "rotate-0" => 0,
        "rotate-90" => 1,
        "rotate-180" => 2,
        "rotate-270" => 3,
        "reflect-x" => 4,
        "reflect-y" => 5,
        _ => return None,
    })
}

/// One property line: `"NAME" (flags): KIND SPEC = VALUE`, with IN_FORMATS' tree below.
fn property(node: &Node, next_id: &mut u64) -> Option<(String, Value)> {
    let rest = node.text.strip_prefix('"')?;
    let (name, rest) = rest.split_once('"')?;
    let (flags, rest) = match rest.strip_prefix(" (") {
        Some(r) => {
            let (f, r) = r.split_once(')')?;
            (f, r)
        }
        None => ("", rest),
    };
    let rest = rest.strip_prefix(": ")?;
    let (decl, value) = rest.rsplit_once(" = ")?;
    let names = |decl: &str| -> Vec<String> {
        decl.split_once('{')
            .and_then(|(_, r)| r.rsplit_once('}'))
            .map(|(inner, _)| inner.split(", ").map(str::to_owned).collect())
            .unwrap_or_default()
    };
    *next_id += 1;
    let (ty, spec, raw) = if let Some(range) = decl.strip_prefix("srange ") {
        let (lo, hi) = range
            .trim_matches(|c| c == '[' || c == ']')
            .split_once(',')?;
        (
            128,
            json!({"min": limit(lo)?, "max": limit(hi)?}),
            limit(value)? as i64 as u64,
        )
    } else if let Some(range) = decl.strip_prefix("range ") {
        let (lo, hi) = range
            .trim_matches(|c| c == '[' || c == ']')
            .split_once(',')?;
        (
            2,
            json!({"min": limit(lo)?, "max": limit(hi)?}),
            limit(value)? as u64,
        )
    } else if decl.starts_with("enum") {
        let entries = names(decl);
        let raw = entries.iter().position(|n| n == value).unwrap_or(0) as u64;
        let spec: Vec<Value> = entries
            .iter()
            .enumerate()
            .map(|(i, n)| json!({"name": n, "value": i}))
            .collect();
        (8, Value::Array(spec), raw)
    } else if decl.starts_with("bitmask") {
        let entries = names(decl);
        let bit = |i: usize, n: &str| rotation_bit(n).unwrap_or(i as u64);
        let spec: Vec<Value> = entries
            .iter()
            .enumerate()
            .map(|(i, n)| json!({"name": n, "value": bit(i, n)}))
            .collect();
        let set: Vec<&str> = value
            .trim_matches(|c| c == '(' || c == ')')
            .split('|')
            .collect();
        let raw = entries
            .iter()
            .enumerate()
            .filter(|(_, n)| set.iter().any(|s| s.trim() == n.as_str()))
            .fold(0u64, |m, (i, n)| m | 1 << bit(i, n));
        (32, Value::Array(spec), raw)
    } else if decl.starts_with("blob") {
        (16, Value::Null, value.trim().parse().unwrap_or(0))
    } else if let Some(kind) = decl.strip_prefix("object ") {
        (64, json!(kind), value.trim().parse().unwrap_or(0))
    } else {
        return None;
    };
    let mut prop = json!({
        "id": *next_id,
        "type": ty,
        "atomic": flags.contains("atomic"),
        "immutable": flags.contains("immutable"),
        "raw_value": raw,
        "spec": spec,
        "value": raw,
        "data": null,
    });
    if name == "IN_FORMATS" {
        let data: Vec<Value> = node
            .children
            .iter()
            .filter_map(|m| {
                let modifier = hex_in_parens(&m.text)?;
                let formats: Vec<u64> = m
                    .children
                    .iter()
                    .filter_map(|f| hex_in_parens(&f.text))
                    .collect();
                Some(json!({"modifier": modifier, "formats": formats}))
            })
            .collect();
        prop["data"] = Value::Array(data);
    }
    Some((name.to_owned(), prop))
}

fn hex_in_parens(text: &str) -> Option<u64> {
    let (_, rest) = text.rsplit_once("(0x")?;
    u64::from_str_radix(rest.trim_end_matches(')'), 16).ok()
}

fn properties(node: &Node, next_id: &mut u64) -> Value {
    let mut map = Map::new();
    for p in node
        .child("Properties")
        .map(|n| n.children.as_slice())
        .unwrap_or_default()
    {
        if let Some((name, value)) = property(p, next_id) {
            map.insert(name, value);
        }
    }
    Value::Object(map)
}

/// `1920x1080@60.00 preferred driver …` → a mode with that size and exact refresh.
fn mode(text: &str) -> Option<Value> {
    let (size, rest) = text.split_once('@')?;
    // Newer drm_info prints "1920×1080", older "1920x1080".
    let (w, h) = size.split_once('×').or_else(|| size.split_once('x'))?;
    let (w, h): (u64, u64) = (w.parse().ok()?, h.trim_end_matches('i').parse().ok()?);
    let refresh: f64 = rest.split_whitespace().next()?.parse().ok()?;
    let preferred = rest.contains("preferred");
    let interlace = rest.split_whitespace().any(|w| w == "interlace");
    let clock = (refresh * (w * h) as f64 / 1000.0).round() as u64;
    Some(json!({
        "clock": clock, "hdisplay": w, "htotal": w, "vdisplay": h, "vtotal": h,
        "vrefresh": refresh.round() as u64, "type": if preferred { 8 } else { 0 },
        // DRM_MODE_FLAG_INTERLACE
        "flags": if interlace { 1 << 4 } else { 0 }, "name": format!("{w}x{h}"),
    }))
}

fn connector_type(name: &str) -> u64 {
    match name {
        "VGA" => 1,
        "DVI-I" => 2,
        "DVI-D" => 3,
        "Composite" => 5,
        "LVDS" => 7,
        "DisplayPort" => 10,
        "HDMI-A" => 11,
        "HDMI-B" => 12,
        "eDP" => 14,
        "Virtual" => 15,
        "DSI" => 16,
        "DPI" => 17,
        "Writeback" => 18,
        "USB" => 20,
        _ => 0,
    }
}

/// Converts a `drm_info` text dump to the `drm_info -j` shape (one device, keyed by
/// its node path).
pub fn to_json(text: &str) -> Result<Value, ModelError> {
    let root = parse_tree(text);
    let node = root
        .children
        .iter()
        .find(|n| n.text.starts_with("Node: "))
        .ok_or_else(|| ModelError::Shape("no \"Node:\" line: not a drm_info dump".into()))?;
    let path = node.text.trim_start_matches("Node: ").to_owned();
    let mut next_id = 1_000_000u64;
    let driver = node
        .child("Driver: ")
        .ok_or_else(|| ModelError::Shape("no driver line".into()))?;
    let name = driver
        .text
        .trim_start_matches("Driver: ")
        .split_whitespace()
        .next()
        .unwrap_or_default();
    let mut caps = Map::new();
    for c in &driver.children {
        if let Some((k, v)) = c
            .text
            .strip_prefix("DRM_CAP_")
            .and_then(|t| t.split_once(" = "))
        {
            if let Ok(v) = v.trim().parse::<u64>() {
                caps.insert(k.to_owned(), json!(v));
            }
        }
    }
    let list = |section: &str| -> Vec<&Node> {
        node.child(section)
            .map(|s| s.children.iter().collect())
            .unwrap_or_default()
    };
    let object_id = |n: &Node| {
        n.value("Object ID")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let encoders: Vec<Value> = list("Encoders")
        .iter()
        .map(|e| {
            let crtcs = index_set(e.value("CRTCS").unwrap_or("{}"));
            json!({"id": object_id(e), "possible_crtcs": crtcs.iter().fold(0u64, |m, i| m | 1 << i)})
        })
        .collect();
    let encoder_ids: Vec<u64> = encoders.iter().filter_map(|e| e["id"].as_u64()).collect();
    let connectors: Vec<Value> = list("Connectors")
        .iter()
        .map(|c| {
            let status = match c.value("Status") {
                Some("connected") => 1,
                Some("disconnected") => 2,
                _ => 3,
            };
            let modes: Vec<Value> = c
                .child("Modes")
                .map(|m| m.children.iter().filter_map(|x| mode(&x.text)).collect())
                .unwrap_or_default();
            let encoders: Vec<u64> = index_set(c.value("Encoders").unwrap_or("{}"))
                .iter()
                .filter_map(|i| encoder_ids.get(*i as usize).copied())
                .collect();
            json!({
                "id": object_id(c),
                "type": connector_type(c.value("Type").unwrap_or_default()),
                "status": status,
                "encoders": encoders,
                "modes": modes,
                "properties": properties(c, &mut next_id),
            })
        })
        .collect();
    let crtcs: Vec<Value> = list("CRTCs")
        .iter()
        .map(|c| json!({"id": object_id(c), "properties": properties(c, &mut next_id)}))
        .collect();
    let planes: Vec<Value> = list("Planes")
        .iter()
        .map(|p| {
            let crtcs = index_set(p.value("CRTCs").unwrap_or("{}"));
            // Newer drm_info nests the legacy format list under "Legacy info".
            let formats: Vec<u64> = p
                .child("Formats")
                .or_else(|| p.child("Legacy info").and_then(|l| l.child("Formats")))
                .map(|f| {
                    f.children
                        .iter()
                        .filter_map(|x| hex_in_parens(&x.text))
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "id": object_id(p),
                "possible_crtcs": crtcs.iter().fold(0u64, |m, i| m | 1 << i),
                "formats": formats,
                "properties": properties(p, &mut next_id),
            })
        })
        .collect();
    let mut doc = Map::new();
    doc.insert(
        path,
        json!({
            "driver": {"name": name, "caps": caps},
            "encoders": encoders,
            "connectors": connectors,
            "crtcs": crtcs,
            "planes": planes,
        }),
    );
    Ok(Value::Object(doc))
}

impl DeviceModel {
    /// Loads a device from a `drm_info` text dump.
    pub fn from_drm_info_text(text: &str) -> Result<Self, ModelError> {
        DeviceModel::from_drm_info_json(&to_json(text)?.to_string())
    }
}
