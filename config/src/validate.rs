//! Walks a parsed document against the schema and collects every problem.

use std::collections::HashMap;

use toml_edit::{Item, TableLike, Value};

use crate::{
    bindings::{action_names, KeyCombo, NOT_YET, SNAP_TARGETS, UNIT_ACTIONS, VALUE_ACTIONS},
    error::Problem,
    schema::{suggest, Field, Kind},
    ModeSetting,
};

fn did_you_mean(word: &str, candidates: impl IntoIterator<Item = &'static str>) -> Option<String> {
    suggest(word, candidates).map(|s| format!("did you mean `{s}`?"))
}

fn type_name(item: &Item) -> &'static str {
    match item {
        Item::None => "nothing",
        Item::Table(_) => "a table",
        Item::ArrayOfTables(_) => "an array of tables",
        Item::Value(v) => match v {
            Value::String(_) => "a string",
            Value::Integer(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Boolean(_) => "a boolean",
            Value::Datetime(_) => "a date",
            Value::Array(_) => "an array",
            Value::InlineTable(_) => "a table",
        },
    }
}

/// Checks a table against its fields, adding problems for unknown keys and bad values.
pub fn walk_table(
    table: &dyn TableLike,
    fields: &'static [Field],
    section: &str,
    out: &mut Vec<Problem>,
) {
    for (name, item) in table.iter() {
        let key_span = table.key(name).and_then(|k| k.span());
        match fields.iter().find(|f| f.name == name) {
            Some(field) => check(field.kind, item, key_span, &join(section, name), out),
            None => {
                let where_ = if section.is_empty() {
                    "at the top level".to_owned()
                } else {
                    format!("in [{section}]")
                };
                let help = did_you_mean(name, fields.iter().map(|f| f.name)).or_else(|| {
                    let known: Vec<&str> = fields.iter().map(|f| f.name).collect();
                    Some(format!("expected one of: {}", known.join(", ")))
                });
                out.push(
                    Problem::new(key_span, format!("unknown key `{name}` {where_}"))
                        .with_help(help),
                );
            }
        }
    }
}

fn join(section: &str, name: &str) -> String {
    if section.is_empty() {
        name.to_owned()
    } else {
        format!("{section}.{name}")
    }
}

fn span_of(item: &Item) -> Option<std::ops::Range<usize>> {
    match item {
        Item::Value(v) => v.span(),
        Item::Table(t) => t.span(),
        Item::ArrayOfTables(a) => a.span(),
        Item::None => None,
    }
}

fn expect(
    item: &Item,
    key_span: Option<std::ops::Range<usize>>,
    path: &str,
    expected: &str,
    out: &mut Vec<Problem>,
) {
    out.push(Problem::new(
        span_of(item).or(key_span),
        format!("`{path}` must be {expected}, not {}", type_name(item)),
    ));
}

