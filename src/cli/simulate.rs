//! The commands that simulate: `run` and `compare`. Both stage their output folder, stream each
//! scenario's `runs.csv` while the batch runs, then write reports and rename the folder into place.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::{BatchArgs, InputError};
use crate::batch::{
    self, BatchConfig, BatchResult, Blocked, BlockedMoments, Comparison, Moments, PairedStat,
    RunColumn, Shard, Stat, Units,
};
use crate::engine::{Keep, Layout, RunOutput};
use crate::report::shard::{self, BlocksReader, BlocksWriter, Manifest, ShardPerf};
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
struct Say {
    quiet: bool,
    verbose: u8,
    json: bool,
    /// `--parquet`: Parquet copies of the tables, written just before the folder is committed.
    parquet: bool,
}

impl Say {
    fn of(args: &BatchArgs) -> Say {
        Say {
            quiet: args.quiet,
            verbose: args.verbose,
            json: args.json,
            parquet: args.parquet,
        }
    }

    /// Moves the staged folder into place, with Parquet copies of its tables first if asked.
    fn commit(&self, staging: Staging) -> Result<PathBuf> {
        if self.parquet {
            report::parquet::convert_folder(staging.path())?;
        }
        staging.commit()
    }

    /// A progress line on stderr, unless `--quiet`.
    fn log(&self, msg: &str) {
        if !self.quiet {
            eprintln!("l2sim: {msg}");
        }
    }

    /// A detail for `-v` on stderr.
    fn detail(&self, msg: &str) {
        if self.verbose > 0 {
            eprintln!("l2sim: {msg}");
        }
    }

