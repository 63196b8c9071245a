//! Who earns the fees and why things happened: the value-flow identities per run, the data-cost
//! pass-through in closed form, `events.csv` against the scenario and `runs.csv`, compare's paired
//! rows against the per-run values, and the new files' determinism across thread counts.

use std::fs;

use crate::common;
use common::{SMALL, csv_rows, final_value, l2sim_ok, runs, scenario};
use l2sim::model;
use l2sim::report::value::recipients;

/// The small scenario with a hack of `opt` at day 30 and blobs (data cost × 0.1) on every rollup
/// at day 60; every rollup's pass-through is `pass_through`.
fn eventful(pass_through: f64) -> String {
    let mut text = SMALL.replace(
        "data_cost_factor = ",
        &format!("data_cost_pass_through = {pass_through}\ndata_cost_factor = "),
    );
    text.push_str(
        "\n[[events]]\nday = 30\nkind = \"hack\"\nchain = \"opt\"\nloss = 0.1\n\n\
         [[events]]\nday = 60\nkind = \"fee_change\"\nchain_kind = \"optimistic\"\ndata_cost_multiplier = 0.1\n\n\
         [[events]]\nday = 60\nkind = \"fee_change\"\nchain_kind = \"zk\"\ndata_cost_multiplier = 0.1\n",
    );
    text
}

#[test]
fn recipients_add_up_to_the_fees_users_paid_in_every_run() {
    for pi in [1.0, 0.0] {
        let sc = scenario(&eventful(pi));
        let chains: Vec<_> = sc.chains.iter().map(|c| (c.id.clone(), c.kind)).collect();
        let all = recipients(&chains);
        let (layout, outs) = runs(&sc, 11, 6);
        for out in &outs {
            let value = |m: &str| final_value(&layout, out, m);
            let revenue: f64 = all
                .iter()
                .filter(|r| r.kind == "revenue")
                .map(|r| value(&r.metric))
                .sum();
            let losses: f64 = all
                .iter()
                .filter(|r| r.kind == "loss")
                .map(|r| value(&r.metric))
                .sum();
            let paid = value("users_fees_paid_usd");
            assert!(paid > 0.0);
            // Float rounding only: the same fees are summed in two orders (relative 1e-9).
            assert!(
                (revenue - paid).abs() <= 1e-9 * paid,
                "π = {pi}, run {}: recipients {revenue} vs users paid {paid}",
                out.run
            );
            assert!(
                (revenue + losses - (paid + value("hack_loss_usd"))).abs() <= 1e-9 * paid.max(1.0)
            );
            // The scheduled hack took a positive share of opt's TVL.
            assert!(value("hack_loss_usd.opt") > 0.0);
        }
    }
}

#[test]
fn pass_through_splits_a_data_cost_drop_in_closed_form() {
    let sc = scenario(&eventful(1.0));
    let mut chain = sc.chains.iter().find(|c| c.id == "opt").unwrap().clone();
    let (f0, fee_l1) = (chain.data_cost_factor, 3.0);
    chain.data_cost_factor = f0 * 0.1;
    let full = model::chain_fee(&chain, f0, 1.0, 1.0, fee_l1);
    chain.data_cost_pass_through = 0.0;
    let none = model::chain_fee(&chain, f0, 1.0, 1.0, fee_l1);
    chain.data_cost_pass_through = 0.25;
    let quarter = model::chain_fee(&chain, f0, 1.0, 1.0, fee_l1);
    let saved = (f0 - chain.data_cost_factor) * fee_l1;
    // Exact up to one rounding of each product (relative 1e-12).
    let tol = 1e-12 * full.fee_usd.max(saved);
    assert_eq!(full.data_margin_usd, 0.0);
    assert!((none.fee_usd - full.fee_usd - saved).abs() <= tol);
    assert!((none.data_margin_usd - saved).abs() <= tol);
    assert!((quarter.data_margin_usd - 0.75 * saved).abs() <= tol);
    assert!((quarter.fee_usd - full.fee_usd - 0.75 * saved).abs() <= tol);
    assert_eq!(none.data_cost_usd, full.data_cost_usd);
    // A rise of the cost is a negative margin.
    chain.data_cost_factor = f0 * 2.0;
    chain.data_cost_pass_through = 0.0;
    let rise = model::chain_fee(&chain, f0, 1.0, 1.0, fee_l1);
    assert!((rise.data_margin_usd + f0 * fee_l1).abs() <= 1e-12 * f0 * fee_l1);

    // In a run: with π = 1 no margin ever; with π = 0 the rollups keep one after day 60 only.
    let (layout, full) = runs(&sc, 5, 2);
    let none_sc = scenario(&eventful(0.0));
    let (_, none) = runs(&none_sc, 5, 2);
    for (a, b) in full.iter().zip(&none) {
        for c in ["opt", "zk"] {
            let margin = |o| final_value(&layout, o, &format!("data_margin_usd.{c}"));
            assert_eq!(margin(a), 0.0);
            assert!(margin(b) > 0.0, "{c}: no margin with π = 0");
            let before = common::trajectory(&layout, b, &format!("data_margin_usd.{c}"));
            assert_eq!(before[59], 0.0, "{c}: margin before the drop");
        }
    }
}

