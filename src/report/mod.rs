//! Reports: the files of an output folder (CSV tables, `summary.json`, the resolved scenario, and
//! charts). Nothing outside this module writes result files or knows plotters.

pub mod calibrate;
mod charts;
pub mod compare;
mod events;
pub mod explore;
pub mod format;
pub mod html;
mod output;
pub mod paired_time;
pub mod parquet;
pub mod read;
pub mod shard;
mod summary;
pub mod sweep;
mod tables;
pub mod value;

pub use charts::{
    ChartData, CompareChartData, draw_compare_charts, draw_compare_value_chart, draw_run_charts,
    draw_sweep_charts, draw_value_chart,
};
pub use output::{
    MARKER, Refused, STAGING_SENTINEL, Staging, abandon_all, create_new_file, sha256_file,
};
pub use summary::{MetricSummary, summary_json};
pub use tables::{
    QUANTILES, QuantileRow, RunFiles, RunsWriter, TrajectoriesWriter, column_of, metric_and_chain,
    num, parse_seed, quantile_rows, read_quantiles, read_run_columns, seed_hex, write_metrics_csv,
    write_quantiles,
};

use std::path::Path;

use anyhow::{Context, Result};

use crate::batch::BatchResult;
use crate::scenario::Scenario;

/// Writes a resolved scenario as `dir/scenario.resolved.toml` (shards keep theirs verbatim),
/// with the copies of its series files (`series/…`) that it names.
pub fn write_resolved(dir: &Path, text: &str, series: &[(String, &str)]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(dir.join("scenario.resolved.toml"), text)
        .with_context(|| format!("writing {}", dir.join("scenario.resolved.toml").display()))?;
    for (name, content) in series {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Writes `scenario.resolved.toml`, `metrics.csv`, `quantiles.csv`, `summary.json` and (unless
/// `plots` is false) the charts into `dir`; `runs.csv`, `runs_long.csv` and `trajectories.csv`
/// were streamed there during the batch.
pub fn write_run_report(
    dir: &Path,
    scenario: &Scenario,
    result: &BatchResult,
    plots: bool,
) -> Result<()> {
    write_resolved(dir, &scenario.resolved_toml(), &scenario.series_files())?;
    write_metrics_csv(dir)?;
    let rows = quantile_rows(result);
    write_quantiles(&dir.join("quantiles.csv"), &rows)?;
    let mut summary = summary_json(scenario, result);
    let flow = value::value_rows(scenario, result);
    value::write_value_csv(&dir.join("value_flow.csv"), &flow)?;
    summary["value_flow"] = value::value_flow_json(&flow);
    summary["conditional"] = value::conditional_json(result);
    std::fs::write(
        dir.join("summary.json"),
        serde_json::to_string_pretty(&summary)? + "\n",
    )
    .context("writing summary.json")?;
    if plots {
        draw_charts_from_files(dir, scenario, &rows)?;
    }
    html::write_run_html(dir)
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
    draw_run_charts(&charts, &data)?;
    draw_value_chart(&charts, &scenario.name, data.runs, rows)
}

/// Writes `compare.csv`, `metrics.csv`, `compare.json` and (unless `plots` is false) the compare charts into
/// `dir`; each scenario's own run folder is in `run_dirs` (the reference first).
pub fn write_compare_report(
    dir: &Path,
    scenarios: &[&Scenario],
    results: &[BatchResult],
    rows: &[compare::CompareRow],
    over_time: &[paired_time::PairedTimeRow],
    run_dirs: &[std::path::PathBuf],
    plots: bool,
) -> Result<()> {
    compare::write_compare_csv(&dir.join("compare.csv"), rows)?;
    paired_time::write(&dir.join(paired_time::FILE), over_time)?;
    write_metrics_csv(dir)?;
    let flow = value::paired_value_rows(scenarios, rows);
    value::write_paired_value_csv(&dir.join("value_flow.csv"), &flow)?;
    let json = compare::compare_json(scenarios, results, rows);
    std::fs::write(
        dir.join("compare.json"),
        serde_json::to_string_pretty(&json)? + "\n",
    )
    .context("writing compare.json")?;
    if plots {
        draw_compare_charts_from_files(dir, run_dirs)?;
    }
    html::write_compare_html(dir, run_dirs, rows)
}

/// Draws the compare charts of `dir` from its `compare.csv` and its scenarios' run folders.
pub fn draw_compare_charts_from_files(dir: &Path, run_dirs: &[std::path::PathBuf]) -> Result<()> {
    let charts = dir.join("charts");
    std::fs::create_dir_all(&charts).context("creating charts/")?;
    let rows = compare::read_compare_csv(&dir.join("compare.csv"))?;
    let mut scenarios = Vec::new();
    let mut quantiles = Vec::new();
    let mut zk = Vec::new();
    for d in run_dirs {
        let name = d
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        scenarios.push(
            name.split_once('_')
                .map_or(name.clone(), |(_, rest)| rest.to_string()),
        );
        quantiles.push(read_quantiles(&d.join("quantiles.csv"))?);
        zk.push(read_run_columns(&d.join("runs.csv"), &["zk_share_of_l2"])?.remove(0));
    }
    let diffs: Vec<Vec<f64>> = zk[1..]
        .iter()
        .map(|b| b.iter().zip(&zk[0]).map(|(b, a)| b - a).collect())
        .collect();
    let over_time = dir.join(paired_time::FILE);
    let over_time = if over_time.exists() {
        paired_time::read(&over_time)?
    } else {
        Vec::new()
    };
    let data = CompareChartData {
        scenarios,
        rows: quantiles,
        compare: &rows,
        over_time: &over_time,
        zk_share_diffs: diffs,
        runs: zk[0].len() as u64,
    };
    draw_compare_charts(&charts, &data)?;
    draw_compare_value_chart(&charts, &data.scenarios[0], data.runs, &rows)
}

/// Writes `sweep.csv`, `metrics.csv`, `sweep.json`, the sweep chart and `report.html` into `dir`.
pub fn write_sweep_report(
    dir: &Path,
    fields: &[String],
    info: &sweep::SweepInfo,
    rows: &[sweep::SweepRow],
    plots: bool,
) -> Result<()> {
    sweep::write_sweep_csv(&dir.join("sweep.csv"), fields, rows)?;
    write_metrics_csv(dir)?;
    sweep::write_sweep_json(&dir.join("sweep.json"), info)?;
    if plots {
        draw_sweep_charts_from_files(dir, &[])?;
    }
    html::write_sweep_html(dir)
}

/// Draws the sweep chart of `dir` from its `sweep.json` and `sweep.csv`, and a chart of each of
/// `metrics`; a metric that `sweep.csv` does not hold is refused, naming those it does.
pub fn draw_sweep_charts_from_files(dir: &Path, metrics: &[String]) -> Result<()> {
    let charts = dir.join("charts");
    std::fs::create_dir_all(&charts).context("creating charts/")?;
    let info = sweep::read_sweep_json(&dir.join("sweep.json"))?;
    let fields = info.fields();
    let rows = sweep::read_sweep_csv(&dir.join("sweep.csv"), &fields)?;
    let csv = dir.join("sweep.csv");
    let columns: Vec<String> = rows
        .iter()
        .filter(|r| r.point == rows[0].point)
        .map(|r| tables::column_of(&r.metric, &r.chain))
        .collect();
    for m in metrics {
        if !columns.contains(m) {
            let known = columns.join(", ");
            return Err(read::Unreadable::new(
                &csv,
                format!("--metric {m:?}: no such metric here; it has {known}"),
            )
            .into());
        }
    }
    draw_sweep_charts(&charts, &info, &rows, metrics)?;
    let sensitivity = dir.join("sensitivity.json");
    if sensitivity.exists() {
        charts::draw_sensitivity_chart(&charts, &explore::read_sensitivity_json(&sensitivity)?)?;
    }
    let discovery = dir.join("discovery.json");
    if discovery.exists() {
        charts::draw_discovery_chart(&charts, &explore::read_discovery_json(&discovery)?)?;
    }
    Ok(())
}
