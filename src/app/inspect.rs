//! Jobs that read without simulating: `validate` (a scenario's summary, what it changes in its
//! parent, what it will cost), `plot` (redrawing a folder's charts) and `init` (a starter
//! scenario).

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::control::Control;
use super::error::{Error, Result};
use super::system::memory_limit;
use crate::batch::{self, Estimate};
use crate::engine::Keep;
use crate::report;
use crate::scenario::{
    BASELINE_TOML, ChainKind, Scenario, diff_lines, load_merged, name_from_file,
};

/// What `validate` finds in a valid scenario.
#[derive(Debug, Clone)]
pub struct Validation {
    pub file: PathBuf,
    pub scenario: Scenario,
    /// The file it extends, that file's scenario name, and the fields changed against it.
    pub parent: Option<(PathBuf, String)>,
    pub changes: Vec<String>,
    /// Points of its `[sweep]`, if it has one.
    pub sweep_points: Option<usize>,
    pub threads: usize,
    pub estimate: Estimate,
    pub available_memory_bytes: Option<f64>,
    /// The chain constants of the equilibrium start with the scenario's seed (`None`: `off`),
    /// and the solution when they were solved.
    pub constants: Option<(Vec<f64>, Option<crate::engine::Solution>)>,
}

/// Parses and checks a scenario file; every problem at once in the error.
/// What `l2sim validate` prints, and its outcome: the summary, or with `json` the summary or the
/// problems as one pretty JSON document (nothing to print for a plain error: it is the error).
pub fn validation_report(path: &Path, json: bool) -> (Option<String>, Result<()>) {
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    match (validate(path), json) {
        (Ok(v), false) => (Some(v.to_string()), Ok(())),
        (Ok(v), true) => (Some(pretty(&v.to_json())), Ok(())),
        (Err(e), true) => (Some(pretty(&problems_json(path, &e))), Err(e)),
        (Err(e), false) => (None, Err(e)),
    }
}

/// What `l2sim schema` prints: the scenario JSON Schema, or with `markdown` the field reference.
pub fn schema_text(markdown: bool) -> Result<String> {
    let schema = crate::scenario::schema();
    Ok(if markdown {
        crate::scenario::schema_markdown(&schema)
    } else {
        serde_json::to_string_pretty(&schema).map_err(|e| Error::Other(e.into()))? + "\n"
    })
}

/// The text of an output folder's JSON document (`--json`).
pub fn read_document(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| Error::Other(anyhow::anyhow!("reading {}: {e}", path.display())))
}

/// What `l2sim init` says it wrote: the scenario (named `name`) first, then the schema if any.
pub fn init_summary(name: &str, files: &[PathBuf]) -> String {
    let path = files[0].display();
    let mut lines = vec![format!(
        "wrote {path} (the baseline scenario, named {name:?}); edit it, then: l2sim run {path}"
    )];
    for schema in &files[1..] {
        lines.push(format!(
            "wrote {} (the JSON Schema your editor uses to check and complete the scenario)",
            schema.display()
        ));
    }
    lines.join("\n")
}

pub fn validate(path: &Path) -> Result<Validation> {
    let scenario = Scenario::from_file(path)?;
    let (parent, changes) = match load_merged(path)?.parent {
        Some(p) => {
            let base = Scenario::from_file(&p)?;
            let changes = diff_lines(&base.raw, &scenario.raw);
            (Some((p, base.name)), changes)
        }
        None => (None, Vec::new()),
    };
    let sweep_points = scenario
        .raw
        .sweep
        .as_ref()
        .map(|sw| match &scenario.design {
            Some(d) => d.points(),
            None => {
                let zip = sw.zip.first().map_or(1, |a| a.values.len());
                sw.grid.iter().map(|a| a.values.len()).product::<usize>() * zip
            }
        });
    let threads = batch::default_threads();
    let estimate = batch::estimate(&[&scenario], scenario.runs, threads, Keep::Trajectory);
    let mut anchored = scenario.clone();
    let constants = match super::plan::anchor(&mut anchored)? {
        Some(sol) => Some((sol.constants.clone(), Some(sol))),
        None if anchored.equilibrium.start.anchored() => Some((
            anchored.chains.iter().map(|c| c.constant_apy).collect(),
            None,
        )),
        None => None,
    };
    Ok(Validation {
        constants,
        file: path.to_path_buf(),
        scenario,
        parent,
        changes,
        sweep_points,
        threads,
        estimate,
        available_memory_bytes: memory_limit(threads).map(|l| l.bytes),
    })
}

