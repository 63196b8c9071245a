//! The command line: clap definitions, exit codes (0 success, 2 invalid input, 1 anything else),
//! progress on stderr, and the final summary on stdout. `simulate` runs the commands that
//! simulate (`run`, `compare`, `sweep`, `merge`); `inspect` those that only read (`validate`,
//! `plot`, `init`); `toolbox` what fits l2sim into a shell (completions, man page).

mod inspect;
mod shard;
mod simulate;
mod toolbox;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::scenario::ScenarioError;

/// `--version`: the package version and the git commit it was built from (see build.rs).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (git ",
    env!("L2SIM_GIT_COMMIT"),
    ")"
);

/// Capital flows between Ethereum L1, optimistic and ZK rollups, and alt-L1s: a discrete-event,
/// agent-based Monte Carlo simulator.
#[derive(Debug, Parser)]
#[command(name = "l2sim", version = VERSION, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Print nothing on stderr (no progress, no log lines); errors still go to stderr.
    #[arg(long, short, global = true)]
    quiet: bool,
    /// Say more on stderr: the settings, the resource estimate and every file written.
    #[arg(long, short, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    verbose: u8,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a batch of Monte Carlo runs and write tables, summary and charts.
    Run(RunArgs),
    /// Run two or more scenarios with common random numbers and compare each with the first.
    Compare(CompareArgs),
    /// Run every point of the scenario's [sweep] grid with common random numbers.
    Sweep {
        /// Scenario file with a [sweep] table.
        scenario: PathBuf,
        #[command(flatten)]
        batch: BatchArgs,
    },
    /// Merge the shard folders of one `run`, `compare` or `sweep --shard K/N` into exactly what
    /// the command writes without `--shard`.
    Merge {
        /// Every shard folder of the batch (any order), or a folder holding them (such as
        /// DIR.shards/ of scripts/slurm/submit.sh).
        #[arg(required = true, num_args = 1..)]
        shards: Vec<PathBuf>,
        /// Output folder (default: the command's, outputs/<name>/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Skip the charts.
        #[arg(long)]
        no_plots: bool,
        /// Print the merged folder's JSON summary on stdout instead of the table.
        #[arg(long)]
        json: bool,
        /// Also write Parquet copies of the tables (implied when the shards were run with it).
        #[arg(long)]
        parquet: bool,
        /// Only check that the shards form one complete, intact batch (reading every file);
        /// write nothing. Exit code 0 if they do, 2 (with what is wrong) if not.
        #[arg(long)]
        check: bool,
    },
    /// Parse and check a scenario, print a one-screen summary (and what it changes in the scenario
    /// it extends), write nothing.
    Validate {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// Print the summary (or the problems) as one JSON document on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Redraw every chart (and report.html) of a `run`, `compare` or `sweep` output folder from
    /// its CSV and JSON files.
    Plot {
        /// Output folder of `l2sim run`, `compare` or `sweep`.
        dir: PathBuf,
    },
    /// Write an annotated starter scenario (the baseline, renamed).
    Init {
        /// Where to write it.
        #[arg(default_value = "scenario.toml")]
        path: PathBuf,
    },
    /// Print a shell completion script: `source <(l2sim completions bash)`.
    Completions {
        /// Shell to complete in.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `l2sim man > l2sim.1 && man -l l2sim.1`.
    Man,
    /// Print the JSON Schema of scenario files (as committed in scenarios/l2sim.schema.json), or
    /// with --markdown the field reference docs/SCENARIOS.md generated from it.
    Schema {
        /// The field reference in Markdown instead of the schema.
        #[arg(long)]
        markdown: bool,
    },
}

/// Options shared by the commands that simulate.
#[derive(Debug, Clone, clap::Args)]
struct BatchArgs {
    /// Number of Monte Carlo runs (default: the scenario's `runs`).
    #[arg(long)]
    runs: Option<u64>,
    /// Master seed (default: the scenario's `seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Worker threads (default: every core). Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Output folder (default: outputs/<name>/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Skip the charts.
    #[arg(long)]
    no_plots: bool,
    /// Also write every run's trajectories to trajectories.csv.
    #[arg(long)]
    save_runs: bool,
    /// Also write every table as Parquet beside its CSV (quantiles.parquet, runs.parquet, ...):
    /// typed columns, dictionary-encoded names, Snappy compression. Shards pass it to merge.
    #[arg(long)]
    parquet: bool,
    /// Print the output folder's JSON document on stdout instead of the table (`run`:
    /// summary.json; `compare`: compare.json; `sweep`: sweep.json; a shard: shard.json).
    #[arg(long)]
    json: bool,
    /// Set from the global `--quiet`.
    #[arg(skip)]
    quiet: bool,
    /// Set from the global `--verbose`.
    #[arg(skip)]
    verbose: u8,
    /// Run even if the estimated peak memory exceeds what the machine has available.
    #[arg(long)]
    force: bool,
    /// Compute only shard K of N (e.g. 2/8) and write a shard folder for `l2sim merge`: runs are
    /// cut into blocks of 32, and shard K takes blocks ⌊(K−1)·B/N⌋ to ⌊K·B/N⌋ of the B blocks.
    #[arg(long, value_name = "K/N", value_parser = crate::batch::Shard::parse)]
    shard: Option<crate::batch::Shard>,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Scenario file (TOML); the built-in baseline when omitted.
    scenario: Option<PathBuf>,
    #[command(flatten)]
    batch: BatchArgs,
}

#[derive(Debug, clap::Args)]
struct CompareArgs {
    /// Scenario files: the first is the reference A, every other one is compared with it.
    #[arg(required = true, num_args = 2..)]
    scenarios: Vec<PathBuf>,
    #[command(flatten)]
    batch: BatchArgs,
}

/// An error in what the user gave us: flags, paths, scenario (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = parse();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.chain().any(|c| c.is::<crate::batch::Interrupted>()) => {
            eprintln!("l2sim: interrupted; nothing written, earlier results untouched");
            ExitCode::from(130)
        }
        Err(e) => {
            let input = e
                .chain()
                .any(|c| c.is::<ScenarioError>() || c.is::<InputError>());
            eprintln!("error: {e:#}");
            ExitCode::from(if input { 2 } else { 1 })
        }
    }
}

