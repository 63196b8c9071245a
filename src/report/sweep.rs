//! `sweep.csv` (tidy: one row per grid point and metric, the swept fields as columns) and
//! `sweep.json` (the axes, for charts and readers that want the grid's shape).

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::tables::{field, num};
use crate::batch::Stat;
use crate::scenario::Sweep;
use crate::scenario::input;

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
    pub conservation_error_max: f64,
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
    pub n: u64,
    /// mean, sd, ci95_low, ci95_high, p05, p50, p95.
    pub stats: [f64; 7],
}

impl SweepRow {
    pub fn of(point: usize, params: Vec<String>, metric: &str, s: &Stat) -> SweepRow {
        let m = &s.moments();
        let half = 1.959963984540054 * m.sem();
        let mean = if m.count > 0 { m.mean } else { f64::NAN };
        SweepRow {
            point,
            params,
            metric: metric.to_string(),
            n: m.count,
            stats: [
                mean,
                m.sd(),
                mean - half,
                mean + half,
                s.quantile(0.05),
                s.quantile(0.5),
                s.quantile(0.95),
            ],
        }
    }
}

pub fn write_sweep_csv(path: &Path, fields: &[String], rows: &[SweepRow]) -> Result<()> {
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("creating {}", path.display()))?;
    let mut header = vec!["point".to_string()];
    header.extend(fields.iter().cloned());
    header.extend(
        [
            "metric",
            "n",
            "mean",
            "sd",
            "ci95_low",
            "ci95_high",
            "p05",
            "p50",
            "p95",
        ]
        .map(String::from),
    );
    w.write_record(&header)?;
    for r in rows {
        let mut rec = vec![r.point.to_string()];
        rec.extend(r.params.iter().cloned());
        rec.push(r.metric.clone());
        rec.push(r.n.to_string());
        rec.extend(r.stats.iter().map(|&x| num(x)));
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}

/// Reads `sweep.csv` back (for `plot` and tests); `fields` is the number of parameter columns.
pub fn read_sweep_csv(path: &Path, fields: usize) -> Result<Vec<SweepRow>> {
    let mut r = input::open(path, u64::MAX)
        .map(csv::Reader::from_reader)
        .with_context(|| format!("reading {}", path.display()))?;
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec?;
        let get = |i: usize| rec.get(i).unwrap_or_default().to_string();
        let f = |i: usize| field(&rec, i);
        let base = 1 + fields;
        rows.push(SweepRow {
            point: get(0).parse().unwrap_or(0),
            params: (1..base).map(get).collect(),
            metric: get(base),
            n: get(base + 1).parse().unwrap_or(0),
            stats: [
                f(base + 2),
                f(base + 3),
                f(base + 4),
                f(base + 5),
                f(base + 6),
                f(base + 7),
                f(base + 8),
            ],
        });
    }
    Ok(rows)
}

pub fn write_sweep_json(path: &Path, info: &SweepInfo) -> Result<()> {
    std::fs::write(path, serde_json::to_string_pretty(info)? + "\n")
        .with_context(|| format!("writing {}", path.display()))
}

pub fn read_sweep_json(path: &Path) -> Result<SweepInfo> {
    let text = input::read_text(path, input::MAX_TOML_BYTES)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(serde_json::from_str(&text)?)
}

/// A parameter value as a `sweep.csv` field.
pub fn param_label(v: &toml::Value) -> String {
    value_label(v)
}
