//! Exploring a design (docs/MODEL.md, section 12): the output metrics of `l2sim sensitivity`
//! and the binary outcome of `l2sim discover` checked against the scenario's columns, and the
//! indices and the PRIM box computed from every point's per-run values (kept exactly in memory,
//! in run order, so a merged shard set gives the same bits).

use crate::batch::prim::{self, PrimOptions};
use crate::batch::sensitivity;
use crate::report::explore::{
    BoxBound, DiscoveryReport, Explore, IndexRow, MetricSensitivity, SensitivityReport, StepInfo,
    VarianceSplit, design_info,
};
use crate::scenario::Sweep;
use crate::scenario::design::Method;

use super::error::{Error, Result};
use super::outcome::{Explored, SweepResults};

/// Bootstrap resamples behind every interval of `sensitivity.csv`.
pub const BOOTSTRAP_RESAMPLES: usize = 1000;

/// Seed of the bootstrap's resampling (fixed: the intervals are a function of the outputs).
const BOOTSTRAP_SEED: u64 = 0x5eed_b007;

/// The metrics `l2sim sensitivity` reports when neither `[sweep] metrics` nor `--metric` names
/// any: the share of capital on L2s, the ZK share of it, the alt-L1 share, and whether ZK
/// rollups overtake optimistic ones.
pub const DEFAULT_METRICS: [&str; 4] =
    ["l2_share", "zk_share_of_l2", "alt_l1_share", "zk_overtakes"];

/// A comparison of a `runs.csv` column with a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Greater,
    GreaterEqual,
    Less,
    LessEqual,
    Equal,
    NotEqual,
}

/// A binary outcome of one run: `column op threshold`, or an indicator column on its own
/// (`zk_overtakes`: true when 1). A run where the column has no value (NaN) is false.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub column: String,
    pub op: Op,
    pub threshold: f64,
    /// As written.
    pub text: String,
}

impl Condition {
    /// Parses `column`, or `column OP number` with OP one of `>`, `>=`, `<`, `<=`, `==`, `!=`;
    /// the column must be one of `columns`.
    pub fn parse(text: &str, columns: &[String]) -> std::result::Result<Condition, String> {
        let t = text.trim();
        let ops = [
            (">=", Op::GreaterEqual),
            ("<=", Op::LessEqual),
            ("==", Op::Equal),
            ("!=", Op::NotEqual),
            (">", Op::Greater),
            ("<", Op::Less),
        ];
        let (column, op, threshold) = match ops
            .iter()
            .find_map(|(s, op)| t.find(s).map(|i| (i, s, op)))
        {
            None => (t, Op::Equal, 1.0),
            Some((i, s, op)) => {
                let number = t[i + s.len()..].trim();
                let threshold: f64 = number.parse().map_err(|_| {
                    format!("{text:?}: {number:?} is not a number (write COLUMN OP NUMBER, e.g. \"zk_share_of_l2 > 0.3\")")
                })?;
                if !threshold.is_finite() {
                    return Err(format!("{text:?}: the threshold must be finite"));
                }
                (t[..i].trim(), *op, threshold)
            }
        };
        if !columns.iter().any(|c| c == column) {
            let suggestion =
                crate::scenario::suggest::closest(column, columns.iter().map(String::as_str))
                    .map_or(String::new(), |c| format!(" (did you mean {c:?}?)"));
            return Err(format!(
                "{text:?}: no column {column:?} in runs.csv{suggestion}; write COLUMN OP NUMBER with a column of runs.csv (docs/MODEL.md, section 7)"
            ));
        }
        Ok(Condition {
            column: column.to_string(),
            op,
            threshold,
            text: t.to_string(),
        })
    }

    /// Whether a run with value `v` has the outcome.
    pub fn holds(&self, v: f64) -> bool {
        if v.is_nan() {
            return false;
        }
        let t = self.threshold;
        match self.op {
            Op::Greater => v > t,
            Op::GreaterEqual => v >= t,
            Op::Less => v < t,
            Op::LessEqual => v <= t,
            Op::Equal => v == t,
            Op::NotEqual => v != t,
        }
    }
}

