//! The four charts of a `run`: TVL fan per chain, share by kind, final-day distributions, and
//! ZK minus optimistic TVL with the first-passage day.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    ChartResult, MEAN, P05, P25, P50, P75, P95, SIZE, Series, band, chain_color, draw_both, err,
    histogram, index, kind_color, legend, register_font, titled, usd, value_range,
};
use crate::report::tables::QuantileRow;
use crate::scenario::ChainKind;

/// What the charts of a `run` need.
pub struct ChartData<'a> {
    pub scenario: &'a str,
    pub runs: u64,
    pub chains: Vec<(String, ChainKind)>,
    pub rows: &'a [QuantileRow],
    pub final_l2_share: Vec<f64>,
    pub final_zk_share_of_l2: Vec<f64>,
    pub zk_overtakes_day: Vec<f64>,
}

/// Draws the four run charts into `dir`, as PNG and SVG.
pub fn draw_run_charts(dir: &Path, data: &ChartData) -> Result<()> {
    register_font()?;
    let series = index(data.rows);
    draw_both!(dir, "tvl_fan", |root| tvl_fan(&root, data, &series));
    draw_both!(dir, "share_by_kind", |root| share_by_kind(
        &root, data, &series
    ));
    draw_both!(dir, "final_distribution", |root| final_distribution(
        &root, data, &series
    ));
    draw_both!(dir, "zk_vs_optimistic", |root| zk_vs_optimistic(
        &root, data, &series
    ));
    Ok(())
}

fn tvl_fan<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &ChartData,
    series: &HashMap<(&str, &str), Series>,
) -> ChartResult {
    root.fill(&WHITE).map_err(err)?;
    let horizon = series
        .values()
        .flat_map(|s| s.last().map(|x| x.0))
        .fold(1.0, f64::max);
    let mut hi: f64 = 1e6;
    for (id, _) in &data.chains {
        if let Some(s) = series.get(&("tvl_usd", id.as_str())) {
            hi = s.iter().map(|x| x.1[P95]).fold(hi, f64::max);
        }
    }
    let (lo, hi) = (1e6, hi * 1.5);
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!(
                "TVL per chain — {} ({} runs): median, p25–p75 and p05–p95 bands",
                data.scenario, data.runs
            ),
            ("sans-serif", 24),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(90)
        .build_cartesian_2d(0.0..horizon, (lo..hi).log_scale())
        .map_err(err)?;
    chart
        .configure_mesh()
        .light_line_style(RGBColor(238, 238, 238))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .x_desc("day")
        .y_desc("TVL (USD, log scale)")
        .y_label_formatter(&|v| usd(*v))
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(err)?;
    let mut per_kind = HashMap::new();
    for (id, kind) in &data.chains {
        let i = per_kind.entry(*kind).or_insert(0usize);
        let color = chain_color(*kind, *i);
        *i += 1;
        let Some(s) = series.get(&("tvl_usd", id.as_str())) else {
            continue;
        };
        band(&mut chart, s, P05, P95, 1.0, lo, color.mix(0.12))?;
        band(&mut chart, s, P25, P75, 1.0, lo, color.mix(0.25))?;
        chart
            .draw_series(LineSeries::new(
                s.iter().map(|(d, v)| (*d, v[P50].max(lo))),
                color.stroke_width(2),
            ))
            .map_err(err)?
            .label(format!("{id} ({})", kind.as_str()))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
            });
    }
    legend(&mut chart, SeriesLabelPosition::LowerRight)?;
    Ok(())
}

fn share_by_kind<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &ChartData,
    series: &HashMap<(&str, &str), Series>,
) -> ChartResult {
    root.fill(&WHITE).map_err(err)?;
    let kinds = [
        (ChainKind::L1, "tvl_l1_usd"),
        (ChainKind::Optimistic, "tvl_optimistic_usd"),
        (ChainKind::Zk, "tvl_zk_usd"),
        (ChainKind::AltL1, "tvl_alt_l1_usd"),
    ];
    let Some(first) = series.get(&(kinds[0].1, "")) else {
        return Ok(());
    };
    let days: Vec<f64> = first.iter().map(|x| x.0).collect();
    let medians: Vec<Vec<f64>> = kinds
        .iter()
        .map(|(_, m)| {
            series
                .get(&(*m, ""))
                .map(|s| s.iter().map(|x| x.1[P50].max(0.0)).collect())
                .unwrap_or_else(|| vec![0.0; days.len()])
        })
        .collect();
    let horizon = days.last().copied().unwrap_or(1.0).max(1e-9);
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!(
                "Share of TVL by kind — {} (medians across {} runs, normalised to 100 %)",
                data.scenario, data.runs
            ),
            ("sans-serif", 24),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..horizon, 0.0..100.0)
        .map_err(err)?;
    chart
        .configure_mesh()
        .light_line_style(RGBColor(238, 238, 238))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .x_desc("day")
        .y_desc("share of TVL (%)")
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(err)?;
    let mut lower = vec![0.0; days.len()];
    for (k, (kind, _)) in kinds.iter().enumerate() {
        let upper: Vec<f64> = (0..days.len())
            .map(|t| {
                let total: f64 = medians.iter().map(|m| m[t]).sum();
                lower[t]
                    + if total > 0.0 {
                        100.0 * medians[k][t] / total
                    } else {
                        0.0
                    }
            })
            .collect();
        let mut pts: Vec<(f64, f64)> = days.iter().copied().zip(upper.iter().copied()).collect();
        pts.extend(days.iter().copied().zip(lower.iter().copied()).rev());
        let color = kind_color(*kind);
        chart
            .draw_series(std::iter::once(Polygon::new(pts, color.mix(0.8).filled())))
            .map_err(err)?
            .label(kind.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 20, y + 6)], color.filled()));
        lower = upper;
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    Ok(())
}

