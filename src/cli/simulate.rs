//! The commands that simulate: `run` and `compare`. Both stage their output folder, stream each
//! scenario's `runs.csv` while the batch runs, then write reports and rename the folder into place.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result};

use super::shard::{Partial, ShardOutput, ShardWork, finish_shard};
use super::{BatchArgs, InputError};
use crate::batch::{
    self, BatchConfig, BatchResult, Blocked, Comparison, Moments, RunColumn, Stat, Units,
};
use crate::engine::{Keep, Layout, RunOutput};
use crate::report::shard::BlocksWriter;
use crate::report::{
    self, RunsWriter, Staging, TrajectoriesWriter, compare, sweep as sweep_report,
};
use crate::scenario::{BASELINE_TOML, Scenario, Sweep, expand_sweep};

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

pub(super) fn stage(out: &Path) -> Result<Staging> {
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
    let available = batch::available_memory_bytes();
    Say::of(args).detail(&format!(
        "{threads} threads; estimate: {:.3e} decisions per run, {:.3e} in all, peak memory about {:.0} MB{}",
        est.decisions_per_run,
        est.decisions_total,
        est.peak_bytes / 1e6,
        available.map_or(String::new(), |a| format!(" of {:.1} GB available", a / 1e9))
    ));
    let Some(available) = available else {
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
        blocks: None,
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

/// How a command talks: `--quiet`, `--verbose`, `--json`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Say {
    pub(super) quiet: bool,
    pub(super) verbose: u8,
    pub(super) json: bool,
    /// `--parquet`: Parquet copies of the tables, written just before the folder is committed.
    pub(super) parquet: bool,
}

impl Say {
    pub(super) fn of(args: &BatchArgs) -> Say {
        Say {
            quiet: args.quiet,
            verbose: args.verbose,
            json: args.json,
            parquet: args.parquet,
        }
    }

    /// Moves the staged folder into place, with Parquet copies of its tables first if asked.
    pub(super) fn commit(&self, staging: Staging) -> Result<PathBuf> {
        if self.parquet {
            report::parquet::convert_folder(staging.path())?;
        }
        staging.commit()
    }

    /// A progress line on stderr, unless `--quiet`.
    pub(super) fn log(&self, msg: &str) {
        if !self.quiet {
            eprintln!("l2sim: {msg}");
        }
    }

    /// A detail for `-v` on stderr.
    pub(super) fn detail(&self, msg: &str) {
        if self.verbose > 0 {
            eprintln!("l2sim: {msg}");
        }
    }

    /// The output folder `dir` is in place: prints its JSON document `json_file` (`--json`) or
    /// the human summary on stdout, and with `-v` every file written on stderr.
    pub(super) fn done(&self, dir: &Path, json_file: &str, human: impl FnOnce()) -> Result<()> {
        if self.json {
            let text = std::fs::read_to_string(dir.join(json_file))
                .with_context(|| format!("reading {json_file}"))?;
            print!("{text}");
        } else {
            human();
        }
        if self.verbose > 0 {
            let mut files = Vec::new();
            list_files(dir, &mut files);
            files.sort();
            for f in files {
                let size = std::fs::metadata(&f).map_or(0, |m| m.len());
                eprintln!("l2sim: wrote {} ({size} bytes)", f.display());
            }
        }
        Ok(())
    }
}

fn list_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            list_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Statistics a command keeps besides the batch's own, fed run by run and closed block by block.
pub(super) trait Extra {
    fn add(&mut self, layouts: &[&Layout], outs: &[RunOutput]);
    /// Closes the block: appends its moments, as [`crate::batch::Blocked::end_block`] does.
    fn end_block(&mut self, out: &mut Vec<Moments>);
}

impl Extra for () {
    fn add(&mut self, _: &[&Layout], _: &[RunOutput]) {}
    fn end_block(&mut self, _: &mut Vec<Moments>) {}
}

impl Extra for Comparison {
    fn add(&mut self, layouts: &[&Layout], outs: &[RunOutput]) {
        Comparison::add(self, layouts, outs);
    }
    fn end_block(&mut self, out: &mut Vec<Moments>) {
        Blocked::end_block(self, out);
    }
}

/// The headline metrics of every sweep point.
pub(super) struct SweepStats {
    columns: Vec<Vec<RunColumn>>,
    stats: Vec<Vec<Stat>>,
}

impl Extra for SweepStats {
    fn add(&mut self, layouts: &[&Layout], outs: &[RunOutput]) {
        for (p, out) in outs.iter().enumerate() {
            for (stat, col) in self.stats[p].iter_mut().zip(&self.columns[p]) {
                stat.add(col.value(layouts[p], out));
            }
        }
    }
    fn end_block(&mut self, out: &mut Vec<Moments>) {
        self.stats.end_block(out);
    }
}

/// Streams runs to `runs.csv` / `trajectories.csv` and the command's statistics, and (for a
/// shard) every block's moments to `blocks.bin`, as blocks of group `group`.
struct CommandSink<'a> {
    layouts: Vec<&'a Layout>,
    writers: Vec<(RunsWriter, Option<TrajectoriesWriter>)>,
    extra: &'a mut dyn Extra,
    record: Option<(&'a mut BlocksWriter, u64)>,
    buf: Vec<Moments>,
}

impl batch::Sink for CommandSink<'_> {
    fn run(&mut self, outs: &[RunOutput]) -> Result<()> {
        for (((runs_csv, traj), layout), out) in
            self.writers.iter_mut().zip(&self.layouts).zip(outs)
        {
            runs_csv.write(layout, out)?;
            if let Some(t) = traj.as_mut() {
                t.write(layout, out)?;
            }
        }
        self.extra.add(&self.layouts, outs);
        Ok(())
    }

    fn end_block(&mut self, block: u64, moments: &[Moments]) -> Result<()> {
        self.buf.clear();
        self.buf.extend_from_slice(moments);
        self.extra.end_block(&mut self.buf);
        if let Some((w, group)) = self.record.as_mut() {
            w.write(*group, block, &self.buf)?;
        }
        Ok(())
    }
}

