//! Results in memory, owned (no borrowed lifetimes across calls), and the one finishing pipeline
//! that turns them into an output folder: a direct run and a merged shard set both end in
//! [`finish`], so they write the same files the same way.

use std::path::{Path, PathBuf};

use super::error::{Error, Result};
use crate::batch::{BatchResult, Comparison, Stat};
use crate::engine::{Layout, RunOutput};
use crate::report::{self, Staging, compare::CompareRow, sweep::SweepInfo, sweep::SweepRow};
use crate::scenario::{Scenario, Sweep};

/// Every run's final values (the rows of `runs.csv`), kept in memory by [`super::Plan::execute`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunTable {
    /// Column names after `run` and `seed` (final cells as `metric.chain`, then run metrics).
    pub columns: Vec<String>,
    pub runs: Vec<u64>,
    pub seeds: Vec<u64>,
    /// Row-major: run `i` is `values[i·columns.len()..(i+1)·columns.len()]`.
    values: Vec<f64>,
    /// Every run's event log (the rows of `events.csv`), by run.
    pub logs: Vec<Vec<crate::engine::RunEvent>>,
}

impl RunTable {
    pub(super) fn new(layout: &Layout) -> RunTable {
        RunTable {
            columns: layout.run_columns(),
            ..RunTable::default()
        }
    }

    pub(super) fn push(&mut self, layout: &Layout, out: &RunOutput) {
        self.runs.push(out.run);
        self.seeds.push(out.seed);
        self.values.extend_from_slice(out.final_sample(layout));
        self.values.extend_from_slice(&out.run_metrics);
        self.logs.push(out.log.clone());
    }

    /// Number of runs.
    pub fn len(&self) -> usize {
        self.runs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// The values of run `i` (the `i`-th row), in column order.
    pub fn row(&self, i: usize) -> &[f64] {
        let n = self.columns.len();
        &self.values[i * n..(i + 1) * n]
    }

    /// A column across runs; NaN where a run has no value (ZK never overtook).
    pub fn column(&self, name: &str) -> Option<Vec<f64>> {
        let j = self.columns.iter().position(|c| c == name)?;
        Some((0..self.len()).map(|i| self.row(i)[j]).collect())
    }
}

/// The name of a run column: `metric` for a system metric, `metric.chain` for a chain's.
pub fn column_name(metric: &str, chain: Option<&str>) -> String {
    crate::engine::column_of(metric, chain.unwrap_or(""))
}

/// The results of `run`.
#[derive(Debug, Clone)]
pub struct RunResults {
    pub scenario: Scenario,
    pub result: BatchResult,
    /// Every run's final values; `None` when they were streamed to a file instead.
    pub finals: Option<RunTable>,
    /// The loss against the targets the scenario names in `[calibrate] targets`.
    pub fit: Option<crate::batch::fit::Score>,
}

impl RunResults {
    /// Statistics across runs of a final-day metric (`chain` for chain metrics), or of a
    /// per-run metric such as `zk_overtakes_day`.
    pub fn final_stat(&self, metric: &str, chain: Option<&str>) -> Option<&Stat> {
        self.result.run_stat(&column_name(metric, chain))
    }
}

/// The results of `compare`: each scenario's batch, and the paired statistics against the first.
#[derive(Debug, Clone)]
pub struct CompareResults {
    pub scenarios: Vec<Scenario>,
    pub results: Vec<BatchResult>,
    pub finals: Option<Vec<RunTable>>,
    pub comparison: Comparison,
    /// The rows of `compare.csv`.
    pub rows: Vec<CompareRow>,
}

impl CompareResults {
    /// Sub-folder of each scenario in a compare folder: `A_name`, `B_name`, ...
    pub fn dirs(&self) -> Vec<String> {
        compare_dirs(&self.scenarios)
    }

