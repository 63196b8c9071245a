//! Executing a plan: the batch with a sink that streams `runs.csv` (and `trajectories.csv`) into
//! the staged folder or keeps every run's finals in memory, feeds the job's own statistics, and
//! for a shard records every block's moments; then the finishing pipeline or the shard's files.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::error::{Error, Result};
use super::outcome::{
    CompareResults, Outcome, RunResults, RunTable, SweepResults, compare_dirs, finish, point_dir,
};
use super::plan::{Job, Plan};
use super::system::memory_limit;
use super::{Control, stage};
use crate::batch::fit::{Collected, Score, Targets, score};
use crate::batch::{
    self, BLOCK_RUNS, BatchConfig, BatchResult, Comparison, Moments, Partial, Reference, Shard,
    Statistics, SweepStats, Units,
};
use crate::engine::{Keep, Layout, RunOutput};
use crate::report::shard::{self as shard_files, BlocksWriter, Manifest, ShardPerf};
use crate::report::{self, RunFiles, Staging, compare};
use crate::scenario::Scenario;

/// What [`Plan::write`] produced.
#[derive(Debug)]
pub enum Written {
    /// A complete output folder, and the results it was written from (without the per-run
    /// values, which went to `runs.csv`).
    Results { dir: PathBuf, outcome: Box<Outcome> },
    /// A shard folder for [`super::merge`].
    Shard {
        dir: PathBuf,
        manifest: Box<Manifest>,
    },
}

impl Written {
    pub fn dir(&self) -> &Path {
        match self {
            Written::Results { dir, .. } | Written::Shard { dir, .. } => dir,
        }
    }

    /// The folder's JSON document (`summary.json`, `compare.json`, `sweep.json`, `shard.json`).
    pub fn json_file(&self) -> &'static str {
        match self {
            Written::Results { outcome, .. } => outcome.json_file(),
            Written::Shard { .. } => shard_files::MANIFEST,
        }
    }
}

/// The sink of a batch: per-run files, per-run finals in memory, the job's statistics, and a
/// shard's record of blocks (as blocks of group `record.1`).
struct JobSink<'a> {
    layouts: Vec<&'a Layout>,
    files: Vec<RunFiles>,
    tables: Option<Vec<RunTable>>,
    stats: &'a mut dyn Statistics,
    record: Option<(&'a mut BlocksWriter, u64)>,
    buf: Vec<Moments>,
    /// The first scenario's values of every target, when the plan scores targets.
    fit: Option<(&'a Targets, Collected)>,
}

impl batch::Sink for JobSink<'_> {
    fn run(&mut self, outs: &[RunOutput]) -> anyhow::Result<()> {
        for ((files, layout), out) in self.files.iter_mut().zip(&self.layouts).zip(outs) {
            files.write(layout, out)?;
        }
        if let Some(tables) = self.tables.as_mut() {
            for ((table, layout), out) in tables.iter_mut().zip(&self.layouts).zip(outs) {
                table.push(layout, out);
            }
        }
        self.stats.add(&self.layouts, outs);
        if let Some((targets, collected)) = self.fit.as_mut() {
            collected.push(targets, self.layouts[0], &outs[0]);
        }
        Ok(())
    }

    fn end_block(&mut self, block: u64, moments: &[Moments]) -> anyhow::Result<()> {
        self.buf.clear();
        self.buf.extend_from_slice(moments);
        self.stats.end_block(&mut self.buf);
        if let Some((w, group)) = self.record.as_mut() {
            w.write(*group, block, &self.buf)?;
        }
        Ok(())
    }
}

/// Where the runs of one batch go.
struct Destination<'a> {
    /// One run folder per scenario, for `runs.csv` (none: not streamed).
    dirs: &'a [PathBuf],
    /// Keep every run's finals in memory.
    tables: bool,
    /// Only these blocks, and the shard's record of them.
    blocks: Option<Range<u64>>,
    record: Option<(&'a mut BlocksWriter, u64)>,
    /// A part of a sweep shard's several batches: the simulations its earlier batches did (the
    /// shard reports progress as one job). `None`: the batch is the whole job.
    done_before: Option<u64>,
}