impl Validation {
    /// The summary as `validate --json` prints it.
    pub fn to_json(&self) -> Value {
        let sc = &self.scenario;
        json!({
            "file": self.file.display().to_string(),
            "valid": true,
            "name": sc.name,
            "description": sc.description,
            "extends": self.parent.as_ref().map(|p| p.0.display().to_string()),
            "changes": self.changes,
            "horizon_days": sc.horizon_days,
            "sample_every_days": sc.sample_every_days,
            "runs": sc.runs,
            "seed": sc.seed,
            "chains": sc.chains.iter().map(|c| json!({
                "id": c.id,
                "kind": c.kind.as_str(),
                "launch_day": c.launch_day,
                "initial_tvl_usd": c.initial_tvl_usd,
                "tx_cost_usd": c.tx_cost_usd,
                "withdrawal_delay_days": c.withdrawal_delay_days,
                "organic_yield_apy": c.organic_yield_apy,
            })).collect::<Vec<_>>(),
            "segments": sc.segments.iter().map(|s| json!({
                "name": s.name,
                "agents": s.agents,
                "review_every_days": 1.0 / s.review_rate_per_day,
                "logit_scale": s.logit_scale,
            })).collect::<Vec<_>>(),
            "events": sc.events.len(),
            "equilibrium": self.constants.as_ref().map(|(c, sol)| json!({
                "start": sc.raw.equilibrium.start,
                "constants_apy": sc.chains.iter().zip(c).map(|(ch, v)| (ch.id.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
                "iterations": sol.as_ref().map(|s| s.iterations),
                "residual": sol.as_ref().map(|s| s.residual),
                "population": sol.as_ref().map(|s| s.population),
            })),
            "sweep_points": self.sweep_points,
            "estimate": {
                "decisions_per_run": self.estimate.decisions_per_run,
                "decisions_total": self.estimate.decisions_total,
                "peak_memory_bytes": self.estimate.peak_bytes,
                "threads": self.threads,
                "available_memory_bytes": self.available_memory_bytes,
            },
        })
    }
}

/// `validate --json` of an invalid scenario: every problem with file, line, column and field.
pub fn problems_json(path: &Path, error: &Error) -> Value {
    json!({
        "file": path.display().to_string(),
        "valid": false,
        "problems": error.problems(path),
    })
}

/// The one-screen summary `validate` prints.
impl fmt::Display for Validation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sc = &self.scenario;
        writeln!(f, "{}: valid scenario {:?}", self.file.display(), sc.name)?;
        if let Some((parent, name)) = &self.parent {
            writeln!(
                f,
                "  extends {} ({name:?}), changing {} field(s):",
                parent.display(),
                self.changes.len()
            )?;
            for line in &self.changes {
                writeln!(f, "    {line}")?;
            }
        }
        if !sc.description.is_empty() {
            writeln!(f, "  {}", sc.description.lines().next().unwrap_or(""))?;
        }
        let samples = if sc.raw.sample.as_deref() == Some("month_end") {
            format!("{} samples at month ends", sc.sample_days.len())
        } else {
            format!("sample every {} days", sc.sample_every_days)
        };
        let start = sc
            .calendar
            .map_or(String::new(), |c| format!(" from {}", c.label(0.0)));
        writeln!(
            f,
            "  horizon {} days{start}, {samples}, {} runs, seed {}",
            sc.horizon_days, sc.runs, sc.seed
        )?;
        writeln!(f, "  chains ({}):", sc.chains.len())?;
        writeln!(
            f,
            "    {:<12} {:<11} {:>6} {:>12} {:>9} {:>9} {:>7}",
            "id", "kind", "launch", "tvl_usd", "tx_usd", "delay_d", "yield"
        )?;
        for c in &sc.chains {
            writeln!(
                f,
                "    {:<12} {:<11} {:>6} {:>12.4e} {:>9} {:>9} {:>7}",
                c.id,
                c.kind.as_str(),
                c.launch_day,
                c.initial_tvl_usd,
                c.tx_cost_usd,
                c.withdrawal_delay_days,
                c.organic_yield_apy
            )?;
        }
        let tvl: f64 = sc.chains.iter().map(|c| c.initial_tvl_usd).sum();
        for kind in ChainKind::ALL {
            let k: f64 = sc
                .chains
                .iter()
                .filter(|c| c.kind == kind)
                .map(|c| c.initial_tvl_usd)
                .sum();
            writeln!(
                f,
                "    {:<12} {:>5.1} % of initial TVL",
                kind.as_str(),
                100.0 * k / tvl + 0.0
            )?;
        }
        if let Some(c) = &sc.calibrate {
            let until = sc.calendar.map_or(String::new(), |cal| {
                format!(" ({})", cal.label(c.fit_until))
            });
            writeln!(
                f,
                "  calibrate: {} parameter(s), fit until day {}{until}{}",
                c.parameters.len(),
                c.fit_until,
                c.targets
                    .as_ref()
                    .map_or(String::new(), |t| format!(", targets {t}"))
            )?;
            for p in &c.parameters {
                writeln!(
                    f,
                    "    {:<44} [{}, {}] {}{}",
                    p.field,
                    p.min,
                    p.max,
                    if p.log { "log" } else { "linear" },
                    if p.also.is_empty() {
                        String::new()
                    } else {
                        format!(", also {}", p.also.join(", "))
                    }
                )?;
            }
        }
        writeln!(f, "  segments ({}):", sc.segments.len())?;
        for s in &sc.segments {
            writeln!(
                f,
                "    {:<14} {:>9} agents, review every {:.1} days, logit scale {}",
                s.name,
                s.agents,
                1.0 / s.review_rate_per_day,
                s.logit_scale
            )?;
        }
        writeln!(f, "  events: {}", sc.events.len())?;
        if let Some((constants, sol)) = &self.constants {
            let how = match sol {
                Some(s) => format!(
                    "solved on {} agents in {} Newton iterations, residual {:.1e}",
                    s.population, s.iterations, s.residual
                ),
                None => "as given".into(),
            };
            writeln!(
                f,
                "  equilibrium start ({}): chain constants, fraction/yr ({how}):",
                sc.raw.equilibrium.start
            )?;
            for (c, v) in sc.chains.iter().zip(constants) {
                writeln!(f, "    {:<14} {v:+.5}", c.id)?;
            }
        }
        if let (Some(points), Some(d)) = (self.sweep_points, &sc.design) {
            let fields: Vec<&str> = d.parameters.iter().map(|p| p.field.as_str()).collect();
            writeln!(
                f,
                "  sweep: a {} design of {} base samples, {points} points over {} (design seed {}; check every point with `l2sim sweep`, analyse with `l2sim sensitivity` or `l2sim discover`)",
                d.method.name(),
                d.samples,
                fields.join(", "),
                d.seed
            )?;
        } else if let (Some(points), Some(sweep)) = (self.sweep_points, &sc.raw.sweep) {
            let fields: Vec<&str> = sweep
                .grid
                .iter()
                .chain(&sweep.zip)
                .map(|a| a.field.as_str())
                .collect();
            writeln!(
                f,
                "  sweep: {points} points over {} (check every point with `l2sim sweep`)",
                fields.join(", ")
            )?;
        }
        let est = &self.estimate;
        write!(
            f,
            "  estimate: {:.3e} reviews per run, {:.3e} for all {} runs; peak memory about {:.0} MB on {} threads{}",
            est.decisions_per_run,
            est.decisions_total,
            sc.runs,
            est.peak_bytes / 1e6,
            self.threads,
            self.available_memory_bytes
                .map_or(String::new(), |a| format!(" ({:.1} GB available)", a / 1e9)),
        )
    }
}

