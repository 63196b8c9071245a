//! `calibrate`: recovery of a known parameter, the rerun of `calibrated.toml` to the same loss,
//! independence of the thread count, and bad input (exit 2, located, nothing written).

use std::path::{Path, PathBuf};
use std::process::Command;

use l2sim::app::{BatchOptions, CalibrateOptions, Calibration, Control, Plan};
use l2sim::scenario::Space;

fn small() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/small.toml")
        .display()
        .to_string()
}

/// A scenario over small.toml, sampled every 10 days, calibrating the ZK rollup's yield.
fn calibrated_scenario(dir: &Path, fit_until: u32, extra: &str) -> PathBuf {
    let path = dir.join("cal.toml");
    std::fs::write(
        &path,
        format!(
            "extends = {:?}\nname = \"small_cal\"\nsample_every_days = 10\n\n[calibrate]\nfit_until = {fit_until}\n\n\
             [[calibrate.parameter]]\nfield = \"chains.zk.organic_yield_apy\"\nmin = 0.0\nmax = 0.1\n{extra}",
            small()
        ),
    )
    .unwrap();
    path
}

/// Final-day values of `column` over `runs` runs of the calibrated scenario at `value`.
fn finals(space: &Space, value: f64, runs: u64, seed: u64, column: &str) -> Vec<f64> {
    let sc = space.scenario(&[value]).unwrap();
    let options = BatchOptions {
        runs: Some(runs),
        seed: Some(seed),
        ..BatchOptions::default()
    };
    let outcome = Plan::run(sc, options)
        .unwrap()
        .execute(&Control::silent())
        .unwrap();
    let run = outcome.as_run().unwrap();
    run.finals
        .as_ref()
        .unwrap()
        .column(column)
        .unwrap()
        .to_vec()
}

fn mean_sd(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let v = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0);
    (m, v.sqrt())
}

/// Targets made by the simulator at a known yield (mean of 64 runs of one seed) are recovered by
/// `calibrate` with another seed and 32 runs, within four standard errors of the estimate. The
/// standard error comes from the Monte Carlo noise by the delta method: the target's mean and the
/// candidates' mean each carry `s / sqrt(R)` of noise (`s` the run-to-run standard deviation of
/// the metric), and an error `e` in the mean moves the estimate by `e / m'`, `m'` the slope of the
/// mean in the parameter (measured here with common random numbers):
/// `SE = s · sqrt(1/64 + 1/32) / |m'|`.
#[test]
fn calibrate_recovers_a_known_parameter_within_its_monte_carlo_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = calibrated_scenario(dir.path(), 120, "");
    let space = Space::from_file(&path).unwrap();
    let truth = 0.06;
    let (r_truth, r_fit) = (64u64, 32u64);
    let column = "tvl_share.zk";
    let observed = finals(&space, truth, r_truth, 1001, column);
    let (y, s) = mean_sd(&observed);
    let h = 0.005;
    let (up, _) = mean_sd(&finals(&space, truth + h, r_truth, 1001, column));
    let (down, _) = mean_sd(&finals(&space, truth - h, r_truth, 1001, column));
    let slope = (up - down) / (2.0 * h);
    assert!(slope > 0.0, "a higher yield draws capital: slope {slope}");
    let se = s * (1.0 / r_truth as f64 + 1.0 / r_fit as f64).sqrt() / slope.abs();
    // The test can fail: the tolerance is a small part of the box.
    assert!(
        4.0 * se < 0.25 * 0.1,
        "tolerance 4 SE = {} too wide",
        4.0 * se
    );
    let targets = dir.path().join("targets.csv");
    std::fs::write(
        &targets,
        format!("day,metric,chain,value\n120,tvl_share,zk,{y}\n"),
    )
    .unwrap();
    let cal = Calibration::new(
        &path,
        CalibrateOptions {
            targets: Some(targets),
            runs: Some(r_fit),
            seed: Some(2002),
            budget: Some(40),
            plots: false,
            ..CalibrateOptions::default()
        },
    )
    .unwrap();
    let found = cal.execute(&Control::silent()).unwrap();
    let fitted = found.report.parameters[0].best;
    assert!(
        (fitted - truth).abs() <= 4.0 * se,
        "fitted {fitted}, truth {truth}, 4 SE = {}",
        4.0 * se
    );
    // The profile interval covers the truth and is narrower than the box.
    let iv = found.report.parameters[0]
        .interval
        .as_ref()
        .expect("a finished search has a profile");
    assert!(iv.lo <= truth && truth <= iv.hi, "{iv:?}");
    assert!(iv.hi - iv.lo < 0.1, "{iv:?}");
    assert!(
        found.report.evaluations <= 40,
        "{}",
        found.report.evaluations
    );
    eprintln!(
        "fitted {fitted} (truth {truth}, 4 SE {}), interval {iv:?}",
        4.0 * se
    );
    assert_eq!(found.report.best["chains.zk.organic_yield_apy"], fitted);
}

