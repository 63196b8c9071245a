//! `value_distribution`: who earns the fees. Left, each recipient group's cumulative revenue at
//! the horizon (bar: mean; whisker: p05–p95 across runs); right, the same groups over time
//! (median line, p05–p95 band). Log scales: the groups differ by orders of magnitude. Drawn from
//! `quantiles.csv` rows only (the whole-system revenue metrics).

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{ChartResult, MEAN, P05, P50, P95, SIZE, Series, band, draw_both, err, index, usd};
use crate::report::tables::QuantileRow;

/// The recipient groups: quantile metric (whole-system), label, colour.
const GROUPS: [(&str, &str, RGBColor); 7] = [
    (
        "l1_validator_revenue_usd",
        "L1 validators (execution)",
        RGBColor(31, 78, 160),
    ),
    (
        "l1_data_revenue_usd",
        "L1 data availability",
        RGBColor(100, 150, 220),
    ),
    (
        "sequencer_revenue_usd",
        "rollup sequencers",
        RGBColor(214, 39, 40),
    ),
    (
        "alt_l1_validator_revenue_usd",
        "alt-L1 validators",
        RGBColor(127, 127, 127),
    ),
    ("bridge_fee_revenue_usd", "bridges", RGBColor(230, 150, 20)),
    ("lp_fee_revenue_usd", "fast-exit LPs", RGBColor(44, 160, 44)),
    ("hack_loss_usd", "hack losses (users)", RGBColor(20, 20, 20)),
];

/// Draws `value_distribution.png` and `.svg` into `dir` from a run's quantile rows.
pub fn draw_value_chart(dir: &Path, scenario: &str, runs: u64, rows: &[QuantileRow]) -> Result<()> {
    let all = index(rows);
    let series: Vec<Option<&Series>> = GROUPS
        .iter()
        .map(|(m, _, _)| all.get(&(*m, "")).filter(|s| !s.is_empty()))
        .collect();
    draw_both!(dir, "value_distribution", |root| draw(
        &root, scenario, runs, &series
    ));
    Ok(())
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    scenario: &str,
    runs: u64,
    series: &[Option<&Series>],
) -> ChartResult {
    let area = super::titled(
        root,
        &format!("Who earns the fees — {scenario} ({runs} runs), cumulative USD"),
        24,
    )?;
    let (plots, key) = area.split_vertically(SIZE.1 - 110);
    let (left, right) = plots.split_horizontally(SIZE.0 * 9 / 20);
    // A common log range over every group's p05..p95 (floor 1 USD: zero stays on the axis).
    let hi = series
        .iter()
        .flatten()
        .flat_map(|s| s.iter().map(|x| x.1[P95]))
        .fold(10.0f64, f64::max)
        * 2.0;
    // Floor: two decades below the smallest positive final median, a power of ten, at least 1.
    let smallest = series
        .iter()
        .flatten()
        .filter_map(|s| s.last().map(|x| x.1[P50]))
        .filter(|&v| v > 0.0)
        .fold(hi, f64::min);
    let floor = 10f64.powf((smallest / 100.0).max(1.0).log10().floor());
    horizon_bars(&left, series, floor, hi)?;
    over_time(&right, series, floor, hi)?;
    legend_strip(&key)
}

fn horizon_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    series: &[Option<&Series>],
    floor: f64,
    hi: f64,
) -> ChartResult {
    let n = GROUPS.len() as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(
            "at the horizon: mean (bar), p05–p95 (whisker)",
            ("sans-serif", 17),
        )
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(185)
        .build_cartesian_2d((floor..hi).log_scale(), -0.5..n - 0.5)
        .map_err(err)?;
    chart
        .configure_mesh()
        .light_line_style(RGBColor(238, 238, 238))
        .y_labels(GROUPS.len())
        .y_label_formatter(&|y| {
            let i = y.round();
            if (y - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < GROUPS.len() {
                GROUPS[GROUPS.len() - 1 - i as usize].1.to_string()
            } else {
                String::new()
            }
        })
        .x_label_formatter(&|x| usd(*x))
        .x_desc("USD (log scale)")
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    for (g, s) in series.iter().enumerate() {
        let Some(last) = s.and_then(|s| s.last()) else {
            continue;
        };
        let y = (GROUPS.len() - 1 - g) as f64;
        let color = GROUPS[g].2;
        let v = last.1;
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(floor, y - 0.32), (v[MEAN].max(floor), y + 0.32)],
                color.mix(0.75).filled(),
            )))
            .map_err(err)?;
        let (lo, up) = (v[P05].max(floor), v[P95].max(floor));
        chart
            .draw_series([
                PathElement::new(vec![(lo, y), (up, y)], BLACK.stroke_width(2)),
                PathElement::new(vec![(lo, y - 0.15), (lo, y + 0.15)], BLACK.stroke_width(2)),
                PathElement::new(vec![(up, y - 0.15), (up, y + 0.15)], BLACK.stroke_width(2)),
            ])
            .map_err(err)?;
    }
    Ok(())
}

fn over_time<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    series: &[Option<&Series>],
    floor: f64,
    hi: f64,
) -> ChartResult {
    let horizon = series
        .iter()
        .flatten()
        .flat_map(|s| s.last().map(|x| x.0))
        .fold(1.0, f64::max);
    let mut chart = ChartBuilder::on(area)
        .caption("over time: median, p05–p95 band", ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..horizon, (floor..hi).log_scale())
        .map_err(err)?;
    chart
        .configure_mesh()
        .light_line_style(RGBColor(238, 238, 238))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .x_desc("day")
        .y_desc("cumulative USD (log scale)")
        .y_label_formatter(&|v| usd(*v))
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    for (g, s) in series.iter().enumerate() {
        let Some(s) = s else { continue };
        let color = GROUPS[g].2;
        // Hack losses are 0 in most runs: their band is kept faint so it hides nothing.
        let alpha = if g == GROUPS.len() - 1 { 0.05 } else { 0.15 };
        band(&mut chart, s, P05, P95, 1.0, floor, color.mix(alpha))?;
        chart
            .draw_series(LineSeries::new(
                s.iter().map(|(d, v)| (*d, v[P50].max(floor))),
                color.stroke_width(2),
            ))
            .map_err(err)?;
    }
    Ok(())
}

