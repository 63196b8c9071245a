//! The commands that simulate: `run` and `compare`. Both stage their output folder, stream each
//! scenario's `runs.csv` while the batch runs, then write reports and rename the folder into place.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Result;

use super::{BatchArgs, InputError};
use crate::batch::{self, BatchConfig, BatchResult, Comparison, RunColumn, Stat};
use crate::engine::{Keep, Layout, RunOutput};
use crate::report::{
    self, RunsWriter, Staging, TrajectoriesWriter, compare, sweep as sweep_report,
};
use crate::scenario::{BASELINE_TOML, Scenario, expand_sweep};

fn load(path: Option<&Path>) -> Result<Scenario> {
    Ok(match path {
        Some(p) => Scenario::from_file(p)?,
        None => Scenario::from_toml_str(BASELINE_TOML, Path::new("<built-in baseline.toml>"))?,
    })
}

/// Checks the flags and applies `--runs` / `--seed` to a scenario.
fn apply_flags(scenario: &mut Scenario, args: &BatchArgs) -> Result<()> {
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
    Ok(())
}

fn stage(out: &Path) -> Result<Staging> {
    if out.exists() && !out.is_dir() {
        return Err(InputError(format!(
            "--out {}: exists and is not a folder",
            out.display()
        ))
        .into());
    }
    // Never replace a folder l2sim did not write: it may hold someone's work.
    let foreign = out.is_dir()
        && !out.join(report::MARKER).is_file()
        && std::fs::read_dir(out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true);
    if foreign {
        return Err(InputError(format!(
            "--out {}: exists, is not empty and was not written by l2sim (no {} marker); refusing to replace it: choose another --out or remove it yourself",
            out.display(),
            report::MARKER
        ))
        .into());
    }
    Staging::new(out).map_err(|e| {
        InputError(format!(
            "--out {}: cannot write there: {e:#}",
            out.display()
        ))
        .into()
    })
}

/// Refuses a batch whose estimated peak memory exceeds 80 % of the memory available now, unless
/// `--force`; says what to change.
fn guard_memory(scenarios: &[&Scenario], args: &BatchArgs, keep: Keep) -> Result<()> {
    let threads = args.threads.unwrap_or_else(rayon::current_num_threads);
    let est = batch::estimate(scenarios, scenarios[0].runs, threads, keep);
    let Some(available) = batch::available_memory_bytes() else {
        return Ok(());
    };
    if est.peak_bytes > 0.8 * available && !args.force {
        let agents: f64 = scenarios
            .iter()
            .map(|s| batch::agents_ever(s))
            .fold(0.0, f64::max);
        return Err(InputError(format!(
            "this batch needs about {:.1} GB at its peak ({threads} runs in flight with up to {agents:.0} agents each, \
             plus the per-sample statistics), more than 80 % of the {:.1} GB available: reduce the agents \
             (segments[].agents), raise sample_every_days, lower --threads, or pass --force to run anyway",
            est.peak_bytes / 1e9,
            available / 1e9
        ))
        .into());
    }
    Ok(())
}

/// The batch settings of a command: its flags, interruptible by SIGINT and SIGTERM.
fn batch_config(runs: u64, seed: u64, args: &BatchArgs, keep: Keep) -> BatchConfig {
    BatchConfig {
        runs,
        seed,
        threads: args.threads,
        keep,
        cancel: Some(interrupt_flag()),
    }
}

/// A flag that SIGINT and SIGTERM set: the batch stops, the staging folder is removed, earlier
/// results stay untouched, and l2sim exits with 130. A second SIGINT or SIGTERM exits at once.
fn interrupt_flag() -> Arc<AtomicBool> {
    static FLAG: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            // Registration only fails for forbidden signals; these two are allowed.
            let _ =
                signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&flag));
            let _ = signal_hook::flag::register(signal, Arc::clone(&flag));
        }
        flag
    })
    .clone()
}

/// An indicatif bar on stderr when it is a terminal (and not `--quiet`).
fn progress_bar(runs: u64, quiet: bool) -> Option<indicatif::ProgressBar> {
    (!quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(runs);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} runs  {per_sec}  ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    })
}

fn logger(quiet: bool) -> impl Fn(&str) {
    move |msg: &str| {
        if !quiet {
            eprintln!("l2sim: {msg}");
        }
    }
}