fn check(
    kind: Kind,
    item: &Item,
    key_span: Option<std::ops::Range<usize>>,
    path: &str,
    out: &mut Vec<Problem>,
) {
    let span = span_of(item).or(key_span.clone());
    let value = item.as_value();
    match kind {
        Kind::Str => {
            if value.and_then(Value::as_str).is_none() {
                expect(item, key_span, path, "a string", out);
            }
        }
        Kind::CStr => match value.and_then(Value::as_str) {
            None => expect(item, key_span, path, "a string", out),
            Some(s) if s.contains('\0') => out.push(Problem::new(
                span,
                format!("`{path}` must not contain a NUL character"),
            )),
            Some(_) => {}
        },
        Kind::Bool => {
            if value.and_then(Value::as_bool).is_none() {
                expect(item, key_span, path, "true or false", out);
            }
        }
        Kind::Int(lo, hi) => match value.and_then(Value::as_integer) {
            None => expect(
                item,
                key_span,
                path,
                &format!("an integer from {lo} to {hi}"),
                out,
            ),
            Some(v) if !(lo..=hi).contains(&v) => out.push(Problem::new(
                span,
                format!("`{path}` is {v}, but must be from {lo} to {hi}"),
            )),
            Some(_) => {}
        },
        Kind::Float(lo, hi) => {
            let v = value.and_then(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)));
            match v {
                None => expect(
                    item,
                    key_span,
                    path,
                    &format!("a number from {lo} to {hi}"),
                    out,
                ),
                Some(v) if !(lo..=hi).contains(&v) => out.push(Problem::new(
                    span,
                    format!("`{path}` is {v}, but must be from {lo} to {hi}"),
                )),
                Some(_) => {}
            }
        }
        Kind::Enum(words) => match value.and_then(Value::as_str) {
            None => expect(item, key_span, path, &one_of(words), out),
            Some(s) if !words.contains(&s) => out.push(
                Problem::new(
                    span,
                    format!("`{path}` is {s:?}, but must be {}", one_of(words)),
                )
                .with_help(did_you_mean(s, words.iter().copied())),
            ),
            Some(_) => {}
        },
        Kind::StrList => match value.and_then(Value::as_array) {
            Some(a) if a.iter().all(|v| v.as_str().is_some()) => {}
            _ => expect(item, key_span, path, "a list of strings", out),
        },
        Kind::CommandList => match value.and_then(Value::as_array) {
            Some(a) => {
                for cmd in a.iter() {
                    let ok = cmd
                        .as_array()
                        .is_some_and(|c| !c.is_empty() && c.iter().all(|p| p.as_str().is_some()));
                    if !ok {
                        out.push(Problem::new(cmd.span().or(span.clone()), format!("each entry of `{path}` must be a command: a non-empty list of strings, e.g. [\"foot\", \"-e\", \"htop\"]")));
                    }
                }
            }
            None => expect(item, key_span, path, "a list of commands", out),
        },
        Kind::Mode => match value.and_then(Value::as_str) {
            None => expect(
                item,
                key_span,
                path,
                "a mode string such as \"1920x1080@60\"",
                out,
            ),
            Some(s) => {
                if let Err(e) = s.parse::<ModeSetting>() {
                    out.push(Problem::new(span, e.to_string()));
                }
            }
        },
        Kind::Modeline => match value.and_then(Value::as_str) {
            None => expect(
                item,
                key_span,
                path,
                "a modeline string such as \"138.50 1920 1968 2000 2080 1080 1083 1088 1111 +hsync -vsync\"",
                out,
            ),
            Some(s) => {
                if let Err(e) = s.parse::<crate::Modeline>() {
                    out.push(Problem::new(span, e.to_string()));
                }
            }
        },
        Kind::Position => {
            let ok = value.and_then(Value::as_array).is_some_and(|a| {
                a.len() == 2
                    && a.iter()
                        .all(|v| v.as_integer().is_some_and(|i| i32::try_from(i).is_ok()))
            });
            if !ok {
                expect(item, key_span, path, "[x, y] (two integers)", out);
            }
        }
        Kind::Regex => match value.and_then(Value::as_str) {
            None => expect(item, key_span, path, "a regular expression string", out),
            Some(s) => {
                if let Err(e) = regex::Regex::new(s) {
                    let text = e.to_string();
                    let last = text.lines().last().unwrap_or_default().trim();
                    let first = last.strip_prefix("error: ").unwrap_or(last).to_owned();
                    out.push(Problem::new(
                        span,
                        format!("`{path}` is not a valid regular expression: {first}"),
                    ));
                }
            }
        },
        Kind::Table(fields) => match item.as_table_like() {
            Some(t) => walk_table(t, fields, path, out),
            None => expect(item, key_span, path, "a table", out),
        },
        Kind::TableArray(fields) => {
            let mut any = false;
            if let Some(array) = item.as_array_of_tables() {
                for t in array.iter() {
                    any = true;
                    walk_table(t, fields, path, out);
                    check_table_rules(path, t, t.span(), out);
                }
            } else if let Some(array) = value.and_then(Value::as_array) {
                for v in array.iter() {
                    match v.as_inline_table() {
                        Some(t) => {
                            any = true;
                            walk_table(t, fields, path, out);
                            check_table_rules(path, t, v.span(), out);
                        }
                        None => out.push(Problem::new(
                            v.span(),
                            format!("each entry of `{path}` must be a table"),
                        )),
                    }
                }
                // An empty inline array is a valid empty list.
                any |= array.is_empty();
            }
            if !any {
                expect(
                    item,
                    key_span,
                    path,
                    &format!("an array of tables ([[{path}]])"),
                    out,
                );
            }
        }
        Kind::StrMap => match item.as_table_like() {
            Some(t) => {
                for (name, v) in t.iter() {
                    let kspan = t.key(name).and_then(|k| k.span());
                    if name.is_empty() || name.contains(['=', '\0']) {
                        out.push(Problem::new(
                            kspan.clone(),
                            format!("`{name}` is not a valid environment variable name"),
                        ));
                    }
                    if v.as_value()
                        .and_then(Value::as_str)
                        .is_none_or(|s| s.contains('\0'))
                    {
                        expect(v, kspan, &join(path, name), "a string without NUL", out);
                    }
                }
            }
            None => expect(item, key_span, path, "a table of strings", out),
        },
        Kind::Bindings => match item.as_table_like() {
            Some(t) => check_bindings(t, out),
            None => expect(item, key_span, path, "a table of bindings", out),
        },
    }
}

fn one_of(words: &[&str]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("one of {} or {last}", rest.join(", ")),
        Some((only, _)) => only.clone(),
        None => String::new(),
    }
}

