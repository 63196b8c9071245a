//! The charts of a `sweep`: lines with bands against the swept value for one-axis grids
//! (`sweep_lines`), heat maps of the mean for two-axis grids (`sweep_heatmap`), and for a design
//! each point's mean against each parameter (`sweep_scatter`, a panel per parameter).

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

/// Draws the sweep chart that fits the grid's shape into `dir`, and one chart per metric of
/// `metrics` (`sweep_<metric>`: its heat map, or its line against a one-axis sweep); returns
/// the names drawn.
pub fn draw_sweep_charts(
    dir: &Path,
    info: &SweepInfo,
    rows: &[SweepRow],
    metrics: &[String],
) -> Result<Vec<String>> {
    register_font()?;
    let mut drawn = Vec::new();
    match info.axes.len() {
        1 => {
            draw_both!(dir, "sweep_lines", |root| lines(&root, info, rows));
            drawn.push("sweep_lines".to_string());
        }
        2 => {
            draw_both!(dir, "sweep_heatmap", |root| heatmap(&root, info, rows));
            drawn.push("sweep_heatmap".to_string());
        }
        _ if info.design.is_some() => {
            draw_both!(dir, "sweep_scatter", super::GRID_SIZE, |root| {
                scatter(&root, info, rows, "zk_share_of_l2")
            });
            drawn.push("sweep_scatter".to_string());
        }
        _ => {}
    }
    for metric in metrics {
        let name = format!("sweep_{metric}");
        let title = format!(
            "{metric} at the horizon — {} ({} runs per point)",
            info.scenario, info.runs
        );
        match info.axes.len() {
            1 => draw_both!(dir, &name, |root| {
                titled(&root, &title, 22).and_then(|area| {
                    line_panel(
                        &area,
                        info,
                        rows,
                        metric,
                        "mean, 95 % interval, p05–p95",
                        series_color(0),
                    )
                })
            }),
            2 => draw_both!(dir, &name, |root| {
                titled(&root, &title, 22).and_then(|area| {
                    heat_panel(&area, info, rows, metric, "mean and its 95 % interval")
                })
            }),
            _ if info.design.is_some() => draw_both!(dir, &name, super::GRID_SIZE, |root| {
                scatter(&root, info, rows, metric)
            }),
            _ => continue,
        }
        drawn.push(name);
    }
    Ok(drawn)
}

/// The rows of one `runs.csv` column (`metric`, or `metric.chain` for a chain's), by point.
fn stats_of<'a>(rows: &'a [SweepRow], column: &str) -> Vec<&'a SweepRow> {
    let (metric, chain) = column.split_once('.').unwrap_or((column, ""));
    let mut v: Vec<&SweepRow> = rows
        .iter()
        .filter(|r| r.metric == metric && r.chain == chain)
        .collect();
    v.sort_by_key(|r| r.point);
    v
}

fn lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    info: &SweepInfo,
    rows: &[SweepRow],
) -> ChartResult {
    let root = titled(
        root,
        &format!(
            "Sweep of {} — {} ({} runs per point)",
            axis_title(&info.axes[0]),
            info.scenario,
            info.runs
        ),
        22,
    )?;
    for (k, (area, (metric, title))) in root
        .split_evenly((2, 2))
        .iter()
        .zip(LINE_METRICS)
        .enumerate()
    {
        line_panel(area, info, rows, metric, title, series_color(k))?;
    }
    Ok(())
}