/// Runs `scenarios` with common random numbers (only `blocks` when given), streaming each one's
/// `runs.csv` (and, with `--save-runs`, `trajectories.csv`) into its folder in `dirs` (none for
/// a sweep) and feeding `extra`; a shard also records every block as one of group `record.1`.
fn simulate_into(
    dirs: &[PathBuf],
    scenarios: &[&Scenario],
    args: &BatchArgs,
    keep: Keep,
    extra: &mut dyn Extra,
    blocks: Option<std::ops::Range<u64>>,
    record: Option<(&mut BlocksWriter, u64)>,
) -> Result<Vec<BatchResult>> {
    let layouts: Vec<Layout> = scenarios.iter().map(|s| Layout::new(s)).collect();
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
    let todo = blocks.as_ref().map_or(runs, |b| {
        (b.end * batch::BLOCK_RUNS).min(runs) - (b.start * batch::BLOCK_RUNS).min(runs)
    });
    let bar = progress_bar(todo, args.quiet);
    let progress = |done: u64| {
        if let Some(b) = &bar {
            b.set_position(done);
        }
    };
    let mut sink = CommandSink {
        layouts: layouts.iter().collect(),
        writers,
        extra,
        record,
        buf: Vec::new(),
    };
    let mut cfg = batch_config(runs, scenarios[0].seed, args, keep);
    cfg.blocks = blocks;
    let results = batch::run_paired(scenarios, &cfg, &progress, &mut sink)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    for (runs_csv, traj) in sink.writers {
        runs_csv.finish()?;
        if let Some(t) = traj {
            t.finish()?;
        }
    }
    Ok(results)
}

/// The default output folder of a command, or of one shard of it.
fn out_dir(args: &BatchArgs, default: String) -> PathBuf {
    args.out.clone().unwrap_or_else(|| {
        let name = match args.shard {
            Some(s) => format!("{default}.shard-{}-of-{}", s.index, s.count),
            None => default,
        };
        Path::new("outputs").join(name)
    })
}

pub(super) fn run(path: Option<&Path>, args: &BatchArgs) -> Result<()> {
    let mut scenario = load(path)?;
    apply_flags(&mut scenario, args)?;
    let out = out_dir(args, scenario.name.clone());
    guard_memory(&[&scenario], args, Keep::Trajectory)?;
    let staging = stage(&out)?;
    let say = Say::of(args);
    say.log(&format!(
        "scenario {:?}: {} runs, seed {}{}, writing {}",
        scenario.name,
        scenario.runs,
        scenario.seed,
        shard_note(args),
        out.display()
    ));
    let dir = staging.path().to_path_buf();
    let mut work = ShardWork::new(args, one_group(scenario.runs), &dir)?;
    let result = simulate_into(
        std::slice::from_ref(&dir),
        &[&scenario],
        args,
        Keep::Trajectory,
        &mut (),
        work.as_ref().map(ShardWork::blocks),
        work.as_mut().map(|w| (&mut w.writer, 0)),
    )?
    .remove(0);
    if let Some(work) = work {
        let resolved = scenario.resolved_toml();
        std::fs::write(dir.join("scenario.resolved.toml"), &resolved)?;
        let out = ShardOutput {
            command: "run",
            scenarios: &[&scenario],
            resolved: &[resolved],
            dirs: Vec::new(),
            partial: Partial {
                results: vec![result],
                paired: Vec::new(),
                sweep: Vec::new(),
            },
        };
        return finish_shard(staging, work, args, out);
    }
    say.log(&format!(
        "{} runs in {:.2} s; writing tables{}",
        result.runs,
        result.wall_seconds,
        if args.no_plots { "" } else { " and charts" }
    ));
    report::write_run_report(&dir, &scenario, &result, !args.no_plots)?;
    let dir = say.commit(staging)?;
    say.done(&dir, "summary.json", || {
        print_run_summary(&scenario, &result, &dir)
    })
}