/// Runs `scenarios` with common random numbers, streaming each one's `runs.csv` (and, with
/// `--save-runs`, `trajectories.csv`) into its folder in `dirs`; `also` sees every run group.
fn simulate_into(
    dirs: &[PathBuf],
    scenarios: &[&Scenario],
    args: &BatchArgs,
    also: &mut dyn FnMut(&[&Layout], &[RunOutput]),
) -> Result<Vec<BatchResult>> {
    let layouts: Vec<Layout> = scenarios.iter().map(|s| Layout::new(s)).collect();
    let layout_refs: Vec<&Layout> = layouts.iter().collect();
    let mut writers = Vec::new();
    for (dir, layout) in dirs.iter().zip(&layouts) {
        std::fs::create_dir_all(dir)?;
        let traj = if args.save_runs {
            Some(TrajectoriesWriter::create(&dir.join("trajectories.csv"))?)
        } else {
            None
        };
        writers.push((RunsWriter::create(&dir.join("runs.csv"), layout)?, traj));
    }
    let runs = scenarios[0].runs;
    let bar = progress_bar(runs, args.quiet);
    let progress = |done: u64| {
        if let Some(b) = &bar {
            b.set_position(done);
        }
    };
    let cfg = batch_config(runs, scenarios[0].seed, args, Keep::Trajectory);
    let results = batch::run_paired(scenarios, &cfg, &progress, &mut |outs| {
        for (((runs_csv, traj), layout), out) in writers.iter_mut().zip(&layouts).zip(outs) {
            runs_csv.write(layout, out)?;
            if let Some(t) = traj.as_mut() {
                t.write(layout, out)?;
            }
        }
        also(&layout_refs, outs);
        Ok(())
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    for (runs_csv, traj) in writers {
        runs_csv.finish()?;
        if let Some(t) = traj {
            t.finish()?;
        }
    }
    Ok(results)
}

pub(super) fn run(path: Option<&Path>, args: &BatchArgs) -> Result<()> {
    let mut scenario = load(path)?;
    apply_flags(&mut scenario, args)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("outputs").join(&scenario.name));
    guard_memory(&[&scenario], args, Keep::Trajectory)?;
    let staging = stage(&out)?;
    let log = logger(args.quiet);
    log(&format!(
        "scenario {:?}: {} runs, seed {}, writing {}",
        scenario.name,
        scenario.runs,
        scenario.seed,
        out.display()
    ));
    let dir = staging.path().to_path_buf();
    let result = simulate_into(
        std::slice::from_ref(&dir),
        &[&scenario],
        args,
        &mut |_, _| {},
    )?
    .remove(0);
    log(&format!(
        "{} runs in {:.2} s; writing tables{}",
        result.runs,
        result.wall_seconds,
        if args.no_plots { "" } else { " and charts" }
    ));
    report::write_run_report(&dir, &scenario, &result, !args.no_plots)?;
    let dir = staging.commit()?;
    print_run_summary(&scenario, &result, &dir);
    Ok(())
}

pub(super) fn compare(paths: &[PathBuf], args: &BatchArgs) -> Result<()> {
    let mut scenarios = Vec::new();
    for p in paths {
        let mut s = load(Some(p))?;
        apply_flags(&mut s, args)?;
        scenarios.push(s);
    }
    // Common random numbers need one seed and one number of runs: the reference's.
    let (runs, seed) = (scenarios[0].runs, scenarios[0].seed);
    for s in &mut scenarios[1..] {
        s.runs = runs;
        s.seed = seed;
    }
    let names: Vec<&str> = scenarios.iter().map(|s| s.name.as_str()).collect();
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("outputs").join(format!("compare_{}", names.join("_vs_"))));
    guard_memory(
        &scenarios.iter().collect::<Vec<_>>(),
        args,
        Keep::Trajectory,
    )?;
    let staging = stage(&out)?;
    let log = logger(args.quiet);
    log(&format!(
        "comparing {} with {}: {runs} runs each, seed {seed}, writing {}",
        names[1..].join(", "),
        names[0],
        out.display()
    ));
    let dirs: Vec<PathBuf> = scenarios
        .iter()
        .enumerate()
        .map(|(i, s)| {
            staging
                .path()
                .join(format!("{}_{}", (b'A' + i as u8) as char, s.name))
        })
        .collect();
    let refs: Vec<&Scenario> = scenarios.iter().collect();
    let mut comparison: Option<Comparison> = None;
    let results = simulate_into(&dirs, &refs, args, &mut |layouts, outs| {
        comparison
            .get_or_insert_with(|| Comparison::new(layouts))
            .add(layouts, outs);
    })?;
    let comparison = comparison.ok_or_else(|| anyhow::anyhow!("the comparison ran no run"))?;
    log(&format!(
        "{} runs of {} scenarios in {:.2} s; writing reports",
        runs,
        scenarios.len(),
        results[0].wall_seconds
    ));
    for ((dir, sc), result) in dirs.iter().zip(&refs).zip(&results) {
        report::write_run_report(dir, sc, result, !args.no_plots)?;
    }
    let rows = compare::compare_rows(&refs, &comparison);
    report::write_compare_report(
        staging.path(),
        &refs,
        &results,
        &rows,
        &dirs,
        !args.no_plots,
    )?;
    let dir = staging.commit()?;
    print_compare_summary(&rows, &dir);
    Ok(())
}

