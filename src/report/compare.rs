//! `compare.csv` and `compare.json`: per compared scenario and metric (every column of
//! `runs.csv`, the chain in its own column), the paired difference B − A with its 95 % interval
//! (for a probability such as `zk_overtakes`, Newcombe's score interval of a difference of
//! proportions), P(B > A), what pairing gained over independent runs, and whether the comparison
//! is degenerate (`identical`: every paired difference 0, when `variance_reduction` is missing).

use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::read::Csv;
use super::tables::num;
use crate::batch::{self, BatchResult, Comparison, PairedStat};
use crate::scenario::Scenario;

/// One row of `compare.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareRow {
    pub scenario_a: String,
    pub scenario_b: String,
    pub metric: String,
    /// The chain of a chain metric, empty for whole-system and per-run metrics.
    pub chain: String,
    pub n: u64,
    pub mean_a: f64,
    pub mean_b: f64,
    pub mean_diff: f64,
    pub ci95_low: f64,
    pub ci95_high: f64,
    pub sd_diff: f64,
    pub p_b_gt_a: f64,
    pub unpaired_ci95_low: f64,
    pub unpaired_ci95_high: f64,
    /// Not defined (NaN) when the comparison is degenerate.
    pub variance_reduction: f64,
    /// Every paired difference is 0: B reproduces A run by run.
    pub identical: bool,
}

impl CompareRow {
    /// The metric's column name in `runs.csv`: `metric.chain`, or `metric`.
    pub fn column(&self) -> String {
        super::tables::column_of(&self.metric, &self.chain)
    }

    fn of(a: &str, b: &str, (metric, chain): (String, String), s: &PairedStat) -> CompareRow {
        let (mean, paired, unpaired) = (
            s.diff().mean,
            s.paired_half_width(),
            s.unpaired_half_width(),
        );
        let nan_if_empty = |x: f64| if s.n() == 0 { f64::NAN } else { x };
        let (ci, unpaired_ci) = if batch::is_probability(&metric) {
            let [n11, n10, n01, n00] = s.indicator_table();
            (
                batch::newcombe_paired(n11, n10, n01, n00, true),
                batch::newcombe_paired(n11, n10, n01, n00, false),
            )
        } else {
            (
                (mean - paired, mean + paired),
                (mean - unpaired, mean + unpaired),
            )
        };
        CompareRow {
            scenario_a: a.to_string(),
            scenario_b: b.to_string(),
            metric,
            chain,
            n: s.n(),
            mean_a: nan_if_empty(s.a().mean),
            mean_b: nan_if_empty(s.b().mean),
            mean_diff: nan_if_empty(mean),
            ci95_low: ci.0,
            ci95_high: ci.1,
            sd_diff: s.diff().sd(),
            p_b_gt_a: nan_if_empty(s.p_b_greater()),
            unpaired_ci95_low: unpaired_ci.0,
            unpaired_ci95_high: unpaired_ci.1,
            variance_reduction: nan_if_empty(s.variance_reduction()),
            identical: s.identical(),
        }
    }
}

/// The rows of `compare.csv`: every compared scenario against the first, metric by metric.
pub fn compare_rows(scenarios: &[&Scenario], comparison: &Comparison) -> Vec<CompareRow> {
    let a = &scenarios[0].name;
    let layout = crate::engine::Layout::new(scenarios[0]);
    let mut rows = Vec::new();
    for (k, against) in comparison.against.iter().enumerate() {
        let b = &scenarios[k + 1].name;
        for (column, stat) in against.metrics.iter().zip(&against.stats) {
            let cell = super::tables::metric_and_chain(&layout, column);
            rows.push(CompareRow::of(a, b, cell, stat));
        }
    }
    rows
}

const HEADER: [&str; 16] = [
    "scenario_a",
    "scenario_b",
    "metric",
    "chain",
    "n",
    "mean_a",
    "mean_b",
    "mean_diff",
    "ci95_low",
    "ci95_high",
    "sd_diff",
    "p_b_gt_a",
    "unpaired_ci95_low",
    "unpaired_ci95_high",
    "variance_reduction",
    "identical",
];

