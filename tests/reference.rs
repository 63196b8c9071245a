//! The engine, however optimised, still produces the results of the reference stored in
//! `tests/data/bench_reference.json` (200 runs of `bench.toml` from the unoptimised engine), in
//! distribution: fresh runs with another seed must agree with it, metric by metric, within
//! 4 standard errors of the difference of two independent means.

use std::path::Path;

use l2sim::batch::{self, BatchConfig};
use l2sim::engine::Keep;
use l2sim::scenario::Scenario;

#[test]
fn optimised_engine_matches_the_stored_reference_within_monte_carlo_error() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("tests/data/bench_reference.json")).unwrap(),
    )
    .unwrap();
    let sc = Scenario::from_file(&root.join("scenarios/bench.toml")).unwrap();
    let cfg = BatchConfig {
        runs: 24,
        blocks: None,
        seed: 777,
        threads: None,
        keep: Keep::Final,
        cancel: None,
    };
    let result = batch::run_batch(&sc, &cfg, &|_| {}, &mut |_| Ok(())).unwrap();
    let mut failures = Vec::new();
    let metrics = reference["metrics"].as_object().unwrap();
    assert!(metrics.len() >= 20);
    for (name, r) in metrics {
        let stat = result
            .run_stat(name)
            .unwrap_or_else(|| panic!("no metric {name}"));
        let (m_ref, sd_ref, n_ref) = (
            r["mean"].as_f64().unwrap(),
            r["sd"].as_f64().unwrap(),
            r["n"].as_f64().unwrap(),
        );
        let (m, sd, n) = (
            stat.moments().mean,
            stat.moments().sd(),
            stat.moments().count as f64,
        );
        // Tolerance: 4 standard errors of the difference of two independent Monte Carlo means.
        let se = (sd_ref * sd_ref / n_ref + sd * sd / n).sqrt();
        if (m - m_ref).abs() > 4.0 * se + 1e-12 * m_ref.abs() {
            failures.push(format!(
                "{name}: {m} vs reference {m_ref} (4 se = {})",
                4.0 * se
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "the engine drifted from the reference:\n{}",
        failures.join("\n")
    );
}
