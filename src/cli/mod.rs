//! The command line: parse → call the library (`app`) → print → exit code (0 success, 2
//! invalid input, 130 interrupted, 1 anything else). Only this module knows clap and exit codes;
//! it neither simulates nor writes files. `terminal` shows progress on stderr; `toolbox` fits
//! l2sim into a shell (completions, man page, schema).

mod terminal;
mod toolbox;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::app::{self, BatchOptions, Error, MergeOptions, Plan, Written};
use terminal::Terminal;

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
    /// Sobol indices (first order S1 and total ST, Saltelli/Jansen, bootstrap intervals) or Morris
    /// screening (μ*, σ) of output metrics over the scenario's [sweep] design (design = "sobol"
    /// or "morris", with [[sweep.range]] parameters); every point runs with common random numbers.
    /// Writes sensitivity.csv, sensitivity.json, design.csv, charts/sensitivity and report.html
    /// beside the sweep's files.
    Sensitivity {
        /// Scenario file with a [sweep] design.
        scenario: PathBuf,
        /// An output metric (a column of runs.csv; repeat for several). Default: [sweep] metrics,
        /// else l2_share, zk_share_of_l2, alt_l1_share and zk_overtakes.
        #[arg(long = "metric", value_name = "METRIC")]
        metrics: Vec<String>,
        #[command(flatten)]
        batch: BatchArgs,
    },
    /// Scenario discovery: PRIM (the patient rule induction method) finds the box of parameter
    /// values where a binary outcome happens, over the scenario's [sweep] design or grid (every
    /// run at every point is one case). Writes discovery.csv (the peeling trajectory),
    /// discovery.json (the chosen box: bounds, coverage, density, each restriction's p-value),
    /// charts/discovery and report.html beside the sweep's files.
    Discover {
        /// Scenario file with a [sweep] design or grid.
        scenario: PathBuf,
        /// The binary outcome of a run: COLUMN OP NUMBER with a column of runs.csv and an OP among
        /// `>`, `>=`, `<`, `<=`, `==`, `!=` (e.g. "zk_share_of_l2 > 0.3"), or an indicator column
        /// on its own (zk_overtakes). Default: [sweep] outcome.
        #[arg(long)]
        outcome: Option<String>,
        /// The box chosen is the densest on the peeling trajectory that still covers at least this
        /// share of the cases with the outcome (the whole trajectory is in discovery.csv).
        #[arg(long, default_value_t = 0.8)]
        min_coverage: f64,
        /// Share of the box's cases peeled at each step.
        #[arg(long, default_value_t = 0.05)]
        peel_alpha: f64,
        /// Share of the box's cases added at each pasting step (0: no pasting).
        #[arg(long, default_value_t = 0.05)]
        paste_alpha: f64,
        /// Peeling stops before the box holds less than this share of all cases.
        #[arg(long, default_value_t = 0.05)]
        min_mass: f64,
        #[command(flatten)]
        batch: BatchArgs,
    },
    /// Fit the scenario's [calibrate] parameters to observed targets through the simulator, with
    /// common random numbers; write calibrate.json, trace.csv, calibrated.toml, fit.png and
    /// report.html. Ctrl-C ends the search and keeps the best candidate so far.
    Calibrate(CalibrateArgs),
    /// Merge the shard folders of one `run`, `compare` or `sweep --shard K/N` into exactly what
    /// the command writes without `--shard`.
    Merge {
        /// Every shard folder of the batch (any order), or a folder holding them (such as
        /// DIR.shards/ of scripts/slurm/submit.sh).
        #[arg(required = true, num_args = 1..)]
        shards: Vec<PathBuf>,
        /// Output folder (default: the command's, outputs/<name>/); never one of the shard folders,
        /// inside one or holding one.
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
        /// For a sweep folder: also draw `charts/sweep_<METRIC>` (heat map or line) for this
        /// metric of `sweep.csv` (repeatable), e.g. `--metric zk_overtakes`.
        #[arg(long = "metric", value_name = "METRIC")]
        metrics: Vec<String>,
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
    /// Output folder (default: outputs/<name>/, where <name> is the scenario's name for run,
    /// compare_<A>_vs_<B> for compare, sweep_<name> for sweep, or the name alone when it
    /// already starts with sweep_).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Skip the charts.
    #[arg(long)]
    no_plots: bool,
    /// Also write every run's trajectories to trajectories.csv (run, compare); for a sweep,
    /// every run's final values of every point to points/<point>/runs.csv.
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
    /// Run even if the estimated peak memory exceeds what the machine has available.
    #[arg(long)]
    force: bool,
    /// Compute only shard K of N (e.g. 2/8) and write a shard folder for `l2sim merge`: runs are
    /// cut into blocks of 32, and shard K takes blocks ⌊(K−1)·B/N⌋ to ⌊K·B/N⌋ of the B blocks.
    #[arg(long, value_name = "K/N", value_parser = app::Shard::parse)]
    shard: Option<app::Shard>,
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

#[derive(Debug, clap::Args)]
struct CalibrateArgs {
    /// Scenario file with a [calibrate] table.
    scenario: PathBuf,
    /// Observed targets: tidy CSV with `date` or `day`, `metric`, `chain`, `value`, optional
    /// `weight` (default: `targets` in [calibrate]).
    #[arg(long)]
    targets: Option<PathBuf>,
    /// Runs per candidate, the same seeds for every candidate.
    #[arg(long, default_value_t = app::DEFAULT_RUNS)]
    runs: u64,
    /// Master seed (default: the scenario's `seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Evaluations of the search (start points and Nelder–Mead); the profile adds
    /// 9 per parameter.
    #[arg(long, default_value_t = app::DEFAULT_BUDGET)]
    budget: u64,
    /// Worker threads (default: every core). Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Output folder (default: outputs/<name>_calibrate/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Skip the fit chart.
    #[arg(long)]
    no_plots: bool,
    /// Print calibrate.json on stdout instead of the summary.
    #[arg(long)]
    json: bool,
}

impl BatchArgs {
    fn options(&self) -> BatchOptions {
        BatchOptions {
            runs: self.runs,
            seed: self.seed,
            threads: self.threads,
            plots: !self.no_plots,
            save_runs: self.save_runs,
            parquet: self.parquet,
            force: self.force,
            shard: self.shard,
        }
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = parse();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Interrupted) => {
            eprintln!("l2sim: interrupted; nothing written, earlier results untouched");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(if e.is_input() { 2 } else { 1 })
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

fn dispatch(cli: Cli) -> Result<(), Error> {
    let term = Terminal::new(cli.quiet, cli.verbose);
    match cli.command {
        Command::Run(args) => {
            let scenario = app::load_scenario(args.scenario.as_deref())?;
            let plan = Plan::run(scenario, args.batch.options())?;
            write(&plan, &args.batch, &term)
        }
        Command::Compare(args) => {
            let scenarios = app::load_scenarios(&args.scenarios)?;
            let plan = Plan::compare(scenarios, args.batch.options())?;
            write(&plan, &args.batch, &term)
        }
        Command::Sweep { scenario, batch } => {
            let plan = Plan::sweep(app::load_sweep(&scenario)?, batch.options())?;
            write(&plan, &batch, &term)
        }
        Command::Sensitivity {
            scenario,
            metrics,
            batch,
        } => {
            let plan = Plan::sensitivity(app::load_sweep(&scenario)?, batch.options(), &metrics)?;
            write(&plan, &batch, &term)
        }
        Command::Discover {
            scenario,
            outcome,
            min_coverage,
            peel_alpha,
            paste_alpha,
            min_mass,
            batch,
        } => {
            let prim = app::PrimOptions {
                peel_alpha,
                paste_alpha,
                min_mass,
                min_coverage,
            };
            let sweep = app::load_sweep(&scenario)?;
            let plan = Plan::discover(sweep, batch.options(), outcome.as_deref(), &prim)?;
            write(&plan, &batch, &term)
        }
        Command::Calibrate(args) => calibrate(args, &term),
        Command::Merge {
            check: true,
            shards,
            ..
        } => {
            println!("{}", app::shard_set_summary(&app::check_shards(&shards)?));
            Ok(())
        }
        Command::Merge {
            shards,
            out,
            no_plots,
            json,
            parquet,
            ..
        } => {
            let opts = MergeOptions {
                out,
                plots: !no_plots,
                parquet,
            };
            done(&app::merge(&shards, &opts, &term.control())?, json, &term)
        }
        Command::Validate { scenario, json } => {
            let (text, outcome) = app::validation_report(&scenario, json);
            text.iter().for_each(|t| println!("{t}"));
            outcome
        }
        Command::Plot { dir, metrics } => {
            for d in app::plot(&dir, &metrics, &term.control())? {
                println!("redrew the charts of {}", d.display());
            }
            Ok(())
        }
        Command::Init { path } => {
            let (name, files) = app::init(&path)?;
            println!("{}", app::init_summary(&name, &files));
            Ok(())
        }
        Command::Completions { shell } => Ok(toolbox::completions(shell)?),
        Command::Man => Ok(toolbox::man()?),
        Command::Schema { markdown } => Ok(toolbox::schema(markdown)?),
    }
}

/// Runs a plan into `--out` (or its default folder), cancellable by SIGINT and SIGTERM.
fn write(plan: &Plan, args: &BatchArgs, term: &Terminal) -> Result<(), Error> {
    let out = args.out.clone().unwrap_or_else(|| plan.default_out());
    done(&plan.write(&out, &term.control())?, args.json, term)
}

/// The folder is in place: prints its JSON document (`--json`) or the summary on stdout, and
/// with `-v` every file written on stderr.
fn done(written: &Written, json: bool, term: &Terminal) -> Result<(), Error> {
    if json {
        print!(
            "{}",
            app::read_document(&written.dir().join(written.json_file()))?
        );
    } else {
        println!("{}", written.summary());
    }
    if term.verbose > 0 {
        for (file, size) in written.files() {
            eprintln!("l2sim: wrote {} ({size} bytes)", file.display());
        }
    }
    Ok(())
}

/// `calibrate`: fits, writes the folder, prints the summary (or calibrate.json).
fn calibrate(args: CalibrateArgs, term: &Terminal) -> Result<(), Error> {
    let options = app::CalibrateOptions {
        targets: args.targets,
        runs: Some(args.runs),
        seed: args.seed,
        budget: Some(args.budget),
        threads: args.threads,
        plots: !args.no_plots,
    };
    let cal = app::Calibration::new(&args.scenario, options)?;
    let out = args.out.clone().unwrap_or_else(|| cal.default_out());
    let (dir, found) = cal.write(&out, &term.control())?;
    if args.json {
        print!("{}", app::read_document(&dir.join("calibrate.json"))?);
    } else {
        println!("{}", found.summary(&dir));
    }
    Ok(())
}
