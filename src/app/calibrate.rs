//! `calibrate`: fits the `[calibrate]` parameters of a scenario to observed targets through the
//! simulator (docs/MODEL.md, section 11).
//!
//! Every candidate is the scenario with the parameters set, run `R` times with the same master
//! seed (common random numbers: run `r` of every candidate draws the same streams), and scored by
//! [`crate::batch::fit::score`]. The search works on the unit box (each parameter mapped linearly
//! or logarithmically onto `[0, 1]`): a Latin hypercube of start points, evaluated together in one
//! parallel batch, then argmin's Nelder–Mead from the best of them, until the evaluation budget is
//! spent or the simplex has converged. A profile of the loss through the best point along every
//! parameter gives likelihood-ratio intervals. The best candidate is finally rerun with its
//! trajectories for the fit chart; its loss must equal the one found in the search.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use argmin::core::{CostFunction, Executor, State};
use argmin::solver::neldermead::NelderMead;
use rand::RngExt;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::control::Control;
use super::error::{Error, Result};
use super::plan::anchor;
use crate::batch::fit::{Collected, Score, Targets, score};
use crate::batch::{self, BatchConfig, BatchResult, Interrupted, Sink, SinkError};
use crate::engine::{Keep, Layout, RunOutput};
use crate::report::calibrate::{
    CalibrationReport, Interval, ParameterReport, Profile, TraceRow, write_calibration,
};
use crate::report::quantile_rows;
use crate::scenario::{Scenario, Space, Start};

/// Default runs per candidate.
pub const DEFAULT_RUNS: u64 = 20;
/// Default evaluation budget of the search.
pub const DEFAULT_BUDGET: u64 = 200;
/// Most evaluations a search may be given.
pub const MAX_BUDGET: u64 = 1_000_000;
/// Points of the loss profile along each parameter (besides the best point).
pub const PROFILE_POINTS: usize = 9;
/// The likelihood-ratio threshold of a 95 % interval: the 0.95 quantile of χ² with one degree of
/// freedom (Wilks' theorem), since the loss is minus twice a log-likelihood.
pub const CHI2_1_95: f64 = 3.841_458_820_694_124;
/// Start points evaluated together (one parallel batch of `START_CHUNK × runs` runs).
pub const START_CHUNK: usize = 16;
/// Edge of the initial Nelder–Mead simplex, as a share of each parameter's box.
pub const INITIAL_STEP: f64 = 0.15;
/// Nelder–Mead stops when the standard deviation of the simplex's losses falls below this.
pub const SD_TOLERANCE: f64 = 1e-6;
/// Penalty per unit of squared distance outside the box (the point itself is evaluated at its
/// projection onto the box).
pub const BOX_PENALTY: f64 = 1e3;

/// The options of a calibration (the command line's flags map onto them one to one).
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrateOptions {
    /// The observed targets; `[calibrate] targets` when `None`.
    pub targets: Option<PathBuf>,
    /// Runs per candidate; [`DEFAULT_RUNS`] when `None`.
    pub runs: Option<u64>,
    /// Master seed shared by every candidate; the scenario's `seed` when `None`.
    pub seed: Option<u64>,
    /// Evaluations of the search; [`DEFAULT_BUDGET`] when `None`.
    pub budget: Option<u64>,
    pub threads: Option<usize>,
    /// Draw `fit.png` / `fit.svg`.
    pub plots: bool,
}

impl Default for CalibrateOptions {
    fn default() -> Self {
        CalibrateOptions {
            targets: None,
            runs: None,
            seed: None,
            budget: None,
            threads: None,
            plots: true,
        }
    }
}

/// A calibration ready to run: the parameter space, the targets matched to it, and the settings.
pub struct Calibration {
    pub space: Space,
    pub targets: Targets,
    pub targets_path: PathBuf,
    pub runs: u64,
    pub seed: u64,
    pub budget: u64,
    pub threads: Option<usize>,
    pub plots: bool,
}

/// What a calibration found.
pub struct Calibrated {
    pub report: CalibrationReport,
    /// The best candidate, anchored, with the batch's runs and seed.
    pub best: Scenario,
    pub score: Score,
    /// Statistics of the best candidate's rerun (quantiles for the fit chart).
    pub result: BatchResult,
    pub trace: Vec<TraceRow>,
}