#[test]
fn events_csv_holds_the_scheduled_hack_and_agrees_with_runs_csv() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("eventful.toml"), eventful(0.5)).unwrap();
    let args = ["run", "eventful.toml", "--runs", "6", "--no-plots", "-q"];
    let mut one = args.to_vec();
    one.extend(["--threads", "1", "--out", "one"]);
    l2sim_ok(tmp.path(), &one);
    let mut two = args.to_vec();
    two.extend(["--threads", "2", "--out", "two"]);
    l2sim_ok(tmp.path(), &two);
    for f in ["events.csv", "value_flow.csv", "runs.csv"] {
        assert!(
            fs::read(tmp.path().join("one").join(f)).unwrap()
                == fs::read(tmp.path().join("two").join(f)).unwrap(),
            "{f} depends on the thread count"
        );
    }
    let dir = tmp.path().join("one");
    let events = csv_rows(&dir.join("events.csv"));
    let runs_rows = csv_rows(&dir.join("runs.csv"));
    assert_eq!(runs_rows.len(), 6);
    for r in &runs_rows {
        let run = &r["run"];
        let mine: Vec<_> = events.iter().filter(|e| &e["run"] == run).collect();
        let hack = mine
            .iter()
            .find(|e| e["kind"] == "hack" && e["day"] == "30.0" && e["chain"] == "opt")
            .unwrap_or_else(|| panic!("run {run}: no hack row at day 30"));
        assert!(hack["amount_usd"].parse::<f64>().unwrap() > 0.0);
        assert_eq!(r["hacked_optimistic"], "1.0");
        let blobs = mine
            .iter()
            .filter(|e| e["kind"] == "scheduled_fee_change" && e["day"] == "60.0")
            .count();
        assert_eq!(blobs, 2, "run {run}");
        // Overtakes: the first `zk_overtakes` row is runs.csv's zk_overtakes_day.
        let first = mine.iter().find(|e| e["kind"] == "zk_overtakes");
        match (first, r["zk_overtakes_day"].as_str()) {
            (None, "NaN") => assert_eq!(r["zk_overtakes"], "0.0"),
            (Some(e), day) => {
                assert_eq!(
                    e["day"].parse::<f64>().unwrap(),
                    day.parse::<f64>().unwrap()
                );
                assert_eq!(r["zk_overtakes"], "1.0");
            }
            (None, day) => panic!("run {run}: overtook at {day} but no event"),
        }
        // Rows are in time order within a run.
        let days: Vec<f64> = mine.iter().map(|e| e["day"].parse().unwrap()).collect();
        assert!(days.windows(2).all(|w| w[0] <= w[1]), "run {run}: {days:?}");
    }
    // The date column is empty without a calendar, and every amount reads as a float.
    assert!(events.iter().all(|e| e["date"].is_empty()));
    assert!(events.iter().all(|e| e["amount_usd"].contains(['.', 'e'])));
    // summary.json: the value flow and the conditional probabilities with their counts.
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("summary.json")).unwrap()).unwrap();
    assert!(
        !summary["value_flow"]["recipients"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let cond = &summary["conditional"][0];
    assert_eq!(cond["condition"], "hacked_optimistic");
    assert_eq!(cond["given"]["runs"], 6);
    assert_eq!(cond["given_not"]["runs"], 0);
}

#[test]
fn compare_value_flow_is_the_paired_difference_of_the_runs() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("a.toml"), eventful(1.0)).unwrap();
    fs::write(
        tmp.path().join("b.toml"),
        eventful(0.0).replace("name = \"small\"", "name = \"small_margin\""),
    )
    .unwrap();
    l2sim_ok(
        tmp.path(),
        &[
            "compare",
            "a.toml",
            "b.toml",
            "--runs",
            "5",
            "--no-plots",
            "-q",
            "--out",
            "cmp",
        ],
    );
    let dir = tmp.path().join("cmp");
    let rows = csv_rows(&dir.join("value_flow.csv"));
    let a = csv_rows(&dir.join("A_small/runs.csv"));
    let b = csv_rows(&dir.join("B_small_margin/runs.csv"));
    assert!(rows.len() > 10);
    for row in &rows {
        let m = &row["metric"];
        let diffs: Vec<f64> = a
            .iter()
            .zip(&b)
            .map(|(x, y)| y[m].parse::<f64>().unwrap() - x[m].parse::<f64>().unwrap())
            .collect();
        let mean = diffs.iter().sum::<f64>() / diffs.len() as f64;
        let got: f64 = row["mean_diff"].parse().unwrap();
        // The same differences summed in another order: rounding only.
        assert!(
            (got - mean).abs() <= 1e-9 * mean.abs().max(1.0),
            "{m}: {got} vs {mean}"
        );
        assert_eq!(row["n"], "5");
    }
    // Keeping the blob savings is a gain for the rollups' sequencers: their margin rises.
    let margin = rows
        .iter()
        .find(|r| r["recipient"] == "sequencer_data_margin" && r["chain"] == "opt")
        .unwrap();
    assert_eq!(margin["verdict"], "gains");
    let report = fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(report.contains("Who gains and who loses"));
}
