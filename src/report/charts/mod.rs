//! Charts as PNG and SVG with plotters and an embedded DejaVu font (no system font libraries).
//!
//! Every chart is drawn from what the CSV files of an output folder contain (table rows, run
//! columns), so `l2sim plot DIR` can redraw them from the files alone. Nothing else knows plotters.
//! This file holds what the charts share; `run`, `compare` and `sweep` the charts of each command.

mod compare;
mod explore;
mod fit;
mod run;
mod sweep;
mod value;

pub use compare::{CompareChartData, draw_compare_charts};
pub use explore::{draw_discovery_chart, draw_sensitivity_chart};
pub use fit::draw_fit_chart;
pub use run::{ChartData, draw_run_charts};
pub use sweep::draw_sweep_charts;
pub use value::{draw_compare_value_chart, draw_value_chart};

use std::collections::HashMap;
use std::sync::Once;

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::tables::QuantileRow;
use crate::scenario::ChainKind;

/// Draws one chart into `<dir>/<name>.png` and `<dir>/<name>.svg`: `$draw` is called with the
/// drawing area of each backend in turn.
macro_rules! draw_both {
    ($dir:expr, $name:expr, |$root:ident| $draw:expr) => {
        draw_both!($dir, $name, SIZE, |$root| $draw)
    };
    ($dir:expr, $name:expr, $size:expr, |$root:ident| $draw:expr) => {{
        let png = $dir.join(format!("{}.png", $name));
        {
            let $root = BitMapBackend::new(&png, $size).into_drawing_area();
            $draw.map_err(|e| anyhow!("drawing {}: {e}", png.display()))?;
            $root
                .present()
                .map_err(|e| anyhow!("writing {}: {e}", png.display()))?;
        }
        let svg = $dir.join(format!("{}.svg", $name));
        {
            let $root = SVGBackend::new(&svg, $size).into_drawing_area();
            $draw.map_err(|e| anyhow!("drawing {}: {e}", svg.display()))?;
            $root
                .present()
                .map_err(|e| anyhow!("writing {}: {e}", svg.display()))?;
        }
    }};
}
pub(crate) use draw_both;

/// Quantile series of one (metric, chain): `(day, [mean, p05, p25, p50, p75, p95])`.
pub(super) type Series = Vec<(f64, [f64; 6])>;

/// Groups table rows by (metric, chain).
pub(super) fn index(rows: &[QuantileRow]) -> HashMap<(&str, &str), Series> {
    let mut map: HashMap<(&str, &str), Series> = HashMap::new();
    for r in rows {
        map.entry((r.metric.as_str(), r.chain.as_str()))
            .or_default()
            .push((r.day, r.stats));
    }
    map
}

pub(super) const SIZE: (u32, u32) = (1200, 720);
/// Size of the small-multiple charts (a 2 × 2 grid of panels).
pub(super) const GRID_SIZE: (u32, u32) = (1400, 900);
pub(super) const MEAN: usize = 0;
pub(super) const P05: usize = 1;
pub(super) const P25: usize = 2;
pub(super) const P50: usize = 3;
pub(super) const P75: usize = 4;
pub(super) const P95: usize = 5;