impl Calibrated {
    /// The lines `calibrate` prints: the fitted values with their intervals and the losses.
    pub fn summary(&self, dir: &Path) -> String {
        let r = &self.report;
        let mut out = format!(
            "calibrated {:?}: {} evaluations × {} runs (seed {}), stopped: {}\n",
            r.scenario, r.evaluations, r.runs, r.seed, r.stopped
        );
        for p in &r.parameters {
            out.push_str(&format!(
                "  {:<44} {:>12.6}   95 % interval {}\n",
                p.field,
                p.best,
                Interval::describe(p.interval.as_ref(), 6)
            ));
        }
        out.push_str(&format!(
            "  loss in sample {} ({} targets), held out {} ({} targets)\n",
            r.loss_in_sample, r.in_sample_targets, r.loss_out_of_sample, r.out_of_sample_targets
        ));
        out.push_str(&format!(
            "wrote {} (calibrate.json, trace.csv, calibrated.toml, fit.png, report.html); rerun the fit with: l2sim run {}",
            dir.display(),
            dir.join("calibrated.toml").display()
        ));
        out
    }
}

impl Calibration {
    /// Reads a scenario with `[calibrate]`, checks its parameters against the fields and the
    /// targets against the scenario, and applies the options.
    pub fn new(path: &Path, options: CalibrateOptions) -> Result<Calibration> {
        let space = Space::from_file(path)?;
        let targets_path = match (&options.targets, &space.targets) {
            (Some(t), _) => t.clone(),
            (None, Some(t)) => t.clone(),
            (None, None) => {
                return Err(Error::Option {
                    option: "targets",
                    value: "(none)".into(),
                    allowed: "a targets CSV file (or `targets` in [calibrate])".into(),
                });
            }
        };
        let targets = Targets::for_scenario(&space.base, &targets_path)?;
        if targets.rows.iter().all(|t| t.held_out) {
            let fit_until = space.calibrate.fit_until;
            return Err(Error::input(
                Some(&targets_path),
                format!(
                    "{}: no target on or before fit_until (day {fit_until}{}): every target is held out, nothing to fit",
                    targets_path.display(),
                    space
                        .base
                        .calendar
                        .map_or(String::new(), |c| format!(", {}", c.label(fit_until)))
                ),
            ));
        }
        let runs = options.runs.unwrap_or(DEFAULT_RUNS);
        if !(1..=super::MAX_RUNS).contains(&runs) {
            return Err(Error::Option {
                option: "runs",
                value: runs.to_string(),
                allowed: format!("in [1, {}]", super::MAX_RUNS),
            });
        }
        let budget = options.budget.unwrap_or(DEFAULT_BUDGET);
        let d = space.calibrate.parameters.len() as u64;
        if !(d + 1..=MAX_BUDGET).contains(&budget) {
            return Err(Error::Option {
                option: "budget",
                value: budget.to_string(),
                allowed: format!(
                    "in [{}, {MAX_BUDGET}] (at least one more than the parameters)",
                    d + 1
                ),
            });
        }
        if let Some(t) = options.threads
            && !(1..=super::MAX_THREADS).contains(&t)
        {
            return Err(Error::Option {
                option: "threads",
                value: t.to_string(),
                allowed: format!("in [1, {}]", super::MAX_THREADS),
            });
        }
        let seed = options.seed.unwrap_or(space.base.seed);
        Ok(Calibration {
            space,
            targets,
            targets_path,
            runs,
            seed,
            budget,
            threads: options.threads,
            plots: options.plots,
        })
    }

    /// Start points of the search: a Latin hypercube, a fifth of the budget (at least one more
    /// than the parameters, at most the budget less a simplex).
    pub fn start_points(&self) -> usize {
        let d = self.space.calibrate.parameters.len() as u64;
        let n = (self.budget / 5).max(d + 1);
        n.min(self.budget.saturating_sub(d).max(1)) as usize
    }

