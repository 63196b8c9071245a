//! The charts of a `compare`: both hypotheses' fans on one axis (`compare_trajectories`), and the
//! paired differences (`compare_differences`): a forest plot of mean differences with paired and
//! unpaired 95 % intervals, and the per-run distribution of the paired difference.

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    ChartResult, GRID_SIZE, P05, P50, P95, Panel, SIZE, Series, band, band_panel, day_mesh,
    draw_both, err, histogram, index, legend, percent, register_font, series_color, titled, usd,
    value_range,
};
use crate::report::compare::CompareRow;
use crate::report::paired_time::PairedTimeRow;
use crate::report::tables::QuantileRow;

/// What the charts of a `compare` need (all of it is in the compare folder's files).
pub struct CompareChartData<'a> {
    /// Scenario names; the first is the reference A.
    pub scenarios: Vec<String>,
    /// `quantiles.csv` rows of each scenario.
    pub rows: Vec<Vec<QuantileRow>>,
    /// `compare.csv` rows.
    pub compare: &'a [CompareRow],
    /// `paired_trajectories.csv` rows (empty in folders written before it existed).
    pub over_time: &'a [PairedTimeRow],
    /// Per compared scenario (B, C, …): per-run paired differences of final `zk_share_of_l2`.
    pub zk_share_diffs: Vec<Vec<f64>>,
    pub runs: u64,
}

/// Draws `compare_trajectories` and `compare_differences` into `dir`, as PNG and SVG.
pub fn draw_compare_charts(dir: &Path, data: &CompareChartData) -> Result<()> {
    register_font()?;
    draw_both!(dir, "compare_trajectories", |root| trajectories(
        &root, data
    ));
    draw_both!(dir, "compare_differences", |root| differences(&root, data));
    if !data.over_time.is_empty() {
        draw_both!(dir, "compare_paired_over_time", GRID_SIZE, |root| {
            paired_over_time(&root, data)
        });
    }
    Ok(())
}

fn trajectories<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &CompareChartData,
) -> ChartResult {
    let root = titled(
        root,
        &format!(
            "{} — {} runs each, common random numbers",
            data.scenarios.join(" vs "),
            data.runs
        ),
        22,
    )?;
    let (left, right) = root.split_horizontally(SIZE.0 / 2);
    for (area, metric, title) in [
        (
            &left,
            "l2_share",
            "l2_share: (optimistic + ZK) / (L1 + optimistic + ZK)",
        ),
        (
            &right,
            "zk_share_of_l2",
            "zk_share_of_l2: ZK / (optimistic + ZK)",
        ),
    ] {
        let indexed: Vec<_> = data.rows.iter().map(|r| index(r)).collect();
        let series: Vec<_> = indexed
            .iter()
            .map(|ix| ix.get(&(metric, "")).cloned().unwrap_or_default())
            .collect();
        let horizon = series
            .iter()
            .filter_map(|s| s.last().map(|x| x.0))
            .fold(1.0, f64::max);
        let hi = series
            .iter()
            .flatten()
            .map(|x| x.1[P95])
            .fold(0.0, f64::max);
        let lo = series.iter().flatten().map(|x| x.1[P05]).fold(hi, f64::min);
        let pad = ((hi - lo) * 0.1).max(0.005);
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 17))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..horizon, (lo - pad).max(0.0)..(hi + pad).min(1.0))
            .map_err(err)?;
        day_mesh(&mut chart)
            .y_desc("share (median, p05–p95 band)")
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(err)?;
        for (i, (s, name)) in series.iter().zip(&data.scenarios).enumerate() {
            let color = series_color(i);
            band(
                &mut chart,
                s,
                P05,
                P95,
                1.0,
                f64::NEG_INFINITY,
                color.mix(0.15),
            )?;
            chart
                .draw_series(LineSeries::new(
                    s.iter().map(|(d, v)| (*d, v[P50])),
                    color.stroke_width(2),
                ))
                .map_err(err)?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
                });
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    }
    Ok(())
}