    /// The paired row of `metric` (a `runs.csv` column: `metric.chain` for a chain metric) for
    /// scenario `b` against the first.
    pub fn row(&self, b: &str, metric: &str) -> Option<&CompareRow> {
        self.rows
            .iter()
            .find(|r| r.scenario_b == b && r.column() == metric)
    }
}

/// The name of a job's output folder: the scenario's name, `compare_A_vs_B`, `sweep_NAME` (the
/// name itself when it already starts with `sweep_`: never `sweep_sweep_…`).
pub(super) fn folder_name(scenarios: &[&Scenario], sweep: bool) -> String {
    let names: Vec<&str> = scenarios.iter().map(|s| s.name.as_str()).collect();
    match (names.as_slice(), sweep) {
        ([one], true) if one.starts_with("sweep_") => one.to_string(),
        ([one], true) => format!("sweep_{one}"),
        ([one], false) => one.to_string(),
        (many, _) => format!("compare_{}", many.join("_vs_")),
    }
}

/// The output folder of a sweep's exploration: `sensitivity_NAME` or `discover_NAME` (a
/// leading `sweep_` of the name replaced, never doubled).
pub(super) fn explore_folder_name(
    base: &Scenario,
    explore: &crate::report::explore::Explore,
) -> String {
    let prefix = explore.command();
    let name = base.name.strip_prefix("sweep_").unwrap_or(&base.name);
    if name.starts_with(&format!("{prefix}_")) {
        name.to_string()
    } else {
        format!("{prefix}_{name}")
    }
}

/// The sub-folder of sweep point `p` (`--save-runs`): `points/<p>`.
pub(super) fn point_dir(p: usize) -> String {
    format!("points/{p}")
}

pub(super) fn compare_dirs(scenarios: &[Scenario]) -> Vec<String> {
    scenarios
        .iter()
        .enumerate()
        .map(|(i, s)| format!("{}_{}", (b'A' + i as u8) as char, s.name))
        .collect()
}

/// The results of `sweep`: per point, the final values' statistics of every metric, and their
/// paired differences against point 0.
#[derive(Debug, Clone)]
pub struct SweepResults {
    pub sweep: Sweep,
    /// `scenario.resolved.toml` of the sweep (its base, with `[sweep]`).
    pub resolved_toml: String,
    /// Every metric, as a `runs.csv` column (`metric.chain`), and the derived `zk_overtakes`.
    pub metrics: Vec<String>,
    /// `stats[p][m]`: metric `m` at point `p`.
    pub stats: Vec<Vec<Stat>>,
    /// `diffs[p][m]`: moments of the per-run difference of metric `m`, point `p` − point 0.
    pub diffs: Vec<Vec<crate::batch::Moments>>,
    pub results: Vec<BatchResult>,
    pub finals: Option<Vec<RunTable>>,
    /// The rows of `sweep.csv` and the contents of `sweep.json`.
    pub rows: Vec<SweepRow>,
    pub info: SweepInfo,
    /// The exploration asked for, and what it found (`sensitivity`, `discover`).
    pub explore_spec: Option<Box<crate::report::explore::Explore>>,
    pub explored: Option<Explored>,
}

/// The result of a sweep's exploration.
#[derive(Debug, Clone)]
pub enum Explored {
    Sensitivity(Box<crate::report::explore::SensitivityReport>),
    Discovery(Box<crate::report::explore::DiscoveryReport>),
}

impl SweepResults {
    pub(super) fn new(
        sweep: Sweep,
        resolved_toml: String,
        computed: crate::batch::SweepStats,
        results: Vec<BatchResult>,
        finals: Option<Vec<RunTable>>,
    ) -> SweepResults {
        // A run column's statistics are the point's own; a derived metric's, the sweep's.
        let stats: Vec<Vec<Stat>> = results
            .iter()
            .zip(&computed.stats)
            .map(|(r, derived)| {
                let of = |m: &String| match computed.derived.iter().position(|d| d == m) {
                    Some(i) => derived[i].clone(),
                    None => r.run_stat(m).cloned().unwrap_or_default(),
                };
                computed.metrics.iter().map(of).collect()
            })
            .collect();
        let diffs: Vec<Vec<crate::batch::Moments>> = computed
            .diffs
            .iter()
            .map(|d| d.iter().map(|m| m.get()).collect())
            .collect();
        let metrics = computed.metrics;
        let layout = Layout::new(&sweep.base);
        let cells: Vec<(String, String)> = metrics
            .iter()
            .map(|m| report::metric_and_chain(&layout, m))
            .collect();
        let mut rows = Vec::new();
        for (p, point) in sweep.points.iter().enumerate() {
            let params: Vec<String> = point
                .params
                .iter()
                .map(|(_, v)| report::sweep::param_label(v))
                .collect();
            for ((cell, stat), diff) in cells.iter().zip(&stats[p]).zip(&diffs[p]) {
                rows.push(SweepRow::of(p, params.clone(), cell.clone(), stat, diff));
            }
        }
        let info = SweepInfo {
            l2sim_version: env!("CARGO_PKG_VERSION").to_string(),
            scenario: sweep.base.name.clone(),
            runs: sweep.base.runs,
            seed: sweep.base.seed,
            points: sweep.points.len(),
            axes: report::sweep::axes(&sweep),
            design: report::explore::design_info(&sweep),
            conservation_error_max: results
                .iter()
                .map(|r| r.conservation_error_max)
                .fold(0.0, f64::max),
        };
        SweepResults {
            sweep,
            resolved_toml,
            metrics,
            stats,
            diffs,
            results,
            finals,
            rows,
            info,
            explore_spec: None,
            explored: None,
        }
    }
}

/// What a job computed.
#[derive(Debug, Clone)]
pub enum Outcome {
    Run(RunResults),
    Compare(CompareResults),
    Sweep(SweepResults),
}

impl Outcome {
    pub fn as_run(&self) -> Option<&RunResults> {
        match self {
            Outcome::Run(r) => Some(r),
            _ => None,
        }
    }

