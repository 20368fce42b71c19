//! Errors a person can act on: where, what, what was expected, and what was meant.

use std::{
    fmt,
    ops::Range,
    path::{Path, PathBuf},
};

/// One problem at one place in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Byte range of the offending text.
    pub span: Range<usize>,
    /// What is wrong and what was expected.
    pub message: String,
    /// A likely fix ("did you mean `repeat_rate`?").
    pub help: Option<String>,
    /// Where the thing this one clashes with was first written (byte offset).
    pub first_at: Option<usize>,
}

impl Problem {
    pub(crate) fn new(span: Option<Range<usize>>, message: impl Into<String>) -> Self {
        Self {
            span: span.unwrap_or(0..0),
            message: message.into(),
            help: None,
            first_at: None,
        }
    }

    pub(crate) fn with_help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }
}

/// A problem placed in its file: line and column (1-based, column in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The problem.
    pub problem: Problem,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    line_text: String,
    width: usize,
}

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
    /// One or more problems in the text.
    #[error("{}", Report { path, problems })]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Every problem found, in file order.
        problems: Vec<Located>,
    },
}

impl ConfigError {
    pub(crate) fn invalid(path: &Path, text: &str, mut problems: Vec<Problem>) -> Self {
        problems.sort_by_key(|p| p.span.start);
        let problems = problems.into_iter().map(|p| locate(text, p)).collect();
        ConfigError::Invalid {
            path: path.to_owned(),
            problems,
        }
    }

    /// The problems, empty for read errors.
    pub fn problems(&self) -> &[Located] {
        match self {
            ConfigError::Invalid { problems, .. } => problems,
            ConfigError::Read { .. } => &[],
        }
    }
}

fn locate(text: &str, mut problem: Problem) -> Located {
    if let Some(first) = problem.first_at {
        let line = text[..first.min(text.len())].matches('\n').count() + 1;
        problem.help = Some(format!("first bound on line {line}"));
    }
    let start = problem.span.start.min(text.len());
    let start = (0..=start)
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0);
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = text[line_start..start].chars().count() + 1;
    let line_text = text[line_start..].lines().next().unwrap_or("").to_owned();
    let end = problem.span.end.clamp(start, text.len());
    let end = (end..=text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    let on_line = text[start..end].lines().next().unwrap_or("");
    let width = on_line.chars().count().max(1);
    Located {
        problem,
        line,
        column,
        line_text,
        width,
    }
}

struct Report<'a> {
    path: &'a Path,
    problems: &'a [Located],
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            writeln!(
                f,
                "{}:{}:{}: {}",
                self.path.display(),
                p.line,
                p.column,
                p.problem.message
            )?;
            let gutter = p.line.to_string().len();
            writeln!(f, "{:>gutter$} | {}", p.line, p.line_text)?;
            write!(
                f,
                "{:>gutter$} | {}{}",
                "",
                " ".repeat(p.column - 1),
                "^".repeat(p.width)
            )?;
            if let Some(help) = &p.problem.help {
                write!(f, "\n{:>gutter$} = {help}", "")?;
            }
            writeln!(f)?;
        }
        if self.problems.len() > 1 {
            write!(f, "{} problems", self.problems.len())?;
        }
        Ok(())
    }
}
