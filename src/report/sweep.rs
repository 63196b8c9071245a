//! `sweep.csv` (tidy: one row per grid point, metric and chain, the swept fields as columns; each
//! point's statistics and its paired difference against point 0) and `sweep.json` (the axes, for
//! charts and readers that want the grid's shape).

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::read::{self, Csv};
use super::tables::num;
use crate::batch::{Moments, Stat};
use crate::scenario::Sweep;

/// One axis of the grid: a grid field, or all zip fields together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    /// Field paths on this axis (one, or several for `zip`).
    pub fields: Vec<String>,
    /// The value of each point along the axis, as written (zip: values joined by " / ").
    pub labels: Vec<String>,
    /// The values as numbers, when the axis has one numeric field.
    pub numbers: Option<Vec<f64>>,
}

impl Axis {
    pub fn title(&self) -> String {
        self.fields.join(" / ")
    }
}

/// `sweep.json`: shape of the grid and run settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepInfo {
    pub l2sim_version: String,
    pub scenario: String,
    pub runs: u64,
    pub seed: u64,
    pub points: usize,
    /// Axes of the Cartesian product: grid axes in `[sweep]` order (the first varies slowest),
    /// then the zip axis.
    pub axes: Vec<Axis>,
    /// The design, when the points are one (`axes` is then empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub design: Option<super::explore::DesignInfo>,
    pub conservation_error_max: f64,
}

impl SweepInfo {
    /// The swept fields, as `sweep.csv`'s parameter columns: every axis's, or the design's.
    pub fn fields(&self) -> Vec<String> {
        match &self.design {
            Some(d) => d.parameters.iter().map(|p| p.field.clone()).collect(),
            None => self.axes.iter().flat_map(|a| a.fields.clone()).collect(),
        }
    }
}

fn value_label(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Float(f) => num(*f),
        other => other.to_string(),
    }
}

/// The axes of a sweep, from its `[sweep]` table.
pub fn axes(sweep: &Sweep) -> Vec<Axis> {
    let spec = sweep.base.raw.sweep.clone().unwrap_or_default();
    let mut axes: Vec<Axis> = spec
        .grid
        .iter()
        .map(|a| Axis {
            fields: vec![a.field.clone()],
            labels: a.values.iter().map(value_label).collect(),
            numbers: a
                .values
                .iter()
                .map(|v| v.as_float().or(v.as_integer().map(|i| i as f64)))
                .collect(),
        })
        .collect();
    if let Some(first) = spec.zip.first() {
        let labels = (0..first.values.len())
            .map(|i| {
                spec.zip
                    .iter()
                    .map(|a| value_label(&a.values[i]))
                    .collect::<Vec<_>>()
                    .join(" / ")
            })
            .collect();
        let numbers = if spec.zip.len() == 1 {
            first
                .values
                .iter()
                .map(|v| v.as_float().or(v.as_integer().map(|i| i as f64)))
                .collect()
        } else {
            None
        };
        axes.push(Axis {
            fields: spec.zip.iter().map(|a| a.field.clone()).collect(),
            labels,
            numbers,
        });
    }
    axes
}

/// One row of `sweep.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRow {
    pub point: usize,
    pub params: Vec<String>,
    pub metric: String,
    /// The chain of a chain metric, empty for whole-system and per-run metrics.
    pub chain: String,
    pub n: u64,
    /// mean, sd, ci95_low, ci95_high, p05, p50, p95.
    pub stats: [f64; 7],
    /// Runs paired with point 0 (both values present).
    pub diff_n: u64,
    /// The mean per-run difference `point − point 0` and its 95 % interval.
    pub diff: [f64; 3],
}

/// Mean and 95 % interval of the mean (`mean ± 1.96·sd/√n`); NaN without values.
fn mean_interval(m: &Moments) -> [f64; 3] {
    let half = 1.959963984540054 * m.sem();
    let mean = if m.count > 0 { m.mean } else { f64::NAN };
    [mean, mean - half, mean + half]
}

