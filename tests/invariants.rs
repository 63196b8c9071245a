//! The invariants of docs/MODEL.md, checked on the real engine: conservation, Little's law,
//! logit equilibrium, determinism, common random numbers.

use crate::common;

use common::*;
use l2sim::batch::{self, BatchConfig};
use l2sim::engine::{Keep, initial_agents, run_seed};
use l2sim::model::{nested_probabilities, softmax};

/// A scenario that switches on every mechanism: hacks with panic and contagion, the price
/// factor, inflows, outflows, airdrops, incentives, fee, delay and parameter changes, custody.
fn everything() -> String {
    let mut s = SMALL.replace(
        "hack_risk_shock_per_year = 1.0",
        "hack_risk_shock_per_year = 1.0\nprice_drift_apy = 0.1\nprice_volatility = 0.8",
    );
    s = s.replace("risk_premium_apy = 0.003", "risk_premium_apy = 0.003\nhack_rate_per_year = 3\nhack_loss = { dist = \"beta\", alpha = 2, beta = 5 }");
    s = s.replace(
        "risk_premium_apy = 0.015",
        "risk_premium_apy = 0.015\nhack_rate_per_year = 2",
    );
    s.push_str(
        r#"
[[events]]
day = 5
kind = "incentives"
chain = "zk"
usd_per_day = 300000
duration_days = 40
[[events]]
day = 10
kind = "airdrop"
chain = "alt"
speculative_apy = 0.2
airdrop_day = 50
value_usd = 5e7
[[events]]
day = 20
kind = "fee_change"
chain_kind = "optimistic"
data_cost_multiplier = 0.1
[[events]]
day = 30
kind = "delay_change"
chain = "opt"
withdrawal_delay_days = 1
[[events]]
day = 35
kind = "hack"
chain = "opt"
loss = 0.4
[[events]]
day = 40
kind = "user_inflow"
segment = "retail"
agents = 200
duration_days = 10
[[events]]
day = 60
kind = "capital_outflow"
fraction = 0.1
[[events]]
day = 70
kind = "allow"
segment = "institution"
kinds = ["zk", "optimistic"]
[[events]]
day = 80
kind = "parameter"
chain = "opt"
field = "fast_exit_liquidity_usd"
value = 5e8
[[events]]
day = 90
kind = "hack"
chain = "zk"
loss = 1.0
"#,
    );
    s
}

#[test]
fn conservation_at_every_sample_over_many_seeds() {
    let sc = scenario(&everything());
    for seed in 0..12 {
        let (layout, outs) = runs(&sc, seed, 3);
        for out in &outs {
            assert!(
                out.conservation_error_max < 1e-9,
                "seed {seed} run {}: conservation error {}",
                out.run,
                out.conservation_error_max
            );
            assert!(
                out.samples.iter().all(|x| x.is_finite()),
                "non-finite sample"
            );
            let hacks = final_value(&layout, out, "hack_loss_usd");
            assert!(hacks > 0.0, "the scheduled hacks must lose capital");
        }
    }
    let sc = scenario(SMALL);
    let (_, outs) = runs(&sc, 99, 8);
    assert!(outs.iter().all(|o| o.conservation_error_max < 1e-9));
}

/// Two chains, the optimistic one with a 7-day delay and no fast exit, no yields, no fees, no
/// bridge time, no inertia: after burn-in the flows are stationary and the capital in transit
/// must equal the canonical withdrawal flow times the delay (L = λW).
#[test]
fn littles_law_for_capital_in_transit() {
    let text = r#"
name = "little"
horizon_days = 400
bridge_time_days = 0
[[chains]]
id = "l1"
kind = "l1"
initial_tvl_usd = 1e9
tx_cost_usd = 0
confirmation_s = 10
[[chains]]
id = "opt"
kind = "optimistic"
initial_tvl_usd = 1e9
tx_cost_usd = 0
confirmation_s = 10
withdrawal_delay_days = 7
[[segments]]
name = "a"
agents = 2000
capital = { dist = "lognormal", median_usd = 1000, sigma = 0 }
review_rate_per_day = 0.2
logit_scale = 1
"#;
    let sc = scenario(text);
    let (layout, outs) = runs(&sc, 11, 24);
    let (t0, t1) = (100usize, 400usize);
    let diffs: Vec<f64> = outs
        .iter()
        .map(|o| {
            let transit = trajectory(&layout, o, "in_transit_usd");
            let cum = trajectory(&layout, o, "canonical_withdrawals_usd");
            let mean_transit = transit[t0..=t1].iter().sum::<f64>() / (t1 - t0 + 1) as f64;
            let flow_per_day = (cum[t1] - cum[t0]) / (t1 - t0) as f64;
            mean_transit - flow_per_day * 7.0
        })
        .collect();
    let (mean, sem) = mean_sem(&diffs);
    // Tolerance: 4 Monte Carlo standard errors of the paired per-run difference.
    assert!(mean.abs() < 4.0 * sem + 1e-9, "L - λW = {mean} (sem {sem})");
    let transit_scale = trajectory(&layout, &outs[0], "in_transit_usd")[300];
    assert!(
        transit_scale > 1e7,
        "the test must actually have capital in transit: {transit_scale}"
    );
}

