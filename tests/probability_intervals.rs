//! Every probability interval l2sim writes stays in [0, 1] (differences of probabilities in
//! [−1, 1]), in the CSV and JSON files of `run`, `compare` and `sweep`, down to 2 runs (where a
//! Wald interval of a probability of 0.5 would reach −0.19 to 1.19), and identical scenarios are
//! reported as a degenerate comparison. Exact, not statistical: the intervals are Wilson's and
//! Newcombe's score intervals, inside these ranges by construction.

use crate::common;

use std::fs;
use std::path::Path;

use common::{csv_rows, l2sim_ok};

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
        .display()
        .to_string()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

fn within(low: f64, high: f64, range: (f64, f64), what: &str) {
    assert!(
        range.0 <= low && low <= high && high <= range.1,
        "{what}: [{low}, {high}] outside {range:?}"
    );
}

/// Every indicator's mean is a probability: the overtaking and the hack and panic flags.
const INDICATORS: [&str; 5] = [
    "zk_overtakes",
    "hacked_optimistic",
    "hacked_zk",
    "hacked_alt_l1",
    "panicked",
];

#[test]
fn probability_intervals_stay_in_range() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (small, fast) = (data("small.toml"), data("small_fast_zk.toml"));
    for runs in ["2", "9"] {
        let out = format!("run{runs}");
        l2sim_ok(
            t,
            &[
                "run",
                &small,
                "--runs",
                runs,
                "--out",
                &out,
                "--no-plots",
                "-q",
            ],
        );
        let s = json(&t.join(&out).join("summary.json"));
        let p = s["zk_overtakes_probability"].as_f64().unwrap();
        let (l, h) = (
            s["zk_overtakes_ci95_low"].as_f64().unwrap(),
            s["zk_overtakes_ci95_high"].as_f64().unwrap(),
        );
        within(l, h, (0.0, 1.0), "summary.json zk_overtakes");
        assert!(l <= p && p <= h && h - l > 0.1, "[{l}, {h}] around {p}");
        for m in &INDICATORS[1..] {
            let st = &s["metrics"][m];
            let (lo, hi) = (
                st["ci95_low"].as_f64().unwrap(),
                st["ci95_high"].as_f64().unwrap(),
            );
            within(lo, hi, (0.0, 1.0), &format!("summary.json {m}"));
            // Wilson's interval has width even when every run agrees (p = 0 or 1).
            assert!(hi - lo > 0.05, "{m}: [{lo}, {hi}]");
        }
        // The conditional probabilities (given a flag, and given its absence).
        let conditional = s["conditional"].as_array().unwrap();
        assert_eq!(conditional.len(), 4);
        for c in conditional {
            for side in ["given", "given_not"] {
                let (lo, hi) = (&c[side]["wilson95_low"], &c[side]["wilson95_high"]);
                if c[side]["runs"] == 0 {
                    assert!(lo.is_null() && hi.is_null(), "{c}");
                } else {
                    within(
                        lo.as_f64().unwrap(),
                        hi.as_f64().unwrap(),
                        (0.0, 1.0),
                        "conditional",
                    );
                }
            }
        }

        // A scenario against itself: identical, no variance reduction; against another: in range.
        let cmp = format!("cmp{runs}");
        l2sim_ok(
            t,
            &[
                "compare",
                &small,
                &small,
                &fast,
                "--runs",
                runs,
                "--out",
                &cmp,
                "--no-plots",
                "-q",
            ],
        );
        for r in csv_rows(&t.join(&cmp).join("compare.csv")) {
            let f = |k: &str| r[k].parse::<f64>().unwrap_or(f64::NAN);
            let identical = r["identical"] == "true";
            if identical {
                assert_eq!(r["variance_reduction"], "NaN", "{r:?}");
            }
            if INDICATORS.contains(&r["metric"].as_str()) {
                for (lo, hi) in [
                    ("ci95_low", "ci95_high"),
                    ("unpaired_ci95_low", "unpaired_ci95_high"),
                ] {
                    within(f(lo), f(hi), (-1.0, 1.0), &format!("compare.csv {lo}"));
                }
                for m in ["mean_a", "mean_b"] {
                    within(f(m), f(m), (0.0, 1.0), m);
                }
            }
            // NaN exactly when no run has the metric in both (the overtaking day, never reached).
            assert_eq!(r["p_b_gt_a"] == "NaN", r["n"] == "0", "{r:?}");
            if r["n"] != "0" {
                within(f("p_b_gt_a"), f("p_b_gt_a"), (0.0, 1.0), "P(B > A)");
            }
        }
        let cj = json(&t.join(&cmp).join("compare.json"));
        let same = &cj["comparisons"][0]["metrics"]["l2_share"];
        assert_eq!(same["identical"], true);
        assert!(same["variance_reduction"].is_null());
        let z = &cj["comparisons"][1]["metrics"]["zk_overtakes"]["ci95"];
        within(
            z[0].as_f64().unwrap(),
            z[1].as_f64().unwrap(),
            (-1.0, 1.0),
            "compare.json",
        );

        let sw = format!("sweep{runs}");
        l2sim_ok(
            t,
            &[
                "sweep",
                &data("small_sweep_zip.toml"),
                "--runs",
                runs,
                "--out",
                &sw,
                "--no-plots",
                "-q",
            ],
        );
        for r in csv_rows(&t.join(&sw).join("sweep.csv")) {
            // Every indicator's mean is a probability: zk_overtakes and the hack and panic flags.
            if INDICATORS.contains(&r["metric"].as_str()) {
                let f = |k: &str| r[k].parse::<f64>().unwrap();
                within(
                    f("ci95_low"),
                    f("ci95_high"),
                    (0.0, 1.0),
                    "sweep.csv zk_overtakes",
                );
                assert!(f("ci95_low") <= f("mean") && f("mean") <= f("ci95_high"));
            }
        }
    }
}
