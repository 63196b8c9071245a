//! Reports: the files of an output folder (CSV tables, `summary.json`, the resolved scenario, and
//! charts). Nothing outside this module writes result files or knows plotters.

mod charts;
mod output;
mod summary;
mod tables;

pub use charts::{ChartData, draw_run_charts};
pub use output::{MARKER, Staging};
pub use summary::{MetricSummary, summary_json};
pub use tables::{
    QUANTILES, QuantileRow, RunsWriter, TrajectoriesWriter, num, quantile_rows, read_quantiles,
    read_run_columns, write_quantiles,
};

use std::path::Path;

use anyhow::{Context, Result};

use crate::batch::BatchResult;
use crate::scenario::Scenario;

/// Writes `scenario.resolved.toml`, `quantiles.csv`, `summary.json` and (unless `plots` is false)
/// the charts into `dir`; `runs.csv` and `trajectories.csv` were streamed there during the batch.
pub fn write_run_report(
    dir: &Path,
    scenario: &Scenario,
    result: &BatchResult,
    plots: bool,
) -> Result<()> {
    std::fs::write(dir.join("scenario.resolved.toml"), scenario.resolved_toml())
        .context("writing scenario.resolved.toml")?;
    let rows = quantile_rows(result);
    write_quantiles(&dir.join("quantiles.csv"), &rows)?;
    let summary = summary_json(scenario, result);
    std::fs::write(
        dir.join("summary.json"),
        serde_json::to_string_pretty(&summary)? + "\n",
    )
    .context("writing summary.json")?;
    if plots {
        draw_charts_from_files(dir, scenario, &rows)?;
    }
    Ok(())
}

/// Draws the run charts from `quantiles.csv` rows and the `runs.csv` in `dir`.
pub fn draw_charts_from_files(dir: &Path, scenario: &Scenario, rows: &[QuantileRow]) -> Result<()> {
    let charts = dir.join("charts");
    std::fs::create_dir_all(&charts).context("creating charts/")?;
    let cols = read_run_columns(
        &dir.join("runs.csv"),
        &["l2_share", "zk_share_of_l2", "zk_overtakes_day"],
    )?;
    let [l2, zk, overtakes]: [Vec<f64>; 3] = cols
        .try_into()
        .map_err(|_| anyhow::anyhow!("runs.csv columns"))?;
    let data = ChartData {
        scenario: &scenario.name,
        runs: l2.len() as u64,
        chains: scenario
            .chains
            .iter()
            .map(|c| (c.id.clone(), c.kind))
            .collect(),
        rows,
        final_l2_share: l2,
        final_zk_share_of_l2: zk,
        zk_overtakes_day: overtakes,
    };
    draw_run_charts(&charts, &data)
}
