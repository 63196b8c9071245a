//! Tidy CSV tables: `quantiles.csv`, `runs.csv`, `runs_long.csv`, `trajectories.csv`,
//! `metrics.csv`.
//!
//! Column types never depend on the data, so that pandas and polars infer the same schema for a
//! 2-run and a 200-run folder: every float is written in Rust's shortest round-trip form with a
//! decimal point or an exponent (`1.0`, `0.25`, `1e21`), a missing value as `NaN` (never an empty
//! field, which polars reads as a string when a column is all empty), integers as integers, and
//! run seeds (u64, beyond i64) as a `0x` and 16 hexadecimal digits string. The bytes never depend
//! on threads.

use std::io::BufWriter;
use std::path::Path;

use anyhow::{Context, Result};

use super::read::Csv;
use crate::batch::BatchResult;
use crate::engine::{Layout, RunOutput};

/// Quantiles written for every (day, metric, chain).
pub const QUANTILES: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

pub use super::format::num;

/// A run seed as a CSV field: `0x` and 16 hexadecimal digits (a seed does not fit an i64, and a
/// string column reads the same in every tool; `int(s, 16)` in Python gives it back).
pub fn seed_hex(seed: u64) -> String {
    format!("0x{seed:016x}")
}

/// Reads a seed written by [`seed_hex`].
pub fn parse_seed(s: &str) -> Option<u64> {
    let hex = s.strip_prefix("0x")?;
    (hex.len() == 16)
        .then(|| u64::from_str_radix(hex, 16).ok())
        .flatten()
}

pub use crate::engine::column_of;

/// The metric and chain (empty for system and per-run metrics) of a `runs.csv` column of
/// `layout`; a derived column (`zk_overtakes`) is a metric of its own.
pub fn metric_and_chain(layout: &Layout, column: &str) -> (String, String) {
    layout
        .run_columns()
        .iter()
        .zip(layout.run_cells())
        .find(|(c, _)| *c == column)
        .map_or((column.to_string(), String::new()), |(_, (m, chain))| {
            (m.to_string(), chain)
        })
}

