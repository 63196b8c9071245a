//! Observed targets and the loss of simulated runs against them (docs/MODEL.md, section 11).
//!
//! A targets file is tidy CSV: `date` or `day`, `metric`, `chain` (empty for a system metric),
//! `value`, optional `weight`; metric names are those of `quantiles.csv`. Every target is matched
//! to a sample and a cell of the scenario's layout, so that a batch can collect, for each target,
//! the value of every run ([`Collected`]); [`score`] turns those into the loss.
//!
//! The loss is minus twice a Gaussian synthetic log-likelihood with a diagonal covariance (Wood
//! 2010), on a transformed scale `z` (the logarithm of USD amounts, the value itself otherwise):
//!
//! ```text
//! L = Σ_i w_i [ (z_obs,i − m_i)² / v_i + ln(v_i / σ_i²) ],   v_i = s_i² + σ_i²
//! ```
//!
//! `m_i` and `s_i²` are the mean and (unbiased) variance of `z` over the runs, `σ_i` a floor for
//! the observation error (0.05 in log points, 0.01 otherwise), `w_i` the target's weight. A
//! deterministic perfect fit scores 0. Targets up to `fit_until` make the in-sample loss, the
//! others the held-out loss.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::engine::{CHAIN_METRICS, Layout, RunOutput, SYSTEM_METRICS};
use crate::scenario::{Calendar, Problem, Scenario, ScenarioError, input, parse_date};

/// Observation-error floor on the log scale (log points).
pub const LOG_FLOOR: f64 = 0.05;
/// Observation-error floor on the natural scale (shares, rates).
pub const LINEAR_FLOOR: f64 = 0.01;
/// Most targets a file may hold.
pub const MAX_TARGETS: usize = 100_000;

/// Whether a metric is scored on the logarithm: amounts in USD that cannot be negative.
pub fn is_log_metric(metric: &str) -> bool {
    metric.ends_with("_usd") && metric != "zk_minus_optimistic_usd"
}

/// The scale a value is scored on.
pub fn transform(metric: &str, x: f64) -> f64 {
    if is_log_metric(metric) {
        (x.max(0.0) + 1.0).ln()
    } else {
        x
    }
}

/// One observed value, matched to the scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// Line of the targets file (from 1, the header being line 1).
    pub line: usize,
    pub day: f64,
    /// `YYYY-MM-DD` when the scenario has a calendar.
    pub date: Option<String>,
    pub metric: String,
    /// Empty for a system metric.
    pub chain: String,
    pub value: f64,
    pub weight: f64,
    /// After `fit_until`: scored, not fitted.
    pub held_out: bool,
    /// Sample index in the scenario's layout.
    #[serde(skip)]
    pub sample: usize,
    /// Cell index in the scenario's layout.
    #[serde(skip)]
    pub cell: usize,
}

/// The targets of a calibration, matched to a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Targets {
    pub rows: Vec<Target>,
    /// The file's text, copied into output folders.
    pub text: String,
}

fn problem(file: &Path, line: usize, column: usize, field: &str, message: String) -> Problem {
    Problem {
        path: field.to_string(),
        message,
        location: Some((line, column)),
        file: Some(file.to_path_buf()),
    }
}

impl Targets {
    /// Reads the targets of `sc` (held out after its `[calibrate] fit_until`, none without one).
    pub fn for_scenario(sc: &Scenario, path: &Path) -> Result<Targets, ScenarioError> {
        let fit_until = sc.calibrate.as_ref().map_or(f64::INFINITY, |c| c.fit_until);
        let layout = Layout::new(sc);
        let chains: Vec<String> = sc.chains.iter().map(|c| c.id.clone()).collect();
        Targets::read(path, &layout, &chains, sc.calendar.as_ref(), fit_until)
    }

    /// Reads a targets file and matches every row to a sample and a cell of `layout`; every
    /// problem of every row at once, each with its line and column.
    pub fn read(
        path: &Path,
        layout: &Layout,
        chains: &[String],
        calendar: Option<&Calendar>,
        fit_until: f64,
    ) -> Result<Targets, ScenarioError> {
        let text = input::read_text(path, input::MAX_CSV_BYTES).map_err(|source| {
            ScenarioError::Unreadable {
                path: path.to_path_buf(),
                what: "targets",
                source,
            }
        })?;
        Self::parse(path, &text, layout, chains, calendar, fit_until)
    }

