//! The command line: clap definitions, exit codes (0 success, 2 invalid input, 1 anything else),
//! progress on stderr, and the final summary on stdout.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::batch::{self, BatchConfig};
use crate::engine::Layout;
use crate::report::{self, RunsWriter, Staging, TrajectoriesWriter};
use crate::scenario::{BASELINE_TOML, ChainKind, Scenario, ScenarioError, diff_lines, load_merged};

/// Capital flows between Ethereum L1, optimistic and ZK rollups, and alt-L1s: a discrete-event,
/// agent-based Monte Carlo simulator.
#[derive(Debug, Parser)]
#[command(name = "l2sim", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a batch of Monte Carlo runs and write tables, summary and charts.
    Run(RunArgs),
    /// Parse and check a scenario, print a one-screen summary, write nothing.
    Validate {
        /// Scenario file (TOML).
        scenario: PathBuf,
    },
    /// Write an annotated starter scenario (the baseline, renamed).
    Init {
        /// Where to write it.
        #[arg(default_value = "scenario.toml")]
        path: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Scenario file (TOML); the built-in baseline when omitted.
    scenario: Option<PathBuf>,
    /// Number of Monte Carlo runs (default: the scenario's `runs`).
    #[arg(long)]
    runs: Option<u64>,
    /// Master seed (default: the scenario's `seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Worker threads (default: every core). Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Output folder (default: outputs/<scenario name>/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Skip the charts.
    #[arg(long)]
    no_plots: bool,
    /// Also write every run's trajectories to trajectories.csv.
    #[arg(long)]
    save_runs: bool,
    /// Print nothing on stderr.
    #[arg(long, short)]
    quiet: bool,
}

/// An error in what the user gave us: flags, paths, scenario (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let input = e
                .chain()
                .any(|c| c.is::<ScenarioError>() || c.is::<InputError>());
            eprintln!("error: {e:#}");
            ExitCode::from(if input { 2 } else { 1 })
        }
    }
}

fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run(args) => run(args),
        Command::Validate { scenario } => validate(&scenario),
        Command::Init { path } => init(&path),
    }
}

fn load(path: Option<&Path>) -> Result<Scenario> {
    Ok(match path {
        Some(p) => Scenario::from_file(p)?,
        None => Scenario::from_toml_str(BASELINE_TOML, Path::new("<built-in baseline.toml>"))?,
    })
}

