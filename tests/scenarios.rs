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

#[test]
fn library_scenarios_are_short_diffs_on_the_baseline_with_a_question() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let library = [
        "optimistic_first_mover",
        "zk_fast_withdrawals",
        "optimistic_fast_finality",
        "bridge_hack_panic",
        "blob_fee_drop",
        "airdrop_farming",
        "institutional_custody",
        "alt_l1_competition",
    ];
    let baseline = Scenario::baseline();
    for name in library {
        let path = dir.join(format!("{name}.toml"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("#:schema ./l2sim.schema.json\n# Question:"),
            "{name} must open with the schema directive, then its question"
        );
        assert!(
            text.contains("tested (tests/library.rs)"),
            "{name} must state the claim its test checks"
        );
        assert!(
            text.contains("extends = \"baseline.toml\""),
            "{name} must extend the baseline"
        );
        let sc = Scenario::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sc.name, name);
        let changes = l2sim::scenario::diff_lines(&baseline.raw, &sc.raw);
        assert!((3..=20).contains(&changes.len()), "{name}: {changes:?}");
    }
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn inheritance_merges_by_id_appends_events_and_removes() {
    let tmp = tempfile::tempdir().unwrap();
    let small = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/small.toml"),
    )
    .unwrap();
    write(
        tmp.path(),
        "parent.toml",
        &format!("{small}\n[[events]]\nday = 5\nkind = \"hack\"\nchain = \"opt\"\nloss = 0.1\n"),
    );
    let child = write(
        tmp.path(),
        "child.toml",
        r#"extends = "parent.toml"
remove_chains = ["alt"]
[market]
contagion = 0.9
[[chains]]
id = "zk"
withdrawal_delay_days = 0.04
[[segments]]
name = "whale"
capital = { dist = "lognormal", median_usd = 1e6, sigma = 0.5 }
[[events]]
day = 10
kind = "delay_change"
chain = "opt"
withdrawal_delay_days = 1
"#,
    );
    let sc = Scenario::from_file(&child).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        sc.name, "child",
        "a child without a name is named after its file"
    );
    assert_eq!(sc.chains.len(), 3);
    assert!(sc.chain_index("alt").is_none());
    let zk = &sc.chains[sc.chain_index("zk").unwrap()];
    assert_eq!(
        (zk.withdrawal_delay_days, zk.tx_cost_usd),
        (0.04, 0.05),
        "one field overridden, the rest inherited"
    );
    assert_eq!(sc.market.contagion, 0.9);
    assert_eq!(
        sc.market.hack_risk_shock_per_year, 1.0,
        "other market fields inherited"
    );
    let whale = sc.segments.iter().find(|s| s.name == "whale").unwrap();
    assert_eq!(
        whale.capital,
        l2sim::scenario::CapitalDist::Lognormal {
            median_usd: 1e6,
            sigma: 0.5
        },
        "tagged tables replace whole"
    );
    assert_eq!(sc.events.len(), 2, "events are appended");

    let replacing = write(
        tmp.path(),
        "replace.toml",
        "extends = \"child.toml\"\nname = \"replace\"\nreplace_events = true\n",
    );
    let sc = Scenario::from_file(&replacing).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        sc.events.is_empty(),
        "replace_events with no events clears them"
    );
    assert_eq!(sc.chains.len(), 3, "grandparent and parent both apply");
}

#[test]
fn inherited_errors_point_into_the_file_that_wrote_the_field() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "parent.toml",
        "name = \"p\"\nhorizon_days = 100\n[[chains]]\nid = \"l1\"\nkind = \"l1\"\ninitial_tvl_usd = 1e9\ntx_cost_usd = 1\nconfirmation_s = -5\n[[segments]]\nname = \"a\"\nagents = 10\ncapital = { dist = \"lognormal\", median_usd = 1000, sigma = 1 }\nreview_rate_per_day = 0.1\nlogit_scale = 10\n",
    );
    let child = write(
        tmp.path(),
        "child.toml",
        "extends = \"parent.toml\"\nhorizon_days = -3\n",
    );
    let err = Scenario::from_file(&child).unwrap_err().to_string();
    assert!(err.contains("child.toml:2:16: horizon_days = -3"), "{err}");
    assert!(
        err.contains("parent.toml:8:18: chains[0].confirmation_s = -5"),
        "{err}"
    );
}
