//! The charts of a `sweep`: lines with bands against the swept value for one-axis grids
//! (`sweep_lines`), heat maps of the mean for two-axis grids (`sweep_heatmap`).

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{ChartResult, SIZE, draw_both, err, register_font, series_color, titled, usd};
use crate::report::sweep::{SweepInfo, SweepRow};

/// A value label for an axis: large numbers compact (50M), everything else as written.
fn short(label: &str) -> String {
    match label.parse::<f64>() {
        Ok(x) if x.abs() >= 1e4 => usd(x),
        _ => label.to_string(),
    }
}

/// Metrics shown in sweep charts, with their titles.
const LINE_METRICS: [(&str, &str); 4] = [
    ("zk_share_of_l2", "zk_share_of_l2 at the horizon"),
    ("l2_share", "l2_share at the horizon"),
    ("alt_l1_share", "alt_l1_share at the horizon"),
    ("zk_overtakes", "P(ZK overtakes optimistic)"),
];
const HEAT_METRICS: [(&str, &str); 2] = [
    ("zk_share_of_l2", "mean zk_share_of_l2 at the horizon"),
    ("l2_share", "mean l2_share at the horizon"),
];

/// Draws the sweep chart that fits the grid's shape into `dir`; returns the names drawn.
pub fn draw_sweep_charts(
    dir: &Path,
    info: &SweepInfo,
    rows: &[SweepRow],
) -> Result<Vec<&'static str>> {
    register_font()?;
    match info.axes.len() {
        1 => {
            draw_both!(dir, "sweep_lines", |root| lines(&root, info, rows));
            Ok(vec!["sweep_lines"])
        }
        2 => {
            draw_both!(dir, "sweep_heatmap", |root| heatmap(&root, info, rows));
            Ok(vec!["sweep_heatmap"])
        }
        _ => Ok(Vec::new()),
    }
}

fn stats_of<'a>(rows: &'a [SweepRow], metric: &str) -> Vec<&'a SweepRow> {
    let mut v: Vec<&SweepRow> = rows
        .iter()
        .filter(|r| r.metric == metric && r.chain.is_empty())
        .collect();
    v.sort_by_key(|r| r.point);
    v
}

fn lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    info: &SweepInfo,
    rows: &[SweepRow],
) -> ChartResult {
    let axis = &info.axes[0];
    let root = titled(
        root,
        &format!(
            "Sweep of {} — {} ({} runs per point)",
            axis.title(),
            info.scenario,
            info.runs
        ),
        22,
    )?;
    let xs: Vec<f64> = axis
        .numbers
        .clone()
        .unwrap_or_else(|| (0..axis.labels.len()).map(|i| i as f64).collect());
    let (x_lo, x_hi) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let pad = ((x_hi - x_lo) * 0.05).max(
        0.5 * if axis.numbers.is_some() {
            (x_hi.abs()).max(1e-9) * 0.1
        } else {
            1.0
        },
    );
    let categorical = axis.numbers.is_none();
    for (k, (area, (metric, title))) in root
        .split_evenly((2, 2))
        .iter()
        .zip(LINE_METRICS)
        .enumerate()
    {
        let pts = stats_of(rows, metric);
        if pts.len() != xs.len() {
            continue;
        }
        let lo = pts
            .iter()
            .map(|r| r.stats[4].min(r.stats[2]))
            .fold(f64::INFINITY, f64::min);
        let hi = pts
            .iter()
            .map(|r| r.stats[6].max(r.stats[3]))
            .fold(f64::NEG_INFINITY, f64::max);
        let ypad = ((hi - lo) * 0.1).max(0.005);
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(
                (x_lo - pad)..(x_hi + pad),
                (lo - ypad).max(0.0)..(hi + ypad).min(1.0),
            )
            .map_err(err)?;
        let labels = axis.labels.clone();
        chart
            .configure_mesh()
            .light_line_style(RGBColor(238, 238, 238))
            .x_desc(axis.title())
            .x_label_formatter(&|x| {
                if categorical {
                    let i = x.round();
                    if (x - i).abs() < 1e-6 && i >= 0.0 {
                        labels.get(i as usize).map(|l| short(l)).unwrap_or_default()
                    } else {
                        String::new()
                    }
                } else {
                    short(&format!("{x}"))
                }
            })
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(err)?;
        let color = series_color(k);
        for (lo_i, hi_i, alpha) in [(4usize, 6usize, 0.12), (2, 3, 0.3)] {
            let mut poly: Vec<(f64, f64)> = xs
                .iter()
                .zip(&pts)
                .map(|(&x, r)| (x, r.stats[hi_i]))
                .collect();
            poly.extend(xs.iter().zip(&pts).rev().map(|(&x, r)| (x, r.stats[lo_i])));
            chart
                .draw_series(std::iter::once(Polygon::new(poly, color.mix(alpha))))
                .map_err(err)?;
        }
        chart
            .draw_series(LineSeries::new(
                xs.iter().zip(&pts).map(|(&x, r)| (x, r.stats[0])),
                color.stroke_width(2),
            ))
            .map_err(err)?;
        chart
            .draw_series(
                xs.iter()
                    .zip(&pts)
                    .map(|(&x, r)| Circle::new((x, r.stats[0]), 4, color.filled())),
            )
            .map_err(err)?;
    }
    Ok(())
}