pub(super) fn sweep(path: &Path, args: &BatchArgs) -> Result<()> {
    if args.save_runs {
        return Err(InputError("--save-runs: a sweep keeps final values only; run a grid point with `l2sim run` to save its trajectories".into()).into());
    }
    let mut sw = expand_sweep(path)?;
    apply_flags(&mut sw.base, args)?;
    let (runs, seed) = (sw.base.runs, sw.base.seed);
    for p in &mut sw.points {
        // Common random numbers across grid points: one seed, one number of runs.
        p.scenario.runs = runs;
        p.scenario.seed = seed;
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("outputs").join(format!("sweep_{}", sw.base.name)));
    guard_memory(
        &sw.points.iter().map(|p| &p.scenario).collect::<Vec<_>>(),
        args,
        Keep::Final,
    )?;
    let staging = stage(&out)?;
    let log = logger(args.quiet);
    log(&format!(
        "sweep of {:?}: {} points × {runs} runs, seed {seed}, over {}; writing {}",
        sw.base.name,
        sw.points.len(),
        sw.fields.join(", "),
        out.display()
    ));
    let refs: Vec<&Scenario> = sw.points.iter().map(|p| &p.scenario).collect();
    let layouts: Vec<Layout> = refs.iter().map(|s| Layout::new(s)).collect();
    let base_layout = Layout::new(&sw.base);
    let metrics = batch::headline_columns(&base_layout, &base_layout);
    let columns: Vec<Vec<RunColumn>> = layouts
        .iter()
        .map(|l| metrics.iter().map(|m| RunColumn::find(l, m)).collect())
        .collect();
    let mut stats = vec![vec![Stat::default(); metrics.len()]; refs.len()];
    let bar = progress_bar(runs, args.quiet);
    let progress = |done: u64| {
        if let Some(b) = &bar {
            b.set_position(done);
        }
    };
    let cfg = batch_config(runs, seed, args, Keep::Final);
    let results = batch::run_paired(&refs, &cfg, &progress, &mut |outs| {
        for (p, out) in outs.iter().enumerate() {
            for (stat, col) in stats[p].iter_mut().zip(&columns[p]) {
                stat.add(col.value(&layouts[p], out));
            }
        }
        Ok(())
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    log(&format!(
        "{} points × {runs} runs in {:.2} s; writing reports",
        refs.len(),
        results[0].wall_seconds
    ));
    let mut rows = Vec::new();
    for (p, point) in sw.points.iter().enumerate() {
        let params: Vec<String> = point
            .params
            .iter()
            .map(|(_, v)| sweep_report::param_label(v))
            .collect();
        for (metric, stat) in metrics.iter().zip(&stats[p]) {
            rows.push(sweep_report::SweepRow::of(p, params.clone(), metric, stat));
        }
    }
    let info = sweep_report::SweepInfo {
        l2sim_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: sw.base.name.clone(),
        runs,
        seed,
        points: sw.points.len(),
        axes: sweep_report::axes(&sw),
        conservation_error_max: results
            .iter()
            .map(|r| r.conservation_error_max)
            .fold(0.0, f64::max),
    };
    let dir = staging.path().to_path_buf();
    std::fs::write(dir.join("scenario.resolved.toml"), sw.base.resolved_toml())?;
    report::write_sweep_report(&dir, &sw.fields, &info, &rows, !args.no_plots)?;
    let dir = staging.commit()?;
    print_sweep_summary(&sw.fields, &rows, &dir);
    Ok(())
}

fn print_sweep_summary(fields: &[String], rows: &[sweep_report::SweepRow], dir: &Path) {
    println!(
        "{:>5}  {:<40}  {:>24}  {:>24}",
        "point",
        fields.join(", "),
        "zk_share_of_l2 (95% CI)",
        "l2_share (95% CI)"
    );
    let metric = |m: &'static str| rows.iter().filter(move |r| r.metric == m);
    for (zk, l2) in metric("zk_share_of_l2").zip(metric("l2_share")).take(40) {
        let ci = |r: &sweep_report::SweepRow| {
            format!("{:.4} [{:.4}, {:.4}]", r.stats[0], r.stats[2], r.stats[3])
        };
        println!(
            "{:>5}  {:<40}  {:>24}  {:>24}",
            zk.point,
            zk.params.join(", "),
            ci(zk),
            ci(l2)
        );
    }
    println!("  results in {}", dir.display());
}

fn print_compare_summary(rows: &[compare::CompareRow], dir: &Path) {
    for r in rows.iter().filter(|r| {
        [
            "l2_share",
            "zk_share_of_l2",
            "alt_l1_share",
            "zk_overtakes",
            "peak_in_transit_usd",
        ]
        .contains(&r.metric.as_str())
    }) {
        println!(
            "{} − {}: {:<20} mean {:>11}  95% [{}, {}]  P(B>A) {:.2}  variance reduction {:.0} %",
            r.scenario_b,
            r.scenario_a,
            r.metric,
            fmt(r.mean_diff),
            fmt(r.ci95_low),
            fmt(r.ci95_high),
            r.p_b_gt_a,
            100.0 * r.variance_reduction
        );
    }
    println!("  results in {}", dir.display());
}

pub(super) fn print_run_summary(scenario: &Scenario, result: &batch::BatchResult, dir: &Path) {
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
                fmt(if s.moments.count > 0 {
                    s.moments.mean
                } else {
                    f64::NAN
                }),
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