    /// The default output folder: `outputs/<name>_calibrate/`.
    pub fn default_out(&self) -> PathBuf {
        Path::new("outputs").join(format!("{}_calibrate", self.space.base.name))
    }

    /// Runs the calibration and writes its folder; Ctrl-C (the cancel flag) ends the search and
    /// keeps the best candidate found so far.
    pub fn write(&self, out: &Path, ctl: &Control) -> Result<(PathBuf, Calibrated)> {
        // The first Ctrl-C ends the search and keeps the best candidate: from here on only a
        // second one (the command line's handler) stops the writing.
        let writing = Control {
            progress: ctl.progress,
            cancel: None,
        };
        let staging = super::stage(out, &writing)?;
        let found = self.execute(ctl)?;
        let extends = extends_path(&self.space.path, out);
        let text = self.calibrated_toml(&found, &extends);
        let dir = staging.path().to_path_buf();
        let rows = quantile_rows(&found.result);
        write_calibration(
            &dir,
            &found.report,
            &found.trace,
            &text,
            &self.targets.text,
            &rows,
            self.plots,
        )
        .map_err(Error::Other)?;
        let dir = super::commit(staging, &writing, None)?;
        Ok((dir, found))
    }

    /// `calibrated.toml`: extends the input with the fitted fields, the runs and seed of the fit
    /// and a copy of the targets, so that `l2sim run` on it reports the same loss.
    fn calibrated_toml(&self, found: &Calibrated, extends: &str) -> String {
        let mut t = toml::Table::new();
        t.insert("extends".into(), toml::Value::String(extends.to_string()));
        t.insert(
            "name".into(),
            toml::Value::String(format!("{}_calibrated", self.space.base.name)),
        );
        t.insert("runs".into(), toml::Value::Integer(self.runs as i64));
        t.insert("seed".into(), toml::Value::Integer(self.seed as i64));
        let mut cal = toml::Table::new();
        cal.insert("targets".into(), toml::Value::String("targets.csv".into()));
        t.insert("calibrate".into(), toml::Value::Table(cal));
        let best: Vec<f64> = found.report.parameters.iter().map(|p| p.best).collect();
        let overlay = self.space.overlay(&best);
        for (k, v) in overlay {
            match (t.get_mut(&k), v) {
                (Some(toml::Value::Table(a)), toml::Value::Table(b)) => a.extend(b),
                (_, v) => {
                    t.insert(k, v);
                }
            }
        }
        if self.space.base.equilibrium.start == Start::Parent {
            // The constants of the candidates came from the input's parent: record them.
            let list = t
                .entry("chains")
                .or_insert_with(|| toml::Value::Array(Vec::new()))
                .as_array_mut()
                .expect("an array");
            for c in &found.best.chains {
                let pos = list
                    .iter()
                    .position(|e| e.get("id").and_then(toml::Value::as_str) == Some(&c.id))
                    .unwrap_or_else(|| {
                        let mut e = toml::Table::new();
                        e.insert("id".into(), toml::Value::String(c.id.clone()));
                        list.push(toml::Value::Table(e));
                        list.len() - 1
                    });
                if let Some(e) = list[pos].as_table_mut() {
                    e.insert("constant_apy".into(), toml::Value::Float(c.constant_apy));
                }
            }
            let mut eq = toml::Table::new();
            eq.insert("start".into(), toml::Value::String("given".into()));
            t.insert("equilibrium".into(), toml::Value::Table(eq));
        }
        let r = &found.report;
        let mut head = format!(
            "# Written by `l2sim calibrate` ({} evaluations, {} runs each, seed {}).\n\
             # Fitted to {} on days <= {} ; loss in sample {}, held out {}.\n",
            r.evaluations,
            self.runs,
            self.seed,
            r.targets_file,
            r.fit_until_day,
            r.loss_in_sample,
            r.loss_out_of_sample
        );
        for p in &r.parameters {
            head.push_str(&format!(
                "#   {} = {} (95 % profile interval {})\n",
                p.field,
                p.best,
                Interval::describe(p.interval.as_ref(), 6)
            ));
        }
        head.push_str("# `l2sim run` on this file reruns the fit and reports the same loss.\n");
        format!("{head}{}", toml::to_string(&t).unwrap_or_default())
    }