/// Identical agents on equal-capital chains with no migration costs, no network effect, no
/// tastes, no inertia and fixed fees: every review is an independent draw from the choice
/// probabilities, so long-run TVL shares converge to their closed form.
fn equilibrium_scenario(kinds: &[&str], premia: &[f64], nests: &str) -> String {
    let mut text = format!(
        "name = \"logit\"\nhorizon_days = 150\nsample_every_days = 10\nbridge_time_days = 0\n{nests}\n"
    );
    for (i, (kind, p)) in kinds.iter().zip(premia).enumerate() {
        text.push_str(&format!(
            "[[chains]]\nid = \"c{i}\"\nkind = \"{kind}\"\ninitial_tvl_usd = 1e9\ntx_cost_usd = 0\nconfirmation_s = 10\nrisk_premium_apy = {p}\n"
        ));
    }
    text.push_str(
        "[[segments]]\nname = \"a\"\nagents = 4000\ncapital = { dist = \"lognormal\", median_usd = 1000, sigma = 0 }\nreview_rate_per_day = 0.1\nlogit_scale = 200\n",
    );
    text
}

fn assert_shares(text: &str, expected: &[f64]) {
    let sc = scenario(text);
    let (layout, outs) = runs(&sc, 5, 16);
    for (c, want) in expected.iter().enumerate() {
        let shares: Vec<f64> = outs
            .iter()
            .map(|o| final_value(&layout, o, &format!("tvl_share.c{c}")))
            .collect();
        let (mean, sem) = mean_sem(&shares);
        // Tolerance: 4 Monte Carlo standard errors across runs (plus the e^-15 chance that an
        // agent never reviewed in 150 days).
        assert!(
            (mean - want).abs() < 4.0 * sem + 1e-6,
            "chain {c}: share {mean} vs closed form {want} (sem {sem})"
        );
    }
}

#[test]
fn logit_equilibrium_matches_closed_form() {
    let kinds = ["l1", "optimistic", "zk", "alt_l1"];
    let premia = [0.0, 0.004, 0.008, 0.002];
    let utilities: Vec<f64> = premia.iter().map(|p| -p).collect();
    assert_shares(
        &equilibrium_scenario(&kinds, &premia, ""),
        &softmax(200.0, &utilities),
    );
}

#[test]
fn nested_logit_equilibrium_matches_closed_form() {
    let kinds = ["l1", "optimistic", "optimistic", "zk", "zk"];
    let premia = [0.006, 0.0, 0.003, 0.002, 0.004];
    let utilities: Vec<f64> = premia.iter().map(|p| -p).collect();
    let mu = [1.0, 0.3, 0.6, 1.0];
    let nest = [0u8, 1, 1, 2, 2];
    let expected = nested_probabilities(200.0, &utilities, &nest, &mu);
    let plain = softmax(200.0, &utilities);
    assert!(
        (expected[1] - plain[1]).abs() > 0.02,
        "the nests must matter in this test"
    );
    let nests = "[nests]\noptimistic = 0.3\nzk = 0.6\n";
    assert_shares(&equilibrium_scenario(&kinds, &premia, nests), &expected);
}

#[test]
fn results_do_not_depend_on_thread_count() {
    let sc = scenario(SMALL);
    let run_with = |threads| {
        let cfg = BatchConfig {
            runs: 40,
            blocks: None,
            seed: 3,
            threads: Some(threads),
            keep: Keep::Trajectory,
            cancel: None,
        };
        let mut seen = Vec::new();
        let r = batch::run_batch(&sc, &cfg, &|_| {}, &mut |o| {
            seen.push(o.clone());
            Ok(())
        })
        .expect("batch");
        (r, seen)
    };
    let (a, runs_a) = run_with(1);
    let (b, runs_b) = run_with(2);
    // Compared through their bit patterns (Debug prints every f64 exactly; NaN == NaN there).
    let same = |x: String, y: String| x == y;
    assert!(
        same(format!("{runs_a:?}"), format!("{runs_b:?}")),
        "per-run outputs differ between 1 and 2 threads"
    );
    assert!(
        same(format!("{:?}", a.cells), format!("{:?}", b.cells)),
        "aggregates differ between 1 and 2 threads"
    );
    assert!(
        same(format!("{:?}", a.run_stats), format!("{:?}", b.run_stats)),
        "run statistics differ"
    );
    assert_eq!(
        runs_a.iter().map(|o| o.run).collect::<Vec<_>>(),
        (0..40).collect::<Vec<_>>()
    );
}

#[test]
fn common_random_numbers_across_chain_parameters() {
    let a = scenario(SMALL);
    let b = scenario(&SMALL.replace(
        "withdrawal_delay_days = 0.5",
        "withdrawal_delay_days = 0.05",
    ));
    for r in 0..4 {
        let seed = run_seed(17, r);
        assert_eq!(
            initial_agents(&a, seed),
            initial_agents(&b, seed),
            "run {r} draws different agents"
        );
    }
    let (la, ra) = runs(&a, 17, 30);
    let (lb, rb) = runs(&b, 17, 30);
    let xa: Vec<f64> = ra
        .iter()
        .map(|o| final_value(&la, o, "zk_share_of_l2"))
        .collect();
    let xb: Vec<f64> = rb
        .iter()
        .map(|o| final_value(&lb, o, "zk_share_of_l2"))
        .collect();
    let paired: Vec<f64> = xa.iter().zip(&xb).map(|(a, b)| b - a).collect();
    let (_, sem_paired) = mean_sem(&paired);
    let (_, sem_a) = mean_sem(&xa);
    let (_, sem_b) = mean_sem(&xb);
    let sem_unpaired = (sem_a.powi(2) + sem_b.powi(2)).sqrt();
    assert!(
        sem_paired < sem_unpaired,
        "pairing must reduce the variance of B - A: paired sem {sem_paired} vs unpaired {sem_unpaired}"
    );
}
