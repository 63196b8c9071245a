//! The files of an exploration of a design (docs/MODEL.md, section 12): `design.csv` (every
//! point of the design with its block, role and parameter values), `sensitivity.csv` and
//! `sensitivity.json` (Sobol or Morris indices per output metric, and how much of the outcome's
//! variance is Monte Carlo noise between runs), `discovery.csv` and `discovery.json` (PRIM's
//! peeling trajectory and chosen box for a binary outcome).

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::format::num;
use super::read;
use crate::scenario::design::Method;
use crate::scenario::{Design, Sweep, members};

/// What a sweep job computes besides each point's statistics, with its settings; recorded in a
/// shard's manifest so that `merge` finishes the same job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "analysis", rename_all = "lowercase", deny_unknown_fields)]
pub enum Explore {
    /// Sobol or Morris indices of these `runs.csv` columns (`l2sim sensitivity`).
    Sensitivity { metrics: Vec<String> },
    /// PRIM on a binary outcome (`l2sim discover`).
    Discovery {
        /// `COLUMN OP NUMBER`, or an indicator column.
        outcome: String,
        peel_alpha: f64,
        paste_alpha: f64,
        min_mass: f64,
        min_coverage: f64,
    },
}

impl Explore {
    /// The command that runs it.
    pub fn command(&self) -> &'static str {
        match self {
            Explore::Sensitivity { .. } => "sensitivity",
            Explore::Discovery { .. } => "discover",
        }
    }
}

/// One parameter of a design as the files describe it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParameterInfo {
    /// The field path as written (a group such as `chains.kind:zk.withdrawal_delay_days`).
    pub field: String,
    /// Every explicit field it sets.
    pub members: Vec<String>,
    pub min: f64,
    pub max: f64,
    /// `linear` or `log`.
    pub scale: String,
}

/// A design as `sensitivity.json` and `discovery.json` record it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesignInfo {
    /// `lhs`, `sobol` or `morris`.
    pub method: String,
    /// Base sample size N.
    pub samples: usize,
    pub points: usize,
    pub design_seed: u64,
    /// Grid levels (Morris).
    pub levels: Option<usize>,
    pub parameters: Vec<ParameterInfo>,
}

impl DesignInfo {
    /// `members[i]`: the explicit fields of parameter `i`.
    pub fn of(design: &Design, members: Vec<Vec<String>>) -> DesignInfo {
        DesignInfo {
            method: design.method.name().to_string(),
            samples: design.samples,
            points: design.points(),
            design_seed: design.seed,
            levels: (design.method == Method::Morris).then_some(design.levels),
            parameters: design
                .parameters
                .iter()
                .zip(members)
                .map(|(p, members)| ParameterInfo {
                    field: p.field.clone(),
                    members,
                    min: p.min,
                    max: p.max,
                    scale: if p.log { "log" } else { "linear" }.to_string(),
                })
                .collect(),
        }
    }
}

/// A sweep's design as the files describe it, each parameter with its explicit fields.
pub fn design_info(sweep: &Sweep) -> Option<DesignInfo> {
    let design = sweep.design.as_ref()?;
    let table: toml::Table = toml::from_str(&sweep.base.resolved_toml()).unwrap_or_default();
    let members = design
        .parameters
        .iter()
        .map(|p| {
            p.fields()
                .flat_map(|f| members(&table, f).unwrap_or_else(|_| vec![f.clone()]))
                .collect()
        })
        .collect();
    Some(DesignInfo::of(design, members))
}

/// The block and role of design row `i`: Sobol (Saltelli) rows come in blocks of k + 2 (`A`,
/// `AB_1` … `AB_k`, `B`), Morris rows in trajectories of k + 1 (`step_0` … `step_k`), Latin
/// hypercube rows are each their own block (`sample`).
pub fn role(method: Method, k: usize, i: usize) -> (usize, String) {
    match method {
        Method::Lhs => (i, "sample".to_string()),
        Method::Sobol => {
            let (block, at) = (i / (k + 2), i % (k + 2));
            let role = match at {
                0 => "A".to_string(),
                a if a == k + 1 => "B".to_string(),
                a => format!("AB_{a}"),
            };
            (block, role)
        }
        Method::Morris => (i / (k + 1), format!("step_{}", i % (k + 1))),
    }
}

