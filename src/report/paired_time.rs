//! `paired_trajectories.csv` of a compare folder: at every sample day, the paired difference
//! B − A of a few system metrics (`batch::OVER_TIME`) with its 95 % interval, from runs with
//! common random numbers. It holds what the `compare_paired_over_time` chart draws.

use std::path::Path;

use anyhow::Result;

use super::read::Csv;
use super::tables::num;
use crate::batch::Comparison;
use crate::scenario::Scenario;

/// The file's name in a compare folder.
pub const FILE: &str = "paired_trajectories.csv";

/// One row: scenario B's paired difference from A in one metric at one sample day.
#[derive(Debug, Clone, PartialEq)]
pub struct PairedTimeRow {
    pub day: f64,
    pub scenario_b: String,
    pub metric: String,
    pub n: u64,
    pub mean_diff: f64,
    pub ci95_low: f64,
    pub ci95_high: f64,
}

/// Every compared scenario's rows, day by day, metric by metric.
pub fn paired_time_rows(scenarios: &[&Scenario], comparison: &Comparison) -> Vec<PairedTimeRow> {
    let mut rows = Vec::new();
    for (k, against) in comparison.against.iter().enumerate() {
        let ot = &against.over_time;
        for (t, &day) in ot.days.iter().enumerate() {
            for (m, metric) in ot.metrics.iter().enumerate() {
                let s = ot.at(t, m);
                let (mean, half) = if s.n() == 0 {
                    (f64::NAN, f64::NAN)
                } else {
                    (s.diff().mean, s.paired_half_width())
                };
                rows.push(PairedTimeRow {
                    day,
                    scenario_b: scenarios[k + 1].name.clone(),
                    metric: metric.to_string(),
                    n: s.n(),
                    mean_diff: mean,
                    ci95_low: mean - half,
                    ci95_high: mean + half,
                });
            }
        }
    }
    rows
}

const HEADER: [&str; 8] = [
    "day",
    "scenario_b",
    "metric",
    "chain",
    "n",
    "mean_diff",
    "ci95_low",
    "ci95_high",
];

/// Writes the rows (`chain` is empty: every metric here is a whole-system one).
pub fn write(path: &Path, rows: &[PairedTimeRow]) -> Result<()> {
    let mut w = super::output::csv_file(path)?;
    w.write_record(HEADER)?;
    for r in rows {
        w.write_record([
            num(r.day),
            r.scenario_b.clone(),
            r.metric.clone(),
            String::new(),
            r.n.to_string(),
            num(r.mean_diff),
            num(r.ci95_low),
            num(r.ci95_high),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Reads the rows back (for `plot`), columns found by name.
pub fn read(path: &Path) -> Result<Vec<PairedTimeRow>> {
    let mut t = Csv::open(path)?;
    let mut col = [0; HEADER.len()];
    for (c, name) in col.iter_mut().zip(HEADER) {
        *c = t.column(name)?;
    }
    let mut rows = Vec::new();
    while t.next_row()? {
        rows.push(PairedTimeRow {
            day: t.number(col[0])?,
            scenario_b: t.text(col[1]).to_string(),
            metric: t.text(col[2]).to_string(),
            n: t.count(col[4])?,
            mean_diff: t.number(col[5])?,
            ci95_low: t.number(col[6])?,
            ci95_high: t.number(col[7])?,
        });
    }
    Ok(rows)
}
