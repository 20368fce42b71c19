//! Errors a person can act on: where, what, and what was meant.

use std::path::{Path, PathBuf};

/// Why a configuration file was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A syntax or type error at a known place.
    #[error("{}:{line}:{column}: {message}\n{snippet}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column (in characters).
        column: usize,
        /// What is wrong, and what was expected.
        message: String,
        /// The offending line with a caret under the column.
        snippet: String,
    },
    /// Well-formed but not allowed (a value out of range, say).
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl ConfigError {
    pub(crate) fn from_toml(path: &Path, text: &str, err: &toml::de::Error) -> Self {
        let offset = err.span().map(|s| s.start).unwrap_or(0).min(text.len());
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let column = text[line_start..offset].chars().count() + 1;
        let line_text = text[line_start..].lines().next().unwrap_or("");
        let snippet = format!("  {line_text}\n  {}^", " ".repeat(column - 1));
        ConfigError::Syntax {
            path: path.to_owned(),
            line,
            column,
            message: err.message().trim().to_owned(),
            snippet,
        }
    }
}
