//! Reactions in proportion (docs/MODEL.md): a hack is felt in proportion to what users lost, and
//! activity responds to fees so that the fee burden stays bounded. Paired runs (common random
//! numbers), tolerances of 4 Monte Carlo standard errors of the paired mean.

use crate::common;

use common::*;
use l2sim::model;

const RUNS: u64 = 32;

/// `tests/data/small.toml` with hacks felt in proportion to the loss (`hack_loss_scale = 0.05`).
fn proportional() -> String {
    SMALL.replacen("[market]\n", "[market]\nhack_loss_scale = 0.05\n", 1)
}

fn hack(loss: f64, reimbursed: f64) -> String {
    format!(
        "{}\n[[events]]\nday = 30\nkind = \"hack\"\nchain = \"opt\"\nloss = {loss}\nreimbursed = {reimbursed}\n",
        proportional()
    )
}

/// Per run, the share of the optimistic chain's remaining capital that left it by day 40 because
/// of the hack: `1 − TVL_hack / (TVL_none · (1 − users' loss))`.
fn departures(loss: f64, reimbursed: f64) -> Vec<f64> {
    let none = scenario(&proportional());
    let with = scenario(&hack(loss, reimbursed));
    let (la, ra) = runs(&none, 5, RUNS);
    let (lb, rb) = runs(&with, 5, RUNS);
    let k = la.sample_days.iter().position(|&d| d == 40.0).unwrap();
    let kept = 1.0 - loss * (1.0 - reimbursed);
    ra.iter()
        .zip(&rb)
        .map(|(a, b)| {
            let ta = trajectory(&la, a, "tvl_usd.opt")[k];
            let tb = trajectory(&lb, b, "tvl_usd.opt")[k];
            1.0 - tb / (ta * kept)
        })
        .collect()
}

#[test]
fn a_hack_whose_users_lost_nothing_moves_no_capital() {
    for (loss, reimbursed) in [(0.0, 0.0), (0.3, 1.0)] {
        let none = scenario(&proportional());
        let with = scenario(&hack(loss, reimbursed));
        let (la, ra) = runs(&none, 5, RUNS);
        let (lb, rb) = runs(&with, 5, RUNS);
        let diffs: Vec<f64> = ra
            .iter()
            .zip(&rb)
            .map(|(a, b)| final_value(&lb, b, "tvl_usd.opt") - final_value(&la, a, "tvl_usd.opt"))
            .collect();
        let (mean, sem) = mean_sem(&diffs);
        // Within 4 standard errors of the paired mean; here even equal run by run, since a hack
        // felt at 0 draws no panic and shocks nothing.
        assert!(mean.abs() <= 4.0 * sem, "loss {loss}: {mean} ± {sem}");
        assert!(diffs.iter().all(|d| *d == 0.0), "loss {loss}: {diffs:?}");
    }
}

#[test]
fn the_capital_that_leaves_grows_with_the_loss() {
    let levels: Vec<Vec<f64>> = [0.01, 0.05, 0.3]
        .iter()
        .map(|&l| departures(l, 0.0))
        .collect();
    for pair in levels.windows(2) {
        let diffs: Vec<f64> = pair[1].iter().zip(&pair[0]).map(|(b, a)| b - a).collect();
        let (mean, sem) = mean_sem(&diffs);
        assert!(mean > 4.0 * sem, "departures should grow: {mean} ± {sem}");
    }
    // Half the loss reimbursed is felt like half the loss.
    let half = departures(0.3, 0.5);
    let full = departures(0.15, 0.0);
    let diffs: Vec<f64> = half.iter().zip(&full).map(|(a, b)| a - b).collect();
    let (mean, sem) = mean_sem(&diffs);
    assert!(mean.abs() <= 4.0 * sem + 1e-12, "{mean} ± {sem}");
}

#[test]
fn the_hack_felt_is_zero_for_no_loss_and_tends_to_one() {
    assert_eq!(model::hack_felt(0.0, 0.05), 0.0);
    // Small losses: 1 − e^{−x} = x (1 − x/2 + …), here x = 0.02 (1 % below).
    let x = 0.001 / 0.05;
    assert!((model::hack_felt(0.001, 0.05) - x).abs() <= x * x / 2.0 * 1.01);
    assert!(model::hack_felt(0.5, 0.05) > 0.9999);
    assert_eq!(
        model::hack_felt(0.0, 0.0),
        1.0,
        "scale 0: the reference model"
    );
}

