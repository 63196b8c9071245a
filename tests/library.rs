//! The scenario library: each file's header claims a direction against the baseline; this test
//! runs the baseline and every library scenario with common random numbers (64 runs: the
//! counterfactuals of an equilibrium start move capital by less than a transient did) and checks each claim
//! on the paired per-run differences, with a tolerance of 4 Monte Carlo standard errors of the
//! paired mean (so a claim fails if the effect is absent or reversed, not by bad luck).

use std::path::Path;

use l2sim::batch::{self, BatchConfig, PairedStat};
use l2sim::engine::{Keep, Layout, RunOutput};
use l2sim::scenario::Scenario;

const RUNS: u64 = 64;

/// Value of the cell named `column` (e.g. `tvl_usd.linea`) at the sample nearest to `day`.
fn at_day(layout: &Layout, out: &RunOutput, column: &str, day: f64) -> f64 {
    let cell = layout
        .cells
        .iter()
        .position(|c| c.column() == column)
        .unwrap_or_else(|| panic!("no cell {column}"));
    let k = layout
        .sample_days
        .iter()
        .position(|&d| d >= day)
        .unwrap_or(layout.sample_days.len() - 1);
    out.samples[k * layout.n_cells() + cell]
}

fn last(layout: &Layout, out: &RunOutput, column: &str) -> f64 {
    batch::run_value(layout, out, column)
}

enum Direction {
    Higher,
    Lower,
}

struct Claim {
    scenario: &'static str,
    what: &'static str,
    direction: Direction,
    value: fn(&Layout, &RunOutput) -> f64,
}

fn claims() -> Vec<Claim> {
    use Direction::*;
    vec![
        Claim {
            scenario: "optimistic_first_mover",
            what: "zk_share_of_l2 at day 730",
            direction: Lower,
            value: |l, o| last(l, o, "zk_share_of_l2"),
        },
        Claim {
            scenario: "zk_fast_withdrawals",
            what: "zk_share_of_l2 at day 730",
            direction: Higher,
            value: |l, o| last(l, o, "zk_share_of_l2"),
        },
        Claim {
            scenario: "optimistic_fast_finality",
            what: "mean capital in transit",
            direction: Lower,
            value: |l, o| last(l, o, "mean_in_transit_usd"),
        },
        Claim {
            scenario: "bridge_hack_panic",
            what: "peak capital in transit",
            direction: Higher,
            value: |l, o| last(l, o, "peak_in_transit_usd"),
        },
        Claim {
            scenario: "bridge_hack_panic",
            what: "optimistic TVL at day 150",
            direction: Lower,
            value: |l, o| at_day(l, o, "tvl_optimistic_usd", 150.0),
        },
        Claim {
            scenario: "blob_fee_drop",
            what: "l2_share at day 85 (before the drop)",
            direction: Lower,
            value: |l, o| at_day(l, o, "l2_share", 85.0),
        },
        Claim {
            scenario: "blob_fee_drop",
            what: "L1 data revenue over the horizon",
            direction: Higher,
            value: |l, o| last(l, o, "l1_data_revenue_usd"),
        },
        Claim {
            scenario: "airdrop_farming",
            what: "Linea TVL at day 200",
            direction: Higher,
            value: |l, o| at_day(l, o, "tvl_usd.linea", 200.0),
        },
        Claim {
            scenario: "airdrop_farming",
            what: "change of Linea TVL from day 200 to day 400 (farmers leave)",
            direction: Lower,
            value: |l, o| {
                at_day(l, o, "tvl_usd.linea", 400.0) - at_day(l, o, "tvl_usd.linea", 200.0)
            },
        },
        Claim {
            scenario: "institutional_custody",
            what: "l2_share at day 730",
            direction: Higher,
            value: |l, o| last(l, o, "l2_share"),
        },
        Claim {
            scenario: "alt_l1_competition",
            what: "alt_l1_share at day 730",
            direction: Higher,
            value: |l, o| last(l, o, "alt_l1_share"),
        },
    ]
}

#[test]
fn every_library_scenario_moves_in_the_direction_its_header_claims() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let claims = claims();
    let mut names: Vec<&str> = claims.iter().map(|c| c.scenario).collect();
    names.dedup();
    let mut scenarios = vec![Scenario::baseline()];
    for n in &names {
        scenarios.push(
            Scenario::from_file(&dir.join(format!("{n}.toml"))).unwrap_or_else(|e| panic!("{e}")),
        );
    }
    let refs: Vec<&Scenario> = scenarios.iter().collect();
    let layouts: Vec<Layout> = scenarios.iter().map(Layout::new).collect();
    let mut stats = vec![PairedStat::default(); claims.len()];
    let cfg = BatchConfig {
        runs: RUNS,
        blocks: None,
        seed: 20250101,
        threads: None,
        keep: Keep::Trajectory,
        cancel: None,
    };
    batch::run_paired(
        &refs,
        &cfg,
        &|_| {},
        &mut |outs: &[l2sim::engine::RunOutput]| {
            for (claim, stat) in claims.iter().zip(stats.iter_mut()) {
                let s = 1 + names.iter().position(|n| *n == claim.scenario).unwrap();
                stat.add(
                    (claim.value)(&layouts[0], &outs[0]),
                    (claim.value)(&layouts[s], &outs[s]),
                );
            }
            Ok(())
        },
    )
    .unwrap();
    let mut failures = Vec::new();
    for (claim, stat) in claims.iter().zip(&stats) {
        let (mean, sem) = (stat.diff().mean, stat.diff().sem());
        let holds = match claim.direction {
            Direction::Higher => mean > 4.0 * sem,
            Direction::Lower => mean < -4.0 * sem,
        };
        let line = format!(
            "{}: {} paired mean difference {mean:.4e} (sem {sem:.2e}, n {})",
            claim.scenario,
            claim.what,
            stat.n()
        );
        println!("{line}");
        if !holds {
            failures.push(line);
        }
    }
    assert!(
        failures.is_empty(),
        "claims that do not hold:\n{}",
        failures.join("\n")
    );
}
