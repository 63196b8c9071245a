//! Errors of the library API: values that say whose fault a failure is (the input, a
//! cancellation, a bug, the machine) and, for input, where it is: file, line, column and field.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::batch::{Interrupted, RunPanicked};
use crate::report::read::Unreadable;
use crate::scenario::ScenarioError;

/// Everything an `app` function can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An invalid scenario (or a file a scenario names): every problem, located.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// An option out of range: `option` as the command line spells it, what was given, what is
    /// allowed.
    #[error("--{option} {value}: must be {allowed}")]
    Option {
        option: &'static str,
        value: String,
        allowed: String,
    },
    /// Other bad input: a path, an output folder, a shard set; `path` is the file or folder.
    #[error("{message}")]
    Input {
        path: Option<PathBuf>,
        message: String,
    },
    /// Stopped through [`super::Control::cancel`]; nothing was written, earlier results stand.
    #[error("interrupted")]
    Interrupted,
    /// A run panicked: a bug, reported with the flags that replay it.
    #[error(transparent)]
    Panicked(#[from] RunPanicked),
    /// Anything else (a full disk, an unreadable folder): not the input's fault.
    #[error("{0:#}")]
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Error {
        let e = match e.downcast::<Error>() {
            Ok(app) => return app,
            Err(e) => e,
        };
        let e = match e.downcast::<ScenarioError>() {
            Ok(s) => return Error::Scenario(s),
            Err(e) => e,
        };
        let e = match e.downcast::<RunPanicked>() {
            Ok(p) => return Error::Panicked(p),
            Err(e) => e,
        };
        if e.chain().any(|c| c.is::<Interrupted>()) {
            return Error::Interrupted;
        }
        // A damaged file l2sim reads back (`plot`, `merge`): the input's fault, located.
        if let Some(u) = e.chain().find_map(|c| c.downcast_ref::<Unreadable>()) {
            return Error::Input {
                path: Some(u.path.clone()),
                message: format!("{e:#}"),
            };
        }
        Error::Other(e)
    }
}

/// One located problem, as `validate --json` prints it and a binding would show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Located {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub field: String,
    pub message: String,
}

impl Error {
    /// Bad input about `path`.
    pub fn input(path: Option<&Path>, message: impl Into<String>) -> Error {
        Error::Input {
            path: path.map(Path::to_path_buf),
            message: message.into(),
        }
    }

    /// Whether the input was at fault (exit code 2 at the command line).
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            Error::Scenario(_) | Error::Option { .. } | Error::Input { .. }
        )
    }

    /// Every problem with its location; `file` names the scenario when the error has no file of
    /// its own.
    pub fn problems(&self, file: &Path) -> Vec<Located> {
        let one = |f: &Path, loc: Option<(usize, usize)>, field: &str, message: String| Located {
            file: f.display().to_string(),
            line: loc.map(|l| l.0),
            column: loc.map(|l| l.1),
            field: field.to_string(),
            message,
        };
        match self {
            Error::Scenario(ScenarioError::Unreadable { path, what, source }) => {
                vec![one(path, None, "", format!("cannot read {what}: {source}"))]
            }
            Error::Scenario(ScenarioError::Parse {
                path,
                line,
                column,
                field,
                message,
            }) => vec![one(
                path,
                Some((*line, *column)),
                field.trim_end_matches([':', ' ']),
                message.trim_start_matches([':', ' ']).to_string(),
            )],
            Error::Scenario(
                ScenarioError::Invalid { problems, .. } | ScenarioError::Malformed { problems, .. },
            ) => problems
                .iter()
                .map(|p| {
                    one(
                        p.file.as_deref().unwrap_or(file),
                        p.location,
                        &p.path,
                        p.message.trim_start().to_string(),
                    )
                })
                .collect(),
            Error::Option { option, .. } => vec![one(file, None, option, self.to_string())],
            Error::Input { path, message } => {
                vec![one(
                    path.as_deref().unwrap_or(file),
                    None,
                    "",
                    message.clone(),
                )]
            }
            other => vec![one(file, None, "", other.to_string())],
        }
    }
}

/// The result type of the library API.
pub type Result<T, E = Error> = std::result::Result<T, E>;
