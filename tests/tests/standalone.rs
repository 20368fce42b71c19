//! The repository stands alone: a clone in an empty folder builds, tests and benchmarks
//! with nothing beside it. No tracked file may name a folder next to the checkout or
//! reach out of the checkout through a relative path.

use std::path::{Component, Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
        .to_path_buf()
}

/// The files git tracks (with those about to be added), or every file outside build
/// output where this is no git checkout (an unpacked release).
fn tracked_files(root: &Path) -> Vec<PathBuf> {
    let listed = Command::new("git")
        .args([
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            "-z",
        ])
        .current_dir(root)
        .output();
    if let Ok(out) = listed {
        if out.status.success() {
            return out
                .stdout
                .split(|b| *b == 0)
                .filter(|name| !name.is_empty())
                .map(|name| root.join(String::from_utf8_lossy(name).as_ref()))
                .filter(|path| path.is_file())
                .collect();
        }
    }
    let mut files = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable folder").flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if name == "target" || name == ".git" {
                continue;
            }
            if path.is_dir() {
                todo.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// `base` joined with `relative`, `..` taken lexically (the paths need not exist).
fn resolve(base: &Path, relative: &str) -> PathBuf {
    let mut out = base.to_path_buf();
    for part in Path::new(relative).components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(p) => out.push(p),
            _ => {}
        }
    }
    out
}

/// The nearest folder at or above `file` holding a Cargo.toml: what
/// `CARGO_MANIFEST_DIR` is for code in that file.
fn crate_dir(file: &Path, root: &Path) -> PathBuf {
    let mut dir = file.parent().unwrap_or(root).to_path_buf();
    while dir.starts_with(root) && dir != root {
        if dir.join("Cargo.toml").is_file() {
            return dir;
        }
        dir.pop();
    }
    root.to_path_buf()
}

/// Relative paths that climb (`..`) in a line of code: the text from a `..` run up to the
/// next quote, space or closing bracket.
fn climbing_paths(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("..") {
        // Only a path that starts here: after a quote, a slash, a space, `=` or a bracket.
        let before = rest[..at].chars().last();
        let starts_path = matches!(
            before,
            None | Some('"' | '\'' | '/' | ' ' | '=' | '(' | '`')
        );
        let tail = &rest[at..];
        let end = tail
            .find(['"', '\'', ' ', ')', '`', ';', ',', '}', '$'])
            .unwrap_or(tail.len());
        let path = &tail[..end];
        if starts_path && (path.starts_with("../") || path == "..") {
            found.push(path.to_string());
        }
        rest = &tail[end.max(2)..];
    }
    found
}

#[test]
fn no_tracked_file_names_a_folder_beside_the_checkout() {
    let root = repo_root();
    // Built at run time so that this file does not name the folder itself.
    let sibling = format!("../{}", ["sha", "red"].concat());
    let mut offenders = Vec::new();
    for file in tracked_files(&root) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue; // binary data
        };
        for (n, line) in text.lines().enumerate() {
            if line.contains(&sibling) {
                offenders.push(format!(
                    "{}:{}: {}",
                    file.strip_prefix(&root).unwrap_or(&file).display(),
                    n + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "files that name a folder outside the repository:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn no_relative_path_in_code_leaves_the_checkout() {
    let root = repo_root();
    let code = ["rs", "sh", "py", "toml"];
    let mut offenders = Vec::new();
    for file in tracked_files(&root) {
        let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !code.contains(&ext) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        // Where a relative path in this file may be taken from: its own folder, its
        // crate's folder (CARGO_MANIFEST_DIR) or the repository root (scripts cd there).
        let bases = [
            file.parent().unwrap_or(&root).to_path_buf(),
            crate_dir(&file, &root),
            root.clone(),
        ];
        for (n, line) in text.lines().enumerate() {
            for path in climbing_paths(line) {
                if bases
                    .iter()
                    .all(|base| !resolve(base, &path).starts_with(&root))
                {
                    offenders.push(format!(
                        "{}:{}: {path}",
                        file.strip_prefix(&root).unwrap_or(&file).display(),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "relative paths that leave the repository from every place they could be read from:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_path_checker_sees_what_it_must() {
    let root = Path::new("/repo");
    assert_eq!(
        climbing_paths(r#"join("../../elsewhere/data")"#),
        ["../../elsewhere/data"]
    );
    assert_eq!(
        climbing_paths(r#"concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/x.json")"#),
        ["../testdata/x.json"]
    );
    assert_eq!(climbing_paths("cd \"$(dirname \"$0\")/../..\""), ["../.."]);
    assert!(climbing_paths("for i in 0..10 {").is_empty());
    assert!(climbing_paths("let rest = &s[..n];").is_empty());
    let kms = Path::new("/repo/kms");
    assert!(resolve(kms, "../testdata/edid").starts_with(root));
    assert!(!resolve(kms, "../../elsewhere").starts_with(root));
}