/// Writes a starter scenario (the baseline, named after the file) at `path`, and the JSON Schema
/// its first line points at beside it unless one is there; never replaces a file. Returns the
/// scenario's name and the files written.
pub fn init(path: &Path) -> Result<(String, Vec<PathBuf>)> {
    if path.exists() {
        return Err(Error::input(
            Some(path),
            format!(
                "{}: already exists; l2sim init never overwrites a file",
                path.display()
            ),
        ));
    }
    let stem = name_from_file(path);
    let text = BASELINE_TOML.replacen("name = \"baseline\"", &format!("name = \"{stem}\""), 1);
    report::create_new_file(path, &text).map_err(|e| Error::input(Some(path), format!("{e:#}")))?;
    let mut written = vec![path.to_path_buf()];
    let schema = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join("l2sim.schema.json");
    if !schema.exists() {
        let text = serde_json::to_string_pretty(&crate::scenario::schema())
            .map_err(|e| Error::Other(e.into()))?
            + "\n";
        report::create_new_file(&schema, &text)?;
        written.push(schema);
    }
    Ok((stem, written))
}

/// Redraws every chart and `report.html` of an output folder of `run`, `compare` or `sweep` from
/// its files; returns the folders redrawn.
pub fn plot(dest: &Path, metrics: &[String], ctl: &Control) -> Result<Vec<PathBuf>> {
    if !dest.is_dir() {
        return Err(Error::input(
            Some(dest),
            format!("{}: not an output folder of l2sim", dest.display()),
        ));
    }
    // Redrawn in a staged copy of the folder (data linked, charts copied) that replaces it only
    // when every chart is drawn: a failure or a signal leaves the charts as they were.
    let staging = super::stage_redraw(dest, ctl)?;
    let dir = staging.path().to_path_buf();
    let drawn = redraw_folder(&dir, metrics).map_err(|e| in_place_of(e, &dir, dest))?;
    super::commit(staging, ctl, None)?;
    Ok(drawn
        .into_iter()
        .map(|d| match d.strip_prefix(&dir) {
            Ok(rel) if rel.as_os_str().is_empty() => dest.to_path_buf(),
            Ok(rel) => dest.join(rel),
            Err(_) => d,
        })
        .collect())
}