    /// As [`Targets::read`], from the file's text.
    pub fn parse(
        path: &Path,
        text: &str,
        layout: &Layout,
        chains: &[String],
        calendar: Option<&Calendar>,
        fit_until: f64,
    ) -> Result<Targets, ScenarioError> {
        let invalid = |problems: Vec<Problem>| ScenarioError::Invalid {
            path: path.to_path_buf(),
            problems,
        };
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let header: Vec<String> = match reader.headers() {
            Ok(h) => h.iter().map(String::from).collect(),
            Err(e) => {
                return Err(invalid(vec![problem(
                    path,
                    1,
                    1,
                    "header",
                    format!("cannot be read: {e}"),
                )]));
            }
        };
        let col = |name: &str| header.iter().position(|h| h == name);
        let header_problem =
            |message: String| invalid(vec![problem(path, 1, 1, "header", message)]);
        let (day_col, by_date) = match (col("date"), col("day")) {
            (Some(_), Some(_)) => {
                return Err(header_problem("has both `date` and `day`: give one".into()));
            }
            (Some(i), None) => (i, true),
            (None, Some(i)) => (i, false),
            (None, None) => {
                return Err(header_problem(format!(
                    "= {:?}: needs `date` or `day`, and `metric`, `chain`, `value` (optional `weight`)",
                    header.join(",")
                )));
            }
        };
        if by_date && calendar.is_none() {
            return Err(header_problem("has a `date` column but the scenario has no `start_date`: give `day` numbers or set `start_date`".into()));
        }
        let (Some(metric_col), Some(chain_col), Some(value_col)) =
            (col("metric"), col("chain"), col("value"))
        else {
            return Err(header_problem(format!(
                "= {:?}: needs `metric`, `chain` and `value` columns",
                header.join(",")
            )));
        };
        let weight_col = col("weight");
        let known = ["date", "day", "metric", "chain", "value", "weight"];
        if let Some(extra) = header.iter().find(|h| !known.contains(&h.as_str())) {
            return Err(header_problem(format!(
                "has an unknown column {extra:?}: the columns are date or day, metric, chain, value, weight"
            )));
        }
        // Column of each field in the file (1-based), for locating problems.
        let column_of = |rec: &csv::StringRecord, i: usize| -> usize {
            let mut c = 1;
            for j in 0..i {
                c += rec.get(j).map_or(0, str::len) + 1;
            }
            c
        };
        let mut rows = Vec::new();
        let mut problems = Vec::new();
        let horizon = layout.sample_days.last().copied().unwrap_or(0.0);
        for (n, rec) in reader.records().enumerate() {
            let line = n + 2;
            let rec = match rec {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map_or(line, |p| p.line() as usize);
                    problems.push(problem(
                        path,
                        line,
                        1,
                        "row",
                        format!("cannot be read: {e}"),
                    ));
                    continue;
                }
            };
            if rows.len() >= MAX_TARGETS {
                problems.push(problem(
                    path,
                    line,
                    1,
                    "row",
                    format!("more than {MAX_TARGETS} targets"),
                ));
                break;
            }
            let mut bad = |i: usize, field: &str, message: String| {
                problems.push(problem(path, line, column_of(&rec, i), field, message));
            };
            let raw_day = rec.get(day_col).unwrap_or("");
            let day = if by_date {
                match parse_date(raw_day) {
                    Ok(d) => calendar.map_or(f64::NAN, |c| c.day_of(d)),
                    Err(m) => {
                        bad(day_col, "date", format!("= {m}"));
                        continue;
                    }
                }
            } else {
                match raw_day.parse::<f64>() {
                    Ok(d) if d.is_finite() => d,
                    _ => {
                        bad(
                            day_col,
                            "day",
                            format!("= {raw_day:?}: not a finite number of days"),
                        );
                        continue;
                    }
                }
            };
            let what = if by_date { "date" } else { "day" };
            if !(0.0..=horizon).contains(&day) {
                bad(
                    day_col,
                    what,
                    format!(
                        "= {raw_day:?} (day {day}): outside the scenario's horizon [0, {horizon}]"
                    ),
                );
                continue;
            }
            let Some(sample) = layout.sample_days.iter().position(|&d| d == day) else {
                let nearest = layout
                    .sample_days
                    .iter()
                    .min_by(|a, b| (*a - day).abs().total_cmp(&(*b - day).abs()))
                    .copied()
                    .unwrap_or(0.0);
                let label = calendar.map_or(format!("day {nearest}"), |c| {
                    format!("{} (day {nearest})", c.label(nearest))
                });
                bad(
                    day_col,
                    what,
                    format!(
                        "= {raw_day:?}: not a sample day of the scenario (nearest sample: {label}); targets must fall on samples"
                    ),
                );
                continue;
            };
            let metric = rec.get(metric_col).unwrap_or("").to_string();
            let chain = rec.get(chain_col).unwrap_or("").to_string();
            let cell = if let Some(m) = CHAIN_METRICS.iter().position(|&x| x == metric) {
                match chains.iter().position(|c| *c == chain) {
                    Some(c) => layout.chain_cell(m, c),
                    None => {
                        let message = if chain.is_empty() {
                            format!(
                                "is empty: {metric} is a chain metric, name one of {}",
                                chains.join(", ")
                            )
                        } else {
                            format!(
                                "= {chain:?}: no such chain (there are {})",
                                chains.join(", ")
                            )
                        };
                        bad(chain_col, "chain", message);
                        continue;
                    }
                }
            } else if let Some(m) = SYSTEM_METRICS.iter().position(|&x| x == metric) {
                if !chain.is_empty() {
                    bad(
                        chain_col,
                        "chain",
                        format!("= {chain:?}: {metric} is a system metric, leave chain empty"),
                    );
                    continue;
                }
                layout.system_cell(m)
            } else {
                bad(
                    metric_col,
                    "metric",
                    format!(
                        "= {metric:?}: not a metric of quantiles.csv (chain metrics: {}; system metrics: {})",
                        CHAIN_METRICS.join(", "),
                        SYSTEM_METRICS.join(", ")
                    ),
                );
                continue;
            };
            let raw_value = rec.get(value_col).unwrap_or("");
            let value = match raw_value.parse::<f64>() {
                Ok(v) if v.is_finite() => v,
                _ => {
                    bad(
                        value_col,
                        "value",
                        format!("= {raw_value:?}: must be a finite number"),
                    );
                    continue;
                }
            };
            if is_log_metric(&metric) && value < 0.0 {
                bad(
                    value_col,
                    "value",
                    format!("= {raw_value}: {metric} is an amount in USD, must be >= 0"),
                );
                continue;
            }
            let weight = match weight_col.map(|i| (i, rec.get(i).unwrap_or(""))) {
                None | Some((_, "")) => 1.0,
                Some((i, w)) => match w.parse::<f64>() {
                    Ok(v) if v.is_finite() && v >= 0.0 => v,
                    _ => {
                        bad(
                            i,
                            "weight",
                            format!("= {w:?}: must be a finite number >= 0"),
                        );
                        continue;
                    }
                },
            };
            if rows
                .iter()
                .any(|r: &Target| r.sample == sample && r.cell == cell)
            {
                bad(
                    day_col,
                    what,
                    format!("= {raw_day:?}: a second target for {metric} {chain} on the same day"),
                );
                continue;
            }
            rows.push(Target {
                line,
                day,
                date: calendar.map(|c| c.label(day)),
                metric,
                chain,
                value,
                weight,
                held_out: day > fit_until,
                sample,
                cell,
            });
        }
        if problems.is_empty() && rows.is_empty() {
            problems.push(problem(
                path,
                1,
                1,
                "row",
                "none: the file has no targets".into(),
            ));
        }
        if problems.is_empty() {
            Ok(Targets {
                rows,
                text: text.to_string(),
            })
        } else {
            Err(invalid(problems))
        }
    }
}

