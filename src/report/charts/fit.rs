//! `fit.png` / `fit.svg` of `calibrate`: every targeted (metric, chain) in its own panel, the
//! observations against the best candidate's median and p05–p95 band, the held-out period shaded.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::prelude::*;

use super::{P05, P50, P95, SIZE, err, index, register_font, series_color, usd};
use crate::batch::fit::Residual;
use crate::report::tables::QuantileRow;

/// Most panels drawn (the first targeted series, in file order).
pub const MAX_PANELS: usize = 6;

/// Draws `dir/fit.png` and `dir/fit.svg`.
pub fn draw_fit_chart(
    dir: &Path,
    title: &str,
    rows: &[QuantileRow],
    residuals: &[Residual],
    fit_until: f64,
) -> Result<()> {
    register_font()?;
    let series = index(rows);
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for r in residuals {
        let k = (r.target.metric.as_str(), r.target.chain.as_str());
        if !keys.contains(&k) && keys.len() < MAX_PANELS {
            keys.push(k);
        }
    }
    let dates: HashMap<u64, String> = rows
        .iter()
        .filter_map(|r| r.date.clone().map(|d| (r.day.to_bits(), d)))
        .collect();
    let png = dir.join("fit.png");
    let svg = dir.join("fit.svg");
    {
        let root = BitMapBackend::new(&png, SIZE).into_drawing_area();
        draw(&root, title, &series, &keys, residuals, fit_until, &dates)
            .map_err(|e| anyhow!("drawing {}: {e}", png.display()))?;
        root.present()
            .map_err(|e| anyhow!("writing {}: {e}", png.display()))?;
    }
    {
        let root = SVGBackend::new(&svg, SIZE).into_drawing_area();
        draw(&root, title, &series, &keys, residuals, fit_until, &dates)
            .map_err(|e| anyhow!("drawing {}: {e}", svg.display()))?;
        root.present()
            .map_err(|e| anyhow!("writing {}: {e}", svg.display()))?;
    }
    Ok(())
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    series: &HashMap<(&str, &str), super::Series>,
    keys: &[(&str, &str)],
    residuals: &[Residual],
    fit_until: f64,
    dates: &HashMap<u64, String>,
) -> super::ChartResult {
    root.fill(&WHITE).map_err(err)?;
    let body = root.titled(title, ("sans-serif", 22)).map_err(err)?;
    let cols = if keys.len() > 1 { 2 } else { 1 };
    let rows = keys.len().div_ceil(cols).max(1);
    let panels = body.split_evenly((rows, cols));
    for (i, (key, area)) in keys.iter().zip(&panels).enumerate() {
        let Some(s) = series.get(key) else { continue };
        let obs: Vec<&Residual> = residuals
            .iter()
            .filter(|r| (r.target.metric.as_str(), r.target.chain.as_str()) == *key)
            .collect();
        let x0 = s.first().map_or(0.0, |x| x.0);
        let x1 = s.last().map_or(1.0, |x| x.0).max(x0 + 1.0);
        let hi = s
            .iter()
            .map(|x| x.1[P95])
            .chain(obs.iter().map(|r| r.target.value))
            .filter(|v| v.is_finite())
            .fold(f64::NEG_INFINITY, f64::max);
        let lo = s
            .iter()
            .map(|x| x.1[P05])
            .chain(obs.iter().map(|r| r.target.value))
            .filter(|v| v.is_finite())
            .fold(f64::INFINITY, f64::min);
        let (lo, hi) = if lo.is_finite() && hi.is_finite() {
            let pad = ((hi - lo) * 0.08).max(hi.abs() * 1e-6).max(1e-12);
            (
                (lo - pad)
                    .min(0.0)
                    .max(if lo >= 0.0 { 0.0 } else { lo - pad }),
                hi + pad,
            )
        } else {
            (0.0, 1.0)
        };
        let is_usd = key.0.ends_with("_usd");
        let name = if key.1.is_empty() {
            key.0.to_string()
        } else {
            format!("{} — {}", key.0, key.1)
        };
        let mut chart = ChartBuilder::on(area)
            .caption(name, ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, lo..hi)
            .map_err(err)?;
        let label = |x: &f64| {
            dates
                .iter()
                .min_by(|a, b| {
                    (f64::from_bits(*a.0) - x)
                        .abs()
                        .total_cmp(&(f64::from_bits(*b.0) - x).abs())
                })
                .map_or(format!("{x:.0}"), |(_, d)| d[..7.min(d.len())].to_string())
        };
        chart
            .configure_mesh()
            .light_line_style(RGBColor(238, 238, 238))
            .x_labels(6)
            .x_label_formatter(&|x| {
                if dates.is_empty() {
                    format!("{x:.0}")
                } else {
                    label(x)
                }
            })
            .y_label_formatter(&|v| if is_usd { usd(*v) } else { format!("{v:.3}") })
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(err)?;
        if fit_until < x1 {
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(fit_until.max(x0), lo), (x1, hi)],
                    RGBColor(120, 120, 120).mix(0.12).filled(),
                )))
                .map_err(err)?;
        }
        let color = series_color(i);
        super::band(
            &mut chart,
            s,
            P05,
            P95,
            1.0,
            f64::NEG_INFINITY,
            color.mix(0.18),
        )?;
        chart
            .draw_series(LineSeries::new(
                s.iter().map(|(d, v)| (*d, v[P50])),
                color.stroke_width(2),
            ))
            .map_err(err)?;
        chart
            .draw_series(obs.iter().map(|r| {
                let style = if r.target.held_out {
                    BLACK.stroke_width(1)
                } else {
                    BLACK.filled()
                };
                Circle::new((r.target.day, r.target.value), 3, style)
            }))
            .map_err(err)?;
    }
    Ok(())
}
