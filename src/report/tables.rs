//! Tidy CSV tables: `quantiles.csv`, `runs.csv`, `trajectories.csv`.
//!
//! Numbers are written with Rust's shortest round-trip formatting, missing values as empty fields,
//! so that pandas, polars and R read them with no cleaning and the bytes never depend on threads.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use anyhow::{Context, Result};

use crate::batch::BatchResult;
use crate::engine::{Layout, RunOutput};
use crate::scenario::input;

/// Quantiles written for every (day, metric, chain).
pub const QUANTILES: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

/// Field `i` of a CSV record as a number; NaN when empty or missing (the inverse of [`num`]).
pub fn field(rec: &csv::StringRecord, i: usize) -> f64 {
    rec.get(i).and_then(|s| s.parse().ok()).unwrap_or(f64::NAN)
}

/// A number as a CSV field: shortest round-trip form, empty when NaN.
pub fn num(x: f64) -> String {
    if x.is_nan() {
        String::new()
    } else {
        format!("{x}")
    }
}

/// One row of `quantiles.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantileRow {
    pub day: f64,
    /// The sample's date, when the scenario has a calendar (`start_date`).
    pub date: Option<String>,
    pub metric: String,
    pub chain: String,
    /// mean, p05, p25, p50, p75, p95.
    pub stats: [f64; 6],
}

/// The rows of `quantiles.csv` computed from a batch.
pub fn quantile_rows(result: &BatchResult) -> Vec<QuantileRow> {
    let layout = &result.layout;
    let mut rows = Vec::with_capacity(layout.sample_days.len() * layout.n_cells());
    for (k, &day) in layout.sample_days.iter().enumerate() {
        for (c, cell) in layout.cells.iter().enumerate() {
            let stat = result.cell(k, c);
            let mut stats = [stat.moments().mean; 6];
            if stat.moments().count == 0 {
                stats[0] = f64::NAN;
            }
            for (i, q) in QUANTILES.iter().enumerate() {
                stats[i + 1] = stat.quantile(*q);
            }
            rows.push(QuantileRow {
                day,
                date: layout.date(k),
                metric: cell.metric.to_string(),
                chain: cell.chain.clone().unwrap_or_default(),
                stats,
            });
        }
    }
    rows
}

pub fn write_quantiles(path: &Path, rows: &[QuantileRow]) -> Result<()> {
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("creating {}", path.display()))?;
    let dated = rows.first().is_some_and(|r| r.date.is_some());
    let mut header = vec!["day"];
    if dated {
        header.push("date");
    }
    header.extend(["metric", "chain", "mean", "p05", "p25", "p50", "p75", "p95"]);
    w.write_record(&header)?;
    for r in rows {
        let mut rec = vec![num(r.day)];
        if dated {
            rec.push(r.date.clone().unwrap_or_default());
        }
        rec.extend([r.metric.clone(), r.chain.clone()]);
        rec.extend(r.stats.iter().map(|&x| num(x)));
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}

/// Reads `quantiles.csv` back (for `plot` and tests), its columns found by name.
pub fn read_quantiles(path: &Path) -> Result<Vec<QuantileRow>> {
    let mut r = input::open(path, u64::MAX)
        .map(csv::Reader::from_reader)
        .with_context(|| format!("reading {}", path.display()))?;
    let headers = r.headers()?.clone();
    let col = |name: &str| -> Result<usize> {
        headers
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("{}: no column {name:?}", path.display()))
    };
    let (day, metric, chain) = (col("day")?, col("metric")?, col("chain")?);
    let stats = ["mean", "p05", "p25", "p50", "p75", "p95"]
        .iter()
        .map(|n| col(n))
        .collect::<Result<Vec<usize>>>()?;
    let date = headers.iter().position(|h| h == "date");
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec?;
        let f = |i: usize| field(&rec, i);
        rows.push(QuantileRow {
            day: f(day),
            date: date.map(|i| rec.get(i).unwrap_or_default().to_string()),
            metric: rec.get(metric).unwrap_or_default().to_string(),
            chain: rec.get(chain).unwrap_or_default().to_string(),
            stats: [
                f(stats[0]),
                f(stats[1]),
                f(stats[2]),
                f(stats[3]),
                f(stats[4]),
                f(stats[5]),
            ],
        });
    }
    Ok(rows)
}

/// Streams `runs.csv` rows as runs finish.
pub struct RunsWriter {
    w: csv::Writer<BufWriter<File>>,
}