/// The value of every target in every run of one scenario: `values[i][r]` for target `i`, run
/// `r`, in run order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Collected {
    pub values: Vec<Vec<f64>>,
}

impl Collected {
    pub fn new(targets: &Targets) -> Collected {
        Collected {
            values: vec![Vec::new(); targets.rows.len()],
        }
    }

    /// Takes the targets' values of one run (with per-sample trajectories kept).
    pub fn push(&mut self, targets: &Targets, layout: &Layout, out: &RunOutput) {
        let n = layout.n_cells();
        for (v, t) in self.values.iter_mut().zip(&targets.rows) {
            v.push(
                out.samples
                    .get(t.sample * n + t.cell)
                    .copied()
                    .unwrap_or(f64::NAN),
            );
        }
    }
}

/// One target's fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Residual {
    #[serde(flatten)]
    pub target: Target,
    /// Median, 5th and 95th percentiles of the runs' values (linear interpolation between order
    /// statistics).
    pub median: f64,
    pub p05: f64,
    pub p95: f64,
    /// `z_obs − m` on the scored scale.
    pub residual: f64,
    /// `(z_obs − m) / sqrt(v)`.
    pub standardized: f64,
    /// The target's term of the loss.
    pub contribution: f64,
}

/// The loss of a set of runs against the targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// Sum of the in-sample targets' contributions.
    pub in_sample: f64,
    /// Sum of the held-out targets' contributions (0 when there are none).
    pub out_of_sample: f64,
    pub in_sample_targets: usize,
    pub out_of_sample_targets: usize,
    pub runs: usize,
    pub residuals: Vec<Residual>,
}