pub(super) fn register_font() -> Result<()> {
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
pub(super) fn chain_color(kind: ChainKind, i: usize) -> RGBColor {
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

pub(super) fn kind_color(kind: ChainKind) -> RGBColor {
    chain_color(kind, 0)
}

pub(super) type ChartResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// The mesh of a chart over days: light grid, whole days on the x axis, labelled `day`.
pub(super) fn day_mesh<'a, 'b, Y, DB>(
    chart: &'b mut ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
) -> plotters::chart::MeshStyle<'a, 'b, plotters::coord::types::RangedCoordf64, Y, DB>
where
    Y: plotters::coord::ranged1d::Ranged + plotters::coord::ranged1d::ValueFormatter<Y::ValueType>,
    DB: DrawingBackend,
{
    let mut mesh = chart.configure_mesh();
    mesh.light_line_style(RGBColor(238, 238, 238))
        .x_label_formatter(&whole_day)
        .x_desc("day");
    mesh
}

fn whole_day(x: &f64) -> String {
    format!("{x:.0}")
}

pub(super) fn err<E: std::fmt::Debug>(e: E) -> Box<dyn std::error::Error> {
    format!("{e:?}").into()
}

/// Clears a chart's area to white and titles it; returns the area below the title.
pub(super) fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    size: u32,
) -> std::result::Result<DrawingArea<DB, Shift>, Box<dyn std::error::Error>> {
    root.fill(&WHITE).map_err(err)?;
    root.titled(title, ("sans-serif", size)).map_err(err)
}

/// The legend box, on a translucent white background.
pub(super) fn legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> ChartResult {
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

pub(super) fn band<DB: DrawingBackend, CT: plotters::coord::CoordTranslate<From = (f64, f64)>>(
    chart: &mut ChartContext<DB, CT>,
    s: &Series,
    lo: usize,
    hi: usize,
    scale: f64,
    floor: f64,
    color: RGBAColor,
) -> ChartResult {
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

/// Histogram of one or more groups of values over the same bins (overlaid, translucent when
/// there are several), with a legend when the groups are named.
pub(super) fn histogram<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    x_desc: &str,
    groups: &[(&str, &[f64], RGBColor)],
    range: (f64, f64),
    bins: usize,
) -> ChartResult {
    let width = (range.1 - range.0) / bins as f64;
    let counts: Vec<Vec<u32>> = groups
        .iter()
        .map(|(_, values, _)| {
            let mut counts = vec![0u32; bins];
            for &v in values.iter().filter(|v| v.is_finite()) {
                let b = (((v - range.0) / width).max(0.0) as usize).min(bins - 1);
                counts[b] += 1;
            }
            counts
        })
        .collect();
    let most = counts.iter().flatten().copied().max().unwrap_or(0).max(1);
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
                format!("{x:.3}")
            }
        })
        .x_desc(x_desc)
        .y_desc("runs")
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    let alpha = if groups.len() > 1 { 0.45 } else { 0.8 };
    for ((label, _, color), counts) in groups.iter().zip(&counts) {
        let color = *color;
        let drawn = chart
            .draw_series(counts.iter().enumerate().map(|(i, &n)| {
                let x0 = range.0 + i as f64 * width;
                Rectangle::new(
                    [(x0, 0.0), (x0 + width, n as f64)],
                    color.mix(alpha).filled(),
                )
            }))
            .map_err(err)?;
        if !label.is_empty() {
            drawn.label(*label).legend(move |(x, y)| {
                Rectangle::new([(x, y - 6), (x + 20, y + 6)], color.filled())
            });
        }
    }
    if groups.iter().any(|(label, _, _)| !label.is_empty()) {
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    }
    Ok(())
}

/// Colour of the `i`-th scenario of a comparison or the `i`-th line of a sweep.
pub(super) fn series_color(i: usize) -> RGBColor {
    const PALETTE: [RGBColor; 6] = [
        RGBColor(31, 78, 160),
        RGBColor(230, 110, 20),
        RGBColor(44, 160, 44),
        RGBColor(160, 40, 140),
        RGBColor(120, 120, 120),
        RGBColor(200, 30, 40),
    ];
    PALETTE[i % PALETTE.len()]
}