/// `e` with the staged copy `staged` named as the folder `dest` it copies: what the user gave.
fn in_place_of(e: Error, staged: &Path, dest: &Path) -> Error {
    let (from, to) = (staged.display().to_string(), dest.display().to_string());
    let fix = |text: String| text.replace(&from, &to);
    match e {
        Error::Input { path, message } => Error::Input {
            path: path.map(|p| PathBuf::from(fix(p.display().to_string()))),
            message: fix(message),
        },
        Error::Scenario(s) => Error::input(Some(dest), fix(s.to_string())),
        Error::Other(a) => Error::Other(anyhow::anyhow!(fix(format!("{a:#}")))),
        other => other,
    }
}

/// Redraws the charts and pages of the result folder `dir` in place; the folders redrawn.
fn redraw_folder(dir: &Path, metrics: &[String]) -> Result<Vec<PathBuf>> {
    let mut drawn = Vec::new();
    if !metrics.is_empty() && !dir.join("sweep.json").is_file() {
        return Err(Error::input(
            Some(dir),
            format!(
                "{}: --metric applies to the folder of a `sweep` (it draws one chart per metric)",
                dir.display()
            ),
        ));
    }
    if dir.join("calibrate.json").is_file() {
        report::calibrate::redraw_calibration(dir)?;
    } else if dir.join("sweep.json").is_file() {
        report::draw_sweep_charts_from_files(dir, metrics)?;
        report::html::write_sweep_html(dir)?;
    } else if dir.join("compare.csv").is_file() {
        let mut run_dirs: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Error::Other(anyhow::anyhow!("reading {}: {e}", dir.display())))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join("quantiles.csv").is_file())
            .collect();
        run_dirs.sort();
        for d in &run_dirs {
            redraw_run(d)?;
            drawn.push(d.clone());
        }
        report::draw_compare_charts_from_files(dir, &run_dirs)?;
        let rows = report::compare::read_compare_csv(&dir.join("compare.csv"))?;
        report::html::write_compare_html(dir, &run_dirs, &rows)?;
    } else if dir.join("quantiles.csv").is_file() {
        redraw_run(dir)?;
    } else {
        return Err(Error::input(
            Some(dir),
            format!(
                "{}: no quantiles.csv, compare.csv, sweep.json or calibrate.json here: not an output folder of `l2sim run`, `compare`, `sweep` or `calibrate`",
                dir.display()
            ),
        ));
    }
    drawn.push(dir.to_path_buf());
    Ok(drawn)
}

fn redraw_run(dir: &Path) -> Result<()> {
    let scenario = Scenario::from_file(&dir.join("scenario.resolved.toml"))?;
    let rows = report::read_quantiles(&dir.join("quantiles.csv"))?;
    report::draw_charts_from_files(dir, &scenario, &rows)?;
    Ok(report::html::write_run_html(dir)?)
}