fn l2sim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_l2sim"))
        .args(args)
        .output()
        .unwrap()
}

fn json_field(path: &Path, key: &str) -> String {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v[key].to_string()
}

/// `l2sim run calibrated.toml` reruns the fit: its fit.json has the loss of calibrate.json to the
/// last digit; and the calibration is the same on one thread and on two.
#[test]
fn calibrated_toml_reruns_to_the_reported_loss_whatever_the_threads() {
    let dir = tempfile::tempdir().unwrap();
    let path = calibrated_scenario(dir.path(), 80, "");
    let targets = dir.path().join("t.csv");
    std::fs::write(
        &targets,
        "day,metric,chain,value,weight\n40,tvl_usd,zk,1.2e9,1\n80,tvl_usd,zk,1.4e9,1\n120,tvl_usd,zk,1.5e9,2\n120,zk_share_of_l2,,0.3,\n",
    )
    .unwrap();
    let mut outs = Vec::new();
    for threads in ["1", "2"] {
        let out = dir.path().join(format!("cal{threads}"));
        let o = l2sim(&[
            "calibrate",
            path.to_str().unwrap(),
            "--targets",
            targets.to_str().unwrap(),
            "--runs",
            "8",
            "--budget",
            "12",
            "--threads",
            threads,
            "--no-plots",
            "-q",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        outs.push(out);
    }
    for f in [
        "calibrate.json",
        "trace.csv",
        "calibrated.toml",
        "residuals.csv",
    ] {
        assert_eq!(
            std::fs::read(outs[0].join(f)).unwrap(),
            std::fs::read(outs[1].join(f)).unwrap(),
            "{f} differs between 1 and 2 threads"
        );
    }
    // calibrated.toml extends the input by a path relative to its own folder.
    let text = std::fs::read_to_string(outs[0].join("calibrated.toml")).unwrap();
    assert!(text.contains("extends = \"../cal.toml\""), "{text}");
    let rerun = dir.path().join("rerun");
    let o = l2sim(&[
        "run",
        outs[0].join("calibrated.toml").to_str().unwrap(),
        "--no-plots",
        "-q",
        "--out",
        rerun.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let reported = json_field(&outs[0].join("calibrate.json"), "loss_in_sample");
    assert_eq!(
        json_field(&rerun.join("fit.json"), "loss_in_sample"),
        reported
    );
    assert_eq!(
        json_field(&rerun.join("fit.json"), "loss_out_of_sample"),
        json_field(&outs[0].join("calibrate.json"), "loss_out_of_sample")
    );
    // `l2sim plot` redraws the fit chart and the report of a calibrate folder from its files.
    let o = l2sim(&["plot", outs[0].to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(outs[0].join("fit.png").is_file() && outs[0].join("fit.svg").is_file());
    let html = std::fs::read_to_string(outs[0].join("report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("Calibration of small_cal"));
    // The trace holds every evaluation, the profile after the search.
    let trace = std::fs::read_to_string(outs[0].join("trace.csv")).unwrap();
    assert_eq!(trace.lines().count(), 1 + 12 + l2sim::app::PROFILE_POINTS);
}

/// Each bad input: exit 2, the file, line and column in the message, nothing written.
#[test]
fn bad_calibration_input_is_located_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, &str, &str, &str)> = vec![
        // (targets text, extra [calibrate] text, expected fragment, name)
        (
            "day,metric,chain,value\n40,tvl_usdd,zk,1\n",
            "",
            "t.csv:2:4: metric = \"tvl_usdd\"",
            "unknown metric",
        ),
        (
            "day,metric,chain,value\n40,tvl_usd,zz,1\n",
            "",
            "t.csv:2:12: chain = \"zz\": no such chain",
            "unknown chain",
        ),
        (
            "day,metric,chain,value\n400,tvl_usd,zk,1\n",
            "",
            "t.csv:2:1: day = \"400\" (day 400): outside the scenario's horizon [0, 120]",
            "after the horizon",
        ),
        (
            "day,metric,chain,value\n-10,tvl_usd,zk,1\n",
            "",
            "t.csv:2:1: day = \"-10\"",
            "before day 0",
        ),
        (
            "day,metric,chain,value\n45,tvl_usd,zk,1\n",
            "",
            "not a sample day of the scenario (nearest sample: day 40)",
            "off the samples",
        ),
        (
            "day,metric,chain,value\n40,tvl_usd,zk,NaN\n",
            "",
            "t.csv:2:15: value = \"NaN\": must be a finite number",
            "NaN",
        ),
        (
            "day,metric,chain,value\n40,tvl_usd,zk,inf\n",
            "",
            "t.csv:2:15: value = \"inf\": must be a finite number",
            "inf",
        ),
        (
            "date,metric,chain,value\n2022-01-31,tvl_usd,zk,1\n",
            "",
            "t.csv:1:1: header has a `date` column but the scenario has no `start_date`",
            "date without calendar",
        ),
        (
            "day,metric,chain,value\n100,tvl_usd,zk,1\n",
            "",
            "no target on or before fit_until",
            "nothing to fit",
        ),
        (
            "day,metric,chain,value\n40,tvl_usd,zk,1\n",
            "\n[[calibrate.parameter]]\nfield = \"chains.zk.organic_yield\"\nmin = 0\nmax = 1\n",
            "cal.toml:14:9: calibrate.parameter[1].field = \"chains.zk.organic_yield\": is not a real-valued field of the scenario",
            "unknown field",
        ),
        (
            "day,metric,chain,value\n40,tvl_usd,zk,1\n",
            "\n[[calibrate.parameter]]\nfield = \"chains.zk.kind\"\nmin = 0\nmax = 1\n",
            "cal.toml:14:9: calibrate.parameter[1].field = \"chains.zk.kind\": is not numeric (it holds the string \"zk\")",
            "not numeric",
        ),
        (
            "day,metric,chain,value\n40,tvl_usd,zk,1\n",
            "\n[[calibrate.parameter]]\nfield = \"segments.retail.agents\"\nmin = 10\nmax = 20\n",
            "calibrate.parameter[1].field = \"segments.retail.agents\": is not a real-valued field",
            "integer field",
        ),
        (
            "day,metric,chain,value\n40,tvl_usd,zk,1\n",
            "\n[[calibrate.parameter]]\nfield = \"market.contagion\"\nmin = 0.5\nmax = 0.1\n",
            "cal.toml:16:7: calibrate.parameter[1].max = 0.1: must be greater than min = 0.5 (bounds inverted or equal)",
            "inverted bounds",
        ),
        (
            "day,metric,chain,value\n40,tvl_usd,zk,1\n",
            "\n[[calibrate.parameter]]\nfield = \"chains.nope.tx_cost_usd\"\nmin = 0\nmax = 1\n",
            "calibrate.parameter[1].field = \"chains.nope.tx_cost_usd\": no chain \"nope\"",
            "unknown chain in a path",
        ),
        (
            "day,metric,chain,value\n40,tvl_usd,zk,1\n",
            "\n[[calibrate.parameter]]\nfield = \"market.contagion\"\nmin = 0\nmax = 5\n",
            "calibrate.parameter[1].max = 5: the scenario is invalid with market.contagion at its max",
            "bounds outside the field's range",
        ),
    ];
    for (i, (targets, extra, want, name)) in cases.into_iter().enumerate() {
        let case = dir.path().join(format!("case{i}"));
        std::fs::create_dir(&case).unwrap();
        let path = calibrated_scenario(&case, 80, extra);
        let t = case.join("t.csv");
        std::fs::write(&t, targets).unwrap();
        let out = case.join("out");
        let o = l2sim(&[
            "calibrate",
            path.to_str().unwrap(),
            "--targets",
            t.to_str().unwrap(),
            "--runs",
            "2",
            "--budget",
            "4",
            "-q",
            "--out",
            out.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(want), "{name}: wanted {want:?} in\n{err}");
        assert!(!out.exists(), "{name}: wrote {}", out.display());
        let left: Vec<_> = std::fs::read_dir(&case)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(left.len() == 2, "{name}: left {left:?}");
    }
}

/// The shipped history scenario holds its fitted values: 20 runs of it (the calibration's runs
/// and seed) score the loss its header reports, to the last digit.
#[test]
fn the_shipped_history_scenario_reproduces_its_fitted_loss() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/history_2022.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let header = text
        .lines()
        .find_map(|l| l.strip_prefix("#   loss in sample "))
        .expect("the header reports the fitted loss");
    let reported: f64 = header.split_whitespace().next().unwrap().parse().unwrap();
    let sc = l2sim::app::load_scenario(Some(&file)).unwrap();
    let options = BatchOptions {
        runs: Some(20),
        ..BatchOptions::default()
    };
    let outcome = Plan::run(sc, options)
        .unwrap()
        .execute(&Control::silent())
        .unwrap();
    let fit = outcome
        .as_run()
        .unwrap()
        .fit
        .as_ref()
        .expect("the scenario names its targets");
    assert_eq!(fit.in_sample, reported);
    assert_eq!((fit.in_sample_targets, fit.out_of_sample_targets), (28, 0));
}

/// `[calibrate] start = "scenario"` evaluates the file's own values first (a warm start); an
/// unknown start is refused, located.
#[test]
fn a_warm_start_evaluates_the_files_values_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("warm.toml");
    let write = |start: &str| {
        std::fs::write(
            &path,
            format!(
                "extends = {:?}\nname = \"warm\"\nsample_every_days = 10\n[calibrate]\nfit_until = 120\nstart = {start:?}\n\
                 [[calibrate.parameter]]\nfield = \"chains.zk.organic_yield_apy\"\nmin = 0.0\nmax = 0.1\n",
                small()
            ),
        )
        .unwrap();
    };
    let targets = dir.path().join("t.csv");
    std::fs::write(&targets, "day,metric,chain,value\n120,tvl_share,zk,0.3\n").unwrap();
    write("scenario");
    let options = CalibrateOptions {
        targets: Some(targets.clone()),
        runs: Some(4),
        budget: Some(6),
        plots: false,
        ..CalibrateOptions::default()
    };
    let found = Calibration::new(&path, options.clone())
        .unwrap()
        .execute(&Control::silent())
        .unwrap();
    // small.toml's zk yield.
    assert_eq!(found.trace[0].values, vec![0.04]);
    assert_eq!(found.trace[0].phase, "start");
    write("warm");
    let err = Calibration::new(&path, options).err().unwrap().to_string();
    assert!(
        err.contains(
            "warm.toml:6:9: calibrate.start = \"warm\": must be \"design\" or \"scenario\""
        ),
        "{err}"
    );
}