/// The units of work of `run` and `compare`: the blocks of one group.
fn one_group(runs: u64) -> Units {
    Units {
        groups: 1,
        blocks: batch::blocks::blocks(runs),
    }
}

fn shard_note(args: &BatchArgs) -> String {
    args.shard
        .map_or(String::new(), |s| format!(" (shard {s})"))
}

/// Loads the scenarios of `compare`: the reference's runs and seed apply to all.
fn load_compare(paths: &[PathBuf], args: &BatchArgs) -> Result<Vec<Scenario>> {
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
    Ok(scenarios)
}

/// Sub-folder of each scenario in a compare folder: `A_name`, `B_name`, ...
fn compare_dirs(scenarios: &[Scenario]) -> Vec<String> {
    scenarios
        .iter()
        .enumerate()
        .map(|(i, s)| format!("{}_{}", (b'A' + i as u8) as char, s.name))
        .collect()
}

pub(super) fn compare(paths: &[PathBuf], args: &BatchArgs) -> Result<()> {
    let scenarios = load_compare(paths, args)?;
    let (runs, seed) = (scenarios[0].runs, scenarios[0].seed);
    let names: Vec<&str> = scenarios.iter().map(|s| s.name.as_str()).collect();
    let out = out_dir(args, format!("compare_{}", names.join("_vs_")));
    guard_memory(
        &scenarios.iter().collect::<Vec<_>>(),
        args,
        Keep::Trajectory,
    )?;
    let staging = stage(&out)?;
    let say = Say::of(args);
    say.log(&format!(
        "comparing {} with {}: {runs} runs each, seed {seed}{}, writing {}",
        names[1..].join(", "),
        names[0],
        shard_note(args),
        out.display()
    ));
    let sub = compare_dirs(&scenarios);
    let dirs: Vec<PathBuf> = sub.iter().map(|d| staging.path().join(d)).collect();
    let refs: Vec<&Scenario> = scenarios.iter().collect();
    let layouts: Vec<Layout> = refs.iter().map(|s| Layout::new(s)).collect();
    let mut comparison = Comparison::new(&layouts.iter().collect::<Vec<_>>());
    let mut work = ShardWork::new(args, one_group(runs), staging.path())?;
    let results = simulate_into(
        &dirs,
        &refs,
        args,
        Keep::Trajectory,
        &mut comparison,
        work.as_ref().map(ShardWork::blocks),
        work.as_mut().map(|w| (&mut w.writer, 0)),
    )?;
    if let Some(work) = work {
        let mut resolved = Vec::new();
        for (dir, sc) in dirs.iter().zip(&refs) {
            let text = sc.resolved_toml();
            std::fs::write(dir.join("scenario.resolved.toml"), &text)?;
            resolved.push(text);
        }
        let out = ShardOutput {
            command: "compare",
            scenarios: &refs,
            resolved: &resolved,
            dirs: sub,
            partial: Partial {
                results,
                paired: comparison.against.iter().map(|a| a.stats.clone()).collect(),
                sweep: Vec::new(),
            },
        };
        return finish_shard(staging, work, args, out);
    }
    say.log(&format!(
        "{} runs of {} scenarios in {:.2} s; writing reports",
        runs,
        scenarios.len(),
        results[0].wall_seconds
    ));
    finish_compare(
        staging,
        &refs,
        &dirs,
        &results,
        &comparison,
        !args.no_plots,
        Say::of(args),
    )
}

/// Writes each scenario's run report and the comparison into the staged folder, moves it into
/// place and prints the summary.
pub(super) fn finish_compare(
    staging: Staging,
    refs: &[&Scenario],
    dirs: &[PathBuf],
    results: &[BatchResult],
    comparison: &Comparison,
    plots: bool,
    say: Say,
) -> Result<()> {
    for ((dir, sc), result) in dirs.iter().zip(refs).zip(results) {
        report::write_run_report(dir, sc, result, plots)?;
    }
    let rows = compare::compare_rows(refs, comparison);
    report::write_compare_report(staging.path(), refs, results, &rows, dirs, plots)?;
    let dir = say.commit(staging)?;
    say.done(&dir, "compare.json", || print_compare_summary(&rows, &dir))
}