fn final_distribution<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &ChartData,
    _: &HashMap<(&str, &str), Series>,
) -> ChartResult {
    let root = titled(
        root,
        &format!(
            "Final-day distribution across {} runs — {}",
            data.runs, data.scenario
        ),
        24,
    )?;
    let (left, right) = root.split_horizontally(SIZE.0 / 2);
    let r = value_range(&data.final_l2_share, 0.0, 1.0);
    histogram(
        &left,
        "l2_share = (optimistic + ZK) / (L1 + optimistic + ZK)",
        "l2_share",
        &[("", &data.final_l2_share, RGBColor(214, 39, 40))],
        r,
        30,
    )?;
    let r = value_range(&data.final_zk_share_of_l2, 0.0, 1.0);
    histogram(
        &right,
        "zk_share_of_l2 = ZK / (optimistic + ZK)",
        "zk_share_of_l2",
        &[("", &data.final_zk_share_of_l2, RGBColor(44, 160, 44))],
        r,
        30,
    )?;
    Ok(())
}

fn zk_vs_optimistic<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &ChartData,
    series: &HashMap<(&str, &str), Series>,
) -> ChartResult {
    let root = titled(
        root,
        &format!(
            "ZK vs optimistic rollups — {} ({} runs)",
            data.scenario, data.runs
        ),
        24,
    )?;
    let (top, bottom) = root.split_vertically((SIZE.1 as f64 * 0.58) as u32);
    let Some(s) = series.get(&("zk_minus_optimistic_usd", "")) else {
        return Ok(());
    };
    let horizon = s.last().map(|x| x.0).unwrap_or(1.0).max(1e-9);
    let scale = 1e-9;
    let lo = s.iter().map(|x| x.1[P05] * scale).fold(0.0, f64::min);
    let hi = s.iter().map(|x| x.1[P95] * scale).fold(0.0, f64::max);
    let pad = ((hi - lo) * 0.08).max(0.01);
    let mut chart = ChartBuilder::on(&top)
        .caption(
            "ZK TVL minus optimistic TVL: median, p25–p75, p05–p95; mean dashed",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..horizon, (lo - pad)..(hi + pad))
        .map_err(err)?;
    chart
        .configure_mesh()
        .light_line_style(RGBColor(238, 238, 238))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .x_desc("day")
        .y_desc("USD billions")
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    let color = RGBColor(106, 61, 154);
    band(
        &mut chart,
        s,
        P05,
        P95,
        scale,
        f64::NEG_INFINITY,
        color.mix(0.15),
    )?;
    band(
        &mut chart,
        s,
        P25,
        P75,
        scale,
        f64::NEG_INFINITY,
        color.mix(0.3),
    )?;
    chart
        .draw_series(LineSeries::new(
            s.iter().map(|(d, v)| (*d, v[P50] * scale)),
            color.stroke_width(2),
        ))
        .map_err(err)?;
    chart
        .draw_series(DashedLineSeries::new(
            s.iter().map(|(d, v)| (*d, v[MEAN] * scale)),
            6,
            4,
            color.stroke_width(1),
        ))
        .map_err(err)?;
    chart
        .draw_series(LineSeries::new(
            [(0.0, 0.0), (horizon, 0.0)],
            BLACK.stroke_width(1),
        ))
        .map_err(err)?;
    let passed: Vec<f64> = data
        .zk_overtakes_day
        .iter()
        .copied()
        .filter(|d| d.is_finite())
        .collect();
    let title = format!(
        "Day ZK TVL first exceeds optimistic TVL: {} of {} runs ({:.1} %)",
        passed.len(),
        data.zk_overtakes_day.len(),
        100.0 * passed.len() as f64 / data.zk_overtakes_day.len().max(1) as f64
    );
    histogram(
        &bottom,
        &title,
        "day",
        &[("", &passed, color)],
        (0.0, horizon),
        40,
    )?;
    Ok(())
}
