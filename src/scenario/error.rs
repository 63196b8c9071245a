//! Scenario errors, and mapping of field paths and byte offsets to `line:column` in the file.
//!
//! Validation works on field paths (`chains[3].withdrawal_delay_days`); this module finds where
//! such a path, or a byte offset reported by the TOML parser, stands in the source text.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

use super::input::InputError;

/// One problem found by validation: a field path, what it holds, and what is allowed.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Field path such as `chains[3].withdrawal_delay_days`.
    pub path: String,
    /// Complete sentence after the path, e.g. `= -7: must be >= 0`.
    pub message: String,
    /// `(line, column)`, both from 1, when the path could be found in the file.
    pub location: Option<(usize, usize)>,
    /// The file the location refers to, when it is not the scenario file itself (inheritance).
    pub file: Option<PathBuf>,
}

/// Everything that can go wrong while reading a scenario. All are the user's input (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read: missing, not a regular file, too large, not UTF-8.
    #[error("{}: cannot read {what}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        /// What the file was to be: `scenario`, `targets`.
        what: &'static str,
        #[source]
        source: InputError,
    },
    #[error("{path}:{line}:{column}: {field}{message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        field: String,
        message: String,
    },
    /// Fields of the wrong shape: unknown, of the wrong type, missing (the file is not read).
    #[error("{}", render_problems(path, problems))]
    Malformed {
        path: PathBuf,
        problems: Vec<Problem>,
    },
    /// Values that break the rules of `validate`.
    #[error("{}", render_problems(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

fn render_problems(path: &std::path::Path, problems: &[Problem]) -> String {
    let mut out = String::new();
    for (i, p) in problems.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let file = p.file.as_deref().unwrap_or(path);
        match p.location {
            Some((line, col)) => out.push_str(&format!("{}:{line}:{col}: ", file.display())),
            None => out.push_str(&format!("{}: ", file.display())),
        }
        out.push_str(&format!("{} {}", p.path, p.message));
    }
    out
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.path, self.message)
    }
}

/// `(line, column)` of a byte offset, both counted from 1 (columns in characters).
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// One step of a field path.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

fn parse_path(path: &str) -> Vec<Step<'_>> {
    let mut steps = Vec::new();
    for part in path.split('.') {
        let (key, rest) = part.split_once('[').unwrap_or((part, ""));
        if !key.is_empty() {
            steps.push(Step::Key(key));
        }
        for idx in rest.split('[') {
            if let Ok(i) = idx.trim_end_matches(']').parse() {
                steps.push(Step::Index(i));
            }
        }
    }
    steps
}

fn table_get<'t, 'i>(table: &'t DeTable<'i>, key: &str) -> Option<&'t toml::Spanned<DeValue<'i>>> {
    table
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == key)
        .map(|(_, v)| v)
}

/// Byte span of the value at `path`, or of its nearest enclosing value that exists in the file.
pub fn span_of(text: &str, path: &str) -> Option<Range<usize>> {
    walk(text, path).map(|(span, _)| span)
}

/// Byte span of the value at `path`, only if the whole path is written in the file.
pub fn span_of_exact(text: &str, path: &str) -> Option<Range<usize>> {
    walk(text, path).and_then(|(span, exact)| exact.then_some(span))
}

/// The span of the deepest value along `path`, and whether that is the whole path.
fn walk(text: &str, path: &str) -> Option<(Range<usize>, bool)> {
    let root = DeTable::parse(text).ok()?;
    let steps = parse_path(path);
    let total = steps.len();
    let mut found = 0;
    let mut best = None;
    let mut table: &DeTable<'_> = root.get_ref();
    let mut current: Option<&toml::Spanned<DeValue<'_>>> = None;
    for step in steps {
        let next = match (step, current.map(|v| v.get_ref())) {
            (Step::Key(k), None) => table_get(table, k),
            (Step::Key(k), Some(DeValue::Table(t))) => table_get(t, k),
            (Step::Index(i), Some(DeValue::Array(a))) => a.get(i),
            _ => None,
        };
        match next {
            Some(v) => {
                found += 1;
                best = Some(v.span());
                if let DeValue::Table(t) = v.get_ref() {
                    table = t;
                }
                current = Some(v);
            }
            None => break,
        }
    }
    best.map(|b| (b, found == total))
}