    pub fn as_compare(&self) -> Option<&CompareResults> {
        match self {
            Outcome::Compare(c) => Some(c),
            _ => None,
        }
    }

    pub fn as_sweep(&self) -> Option<&SweepResults> {
        match self {
            Outcome::Sweep(s) => Some(s),
            _ => None,
        }
    }

    /// The name of the job's output folder: the scenario's name, `compare_A_vs_B`, `sweep_NAME`.
    pub fn name(&self) -> String {
        match self {
            Outcome::Run(r) => folder_name(&[&r.scenario], false),
            Outcome::Compare(c) => folder_name(&c.scenarios.iter().collect::<Vec<_>>(), false),
            Outcome::Sweep(s) => match s.explore_spec.as_deref() {
                Some(e) => explore_folder_name(&s.sweep.base, e),
                None => folder_name(&[&s.sweep.base], true),
            },
        }
    }

    /// The key-value metadata of the folder's Parquet files: scenario, seed, runs, version
    /// (units are added by the writer, from the registry).
    pub fn parquet_metadata(&self) -> Vec<(String, String)> {
        let (scenarios, seed, runs): (Vec<&str>, u64, u64) = match self {
            Outcome::Run(r) => (vec![&r.scenario.name], r.result.seed, r.result.runs),
            Outcome::Compare(c) => (
                c.scenarios.iter().map(|s| s.name.as_str()).collect(),
                c.results[0].seed,
                c.results[0].runs,
            ),
            Outcome::Sweep(s) => (vec![&s.sweep.base.name], s.info.seed, s.info.runs),
        };
        vec![
            ("l2sim.scenario".to_string(), scenarios.join(",")),
            ("l2sim.seed".to_string(), seed.to_string()),
            ("l2sim.runs".to_string(), runs.to_string()),
            (
                "l2sim.version".to_string(),
                env!("CARGO_PKG_VERSION").to_string(),
            ),
        ]
    }