pub fn write_compare_csv(path: &Path, rows: &[CompareRow]) -> Result<()> {
    let mut w = super::output::csv_file(path)?;
    w.write_record(HEADER)?;
    for r in rows {
        let mut rec = vec![
            r.scenario_a.clone(),
            r.scenario_b.clone(),
            r.metric.clone(),
            r.chain.clone(),
            r.n.to_string(),
        ];
        rec.extend(
            [
                r.mean_a,
                r.mean_b,
                r.mean_diff,
                r.ci95_low,
                r.ci95_high,
                r.sd_diff,
                r.p_b_gt_a,
                r.unpaired_ci95_low,
                r.unpaired_ci95_high,
                r.variance_reduction,
            ]
            .iter()
            .map(|&x| num(x)),
        );
        rec.push(r.identical.to_string());
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}

/// Reads `compare.csv` back (for `plot` and tests), its columns found by name.
pub fn read_compare_csv(path: &Path) -> Result<Vec<CompareRow>> {
    let mut t = Csv::open(path)?;
    let mut col = [0; HEADER.len()];
    for (c, name) in col.iter_mut().zip(HEADER) {
        *c = t.column(name)?;
    }
    let mut rows = Vec::new();
    while t.next_row()? {
        let f = |k: usize| t.number(col[k]);
        let s = |k: usize| t.text(col[k]).to_string();
        rows.push(CompareRow {
            scenario_a: s(0),
            scenario_b: s(1),
            metric: s(2),
            chain: s(3),
            n: t.count(col[4])?,
            mean_a: f(5)?,
            mean_b: f(6)?,
            mean_diff: f(7)?,
            ci95_low: f(8)?,
            ci95_high: f(9)?,
            sd_diff: f(10)?,
            p_b_gt_a: f(11)?,
            unpaired_ci95_low: f(12)?,
            unpaired_ci95_high: f(13)?,
            variance_reduction: f(14)?,
            identical: t.flag(col[15])?,
        });
    }
    Ok(rows)
}

/// The variance pairing removed, for people: a percentage, or why there is none.
pub fn variance_removed(r: &CompareRow) -> String {
    if r.identical {
        "none: identical runs (every difference 0)".to_string()
    } else if r.variance_reduction.is_nan() {
        "not defined (no variance)".to_string()
    } else {
        format!("{:.0} %", 100.0 * r.variance_reduction)
    }
}

fn finite(x: f64) -> Value {
    if x.is_finite() { json!(x) } else { Value::Null }
}

/// The `compare.json` document; machine-dependent figures under `perf`.
pub fn compare_json(
    scenarios: &[&Scenario],
    results: &[BatchResult],
    rows: &[CompareRow],
) -> Value {
    let comparisons: Vec<Value> = scenarios[1..]
        .iter()
        .map(|b| {
            let metrics: serde_json::Map<String, Value> = rows
                .iter()
                .filter(|r| r.scenario_b == b.name)
                .map(|r| {
                    (
                        r.column(),
                        json!({
                            "metric": r.metric,
                            "chain": r.chain,
                            "n": r.n,
                            "mean_a": finite(r.mean_a),
                            "mean_b": finite(r.mean_b),
                            "mean_diff": finite(r.mean_diff),
                            "ci95": [finite(r.ci95_low), finite(r.ci95_high)],
                            "sd_diff": finite(r.sd_diff),
                            "p_b_gt_a": finite(r.p_b_gt_a),
                            "unpaired_ci95": [finite(r.unpaired_ci95_low), finite(r.unpaired_ci95_high)],
                            "variance_reduction": finite(r.variance_reduction),
                            "identical": r.identical,
                        }),
                    )
                })
                .collect();
            json!({ "scenario": b.name, "metrics": metrics })
        })
        .collect();
    let first = &results[0];
    let decisions: u64 = results.iter().map(|r| r.decisions).sum();
    let wall = first.wall_seconds.max(1e-9);
    json!({
        "l2sim_version": env!("CARGO_PKG_VERSION"),
        "baseline": scenarios[0].name,
        "scenarios": scenarios.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
        "runs": first.runs,
        "seed": first.seed,
        "common_random_numbers": true,
        "conservation_error_max": results.iter().map(|r| r.conservation_error_max).fold(0.0, f64::max),
        "comparisons": comparisons,
        "perf": {
            "wall_seconds": first.wall_seconds,
            "threads": first.threads,
            "decisions_per_second": decisions as f64 / wall,
        },
    })
}