/// What [`simulate`] returns: every scenario's aggregates, every run's finals when kept in
/// memory, and the first scenario's loss when the plan scores targets.
type Simulated = (Vec<BatchResult>, Option<Vec<RunTable>>, Option<Score>);

/// Runs `scenarios` with common random numbers as `plan` says, into `into`, feeding `stats`.
fn simulate(
    plan: &Plan,
    ctl: &Control,
    scenarios: &[&Scenario],
    stats: &mut dyn Statistics,
    into: Destination,
) -> Result<Simulated> {
    let layouts: Vec<Layout> = scenarios.iter().map(|s| Layout::new(s)).collect();
    let mut files = Vec::new();
    // A sweep keeps final values only: its `--save-runs` is the points' `runs.csv`.
    let trajectories = plan.options().save_runs && plan.keep() == Keep::Trajectory;
    for (dir, layout) in into.dirs.iter().zip(&layouts) {
        files.push(RunFiles::create(dir, layout, trajectories)?);
    }

    let runs = plan.runs();
    let todo = into.blocks.as_ref().map_or(runs, |b| {
        (b.end * BLOCK_RUNS).min(runs) - (b.start * BLOCK_RUNS).min(runs)
    });
    let mut sink = JobSink {
        layouts: layouts.iter().collect(),
        files,
        tables: into
            .tables
            .then(|| layouts.iter().map(RunTable::new).collect()),
        stats,
        record: into.record,
        buf: Vec::new(),
        fit: plan
            .fit
            .as_deref()
            .filter(|_| into.blocks.is_none())
            .map(|t| (t, Collected::new(t))),
    };
    let cfg = BatchConfig {
        runs,
        blocks: into.blocks,
        seed: plan.seed(),
        threads: plan.options().threads,
        keep: plan.keep(),
        cancel: ctl.cancel.cloned(),
    };
    // Progress counts simulations: a run of one scenario.
    let before = into.done_before;
    if before.is_none() {
        ctl.progress.runs_started(todo * scenarios.len() as u64);
    }
    let progress = |done: u64| ctl.progress.runs_done(before.unwrap_or(0) + done);
    let results = batch::run_paired(scenarios, &cfg, &progress, &mut sink);
    if before.is_none() {
        ctl.progress.runs_finished();
    }
    let results = results?;
    for f in sink.files {
        f.finish()?;
    }
    let fit = sink.fit.map(|(t, c)| score(t, &c));
    Ok((results, sink.tables, fit))
}

/// Simulates a whole plan (no shard), streaming into `dirs` when given; returns its results.
fn simulate_plan(plan: &Plan, ctl: &Control, dirs: Option<&[PathBuf]>) -> Result<Outcome> {
    let scenarios = plan.scenarios();
    let into = || Destination {
        dirs: dirs.unwrap_or(&[]),
        tables: dirs.is_none(),
        blocks: None,
        record: None,
        done_before: None,
    };
    Ok(match plan.job() {
        Job::Run(sc) => {
            let (mut results, finals, fit) = simulate(plan, ctl, &scenarios, &mut (), into())?;
            Outcome::Run(RunResults {
                scenario: sc.clone(),
                result: results.remove(0),
                finals: finals.map(|mut f| f.remove(0)),
                fit,
            })
        }
        Job::Compare(scs) => {
            let layouts: Vec<Layout> = scenarios.iter().map(|s| Layout::new(s)).collect();
            let mut comparison = Comparison::new(&layouts.iter().collect::<Vec<_>>());
            let (results, finals, _) = simulate(plan, ctl, &scenarios, &mut comparison, into())?;
            Outcome::Compare(compare_results(scs.clone(), results, finals, comparison))
        }
        Job::Sweep(sw) => {
            let mut stats = sweep_stats(plan);
            // The points' finals stream to `points/<p>/` with --save-runs only.
            let (results, finals, _) = simulate(plan, ctl, &scenarios, &mut stats, into())?;
            let mut results =
                SweepResults::new(sw.clone(), sw.base.resolved_toml(), stats, results, finals);
            if let Some(spec) = plan.explore() {
                super::explore::explore(&mut results, spec)?;
            }
            Outcome::Sweep(results)
        }
    })
}