/// The demand model's closed forms: the fee cost is the area under the demand curve, and with
/// an elasticity of at least 1 the fees a wallet pays never exceed `tx · reference fee`.
#[test]
fn elastic_activity_bounds_what_a_wallet_pays() {
    let base = scenario(SMALL);
    let mut seg = base.segments[0].clone();
    seg.tx_per_month = 10.0;
    seg.reference_fee_usd = 0.5;
    for e in [0.5, 1.0, 1.5] {
        seg.fee_elasticity = e;
        for fee in [0.1, 0.5, 1.7, 16.8, 168.0] {
            // Midpoint rule on a fine grid against the closed form.
            let steps = 200_000;
            let h = fee / steps as f64;
            let area: f64 = (0..steps)
                .map(|i| model::activity_tx_per_month(&seg, (i as f64 + 0.5) * h) * h)
                .sum();
            let closed = model::fee_cost_per_month(&seg, fee);
            assert!(
                (area - closed).abs() <= 1e-6 * closed,
                "e {e} fee {fee}: {area} vs {closed}"
            );
            let paid = model::activity_tx_per_month(&seg, fee) * fee;
            if e >= 1.0 {
                assert!(
                    paid <= 10.0 * 0.5 * (1.0 + 1e-12),
                    "e {e} fee {fee}: pays {paid}"
                );
            }
        }
    }
}

/// The baseline's retail wallet (median capital 2,000 USD) at ten times the L1 fee: its yearly
/// fee burden stays below the bound of its demand model, `12 · tx_per_month · reference_fee / k`.
#[test]
fn retail_fee_burden_is_bounded_at_ten_times_the_l1_fee() {
    let base = l2sim::scenario::Scenario::baseline();
    let retail = base.segments.iter().find(|s| s.name == "retail").unwrap();
    assert!(
        retail.fee_elasticity >= 1.0,
        "the bound needs an elasticity of at least 1"
    );
    let k = 2000.0;
    let fee = 10.0 * base.chains[base.l1].tx_cost_usd;
    let burden = 12.0 * model::activity_tx_per_month(retail, fee) * fee / k;
    let bound = 12.0 * retail.tx_per_month * retail.reference_fee_usd / k;
    assert!(
        burden <= bound * (1.0 + 1e-12),
        "burden {burden} > bound {bound}"
    );
    // Without the demand response it would pay 12 · 10 · 15 USD = 90 % of its capital a year.
    assert!(12.0 * retail.tx_per_month * fee / k > 0.8);
}

/// Price exposure per chain: with nobody reviewing, a chain held in stablecoins
/// (`price_exposure = 0`) keeps its USD value through a volatile market price, a fully exposed
/// one moves with it, a chain with its own asset moves apart, and the ledger still balances.
#[test]
fn each_chain_moves_with_its_own_asset_price() {
    let frozen = SMALL
        .replace("review_rate_per_day = 0.1", "review_rate_per_day = 1e-9")
        .replace("review_rate_per_day = 0.2", "review_rate_per_day = 1e-9")
        .replacen("[market]\n", "[market]\nprice_volatility = 0.8\n", 1);
    let alt = frozen.find("id = \"alt\"").unwrap();
    let zk = frozen.find("id = \"zk\"").unwrap();
    let mut text = frozen.clone();
    // Insert after the `kind` lines of the alt-L1 (stablecoins) and the ZK chain (own asset).
    let after = |t: &str, from: usize| from + t[from..].find('\n').unwrap() + 1;
    text.insert_str(after(&frozen, alt), "price_exposure = 0\n");
    let zk = if zk > alt {
        zk + "price_exposure = 0\n".len()
    } else {
        zk
    };
    text.insert_str(after(&text, zk), "own_price_volatility = 0.8\n");
    let sc = scenario(&text);
    let (layout, outs) = runs(&sc, 4, 4);
    let mut apart = 0;
    for o in &outs {
        let zk = trajectory(&layout, o, "tvl_usd.zk");
        let p = trajectory(&layout, o, "price_factor");
        let l = zk.len() - 1;
        // Its own asset (volatility 0.8 over 120 days, sd about 0.44 in log): not the market's.
        if (zk[l] / zk[0] / p[l] - 1.0).abs() > 0.05 {
            apart += 1;
        }
        assert!(
            o.conservation_error_max < 1e-9,
            "{}",
            o.conservation_error_max
        );
        let alt = trajectory(&layout, o, "tvl_usd.alt");
        let opt = trajectory(&layout, o, "tvl_usd.opt");
        let price = trajectory(&layout, o, "price_factor");
        let last = alt.len() - 1;
        // Stablecoins: only the yield moves them (under 2 % in 120 days at these yields).
        assert!(
            (alt[last] / alt[0] - 1.0).abs() < 0.02,
            "{}",
            alt[last] / alt[0]
        );
        // Fully exposed: the price factor times the yield.
        let ratio = opt[last] / opt[0] / price[last];
        assert!((ratio - 1.0).abs() < 0.02, "{ratio}");
    }
    assert!(
        apart >= 3,
        "the own-asset chain followed the market price in {} runs",
        4 - apart
    );
}

