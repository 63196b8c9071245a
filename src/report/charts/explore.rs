//! The charts of an exploration: `sensitivity` (one panel per output metric, a bar per
//! parameter and index with its 95 % bootstrap interval) and `discovery` (PRIM's peeling
//! trajectory, coverage against density, and the chosen box on each parameter's range).

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{ChartResult, GRID_SIZE, SIZE, draw_both, err, register_font, series_color, titled};
use crate::report::explore::{DiscoveryReport, MetricSensitivity, SensitivityReport};
use crate::report::format;

/// A parameter's label: its field path without the `chains.` prefix (`kind:zk.withdrawal_delay_days`).
fn short(field: &str) -> String {
    let s = field.strip_prefix("chains.").unwrap_or(field);
    if s.chars().count() > 40 {
        let tail: String = s
            .chars()
            .rev()
            .take(39)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("…{tail}")
    } else {
        s.to_string()
    }
}

/// Draws `charts/sensitivity.png` and `.svg`.
pub fn draw_sensitivity_chart(dir: &Path, report: &SensitivityReport) -> Result<()> {
    register_font()?;
    draw_both!(dir, "sensitivity", GRID_SIZE, |root| sensitivity(
        &root, report
    ));
    Ok(())
}

fn sensitivity<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    r: &SensitivityReport,
) -> ChartResult {
    let (what, names) = if r.estimator == "sobol" {
        (
            "Sobol indices: first order S1 (light), total ST (dark)",
            ["S1", "ST"],
        )
    } else {
        (
            "Morris screening: μ* (light), σ (dark), in output units per unit of range",
            ["mu_star", "sigma"],
        )
    };
    let root = titled(
        root,
        &format!(
            "{} — {} design, {} points × {} runs; {what}; 95 % bootstrap intervals",
            r.scenario, r.design.method, r.design.points, r.runs
        ),
        20,
    )?;
    let n = r.metrics.len().max(1);
    let cols = if n == 1 { 1 } else { 2 };
    let rows = n.div_ceil(cols);
    let areas = root.split_evenly((rows, cols));
    for (area, m) in areas.iter().zip(&r.metrics) {
        metric_panel(area, m, names, r.estimator == "sobol")?;
    }
    Ok(())
}

fn metric_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    m: &MetricSensitivity,
    names: [&str; 2],
    sobol: bool,
) -> ChartResult {
    let params: Vec<String> = {
        let mut p: Vec<String> = Vec::new();
        for row in &m.indices {
            if !p.contains(&row.parameter) {
                p.push(row.parameter.clone());
            }
        }
        p
    };
    let labels: Vec<String> = params.iter().map(|p| short(p)).collect();
    let get = |p: &str, index: &str| {
        m.indices
            .iter()
            .find(|r| r.parameter == p && r.index == index)
            .map(|r| (r.estimate, r.ci95_low, r.ci95_high))
    };
    let finite = |v: f64| v.is_finite().then_some(v);
    let values: Vec<f64> = m
        .indices
        .iter()
        .flat_map(|r| [r.estimate, r.ci95_low, r.ci95_high])
        .filter_map(finite)
        .collect();
    let (lo, hi) = if sobol {
        let lo = values.iter().copied().fold(0.0, f64::min).max(-0.5);
        let hi = values.iter().copied().fold(1.0, f64::max).min(1.5);
        (lo, hi)
    } else {
        let hi = values.iter().copied().fold(0.0, f64::max);
        (0.0, if hi > 0.0 { hi * 1.08 } else { 1.0 })
    };
    let caption = match &m.note {
        Some(_) => format!("{}: undefined (see sensitivity.json)", m.metric),
        None => format!(
            "{}: runs' noise {:.1} % of the variance{}",
            m.metric,
            m.variance.noise_share * 100.0,
            m.sum_first_order.map_or(String::new(), |s| format!(
                ", ΣS1 = {}",
                format::trimmed(s, 2)
            ))
        ),
    };
    let k = params.len().max(1) as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(250)
        .build_cartesian_2d(lo..hi, -0.5..(k - 0.5))
        .map_err(err)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .y_labels(params.len().max(1))
        .y_label_formatter(&|y| super::category(&labels, *y, true))
        .x_labels(8)
        .x_label_formatter(&|x| {
            if sobol {
                format!("{x:.1}")
            } else if x.abs() < 1e-12 {
                "0".to_string()
            } else {
                format::number(*x)
            }
        })
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    super::zero_line(&mut chart, k)?;
    let color = series_color(0);
    for (i, p) in params.iter().enumerate() {
        // Parameter 0 at the top.
        let y = k - 1.0 - i as f64;
        for (j, index) in names.iter().enumerate() {
            let Some((est, low, high)) = get(p, index) else {
                continue;
            };
            let (y0, y1) = if j == 0 {
                (y + 0.02, y + 0.36)
            } else {
                (y - 0.36, y - 0.02)
            };
            let shade = if j == 0 {
                color.mix(0.35)
            } else {
                color.mix(0.9)
            };
            if est.is_finite() {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(0.0_f64.max(lo), y0), (est.clamp(lo, hi), y1)],
                        shade.filled(),
                    )))
                    .map_err(err)?;
            }
            if low.is_finite() && high.is_finite() {
                let mid = (y0 + y1) / 2.0;
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(low.clamp(lo, hi), mid), (high.clamp(lo, hi), mid)],
                        BLACK.stroke_width(2),
                    )))
                    .map_err(err)?;
            }
        }
    }
    Ok(())
}

