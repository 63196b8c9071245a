//! Charts as PNG and SVG with plotters and an embedded DejaVu font (no system font libraries).
//!
//! Every chart is drawn from [`ChartData`], which holds only what `quantiles.csv` and `runs.csv`
//! contain, so `l2sim plot DIR` can redraw them from the files alone. Nothing else knows plotters.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Once;

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::tables::QuantileRow;
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

type Series = Vec<(f64, [f64; 6])>;

impl ChartData<'_> {
    fn index(&self) -> HashMap<(&str, &str), Series> {
        let mut map: HashMap<(&str, &str), Series> = HashMap::new();
        for r in self.rows {
            map.entry((r.metric.as_str(), r.chain.as_str()))
                .or_default()
                .push((r.day, r.stats));
        }
        map
    }
}

const SIZE: (u32, u32) = (1200, 720);
const MEAN: usize = 0;
const P05: usize = 1;
const P25: usize = 2;
const P50: usize = 3;
const P75: usize = 4;
const P95: usize = 5;

fn register_font() -> Result<()> {
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        result = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        )
        .map_err(|_| anyhow!("the embedded DejaVu Sans font could not be loaded"));
    });
    result
}

/// Colour of the `i`-th chain of a kind: blues for L1, reds for optimistic, greens for ZK, greys
/// and browns for alt-L1, so kinds read at a glance.
fn chain_color(kind: ChainKind, i: usize) -> RGBColor {
    let palette: &[RGBColor] = match kind {
        ChainKind::L1 => &[RGBColor(31, 78, 160)],
        ChainKind::Optimistic => &[
            RGBColor(214, 39, 40),
            RGBColor(255, 127, 14),
            RGBColor(188, 80, 144),
            RGBColor(140, 20, 60),
        ],
        ChainKind::Zk => &[
            RGBColor(44, 160, 44),
            RGBColor(23, 190, 207),
            RGBColor(106, 61, 154),
            RGBColor(0, 110, 90),
        ],
        ChainKind::AltL1 => &[
            RGBColor(127, 127, 127),
            RGBColor(140, 86, 75),
            RGBColor(90, 90, 50),
        ],
    };
    palette[i % palette.len()]
}

fn kind_color(kind: ChainKind) -> RGBColor {
    chain_color(kind, 0)
}

/// Draws each chart into `<dir>/<name>.png` and `<dir>/<name>.svg`.
pub fn draw_run_charts(dir: &Path, data: &ChartData) -> Result<()> {
    register_font()?;
    let series = data.index();
    macro_rules! both {
        ($name:literal, $f:ident) => {{
            let png = dir.join(concat!($name, ".png"));
            let root = BitMapBackend::new(&png, SIZE).into_drawing_area();
            $f(&root, data, &series).map_err(|e| anyhow!("drawing {}: {e}", png.display()))?;
            root.present()
                .map_err(|e| anyhow!("writing {}: {e}", png.display()))?;
            let svg = dir.join(concat!($name, ".svg"));
            let root = SVGBackend::new(&svg, SIZE).into_drawing_area();
            $f(&root, data, &series).map_err(|e| anyhow!("drawing {}: {e}", svg.display()))?;
            root.present()
                .map_err(|e| anyhow!("writing {}: {e}", svg.display()))?;
        }};
    }
    both!("tvl_fan", tvl_fan);
    both!("share_by_kind", share_by_kind);
    both!("final_distribution", final_distribution);
    both!("zk_vs_optimistic", zk_vs_optimistic);
    Ok(())
}

type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

fn err<E: std::fmt::Debug>(e: E) -> Box<dyn std::error::Error> {
    format!("{e:?}").into()
}

/// The legend box, on a translucent white background.
fn legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> DrawResult {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 15))
        .draw()
        .map_err(err)?;
    Ok(())
}

fn band<DB: DrawingBackend, CT: plotters::coord::CoordTranslate<From = (f64, f64)>>(
    chart: &mut ChartContext<DB, CT>,
    s: &Series,
    lo: usize,
    hi: usize,
    scale: f64,
    floor: f64,
    color: RGBAColor,
) -> DrawResult {
    let mut pts: Vec<(f64, f64)> = s
        .iter()
        .map(|(d, v)| (*d, (v[hi] * scale).max(floor)))
        .collect();
    pts.extend(
        s.iter()
            .rev()
            .map(|(d, v)| (*d, (v[lo] * scale).max(floor))),
    );
    chart
        .draw_series(std::iter::once(Polygon::new(pts, color)))
        .map_err(err)?;
    Ok(())
}

