//! XDG autostart (the Desktop Application Autostart Specification): which programs a
//! session started without systemd runs. Entries come from `autostart/` under
//! `$XDG_CONFIG_HOME` and then each of `$XDG_CONFIG_DIRS`; a file name found earlier
//! hides the same name later (a user's copy overrides or, with `Hidden=true`, disables
//! the system's). Files are parsed with `freedesktop_entry_parser` and `Exec` is split
//! with `shlex` after the spec's escapes and field codes are dealt with.

use std::path::{Path, PathBuf};

use freedesktop_entry_parser::low_level::parse_entry_str;

/// Why an entry is not started (for the log).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Skipped {
    /// Not a desktop entry file ghostcomp can read.
    #[error("not a valid desktop entry: {0}")]
    Invalid(String),
    /// `Hidden=true`: deleted by the user.
    #[error("hidden")]
    Hidden,
    /// `OnlyShowIn` leaves this desktop out, or `NotShowIn` names it.
    #[error("not for this desktop")]
    OtherDesktop,
    /// `TryExec` names a program that is not installed.
    #[error("{0} is not installed")]
    NotInstalled(String),
    /// Not `Type=Application`, or without `Exec`.
    #[error("nothing to run")]
    NothingToRun,
}

/// The command line `text` (an autostart `.desktop` file) asks for on `desktop` (an
/// `XDG_CURRENT_DESKTOP` name); `installed` says whether a `TryExec` program exists.
pub fn command(
    text: &[u8],
    desktop: &str,
    installed: impl Fn(&str) -> bool,
) -> Result<Vec<String>, Skipped> {
    let section = parse_entry_str(text)
        .find(|s| s.as_ref().map_or(true, |s| s.title == "Desktop Entry"))
        .ok_or_else(|| Skipped::Invalid("no [Desktop Entry] section".into()))?
        .map_err(|e| Skipped::Invalid(e.to_string()))?;
    // The first plain (unlocalised) value of `key`.
    let value = |key: &str| {
        section
            .attrs
            .iter()
            .find(|a| a.name == key && a.param.is_none())
            .map(|a| a.value.to_string())
    };
    let list = |key: &str| -> Vec<String> {
        value(key)
            .map(|v| {
                v.split(';')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    if value("Hidden").is_some_and(|v| v == "true") {
        return Err(Skipped::Hidden);
    }
    let only = list("OnlyShowIn");
    if (!only.is_empty() && !only.iter().any(|d| d == desktop))
        || list("NotShowIn").iter().any(|d| d == desktop)
    {
        return Err(Skipped::OtherDesktop);
    }
    if value("Type").is_some_and(|t| t != "Application") {
        return Err(Skipped::NothingToRun);
    }
    if let Some(program) = value("TryExec").filter(|p| !p.is_empty()) {
        if !installed(&program) {
            return Err(Skipped::NotInstalled(program));
        }
    }
    let exec = value("Exec").ok_or(Skipped::NothingToRun)?;
    let argv = split_exec(&exec)?;
    if argv.is_empty() {
        return Err(Skipped::NothingToRun);
    }
    Ok(argv)
}

/// `Exec`'s arguments: the string escapes undone (`\s`, `\n`, `\t`, `\r`, `\\`), the
/// quoted arguments split, then field codes handled: `%%` is a percent sign, and the
/// others (files, URLs, icon, name, location) have nothing to stand for at login, so an
/// argument that is only a field code goes and one inside an argument is removed.
pub fn split_exec(exec: &str) -> Result<Vec<String>, Skipped> {
    let mut unescaped = String::with_capacity(exec.len());
    let mut chars = exec.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            unescaped.push(c);
            continue;
        }
        match chars.next() {
            Some('s') => unescaped.push(' '),
            Some('n') => unescaped.push('\n'),
            Some('t') => unescaped.push('\t'),
            Some('r') => unescaped.push('\r'),
            // `\\` and any other escape stay for the quoting rules below.
            Some(other) => {
                unescaped.push('\\');
                unescaped.push(other);
            }
            None => unescaped.push('\\'),
        }
    }
    let words = shlex::split(&unescaped)
        .ok_or_else(|| Skipped::Invalid(format!("unbalanced quotes in Exec={exec}")))?;
    Ok(words
        .into_iter()
        .filter_map(|word| {
            let mut out = String::with_capacity(word.len());
            let mut chars = word.chars();
            let mut only_codes = true;
            while let Some(c) = chars.next() {
                if c == '%' {
                    // `%%` is a percent sign; any other field code is dropped.
                    if let Some('%') = chars.next() {
                        out.push('%');
                        only_codes = false;
                    }
                } else {
                    out.push(c);
                    only_codes = false;
                }
            }
            (!only_codes).then_some(out)
        })
        .collect())
}

/// The autostart folders in order of precedence.
pub fn directories(config_home: Option<PathBuf>, config_dirs: Option<&str>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(home) = config_home {
        dirs.push(home.join("autostart"));
    }
    let system = config_dirs.filter(|d| !d.is_empty()).unwrap_or("/etc/xdg");
    dirs.extend(
        system
            .split(':')
            .filter(|d| !d.is_empty())
            .map(|d| Path::new(d).join("autostart")),
    );
    dirs
}

/// Every `.desktop` file of `dirs`, each name once (the first folder's copy), sorted
/// by name within what is found.
pub fn entries(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut seen = std::collections::BTreeMap::new();
    for dir in dirs {
        let Ok(read) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut found: Vec<PathBuf> = read
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "desktop"))
            .collect();
        found.sort();
        for path in found {
            if let Some(name) = path.file_name().map(|n| n.to_os_string()) {
                seen.entry(name).or_insert(path);
            }
        }
    }
    seen.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Result<Vec<String>, Skipped> {
        command(text.as_bytes(), "ghost", |p| p != "missing")
    }

    #[test]
    fn entries_are_run_or_skipped_as_the_spec_says() {
        let entry = |extra: &str| format!("[Desktop Entry]\nType=Application\nName=x\n{extra}");
        assert_eq!(
            run(&entry("Exec=foo --bar")),
            Ok(vec!["foo".into(), "--bar".into()])
        );
        assert_eq!(run(&entry("Exec=foo\nHidden=true")), Err(Skipped::Hidden));
        assert_eq!(
            run(&entry("Exec=foo\nOnlyShowIn=GNOME;KDE;")),
            Err(Skipped::OtherDesktop)
        );
        assert_eq!(
            run(&entry("Exec=foo\nOnlyShowIn=GNOME;ghost;")).map(|a| a.len()),
            Ok(1)
        );
        assert_eq!(
            run(&entry("Exec=foo\nNotShowIn=ghost;")),
            Err(Skipped::OtherDesktop)
        );
        assert_eq!(
            run(&entry("Exec=foo\nTryExec=missing")),
            Err(Skipped::NotInstalled("missing".into()))
        );
        assert_eq!(run(&entry("")), Err(Skipped::NothingToRun));
        assert_eq!(
            run("[Desktop Entry]\nType=Link\nExec=foo"),
            Err(Skipped::NothingToRun)
        );
        assert!(matches!(run("Exec=foo"), Err(Skipped::Invalid(_))));
        // Localised values do not stand in for the plain one.
        assert_eq!(
            run(&entry("Hidden[de]=true\nExec=foo")).map(|a| a.len()),
            Ok(1)
        );
    }

    #[test]
    fn exec_quoting_escapes_and_field_codes() {
        let split = |s: &str| split_exec(s).unwrap();
        assert_eq!(
            split(r#"sh -c "echo \"a b\"""#),
            ["sh", "-c", "echo \"a b\""]
        );
        assert_eq!(split("foo %U --x=%f"), ["foo", "--x="]);
        assert_eq!(split("printf 100%%"), ["printf", "100%"]);
        // String escapes come first: `\s` is a space, which then separates arguments.
        assert_eq!(split(r"foo a\sb"), ["foo", "a", "b"]);
        assert_eq!(split(r#"foo "a\sb""#), ["foo", "a b"]);
        assert!(split_exec(r#"foo "open"#).is_err());
    }

    #[test]
    fn a_users_entry_hides_the_systems_of_the_same_name() {
        let base = std::env::temp_dir().join(format!("ghost-autostart-{}", std::process::id()));
        let (user, system) = (base.join("user/autostart"), base.join("sys/autostart"));
        std::fs::create_dir_all(&user).unwrap();
        std::fs::create_dir_all(&system).unwrap();
        std::fs::write(user.join("a.desktop"), "").unwrap();
        std::fs::write(system.join("a.desktop"), "").unwrap();
        std::fs::write(system.join("b.desktop"), "").unwrap();
        std::fs::write(system.join("c.txt"), "").unwrap();
        let dirs = directories(
            Some(base.join("user")),
            Some(&format!("{}", base.join("sys").display())),
        );
        assert_eq!(
            entries(&dirs),
            vec![user.join("a.desktop"), system.join("b.desktop")]
        );
        std::fs::remove_dir_all(&base).unwrap();
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_are_an_answer_not_a_panic(text in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let _ = command(&text, "ghost", |_| true);
        }
    }
}
