//! The library API (`l2sim::app`) as a calibrator, a notebook or a binding calls it: runs,
//! comparisons and sweeps in memory, the same results written to folders, shard sets merged,
//! damaged shard sets refused as errors (never a panic), progress and cancellation passed in.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use l2sim::app::{
    self, BatchOptions, Control, Error, Level, MergeOptions, Message, Plan, Progress, Shard,
    Written,
};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn options(runs: u64) -> BatchOptions {
    BatchOptions {
        runs: Some(runs),
        plots: false,
        ..BatchOptions::default()
    }
}

fn run_plan(runs: u64) -> Plan {
    Plan::run(
        app::load_scenario(Some(&data("small.toml"))).unwrap(),
        options(runs),
    )
    .unwrap()
}

fn compare_plan(runs: u64, shard: Option<Shard>) -> Plan {
    let scenarios = ["small.toml", "small_fast_zk.toml"]
        .iter()
        .map(|f| app::load_scenario(Some(&data(f))).unwrap())
        .collect();
    Plan::compare(
        scenarios,
        BatchOptions {
            shard,
            ..options(runs)
        },
    )
    .unwrap()
}

/// A file's bytes; for JSON documents, without the machine-dependent `perf` key.
fn content(path: &Path) -> Vec<u8> {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if path.extension().is_some_and(|x| x == "json") {
        let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        if let Some(o) = v.as_object_mut() {
            o.remove("perf");
        }
        return serde_json::to_vec(&v).unwrap();
    }
    bytes
}

fn assert_same_files(a: &Path, b: &Path, files: &[&str]) {
    for f in files {
        assert_eq!(content(&a.join(f)), content(&b.join(f)), "{f} differs");
    }
}

fn mean(xs: &[f64]) -> f64 {
    let v: Vec<f64> = xs.iter().copied().filter(|x| !x.is_nan()).collect();
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn a_run_in_memory_holds_what_its_folder_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = run_plan(40);
    let outcome = plan.execute(&Control::silent()).unwrap();
    let run = outcome.as_run().unwrap();
    let finals = run.finals.as_ref().unwrap();
    assert_eq!(finals.len(), 40);
    assert_eq!(finals.runs, (0..40).collect::<Vec<u64>>());
    // The streaming statistics agree with the per-run values they were fed (Welford in blocks
    // of 32 against a plain sum: equal to rounding).
    let zk = finals.column("zk_share_of_l2").unwrap();
    let stat = run.final_stat("zk_share_of_l2", None).unwrap();
    assert_eq!(stat.moments().count, 40);
    assert!((stat.moments().mean - mean(&zk)).abs() <= 1e-12 * mean(&zk).abs());
    assert!(run.final_stat("tvl_usd", Some("zk")).is_some());
    assert!(run.final_stat("tvl_usd", Some("no_such_chain")).is_none());
    // Written directly, and written from memory: the same files.
    let direct = plan
        .write(&tmp.path().join("direct"), &Control::silent())
        .unwrap();
    let Written::Results { dir, .. } = &direct else {
        panic!("a run writes results")
    };
    let from_memory = outcome
        .write(&tmp.path().join("memory"), false, false)
        .unwrap();
    assert_same_files(
        dir,
        &from_memory,
        &[
            "runs.csv",
            "quantiles.csv",
            "summary.json",
            "scenario.resolved.toml",
        ],
    );
}

#[test]
fn a_compare_in_memory_pairs_the_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = compare_plan(40, None);
    let outcome = plan.execute(&Control::silent()).unwrap();
    let c = outcome.as_compare().unwrap();
    let finals = c.finals.as_ref().unwrap();
    let (a, b) = (
        finals[0].column("zk_share_of_l2").unwrap(),
        finals[1].column("zk_share_of_l2").unwrap(),
    );
    let diffs: Vec<f64> = b.iter().zip(&a).map(|(b, a)| b - a).collect();
    let row = c.row(&c.scenarios[1].name, "zk_share_of_l2").unwrap();
    assert_eq!(row.n, 40);
    assert!((row.mean_diff - mean(&diffs)).abs() <= 1e-12 + 1e-9 * mean(&diffs).abs());
    assert!(row.ci95_low <= row.mean_diff && row.mean_diff <= row.ci95_high);
    let written = outcome
        .write(&tmp.path().join("memory"), false, false)
        .unwrap();
    let direct = plan
        .write(&tmp.path().join("direct"), &Control::silent())
        .unwrap();
    let sub = c.dirs();
    assert_same_files(
        direct.dir(),
        &written,
        &[
            "compare.csv",
            "compare.json",
            &format!("{}/runs.csv", sub[0]),
            &format!("{}/quantiles.csv", sub[1]),
        ],
    );
}