impl SweepRow {
    /// The row of `metric` (and `chain`) at `point`: `s` across runs, `diff` the moments of the
    /// per-run difference against point 0.
    pub fn of(
        point: usize,
        params: Vec<String>,
        (metric, chain): (String, String),
        s: &Stat,
        diff: &Moments,
    ) -> SweepRow {
        let m = &s.moments();
        let mean = if m.count > 0 { m.mean } else { f64::NAN };
        // A probability (an indicator's mean) has its Wilson interval, inside [0, 1].
        let (low, high) = s.mean_interval(&metric);
        let [p05, p50, p95] = s.quantiles([0.05, 0.5, 0.95]);
        SweepRow {
            point,
            params,
            metric,
            chain,
            n: m.count,
            diff_n: diff.count,
            diff: mean_interval(diff),
            stats: [mean, m.sd(), low, high, p05, p50, p95],
        }
    }
}

/// The columns of [`SweepRow::stats`] in `sweep.csv`.
const STAT_COLUMNS: [&str; 7] = ["mean", "sd", "ci95_low", "ci95_high", "p05", "p50", "p95"];

/// The columns of [`SweepRow::diff`] in `sweep.csv`, after `diff_n`.
const DIFF_COLUMNS: [&str; 3] = ["diff_mean", "diff_ci95_low", "diff_ci95_high"];

pub fn write_sweep_csv(path: &Path, fields: &[String], rows: &[SweepRow]) -> Result<()> {
    let mut w = super::output::csv_file(path)?;
    let mut header = vec!["point".to_string()];
    header.extend(fields.iter().cloned());
    header.extend(
        ["metric", "chain", "n"]
            .iter()
            .chain(&STAT_COLUMNS)
            .chain(&["diff_n"])
            .chain(&DIFF_COLUMNS)
            .map(|s| s.to_string()),
    );
    w.write_record(&header)?;
    for r in rows {
        let mut rec = vec![r.point.to_string()];
        rec.extend(r.params.iter().cloned());
        rec.push(r.metric.clone());
        rec.push(r.chain.clone());
        rec.push(r.n.to_string());
        rec.extend(r.stats.iter().map(|&x| num(x)));
        rec.push(r.diff_n.to_string());
        rec.extend(r.diff.iter().map(|&x| num(x)));
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}

/// Reads `sweep.csv` back (for `plot` and tests), its columns found by name; `fields` are the
/// parameter columns (the axes' fields of `sweep.json`).
pub fn read_sweep_csv(path: &Path, fields: &[String]) -> Result<Vec<SweepRow>> {
    let mut t = Csv::open(path)?;
    let (point, metric, n) = (t.column("point")?, t.column("metric")?, t.column("n")?);
    let (chain, diff_n) = (t.column("chain")?, t.column("diff_n")?);
    let mut diff = [0; DIFF_COLUMNS.len()];
    for (d, name) in diff.iter_mut().zip(DIFF_COLUMNS) {
        *d = t.column(name)?;
    }
    let params = fields
        .iter()
        .map(|f| t.column(f))
        .collect::<Result<Vec<usize>, _>>()?;
    let mut stats = [0; STAT_COLUMNS.len()];
    for (s, name) in stats.iter_mut().zip(STAT_COLUMNS) {
        *s = t.column(name)?;
    }
    let mut rows = Vec::new();
    while t.next_row()? {
        let mut values = [0.0; STAT_COLUMNS.len()];
        for (v, &i) in values.iter_mut().zip(&stats) {
            *v = t.number(i)?;
        }
        let mut diffs = [0.0; DIFF_COLUMNS.len()];
        for (v, &i) in diffs.iter_mut().zip(&diff) {
            *v = t.number(i)?;
        }
        rows.push(SweepRow {
            point: t.count(point)? as usize,
            params: params.iter().map(|&i| t.text(i).to_string()).collect(),
            metric: t.text(metric).to_string(),
            chain: t.text(chain).to_string(),
            n: t.count(n)?,
            stats: values,
            diff_n: t.count(diff_n)?,
            diff: diffs,
        });
    }
    Ok(rows)
}

pub fn write_sweep_json(path: &Path, info: &SweepInfo) -> Result<()> {
    std::fs::write(path, serde_json::to_string_pretty(info)? + "\n")
        .with_context(|| format!("writing {}", path.display()))
}

pub fn read_sweep_json(path: &Path) -> Result<SweepInfo> {
    Ok(read::json(path)?)
}

/// A parameter value as a `sweep.csv` field.
pub fn param_label(v: &toml::Value) -> String {
    value_label(v)
}
