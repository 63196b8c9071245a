//! The files of a `calibrate` folder: `calibrate.json`, `trace.csv`, `calibrated.toml`, the copy
//! of the targets, the best candidate's `quantiles.csv`, `fit.png` / `fit.svg` and `report.html`;
//! and the `fit.json` that `run` writes for a scenario that names its targets.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::charts::draw_fit_chart;
use super::html::escape;
use super::tables::{QuantileRow, num, write_quantiles};
use crate::batch::fit::{Residual, Score};
use crate::scenario::input;

/// A likelihood-ratio interval of one parameter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub lo: f64,
    pub hi: f64,
    pub level: f64,
    /// The loss never rose above the threshold before the box's bound: the interval is cut there.
    pub lo_at_bound: bool,
    pub hi_at_bound: bool,
}

impl Interval {
    /// `lo .. hi` with `digits` decimals, and `(cut at a bound)` when the loss stayed under the
    /// threshold up to a bound of the box; for no interval, why there is none.
    pub fn describe(interval: Option<&Interval>, digits: usize) -> String {
        match interval {
            None => "not computed (the search was interrupted before the profile)".into(),
            Some(i) => format!(
                "{:.digits$} .. {:.digits$}{}",
                i.lo,
                i.hi,
                if i.lo_at_bound || i.hi_at_bound {
                    " (cut at a bound)"
                } else {
                    ""
                }
            ),
        }
    }
}

/// The profile of the loss along one parameter through the best point, and its interval.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    /// `(value, in-sample loss)`, by value.
    pub points: Vec<(f64, f64)>,
    /// `None` when the profile was not computed (an interrupted search).
    pub interval: Option<Interval>,
}

/// One fitted parameter in `calibrate.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParameterReport {
    pub field: String,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub also: Vec<String>,
    pub min: f64,
    pub max: f64,
    pub scale: String,
    pub best: f64,
    /// `null` when the search was interrupted before the profile.
    pub interval: Option<Interval>,
    /// `[value, loss]` pairs.
    pub profile: Vec<(f64, f64)>,
}

/// `calibrate.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationReport {
    pub scenario: String,
    pub scenario_file: String,
    pub targets_file: String,
    /// Field path → fitted value.
    pub best: serde_json::Map<String, serde_json::Value>,
    pub loss_in_sample: f64,
    pub loss_out_of_sample: f64,
    pub in_sample_targets: usize,
    pub out_of_sample_targets: usize,
    pub fit_until_day: f64,
    pub fit_until_date: Option<String>,
    pub parameters: Vec<ParameterReport>,
    /// Evaluations of the search (start points and Nelder–Mead), what the budget counts.
    pub evaluations: u64,
    pub profile_evaluations: u64,
    pub budget: u64,
    pub runs: u64,
    pub seed: u64,
    /// `budget`, `converged` or `interrupted`.
    pub stopped: String,
    pub optimiser: String,
    pub loss: String,
    pub residuals: Vec<Residual>,
}

/// One row of `trace.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceRow {
    pub evaluation: u64,
    /// `start`, `search` or `profile`.
    pub phase: String,
    /// Position in the unit box.
    pub position: Vec<f64>,
    /// Parameter values.
    pub values: Vec<f64>,
    pub loss_in_sample: f64,
    pub loss_out_of_sample: f64,
    /// Why a candidate could not be simulated.
    pub note: String,
}