/// Rules across keys of one table.
fn check_table_rules(
    path: &str,
    table: &dyn TableLike,
    span: Option<std::ops::Range<usize>>,
    out: &mut Vec<Problem>,
) {
    if path == "output"
        && !["name", "make", "model", "serial"]
            .iter()
            .any(|k| table.contains_key(k))
    {
        out.push(Problem::new(
            span.clone(),
            "an [[output]] needs `name`, or `make`/`model`/`serial`, to say which output it is for",
        ));
    }
    if path == "window_rule" && !table.contains_key("app_id") && !table.contains_key("title") {
        out.push(Problem::new(
            span,
            "a [[window_rule]] needs `app_id` or `title` to match windows",
        ));
    }
}

fn check_bindings(table: &dyn TableLike, out: &mut Vec<Problem>) {
    let mut seen: HashMap<KeyCombo, usize> = HashMap::new();
    for (name, item) in table.iter() {
        let kspan = table.key(name).and_then(|k| k.span());
        match name.parse::<KeyCombo>() {
            Err(e) => out.push(Problem::new(
                kspan.clone(),
                format!("bad key combination {name:?}: {e}"),
            )),
            Ok(combo) => {
                let start = kspan.as_ref().map(|s| s.start).unwrap_or(0);
                if let Some(first) = seen.insert(combo.normalized(), start) {
                    let mut problem =
                        Problem::new(kspan.clone(), format!("{name:?} is bound twice ({combo})"));
                    problem.first_at = Some(first);
                    out.push(problem);
                }
            }
        }
        check_action(name, item, kspan, out);
    }
}

fn check_action(
    combo: &str,
    item: &Item,
    kspan: Option<std::ops::Range<usize>>,
    out: &mut Vec<Problem>,
) {
    let span = span_of(item).or(kspan);
    let value = item.as_value();
    let not_yet = |name: &str| NOT_YET.iter().find(|(n, _)| *n == name).map(|(_, why)| why);
    if let Some(word) = value.and_then(Value::as_str) {
        if let Some(why) = not_yet(word) {
            out.push(Problem::new(
                span,
                format!("`{word}` is not supported yet: {why}"),
            ));
            return;
        }
        if !UNIT_ACTIONS.contains(&word) {
            let hint = if VALUE_ACTIONS.contains(&word) {
                Some(format!("`{word}` needs a value, e.g. {{ {word} = … }}"))
            } else {
                did_you_mean(word, action_names())
            };
            out.push(
                Problem::new(span, format!("unknown action {word:?} for {combo:?}"))
                    .with_help(hint),
            );
        }
        return;
    }
    let Some(t) = item.as_table_like() else {
        out.push(Problem::new(span, format!("the action for {combo:?} must be a word such as \"close\" or a table such as {{ spawn = [\"foot\"] }}")));
        return;
    };
    if t.len() != 1 {
        out.push(Problem::new(
            span,
            format!("the action for {combo:?} must have exactly one key"),
        ));
        return;
    }
    let Some((name, v)) = t.iter().next() else {
        return;
    };
    let vspan = span_of(v).or(span.clone());
    let ok = match name {
        "spawn" => v
            .as_value()
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty() && a.iter().all(|p| p.as_str().is_some())),
        "screenshot" => v
            .as_value()
            .and_then(Value::as_str)
            .is_some_and(|s| ["output", "window", "region"].contains(&s)),
        "snap" => v
            .as_value()
            .and_then(Value::as_str)
            .is_some_and(|s| SNAP_TARGETS.contains(&s)),
        "focus-workspace" | "move-to-workspace" => v.as_value().is_some_and(|v| {
            v.as_integer().is_some_and(|n| (1..=1000).contains(&n))
                || v.as_str()
                    .is_some_and(|s| ["next", "previous"].contains(&s))
        }),
        other if not_yet(other).is_some() => {
            let why = not_yet(other).copied().unwrap_or_default();
            out.push(Problem::new(
                t.key(other).and_then(|k| k.span()).or(span),
                format!("`{other}` is not supported yet: {why}"),
            ));
            return;
        }
        other if UNIT_ACTIONS.contains(&other) => {
            out.push(Problem::new(
                span,
                format!("`{other}` takes no value: write \"{other}\""),
            ));
            return;
        }
        other => {
            out.push(
                Problem::new(
                    t.key(other).and_then(|k| k.span()).or(span),
                    format!("unknown action `{other}` for {combo:?}"),
                )
                .with_help(did_you_mean(other, action_names())),
            );
            return;
        }
    };
    if !ok {
        let expected = match name {
            "spawn" => "a non-empty list of strings (the command and its arguments)",
            "focus-workspace" | "move-to-workspace" => {
                "a workspace number from 1 to 1000, \"next\" or \"previous\""
            }
            "snap" => "one of \"left\", \"right\", \"top\", \"bottom\", \"top-left\", \"top-right\", \"bottom-left\" or \"bottom-right\"",
            _ => "\"output\", \"window\" or \"region\"",
        };
        out.push(Problem::new(
            vspan,
            format!("`{name}` in the binding for {combo:?} must be {expected}"),
        ));
    }
}