    /// Runs the calibration in memory.
    pub fn execute(&self, ctl: &Control) -> Result<Calibrated> {
        let params = &self.space.calibrate.parameters;
        let d = params.len();
        let eval = Evaluator {
            cal: self,
            ctl,
            trace: RefCell::new(Vec::new()),
            best: RefCell::new(None),
            searched: RefCell::new(0),
        };
        ctl.info(format!(
            "calibrating {} parameter(s) of {:?} against {} targets ({} in sample): budget {} evaluations × {} runs, seed {}",
            d,
            self.space.base.name,
            self.targets.rows.len(),
            self.targets.rows.iter().filter(|t| !t.held_out).count(),
            self.budget,
            self.runs,
            self.seed
        ));
        ctl.progress.evaluations_started(self.budget);
        let mut stopped = "budget";
        // 1. A Latin hypercube of start points, evaluated together.
        // In chunks, so that Ctrl-C keeps what is done and memory stays bounded.
        let mut starts = latin_hypercube(self.start_points(), d, self.seed);
        if self.space.calibrate.start_from_scenario {
            // The file's own values first (a warm start); a parameter it does not set starts mid-box.
            let own: Vec<f64> = params
                .iter()
                .zip(self.space.current_values())
                .map(|(p, v)| v.map_or(0.5, |v| p.position(v)))
                .collect();
            starts.insert(0, own);
        }
        let mut interrupted = false;
        for chunk in starts.chunks(START_CHUNK) {
            match eval.evaluate(chunk, Phase::Start) {
                Ok(_) => {}
                Err(Stop::Interrupted) => {
                    interrupted = true;
                    break;
                }
                Err(Stop::Budget) => break,
                Err(Stop::Failed(e)) => return Err(e),
            }
        }
        // 2. Nelder–Mead from the best start point.
        if !interrupted && *eval.searched.borrow() < self.budget {
            let x0 = eval.best_point().unwrap_or_else(|| vec![0.5; d]);
            let mut simplex = vec![x0.clone()];
            for j in 0..d {
                let mut v = x0.clone();
                v[j] = if v[j] + INITIAL_STEP <= 1.0 {
                    v[j] + INITIAL_STEP
                } else {
                    v[j] - INITIAL_STEP
                };
                simplex.push(v);
            }
            // The simplex is evaluated together; Nelder–Mead then finds its losses cached.
            match eval.evaluate(&simplex, Phase::Search) {
                Err(Stop::Interrupted) => interrupted = true,
                Err(Stop::Failed(e)) => return Err(e),
                Err(Stop::Budget) => {}
                Ok(_) => {
                    let solver = NelderMead::new(simplex)
                        .with_sd_tolerance(SD_TOLERANCE)
                        .map_err(|e| Error::Other(anyhow::anyhow!("{e}")))?;
                    let problem = Objective { eval: &eval };
                    match Executor::new(problem, solver)
                        .configure(|s| s.max_iters(u64::MAX))
                        .run()
                    {
                        Ok(res) => {
                            if res.state().get_termination_status().terminated() {
                                stopped = "converged";
                            }
                        }
                        Err(e) => match e.downcast_ref::<Stop>() {
                            Some(Stop::Interrupted) => interrupted = true,
                            Some(Stop::Budget) => {}
                            Some(Stop::Failed(_)) | None => {
                                return Err(Error::Other(anyhow::anyhow!("{e}")));
                            }
                        },
                    }
                }
            }
        }
        if interrupted {
            stopped = "interrupted";
        }
        let Some(best_u) = eval.best_point() else {
            ctl.progress.evaluations_finished();
            return Err(if interrupted {
                Error::Interrupted
            } else {
                Error::input(
                    Some(&self.space.path),
                    "no candidate could be simulated: every one was infeasible (see the equilibrium start and the bounds)",
                )
            });
        };
        // 3. The profile of the loss along each parameter, through the best point.
        let mut profiles: Vec<Profile> = vec![Profile::default(); d];
        if !interrupted {
            let mut points = Vec::new();
            for j in 0..d {
                for k in 0..PROFILE_POINTS {
                    let mut u = best_u.clone();
                    u[j] = k as f64 / (PROFILE_POINTS - 1) as f64;
                    points.push(u);
                }
            }
            match eval.evaluate(&points, Phase::Profile) {
                Err(Stop::Interrupted) => {
                    interrupted = true;
                    stopped = "interrupted";
                }
                Err(Stop::Failed(e)) => return Err(e),
                _ => {}
            }
        }
        ctl.progress.evaluations_finished();
        // The profiles run through the search's best point; the best reported is the best of
        // everything evaluated (a profile point may improve on the search).
        let center = best_u;
        let best_u = eval.best_point().unwrap_or_else(|| center.clone());
        let best_loss = eval.loss_at(&best_u).unwrap_or(f64::INFINITY);
        if !interrupted {
            let trace = eval.trace.borrow();
            for (j, prof) in profiles.iter_mut().enumerate() {
                let mut pts: Vec<(f64, f64)> = trace
                    .iter()
                    .filter(|r| {
                        r.position
                            .iter()
                            .enumerate()
                            .all(|(i, &x)| i == j || x == center[i])
                    })
                    .map(|r| (r.position[j], r.loss_in_sample))
                    .collect();
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                pts.dedup_by(|a, b| a.0 == b.0);
                prof.points = pts.iter().map(|&(u, l)| (params[j].at(u), l)).collect();
                let Some(&(at, min)) = pts.iter().min_by(|a, b| a.1.total_cmp(&b.1)) else {
                    continue;
                };
                let (lo, hi) = interval(&pts, at, min + CHI2_1_95);
                prof.interval = Some(Interval {
                    lo: params[j].at(lo),
                    hi: params[j].at(hi),
                    level: 0.95,
                    lo_at_bound: lo <= 0.0,
                    hi_at_bound: hi >= 1.0,
                });
            }
        }
        // 4. The best candidate again, with its trajectories.
        let values: Vec<f64> = params.iter().zip(&best_u).map(|(p, &u)| p.at(u)).collect();
        let mut best = self.space.scenario(&values)?;
        best.runs = self.runs;
        best.seed = self.seed;
        anchor(&mut best)?;
        let mut collected = Collected::new(&self.targets);
        let layout = Layout::new(&best);
        let cfg = BatchConfig {
            runs: self.runs,
            blocks: None,
            seed: self.seed,
            threads: self.threads,
            keep: Keep::Trajectory,
            cancel: None,
        };
        let targets = &self.targets;
        let result = batch::run_batch(&best, &cfg, &|_| {}, &mut |out: &RunOutput| {
            collected.push(targets, &layout, out);
            Ok(())
        })
        .map_err(Error::from)?;
        let sc = score(&self.targets, &collected);
        if sc.in_sample.to_bits() != best_loss.to_bits() && best_loss.is_finite() {
            return Err(Error::Other(anyhow::anyhow!(
                "the best candidate's rerun scored {} but the search found {best_loss}: common random numbers are broken (a bug)",
                sc.in_sample
            )));
        }
        let trace = eval.trace.into_inner();
        let evaluations = trace.iter().filter(|r| r.phase != "profile").count() as u64;
        let report = CalibrationReport {
            scenario: self.space.base.name.clone(),
            scenario_file: self.space.path.display().to_string(),
            targets_file: self.targets_path.display().to_string(),
            best: params
                .iter()
                .zip(&values)
                .map(|(p, &v)| (p.field.clone(), serde_json::Value::from(v)))
                .collect(),
            loss_in_sample: sc.in_sample,
            loss_out_of_sample: sc.out_of_sample,
            in_sample_targets: sc.in_sample_targets,
            out_of_sample_targets: sc.out_of_sample_targets,
            fit_until_day: self.space.calibrate.fit_until,
            fit_until_date: self
                .space
                .base
                .calendar
                .map(|c| c.label(self.space.calibrate.fit_until)),
            parameters: params
                .iter()
                .zip(&values)
                .zip(profiles)
                .map(|((p, &v), prof)| ParameterReport {
                    field: p.field.clone(),
                    also: p.also.clone(),
                    min: p.min,
                    max: p.max,
                    scale: if p.log { "log" } else { "linear" }.into(),
                    best: v,
                    interval: prof.interval,
                    profile: prof.points,
                })
                .collect(),
            evaluations,
            profile_evaluations: trace.len() as u64 - evaluations,
            budget: self.budget,
            runs: self.runs,
            seed: self.seed,
            stopped: stopped.into(),
            optimiser: format!(
                "Latin hypercube of {} start points, then Nelder–Mead (argmin 0.11) from the best, initial step {INITIAL_STEP} of each box, sd tolerance {SD_TOLERANCE:e}, box penalty {BOX_PENALTY:e} per squared unit outside; profile of {PROFILE_POINTS} points per parameter, 95 % interval where the loss is within {CHI2_1_95:.4} of its minimum",
                self.start_points()
            ),
            loss: "sum over targets of weight × ((z_obs − mean z)² / v + ln(v / floor²)), v = var z + floor², z = ln(1 + USD) for amounts in USD (floor 0.05), the value otherwise (floor 0.01): minus twice a Gaussian synthetic log-likelihood (docs/MODEL.md, section 11)".into(),
            residuals: sc.residuals.clone(),
        };
        Ok(Calibrated {
            report,
            best,
            score: sc,
            result,
            trace,
        })
    }
}