/// Every run's value of `metric` at every point, in run order.
fn per_run<'a>(results: &'a SweepResults, metric: &str) -> Result<Vec<&'a [f64]>> {
    let m = results
        .metrics
        .iter()
        .position(|c| c == metric)
        .ok_or_else(|| Error::input(None, format!("no metric {metric:?} in the sweep")))?;
    results
        .stats
        .iter()
        .map(|point| {
            point[m].values().ok_or_else(|| {
                Error::input(
                    None,
                    format!("the per-run values of {metric} were not kept"),
                )
            })
        })
        .collect()
}

/// Mean and population variance of the non-missing values.
fn mean_var(v: &[f64]) -> (f64, f64, usize) {
    let finite: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    let n = finite.len();
    if n == 0 {
        return (f64::NAN, f64::NAN, 0);
    }
    let mean = finite.iter().sum::<f64>() / n as f64;
    let var = finite.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
    (mean, var, n)
}

fn split(values: &[&[f64]], means: &[f64], runs: u64) -> VarianceSplit {
    let pooled: Vec<f64> = values.iter().flat_map(|v| v.iter().copied()).collect();
    let (_, pooled_pop, n) = mean_var(&pooled);
    let total = if n > 1 {
        pooled_pop * n as f64 / (n as f64 - 1.0)
    } else {
        f64::NAN
    };
    let (_, between, points) = mean_var(means);
    let within = values.iter().map(|v| mean_var(v).1).sum::<f64>() / values.len().max(1) as f64;
    let sum = between + within;
    let variance_of_point_means = if points > 1 {
        between * points as f64 / (points as f64 - 1.0)
    } else {
        f64::NAN
    };
    VarianceSplit {
        total,
        between_points: between,
        within_points: within,
        between_share: between / sum,
        noise_share: within / sum,
        variance_of_point_means,
        noise_in_point_means: within / runs.max(1) as f64,
    }
}

fn index(parameter: &str, name: &str, i: sensitivity::Interval) -> IndexRow {
    IndexRow {
        parameter: parameter.to_string(),
        index: name.to_string(),
        estimate: i.estimate,
        ci95_low: i.low,
        ci95_high: i.high,
    }
}

/// Sobol (Saltelli design) or Morris indices of each metric, from the point means.
pub fn sensitivity(results: &SweepResults, metrics: &[String]) -> Result<SensitivityReport> {
    let sweep = &results.sweep;
    let design = sweep
        .design
        .as_ref()
        .ok_or_else(|| Error::input(None, "sensitivity needs a [sweep] design"))?;
    let k = design.parameters.len();
    let runs = sweep.base.runs;
    let mut out = Vec::new();
    for metric in metrics {
        let values = per_run(results, metric)?;
        let means: Vec<f64> = values.iter().map(|v| mean_var(v).0).collect();
        let variance = split(&values, &means, runs);
        let mut indices = Vec::new();
        let mut sum_first_order = None;
        match design.method {
            Method::Sobol => {
                let s = sensitivity::sobol(&means, k, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED);
                for (p, (first, total)) in
                    design.parameters.iter().zip(s.first.iter().zip(&s.total))
                {
                    indices.push(index(&p.field, "S1", *first));
                    indices.push(index(&p.field, "ST", *total));
                }
                sum_first_order = Some(s.first.iter().map(|i| i.estimate).sum());
            }
            Method::Morris => {
                let m = sensitivity::morris(
                    &sweep.unit,
                    &means,
                    k,
                    BOOTSTRAP_RESAMPLES,
                    BOOTSTRAP_SEED,
                );
                for (p, (mu_star, sigma)) in
                    design.parameters.iter().zip(m.mu_star.iter().zip(&m.sigma))
                {
                    indices.push(index(&p.field, "mu_star", *mu_star));
                    indices.push(index(&p.field, "sigma", *sigma));
                }
            }
            Method::Lhs => {
                return Err(Error::input(
                    None,
                    "a Latin hypercube has no sensitivity estimator here: use design = \"sobol\" or \"morris\"",
                ));
            }
        }
        let note = if means.iter().any(|m| m.is_nan()) {
            Some(format!(
                "{metric} has no value in every run at some points (NaN): the indices are undefined; use an indicator or a metric defined in every run"
            ))
        } else if variance.variance_of_point_means == 0.0 {
            Some(format!(
                "{metric} is the same at every point: the indices are undefined"
            ))
        } else {
            None
        };
        out.push(MetricSensitivity {
            metric: metric.clone(),
            points: means.len(),
            runs_per_point: runs,
            variance,
            sum_first_order,
            indices,
            note,
        });
    }
    Ok(SensitivityReport {
        l2sim_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: sweep.base.name.clone(),
        runs,
        seed: sweep.base.seed,
        design: design_info(sweep).expect("a design"),
        estimator: match design.method {
            Method::Sobol => "sobol",
            _ => "morris",
        }
        .to_string(),
        bootstrap_resamples: BOOTSTRAP_RESAMPLES,
        metrics: out,
    })
}