impl RunsWriter {
    pub fn create(path: &Path, layout: &Layout) -> Result<RunsWriter> {
        let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let mut w = csv::Writer::from_writer(BufWriter::new(file));
        let mut header = vec!["run".to_string(), "seed".to_string()];
        header.extend(layout.run_columns());
        w.write_record(&header)?;
        Ok(RunsWriter { w })
    }

    pub fn write(&mut self, layout: &Layout, out: &RunOutput) -> Result<()> {
        let values = out.final_sample(layout).iter().chain(&out.run_metrics);
        self.write_values(out.run, out.seed, values.copied())
    }

    /// One row from its values: run, seed, then the run columns in order.
    pub fn write_values(
        &mut self,
        run: u64,
        seed: u64,
        values: impl Iterator<Item = f64>,
    ) -> Result<()> {
        let mut rec = vec![run.to_string(), seed.to_string()];
        rec.extend(values.map(num));
        self.w.write_record(&rec)?;
        Ok(())
    }

    pub fn finish(mut self) -> Result<()> {
        self.w.flush()?;
        Ok(())
    }
}

/// Streams `trajectories.csv` (`--save-runs`): one row per run, sample and cell.
pub struct TrajectoriesWriter {
    w: csv::Writer<BufWriter<File>>,
}

impl TrajectoriesWriter {
    pub fn create(path: &Path, layout: &Layout) -> Result<TrajectoriesWriter> {
        let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let mut w = csv::Writer::from_writer(BufWriter::new(file));
        if layout.dates.is_some() {
            w.write_record(["run", "day", "date", "metric", "chain", "value"])?;
        } else {
            w.write_record(["run", "day", "metric", "chain", "value"])?;
        }
        Ok(TrajectoriesWriter { w })
    }

    pub fn write(&mut self, layout: &Layout, out: &RunOutput) -> Result<()> {
        let n = layout.n_cells();
        let run = out.run.to_string();
        for (k, &day) in layout.sample_days.iter().enumerate() {
            let day = num(day);
            let date = layout.date(k);
            for (c, cell) in layout.cells.iter().enumerate() {
                let chain = cell.chain.as_deref().unwrap_or("");
                let value = num(out.samples[k * n + c]);
                match &date {
                    Some(date) => self.w.write_record([
                        run.as_str(),
                        &day,
                        date,
                        cell.metric,
                        chain,
                        &value,
                    ])?,
                    None => {
                        self.w
                            .write_record([run.as_str(), &day, cell.metric, chain, &value])?
                    }
                }
            }
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<()> {
        self.w.flush()?;
        Ok(())
    }
}

/// The tables streamed into a run folder while the batch runs: `runs.csv`, and with
/// `--save-runs` `trajectories.csv`.
pub struct RunFiles {
    runs: RunsWriter,
    trajectories: Option<TrajectoriesWriter>,
}

impl RunFiles {
    /// Creates `dir` and its tables.
    pub fn create(dir: &Path, layout: &Layout, save_runs: bool) -> Result<RunFiles> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let trajectories = if save_runs {
            Some(TrajectoriesWriter::create(
                &dir.join("trajectories.csv"),
                layout,
            )?)
        } else {
            None
        };
        Ok(RunFiles {
            runs: RunsWriter::create(&dir.join("runs.csv"), layout)?,
            trajectories,
        })
    }

    pub fn write(&mut self, layout: &Layout, out: &RunOutput) -> Result<()> {
        self.runs.write(layout, out)?;
        if let Some(t) = self.trajectories.as_mut() {
            t.write(layout, out)?;
        }
        Ok(())
    }

    /// A `runs.csv` row from values kept in memory.
    pub fn write_values(&mut self, run: u64, seed: u64, values: &[f64]) -> Result<()> {
        self.runs.write_values(run, seed, values.iter().copied())
    }

    pub fn finish(self) -> Result<()> {
        self.runs.finish()?;
        if let Some(t) = self.trajectories {
            t.finish()?;
        }
        Ok(())
    }
}

/// Reads named numeric columns of `runs.csv` (for `plot` and tests); NaN where empty.
pub fn read_run_columns(path: &Path, columns: &[&str]) -> Result<Vec<Vec<f64>>> {
    let mut r = input::open(path, u64::MAX)
        .map(csv::Reader::from_reader)
        .with_context(|| format!("reading {}", path.display()))?;
    let headers = r.headers()?.clone();
    let idx: Vec<Option<usize>> = columns
        .iter()
        .map(|c| headers.iter().position(|h| h == *c))
        .collect();
    let mut out = vec![Vec::new(); columns.len()];
    for rec in r.records() {
        let rec = rec?;
        for (j, i) in idx.iter().enumerate() {
            out[j].push(i.map_or(f64::NAN, |i| field(&rec, i)));
        }
    }
    Ok(out)
}