#[test]
fn a_sweep_in_memory_reports_every_point() {
    let sweep = app::load_sweep(&data("small_sweep_2d.toml")).unwrap();
    let points = sweep.points.len();
    let plan = Plan::sweep(sweep, options(24)).unwrap();
    let outcome = plan.execute(&Control::silent()).unwrap();
    let s = outcome.as_sweep().unwrap();
    assert_eq!(s.rows.len(), points * s.metrics.len());
    assert_eq!(s.info.points, points);
    let finals = s.finals.as_ref().unwrap();
    assert_eq!(finals.len(), points);
    let m = s.metrics.iter().position(|m| m == "l2_share").unwrap();
    for (p, table) in finals.iter().enumerate() {
        let values = table.column("l2_share").unwrap();
        let stat = &s.stats[p][m];
        assert!((stat.moments().mean - mean(&values)).abs() <= 1e-12);
    }
    // Every point runs with the same seeds (common random numbers).
    assert!(finals.iter().all(|t| t.seeds == finals[0].seeds));
    // Each point's paired difference against point 0 is the mean of the per-run differences
    // (1e-12 relative: Welford in blocks against a plain sum, rounding only).
    for name in ["l2_share", "tvl_usd.zk", "zk_overtakes_day"] {
        let m = s.metrics.iter().position(|m| m == name).unwrap();
        let base = finals[0].column(name).unwrap();
        for (p, table) in finals.iter().enumerate() {
            let d: Vec<f64> = table
                .column(name)
                .unwrap()
                .iter()
                .zip(&base)
                .map(|(x, x0)| x - x0)
                .filter(|d| !d.is_nan())
                .collect();
            let got = &s.diffs[p][m];
            assert_eq!(got.count, d.len() as u64, "{name} at point {p}");
            if !d.is_empty() {
                let want = mean(&d);
                assert!((got.mean - want).abs() <= 1e-12 * want.abs().max(1e-300) + 1e-15);
            }
        }
    }
    let row = s
        .rows
        .iter()
        .find(|r| r.point == 1 && r.metric == "tvl_usd" && r.chain == "zk")
        .unwrap();
    assert_eq!(row.diff_n, 24);
    // A sweep accepts --save-runs (its points' runs.csv).
    let sweep = app::load_sweep(&data("small_sweep_2d.toml")).unwrap();
    let opts = BatchOptions {
        save_runs: true,
        ..options(2)
    };
    let plan = Plan::sweep(sweep, opts).unwrap();
    // The default folder: sweep_NAME, but never a doubled prefix.
    assert_eq!(plan.name(), "sweep_small_sweep_2d");
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/sweep_zk_delay_vs_fast_exit.toml");
    let named = Plan::sweep(app::load_sweep(&path).unwrap(), options(2)).unwrap();
    assert_eq!(named.name(), "sweep_zk_delay_vs_fast_exit");
}

/// Writes the shards `1..=n` of `plan_of(shard)` into `dir/K`; returns their folders.
fn shards(dir: &Path, n: u64, plan_of: impl Fn(Shard) -> Plan) -> Vec<PathBuf> {
    (1..=n)
        .map(|k| {
            let plan = plan_of(Shard { index: k, count: n });
            let w = plan
                .write(&dir.join(k.to_string()), &Control::silent())
                .unwrap();
            assert!(matches!(w, Written::Shard { .. }));
            w.dir().to_path_buf()
        })
        .collect()
}

#[test]
fn a_shard_set_merges_into_the_unsharded_files() {
    let tmp = tempfile::tempdir().unwrap();
    let set = shards(&tmp.path().join("shards"), 3, |s| compare_plan(70, Some(s)));
    let checked = app::check_shards(&set).unwrap();
    assert_eq!(checked.dirs, set);
    let opts = MergeOptions {
        out: Some(tmp.path().join("merged")),
        plots: false,
        parquet: false,
    };
    let merged = app::merge(&set, &opts, &Control::silent()).unwrap();
    let direct = compare_plan(70, None)
        .write(&tmp.path().join("direct"), &Control::silent())
        .unwrap();
    let Written::Results { outcome, .. } = &merged else {
        panic!("merge writes results")
    };
    let sub = outcome.as_compare().unwrap().dirs();
    assert_same_files(
        direct.dir(),
        merged.dir(),
        &[
            "compare.csv",
            "compare.json",
            &format!("{}/runs.csv", sub[0]),
            &format!("{}/quantiles.csv", sub[0]),
            &format!("{}/summary.json", sub[1]),
        ],
    );
    // A shard cannot run in memory.
    let err = compare_plan(70, Some(Shard { index: 1, count: 3 }))
        .execute(&Control::silent())
        .unwrap_err();
    assert!(err.is_input());
}