/// Each point's parameter values as numbers (a grid axis of strings cannot be a box).
fn parameter_values(sweep: &Sweep) -> Result<Vec<Vec<f64>>> {
    sweep
        .points
        .iter()
        .map(|p| {
            p.params
                .iter()
                .map(|(f, v)| {
                    v.as_float()
                        .or(v.as_integer().map(|i| i as f64))
                        .ok_or_else(|| {
                            Error::input(
                                None,
                                format!("{f} takes the value {v}: PRIM needs numeric parameters"),
                            )
                        })
                })
                .collect()
        })
        .collect()
}

/// The report's description of the search (scenario, design, outcome, options) with `rows` cases
/// of which `positives` have the outcome; no trajectory and no box yet.
fn report_of(
    results: &SweepResults,
    condition: &Condition,
    options: &PrimOptions,
    rows: usize,
    positives: usize,
) -> DiscoveryReport {
    let sweep = &results.sweep;
    DiscoveryReport {
        l2sim_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: sweep.base.name.clone(),
        runs: sweep.base.runs,
        seed: sweep.base.seed,
        design: design_info(sweep),
        parameters: sweep.fields.clone(),
        outcome: condition.text.clone(),
        rows,
        positives,
        base_rate: if rows > 0 {
            positives as f64 / rows as f64
        } else {
            0.0
        },
        peel_alpha: options.peel_alpha,
        paste_alpha: options.paste_alpha,
        min_mass: options.min_mass,
        min_coverage: options.min_coverage,
        trajectory: Vec::new(),
        chosen: 0,
        coverage: f64::NAN,
        density: 0.0,
        mass: 1.0,
        restrictions: Vec::new(),
        note: None,
    }
}

/// The report when no run has the outcome: the whole design, no box, and a note saying so (the
/// batch is not wasted: every other file is written).
fn no_box(
    results: &SweepResults,
    condition: &Condition,
    options: &PrimOptions,
    x: &[Vec<f64>],
) -> DiscoveryReport {
    let bounds: Vec<[f64; 2]> = (0..results.sweep.fields.len())
        .map(|j| {
            let column = x.iter().map(|row| row[j]);
            [
                column.clone().fold(f64::INFINITY, f64::min),
                column.fold(f64::NEG_INFINITY, f64::max),
            ]
        })
        .collect();
    DiscoveryReport {
        trajectory: vec![StepInfo {
            step: 0,
            n: x.len(),
            positives: 0,
            coverage: f64::NAN,
            density: 0.0,
            mass: 1.0,
            bounds,
            restricted: 0,
        }],
        note: Some(format!(
            "no run at any point has the outcome {:?}: there is no box to find (widen the ranges, or choose another threshold)",
            condition.text
        )),
        ..report_of(results, condition, options, x.len(), 0)
    }
}