/// The part of `[lo, hi]` around `at` where the piecewise-linear profile `pts` (sorted by
/// position) stays at or below `threshold`: positions in `[0, 1]`.
fn interval(pts: &[(f64, f64)], at: f64, threshold: f64) -> (f64, f64) {
    let Some(i) = pts.iter().position(|p| p.0 == at) else {
        return (at, at);
    };
    let cross = |a: (f64, f64), b: (f64, f64)| {
        if !(a.1.is_finite() && b.1.is_finite()) || a.1 == b.1 {
            return if b.1 <= threshold { b.0 } else { a.0 };
        }
        a.0 + (threshold - a.1) / (b.1 - a.1) * (b.0 - a.0)
    };
    let mut lo = pts[i].0;
    let mut k = i;
    while k > 0 {
        if pts[k - 1].1 > threshold {
            lo = cross(pts[k], pts[k - 1]);
            break;
        }
        k -= 1;
        lo = pts[k].0;
    }
    let mut hi = pts[i].0;
    let mut k = i;
    while k + 1 < pts.len() {
        if pts[k + 1].1 > threshold {
            hi = cross(pts[k], pts[k + 1]);
            break;
        }
        k += 1;
        hi = pts[k].0;
    }
    (lo, hi)
}

/// `n` points of a Latin hypercube in `[0, 1]^d`: one in every `1/n` slice of every axis,
/// jittered within its slice, seeded by the calibration's seed.
pub fn latin_hypercube(n: usize, d: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x4c48_5331_u64);
    let mut points = vec![vec![0.0; d]; n];
    for j in 0..d {
        let mut slots: Vec<usize> = (0..n).collect();
        slots.shuffle(&mut rng);
        for (p, s) in points.iter_mut().zip(slots) {
            p[j] = (s as f64 + rng.random::<f64>()) / n as f64;
        }
    }
    points
}