#[test]
fn a_corrupt_shard_manifest_is_refused_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let set = shards(&tmp.path().join("shards"), 2, |s| {
        Plan::run(
            app::load_scenario(Some(&data("small.toml"))).unwrap(),
            BatchOptions {
                shard: Some(s),
                ..options(40)
            },
        )
        .unwrap()
    });
    let manifest = set[0].join("shard.json");
    let original = fs::read_to_string(&manifest).unwrap();
    let edits: [(&str, &str); 5] = [
        ("\"shard\": 1,", "\"shard\": 0,"),
        ("\"shards\": 2,", "\"shards\": 0,"),
        ("\"shard\": 1,", "\"shard\": 7,"),
        ("\"command\": \"run\"", "\"command\": \"bogus\""),
        ("{", "["),
    ];
    for (from, to) in edits {
        assert!(original.contains(from), "{from}");
        fs::write(&manifest, original.replacen(from, to, 1)).unwrap();
        let out = tmp.path().join("merged");
        let opts = MergeOptions {
            out: Some(out.clone()),
            ..MergeOptions::default()
        };
        for result in [
            app::check_shards(&set).map(|_| ()),
            app::merge(&set, &opts, &Control::silent()).map(|_| ()),
        ] {
            let err = result.expect_err(to);
            assert!(err.is_input(), "{to}: {err}");
            assert!(err.to_string().contains("shard"), "{to}: {err}");
        }
        assert!(!out.exists(), "{to}: merge wrote {}", out.display());
    }
}

/// A progress that records what it is told.
#[derive(Default)]
struct Recorder {
    messages: Mutex<Vec<Message>>,
    total: AtomicU64,
    done: AtomicU64,
}

impl Progress for Recorder {
    fn message(&self, m: &Message) {
        self.messages.lock().unwrap().push(m.clone());
    }
    fn runs_started(&self, total: u64) {
        self.total.store(total, Ordering::Relaxed);
    }
    fn runs_done(&self, done: u64) {
        self.done.store(done, Ordering::Relaxed);
    }
}

#[test]
fn progress_is_reported_and_cancellation_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let recorder = Recorder::default();
    let ctl = Control {
        progress: &recorder,
        cancel: None,
    };
    run_plan(40).execute(&ctl).unwrap();
    assert_eq!(recorder.total.load(Ordering::Relaxed), 40);
    assert_eq!(recorder.done.load(Ordering::Relaxed), 40);
    let messages = recorder.messages.lock().unwrap();
    assert!(
        messages
            .iter()
            .any(|m| m.level == Level::Detail && m.text.contains("estimate"))
    );
    assert!(messages.iter().any(|m| m.level == Level::Info));
    drop(messages);
    let flag = Arc::new(AtomicBool::new(true));
    let ctl = Control {
        progress: &app::Silent,
        cancel: Some(&flag),
    };
    let out = tmp.path().join("cancelled");
    let err = run_plan(40).write(&out, &ctl).unwrap_err();
    assert!(matches!(err, Error::Interrupted), "{err}");
    assert!(
        fs::read_dir(tmp.path()).unwrap().next().is_none(),
        "something was written"
    );
}

#[test]
fn errors_carry_file_line_column_and_field() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.toml");
    let text = fs::read_to_string(data("small.toml")).unwrap();
    fs::write(
        &bad,
        text.replacen("horizon_days = ", "horizon_days = -", 1),
    )
    .unwrap();
    let err = app::load_scenario(Some(&bad)).unwrap_err();
    assert!(err.is_input());
    let problems = err.problems(&bad);
    let p = problems
        .iter()
        .find(|p| p.field == "horizon_days")
        .unwrap_or_else(|| panic!("{problems:?}"));
    assert_eq!(p.file, bad.display().to_string());
    assert!(p.line.is_some() && p.column.is_some(), "{p:?}");
    let err = Plan::run(
        app::load_scenario(None).unwrap(),
        BatchOptions {
            runs: Some(0),
            ..BatchOptions::default()
        },
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "--runs 0: must be in [1, 10000000]");
    assert_eq!(err.problems(Path::new("x.toml"))[0].field, "runs");
}
