//! Designs, sensitivity and scenario discovery through the real binary (docs/MODEL.md, section
//! 12): the files and their shapes, a field that provably has no effect getting a total index of
//! exactly 0, PRIM's box on the simulator's outcome, and bad input refused with its location
//! (exit code 2, nothing written). The estimators themselves are tested on functions with known
//! indices and boxes in `sensitivity_estimators.rs` and `prim.rs`.

use std::fs;
use std::path::Path;

use crate::common;
use common::{csv_rows, l2sim, l2sim_ok, repo};

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

fn f(cell: &str) -> f64 {
    cell.parse()
        .unwrap_or_else(|_| panic!("{cell:?} is not a number"))
}

#[test]
fn sobol_indices_give_a_field_without_effect_a_total_index_of_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = repo("tests/data/small_sobol.toml");
    l2sim_ok(tmp.path(), &["sensitivity", &scenario, "--out", "s", "-q"]);
    let dir = tmp.path().join("s");
    for file in [
        "design.csv",
        "sensitivity.csv",
        "sensitivity.json",
        "sweep.csv",
        "report.html",
        "charts/sensitivity.png",
        "charts/sensitivity.svg",
    ] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    // 16 base rows of k + 2 = 5 points, in Saltelli's order.
    let design = csv_rows(&dir.join("design.csv"));
    assert_eq!(design.len(), 80);
    let roles: Vec<&str> = design[..5].iter().map(|r| r["role"].as_str()).collect();
    assert_eq!(roles, ["A", "AB_1", "AB_2", "AB_3", "B"]);
    // AB_2 is A with the second parameter taken from B.
    let p = "chains.opt.fast_exit_liquidity_usd";
    assert_eq!(design[2][p], design[4][p]);
    assert_eq!(
        design[2]["market.incentive_apy_cap"],
        design[0]["market.incentive_apy_cap"]
    );

    let rows = csv_rows(&dir.join("sensitivity.csv"));
    let text = fs::read_to_string(dir.join("sensitivity.csv")).unwrap();
    assert_eq!(
        text.lines().next(),
        Some("metric,parameter,index,estimate,ci95_low,ci95_high")
    );
    let metrics = ["l2_share", "zk_share_of_l2", "alt_l1_share", "zk_overtakes"];
    // 4 default metrics × 3 parameters × (S1, ST).
    assert_eq!(rows.len(), 4 * 3 * 2);
    for m in metrics {
        let of = |param: &str, index: &str| {
            rows.iter()
                .find(|r| r["metric"] == m && r["parameter"] == param && r["index"] == index)
                .unwrap_or_else(|| panic!("{m} {param} {index}"))
        };
        // The incentive cap acts only through model::incentive_apy, which is 0 when no
        // incentives are paid, as in small.toml: with common random numbers each AB_3 point's runs
        // equal its A point's bit for bit, so Jansen's total index is exactly 0 and its bootstrap
        // interval [0, 0] holds 0.
        let st = of("market.incentive_apy_cap", "ST");
        assert_eq!(f(&st["estimate"]), 0.0, "{m}: {st:?}");
        assert!(
            f(&st["ci95_low"]) <= 0.0 && f(&st["ci95_high"]) >= 0.0,
            "{m}: {st:?}"
        );
        let s1 = of("market.incentive_apy_cap", "S1");
        assert!(
            f(&s1["ci95_low"]) <= 0.0 && f(&s1["ci95_high"]) >= 0.0,
            "{m}: {s1:?}"
        );
        // The ZK delay does move the outcome: its total index is positive with an interval
        // above 0 (it is not a test that cannot fail).
        let delay = of("chains.kind:zk.withdrawal_delay_days", "ST");
        assert!(f(&delay["estimate"]) > 0.0, "{m}: {delay:?}");
    }
    let report = json(&dir.join("sensitivity.json"));
    assert_eq!(report["estimator"], "sobol");
    assert_eq!(report["design"]["points"], 80);
    // The group stands for every ZK chain's field.
    assert_eq!(
        report["design"]["parameters"][0]["members"],
        serde_json::json!(["chains.zk.withdrawal_delay_days"])
    );
    for m in report["metrics"].as_array().unwrap() {
        let v = &m["variance"];
        let (b, w) = (
            v["between_share"].as_f64().unwrap(),
            v["noise_share"].as_f64().unwrap(),
        );
        assert!((b + w - 1.0).abs() < 1e-12, "{v}");
        assert!(w > 0.0 && b > 0.0, "{v}");
    }
    let html = fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(
        html.contains("<h2>Sensitivity</h2>"),
        "no sensitivity section"
    );
}