/// One metric against a one-axis sweep's values: the mean with its 95 % interval (dark band)
/// and the p05–p95 range across runs (light band).
fn line_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    info: &SweepInfo,
    rows: &[SweepRow],
    metric: &str,
    title: &str,
    color: RGBColor,
) -> ChartResult {
    let axis = &info.axes[0];
    let xs: Vec<f64> = axis
        .numbers
        .clone()
        .unwrap_or_else(|| (0..axis.labels.len()).map(|i| i as f64).collect());
    let (x_lo, x_hi) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let categorical = axis.numbers.is_none();
    let pad = ((x_hi - x_lo) * 0.05).max(if categorical {
        0.5
    } else {
        0.05 * x_hi.abs().max(1e-9)
    });
    let pts = stats_of(rows, metric);
    if pts.len() != xs.len() {
        return Ok(());
    }
    let lo = pts
        .iter()
        .map(|r| r.stats[4].min(r.stats[2]))
        .fold(f64::INFINITY, f64::min);
    let hi = pts
        .iter()
        .map(|r| r.stats[6].max(r.stats[3]))
        .fold(f64::NEG_INFINITY, f64::max);
    let ypad = ((hi - lo) * 0.1).max(hi.abs() * 1e-3).max(1e-9);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((x_lo - pad)..(x_hi + pad), (lo - ypad)..(hi + ypad))
        .map_err(err)?;
    let labels = axis.labels.clone();
    let big = hi.abs().max(lo.abs()) >= 1e4;
    chart
        .configure_mesh()
        .light_line_style(RGBColor(238, 238, 238))
        .x_desc(axis_title(axis))
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
        .y_label_formatter(&|y| if big { usd(*y) } else { format!("{y:.3}") })
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(err)?;
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

/// A short name for a swept field with its unit, for axis labels: the chain or segment and the
/// field in words, the unit from the field's suffix (`chains.zksync.withdrawal_delay_days` →
/// `zksync withdrawal delay (days)`).
pub(crate) fn short_name(field: &str) -> String {
    const UNITS: [(&str, &str); 7] = [
        ("_usd_per_day", "USD/day"),
        ("_per_month", "1/month"),
        ("_days", "days"),
        ("_hours", "hours"),
        ("_usd", "USD"),
        ("_apy", "per year"),
        ("_share", "fraction"),
    ];
    let parts: Vec<&str> = field.split('.').collect();
    let (owner, last) = match parts.as_slice() {
        [_, owner, .., last] => (Some(*owner), *last),
        [.., last] => (None, *last),
        [] => (None, field),
    };
    let (stem, unit) = UNITS
        .iter()
        .find_map(|(suffix, unit)| last.strip_suffix(suffix).map(|s| (s, Some(*unit))))
        .unwrap_or((last, None));
    let mut name = owner.map_or(String::new(), |o| format!("{o} "));
    name.push_str(&stem.replace('_', " "));
    if let Some(u) = unit {
        name.push_str(&format!(" ({u})"));
    }
    name
}

/// An axis title: the short names of its fields.
fn axis_title(axis: &crate::report::sweep::Axis) -> String {
    axis.fields
        .iter()
        .map(|f| short_name(f))
        .collect::<Vec<_>>()
        .join(" / ")
}

/// Width of a heat map's colour bar with its labels, in pixels.
const COLOUR_BAR: u32 = 95;

fn heatmap<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    info: &SweepInfo,
    rows: &[SweepRow],
) -> ChartResult {
    let root = titled(
        root,
        &format!(
            "Sweep — {} ({} runs per point): mean at the horizon and its 95 % interval",
            info.scenario, info.runs
        ),
        22,
    )?;
    let (left, right) = root.split_horizontally(SIZE.0 / 2);
    for (area, (metric, title)) in [left, right].iter().zip(HEAT_METRICS) {
        heat_panel(area, info, rows, metric, title)?;
    }
    Ok(())
}

/// Draws the heat map of `metric`'s mean over a two-axis grid with a colour bar. The colours
/// span the union of the cells' 95 % intervals, so cells whose intervals overlap look alike
/// rather than differences of noise filling the whole ramp; each cell is labelled with its mean
/// and its interval.
pub(super) fn heat_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    info: &SweepInfo,
    rows: &[SweepRow],
    metric: &str,
    title: &str,
) -> ChartResult {
    let (ay, ax) = (&info.axes[0], &info.axes[1]);
    let (nx, ny) = (ax.labels.len(), ay.labels.len());
    let pts = stats_of(rows, metric);
    if pts.len() != nx * ny {
        return Ok(());
    }
    // stats: mean, sd, ci95_low, ci95_high, p05, p50, p95.
    let finite = |x: &f64| x.is_finite();
    let lo = pts
        .iter()
        .map(|r| r.stats[2])
        .filter(finite)
        .fold(f64::INFINITY, f64::min);
    let hi = pts
        .iter()
        .map(|r| r.stats[3])
        .filter(finite)
        .fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo < hi {
        (lo, hi)
    } else {
        (lo - 0.5, lo + 0.5)
    };
    let span = hi - lo;
    let (map_area, bar_area) =
        area.split_horizontally(area.dim_in_pixel().0.saturating_sub(COLOUR_BAR));
    let mut chart = ChartBuilder::on(&map_area)
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
        .x_desc(axis_title(ax))
        .y_desc(axis_title(ay))
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    // Point p is (y index, x index) = (p / nx, p % nx): the first axis varies slowest.
    let at = |p: usize| ((p % nx) as f64, (p / nx) as f64);
    chart
        .draw_series(pts.iter().enumerate().map(|(p, r)| {
            let (x, y) = at(p);
            Rectangle::new(
                [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                ramp((r.stats[0] - lo) / span).filled(),
            )
        }))
        .map_err(err)?;
    let digits = decimals(span);
    // USD amounts compact (1.56B), other values with the decimals their spread needs.
    let usd_metric = crate::report::format::Kind::of(metric) == crate::report::format::Kind::Usd;
    let label = move |x: f64| {
        if usd_metric {
            usd(x)
        } else {
            format!("{x:.digits$}")
        }
    };
    for (p, r) in pts.iter().enumerate() {
        let (x, y) = at(p);
        let dark = (r.stats[0] - lo) / span < 0.6;
        let style = ("sans-serif", 14)
            .into_font()
            .color(if dark { &WHITE } else { &BLACK })
            .pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Center,
            ));
        let lines = [
            (label(r.stats[0]), 0.12),
            (
                format!("[{}, {}]", label(r.stats[2]), label(r.stats[3])),
                -0.12,
            ),
        ];
        chart
            .draw_series(
                lines
                    .into_iter()
                    .map(|(text, dy)| Text::new(text, (x, y + dy), style.clone())),
            )
            .map_err(err)?;
    }
    colour_bar(&bar_area, lo, hi, &label)
}