fn tvl_fan<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &ChartData,
    series: &HashMap<(&str, &str), Series>,
) -> DrawResult {
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
) -> DrawResult {
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

fn histogram<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    x_desc: &str,
    values: &[f64],
    range: (f64, f64),
    bins: usize,
    color: RGBColor,
) -> DrawResult {
    let width = (range.1 - range.0) / bins as f64;
    let mut counts = vec![0u32; bins];
    for &v in values.iter().filter(|v| v.is_finite()) {
        let b = (((v - range.0) / width) as usize).min(bins - 1);
        counts[b] += 1;
    }
    let most = counts.iter().copied().max().unwrap_or(0).max(1);
    let top = most as f64 * 1.1;
    let whole_x = range.1 - range.0 > 20.0;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(range.0..range.1, 0.0..top)
        .map_err(err)?;
    chart
        .configure_mesh()
        .light_line_style(RGBColor(238, 238, 238))
        .y_labels((most as usize + 1).min(10))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .x_label_formatter(&|x| {
            if whole_x {
                format!("{x:.0}")
            } else {
                format!("{x:.2}")
            }
        })
        .x_desc(x_desc)
        .y_desc("runs")
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(counts.iter().enumerate().map(|(i, &n)| {
            let x0 = range.0 + i as f64 * width;
            Rectangle::new([(x0, 0.0), (x0 + width, n as f64)], color.mix(0.8).filled())
        }))
        .map_err(err)?;
    Ok(())
}

/// A tight range around finite values, padded, for histograms.
fn value_range(values: &[f64], lo_floor: f64, hi_cap: f64) -> (f64, f64) {
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if !lo.is_finite() {
        return (lo_floor, hi_cap);
    }
    let pad = ((hi - lo) * 0.1).max(1e-3);
    ((lo - pad).max(lo_floor), (hi + pad).min(hi_cap))
}

fn final_distribution<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &ChartData,
    _: &HashMap<(&str, &str), Series>,
) -> DrawResult {
    root.fill(&WHITE).map_err(err)?;
    let root = root
        .titled(
            &format!(
                "Final-day distribution across {} runs — {}",
                data.runs, data.scenario
            ),
            ("sans-serif", 24),
        )
        .map_err(err)?;
    let (left, right) = root.split_horizontally(SIZE.0 / 2);
    let r = value_range(&data.final_l2_share, 0.0, 1.0);
    histogram(
        &left,
        "l2_share = (optimistic + ZK) / (L1 + optimistic + ZK)",
        "l2_share",
        &data.final_l2_share,
        r,
        30,
        RGBColor(214, 39, 40),
    )?;
    let r = value_range(&data.final_zk_share_of_l2, 0.0, 1.0);
    histogram(
        &right,
        "zk_share_of_l2 = ZK / (optimistic + ZK)",
        "zk_share_of_l2",
        &data.final_zk_share_of_l2,
        r,
        30,
        RGBColor(44, 160, 44),
    )?;
    Ok(())
}

fn zk_vs_optimistic<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &ChartData,
    series: &HashMap<(&str, &str), Series>,
) -> DrawResult {
    root.fill(&WHITE).map_err(err)?;
    let root = root
        .titled(
            &format!(
                "ZK vs optimistic rollups — {} ({} runs)",
                data.scenario, data.runs
            ),
            ("sans-serif", 24),
        )
        .map_err(err)?;
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
    histogram(&bottom, &title, "day", &passed, (0.0, horizon), 40, color)?;
    Ok(())
}

/// Compact USD label: 1.5B, 300M, 20k.
fn usd(v: f64) -> String {
    let a = v.abs();
    if a >= 1e12 {
        format!("{:.3}T", v / 1e12)
    } else if a >= 1e9 {
        format!("{}B", trim(v / 1e9))
    } else if a >= 1e6 {
        format!("{}M", trim(v / 1e6))
    } else if a >= 1e3 {
        format!("{}k", trim(v / 1e3))
    } else {
        trim(v)
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}