/// Writes `design.csv`: `point, block, role`, then each parameter's value (a column per
/// `[[sweep.range]]` field as written).
pub fn write_design_csv(path: &Path, design: &Design, values: &[Vec<f64>]) -> Result<()> {
    let mut w = super::output::csv_file(path)?;
    let k = design.parameters.len();
    let mut header = vec!["point".to_string(), "block".into(), "role".into()];
    header.extend(design.parameters.iter().map(|p| p.field.clone()));
    w.write_record(&header)?;
    for (i, row) in values.iter().enumerate() {
        let (block, role) = role(design.method, k, i);
        let mut rec = vec![i.to_string(), block.to_string(), role];
        rec.extend(row.iter().map(|&v| num(v)));
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}

/// One estimated index with its 95 % bootstrap interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexRow {
    pub parameter: String,
    /// `S1`, `ST` (Sobol) or `mu_star`, `sigma` (Morris).
    pub index: String,
    #[serde(with = "nullable")]
    pub estimate: f64,
    #[serde(with = "nullable")]
    pub ci95_low: f64,
    #[serde(with = "nullable")]
    pub ci95_high: f64,
}

/// How the variance of a metric's per-run values over the whole design splits: between the
/// points' means (what the parameters move) and within points (Monte Carlo noise between runs
/// of the same point).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VarianceSplit {
    /// Variance of every run's value at every point, pooled (divisor n − 1).
    #[serde(with = "nullable")]
    pub total: f64,
    /// Variance of the point means around the grand mean (population form), the part the
    /// parameters explain.
    #[serde(with = "nullable")]
    pub between_points: f64,
    /// Mean over points of the variance between a point's runs (population form): Monte Carlo
    /// noise. `between_points + within_points` is the pooled variance in population form.
    #[serde(with = "nullable")]
    pub within_points: f64,
    /// `between_points / (between_points + within_points)`.
    #[serde(with = "nullable")]
    pub between_share: f64,
    /// `within_points / (between_points + within_points)`.
    #[serde(with = "nullable")]
    pub noise_share: f64,
    /// Variance of the point means (divisor n − 1): the indices' denominator.
    #[serde(with = "nullable")]
    pub variance_of_point_means: f64,
    /// The part of it that is noise: `within_points / runs` (the variance of a mean of that many
    /// independent runs; common random numbers make points' noise move together, so this bounds
    /// it from above).
    #[serde(with = "nullable")]
    pub noise_in_point_means: f64,
}

/// The indices of one output metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSensitivity {
    /// A `runs.csv` column.
    pub metric: String,
    /// The points whose mean is the model output (every point of the design).
    pub points: usize,
    pub runs_per_point: u64,
    pub variance: VarianceSplit,
    /// Sobol: the sum of the first-order indices (1 − it is the share of interactions).
    pub sum_first_order: Option<f64>,
    pub indices: Vec<IndexRow>,
    /// Why the indices are missing (NaN), when they are.
    pub note: Option<String>,
}

/// `sensitivity.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensitivityReport {
    pub l2sim_version: String,
    pub scenario: String,
    pub runs: u64,
    pub seed: u64,
    pub design: DesignInfo,
    /// `sobol` (Saltelli 2010 first order, Jansen 1999 total) or `morris` (Campolongo 2007 μ*).
    pub estimator: String,
    /// Bootstrap resamples behind every interval (percentile intervals, over base rows or
    /// trajectories).
    pub bootstrap_resamples: usize,
    pub metrics: Vec<MetricSensitivity>,
}

/// Writes `sensitivity.csv` (`metric,parameter,index,estimate,ci95_low,ci95_high`) and
/// `sensitivity.json`.
pub fn write_sensitivity(dir: &Path, report: &SensitivityReport) -> Result<()> {
    let mut w = super::output::csv_file(&dir.join("sensitivity.csv"))?;
    w.write_record([
        "metric",
        "parameter",
        "index",
        "estimate",
        "ci95_low",
        "ci95_high",
    ])?;
    for m in &report.metrics {
        for r in &m.indices {
            w.write_record([
                m.metric.clone(),
                r.parameter.clone(),
                r.index.clone(),
                num(r.estimate),
                num(r.ci95_low),
                num(r.ci95_high),
            ])?;
        }
    }
    w.flush()?;
    let path = dir.join("sensitivity.json");
    std::fs::write(&path, json_text(report)?).with_context(|| format!("writing {}", path.display()))
}