/// Which stage of the calibration evaluated a candidate.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Start,
    Search,
    Profile,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Start => "start",
            Phase::Search => "search",
            Phase::Profile => "profile",
        }
    }
}

/// Why an evaluation did not happen.
#[derive(Debug, thiserror::Error)]
enum Stop {
    #[error("the evaluation budget is spent")]
    Budget,
    #[error("interrupted")]
    Interrupted,
    #[error("{0}")]
    Failed(Error),
}

/// Evaluates candidates (positions in the unit box), caches them and keeps the trace.
struct Evaluator<'a> {
    cal: &'a Calibration,
    ctl: &'a Control<'a>,
    trace: RefCell<Vec<TraceRow>>,
    /// Index in the trace of the lowest in-sample loss.
    best: RefCell<Option<usize>>,
    /// Evaluations of the start and search phases (what the budget counts).
    searched: RefCell<u64>,
}

/// Collects the targets' values of every candidate, run by run.
struct Collect<'a> {
    targets: &'a Targets,
    layouts: Vec<Layout>,
    collected: Vec<Collected>,
}

impl Sink for Collect<'_> {
    fn run(&mut self, outs: &[RunOutput]) -> std::result::Result<(), SinkError> {
        for ((c, l), out) in self.collected.iter_mut().zip(&self.layouts).zip(outs) {
            c.push(self.targets, l, out);
        }
        Ok(())
    }
}