fn write_trace(path: &Path, fields: &[String], trace: &[TraceRow]) -> Result<()> {
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
    let mut header = vec!["evaluation".to_string(), "phase".into()];
    header.extend(fields.iter().cloned());
    header.extend([
        "loss_in_sample".into(),
        "loss_out_of_sample".into(),
        "note".into(),
    ]);
    w.write_record(&header)?;
    for r in trace {
        let mut rec = vec![r.evaluation.to_string(), r.phase.clone()];
        rec.extend(r.values.iter().map(|&v| num(v)));
        rec.extend([
            num(r.loss_in_sample),
            num(r.loss_out_of_sample),
            r.note.clone(),
        ]);
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}

/// `residuals.csv`: one row per target.
fn write_residuals(path: &Path, residuals: &[Residual]) -> Result<()> {
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
    w.write_record([
        "day",
        "date",
        "metric",
        "chain",
        "observed",
        "weight",
        "held_out",
        "median",
        "p05",
        "p95",
        "residual",
        "standardized",
        "contribution",
    ])?;
    for r in residuals {
        let t = &r.target;
        w.write_record([
            num(t.day),
            t.date.clone().unwrap_or_default(),
            t.metric.clone(),
            t.chain.clone(),
            num(t.value),
            num(t.weight),
            t.held_out.to_string(),
            num(r.median),
            num(r.p05),
            num(r.p95),
            num(r.residual),
            num(r.standardized),
            num(r.contribution),
        ])?;
    }
    w.flush()?;
    Ok(())
}

fn json(path: &Path, value: &impl Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value)? + "\n";
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Writes every file of a calibration into `dir` (a staging folder).
#[allow(clippy::too_many_arguments)]
pub fn write_calibration(
    dir: &Path,
    report: &CalibrationReport,
    trace: &[TraceRow],
    calibrated_toml: &str,
    targets_csv: &str,
    rows: &[QuantileRow],
    plots: bool,
) -> Result<()> {
    json(&dir.join("calibrate.json"), report)?;
    let fields: Vec<String> = report.parameters.iter().map(|p| p.field.clone()).collect();
    write_trace(&dir.join("trace.csv"), &fields, trace)?;
    write_residuals(&dir.join("residuals.csv"), &report.residuals)?;
    std::fs::write(dir.join("calibrated.toml"), calibrated_toml)
        .with_context(|| format!("writing {}", dir.join("calibrated.toml").display()))?;
    std::fs::write(dir.join("targets.csv"), targets_csv)
        .with_context(|| format!("writing {}", dir.join("targets.csv").display()))?;
    write_quantiles(&dir.join("quantiles.csv"), rows)?;
    if plots {
        draw_fit_chart(
            dir,
            &fit_title(report),
            rows,
            &report.residuals,
            report.fit_until_day,
        )?;
    }
    write_calibration_html(dir, report, plots)
}

fn write_calibration_html(dir: &Path, r: &CalibrationReport, plots: bool) -> Result<()> {
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>Calibration of {}</h1>\n<p>{} evaluations of {} runs each (seed {}), stopped: {}. Fitted to {} targets up to day {}{}; {} held out.</p>\n",
        escape(&r.scenario),
        r.evaluations,
        r.runs,
        r.seed,
        escape(&r.stopped),
        r.in_sample_targets,
        r.fit_until_day,
        r.fit_until_date
            .as_ref()
            .map_or(String::new(), |d| format!(" ({d})")),
        r.out_of_sample_targets
    );
    let _ = write!(
        b,
        "<p>Loss in sample <b>{}</b>, held out <b>{}</b>.</p>\n<h2>Parameters</h2>\n<table><tr><th>field</th><th>best</th><th>95 % interval</th><th>bounds</th><th>scale</th></tr>\n",
        r.loss_in_sample, r.loss_out_of_sample
    );
    for p in &r.parameters {
        let _ = writeln!(
            b,
            "<tr><td><code>{}</code></td><td>{:.6}</td><td>{}</td><td>[{}, {}]</td><td>{}</td></tr>",
            escape(&p.field),
            p.best,
            Interval::describe(p.interval.as_ref(), 4),
            p.min,
            p.max,
            escape(&p.scale)
        );
    }
    b.push_str("</table>\n<p class=\"note\">Intervals: where the profile of the loss through the best point (other parameters held there) stays within 3.84 of its minimum, the 95 % χ²(1) likelihood-ratio threshold. Targets are treated as independent; with autocorrelated monthly residuals the intervals are too narrow.</p>\n");
    if plots && let Ok(svg) = std::fs::read_to_string(dir.join("fit.svg")) {
        let svg = svg.find("<svg").map_or(svg.as_str(), |i| &svg[i..]);
        let _ = write!(b, "<h2>Fit</h2>\n<figure>{svg}</figure>\n");
    }
    b.push_str("<h2>Targets</h2>\n<table><tr><th>date / day</th><th>metric</th><th>chain</th><th>observed</th><th>median</th><th>p05</th><th>p95</th><th>std. residual</th><th>loss term</th></tr>\n");
    for x in &r.residuals {
        let t = &x.target;
        let _ = writeln!(
            b,
            "<tr><td>{}{}</td><td>{}</td><td>{}</td><td>{:.4e}</td><td>{:.4e}</td><td>{:.4e}</td><td>{:.4e}</td><td>{:.3}</td><td>{:.3}</td></tr>",
            t.date.clone().unwrap_or_else(|| num(t.day)),
            if t.held_out { " (held out)" } else { "" },
            escape(&t.metric),
            escape(&t.chain),
            t.value,
            x.median,
            x.p05,
            x.p95,
            x.standardized,
            x.contribution
        );
    }
    b.push_str("</table>\n");
    let _ = write!(
        b,
        "<h2>Method</h2>\n<p>{}</p>\n<p>{}</p>\n",
        escape(&r.optimiser),
        escape(&r.loss)
    );
    let path = dir.join("report.html");
    std::fs::write(
        &path,
        super::html::page(&format!("{} calibration", r.scenario), &b),
    )
    .with_context(|| format!("writing {}", path.display()))
}

/// Redraws `fit.png` / `fit.svg` and `report.html` of a calibrate folder from its own files
/// (`calibrate.json`, `quantiles.csv`), for `l2sim plot`.
pub fn redraw_calibration(dir: &Path) -> Result<()> {
    let path = dir.join("calibrate.json");
    let text = input::read_text(&path, input::MAX_TOML_BYTES)
        .with_context(|| format!("reading {}", path.display()))?;
    let report: CalibrationReport =
        serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
    let rows = super::tables::read_quantiles(&dir.join("quantiles.csv"))?;
    draw_fit_chart(
        dir,
        &fit_title(&report),
        &rows,
        &report.residuals,
        report.fit_until_day,
    )?;
    write_calibration_html(dir, &report, true)
}

fn fit_title(report: &CalibrationReport) -> String {
    format!(
        "{}: calibrated fit ({} runs), median and p05–p95; held-out period shaded",
        report.scenario, report.runs
    )
}

/// `fit.json` of a run whose scenario names its targets: the loss as `calibrate` computes it.
pub fn write_fit_json(dir: &Path, targets_file: &str, score: &Score) -> Result<()> {
    #[derive(Serialize)]
    struct Fit<'a> {
        targets_file: &'a str,
        loss_in_sample: f64,
        loss_out_of_sample: f64,
        in_sample_targets: usize,
        out_of_sample_targets: usize,
        runs: usize,
        residuals: &'a [Residual],
    }
    json(
        &dir.join("fit.json"),
        &Fit {
            targets_file,
            loss_in_sample: score.in_sample,
            loss_out_of_sample: score.out_of_sample,
            in_sample_targets: score.in_sample_targets,
            out_of_sample_targets: score.out_of_sample_targets,
            runs: score.runs,
            residuals: &score.residuals,
        },
    )
}