fn differences<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &CompareChartData,
) -> ChartResult {
    let reference = data.scenarios.first().cloned().unwrap_or_default();
    let root = titled(
        root,
        &format!(
            "Paired differences against {reference} ({} runs)",
            data.runs
        ),
        22,
    )?;
    let (left, right) = root.split_horizontally(SIZE.0 * 11 / 20);
    let metrics = ["l2_share", "zk_share_of_l2", "alt_l1_share"];
    let rows: Vec<&CompareRow> = metrics
        .iter()
        .flat_map(|m| {
            data.compare
                .iter()
                .filter(move |r| r.metric == *m && r.chain.is_empty())
        })
        .collect();
    let lo = rows
        .iter()
        .map(|r| r.unpaired_ci95_low.min(r.ci95_low))
        .fold(0.0, f64::min);
    let hi = rows
        .iter()
        .map(|r| r.unpaired_ci95_high.max(r.ci95_high))
        .fold(0.0, f64::max);
    let pad = ((hi - lo) * 0.1).max(1e-4);
    let n = rows.len().max(1) as f64;
    let labels: Vec<String> = rows
        .iter()
        .map(|r| format!("{} · {}", r.metric, shortened(&r.scenario_b, 14)))
        .collect();
    let mut chart = ChartBuilder::on(&left)
        .caption(
            "mean B − A: paired 95 % interval (thick), unpaired (thin)",
            ("sans-serif", 16),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(230)
        .build_cartesian_2d((lo - pad)..(hi + pad), -0.5..(n - 0.5))
        .map_err(err)?;
    chart
        .configure_mesh()
        .light_line_style(RGBColor(238, 238, 238))
        .y_labels(rows.len().max(1))
        .y_label_formatter(&|y| super::category(&labels, *y, false))
        .x_desc("difference of the final-day share (B − A)")
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    super::zero_line(&mut chart, n)?;
    for (i, r) in rows.iter().enumerate() {
        let k = data
            .scenarios
            .iter()
            .position(|s| *s == r.scenario_b)
            .unwrap_or(1);
        let color = series_color(k);
        let y = i as f64;
        chart
            .draw_series([
                PathElement::new(
                    vec![(r.unpaired_ci95_low, y), (r.unpaired_ci95_high, y)],
                    color.stroke_width(1),
                ),
                PathElement::new(
                    vec![(r.ci95_low, y), (r.ci95_high, y)],
                    color.stroke_width(6),
                ),
            ])
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(Circle::new(
                (r.mean_diff, y),
                5,
                BLACK.filled(),
            )))
            .map_err(err)?;
    }
    let all: Vec<f64> = data.zk_share_diffs.iter().flatten().copied().collect();
    let range = value_range(&all, -1.0, 1.0);
    let groups: Vec<(&str, &[f64], RGBColor)> = data
        .zk_share_diffs
        .iter()
        .enumerate()
        .map(|(k, d)| {
            (
                data.scenarios[k + 1].as_str(),
                d.as_slice(),
                series_color(k + 1),
            )
        })
        .collect();
    histogram(
        &right,
        "per-run paired difference of final zk_share_of_l2",
        "B − A",
        &groups,
        range,
        30,
    )?;
    Ok(())
}

/// The paired difference B − A over time: at every sample day, the mean over runs of each run's
/// difference with its paired 95 % interval (the analysis of `compare.csv`, day by day), one
/// panel per metric and one line per compared scenario.
fn paired_over_time<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &CompareChartData,
) -> ChartResult {
    let reference = data.scenarios.first().cloned().unwrap_or_default();
    let b = match &data.scenarios[1..] {
        [one] => one.clone(),
        _ => "B".to_string(),
    };
    let root = titled(
        root,
        &format!(
            "{b} − {reference}, paired over time ({} runs, common random numbers): \
             mean of each run's difference, 95 % interval",
            data.runs
        ),
        22,
    )?;
    let panels: [PanelSpec; 4] = [
        ("zk_share_of_l2", "ZK share of L2 TVL", 100.0, points),
        ("l2_share", "L2 share of L1 + L2 TVL", 100.0, points),
        ("tvl_optimistic_usd", "optimistic rollups' TVL", 1.0, usd),
        ("tvl_zk_usd", "ZK rollups' TVL", 1.0, usd),
    ];
    let series: Vec<Vec<Series>> = panels
        .iter()
        .map(|(metric, ..)| {
            data.scenarios[1..]
                .iter()
                .map(|b| {
                    data.over_time
                        .iter()
                        .filter(|r| r.metric == *metric && r.scenario_b == *b)
                        .filter(|r| r.mean_diff.is_finite())
                        .map(|r| {
                            let (m, lo, hi) = (r.mean_diff, r.ci95_low, r.ci95_high);
                            (r.day, [m, lo, lo, m, hi, hi])
                        })
                        .collect()
                })
                .collect()
        })
        .collect();
    for ((area, (metric, name, scale, format)), lines) in
        root.split_evenly((2, 2)).iter().zip(panels).zip(&series)
    {
        let lines = lines
            .iter()
            .zip(&data.scenarios[1..])
            .enumerate()
            .filter(|(_, (s, _))| !s.is_empty())
            .map(|(i, (s, b))| (s, series_color(i + 1), b.clone()))
            .collect::<Vec<_>>();
        if lines.is_empty() {
            continue;
        }
        let unit = if scale == 100.0 {
            "percentage points"
        } else {
            "USD"
        };
        let panel = Panel {
            title: format!("{name}: {metric}, B − A"),
            y_desc: unit,
            lines,
            scale,
            format,
            inner: false,
            zero: true,
        };
        band_panel(area, &panel)?;
    }
    Ok(())
}

/// A panel of `compare_paired_over_time`: metric, title, scale and tick labels.
type PanelSpec = (&'static str, &'static str, f64, fn(f64) -> String);

/// A tick label in percentage points.
fn points(v: f64) -> String {
    percent(v).replace(" %", " pp")
}

/// `name` cut to `max` characters with an ellipsis, for labels that must fit their area (the
/// colour and the legend name the scenario in full).
fn shortened(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        name.to_string()
    } else {
        let cut: String = name.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}