/// A tight range around finite values, padded, for histograms.
pub(super) fn value_range(values: &[f64], lo_floor: f64, hi_cap: f64) -> (f64, f64) {
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

/// Compact USD label: 1.5B, 300M, 20k.
pub(super) fn usd(v: f64) -> String {
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

pub(super) fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// One panel of a small-multiple chart: quantile bands (p05–p95, p25–p75) and the median of
/// each series, with a legend beside the plot (never over the data).
pub(super) struct Panel<'a> {
    pub title: String,
    pub y_desc: &'a str,
    /// Series, their colour and legend label.
    pub lines: Vec<(&'a Series, RGBColor, String)>,
    /// Each value is multiplied by this before drawing (100 for percentages).
    pub scale: f64,
    /// Tick labels of the value axis.
    pub format: fn(f64) -> String,
    /// Draw the inner p25–p75 band (off when the band is an interval, not quantiles).
    pub inner: bool,
    /// Draw the zero line and keep zero in view (differences).
    pub zero: bool,
}

/// Width of the legend beside a panel, in pixels.
const SIDE_LEGEND: u32 = 190;

/// Draws `panel` into `area`: a logarithmic value axis when its series span more than a factor
/// of 30 (chains of one kind can differ by orders of magnitude), else a linear one fitted to
/// the p05–p95 range.
pub(super) fn band_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
) -> ChartResult {
    let legend_width = if panel.lines.len() > 1 {
        SIDE_LEGEND
    } else {
        0
    };
    let (plot, side) = area.split_horizontally(area.dim_in_pixel().0.saturating_sub(legend_width));
    let points = || panel.lines.iter().flat_map(|(s, _, _)| s.iter());
    let horizon = points().map(|x| x.0).fold(1e-9, f64::max);
    let start = if panel.zero { 0.0 } else { f64::INFINITY };
    let lo = points()
        .map(|x| x.1[P05] * panel.scale)
        .fold(start, f64::min);
    let hi = points()
        .map(|x| x.1[P95] * panel.scale)
        .fold(-start, f64::max);
    if !(lo.is_finite() && hi.is_finite()) {
        return Ok(());
    }
    let log = !panel.zero && lo > 0.0 && hi / lo > 30.0;
    let mut builder = ChartBuilder::on(&plot);
    builder
        .caption(&panel.title, ("sans-serif", 19))
        .margin(10)
        .x_label_area_size(38)
        .y_label_area_size(78);
    if log {
        let (lo, hi) = (lo / 1.3, hi * 1.3);
        let y = (lo..hi).log_scale().with_key_points(log_ticks(lo, hi));
        let mut chart = builder.build_cartesian_2d(0.0..horizon, y).map_err(err)?;
        day_mesh(&mut chart)
            .y_desc(format!("{}, log scale", panel.y_desc))
            .y_label_formatter(&|v| (panel.format)(*v))
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(err)?;
        panel_bands(&mut chart, panel, lo)?;
    } else {
        let pad = ((hi - lo) * 0.06).max(hi.abs() * 1e-3).max(1e-12);
        let mut chart = builder
            .build_cartesian_2d(0.0..horizon, (lo - pad)..(hi + pad))
            .map_err(err)?;
        day_mesh(&mut chart)
            .y_desc(panel.y_desc)
            .y_label_formatter(&|v| (panel.format)(*v))
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(err)?;
        panel_bands(&mut chart, panel, f64::NEG_INFINITY)?;
    }
    if legend_width == 0 {
        return Ok(());
    }
    let entries: Vec<(String, RGBColor)> = panel
        .lines
        .iter()
        .map(|(_, c, l)| (l.clone(), *c))
        .collect();
    side_legend(&side, &entries)
}

fn panel_bands<DB: DrawingBackend, CT: plotters::coord::CoordTranslate<From = (f64, f64)>>(
    chart: &mut ChartContext<DB, CT>,
    panel: &Panel,
    floor: f64,
) -> ChartResult {
    if panel.zero {
        let horizon = panel
            .lines
            .iter()
            .flat_map(|(s, _, _)| s.last())
            .map(|x| x.0);
        let horizon = horizon.fold(0.0, f64::max);
        chart
            .draw_series(LineSeries::new(
                [(0.0, 0.0), (horizon, 0.0)],
                BLACK.stroke_width(1),
            ))
            .map_err(err)?;
    }
    for (s, color, _) in &panel.lines {
        let outer = if panel.inner { 0.14 } else { 0.25 };
        band(chart, s, P05, P95, panel.scale, floor, color.mix(outer))?;
        if panel.inner {
            band(chart, s, P25, P75, panel.scale, floor, color.mix(0.28))?;
        }
        chart
            .draw_series(LineSeries::new(
                s.iter()
                    .map(|(d, v)| (*d, (v[P50] * panel.scale).max(floor))),
                color.stroke_width(2),
            ))
            .map_err(err)?;
    }
    Ok(())
}

/// A legend drawn in its own area (beside a plot, so it never hides data): a swatch and a
/// label per entry, from the top.
pub(super) fn side_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, RGBColor)],
) -> ChartResult {
    for (i, (label, color)) in entries.iter().enumerate() {
        let y = 48 + 24 * i as i32;
        area.draw(&Rectangle::new([(6, y - 6), (28, y + 6)], color.filled()))
            .map_err(err)?;
        area.draw(&Text::new(
            label.clone(),
            (36, y - 8),
            ("sans-serif", 15).into_font(),
        ))
        .map_err(err)?;
    }
    Ok(())
}

/// Ticks of a logarithmic axis over `[lo, hi]` (`0 < lo < hi`): 1, 2 and 5 times each power of
/// ten in range, or every digit when that gives fewer than four.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let ticks = |digits: &[f64]| -> Vec<f64> {
        let (first, last) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
        (first..=last)
            .flat_map(|k| digits.iter().map(move |d| d * 10f64.powi(k)))
            .filter(|t| (lo..=hi).contains(t))
            .collect()
    };
    let coarse = ticks(&[1.0, 2.0, 5.0]);
    if coarse.len() >= 4 {
        coarse
    } else {
        ticks(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
    }
}

/// The label of category `y` of an axis of categories at integer positions (`labels[0]` at 0,
/// or at the top when `top_down`), empty between them.
pub(super) fn category(labels: &[String], y: f64, top_down: bool) -> String {
    let i = y.round();
    if (y - i).abs() > 1e-6 || i < 0.0 {
        return String::new();
    }
    let i = i as usize;
    let i = if top_down {
        match labels.len().checked_sub(1 + i) {
            Some(i) => i,
            None => return String::new(),
        }
    } else {
        i
    };
    labels.get(i).cloned().unwrap_or_default()
}

/// The vertical line at x = 0 across categories `-0.5..n-0.5`.
pub(super) fn zero_line<
    DB: DrawingBackend,
    CT: plotters::coord::CoordTranslate<From = (f64, f64)>,
>(
    chart: &mut ChartContext<DB, CT>,
    n: f64,
) -> ChartResult {
    chart
        .draw_series(LineSeries::new(
            [(0.0, -0.5), (0.0, n - 0.5)],
            BLACK.stroke_width(1),
        ))
        .map_err(err)?;
    Ok(())
}

/// A percentage tick label: `12 %`, `2.5 %`, `0.04 %`.
pub(super) fn percent(v: f64) -> String {
    let a = v.abs();
    let s = if a >= 10.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        trim(v)
    } else {
        crate::report::format::trimmed(v, 3)
    };
    format!("{s} %")
}
