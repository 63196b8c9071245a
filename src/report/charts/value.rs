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