pub(super) fn compare_results(
    scenarios: Vec<Scenario>,
    results: Vec<BatchResult>,
    finals: Option<Vec<RunTable>>,
    comparison: Comparison,
) -> CompareResults {
    let refs: Vec<&Scenario> = scenarios.iter().collect();
    let rows = compare::compare_rows(&refs, &comparison);
    CompareResults {
        scenarios,
        results,
        finals,
        comparison,
        rows,
    }
}

/// The headline statistics of a sweep plan's points.
pub(super) fn sweep_stats_of(base: &Scenario, points: &[&Scenario]) -> SweepStats {
    let layouts: Vec<Layout> = points.iter().map(|s| Layout::new(s)).collect();
    SweepStats::new(&Layout::new(base), &layouts.iter().collect::<Vec<_>>())
}

fn sweep_stats(plan: &Plan) -> SweepStats {
    sweep_stats_of(plan.reference(), &plan.scenarios())
}

/// A one-line account of a finished batch, before the reports are written.
fn describe_done(plan: &Plan, wall_seconds: f64) -> String {
    let runs = plan.runs();
    match plan.job() {
        Job::Run(_) => format!(
            "{runs} runs in {wall_seconds:.2} s; writing tables{}",
            if plan.options().plots {
                " and charts"
            } else {
                ""
            }
        ),
        Job::Compare(s) => format!(
            "{runs} runs of {} scenarios in {wall_seconds:.2} s; writing reports",
            s.len()
        ),
        Job::Sweep(sw) => format!(
            "{} points × {runs} runs in {wall_seconds:.2} s; writing reports",
            sw.points.len()
        ),
    }
}

fn wall_seconds(outcome: &Outcome) -> f64 {
    match outcome {
        Outcome::Run(r) => r.result.wall_seconds,
        Outcome::Compare(c) => c.results[0].wall_seconds,
        Outcome::Sweep(s) => s.results[0].wall_seconds,
    }
}

impl Plan {
    /// Checks the memory estimate against the machine and says what the batch will cost.
    fn prepare(&self, ctl: &Control) -> Result<()> {
        let limit = memory_limit(self.threads());
        ctl.detail(self.describe_estimate(limit.as_ref().map(|l| l.bytes)));
        self.check_memory(limit.as_ref())
    }

    /// Runs the batch and keeps everything in memory, every run's final values included; writes
    /// nothing. A shard cannot run in memory: it exists to be merged from its folder.
    pub fn execute(&self, ctl: &Control) -> Result<Outcome> {
        if self.options().shard.is_some() {
            return Err(Error::input(
                None,
                "a shard is written to a folder for `merge`: use Plan::write",
            ));
        }
        self.prepare(ctl)?;
        ctl.info(self.describe(None));
        simulate_plan(self, ctl, None)
    }

    /// Runs the batch into a folder at `out`, staged beside it and moved into place only when
    /// complete; an earlier result there is replaced only then. With a shard, writes the shard
    /// folder.
    pub fn write(&self, out: &Path, ctl: &Control) -> Result<Written> {
        self.prepare(ctl)?;
        let staging = stage(out, ctl)?;
        ctl.info(self.describe(Some(out)));
        if let Some(shard) = self.options().shard {
            return self.write_shard(shard, staging, ctl);
        }
        let dirs = match self.job() {
            Job::Run(_) => vec![staging.path().to_path_buf()],
            Job::Compare(s) => compare_dirs(s)
                .iter()
                .map(|d| staging.path().join(d))
                .collect(),
            Job::Sweep(sw) if self.options().save_runs => (0..sw.points.len())
                .map(|p| staging.path().join(point_dir(p)))
                .collect(),
            Job::Sweep(_) => Vec::new(),
        };
        let outcome = simulate_plan(self, ctl, Some(&dirs))?;
        ctl.info(describe_done(self, wall_seconds(&outcome)));
        let opts = self.options();
        let dir = finish(&outcome, staging, opts.plots, opts.parquet, ctl)?;
        Ok(Written::Results {
            dir,
            outcome: Box::new(outcome),
        })
    }