/// The headline metrics of a sweep and where each point's values are.
pub(super) fn sweep_stats(sw: &Sweep) -> (Vec<String>, SweepStats) {
    let base_layout = Layout::new(&sw.base);
    let metrics = batch::headline_columns(&base_layout, &base_layout);
    let columns: Vec<Vec<RunColumn>> = sw
        .points
        .iter()
        .map(|p| {
            let l = Layout::new(&p.scenario);
            metrics.iter().map(|m| RunColumn::find(&l, m)).collect()
        })
        .collect();
    let stats = vec![vec![Stat::default(); metrics.len()]; sw.points.len()];
    (metrics, SweepStats { columns, stats })
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
    let out = out_dir(args, format!("sweep_{}", sw.base.name));
    guard_memory(
        &sw.points.iter().map(|p| &p.scenario).collect::<Vec<_>>(),
        args,
        Keep::Final,
    )?;
    let staging = stage(&out)?;
    let say = Say::of(args);
    say.log(&format!(
        "sweep of {:?}: {} points × {runs} runs, seed {seed}{}, over {}; writing {}",
        sw.base.name,
        sw.points.len(),
        shard_note(args),
        sw.fields.join(", "),
        out.display()
    ));
    let refs: Vec<&Scenario> = sw.points.iter().map(|p| &p.scenario).collect();
    let (metrics, mut stats) = sweep_stats(&sw);
    let resolved = sw.base.resolved_toml();
    std::fs::write(staging.path().join("scenario.resolved.toml"), &resolved)?;
    let units = Units {
        groups: refs.len() as u64,
        blocks: batch::blocks::blocks(runs),
    };
    if let Some(mut work) = ShardWork::new(args, units, staging.path())? {
        // A sweep shard takes a contiguous range of (point, block) units, point by point: each
        // point's statistics depend on its own runs only.
        let mut partial = Partial {
            results: refs
                .iter()
                .map(|sc| BatchResult::empty(sc, Keep::Final, seed))
                .collect(),
            paired: Vec::new(),
            sweep: std::mem::take(&mut stats.stats),
        };
        for (g, blocks) in work.groups() {
            let p = g as usize;
            let mut one = SweepStats {
                columns: vec![stats.columns[p].clone()],
                stats: vec![std::mem::take(&mut partial.sweep[p])],
            };
            let mut result = simulate_into(
                &[],
                &refs[p..=p],
                args,
                Keep::Final,
                &mut one,
                Some(blocks),
                Some((&mut work.writer, g)),
            )?;
            partial.results[p] = result.remove(0);
            partial.sweep[p] = one.stats.remove(0);
        }
        let out = ShardOutput {
            command: "sweep",
            scenarios: &[&sw.base],
            resolved: &[resolved],
            dirs: Vec::new(),
            partial,
        };
        return finish_shard(staging, work, args, out);
    }
    let results = simulate_into(&[], &refs, args, Keep::Final, &mut stats, None, None)?;
    say.log(&format!(
        "{} points × {runs} runs in {:.2} s; writing reports",
        refs.len(),
        results[0].wall_seconds
    ));
    finish_sweep(
        staging,
        &sw,
        &metrics,
        &stats.stats,
        &results,
        !args.no_plots,
        Say::of(args),
    )
}

/// Writes the sweep tables and charts into the staged folder (which already holds
/// `scenario.resolved.toml`), moves it into place and prints the summary.
pub(super) fn finish_sweep(
    staging: Staging,
    sw: &Sweep,
    metrics: &[String],
    stats: &[Vec<Stat>],
    results: &[BatchResult],
    plots: bool,
    say: Say,
) -> Result<()> {
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
        runs: sw.base.runs,
        seed: sw.base.seed,
        points: sw.points.len(),
        axes: sweep_report::axes(sw),
        conservation_error_max: results
            .iter()
            .map(|r| r.conservation_error_max)
            .fold(0.0, f64::max),
    };
    report::write_sweep_report(staging.path(), &sw.fields, &info, &rows, plots)?;
    let dir = say.commit(staging)?;
    say.done(&dir, "sweep.json", || {
        print_sweep_summary(&sw.fields, &rows, &dir)
    })
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
                fmt(if s.moments().count > 0 {
                    s.moments().mean
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