#[test]
fn morris_screening_gives_a_field_without_effect_no_elementary_effect() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("morris.toml"),
        format!(
            "extends = {:?}\nname = \"small_morris\"\n[sweep]\ndesign = \"morris\"\nsamples = 6\nlevels = 4\nmetrics = [\"zk_share_of_l2\"]\n",
            repo("tests/data/small_sobol.toml")
        ),
    )
    .unwrap();
    l2sim_ok(
        tmp.path(),
        &["sensitivity", "morris.toml", "--out", "m", "-q"],
    );
    let design = csv_rows(&tmp.path().join("m/design.csv"));
    assert_eq!(design.len(), 6 * 4);
    assert_eq!(design[3]["role"], "step_3");
    let rows = csv_rows(&tmp.path().join("m/sensitivity.csv"));
    assert_eq!(rows.len(), 3 * 2);
    for index in ["mu_star", "sigma"] {
        let r = rows
            .iter()
            .find(|r| r["parameter"] == "market.incentive_apy_cap" && r["index"] == index)
            .unwrap();
        // Each elementary effect of the cap is a difference of bit-identical means: 0.
        assert_eq!(f(&r["estimate"]), 0.0, "{r:?}");
    }
    let delay = rows
        .iter()
        .find(|r| {
            r["parameter"] == "chains.kind:zk.withdrawal_delay_days" && r["index"] == "mu_star"
        })
        .unwrap();
    assert!(f(&delay["estimate"]) > 0.0, "{delay:?}");
}

#[test]
fn discovery_finds_the_box_of_an_outcome_and_writes_its_trajectory() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = repo("tests/data/small_lhs.toml");
    l2sim_ok(
        tmp.path(),
        &[
            "discover",
            &scenario,
            "--min-coverage",
            "0.5",
            "--out",
            "d",
            "-q",
        ],
    );
    let dir = tmp.path().join("d");
    let report = json(&dir.join("discovery.json"));
    assert_eq!(report["outcome"], "zk_share_of_l2 > 0.35");
    // Every run at every point is a case: 24 points × 8 runs.
    assert_eq!(report["rows"], 24 * 8);
    let base = report["base_rate"].as_f64().unwrap();
    let density = report["density"].as_f64().unwrap();
    let coverage = report["coverage"].as_f64().unwrap();
    assert!(coverage >= 0.5, "{coverage}");
    assert!(
        density >= base,
        "the chosen box is no denser than the whole design"
    );
    // The outcome counts agree with the runs: a case has the outcome when its value > 0.35.
    let positives = report["positives"].as_u64().unwrap();
    assert!(positives > 0 && positives < 24 * 8, "{positives}");
    let steps = csv_rows(&dir.join("discovery.csv"));
    let k = 3;
    assert_eq!(
        steps.len(),
        report["trajectory"].as_array().unwrap().len() * k
    );
    assert_eq!(steps[0]["coverage"], "1.0");
    let chosen: Vec<_> = steps.iter().filter(|r| r["chosen"] == "1").collect();
    assert_eq!(chosen.len(), k);
    assert!(dir.join("charts/discovery.png").is_file());
    let html = fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("<h2>Scenario discovery</h2>"));
    // The command line's outcome replaces the file's.
    l2sim_ok(
        tmp.path(),
        &[
            "discover",
            &scenario,
            "--outcome",
            "zk_overtakes",
            "--out",
            "d2",
            "-q",
        ],
    );
    assert_eq!(
        json(&tmp.path().join("d2/discovery.json"))["outcome"],
        "zk_overtakes"
    );
    // An outcome no run has: the folder is written (the batch is not lost) and says why there
    // is no box.
    l2sim_ok(
        tmp.path(),
        &[
            "discover",
            &scenario,
            "--outcome",
            "zk_share_of_l2 > 2",
            "--out",
            "d3",
            "-q",
        ],
    );
    let none = json(&tmp.path().join("d3/discovery.json"));
    assert_eq!(none["positives"], 0);
    assert!(none["restrictions"].as_array().unwrap().is_empty());
    assert!(
        none["note"].as_str().unwrap().contains("no box to find"),
        "{none}"
    );
}