/// Decimals that show differences of a tenth of `span`.
fn decimals(span: f64) -> usize {
    if span > 0.0 && span.is_finite() {
        (1 - (span.log10().floor() as i64)).clamp(0, 8) as usize
    } else {
        3
    }
}

/// A vertical colour bar from `lo` (bottom) to `hi` (top) with five labelled ticks.
fn colour_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    lo: f64,
    hi: f64,
    label: &dyn Fn(f64) -> String,
) -> ChartResult {
    let (_, h) = area.dim_in_pixel();
    let (top, bottom) = (52i32, h as i32 - 62);
    let steps = 100;
    let height = (bottom - top).max(1) as f64;
    for i in 0..steps {
        let t0 = i as f64 / steps as f64;
        let y0 = bottom - (t0 * height) as i32;
        let y1 = bottom - ((t0 + 1.0 / steps as f64) * height) as i32;
        area.draw(&Rectangle::new([(8, y1), (26, y0)], ramp(t0).filled()))
            .map_err(err)?;
    }
    area.draw(&Rectangle::new(
        [(8, top), (26, bottom)],
        BLACK.stroke_width(1),
    ))
    .map_err(err)?;
    for k in 0..=4 {
        let t = k as f64 / 4.0;
        let y = bottom - (t * height) as i32;
        area.draw(&PathElement::new(
            vec![(26, y), (31, y)],
            BLACK.stroke_width(1),
        ))
        .map_err(err)?;
        area.draw(&Text::new(
            label(lo + t * (hi - lo)),
            (34, y - 7),
            ("sans-serif", 13).into_font(),
        ))
        .map_err(err)?;
    }
    Ok(())
}

/// A design's points: the mean of `column` at each point against each parameter, one panel per
/// parameter (log axes for log-scale ranges).
fn scatter<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    info: &SweepInfo,
    rows: &[SweepRow],
    column: &str,
) -> ChartResult {
    let Some(design) = &info.design else {
        return Ok(());
    };
    let root = titled(
        root,
        &format!(
            "{column} at the horizon against each parameter — {} design of {}, {} points × {} runs (each dot a point's mean)",
            design.method, info.scenario, info.points, info.runs
        ),
        20,
    )?;
    let points = stats_of(rows, column);
    let means: Vec<f64> = points.iter().map(|r| r.stats[0]).collect();
    let finite: Vec<f64> = means.iter().copied().filter(|m| m.is_finite()).collect();
    let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo.is_finite() && hi > lo {
        let pad = (hi - lo) * 0.05;
        (lo - pad, hi + pad)
    } else if lo.is_finite() {
        (lo - 0.5, lo + 0.5)
    } else {
        (0.0, 1.0)
    };
    let k = design.parameters.len().max(1);
    let cols = k.min(3);
    let areas = root.split_evenly((k.div_ceil(cols), cols));
    for (j, (area, p)) in areas.iter().zip(&design.parameters).enumerate() {
        let xs: Vec<(f64, f64)> = points
            .iter()
            .zip(&means)
            .filter_map(|(r, &m)| {
                let x: f64 = r.params.get(j)?.parse().ok()?;
                (m.is_finite() && x.is_finite()).then_some((x, m))
            })
            .collect();
        let caption = p
            .field
            .strip_prefix("chains.")
            .unwrap_or(&p.field)
            .to_string();
        // A log-scale range is drawn on ln x, its ticks labelled with x.
        let log = p.scale == "log" && p.min > 0.0;
        let to = |x: f64| if log { x.ln() } else { x };
        let mut chart = ChartBuilder::on(area)
            .caption(caption, ("sans-serif", 15))
            .margin(10)
            .x_label_area_size(32)
            .y_label_area_size(56)
            .build_cartesian_2d(to(p.min)..to(p.max), lo..hi)
            .map_err(err)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .label_style(("sans-serif", 12))
            .x_label_formatter(&|x| crate::report::format::number(if log { x.exp() } else { *x }))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(
                xs.iter()
                    .map(|&(x, m)| Circle::new((to(x), m), 2, series_color(0).mix(0.5).filled())),
            )
            .map_err(err)?;
    }
    Ok(())
}