    /// Point 0's values in the runs of the blocks that a sweep shard computes at other points
    /// (`split`): the reference of their differences, from one batch of point 0 over those
    /// blocks (from the first to the last); `None` when the shard has no other point.
    fn sweep_reference(
        &self,
        ctl: &Control,
        stats: &SweepStats,
        split: &[(u64, Range<u64>)],
    ) -> Result<Option<Arc<Reference>>> {
        let others = split.iter().filter(|(g, _)| *g > 0).map(|(_, b)| b);
        let (Some(start), Some(end)) = (
            others.clone().map(|b| b.start).min(),
            others.map(|b| b.end).max(),
        ) else {
            return Ok(None);
        };
        let runs = self.runs();
        let first = (start * BLOCK_RUNS).min(runs);
        let mut reference = stats.reference(first..(end * BLOCK_RUNS).min(runs));
        let into = Destination {
            dirs: &[],
            tables: false,
            blocks: Some(start..end),
            record: None,
            done_before: Some(0),
        };
        let point0 = [self.scenarios()[0]];
        simulate(self, ctl, &point0, &mut reference, into)?;
        Ok(Some(Arc::new(reference)))
    }

    /// Computes this plan's shard: only its units of work, recording each block's moments, then
    /// the shard's statistics and manifest (docs/SCALING.md).
    fn write_shard(&self, shard: Shard, staging: Staging, ctl: &Control) -> Result<Written> {
        let started = Instant::now();
        let dir = staging.path().to_path_buf();
        let scenarios = self.scenarios();
        let blocks = batch::blocks::blocks(self.runs());
        let groups = match self.job() {
            Job::Sweep(sw) => sw.points.len() as u64,
            _ => 1,
        };
        let units = Units { groups, blocks };
        let range = shard.units(units.total());
        let mut writer = BlocksWriter::create(&dir.join(shard_files::BLOCKS))?;
        let mut resolved = Vec::new();
        let mut sub_dirs = Vec::new();
        let partial = match self.job() {
            Job::Sweep(sw) => {
                // A sweep shard takes a contiguous range of (point, block) units, point by
                // point: each point's statistics depend on its own runs only.
                let mut stats = sweep_stats(self);
                let mut results: Vec<BatchResult> = scenarios
                    .iter()
                    .map(|sc| BatchResult::empty(sc, Keep::Final, self.seed()))
                    .collect();
                let split = units.split(range.clone());
                // One progress bar for the shard: point 0's reference runs, then every unit.
                let runs = self.runs();
                let runs_in = |b: &Range<u64>| {
                    (b.end * BLOCK_RUNS).min(runs) - (b.start * BLOCK_RUNS).min(runs)
                };
                let reference_runs = {
                    let others = split.iter().filter(|(g, _)| *g > 0).map(|(_, b)| b);
                    match (
                        others.clone().map(|b| b.start).min(),
                        others.map(|b| b.end).max(),
                    ) {
                        (Some(start), Some(end)) => runs_in(&(start..end)),
                        _ => 0,
                    }
                };
                let total = reference_runs + split.iter().map(|(_, b)| runs_in(b)).sum::<u64>();
                ctl.progress.runs_started(total);
                let reference = self.sweep_reference(ctl, &stats, &split)?;
                let mut done = reference_runs;
                for (g, blocks) in split {
                    let p = g as usize;
                    let mut one = stats.point(p, reference.clone());
                    let save: Vec<PathBuf> = if self.options().save_runs {
                        vec![dir.join(point_dir(p))]
                    } else {
                        Vec::new()
                    };
                    let these = runs_in(&blocks);
                    let into = Destination {
                        dirs: &save,
                        tables: false,
                        blocks: Some(blocks),
                        record: Some((&mut writer, g)),
                        done_before: Some(done),
                    };
                    let (mut r, _, _) = simulate(self, ctl, &scenarios[p..=p], &mut one, into)?;
                    done += these;
                    results[p] = r.remove(0);
                    stats.put_point(p, one);
                }
                ctl.progress.runs_finished();
                resolved.push(sw.base.resolved_toml());
                report::write_resolved(&dir, &resolved[0], &sw.base.series_files())?;
                Partial {
                    results,
                    paired: Vec::new(),
                    sweep: stats.stats,
                    sweep_diffs: stats.diffs,
                }
            }
            job => {
                let blocks = units
                    .split(range.clone())
                    .first()
                    .map_or(0..0, |(_, b)| b.clone());
                let dirs: Vec<PathBuf> = match job {
                    Job::Compare(s) => {
                        sub_dirs = compare_dirs(s);
                        sub_dirs.iter().map(|d| dir.join(d)).collect()
                    }
                    _ => vec![dir.clone()],
                };
                let layouts: Vec<Layout> = scenarios.iter().map(|s| Layout::new(s)).collect();
                let mut comparison = Comparison::new(&layouts.iter().collect::<Vec<_>>());
                let stats: &mut dyn Statistics = match job {
                    Job::Compare(_) => &mut comparison,
                    _ => &mut (),
                };
                let into = Destination {
                    dirs: &dirs,
                    tables: false,
                    blocks: Some(blocks),
                    record: Some((&mut writer, 0)),
                    done_before: None,
                };
                let (results, _, _) = simulate(self, ctl, &scenarios, stats, into)?;
                for (d, sc) in dirs.iter().zip(&scenarios) {
                    resolved.push(sc.resolved_toml());
                    let text = resolved.last().map_or("", |s| s.as_str());
                    report::write_resolved(d, text, &sc.series_files())?;
                }
                let paired = match job {
                    Job::Compare(_) => comparison.against.iter().map(|a| a.all_stats()).collect(),
                    _ => Vec::new(),
                };
                Partial {
                    results,
                    paired,
                    sweep: Vec::new(),
                    sweep_diffs: Vec::new(),
                }
            }
        };
        writer.finish()?;
        shard_files::write_partial(&dir, &partial)?;
        let opts = self.options();
        let manifest = Manifest {
            format: shard_files::FORMAT,
            l2sim_version: env!("CARGO_PKG_VERSION").to_string(),
            command: self.kind(),
            scenarios: match self.job() {
                Job::Sweep(sw) => vec![sw.base.name.clone()],
                _ => scenarios.iter().map(|s| s.name.clone()).collect(),
            },
            scenario_sha256: shard_files::sha256_of(
                &resolved.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            ),
            seed: self.seed(),
            runs: self.runs(),
            shards: shard.count,
            shard: shard.index,
            groups: units.groups,
            blocks_per_group: units.blocks,
            units: [range.start, range.end],
            save_runs: opts.save_runs,
            parquet: opts.parquet,
            dirs: sub_dirs,
            explore: self.explore().cloned().map(Box::new),
            // Last: every other file is complete.
            files: shard_files::list_files(&dir)?,
            perf: ShardPerf {
                wall_seconds: started.elapsed().as_secs_f64(),
                threads: partial.results.iter().map(|r| r.threads).max().unwrap_or(0),
            },
        };
        manifest.write(&dir)?;
        let dir = super::commit(staging, ctl, None)?;
        Ok(Written::Shard {
            dir,
            manifest: Box::new(manifest),
        })
    }
}