/// The byte range a value covers, children included (the parser's span of a table in an array of
/// tables covers only its `[[header]]`).
fn extent(v: &toml::Spanned<DeValue<'_>>) -> Range<usize> {
    let mut r = v.span();
    let mut widen = |x: Range<usize>| {
        r.start = r.start.min(x.start);
        r.end = r.end.max(x.end);
    };
    match v.get_ref() {
        DeValue::Table(t) => {
            for (k, child) in t.iter() {
                widen(k.span());
                widen(extent(child));
            }
        }
        DeValue::Array(a) => {
            for child in a.iter() {
                widen(extent(child));
            }
        }
        _ => {}
    }
    r
}

/// A TOML syntax error of `text` (the file at `path`), located; a duplicate key is named, with
/// its field path and the line where it was first set.
pub fn syntax_error(path: &Path, text: &str, e: &toml::de::Error) -> ScenarioError {
    let span = e.span().unwrap_or(0..0);
    let (line, column) = line_col(text, span.start);
    let mut message = e.message().trim().to_string();
    let mut field = String::new();
    if message == "duplicate key"
        && let Some(key) = text.get(span.clone())
    {
        let key = key.trim();
        let first = text[..span.start]
            .match_indices(key)
            .map(|(at, _)| at)
            .filter(|&at| is_key_at(text, at, key))
            .last();
        message = format!("duplicate key `{key}`");
        if let Some(at) = first {
            let first_path = path_at(text, at);
            field = format!(
                "{}: ",
                if first_path.is_empty() {
                    key
                } else {
                    &first_path
                }
            );
            message.push_str(&format!(", first set on line {}", line_col(text, at).0));
        }
        message.push_str(": a key may be set only once in a table");
    }
    ScenarioError::Parse {
        path: path.to_path_buf(),
        line,
        column,
        field,
        message,
    }
}

/// Whether `key` at byte `at` of `text` is written as a key: first on its line (or after `{`,
/// `,` or `[`) and followed by `=`, `.` or `]`.
fn is_key_at(text: &str, at: usize, key: &str) -> bool {
    let before = text[..at].trim_end_matches([' ', '\t', '[']);
    let after = text[at + key.len()..].trim_start_matches([' ', '\t']);
    (before.is_empty() || before.ends_with(['\n', '{', ','])) && after.starts_with(['=', '.', ']'])
}

/// The deepest field path whose value's span contains `offset` (for parser errors); a document
/// with syntax errors is read as far as the parser can.
pub fn path_at(text: &str, offset: usize) -> String {
    let (root, _) = DeTable::parse_recoverable(text);
    let mut path = String::new();
    let mut value: Option<&toml::Spanned<DeValue<'_>>> = None;
    let mut table: Option<&DeTable<'_>> = Some(root.get_ref());
    loop {
        let mut found = None;
        if let Some(t) = table {
            for (k, v) in t.iter() {
                if extent(v).contains(&offset) || k.span().contains(&offset) {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(k.get_ref().as_ref());
                    found = Some(v);
                    break;
                }
            }
        } else if let Some(DeValue::Array(a)) = value.map(|v| v.get_ref()) {
            for (i, v) in a.iter().enumerate() {
                if extent(v).contains(&offset) {
                    path.push_str(&format!("[{i}]"));
                    found = Some(v);
                    break;
                }
            }
        }
        let Some(v) = found else { break };
        value = Some(v);
        table = match v.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => None,
        };
    }
    path
}