/// The key, in its own strip below the plots (never over the data).
fn legend_strip<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> ChartResult {
    let per_row = 4;
    let width = (SIZE.0 as i32 - 80) / per_row;
    for (g, (_, label, color)) in GROUPS.iter().enumerate() {
        let (col, row) = (g as i32 % per_row, g as i32 / per_row);
        let (x, y) = (40 + col * width, 20 + row * 32);
        area.draw(&Rectangle::new([(x, y), (x + 26, y + 14)], color.filled()))
            .map_err(err)?;
        area.draw(&Text::new(
            label.to_string(),
            (x + 34, y),
            ("sans-serif", 16).into_font(),
        ))
        .map_err(err)?;
    }
    Ok(())
}

/// A mean and its 95 % interval: `(mean, low, high)`.
type Interval = (f64, f64, f64);

/// Draws a compare folder's `value_distribution.png` and `.svg`: for every recipient group (and
/// what users paid), each compared scenario's paired difference B − A at the horizon with its
/// 95 % interval (`compare.csv`'s whole-system revenue rows), on a linear axis around zero.
pub fn draw_compare_value_chart(
    dir: &Path,
    reference: &str,
    runs: u64,
    rows: &[crate::report::compare::CompareRow],
) -> Result<()> {
    let mut scenarios: Vec<&str> = Vec::new();
    for r in rows {
        if !scenarios.contains(&r.scenario_b.as_str()) {
            scenarios.push(&r.scenario_b);
        }
    }
    let find = |b: &str, m: &str| {
        rows.iter()
            .find(|r| r.scenario_b == b && r.metric == m && r.chain.is_empty())
    };
    let groups: Vec<(&str, RGBColor)> = std::iter::once(("users' fees paid", RGBColor(0, 0, 0)))
        .chain(GROUPS.iter().map(|(_, l, c)| (*l, *c)))
        .collect();
    let metrics: Vec<&str> = std::iter::once("users_fees_paid_usd")
        .chain(GROUPS.iter().map(|(m, _, _)| *m))
        .collect();
    // (group, scenario) → (mean, low, high), when compare.csv has the row.
    let cells: Vec<Vec<Option<Interval>>> = metrics
        .iter()
        .map(|m| {
            scenarios
                .iter()
                .map(|b| find(b, m).map(|r| (r.mean_diff, r.ci95_low, r.ci95_high)))
                .collect()
        })
        .collect();
    if cells.iter().flatten().all(Option::is_none) {
        return Ok(());
    }
    draw_both!(dir, "value_distribution", |root| paired_bars(
        &root, reference, runs, &scenarios, &groups, &cells
    ));
    Ok(())
}

fn paired_bars<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    reference: &str,
    runs: u64,
    scenarios: &[&str],
    groups: &[(&str, RGBColor)],
    cells: &[Vec<Option<Interval>>],
) -> ChartResult {
    let root = super::titled(
        root,
        &format!(
            "Who gains and who loses against {reference} — cumulative to the horizon, paired B − A \
             ({runs} runs, 95 % interval)"
        ),
        21,
    )?;
    let (plot, side) = root.split_horizontally(SIZE.0 - 260);
    let values = cells.iter().flatten().flatten();
    let lo = values.clone().map(|c| c.1).fold(0.0, f64::min);
    let hi = values.map(|c| c.2).fold(0.0, f64::max);
    let pad = ((hi - lo) * 0.08).max(1.0);
    let n = groups.len() as f64;
    let k = scenarios.len().max(1) as f64;
    let labels: Vec<String> = groups.iter().map(|(l, _)| l.to_string()).collect();
    let mut chart = ChartBuilder::on(&plot)
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(190)
        .build_cartesian_2d((lo - pad)..(hi + pad), -0.5..(n - 0.5))
        .map_err(err)?;
    chart
        .configure_mesh()
        .light_line_style(RGBColor(238, 238, 238))
        .y_labels(groups.len())
        .y_label_formatter(&|y| super::category(&labels, *y, true))
        .x_label_formatter(&|x| usd(*x))
        .x_desc("B − A, USD (cumulative to the horizon)")
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    super::zero_line(&mut chart, n)?;
    for (g, row) in cells.iter().enumerate() {
        let y0 = n - 1.0 - g as f64;
        for (s, cell) in row.iter().enumerate() {
            let Some((mean, low, high)) = *cell else {
                continue;
            };
            // Scenarios side by side within their group's row.
            let y = y0 + 0.3 - 0.6 * (s as f64 + 0.5) / k;
            let color = super::series_color(s + 1);
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(low, y), (high, y)],
                    color.stroke_width(3),
                )))
                .map_err(err)?;
            chart
                .draw_series(std::iter::once(Circle::new((mean, y), 5, color.filled())))
                .map_err(err)?;
        }
    }
    let entries: Vec<(String, RGBColor)> = scenarios
        .iter()
        .enumerate()
        .map(|(s, b)| (b.to_string(), super::series_color(s + 1)))
        .collect();
    super::side_legend(&side, &entries)
}
