//! The shipped scenarios: all validate, the built-in baseline is `scenarios/baseline.toml`, and
//! `bench.toml` is the canonical benchmark of BENCH.md.

use std::path::Path;

use l2sim::scenario::{BASELINE_TOML, ChainKind, EventAction, Scenario};

#[test]
fn every_shipped_scenario_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "toml") {
            if let Err(e) = Scenario::from_file(&path) {
                panic!("{e}");
            }
            n += 1;
        }
    }
    assert!(n >= 2);
}

#[test]
fn built_in_baseline_is_the_shipped_file() {
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/baseline.toml"),
    )
    .unwrap();
    assert_eq!(shipped, BASELINE_TOML);
    let b = Scenario::baseline();
    let ids: Vec<&str> = b.chains.iter().map(|c| c.id.as_str()).collect();
    for id in [
        "ethereum",
        "arbitrum",
        "optimism",
        "base",
        "zksync",
        "starknet",
        "linea",
        "solana",
        "avalanche",
    ] {
        assert!(ids.contains(&id), "baseline lacks {id}");
    }
    let segs: Vec<&str> = b.segments.iter().map(|s| s.name.as_str()).collect();
    for s in ["retail", "whale", "yield_farmer", "institutional"] {
        assert!(segs.contains(&s), "baseline lacks segment {s}");
    }
}

#[test]
fn bench_is_the_canonical_benchmark() {
    let b =
        Scenario::from_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bench.toml"))
            .unwrap();
    assert_eq!(
        (b.horizon_days, b.sample_every_days, b.runs, b.seed),
        (365.0, 1.0, 200, 20240313)
    );
    assert_eq!(b.chains.len(), 9);
    assert_eq!(b.segments.iter().map(|s| s.agents).sum::<u32>(), 10_000);
    assert!((b.total_review_rate_per_day() - 1050.0).abs() < 1e-9);
    let eth = &b.chains[b.l1];
    assert_eq!(
        (
            eth.id.as_str(),
            eth.tx_cost_usd,
            eth.gas_volatility,
            eth.gas_reversion_per_day
        ),
        ("ethereum", 4.0, 0.15, 0.10)
    );
    let linea = &b.chains[b.chain_index("linea").unwrap()];
    assert_eq!(
        (linea.launch_day, linea.initial_tvl_usd, linea.kind),
        (60.0, 0.0, ChainKind::Zk)
    );
    assert!(
        b.chains
            .iter()
            .all(|c| c.hack_rate_per_year == 0.0 && c.capacity_tx_per_day == 0.0)
    );
    assert!(
        b.chains
            .iter()
            .all(|c| c.fast_exit_apr.at_kink == 0.0 && c.fast_exit_apr.at_full == 0.0)
    );
    assert!(!b.cohorts && b.market.price_volatility == 0.0 && b.market.contagion == 0.0);
    let rollups_blob_cut = b
        .events
        .iter()
        .filter(|e| e.day == 90.0)
        .map(|e| match e.action {
            EventAction::FeeChange {
                chains,
                data_cost_multiplier,
                ..
            } => (chains.count_ones(), data_cost_multiplier),
            _ => (0, 0.0),
        })
        .fold(0, |n, (c, m)| if m == 0.1 { n + c } else { n });
    assert_eq!(
        rollups_blob_cut, 6,
        "every rollup's data cost is cut at day 90"
    );
    assert!(b.events.iter().any(|e| e.day == 30.0
        && matches!(e.action, EventAction::Incentives { usd_per_day, duration_days, .. } if usd_per_day == 500_000.0 && duration_days == 120.0)));
}