/// `args` must exit 2 naming `expect` (and, when given, the line of the problem), and write
/// nothing in `dir`.
fn refused(dir: &Path, args: &[&str], expect: &[&str]) {
    let before: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    let o = l2sim(dir, args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    for e in expect {
        assert!(err.contains(e), "{args:?}: expected {e:?} in {err}");
    }
    let after: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(before, after, "{args:?} wrote something");
}

#[test]
fn bad_designs_are_refused_with_their_location() {
    let tmp = tempfile::tempdir().unwrap();
    let small = repo("tests/data/small.toml");
    let write = |name: &str, sweep: &str| {
        fs::write(
            tmp.path().join(name),
            format!("extends = {small:?}\nname = \"bad\"\n{sweep}"),
        )
        .unwrap();
    };
    // Line 5 of the file: `max = 0.1` below `min = 2.0`.
    write(
        "inverted.toml",
        "[sweep]\ndesign = \"lhs\"\nsamples = 8\n[[sweep.range]]\nfield = \"chains.zk.withdrawal_delay_days\"\nmin = 2.0\nmax = 0.1\n",
    );
    refused(
        tmp.path(),
        &["sweep", "inverted.toml", "--out", "o"],
        &[
            "inverted.toml:9:",
            "sweep.range[0].max",
            "must be greater than min",
        ],
    );
    // 30,000 base rows of a Sobol design of 3 parameters: 150,000 points.
    write(
        "big.toml",
        "[sweep]\ndesign = \"sobol\"\nsamples = 30000\n[[sweep.range]]\nfield = \"chains.zk.withdrawal_delay_days\"\nmin = 0.1\nmax = 2\n[[sweep.range]]\nfield = \"chains.opt.withdrawal_delay_days\"\nmin = 1\nmax = 7\n[[sweep.range]]\nfield = \"market.contagion\"\nmin = 0\nmax = 1\n",
    );
    refused(
        tmp.path(),
        &["sensitivity", "big.toml", "--out", "o"],
        &[
            "big.toml:5:",
            "sweep.samples",
            "150000 points",
            "at most 100000",
            "samples ≤ 20000",
        ],
    );
    // A group of a kind the scenario has no chain of.
    let text = fs::read_to_string(&small)
        .unwrap()
        .replace("kind = \"zk\"", "kind = \"optimistic\"");
    fs::write(
        tmp.path().join("no_zk.toml"),
        format!("{text}\n[sweep]\ndesign = \"lhs\"\nsamples = 4\n[[sweep.range]]\nfield = \"chains.kind:zk.withdrawal_delay_days\"\nmin = 0.1\nmax = 2\n"),
    )
    .unwrap();
    refused(
        tmp.path(),
        &["sweep", "no_zk.toml", "--out", "o"],
        &[
            "no_zk.toml:",
            "sweep.range[0].field",
            "the group matches no field",
            "no chain of kind \"zk\"",
        ],
    );
    // A group whose chains have no such field.
    write(
        "no_field.toml",
        "[sweep]\ndesign = \"lhs\"\nsamples = 4\n[[sweep.range]]\nfield = \"chains.kind:zk.withdrawal_delay\"\nmin = 0.1\nmax = 2\n",
    );
    refused(
        tmp.path(),
        &["sweep", "no_field.toml", "--out", "o"],
        &["no_field.toml:", "sweep.range[0]", "withdrawal_delay"],
    );
    // Sensitivity needs a Sobol or Morris design; a grid is refused at [sweep].
    refused(
        tmp.path(),
        &[
            "sensitivity",
            &repo("tests/data/small_sweep_2d.toml"),
            "--out",
            "o",
        ],
        &["small_sweep_2d.toml:", "needs design = \"sobol\""],
    );
    // An outcome naming no column, on the command line and in the file.
    refused(
        tmp.path(),
        &[
            "discover",
            &repo("tests/data/small_lhs.toml"),
            "--outcome",
            "zk_shar > 0.3",
            "--out",
            "o",
        ],
        &["--outcome", "did you mean \"zk_share"],
    );
    write(
        "bad_outcome.toml",
        "[sweep]\ndesign = \"lhs\"\nsamples = 4\noutcome = \"zk_share_of_l2 > lots\"\n[[sweep.range]]\nfield = \"chains.zk.withdrawal_delay_days\"\nmin = 0.1\nmax = 2\n",
    );
    refused(
        tmp.path(),
        &["discover", "bad_outcome.toml", "--out", "o"],
        &["bad_outcome.toml:6:", "sweep.outcome", "not a number"],
    );
}
