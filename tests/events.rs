//! Every event kind moves its target in the expected direction. Each test compares paired runs
//! (same seeds, common random numbers) with and without the event, and asserts that the mean
//! paired difference is beyond 4 of its Monte Carlo standard errors in the expected direction.

use crate::common;

use common::*;

const RUNS: u64 = 32;

/// Paired final-value differences (with event − without) of `column`.
fn paired_effect(event: &str, column: &str) -> (f64, f64) {
    paired_effect_on(SMALL, event, column)
}

/// The small scenario with its retail segment only: fees weigh on small wallets.
fn retail_only() -> String {
    let cut = SMALL
        .find("[[segments]]\nname = \"whale\"")
        .expect("whale segment in small.toml");
    SMALL[..cut].to_string()
}

fn paired_effect_on(base_text: &str, event: &str, column: &str) -> (f64, f64) {
    let base = scenario(base_text);
    let with_event = scenario(&format!("{base_text}\n[[events]]\n{event}\n"));
    let (la, ra) = runs(&base, 23, RUNS);
    let (lb, rb) = runs(&with_event, 23, RUNS);
    let diffs: Vec<f64> = ra
        .iter()
        .zip(&rb)
        .map(|(a, b)| final_value(&lb, b, column) - final_value(&la, a, column))
        .collect();
    mean_sem(&diffs)
}

fn assert_up(event: &str, column: &str) {
    assert_up_on(SMALL, event, column);
}

fn assert_up_on(base: &str, event: &str, column: &str) {
    let (mean, sem) = paired_effect_on(base, event, column);
    assert!(
        mean > 4.0 * sem && mean > 0.0,
        "{column} should rise: paired mean {mean}, sem {sem}\n{event}"
    );
}

fn assert_down(event: &str, column: &str) {
    let (mean, sem) = paired_effect(event, column);
    assert!(
        mean < -4.0 * sem && mean < 0.0,
        "{column} should fall: paired mean {mean}, sem {sem}\n{event}"
    );
}

#[test]
fn incentives_attract_capital() {
    assert_up(
        "day = 10\nkind = \"incentives\"\nchain = \"zk\"\nusd_per_day = 500000\nduration_days = 200",
        "tvl_usd.zk",
    );
}

#[test]
fn airdrop_speculation_attracts_then_pays() {
    assert_up(
        "day = 5\nkind = \"airdrop\"\nchain = \"zk\"\nspeculative_apy = 0.3\nairdrop_day = 120",
        "tvl_usd.zk",
    );
}

#[test]
fn fee_cuts_attract_small_wallets() {
    let retail = retail_only();
    assert_up_on(
        &retail,
        "day = 1\nkind = \"fee_change\"\nchain = \"l1\"\ntx_cost_multiplier = 0.05",
        "tvl_share.l1",
    );
    assert_up_on(
        &retail,
        "day = 1\nkind = \"fee_change\"\nchain_kind = \"zk\"\ntx_cost_multiplier = 0.02",
        "tvl_share.zk",
    );
}

#[test]
fn shorter_optimistic_withdrawals_raise_their_share() {
    assert_up(
        "day = 1\nkind = \"delay_change\"\nchain = \"opt\"\nwithdrawal_delay_days = 0.05",
        "tvl_share.opt",
    );
}

#[test]
fn hack_loses_capital_and_drives_it_out() {
    let hack = "day = 30\nkind = \"hack\"\nchain = \"opt\"\nloss = 0.3";
    assert_up(hack, "hack_loss_usd");
    assert_down(hack, "tvl_usd.opt");
}

#[test]
fn user_inflow_adds_agents_and_capital() {
    let inflow = "day = 10\nkind = \"user_inflow\"\nsegment = \"retail\"\nagents = 300\nduration_days = 20\ncapital = { dist = \"lognormal\", median_usd = 1e7, sigma = 0.1 }";
    assert_up(inflow, "agents");
    assert_up(inflow, "tvl_total_usd");
}

#[test]
fn capital_outflow_shrinks_the_system() {
    assert_down(
        "day = 50\nkind = \"capital_outflow\"\nfraction = 0.2",
        "tvl_total_usd",
    );
}

#[test]
fn custody_support_lets_institutions_onto_rollups() {
    assert_up(
        "day = 10\nkind = \"allow\"\nsegment = \"institution\"\nkinds = [\"zk\"]",
        "tvl_usd.zk",
    );
}

#[test]
fn parameter_event_changes_a_chain_field() {
    assert_up(
        "day = 10\nkind = \"parameter\"\nchain = \"alt\"\nfield = \"organic_yield_apy\"\nvalue = 0.09",
        "tvl_share.alt",
    );
}
