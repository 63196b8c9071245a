//! Reading l2sim's own files back (`plot`, `merge`, `report.html`) without trusting them: CSV
//! columns found by their header name, every cell that must be a number checked, JSON parsed
//! into its type; every problem an [`Unreadable`] naming the file (and the line and column).
//! Nothing here writes.

use std::fs::File;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::scenario::input;

/// A file that cannot be read or does not hold what it should: bad input, not a bug.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct Unreadable {
    pub path: PathBuf,
    pub message: String,
}

impl Unreadable {
    pub fn new(path: &Path, message: impl Into<String>) -> Unreadable {
        Unreadable {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// The text of a file.
pub fn text(path: &Path) -> Result<String, Unreadable> {
    input::read_text(path, input::MAX_TOML_BYTES)
        .map_err(|e| Unreadable::new(path, format!("cannot read: {e}")))
}

/// A JSON file parsed into `T`; a syntax error or a missing or mistyped field is located.
pub fn json<T: DeserializeOwned>(path: &Path) -> Result<T, Unreadable> {
    serde_json::from_str(&text(path)?)
        .map_err(|e| Unreadable::new(path, format!("not the JSON l2sim writes here: {e}")))
}

/// A CSV file read row by row, its columns found by header name.
pub struct Csv {
    path: PathBuf,
    reader: csv::Reader<File>,
    headers: csv::StringRecord,
    record: csv::StringRecord,
    rows: u64,
}

impl Csv {
    /// Opens `path` and reads its header.
    pub fn open(path: &Path) -> Result<Csv, Unreadable> {
        let file = input::open(path, u64::MAX)
            .map_err(|e| Unreadable::new(path, format!("cannot read: {e}")))?;
        let mut reader = csv::Reader::from_reader(file);
        let headers = reader
            .headers()
            .map_err(|e| Unreadable::new(path, format!("its header cannot be read: {e}")))?
            .clone();
        Ok(Csv {
            path: path.to_path_buf(),
            reader,
            headers,
            record: csv::StringRecord::new(),
            rows: 0,
        })
    }

    /// The position of column `name`; an error naming the file and the column when it has none.
    pub fn column(&self, name: &str) -> Result<usize, Unreadable> {
        self.optional_column(name).ok_or_else(|| {
            Unreadable::new(
                &self.path,
                format!(
                    "no column {name:?} (its header is {:?})",
                    self.headers.iter().collect::<Vec<_>>().join(",")
                ),
            )
        })
    }

    /// The positions of columns `names`, in their order (see [`Csv::column`]).
    pub fn columns(&self, names: &[&str]) -> Result<Vec<usize>, Unreadable> {
        names.iter().map(|c| self.column(c)).collect()
    }

    /// The position of column `name`, if the file has it.
    pub fn optional_column(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }

    /// Moves to the next row: `Ok(false)` at the end. A row cut short (a truncated file) or
    /// with more fields than the header is an error naming its line; so is a file without rows.
    pub fn next_row(&mut self) -> Result<bool, Unreadable> {
        let more = self
            .reader
            .read_record(&mut self.record)
            .map_err(|e| Unreadable::new(&self.path, format!("damaged or truncated: {e}")))?;
        if more {
            self.rows += 1;
        } else if self.rows == 0 {
            return Err(Unreadable::new(
                &self.path,
                "no rows after the header (an empty or truncated file)",
            ));
        }
        Ok(more)
    }

    /// The text of column `col` in the current row.
    pub fn text(&self, col: usize) -> &str {
        self.record.get(col).unwrap_or_default()
    }

    /// Column `col` of the current row as a number: empty is a missing value (NaN), anything
    /// else must parse.
    pub fn number(&self, col: usize) -> Result<f64, Unreadable> {
        let s = self.text(col);
        if s.is_empty() {
            return Ok(f64::NAN);
        }
        s.parse().map_err(|_| self.not_a(col, "number"))
    }

    /// Column `col` of the current row as a count (a whole number ≥ 0).
    pub fn count(&self, col: usize) -> Result<u64, Unreadable> {
        self.text(col).parse().map_err(|_| self.not_a(col, "count"))
    }

    /// Column `col` of the current row as a flag: `true` or `false`.
    pub fn flag(&self, col: usize) -> Result<bool, Unreadable> {
        match self.text(col) {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(self.not_a(col, "flag (true or false)")),
        }
    }

    fn not_a(&self, col: usize, what: &str) -> Unreadable {
        let line = self.record.position().map_or(0, |p| p.line());
        Unreadable::new(
            &self.path,
            format!(
                "line {line}, column {:?}: {:?} is not a {what}",
                self.headers.get(col).unwrap_or_default(),
                self.text(col)
            ),
        )
    }
}