/// Whether colour is off: `NO_COLOR` set to anything but the empty string (no-color.org).
pub fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Parses the command line; help and errors are never coloured under `NO_COLOR`.
fn parse() -> Cli {
    let mut cmd = Cli::command();
    if no_color() {
        cmd = cmd.color(clap::ColorChoice::Never);
    }
    let matches = cmd.get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

fn dispatch(cli: Cli) -> Result<()> {
    let (quiet, verbose) = (cli.quiet, cli.verbose);
    let with = |mut b: BatchArgs| {
        b.quiet = quiet;
        b.verbose = verbose;
        b
    };
    match cli.command {
        Command::Run(args) => simulate::run(args.scenario.as_deref(), &with(args.batch)),
        Command::Compare(args) => simulate::compare(&args.scenarios, &with(args.batch)),
        Command::Sweep { scenario, batch } => simulate::sweep(&scenario, &with(batch)),
        Command::Merge {
            shards,
            out,
            no_plots,
            json,
            parquet,
            check,
        } => shard::merge(
            &shards,
            &shard::MergeOptions {
                out,
                no_plots,
                parquet,
                check,
                quiet,
                verbose,
                json,
            },
        ),
        Command::Validate { scenario, json } => inspect::validate(&scenario, json),
        Command::Plot { dir } => inspect::plot(&dir),
        Command::Init { path } => inspect::init(&path),
        Command::Completions { shell } => toolbox::completions(shell),
        Command::Man => toolbox::man(),
        Command::Schema { markdown } => toolbox::schema(markdown),
    }
}