impl Evaluator<'_> {
    fn loss_at(&self, u: &[f64]) -> Option<f64> {
        self.trace
            .borrow()
            .iter()
            .find(|r| r.position == u)
            .map(|r| r.loss_in_sample)
    }

    fn best_point(&self) -> Option<Vec<f64>> {
        let best = *self.best.borrow();
        best.map(|i| self.trace.borrow()[i].position.clone())
    }

    /// Evaluates the points not yet in the trace, together; returns every point's in-sample
    /// loss. Search phases stop at the budget (evaluating the points that fit in it first).
    fn evaluate(&self, points: &[Vec<f64>], phase: Phase) -> std::result::Result<Vec<f64>, Stop> {
        let cal = self.cal;
        let params = &cal.space.calibrate.parameters;
        let mut fresh: Vec<Vec<f64>> = Vec::new();
        for p in points {
            if self.loss_at(p).is_none() && !fresh.contains(p) {
                fresh.push(p.clone());
            }
        }
        let mut over_budget = false;
        if phase != Phase::Profile {
            let left = cal.budget.saturating_sub(*self.searched.borrow()) as usize;
            if fresh.len() > left {
                fresh.truncate(left);
                over_budget = true;
            }
        }
        if self.ctl.is_cancelled() {
            return Err(Stop::Interrupted);
        }
        // Build and anchor every candidate; one that is not a valid scenario scores +inf.
        let mut scenarios: Vec<Option<Scenario>> = Vec::with_capacity(fresh.len());
        let mut notes: Vec<String> = Vec::with_capacity(fresh.len());
        for u in &fresh {
            let values: Vec<f64> = params.iter().zip(u).map(|(p, &x)| p.at(x)).collect();
            let built = cal
                .space
                .scenario(&values)
                .map_err(Error::from)
                .and_then(|mut sc| {
                    sc.runs = cal.runs;
                    sc.seed = cal.seed;
                    anchor(&mut sc)?;
                    Ok(sc)
                });
            match built {
                Ok(sc) => {
                    scenarios.push(Some(sc));
                    notes.push(String::new());
                }
                Err(e) => {
                    scenarios.push(None);
                    notes.push(e.to_string().replace(['\n', ','], ";"));
                }
            }
        }
        let live: Vec<&Scenario> = scenarios.iter().flatten().collect();
        let mut sink = Collect {
            targets: &cal.targets,
            layouts: live.iter().map(|s| Layout::new(s)).collect(),
            collected: vec![Collected::new(&cal.targets); live.len()],
        };
        if !live.is_empty() {
            let cfg = BatchConfig {
                runs: cal.runs,
                blocks: None,
                seed: cal.seed,
                threads: cal.threads,
                keep: Keep::Trajectory,
                cancel: self.ctl.cancel.cloned(),
            };
            if let Err(e) = batch::run_paired(&live, &cfg, &|_| {}, &mut sink) {
                if e.downcast_ref::<Interrupted>().is_some() {
                    return Err(Stop::Interrupted);
                }
                return Err(Stop::Failed(Error::from(e)));
            }
        }
        let mut scores = sink.collected.iter().map(|c| score(&cal.targets, c));
        for ((u, sc), note) in fresh.iter().zip(&scenarios).zip(notes) {
            let (inside, outside) = match sc {
                Some(_) => {
                    let s = scores.next().expect("one score per live candidate");
                    (s.in_sample, s.out_of_sample)
                }
                None => (f64::INFINITY, f64::INFINITY),
            };
            let mut trace = self.trace.borrow_mut();
            let evaluation = trace.len() as u64 + 1;
            trace.push(TraceRow {
                evaluation,
                phase: phase.name().into(),
                position: u.clone(),
                values: params.iter().zip(u).map(|(p, &x)| p.at(x)).collect(),
                loss_in_sample: inside,
                loss_out_of_sample: outside,
                note,
            });
            let i = trace.len() - 1;
            let better = match *self.best.borrow() {
                None => inside.is_finite(),
                Some(b) => inside < trace[b].loss_in_sample,
            };
            if better {
                *self.best.borrow_mut() = Some(i);
            }
            if phase != Phase::Profile {
                *self.searched.borrow_mut() += 1;
            }
        }
        let best =
            (*self.best.borrow()).map_or(f64::INFINITY, |b| self.trace.borrow()[b].loss_in_sample);
        self.ctl
            .progress
            .evaluations_done(*self.searched.borrow(), best);
        if over_budget {
            return Err(Stop::Budget);
        }
        Ok(points
            .iter()
            .map(|p| self.loss_at(p).unwrap_or(f64::INFINITY))
            .collect())
    }
}