/// Draws `charts/discovery.png` and `.svg`.
pub fn draw_discovery_chart(dir: &Path, report: &DiscoveryReport) -> Result<()> {
    register_font()?;
    draw_both!(dir, "discovery", SIZE, |root| discovery(&root, report));
    Ok(())
}

fn discovery<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    r: &DiscoveryReport,
) -> ChartResult {
    let root = titled(
        root,
        &format!(
            "{}: where {} ({} of {} runs) — PRIM",
            r.scenario, r.outcome, r.positives, r.rows
        ),
        20,
    )?;
    let (left, right) = root.split_horizontally(SIZE.0 * 9 / 20);
    let mut chart = ChartBuilder::on(&left)
        .caption(
            "peeling trajectory (colour: restricted parameters)",
            ("sans-serif", 15),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..1.02, 0.0..1.02)
        .map_err(err)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .x_desc("coverage (share of the outcome's cases in the box)")
        .y_desc("density (share of the box's cases with the outcome)")
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(LineSeries::new(
            r.trajectory
                .iter()
                .filter(|s| s.coverage.is_finite())
                .map(|s| (s.coverage, s.density)),
            RGBColor(160, 160, 160).stroke_width(1),
        ))
        .map_err(err)?;
    chart
        .draw_series(
            r.trajectory
                .iter()
                .filter(|s| s.coverage.is_finite())
                .map(|s| {
                    Circle::new(
                        (s.coverage, s.density),
                        4,
                        series_color(s.restricted).filled(),
                    )
                }),
        )
        .map_err(err)?;
    if let Some(c) = r
        .trajectory
        .get(r.chosen)
        .filter(|c| c.coverage.is_finite())
    {
        chart
            .draw_series([Circle::new(
                (c.coverage, c.density),
                9,
                BLACK.stroke_width(2),
            )])
            .map_err(err)?;
        chart
            .draw_series([Text::new(
                format!(
                    "chosen: step {}, coverage {}, density {}",
                    c.step,
                    format::trimmed(c.coverage, 2),
                    format::trimmed(c.density, 2)
                ),
                ((c.coverage - 0.55).max(0.02), (c.density + 0.04).min(0.99)),
                ("sans-serif", 14),
            )])
            .map_err(err)?;
    }
    // The chosen box on each parameter's range, scaled to [0, 1] (log parameters on the log).
    let log: Vec<bool> = r
        .parameters
        .iter()
        .map(|p| {
            r.design
                .as_ref()
                .and_then(|d| d.parameters.iter().find(|q| q.field == *p))
                .is_some_and(|q| q.scale == "log")
        })
        .collect();
    let labels: Vec<String> = r.parameters.iter().map(|p| short(p)).collect();
    let k = labels.len().max(1) as f64;
    let mut chart = ChartBuilder::on(&right)
        .caption(
            "the chosen box on each parameter's range",
            ("sans-serif", 15),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(230)
        .build_cartesian_2d(0.0..1.0, -0.5..(k - 0.5))
        .map_err(err)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .y_labels(labels.len().max(1))
        .y_label_formatter(&|y| super::category(&labels, *y, true))
        .x_label_formatter(&|x| format!("{:.0} %", x * 100.0))
        .x_desc("position in the design's range")
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    let full = &r.trajectory[0].bounds;
    for (i, name) in r.parameters.iter().enumerate() {
        let y = k - 1.0 - i as f64;
        let [min, max] = full[i];
        let at = |v: f64| {
            let (v, a, b) = if log[i] && min > 0.0 {
                (v.ln(), min.ln(), max.ln())
            } else {
                (v, min, max)
            };
            if b > a { (v - a) / (b - a) } else { 0.5 }
        };
        chart
            .draw_series([Rectangle::new(
                [(0.0, y - 0.3), (1.0, y + 0.3)],
                RGBColor(230, 230, 230).filled(),
            )])
            .map_err(err)?;
        let Some(b) = r.restrictions.iter().find(|b| b.parameter == *name) else {
            continue;
        };
        chart
            .draw_series([Rectangle::new(
                [(at(b.lower), y - 0.3), (at(b.upper), y + 0.3)],
                series_color(1).mix(0.8).filled(),
            )])
            .map_err(err)?;
        chart
            .draw_series([Text::new(
                format!(
                    "{} – {}  (p = {})",
                    format::number(b.lower),
                    format::number(b.upper),
                    format::number(b.p_value)
                ),
                (0.02, y + 0.05),
                ("sans-serif", 13),
            )])
            .map_err(err)?;
    }
    Ok(())
}