/// The `q`-quantile of sorted values, linear between order statistics.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Scores collected values against the targets. A target whose runs give a non-finite value
/// scores `+inf`.
pub fn score(targets: &Targets, collected: &Collected) -> Score {
    let mut residuals = Vec::with_capacity(targets.rows.len());
    let (mut inside, mut outside) = (0.0, 0.0);
    for (t, xs) in targets.rows.iter().zip(&collected.values) {
        let floor = if is_log_metric(&t.metric) {
            LOG_FLOOR
        } else {
            LINEAR_FLOOR
        };
        let z: Vec<f64> = xs.iter().map(|&x| transform(&t.metric, x)).collect();
        let n = z.len() as f64;
        let mean = z.iter().sum::<f64>() / n;
        let var = if z.len() > 1 {
            z.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0)
        } else {
            0.0
        };
        let v = var + floor * floor;
        let residual = transform(&t.metric, t.value) - mean;
        let mut contribution = t.weight * (residual * residual / v + (v / (floor * floor)).ln());
        if !contribution.is_finite() {
            contribution = f64::INFINITY;
        }
        let mut sorted = xs.clone();
        sorted.sort_by(f64::total_cmp);
        if t.held_out {
            outside += contribution;
        } else {
            inside += contribution;
        }
        residuals.push(Residual {
            target: t.clone(),
            median: quantile_sorted(&sorted, 0.5),
            p05: quantile_sorted(&sorted, 0.05),
            p95: quantile_sorted(&sorted, 0.95),
            residual,
            standardized: residual / v.sqrt(),
            contribution,
        });
    }
    Score {
        in_sample: inside,
        out_of_sample: outside,
        in_sample_targets: targets.rows.iter().filter(|t| !t.held_out).count(),
        out_of_sample_targets: targets.rows.iter().filter(|t| t.held_out).count(),
        runs: collected.values.first().map_or(0, Vec::len),
        residuals,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Scenario {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/small.toml");
        Scenario::from_file(&p).unwrap()
    }

    fn parse(text: &str, fit_until: f64) -> Result<Targets, ScenarioError> {
        let sc = small();
        let layout = Layout::new(&sc);
        let chains: Vec<String> = sc.chains.iter().map(|c| c.id.clone()).collect();
        Targets::parse(Path::new("t.csv"), text, &layout, &chains, None, fit_until)
    }

    #[test]
    fn a_perfect_deterministic_fit_scores_zero_and_the_terms_are_exact() {
        let sc = small();
        let chain = &sc.chains[1].id;
        let t = parse(
            &format!("day,metric,chain,value,weight\n1,tvl_usd,{chain},100,2\n2,l2_share,,0.5,\n"),
            1.0,
        )
        .unwrap();
        assert!(!t.rows[0].held_out && t.rows[1].held_out);
        let c = Collected {
            values: vec![vec![100.0; 4], vec![0.5; 4]],
        };
        let s = score(&t, &c);
        assert_eq!((s.in_sample, s.out_of_sample), (0.0, 0.0));
        // Runs e^1 - 1 and e^3 - 1 on the log scale: mean 2, variance 2.
        let c = Collected {
            values: vec![vec![1f64.exp() - 1.0, 3f64.exp() - 1.0], vec![0.5, 0.5]],
        };
        let s = score(&t, &c);
        let v = 2.0 + LOG_FLOOR * LOG_FLOOR;
        let z = 101f64.ln() - 2.0;
        let want = 2.0 * (z * z / v + (v / (LOG_FLOOR * LOG_FLOOR)).ln());
        assert!(
            (s.in_sample - want).abs() <= 1e-12 * want,
            "{} vs {want}",
            s.in_sample
        );
        assert_eq!(s.runs, 2);
    }

    #[test]
    fn bad_rows_are_located() {
        let err = parse("day,metric,chain,value\n1,tvl_usd,nope,1\n2,no_metric,,1\n1e9,l2_share,,1\n3,l2_share,,inf\n", 1.0)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("t.csv:2:11: chain = \"nope\": no such chain"),
            "{err}"
        );
        assert!(err.contains("t.csv:3:3: metric = \"no_metric\""), "{err}");
        assert!(err.contains("t.csv:4:1: day = \"1e9\""), "{err}");
        assert!(
            err.contains("t.csv:5:13: value = \"inf\": must be a finite number"),
            "{err}"
        );
    }

    #[test]
    fn quantiles_interpolate_order_statistics() {
        let s = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile_sorted(&s, 0.5), 3.0);
        assert_eq!(quantile_sorted(&s, 0.05), 1.2);
        assert_eq!(quantile_sorted(&s, 1.0), 5.0);
    }
}
