//! The quantiles l2sim reports against the exact sample quantiles of the same runs.
//!
//! For `scenarios/baseline.toml` (whose runs include bridge hacks: the test counts them and
//! requires some) and `scenarios/bench.toml`, 200 runs each, run once through the library
//! (`batch::run_batch`, keeping every run's trajectory in memory), every cell's exact p05, p25,
//! p50, p75 and p95 at every sample day are computed as numpy's default `quantile` does (linear at
//! rank q·(n−1)). Then:
//! - each quantile of `quantiles.csv` before the last sample (from the sketches) is within the
//!   bound the sketch states for the `quantile_relative_accuracy` `a` written in `summary.json`:
//!   `a·((1−f)|x_i| + f|x_{i+1}|)` with `x_i ≤ x_{i+1}` the order statistics around rank `q·(n−1)`
//!   (`f` its fractional part), plus 1e-12 absolute for magnitudes reported as 0 and a relative
//!   1e-12 for the rounding of one logarithm: an exact bound, not a Monte Carlo tolerance;
//! - the last sample of `quantiles.csv` and every quantile of `summary.json`'s metrics (per-run
//!   statistics) equal the exact ones to 1e-12 relative (floating-point rounding only).

use std::path::Path;

use l2sim::batch::{self, BatchConfig, quantile_of_sorted};
use l2sim::engine::{Keep, RunOutput};
use l2sim::report::{QUANTILES, quantile_rows, summary_json};
use l2sim::scenario::Scenario;

const RUNS: u64 = 200;

fn close(a: f64, b: f64) -> bool {
    (a == b) || (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
}

/// The bound on a reported quantile at `q` of ascending `v` for order statistics within
/// relative `a`.
fn bound(v: &[f64], q: f64, a: f64) -> f64 {
    let h = q * (v.len() - 1) as f64;
    let i = h.floor() as usize;
    let f = h - i as f64;
    let next = v[(i + 1).min(v.len() - 1)];
    (a + 1e-12) * ((1.0 - f) * v[i].abs() + f * next.abs()) + 1e-12
}

fn check(file: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let sc = Scenario::from_file(&path).unwrap();
    let cfg = BatchConfig {
        runs: RUNS,
        blocks: None,
        seed: sc.seed,
        threads: None,
        keep: Keep::Trajectory,
        cancel: None,
    };
    let mut outs: Vec<RunOutput> = Vec::new();
    let result = batch::run_batch(&sc, &cfg, &|_| {}, &mut |o: &RunOutput| {
        outs.push(o.clone());
        Ok(())
    })
    .unwrap();
    let layout = &result.layout;
    let (n_cells, samples) = (layout.n_cells(), layout.sample_days.len());
    let summary = summary_json(&sc, &result);
    let a = summary["quantile_relative_accuracy"].as_f64().unwrap();
    assert!(a > 0.0 && a < 0.05, "{file}: stated accuracy {a}");

    // Every row of quantiles.csv, sample-major then cell, as `report` writes them.
    let rows = quantile_rows(&result);
    assert_eq!(rows.len(), samples * n_cells);
    let (mut sketched, mut worst) = (0usize, 0.0f64);
    for (k, chunk) in rows.chunks(n_cells).enumerate() {
        for (c, row) in chunk.iter().enumerate() {
            let mut v: Vec<f64> = outs
                .iter()
                .map(|o| o.samples[k * n_cells + c])
                .filter(|x| !x.is_nan())
                .collect();
            v.sort_by(f64::total_cmp);
            for (j, &q) in QUANTILES.iter().enumerate() {
                let (got, exact) = (row.stats[j + 1], quantile_of_sorted(&v, q));
                if v.is_empty() {
                    assert!(got.is_nan());
                    continue;
                }
                let what = format!("{file}: day {} {} {} q={q}", row.day, row.metric, row.chain);
                if k + 1 == samples {
                    assert!(close(got, exact), "{what}: {got} vs exact {exact}");
                } else {
                    let b = bound(&v, q, a);
                    assert!(
                        (got - exact).abs() <= b,
                        "{what}: {got} vs {exact}, bound {b}"
                    );
                    if exact != 0.0 {
                        worst = worst.max((got / exact - 1.0).abs());
                    }
                    sketched += 1;
                }
            }
        }
    }
    assert!(sketched > 0);
    eprintln!(
        "{file}: {sketched} sketched quantiles within the bound for accuracy {a}; worst relative error {worst:.2e}"
    );

    // summary.json: every per-run metric's quantiles exact.
    let columns = layout.run_columns();
    for (i, name) in columns.iter().enumerate() {
        let mut v: Vec<f64> = outs
            .iter()
            .map(|o| {
                if i < n_cells {
                    o.final_sample(layout)[i]
                } else {
                    o.run_metrics[i - n_cells]
                }
            })
            .filter(|x| !x.is_nan())
            .collect();
        v.sort_by(f64::total_cmp);
        let m = &summary["metrics"][name];
        for (key, q) in ["p05", "p25", "p50", "p75", "p95"].iter().zip(QUANTILES) {
            match m[key].as_f64() {
                Some(got) => {
                    let exact = quantile_of_sorted(&v, q);
                    assert!(close(got, exact), "{file}: {name} {key}: {got} vs {exact}");
                }
                None => assert!(v.is_empty(), "{file}: {name} {key} missing"),
            }
        }
        assert_eq!(m["missing"].as_u64(), Some(RUNS - v.len() as u64), "{name}");
    }

    if file.contains("baseline") {
        // Runs with a bridge hack (a loss somewhere by the horizon) are among the 200.
        let hack = columns.iter().position(|c| c == "hack_loss_usd").unwrap();
        let hacked = outs
            .iter()
            .filter(|o| o.final_sample(layout)[hack] > 0.0)
            .count();
        eprintln!("{file}: {hacked} of {RUNS} runs with a hack");
        assert!(
            hacked > 0,
            "no run with a hack: the test would not cover them"
        );
    }
}

#[test]
fn baseline_quantiles_within_the_stated_accuracy() {
    check("scenarios/baseline.toml");
}

#[test]
fn bench_quantiles_within_the_stated_accuracy() {
    check("scenarios/bench.toml");
}