/// Writes `metrics.csv`: `metric,unit,per,meaning` for every metric of the registry
/// ([`crate::engine::UNITS`]).
pub fn write_metrics_csv(dir: &Path) -> Result<()> {
    let mut w = super::output::csv_file(&dir.join("metrics.csv"))?;
    w.write_record(["metric", "unit", "per", "meaning"])?;
    for u in crate::engine::UNITS {
        w.write_record([u.metric, u.unit, u.per.as_str(), u.meaning])?;
    }
    w.flush()?;
    Ok(())
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
            stats[1..].copy_from_slice(&stat.quantiles(QUANTILES));
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

/// The columns of [`QuantileRow::stats`] in `quantiles.csv`.
const STAT_COLUMNS: [&str; 6] = ["mean", "p05", "p25", "p50", "p75", "p95"];

pub fn write_quantiles(path: &Path, rows: &[QuantileRow]) -> Result<()> {
    let mut w = super::output::csv_file(path)?;
    let dated = rows.first().is_some_and(|r| r.date.is_some());
    let mut header = vec!["day"];
    if dated {
        header.push("date");
    }
    header.extend(["metric", "chain"].iter().chain(&STAT_COLUMNS));
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
    let mut t = Csv::open(path)?;
    let (day, metric, chain) = (t.column("day")?, t.column("metric")?, t.column("chain")?);
    let mut stats = [0; STAT_COLUMNS.len()];
    for (s, name) in stats.iter_mut().zip(STAT_COLUMNS) {
        *s = t.column(name)?;
    }
    let date = t.optional_column("date");
    let mut rows = Vec::new();
    while t.next_row()? {
        let mut values = [0.0; STAT_COLUMNS.len()];
        for (v, &i) in values.iter_mut().zip(&stats) {
            *v = t.number(i)?;
        }
        rows.push(QuantileRow {
            day: t.number(day)?,
            date: date.map(|i| t.text(i).to_string()),
            metric: t.text(metric).to_string(),
            chain: t.text(chain).to_string(),
            stats: values,
        });
    }
    Ok(rows)
}

type CsvOut = csv::Writer<BufWriter<super::output::NamedFile>>;

fn csv_out(path: &Path) -> Result<CsvOut> {
    Ok(csv::Writer::from_writer(BufWriter::new(
        super::output::NamedFile::create(path)?,
    )))
}

/// Streams `runs.csv` (wide: `run,seed`, then one column per `metric.chain`) and `runs_long.csv`
/// (tidy: `run,metric,chain,value`, the same values) as runs finish.
pub struct RunsWriter {
    w: CsvOut,
    long: CsvOut,
    /// (metric, chain) of every run column, for `runs_long.csv`.
    cells: Vec<(&'static str, String)>,
}

impl RunsWriter {
    /// Creates `runs.csv` at `path` and `runs_long.csv` beside it.
    pub fn create(path: &Path, layout: &Layout) -> Result<RunsWriter> {
        let mut w = csv_out(path)?;
        let mut header = vec!["run".to_string(), "seed".to_string()];
        header.extend(layout.run_columns());
        w.write_record(&header)?;
        let mut long = csv_out(&path.with_file_name("runs_long.csv"))?;
        long.write_record(["run", "metric", "chain", "value"])?;
        Ok(RunsWriter {
            w,
            long,
            cells: layout.run_cells(),
        })
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
        let run = run.to_string();
        let mut rec = vec![run.clone(), seed_hex(seed)];
        rec.extend(values.map(num));
        for ((metric, chain), value) in self.cells.iter().zip(&rec[2..]) {
            self.long
                .write_record([run.as_str(), metric, chain, value])?;
        }
        self.w.write_record(&rec)?;
        Ok(())
    }

    pub fn finish(mut self) -> Result<()> {
        self.w.flush()?;
        self.long.flush()?;
        Ok(())
    }
}

/// Streams `trajectories.csv` (`--save-runs`): one row per run, sample and cell.
pub struct TrajectoriesWriter {
    w: CsvOut,
}

impl TrajectoriesWriter {
    pub fn create(path: &Path, layout: &Layout) -> Result<TrajectoriesWriter> {
        let mut w = csv_out(path)?;
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

/// The tables streamed into a run folder while the batch runs: `runs.csv`, `runs_long.csv`,
/// `events.csv`, and with `--save-runs` `trajectories.csv`.
pub struct RunFiles {
    runs: RunsWriter,
    events: super::events::EventsWriter,
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
            events: super::events::EventsWriter::create(&dir.join("events.csv"))?,
            trajectories,
        })
    }

    pub fn write(&mut self, layout: &Layout, out: &RunOutput) -> Result<()> {
        self.runs.write(layout, out)?;
        self.events.write(layout, out)?;
        if let Some(t) = self.trajectories.as_mut() {
            t.write(layout, out)?;
        }
        Ok(())
    }

    /// A `runs.csv` row, and the run's `events.csv` rows, from values kept in memory.
    pub fn write_values(
        &mut self,
        layout: &Layout,
        run: u64,
        seed: u64,
        values: &[f64],
        log: &[crate::engine::RunEvent],
    ) -> Result<()> {
        self.events.write_events(layout, run, log)?;
        self.runs.write_values(run, seed, values.iter().copied())
    }

    pub fn finish(self) -> Result<()> {
        self.runs.finish()?;
        self.events.finish()?;
        if let Some(t) = self.trajectories {
            t.finish()?;
        }
        Ok(())
    }
}

/// Reads named numeric columns of `runs.csv` (for `plot` and tests); NaN where empty, an error
/// naming the file and column when one is missing or a cell is not a number.
pub fn read_run_columns(path: &Path, columns: &[&str]) -> Result<Vec<Vec<f64>>> {
    let mut t = Csv::open(path)?;
    let idx = columns
        .iter()
        .map(|c| t.column(c))
        .collect::<Result<Vec<usize>, _>>()?;
    let mut out = vec![Vec::new(); columns.len()];
    while t.next_row()? {
        for (col, &i) in out.iter_mut().zip(&idx) {
            col.push(t.number(i)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_always_read_as_floats_and_seeds_as_hex() {
        for (x, s) in [
            (1.0, "1.0"),
            (0.25, "0.25"),
            (3e9, "3000000000.0"),
            (1e21, "1e21"),
            (-2.5e-7, "-2.5e-7"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "inf"),
        ] {
            assert_eq!(num(x), s);
            let back: f64 = s.parse().unwrap();
            assert!(back == x || (x.is_nan() && back.is_nan()), "{s}");
        }
        for seed in [0, 1, u64::MAX, 1 << 63] {
            let s = seed_hex(seed);
            assert_eq!(s.len(), 18);
            assert_eq!(parse_seed(&s), Some(seed));
        }
        assert_eq!(parse_seed("12"), None);
        assert_eq!(parse_seed("0x12"), None);
    }
}