/// A perceptually ordered colour ramp (viridis-like) for `t ∈ [0, 1]`.
fn ramp(t: f64) -> RGBColor {
    const STOPS: [(f64, (f64, f64, f64)); 5] = [
        (0.0, (68.0, 1.0, 84.0)),
        (0.25, (59.0, 82.0, 139.0)),
        (0.5, (33.0, 145.0, 140.0)),
        (0.75, (94.0, 201.0, 98.0)),
        (1.0, (253.0, 231.0, 37.0)),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let i = STOPS.iter().position(|s| s.0 >= t).unwrap_or(4).max(1);
    let (t0, a) = STOPS[i - 1];
    let (t1, b) = STOPS[i];
    let f = (t - t0) / (t1 - t0);
    let mix = |x: f64, y: f64| (x + (y - x) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

fn heatmap<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    info: &SweepInfo,
    rows: &[SweepRow],
) -> ChartResult {
    let (ay, ax) = (&info.axes[0], &info.axes[1]);
    let root = titled(
        root,
        &format!("Sweep — {} ({} runs per point)", info.scenario, info.runs),
        22,
    )?;
    let (nx, ny) = (ax.labels.len(), ay.labels.len());
    let (left, right) = root.split_horizontally(SIZE.0 / 2);
    for (area, (metric, title)) in [left, right].iter().zip(HEAT_METRICS) {
        let pts = stats_of(rows, metric);
        if pts.len() != nx * ny {
            continue;
        }
        let means: Vec<f64> = pts.iter().map(|r| r.stats[0]).collect();
        let (lo, hi) = means
            .iter()
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let span = if hi > lo { hi - lo } else { 1.0 };
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(90)
            .build_cartesian_2d(-0.5..(nx as f64 - 0.5), -0.5..(ny as f64 - 0.5))
            .map_err(err)?;
        let (xl, yl) = (ax.labels.clone(), ay.labels.clone());
        let pick = |labels: &Vec<String>, v: f64| {
            let i = v.round();
            if (v - i).abs() < 1e-6 && i >= 0.0 {
                labels.get(i as usize).map(|l| short(l)).unwrap_or_default()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(nx)
            .y_labels(ny)
            .x_label_formatter(&|x| pick(&xl, *x))
            .y_label_formatter(&|y| pick(&yl, *y))
            .x_desc(ax.title())
            .y_desc(ay.title())
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(err)?;
        // Point p is (y index, x index) = (p / nx, p % nx): the first axis varies slowest.
        chart
            .draw_series(means.iter().enumerate().map(|(p, &v)| {
                let (y, x) = ((p / nx) as f64, (p % nx) as f64);
                Rectangle::new(
                    [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                    ramp((v - lo) / span).filled(),
                )
            }))
            .map_err(err)?;
        chart
            .draw_series(means.iter().enumerate().map(|(p, &v)| {
                let (y, x) = ((p / nx) as f64, (p % nx) as f64);
                let dark = (v - lo) / span < 0.6;
                let style = ("sans-serif", 15)
                    .into_font()
                    .color(if dark { &WHITE } else { &BLACK })
                    .pos(plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Center,
                        plotters::style::text_anchor::VPos::Center,
                    ));
                Text::new(format!("{v:.3}"), (x, y), style)
            }))
            .map_err(err)?;
    }
    Ok(())
}
