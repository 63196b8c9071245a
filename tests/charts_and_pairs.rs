//! What the charts of a compare and a sweep are drawn from, checked against the files they must
//! agree with: the paired difference over time ends where `compare.csv` is, the shares by kind
//! of every run sum to one, and `plot --metric` draws any metric of a sweep and refuses others.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use crate::common;
use common::{csv_rows, l2sim, l2sim_ok, repo};

fn num(row: &HashMap<String, String>, col: &str) -> f64 {
    row[col]
        .parse()
        .unwrap_or_else(|_| panic!("{col}: {:?}", row[col]))
}

fn is_png(path: &Path) -> bool {
    fs::read(path).is_ok_and(|b| b.starts_with(b"\x89PNG") && b.len() > 10_000)
}

#[test]
fn the_paired_difference_over_time_ends_at_the_horizon_comparison() {
    let tmp = tempfile::tempdir().unwrap();
    l2sim_ok(
        tmp.path(),
        &[
            "compare",
            &repo("tests/data/small.toml"),
            &repo("tests/data/small_fast_zk.toml"),
            "--runs",
            "40",
            "--out",
            "cmp",
            "-q",
        ],
    );
    let dir = tmp.path().join("cmp");
    let over_time = csv_rows(&dir.join("paired_trajectories.csv"));
    let compare = csv_rows(&dir.join("compare.csv"));
    let horizon = over_time.iter().map(|r| num(r, "day")).fold(0.0, f64::max);
    let mut checked = 0;
    for last in over_time.iter().filter(|r| num(r, "day") == horizon) {
        assert_eq!(last["n"], "40");
        assert_eq!(last["chain"], "");
        // The horizon is the last sample: the same runs' differences as compare.csv's, in the
        // same order, so the same floating-point sums.
        let Some(c) = compare
            .iter()
            .find(|c| c["metric"] == last["metric"] && c["chain"].is_empty())
        else {
            continue;
        };
        for col in ["mean_diff", "ci95_low", "ci95_high"] {
            assert_eq!(num(last, col), num(c, col), "{} {col}", last["metric"]);
        }
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} metrics in both files");
    assert!(is_png(&dir.join("charts/compare_paired_over_time.png")));
    // Who gains and who loses, paired; and each scenario's own value flow and event log.
    assert!(is_png(&dir.join("charts/value_distribution.png")));
    for sub in ["A_small", "B_small_fast_zk"] {
        assert!(is_png(&dir.join(sub).join("charts/value_distribution.png")));
        let launches = csv_rows(&dir.join(sub).join("events.csv"))
            .into_iter()
            .filter(|e| e["kind"] == "launch" && e["day"] == "0.0")
            .count();
        // Every run logs every chain live from day 0.
        assert_eq!(launches % 40, 0, "{sub}: {launches} launches");
        assert!(launches > 0);
    }
}

#[test]
fn every_runs_shares_by_kind_sum_to_one() {
    let tmp = tempfile::tempdir().unwrap();
    l2sim_ok(
        tmp.path(),
        &[
            "run",
            &repo("tests/data/small.toml"),
            "--runs",
            "8",
            "--out",
            "run",
            "-q",
        ],
    );
    for r in csv_rows(&tmp.path().join("run/runs.csv")) {
        let sum: f64 = ["l1_share", "optimistic_share", "zk_share", "alt_l1_share"]
            .iter()
            .map(|c| num(&r, c))
            .sum();
        // Four quotients of the same total: a few ulps.
        assert!((sum - 1.0).abs() < 1e-12, "run {}: {sum}", r["run"]);
    }
}

#[test]
fn plot_draws_any_metric_of_a_sweep_and_refuses_others() {
    let tmp = tempfile::tempdir().unwrap();
    l2sim_ok(
        tmp.path(),
        &[
            "sweep",
            &repo("tests/data/small_sweep_2d.toml"),
            "--runs",
            "4",
            "--out",
            "sw",
            "-q",
        ],
    );
    let dir = tmp.path().join("sw");
    l2sim_ok(
        tmp.path(),
        &["plot", "sw", "--metric", "zk_overtakes", "-q"],
    );
    assert!(is_png(&dir.join("charts/sweep_zk_overtakes.png")));
    assert!(dir.join("charts/sweep_zk_overtakes.svg").is_file());
    let before = fs::read(dir.join("charts/sweep_heatmap.png")).unwrap();
    let o = l2sim(tmp.path(), &["plot", "sw", "--metric", "no_such_metric"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("\"no_such_metric\"") && err.contains("zk_share_of_l2"),
        "{err}"
    );
    assert!(!dir.join("charts/sweep_no_such_metric.png").exists());
    assert_eq!(
        fs::read(dir.join("charts/sweep_heatmap.png")).unwrap(),
        before
    );
    l2sim_ok(
        tmp.path(),
        &[
            "run",
            &repo("tests/data/small.toml"),
            "--runs",
            "2",
            "--out",
            "run",
            "-q",
        ],
    );
    let o = l2sim(tmp.path(), &["plot", "run", "--metric", "l2_share"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--metric applies to the folder of a `sweep`")
    );
}