/// PRIM on every run at every point: the peeling trajectory and the chosen box.
pub fn discovery(
    results: &SweepResults,
    condition: &Condition,
    options: &PrimOptions,
) -> Result<DiscoveryReport> {
    let sweep = &results.sweep;
    let values = per_run(results, &condition.column)?;
    let params = parameter_values(sweep)?;
    let mut x = Vec::new();
    let mut y = Vec::new();
    for (point, runs) in params.iter().zip(&values) {
        for &v in runs.iter() {
            x.push(point.clone());
            y.push(condition.holds(v));
        }
    }
    if !y.iter().any(|&v| v) {
        return Ok(no_box(results, condition, options, &x));
    }
    let found = prim::prim(&x, &y, options)
        .map_err(|e| Error::input(None, format!("discovery of {:?}: {e}", condition.text)))?;
    let full = &found.trajectory[0];
    let restricted = |s: &prim::Step| {
        (0..s.lower.len())
            .filter(|&j| s.lower[j] > full.lower[j] || s.upper[j] < full.upper[j])
            .count()
    };
    let trajectory: Vec<StepInfo> = found
        .trajectory
        .iter()
        .enumerate()
        .map(|(i, s)| StepInfo {
            step: i,
            n: s.n,
            positives: s.positives,
            coverage: s.coverage,
            density: s.density,
            mass: s.mass,
            bounds: s
                .lower
                .iter()
                .zip(&s.upper)
                .map(|(&l, &u)| [l, u])
                .collect(),
            restricted: restricted(s),
        })
        .collect();
    let chosen = &found.trajectory[found.chosen];
    let restrictions = found
        .restrictions
        .iter()
        .map(|r| BoxBound {
            parameter: sweep.fields[r.dim].clone(),
            lower: r.lower,
            upper: r.upper,
            min: full.lower[r.dim],
            max: full.upper[r.dim],
            p_value: r.p_value,
        })
        .collect();
    Ok(DiscoveryReport {
        trajectory,
        chosen: found.chosen,
        coverage: chosen.coverage,
        density: chosen.density,
        mass: chosen.mass,
        restrictions,
        ..report_of(results, condition, options, found.rows, found.positives)
    })
}

/// Computes the exploration `spec` of a sweep's results from every point's per-run values.
pub(super) fn explore(results: &mut SweepResults, spec: &Explore) -> Result<()> {
    let explored = match spec {
        Explore::Sensitivity { metrics } => {
            Explored::Sensitivity(Box::new(sensitivity(results, metrics)?))
        }
        Explore::Discovery {
            outcome,
            peel_alpha,
            paste_alpha,
            min_mass,
            min_coverage,
        } => {
            let condition =
                Condition::parse(outcome, &results.metrics).map_err(|m| Error::input(None, m))?;
            let options = PrimOptions {
                peel_alpha: *peel_alpha,
                paste_alpha: *paste_alpha,
                min_mass: *min_mass,
                min_coverage: *min_coverage,
            };
            Explored::Discovery(Box::new(discovery(results, &condition, &options)?))
        }
    };
    results.explore_spec = Some(Box::new(spec.clone()));
    results.explored = Some(explored);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_parse_and_hold() {
        let cols: Vec<String> = ["zk_share_of_l2", "zk_overtakes"]
            .map(String::from)
            .to_vec();
        let c = Condition::parse("zk_share_of_l2 > 0.3", &cols).unwrap();
        assert!(c.holds(0.31) && !c.holds(0.3) && !c.holds(f64::NAN));
        let c = Condition::parse("zk_share_of_l2>=0.3", &cols).unwrap();
        assert!(c.holds(0.3));
        let c = Condition::parse("zk_overtakes", &cols).unwrap();
        assert!(c.holds(1.0) && !c.holds(0.0));
        let e = Condition::parse("zk_shar > 0.3", &cols).unwrap_err();
        assert!(e.contains("did you mean \"zk_share_of_l2\""), "{e}");
        let e = Condition::parse("zk_share_of_l2 > lots", &cols).unwrap_err();
        assert!(e.contains("not a number"), "{e}");
    }

    #[test]
    fn the_variance_split_adds_up() {
        let a = [1.0, 3.0];
        let b = [5.0, 7.0];
        let values: Vec<&[f64]> = vec![&a, &b];
        let s = split(&values, &[2.0, 6.0], 2);
        // Means 2 and 6: between (population) 4; within each point 1.
        assert_eq!(s.between_points, 4.0);
        assert_eq!(s.within_points, 1.0);
        assert_eq!(s.noise_share, 0.2);
        // Pooled 1, 3, 5, 7: variance (n − 1) 20/3; population 5 = 4 + 1.
        assert!((s.total - 20.0 / 3.0).abs() < 1e-12);
        assert_eq!(s.variance_of_point_means, 8.0);
        assert_eq!(s.noise_in_point_means, 0.5);
    }
}
