//! `summary.json`: headline statistics of every per-run metric (quantiles exact), the probability
//! that ZK overtakes optimistic with its Wilson interval, the relative accuracy that holds for the
//! sketched quantiles of `quantiles.csv` (the worst over its cells), the conservation error, and
//! the machine-dependent figures, which all live under the one key `perf`.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::batch::{BatchResult, Stat};
use crate::scenario::Scenario;

/// mean, sd, 95 % interval of the mean, exact p05/p25/p50/p75/p95 (numpy's default interpolation
/// over every run's value) and counts of one metric.
#[derive(Debug, Clone, Serialize)]
pub struct MetricSummary {
    pub n: u64,
    pub mean: Option<f64>,
    pub sd: Option<f64>,
    pub ci95_low: Option<f64>,
    pub ci95_high: Option<f64>,
    pub p05: Option<f64>,
    pub p25: Option<f64>,
    pub p50: Option<f64>,
    pub p75: Option<f64>,
    pub p95: Option<f64>,
    /// Runs where the metric has no value (e.g. ZK never overtook optimistic).
    pub missing: u64,
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

impl MetricSummary {
    /// The summary of `metric`'s values `stat`; an indicator's mean (a probability, such as
    /// `hacked_optimistic`) has its Wilson interval, inside [0, 1].
    pub fn of(metric: &str, stat: &Stat) -> MetricSummary {
        let m = &stat.moments();
        let (low, high) = stat.mean_interval(metric);
        let [p05, p25, p50, p75, p95] = stat.quantiles(crate::report::tables::QUANTILES);
        MetricSummary {
            n: m.count,
            mean: if m.count > 0 { finite(m.mean) } else { None },
            sd: finite(m.sd()),
            ci95_low: finite(low),
            ci95_high: finite(high),
            p05: finite(p05),
            p25: finite(p25),
            p50: finite(p50),
            p75: finite(p75),
            p95: finite(p95),
            missing: stat.missing(),
        }
    }
}

/// The whole `summary.json` document.
pub fn summary_json(scenario: &Scenario, result: &BatchResult) -> Value {
    let mut metrics = Map::new();
    for (name, stat) in result.run_columns.iter().zip(&result.run_stats) {
        metrics.insert(
            name.clone(),
            serde_json::to_value(MetricSummary::of(name, stat)).unwrap_or(Value::Null),
        );
    }
    // Runs in which ZK overtook optimistic: those with a `zk_overtakes_day`.
    let overtook = result
        .run_stat("zk_overtakes_day")
        .map_or(0, |s| s.moments().count);
    let p_overtake = overtook as f64 / result.runs.max(1) as f64;
    let (ci_low, ci_high) = crate::batch::wilson(overtook, result.runs);
    let wall = result.wall_seconds.max(1e-9);
    json!({
        "l2sim_version": env!("CARGO_PKG_VERSION"),
        "scenario": scenario.name,
        "seed": result.seed,
        "runs": result.runs,
        "horizon_days": scenario.horizon_days,
        "samples_per_run": result.layout.sample_days.len(),
        "conservation_error_max": result.conservation_error_max,
        "decisions_total": result.decisions,
        "events_total": result.events,
        "quantile_relative_accuracy": result.quantile_relative_accuracy(),
        "zk_overtakes_probability": p_overtake,
        "zk_overtakes_ci95_low": finite(ci_low),
        "zk_overtakes_ci95_high": finite(ci_high),
        "metrics": metrics,
        "perf": {
            "shards": result.shards,
            "wall_seconds": result.wall_seconds,
            "threads": result.threads,
            "runs_per_second": result.runs as f64 / wall,
            "decisions_per_second": result.decisions as f64 / wall,
            "decisions_per_second_per_thread": result.decisions as f64 / wall / result.threads.max(1) as f64,
            "events_per_second": result.events as f64 / wall,
        },
    })
}
