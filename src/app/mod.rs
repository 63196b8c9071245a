//! The library API of l2sim's jobs, between `report` and `cli`: what the command line, a test, a
//! calibrator or a Python binding calls.
//!
//! A [`Plan`] is a job (`run`, `compare` or `sweep`) built from validated scenarios and plain
//! [`BatchOptions`] (no clap). It can be estimated ([`Plan::estimate`]), executed to owned
//! results in memory ([`Plan::execute`] → [`Outcome`]) or written to an output folder
//! ([`Plan::write`] → [`Written`]); [`merge`] and [`check_shards`] do the same for a set of shard
//! folders. A direct run and a merge end in the same finishing pipeline. Progress and
//! cancellation come in through [`Control`]; nothing here prints. Errors are [`Error`] values
//! that carry file, line, column and field.
//!
//! Invariants: `app` never calls rayon (threads are `batch`'s), writes files only through
//! `report` (whose [`report::Staging`] is the commit step), and knows neither clap nor exit
//! codes. [`system`] is the one place that asks the operating system about the machine.
//!
//! ```
//! use std::path::Path;
//! use l2sim::app::{BatchOptions, Control, Plan, load_scenario};
//!
//! let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/small.toml");
//! let scenario = load_scenario(Some(&file))?;
//! let options = BatchOptions { runs: Some(8), ..BatchOptions::default() };
//! let outcome = Plan::run(scenario, options)?.execute(&Control::silent())?;
//! let run = outcome.as_run().expect("a run plan gives run results");
//! // Statistics across the 8 runs of a final-day metric, and every run's own value.
//! let zk_share = run.final_stat("zk_share_of_l2", None).expect("a system metric");
//! assert_eq!(zk_share.moments().count, 8);
//! assert!((0.0..=1.0).contains(&zk_share.quantile(0.5)));
//! let tvl = run.finals.as_ref().unwrap().column("tvl_usd.zk").expect("chain `zk` exists");
//! assert_eq!(tvl.len(), 8);
//! # Ok::<(), l2sim::app::Error>(())
//! ```

mod calibrate;
mod control;
mod error;
mod execute;
pub mod explore;
mod inspect;
mod merge;
mod outcome;
mod plan;
mod summary;
pub mod system;

pub use calibrate::{
    CHI2_1_95, CalibrateOptions, Calibrated, Calibration, DEFAULT_BUDGET, DEFAULT_RUNS,
    PROFILE_POINTS, latin_hypercube,
};
pub use control::{Control, Level, Message, Progress, Silent};
pub use error::{Error, Located, Result};
pub use execute::Written;
pub use inspect::{
    Validation, init, init_summary, plot, problems_json, read_document, schema_text, validate,
    validation_report,
};
pub use merge::{MergeOptions, ShardSet, check_shards, merge};
pub use outcome::{
    CompareResults, Explored, Outcome, RunResults, RunTable, SweepResults, column_name,
};
pub use plan::{
    BatchOptions, Job, MAX_RUNS, MAX_THREADS, MEMORY_SHARE, Plan, anchor, load_scenario,
    load_scenarios, load_sweep,
};
pub use summary::shard_set_summary;

pub use crate::batch::Shard;
pub use crate::batch::prim::PrimOptions;
pub use crate::report::shard::JobKind;

use std::path::Path;

use crate::report::{self, Staging};

/// Stages an output folder at `out` (report::output): locks it, refuses a path that is not a
/// folder, a folder holding files l2sim did not write, and one another command is writing;
/// reports what killed runs left beside it.
pub(crate) fn stage(out: &Path, ctl: &Control) -> Result<Staging> {
    staged(out, Staging::new(out), ctl)
}

/// Stages a redrawn copy of the result folder `out` (`plot`), locked like [`stage`].
pub(crate) fn stage_redraw(out: &Path, ctl: &Control) -> Result<Staging> {
    staged(out, Staging::redraw(out), ctl)
}

/// Before any work, every failure to stage `out` is about the path: an input error.
fn staged(out: &Path, staging: anyhow::Result<Staging>, ctl: &Control) -> Result<Staging> {
    let staging = staging.map_err(|e| {
        output_error(out, e, |e| {
            Error::input(
                Some(out),
                format!("--out {}: cannot write there: {e:#}", out.display()),
            )
        })
    })?;
    for note in staging.stale() {
        ctl.info(note.clone());
    }
    Ok(staging)
}

/// Moves a finished staging folder into place unless the job was asked to stop meanwhile: a
/// signal that arrives while tables or charts are written still leaves the earlier result alone.
/// With `parquet` (its key-value metadata), the tables get their Parquet copies first.
pub(crate) fn commit(
    staging: Staging,
    ctl: &Control,
    parquet: Option<&[(String, String)]>,
) -> Result<std::path::PathBuf> {
    if ctl.is_cancelled() {
        return Err(Error::Interrupted);
    }
    if let Some(metadata) = parquet {
        report::parquet::convert_folder(staging.path(), metadata).map_err(Error::Other)?;
        if ctl.is_cancelled() {
            return Err(Error::Interrupted);
        }
    }
    let dest = staging.dest().to_path_buf();
    // A failure after the work (a full disk) is not the input's fault.
    staging.commit().map_err(|e| {
        output_error(&dest, e, |e| {
            Error::Other(e.context(format!("writing {}", dest.display())))
        })
    })
}

/// An output folder refused (someone else's files, another command writing it) is the user's
/// to resolve: an input error; anything else is what `otherwise` makes of it.
fn output_error(
    out: &Path,
    e: anyhow::Error,
    otherwise: impl FnOnce(anyhow::Error) -> Error,
) -> Error {
    if e.chain().any(|c| c.is::<report::Refused>()) {
        Error::input(Some(out), format!("--out {e:#}"))
    } else {
        otherwise(e)
    }
}