/// `[[events]]` appended to `base`.
fn with_events(base: &str, events: &[&str]) -> String {
    let mut s = base.to_string();
    for e in events {
        s.push_str(&format!("\n[[events]]\n{e}\n"));
    }
    s
}

/// Per run, the capital on chain `zk` at day `day`.
fn zk_at(text: &str, day: f64) -> Vec<f64> {
    let sc = scenario(text);
    let (l, outs) = runs(&sc, 8, RUNS);
    let k = l.sample_days.iter().position(|&d| d == day).unwrap();
    outs.iter()
        .map(|o| trajectory(&l, o, "tvl_usd.zk")[k])
        .collect()
}

/// Airdrop expectations sized by their expected value: a larger expected value per unit of
/// capital draws more capital before the airdrop day (paired, 4 standard errors).
#[test]
fn an_airdrop_draws_capital_in_proportion_to_its_expected_value() {
    let drop = |v: f64| {
        with_events(
            SMALL,
            &[&format!(
                "day = 5\nkind = \"airdrop\"\nchain = \"zk\"\nexpected_value_usd = {v}\nairdrop_day = 60\nvalue_usd = {v}"
            )],
        )
    };
    let none = zk_at(SMALL, 55.0);
    let small = zk_at(&drop(2e7), 55.0);
    let large = zk_at(&drop(1e8), 55.0);
    for (a, b, what) in [
        (&none, &small, "20 M vs none"),
        (&small, &large, "100 M vs 20 M"),
    ] {
        let d: Vec<f64> = b.iter().zip(a.iter()).map(|(b, a)| b - a).collect();
        let (mean, sem) = mean_sem(&d);
        assert!(mean > 4.0 * sem, "{what}: {mean} ± {sem}");
    }
}

/// Habit: capital that came for incentives partly stays after they end when inertia grows with
/// tenure. Share of the program's gain still on the chain 40 days after its end, paired.
#[test]
fn habit_keeps_part_of_the_capital_incentives_brought() {
    let program =
        "day = 10\nkind = \"incentives\"\nchain = \"zk\"\nusd_per_day = 800000\nduration_days = 60";
    let habit = SMALL.replace(
        "holding_horizon_days = 180",
        "holding_horizon_days = 180\nhabit_apy = 0.03\nhabit_days = 20",
    );
    assert_ne!(
        habit, SMALL,
        "the retail segment of small.toml takes a habit"
    );
    let kept = |base: &str| -> Vec<f64> {
        let before = zk_at(base, 9.0);
        let during = zk_at(&with_events(base, &[program]), 69.0);
        let after = zk_at(&with_events(base, &[program]), 110.0);
        let calm = zk_at(base, 110.0);
        (0..before.len())
            .map(|r| (after[r] - calm[r]) / (during[r] - before[r]))
            .collect()
    };
    let (with, without) = (kept(&habit), kept(SMALL));
    let d: Vec<f64> = with.iter().zip(&without).map(|(a, b)| a - b).collect();
    let (mean, sem) = mean_sem(&d);
    assert!(mean > 4.0 * sem, "share kept, habit − none: {mean} ± {sem}");
}