fn run(args: RunArgs) -> Result<()> {
    let mut scenario = load(args.scenario.as_deref())?;
    if let Some(runs) = args.runs {
        if !(1..=10_000_000).contains(&runs) {
            return Err(InputError(format!("--runs {runs}: must be in [1, 10000000]")).into());
        }
        scenario.runs = runs;
    }
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    if let Some(t) = args.threads
        && !(1..=1024).contains(&t)
    {
        return Err(InputError(format!("--threads {t}: must be in [1, 1024]")).into());
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("outputs").join(&scenario.name));
    if out.exists() && !out.is_dir() {
        return Err(InputError(format!(
            "--out {}: exists and is not a folder",
            out.display()
        ))
        .into());
    }
    let staging = Staging::new(&out).map_err(|e| {
        InputError(format!(
            "--out {}: cannot write there: {e:#}",
            out.display()
        ))
    })?;
    let log = |msg: &str| {
        if !args.quiet {
            eprintln!("l2sim: {msg}");
        }
    };
    log(&format!(
        "scenario {:?}: {} runs, seed {}, writing {}",
        scenario.name,
        scenario.runs,
        scenario.seed,
        out.display()
    ));

    let layout = Layout::new(&scenario);
    let mut runs_csv = RunsWriter::create(&staging.path().join("runs.csv"), &layout)?;
    let mut traj = if args.save_runs {
        Some(TrajectoriesWriter::create(
            &staging.path().join("trajectories.csv"),
        )?)
    } else {
        None
    };
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(scenario.runs);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} runs  {per_sec}  ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let progress = |done: u64| {
        if let Some(b) = &bar {
            b.set_position(done);
        }
    };
    let cfg = BatchConfig {
        runs: scenario.runs,
        seed: scenario.seed,
        threads: args.threads,
    };
    let result = batch::run_batch(&scenario, &cfg, &progress, &mut |out| {
        runs_csv.write(&layout, out)?;
        if let Some(t) = traj.as_mut() {
            t.write(&layout, out)?;
        }
        Ok(())
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    runs_csv.finish()?;
    if let Some(t) = traj {
        t.finish()?;
    }
    log(&format!(
        "{} runs in {:.2} s; writing tables{}",
        result.runs,
        result.wall_seconds,
        if args.no_plots { "" } else { " and charts" }
    ));
    report::write_run_report(staging.path(), &scenario, &result, !args.no_plots)?;
    let dir = staging.commit()?;
    print_run_summary(&scenario, &result, &dir);
    Ok(())
}

fn print_run_summary(scenario: &Scenario, result: &batch::BatchResult, dir: &Path) {
    let day = result.layout.sample_days.last().copied().unwrap_or(0.0);
    println!(
        "{}: {} runs, seed {}, day {day}",
        scenario.name, result.runs, result.seed
    );
    for m in [
        "l2_share",
        "zk_share_of_l2",
        "alt_l1_share",
        "tvl_total_usd",
        "mean_in_transit_usd",
        "zk_overtakes_day",
    ] {
        if let Some(s) = result.run_stat(m) {
            let missing = s.sketch.nan_count();
            println!(
                "  {m:<22} mean {:>14}  p05 {:>14}  p95 {:>14}{}",
                fmt(s.moments.mean),
                fmt(s.quantile(0.05)),
                fmt(s.quantile(0.95)),
                if missing > 0 {
                    format!("  (none in {missing} runs)")
                } else {
                    String::new()
                }
            );
        }
    }
    println!(
        "  conservation error max {:.2e}; {:.3e} decisions/s on {} threads",
        result.conservation_error_max,
        result.decisions as f64 / result.wall_seconds.max(1e-9),
        result.threads
    );
    println!("  results in {}", dir.display());
}

fn fmt(x: f64) -> String {
    if x.is_nan() {
        "-".into()
    } else if x.abs() >= 1e4 {
        format!("{x:.4e}")
    } else {
        format!("{x:.4}")
    }
}

fn validate(path: &Path) -> Result<()> {
    let sc = Scenario::from_file(path)?;
    println!("{}: valid scenario {:?}", path.display(), sc.name);
    if let Some(parent) = load_merged(path)?.parent {
        let base = Scenario::from_file(&parent)?;
        let lines = diff_lines(&base.raw, &sc.raw);
        println!(
            "  extends {} ({:?}), changing {} field(s):",
            parent.display(),
            base.name,
            lines.len()
        );
        for line in lines {
            println!("    {line}");
        }
    }
    if !sc.description.is_empty() {
        println!("  {}", sc.description.lines().next().unwrap_or(""));
    }
    println!(
        "  horizon {} days, sample every {} days, {} runs, seed {}",
        sc.horizon_days, sc.sample_every_days, sc.runs, sc.seed
    );
    println!("  chains ({}):", sc.chains.len());
    println!(
        "    {:<12} {:<11} {:>6} {:>12} {:>9} {:>9} {:>7}",
        "id", "kind", "launch", "tvl_usd", "tx_usd", "delay_d", "yield"
    );
    for c in &sc.chains {
        println!(
            "    {:<12} {:<11} {:>6} {:>12.4e} {:>9} {:>9} {:>7}",
            c.id,
            c.kind.as_str(),
            c.launch_day,
            c.initial_tvl_usd,
            c.tx_cost_usd,
            c.withdrawal_delay_days,
            c.organic_yield_apy
        );
    }
    let tvl: f64 = sc.chains.iter().map(|c| c.initial_tvl_usd).sum();
    for kind in ChainKind::ALL {
        let k: f64 = sc
            .chains
            .iter()
            .filter(|c| c.kind == kind)
            .map(|c| c.initial_tvl_usd)
            .sum();
        println!(
            "    {:<12} {:>5.1} % of initial TVL",
            kind.as_str(),
            100.0 * k / tvl
        );
    }
    println!("  segments ({}):", sc.segments.len());
    for s in &sc.segments {
        println!(
            "    {:<14} {:>9} agents, review every {:.1} days, logit scale {}",
            s.name,
            s.agents,
            1.0 / s.review_rate_per_day,
            s.logit_scale
        );
    }
    println!("  events: {}", sc.events.len());
    let reviews = sc.total_review_rate_per_day() * sc.horizon_days;
    println!(
        "  estimate: {:.3e} reviews per run, {:.3e} for all {} runs",
        reviews,
        reviews * sc.runs as f64,
        sc.runs
    );
    Ok(())
}

fn init(path: &Path) -> Result<()> {
    if path.exists() {
        return Err(InputError(format!(
            "{}: already exists; l2sim init never overwrites a file",
            path.display()
        ))
        .into());
    }
    let stem = path
        .file_stem()
        .map(|s| {
            s.to_string_lossy().to_lowercase().replace(
                |c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '-',
                "_",
            )
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "my_scenario".into());
    let text = BASELINE_TOML.replacen("name = \"baseline\"", &format!("name = \"{stem}\""), 1);
    std::fs::write(path, text)
        .with_context(|| format!("writing {}", path.display()))
        .map_err(|e| InputError(format!("{e:#}")))?;
    println!(
        "wrote {} (the baseline scenario, named {stem:?}); edit it, then: l2sim run {}",
        path.display(),
        path.display()
    );
    Ok(())
}