    /// The output folder `dir` is in place: prints its JSON document `json_file` (`--json`) or
    /// the human summary on stdout, and with `-v` every file written on stderr.
    fn done(&self, dir: &Path, json_file: &str, human: impl FnOnce()) -> Result<()> {
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
trait Extra {
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
struct SweepStats {
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

/// What a shard keeps in `partial.bin`: the batch results, then the command's own statistics.
/// Moments are visited in the order in which blocks were written to `blocks.bin`.
#[derive(Debug, Serialize, Deserialize)]
struct Partial {
    results: Vec<BatchResult>,
    paired: Vec<Vec<PairedStat>>,
    sweep: Vec<Vec<Stat>>,
}

impl Blocked for Partial {
    fn each_moments(&mut self, f: &mut dyn FnMut(&mut BlockedMoments)) {
        self.results.each_moments(f);
        self.paired.each_moments(f);
        self.sweep.each_moments(f);
    }

    fn merge_shard(&mut self, other: &Self) {
        self.results.merge_shard(&other.results);
        self.paired.merge_shard(&other.paired);
        self.sweep.merge_shard(&other.sweep);
    }
}

impl Partial {
    /// Folds one block of group `group` (a sweep point, or 0: everything); returns how many
    /// moments the group has, `None` if there is no such group.
    fn fold_group(&mut self, group: u64, block: &[Moments]) -> Option<usize> {
        if self.sweep.is_empty() {
            return (group == 0).then(|| self.fold_block(block));
        }
        let g = usize::try_from(group).ok()?;
        let (result, stats) = (self.results.get_mut(g)?, self.sweep.get_mut(g)?);
        let mut used = 0;
        let mut fold = |m: &mut BlockedMoments| {
            if let Some(b) = block.get(used) {
                m.fold_block(b);
            }
            used += 1;
        };
        result.each_moments(&mut fold);
        stats.each_moments(&mut fold);
        Some(used)
    }
}

/// The work of one shard: its units and the `blocks.bin` it writes.
struct ShardWork {
    shard: Shard,
    units: Units,
    writer: BlocksWriter,
    started: std::time::Instant,
}

impl ShardWork {
    /// The shard of `args` (none without `--shard`), writing into `dir`.
    fn new(args: &BatchArgs, units: Units, dir: &Path) -> Result<Option<ShardWork>> {
        let Some(shard) = args.shard else {
            return Ok(None);
        };
        Ok(Some(ShardWork {
            shard,
            units,
            writer: BlocksWriter::create(&dir.join(shard::BLOCKS))?,
            started: std::time::Instant::now(),
        }))
    }

    /// The groups this shard computes, each with its blocks.
    fn groups(&self) -> Vec<(u64, std::ops::Range<u64>)> {
        self.units.split(self.shard.units(self.units.total()))
    }

    /// The blocks of group 0 (run, compare): possibly none.
    fn blocks(&self) -> std::ops::Range<u64> {
        self.groups().first().map_or(0..0, |(_, b)| b.clone())
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

/// What a command hands to [`finish_shard`].
struct ShardOutput<'a> {
    command: &'a str,
    scenarios: &'a [&'a Scenario],
    resolved: &'a [String],
    dirs: Vec<String>,
    partial: Partial,
}

/// Writes a shard's `partial.bin` and `shard.json` and moves the folder into place.
fn finish_shard(
    staging: Staging,
    work: ShardWork,
    args: &BatchArgs,
    out: ShardOutput,
) -> Result<()> {
    let ShardWork {
        shard,
        units,
        writer,
        started,
    } = work;
    writer.finish()?;
    let (runs, seed) = (out.scenarios[0].runs, out.scenarios[0].seed);
    let range = shard.units(units.total());
    let wall = started.elapsed().as_secs_f64();
    let manifest = Manifest {
        format: shard::FORMAT,
        l2sim_version: env!("CARGO_PKG_VERSION").to_string(),
        command: out.command.to_string(),
        scenarios: out.scenarios.iter().map(|s| s.name.clone()).collect(),
        scenario_sha256: shard::sha256_of(
            &out.resolved.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        ),
        seed,
        runs,
        shards: shard.count,
        shard: shard.index,
        groups: units.groups,
        blocks_per_group: units.blocks,
        units: [range.start, range.end],
        save_runs: args.save_runs,
        parquet: args.parquet,
        dirs: out.dirs,
        perf: ShardPerf {
            wall_seconds: wall,
            threads: out
                .partial
                .results
                .iter()
                .map(|r| r.threads)
                .max()
                .unwrap_or(0),
        },
    };
    shard::write_partial(staging.path(), &out.partial)?;
    manifest.write(staging.path())?;
    let dir = staging.commit()?;
    if args.json {
        return Say::of(args).done(&dir, shard::MANIFEST, || {});
    }
    let what = if units.groups > 1 {
        format!(
            "{} of {} (point, block) units",
            range.end - range.start,
            units.total()
        )
    } else {
        let r = shard.runs(runs);
        format!("runs {}..{} of {runs}", r.start, r.end)
    };
    println!(
        "shard {shard} of {} {}: {what} in {wall:.2} s; written to {}",
        out.command,
        manifest.scenarios.join(", "),
        dir.display()
    );
    println!("  merge every shard with: l2sim merge SHARD_DIR... --out DIR");
    Ok(())
}

pub(super) fn run(path: Option<&Path>, args: &BatchArgs) -> Result<()> {
    let mut scenario = load(path)?;
    apply_flags(&mut scenario, args)?;
    let out = out_dir(args, scenario.name.clone());
    guard_memory(&[&scenario], args, Keep::Trajectory)?;
    let staging = stage(&out)?;
    let say = Say::of(args);
    let log = |m: &str| say.log(m);
    log(&format!(
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
    log(&format!(
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
    let log = |m: &str| say.log(m);
    log(&format!(
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
    log(&format!(
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
fn finish_compare(
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
fn sweep_stats(sw: &Sweep) -> (Vec<String>, SweepStats) {
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
    let log = |m: &str| say.log(m);
    log(&format!(
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
            sweep: stats.stats.clone(),
        };
        for (g, blocks) in work.groups() {
            let p = g as usize;
            let mut one = SweepStats {
                columns: vec![stats.columns[p].clone()],
                stats: vec![std::mem::take(&mut stats.stats[p])],
            };
            let result = simulate_into(
                &[],
                &refs[p..=p],
                args,
                Keep::Final,
                &mut one,
                Some(blocks),
                Some((&mut work.writer, g)),
            )?;
            partial.results[p] = result
                .into_iter()
                .next()
                .unwrap_or_else(|| BatchResult::empty(refs[p], Keep::Final, seed));
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
    log(&format!(
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
fn finish_sweep(
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

/// Shard folders checked to form one complete set, in shard order.
struct ShardSet {
    dirs: Vec<PathBuf>,
    manifests: Vec<Manifest>,
}

/// Reads every shard's manifest and checks that they are shards of one batch, each once, none
/// missing.
fn check_shards(dirs: &[PathBuf]) -> Result<ShardSet> {
    let mut found: Vec<(PathBuf, Manifest)> = Vec::new();
    for d in dirs {
        let m = Manifest::read(d)?.ok_or_else(|| {
            InputError(format!(
                "{}: not a shard folder (no {}); shards are written by `l2sim run|compare|sweep --shard K/N`",
                d.display(),
                shard::MANIFEST
            ))
        })?;
        let files: Vec<PathBuf> = if m.dirs.is_empty() {
            vec![d.join("scenario.resolved.toml")]
        } else {
            m.dirs
                .iter()
                .map(|s| d.join(s).join("scenario.resolved.toml"))
                .collect()
        };
        let mut texts = Vec::new();
        for f in &files {
            texts.push(fs_text(f)?);
        }
        if shard::sha256_of(&texts.iter().map(|t| t.as_str()).collect::<Vec<_>>())
            != m.scenario_sha256
        {
            return Err(InputError(format!(
                "{}: the scenario files were changed after the shard was run (their sha256 differs from shard.json)",
                d.display()
            ))
            .into());
        }
        found.push((d.clone(), m));
    }
    let (first_dir, first) = &found[0];
    for (dir, m) in &found[1..] {
        for ((what, a), (_, b)) in first.identity().into_iter().zip(m.identity()) {
            if a != b {
                return Err(InputError(format!(
                    "the shards are not of one batch: {what} is {a} in {} but {b} in {}",
                    first_dir.display(),
                    dir.display()
                ))
                .into());
            }
        }
    }
    let n = first.shards;
    let mut by_index: Vec<Option<usize>> = vec![None; n as usize];
    for (i, (dir, m)) in found.iter().enumerate() {
        let slot = &mut by_index[(m.shard - 1) as usize];
        if let Some(j) = *slot {
            return Err(InputError(format!(
                "shard {}/{n} is given twice: {} and {}",
                m.shard,
                found[j].0.display(),
                dir.display()
            ))
            .into());
        }
        *slot = Some(i);
    }
    let missing: Vec<String> = by_index
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_none())
        .map(|(k, _)| (k + 1).to_string())
        .collect();
    if !missing.is_empty() {
        return Err(InputError(format!(
            "incomplete shard set: missing shard{} {} of {n} (run them with --shard K/{n}, then merge all {n})",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", ")
        ))
        .into());
    }
    let mut set = ShardSet {
        dirs: Vec::new(),
        manifests: Vec::new(),
    };
    for i in by_index.into_iter().flatten() {
        set.dirs.push(found[i].0.clone());
        set.manifests.push(found[i].1.clone());
    }
    Ok(set)
}

fn fs_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("reading {}", path.display()))
        .map_err(|e| InputError(format!("{e:#}")).into())
}

/// Loads a resolved scenario stored in a shard (already checked against its manifest's hash).
fn load_resolved(path: &Path) -> Result<Scenario> {
    let text = fs_text(path)?;
    Ok(Scenario::from_toml_str(&text, path)?)
}

/// Reads the shards' partial statistics and folds their blocks in block order.
fn merge_partials(set: &ShardSet) -> Result<Partial> {
    let mut partial: Partial = shard::read_partial(&set.dirs[0])?;
    for dir in &set.dirs[1..] {
        let other: Partial = shard::read_partial(dir)?;
        partial.merge_shard(&other);
    }
    partial.clear_moments();
    let mut buf = Vec::new();
    for (dir, m) in set.dirs.iter().zip(&set.manifests) {
        let path = dir.join(shard::BLOCKS);
        let mut reader = BlocksReader::open(&path)?;
        let [first, end] = m.units;
        let mut expected = first;
        while let Some((group, block)) = reader.next_block(&mut buf)? {
            let unit = group
                .checked_mul(m.blocks_per_group)
                .and_then(|u| u.checked_add(block));
            if block >= m.blocks_per_group || unit != Some(expected) || expected >= end {
                bail!(
                    "{}: block {block} of group {group} where unit {expected} was expected (the shard covers units {first}..{end})",
                    path.display()
                );
            }
            let used = partial.fold_group(group, &buf);
            if used != Some(buf.len()) {
                bail!(
                    "{}: block {block} of group {group} has {} moments, expected {}",
                    path.display(),
                    buf.len(),
                    used.map_or("none".into(), |u| u.to_string())
                );
            }
            expected += 1;
        }
        if expected != end {
            bail!(
                "{}: ends at unit {expected} of {first}..{end}: the shard is incomplete; run it again",
                path.display()
            );
        }
    }
    Ok(partial)
}

/// Gives merged results their layout and column names.
fn attach_layouts(results: &mut [BatchResult], scenarios: &[&Scenario]) {
    for (r, sc) in results.iter_mut().zip(scenarios) {
        r.layout = Layout::new(sc);
        r.run_columns = r.layout.run_columns();
    }
}

/// `l2sim merge`: checks the shard set, then writes what the unsharded command writes.
pub(super) fn merge(
    dirs: &[PathBuf],
    out: Option<&Path>,
    no_plots: bool,
    parquet: bool,
    say: (bool, u8, bool),
) -> Result<()> {
    let (quiet, verbose, json) = say;
    let set = check_shards(dirs)?;
    let say = Say {
        quiet,
        verbose,
        json,
        parquet: parquet || set.manifests[0].parquet,
    };
    let m = set.manifests[0].clone();
    let first = &set.dirs[0];
    let log = |m: &str| say.log(m);
    let started = std::time::Instant::now();
    // A shard cut short or damaged is bad input, like a mismatched set.
    let mut partial = merge_partials(&set).map_err(|e| InputError(format!("{e:#}")))?;
    let default =
        |name: String| out.map_or_else(|| Path::new("outputs").join(name), Path::to_path_buf);
    log(&format!(
        "merging {} shards of `{}` {} ({} runs, seed {})",
        m.shards,
        m.command,
        m.scenarios.join(", "),
        m.runs,
        m.seed
    ));
    match m.command.as_str() {
        "run" => {
            let scenario = load_resolved(&first.join("scenario.resolved.toml"))?;
            attach_layouts(&mut partial.results, &[&scenario]);
            let staging = stage(&default(scenario.name.clone()))?;
            let dir = staging.path().to_path_buf();
            concat_shard_tables(&set, "", &dir, m.save_runs)?;
            let result = &partial.results[0];
            report::write_run_report(&dir, &scenario, result, !no_plots)?;
            let dir = say.commit(staging)?;
            say.done(&dir, "summary.json", || {
                print_run_summary(&scenario, result, &dir)
            })?;
        }
        "compare" => {
            let mut scenarios = Vec::new();
            for d in &m.dirs {
                scenarios.push(load_resolved(
                    &first.join(d).join("scenario.resolved.toml"),
                )?);
            }
            let refs: Vec<&Scenario> = scenarios.iter().collect();
            attach_layouts(&mut partial.results, &refs);
            let names: Vec<&str> = refs.iter().map(|s| s.name.as_str()).collect();
            let staging = stage(&default(format!("compare_{}", names.join("_vs_"))))?;
            let dirs: Vec<PathBuf> = m.dirs.iter().map(|d| staging.path().join(d)).collect();
            for (sub, dir) in m.dirs.iter().zip(&dirs) {
                std::fs::create_dir_all(dir)?;
                concat_shard_tables(&set, sub, dir, m.save_runs)?;
            }
            let layouts: Vec<&Layout> = partial.results.iter().map(|r| &r.layout).collect();
            let mut comparison = Comparison::new(&layouts);
            for (against, stats) in comparison.against.iter_mut().zip(&partial.paired) {
                against.stats = stats.clone();
            }
            finish_compare(
                staging,
                &refs,
                &dirs,
                &partial.results,
                &comparison,
                !no_plots,
                say,
            )?;
        }
        "sweep" => {
            let path = first.join("scenario.resolved.toml");
            let text = fs_text(&path)?;
            let sw = expand_sweep(&path)?;
            let refs: Vec<&Scenario> = sw.points.iter().map(|p| &p.scenario).collect();
            attach_layouts(&mut partial.results, &refs);
            let (metrics, _) = sweep_stats(&sw);
            let staging = stage(&default(format!("sweep_{}", sw.base.name)))?;
            std::fs::write(staging.path().join("scenario.resolved.toml"), &text)?;
            finish_sweep(
                staging,
                &sw,
                &metrics,
                &partial.sweep,
                &partial.results,
                !no_plots,
                say,
            )?;
        }
        other => bail!(
            "{}: unknown command {other:?} in shard.json",
            first.display()
        ),
    }
    log(&format!(
        "merged in {:.2} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// Concatenates the shards' `runs.csv` (and `trajectories.csv`) of sub-folder `sub` into `dest`.
fn concat_shard_tables(set: &ShardSet, sub: &str, dest: &Path, save_runs: bool) -> Result<()> {
    let mut tables = vec!["runs.csv"];
    if save_runs {
        tables.push("trajectories.csv");
    }
    for t in tables {
        let parts: Vec<PathBuf> = set.dirs.iter().map(|d| d.join(sub).join(t)).collect();
        shard::concat_csv(&parts, &dest.join(t))?;
    }
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