/// The loss on the unit box as argmin sees it: points outside are scored at their projection
/// plus a quadratic penalty.
struct Objective<'a, 'b> {
    eval: &'a Evaluator<'b>,
}

impl CostFunction for Objective<'_, '_> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, u: &Vec<f64>) -> std::result::Result<f64, argmin::core::Error> {
        let inside: Vec<f64> = u.iter().map(|x| x.clamp(0.0, 1.0)).collect();
        let outside: f64 = u.iter().zip(&inside).map(|(a, b)| (a - b) * (a - b)).sum();
        let loss = self
            .eval
            .evaluate(std::slice::from_ref(&inside), Phase::Search)
            .map_err(argmin::core::Error::new)?[0];
        Ok(loss + BOX_PENALTY * outside)
    }
}

/// The `extends` path of `calibrated.toml` in `out` to the calibrated file: relative when both
/// resolve, else absolute.
fn extends_path(file: &Path, out: &Path) -> String {
    let abs = |p: &Path| -> Option<PathBuf> {
        if p.exists() {
            return p.canonicalize().ok();
        }
        let parent = p
            .parent()
            .filter(|x| !x.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Some(parent.canonicalize().ok()?.join(p.file_name()?))
    };
    let (Some(f), Some(o)) = (abs(file), abs(out)) else {
        return file.display().to_string();
    };
    let fc: Vec<_> = f.components().collect();
    let oc: Vec<_> = o.components().collect();
    let common = fc.iter().zip(&oc).take_while(|(a, b)| a == b).count();
    let mut rel = PathBuf::new();
    for _ in common..oc.len() {
        rel.push("..");
    }
    for c in &fc[common..] {
        rel.push(c);
    }
    rel.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_latin_hypercube_has_one_point_in_every_slice() {
        let pts = latin_hypercube(10, 3, 7);
        for j in 0..3 {
            let mut slots: Vec<usize> = pts.iter().map(|p| (p[j] * 10.0) as usize).collect();
            slots.sort();
            assert_eq!(slots, (0..10).collect::<Vec<_>>());
        }
        assert_eq!(pts, latin_hypercube(10, 3, 7));
    }

    #[test]
    fn the_interval_is_where_the_profile_stays_under_the_threshold() {
        // A parabola (u - 0.5)^2 * 16 sampled at 0, 0.25, ..., 1: threshold 1 crosses at 0.25
        // and 0.75 exactly.
        let pts: Vec<(f64, f64)> = (0..5)
            .map(|k| {
                let u = k as f64 / 4.0;
                (u, 16.0 * (u - 0.5) * (u - 0.5))
            })
            .collect();
        assert_eq!(interval(&pts, 0.5, 1.0), (0.25, 0.75));
        // Linear interpolation between the grid points: threshold 2.5 lies between 1 and 4.
        let (lo, hi) = interval(&pts, 0.5, 2.5);
        assert!((lo - 0.125).abs() < 1e-12 && (hi - 0.875).abs() < 1e-12);
        // Never crossing: the whole box.
        assert_eq!(interval(&pts, 0.5, 10.0), (0.0, 1.0));
    }
}