    /// The folder's JSON document: `summary.json`, `compare.json` or `sweep.json`.
    pub fn json_file(&self) -> &'static str {
        match self {
            Outcome::Run(_) => "summary.json",
            Outcome::Compare(_) => "compare.json",
            Outcome::Sweep(_) => "sweep.json",
        }
    }

    /// Writes results kept in memory ([`super::Plan::execute`]) as an output folder at `out`,
    /// the same files [`super::Plan::write`] writes (without `trajectories.csv`).
    pub fn write(&self, out: &Path, plots: bool, parquet: bool) -> Result<PathBuf> {
        let ctl = super::Control::silent();
        let staging = super::stage(out, &ctl)?;
        let missing = || Error::input(None, "the per-run values were not kept in memory");
        match self {
            Outcome::Run(r) => {
                let finals = r.finals.as_ref().ok_or_else(missing)?;
                write_finals(staging.path(), &r.result.layout, finals)?;
            }
            Outcome::Compare(c) => {
                let finals = c.finals.as_ref().ok_or_else(missing)?;
                for ((sub, result), table) in c.dirs().iter().zip(&c.results).zip(finals) {
                    write_finals(&staging.path().join(sub), &result.layout, table)?;
                }
            }
            Outcome::Sweep(_) => {}
        }
        finish(self, staging, plots, parquet, &ctl)
    }
}

fn write_finals(dir: &Path, layout: &Layout, table: &RunTable) -> Result<()> {
    let mut files = report::RunFiles::create(dir, layout, false)?;
    for i in 0..table.len() {
        files.write_values(
            layout,
            table.runs[i],
            table.seeds[i],
            table.row(i),
            &table.logs[i],
        )?;
    }
    Ok(files.finish()?)
}

/// The finishing half of every job: writes the reports of `outcome` into the staged folder
/// (whose streamed tables are already there) and moves it into place.
pub(super) fn finish(
    outcome: &Outcome,
    staging: Staging,
    plots: bool,
    parquet: bool,
    ctl: &super::Control,
) -> Result<PathBuf> {
    let dir = staging.path();
    match outcome {
        Outcome::Run(r) => {
            report::write_run_report(dir, &r.scenario, &r.result, plots)?;
            if let Some(score) = &r.fit {
                let file = r
                    .scenario
                    .calibrate
                    .as_ref()
                    .and_then(|c| c.targets.clone())
                    .unwrap_or_default();
                report::calibrate::write_fit_json(dir, &file, score)?;
            }
        }
        Outcome::Compare(c) => {
            let dirs: Vec<PathBuf> = c.dirs().iter().map(|d| dir.join(d)).collect();
            let refs: Vec<&Scenario> = c.scenarios.iter().collect();
            for ((sub, sc), result) in dirs.iter().zip(&refs).zip(&c.results) {
                report::write_run_report(sub, sc, result, plots)?;
            }
            let over_time = report::paired_time::paired_time_rows(&refs, &c.comparison);
            report::write_compare_report(
                dir, &refs, &c.results, &c.rows, &over_time, &dirs, plots,
            )?;
        }
        Outcome::Sweep(s) => {
            report::write_resolved(dir, &s.resolved_toml, &s.sweep.base.series_files())?;
            if let Some(design) = &s.sweep.design {
                let values: Vec<Vec<f64>> = s
                    .sweep
                    .unit
                    .iter()
                    .map(|u| {
                        design
                            .parameters
                            .iter()
                            .zip(u)
                            .map(|(p, &x)| p.at(x))
                            .collect()
                    })
                    .collect();
                report::explore::write_design_csv(&dir.join("design.csv"), design, &values)?;
            }
            match &s.explored {
                Some(Explored::Sensitivity(r)) => report::explore::write_sensitivity(dir, r)?,
                Some(Explored::Discovery(r)) => report::explore::write_discovery(dir, r)?,
                None => {}
            }
            report::write_sweep_report(dir, &s.sweep.fields, &s.info, &s.rows, plots)?;
        }
    }
    let metadata = parquet.then(|| outcome.parquet_metadata());
    super::commit(staging, ctl, metadata.as_deref())
}