/// A float that may be NaN, written as JSON `null` and read back as NaN.
mod nullable {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        if x.is_finite() {
            s.serialize_f64(*x)
        } else {
            s.serialize_none()
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

/// Pretty JSON (NaN as `null`).
fn json_text<T: Serialize>(value: &T) -> Result<String> {
    Ok(serde_json::to_string_pretty(value)? + "\n")
}

pub fn read_sensitivity_json(path: &Path) -> Result<SensitivityReport> {
    Ok(read::json(path)?)
}

/// One step of PRIM's peeling trajectory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepInfo {
    pub step: usize,
    /// Rows (runs at design points) in the box, and those with the outcome.
    pub n: usize,
    pub positives: usize,
    /// NaN (`null`) when no case has the outcome.
    #[serde(with = "nullable")]
    pub coverage: f64,
    pub density: f64,
    pub mass: f64,
    /// Each parameter's bounds `[lower, upper]` in the box.
    pub bounds: Vec<[f64; 2]>,
    /// Parameters restricted (bounds inside the design's range).
    pub restricted: usize,
}

/// One restriction of the chosen box.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoxBound {
    pub parameter: String,
    pub lower: f64,
    pub upper: f64,
    /// The design's range of the parameter.
    pub min: f64,
    pub max: f64,
    /// One-sided binomial p-value of the restriction (the box's density against the box without
    /// it; Bryant & Lempert 2010).
    #[serde(with = "nullable")]
    pub p_value: f64,
}

/// `discovery.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscoveryReport {
    pub l2sim_version: String,
    pub scenario: String,
    pub runs: u64,
    pub seed: u64,
    pub design: Option<DesignInfo>,
    /// The parameters PRIM looked at, in design order.
    pub parameters: Vec<String>,
    /// The binary outcome as written (`zk_share > 0.3`).
    pub outcome: String,
    /// Every run at every point is one row.
    pub rows: usize,
    pub positives: usize,
    /// `positives / rows`.
    pub base_rate: f64,
    pub peel_alpha: f64,
    pub paste_alpha: f64,
    pub min_mass: f64,
    pub min_coverage: f64,
    pub trajectory: Vec<StepInfo>,
    /// The step chosen: the densest box with coverage ≥ `min_coverage`.
    pub chosen: usize,
    /// NaN (`null`) when no case has the outcome.
    #[serde(with = "nullable")]
    pub coverage: f64,
    pub density: f64,
    pub mass: f64,
    pub restrictions: Vec<BoxBound>,
    /// Why there is no box, when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Writes `discovery.csv` (one row per step and parameter: `step, parameter, lower, upper,
/// restricted, n, positives, coverage, density, mass, chosen`) and `discovery.json`.
pub fn write_discovery(dir: &Path, report: &DiscoveryReport) -> Result<()> {
    let mut w = super::output::csv_file(&dir.join("discovery.csv"))?;
    w.write_record([
        "step",
        "parameter",
        "lower",
        "upper",
        "restricted",
        "n",
        "positives",
        "coverage",
        "density",
        "mass",
        "chosen",
    ])?;
    let full = report.trajectory.first().map(|s| s.bounds.clone());
    for s in &report.trajectory {
        for (j, (name, b)) in report.parameters.iter().zip(&s.bounds).enumerate() {
            let restricted = full.as_ref().is_some_and(|f| f[j] != *b);
            w.write_record([
                s.step.to_string(),
                name.clone(),
                num(b[0]),
                num(b[1]),
                u8::from(restricted).to_string(),
                s.n.to_string(),
                s.positives.to_string(),
                num(s.coverage),
                num(s.density),
                num(s.mass),
                u8::from(s.step == report.chosen).to_string(),
            ])?;
        }
    }
    w.flush()?;
    let path = dir.join("discovery.json");
    std::fs::write(&path, json_text(report)?).with_context(|| format!("writing {}", path.display()))
}

pub fn read_discovery_json(path: &Path) -> Result<DiscoveryReport> {
    Ok(read::json(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_follow_the_design_layouts() {
        let k = 3;
        let sobol: Vec<String> = (0..5).map(|i| role(Method::Sobol, k, i).1).collect();
        assert_eq!(sobol, ["A", "AB_1", "AB_2", "AB_3", "B"]);
        assert_eq!(role(Method::Sobol, k, 5), (1, "A".to_string()));
        assert_eq!(role(Method::Morris, k, 5), (1, "step_1".to_string()));
        assert_eq!(role(Method::Lhs, k, 7), (7, "sample".to_string()));
    }
}
