//! The four charts of a `run`: TVL fan per chain, share by kind, final-day distributions, and
//! ZK minus optimistic TVL with the first-passage day.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    ChartResult, GRID_SIZE, MEAN, P05, P25, P50, P75, P95, Panel, SIZE, Series, band, band_panel,
    chain_color, day_mesh, draw_both, err, histogram, index, kind_color, percent, register_font,
    titled, usd, value_range,
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
    draw_both!(dir, "tvl_fan", GRID_SIZE, |root| tvl_fan(
        &root, data, &series
    ));
    draw_both!(dir, "share_by_kind", GRID_SIZE, |root| share_by_kind(
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

/// The kinds in the order their panels are drawn, with their names in titles.
const KINDS: [(ChainKind, &str); 4] = [
    (ChainKind::L1, "Ethereum L1"),
    (ChainKind::Optimistic, "optimistic rollups"),
    (ChainKind::Zk, "ZK rollups"),
    (ChainKind::AltL1, "alt-L1s"),
];

/// The four panels of a 2 × 2 grid below a title.
fn grid<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
) -> std::result::Result<Vec<DrawingArea<DB, Shift>>, Box<dyn std::error::Error>> {
    Ok(titled(root, title, 24)?.split_evenly((2, 2)))
}

/// TVL per chain as small multiples, one panel per kind, each on its own axis.
fn tvl_fan<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &ChartData,
    series: &HashMap<(&str, &str), Series>,
) -> ChartResult {
    let title = format!(
        "TVL per chain by kind — {} ({} runs): median, p25–p75 and p05–p95 across runs",
        data.scenario, data.runs
    );
    for (area, (kind, name)) in grid(root, &title)?.iter().zip(KINDS) {
        let lines = data
            .chains
            .iter()
            .filter(|(_, k)| *k == kind)
            .enumerate()
            .filter_map(|(i, (id, _))| {
                let s = series.get(&("tvl_usd", id.as_str()))?;
                Some((s, chain_color(kind, i), id.clone()))
            })
            .collect::<Vec<_>>();
        if lines.is_empty() {
            continue;
        }
        let panel = Panel {
            title: format!("{name}: TVL"),
            y_desc: "TVL (USD)",
            lines,
            scale: 1.0,
            format: usd,
            inner: true,
            zero: false,
        };
        band_panel(area, &panel)?;
    }
    Ok(())
}

/// Each kind's share of total TVL: quantiles across runs of each run's own share (so a band is
/// the distribution of something a run had), one panel per kind.
fn share_by_kind<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &ChartData,
    series: &HashMap<(&str, &str), Series>,
) -> ChartResult {
    let title = format!(
        "Share of total TVL by kind — {} ({} runs): median, p25–p75 and p05–p95 of each run's share",
        data.scenario, data.runs
    );
    let metrics = ["l1_share", "optimistic_share", "zk_share", "alt_l1_share"];
    for ((area, (kind, name)), metric) in grid(root, &title)?.iter().zip(KINDS).zip(metrics) {
        let Some(s) = series.get(&(metric, "")) else {
            continue;
        };
        let panel = Panel {
            title: format!("{name}: {metric}"),
            y_desc: "share of total TVL",
            lines: vec![(s, kind_color(kind), kind.as_str().to_string())],
            scale: 100.0,
            format: percent,
            inner: true,
            zero: false,
        };
        band_panel(area, &panel)?;
    }
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
    day_mesh(&mut chart)
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
