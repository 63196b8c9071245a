//! The real binary, end to end, in temporary folders: outputs, determinism across thread counts,
//! `validate`, `init`, and the bad-input corpus under `tests/bad_inputs/`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common;
use common::{l2sim, l2sim_ok, repo};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn run_writes_every_output_file() {
    let tmp = tempfile::tempdir().unwrap();
    l2sim_ok(
        tmp.path(),
        &[
            "run",
            &repo("tests/data/small.toml"),
            "--runs",
            "6",
            "--save-runs",
            "--out",
            "res",
            "-q",
        ],
    );
    let out = tmp.path().join("res");
    for f in [
        "scenario.resolved.toml",
        "quantiles.csv",
        "runs.csv",
        "summary.json",
        "trajectories.csv",
        ".l2sim-output",
    ] {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    for chart in [
        "tvl_fan",
        "share_by_kind",
        "final_distribution",
        "zk_vs_optimistic",
    ] {
        let png = fs::read(out.join("charts").join(format!("{chart}.png"))).unwrap();
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 10_000,
            "{chart}.png is not a drawn PNG"
        );
        let svg = fs::read_to_string(out.join("charts").join(format!("{chart}.svg"))).unwrap();
        assert!(
            svg.contains("<svg") && svg.contains("day") || chart == "final_distribution",
            "{chart}.svg"
        );
    }
    let summary: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["runs"], 6);
    assert!(summary["conservation_error_max"].as_f64().unwrap() < 1e-9);
    assert!(summary["perf"]["decisions_per_second"].as_f64().unwrap() > 0.0);
    assert!(summary["metrics"]["l2_share"]["mean"].as_f64().is_some());

    let quantiles = fs::read_to_string(out.join("quantiles.csv")).unwrap();
    assert!(quantiles.starts_with("day,metric,chain,mean,p05,p25,p50,p75,p95\n"));
    assert!(
        quantiles.contains("\n0.0,tvl_usd,opt,3000000000.0,"),
        "day-0 TVL equals the scenario's"
    );
    assert!(
        quantiles.contains(",l2_share,,"),
        "system metrics have an empty chain"
    );
    let runs = fs::read_to_string(out.join("runs.csv")).unwrap();
    assert_eq!(runs.lines().count(), 7);
    assert!(runs.starts_with("run,seed,tvl_usd.l1,"));
    // Seeds as 0x and 16 hexadecimal digits; the long table holds the same values.
    let seed = runs.lines().nth(1).unwrap().split(',').nth(1).unwrap();
    assert!(seed.len() == 18 && seed.starts_with("0x"), "{seed}");
    let long = fs::read_to_string(out.join("runs_long.csv")).unwrap();
    let columns = runs.lines().next().unwrap().split(',').count() - 2;
    assert!(long.starts_with("run,metric,chain,value\n0,tvl_usd,l1,"));
    assert_eq!(long.lines().count(), 1 + 6 * columns);
    let metrics = fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert!(metrics.starts_with("metric,unit,per,meaning\ntvl_usd,USD,chain,"));
    let samples = 121;
    let cells = quantiles.lines().count() as usize / samples;
    let traj_rows = fs::read_to_string(out.join("trajectories.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    assert_eq!(traj_rows, 6 * samples * cells);

    // The resolved scenario reproduces the result byte for byte.
    l2sim_ok(
        tmp.path(),
        &[
            "run",
            "res/scenario.resolved.toml",
            "--out",
            "again",
            "-q",
            "--no-plots",
        ],
    );
    for f in ["quantiles.csv", "runs.csv"] {
        assert_eq!(
            fs::read(out.join(f)).unwrap(),
            fs::read(tmp.path().join("again").join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn default_run_uses_the_built_in_baseline() {
    let tmp = tempfile::tempdir().unwrap();
    let o = l2sim_ok(tmp.path(), &["run", "--runs", "2", "--no-plots", "-q"]);
    let out = tmp.path().join("outputs").join("baseline");
    assert!(out.join("quantiles.csv").is_file() && out.join("summary.json").is_file());
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("baseline: 2 runs"), "{stdout}");
    assert!(stderr(&o).is_empty(), "--quiet prints nothing on stderr");
}

fn without_perf(path: &Path) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    v.as_object_mut().unwrap().remove("perf");
    v
}

#[test]
fn thread_count_does_not_change_a_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let small = repo("tests/data/small.toml");
    // 40 threads make chunks of 80 runs that span blocks: still the same bytes.
    for t in ["1", "2", "40"] {
        l2sim_ok(
            tmp.path(),
            &[
                "run",
                &small,
                "--runs",
                "40",
                "--threads",
                t,
                "--out",
                t,
                "--no-plots",
                "-q",
            ],
        );
    }
    for t in ["2", "40"] {
        for f in ["quantiles.csv", "runs.csv", "scenario.resolved.toml"] {
            assert!(
                fs::read(tmp.path().join("1").join(f)).unwrap()
                    == fs::read(tmp.path().join(t).join(f)).unwrap(),
                "{f} differs with {t} threads"
            );
        }
        assert_eq!(
            without_perf(&tmp.path().join("1/summary.json")),
            without_perf(&tmp.path().join(t).join("summary.json"))
        );
    }
}

#[test]
fn validate_prints_a_summary_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let o = l2sim_ok(tmp.path(), &["validate", &repo("scenarios/baseline.toml")]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("valid scenario \"baseline\"")
            && stdout.contains("arbitrum")
            && stdout.contains("reviews per run")
    );
    assert!(entries(tmp.path()).is_empty());
    l2sim_ok(tmp.path(), &["validate", &repo("scenarios/bench.toml")]);
}

#[test]
fn init_writes_a_valid_scenario_and_never_overwrites() {
    let tmp = tempfile::tempdir().unwrap();
    l2sim_ok(tmp.path(), &["init", "my_study.toml"]);
    let o = l2sim(tmp.path(), &["validate", "my_study.toml"]);
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains("\"my_study\""));
    // The schema its `#:schema` directive names is written beside it, as `l2sim schema` prints it.
    assert_eq!(
        fs::read(tmp.path().join("l2sim.schema.json")).unwrap(),
        l2sim(tmp.path(), &["schema"]).stdout
    );
    let before = fs::read(tmp.path().join("my_study.toml")).unwrap();
    let o = l2sim(tmp.path(), &["init", "my_study.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already exists"));
    assert_eq!(before, fs::read(tmp.path().join("my_study.toml")).unwrap());
}

/// Runs a bad input and checks: exit code 2, one clear message, and nothing written.
fn assert_rejected(args: &[&str], expect: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let mut full: Vec<&str> = args.to_vec();
    full.extend(["--out", "out", "--no-plots", "-q"]);
    let o = l2sim(tmp.path(), &full);
    let err = stderr(&o);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{args:?} must exit 2; stderr: {err}"
    );
    assert!(err.starts_with("error: "), "{args:?}: {err}");
    assert!(
        err.contains(expect),
        "{args:?}: expected {expect:?} in: {err}"
    );
    assert!(
        entries(tmp.path()).is_empty(),
        "{args:?} left files behind: {:?}",
        entries(tmp.path())
    );
}

#[test]
fn bad_input_corpus_is_rejected_with_location_and_allowed_range() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_inputs");
    let files = entries(&dir);
    assert!(files.len() >= 40, "the corpus has {} cases", files.len());
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        let first = text.lines().next().unwrap_or("");
        let path = file.to_string_lossy().into_owned();
        let expect = first.strip_prefix("# expect: ").unwrap_or("");
        // Grid points are only built, and so checked, by `sweep`.
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let command = if name.starts_with("sweep_") {
            "sweep"
        } else {
            "run"
        };
        assert_rejected(&[command, &path], expect);
        // Every message locates the problem: file:line:column.
        let o = if command == "sweep" {
            l2sim(
                dir.as_path(),
                &["sweep", &path, "--out", "/nonexistent/never"],
            )
        } else {
            l2sim(dir.as_path(), &["validate", &path])
        };
        let err = stderr(&o);
        let located = err
            .lines()
            .next()
            .and_then(|l| l.strip_prefix(&format!("error: {path}:")))
            .is_some_and(|rest| {
                let mut parts = rest.splitn(3, ':');
                parts.next().is_some_and(|l| l.parse::<usize>().is_ok())
                    && parts.next().is_some_and(|c| c.parse::<usize>().is_ok())
            });
        assert!(located, "{path}: no file:line:column in {err}");
    }
}

#[test]
fn bad_flags_and_paths_are_rejected() {
    let small = repo("tests/data/small.toml");
    assert_rejected(
        &["run", &small, "--runs", "0"],
        "--runs 0: must be in [1, 10000000]",
    );
    assert_rejected(
        &["run", &small, "--threads", "0"],
        "--threads 0: must be in [1, 1024]",
    );
    assert_rejected(
        &["run", "no/such/file.toml"],
        "no/such/file.toml: cannot read scenario",
    );
    assert_rejected(&["run", &repo("tests")], "cannot read scenario");
    assert_rejected(&["run", &small, "--runs", "many"], "invalid value 'many'");
    for bad in ["3/2", "0/4", "1/0", "2"] {
        assert_rejected(
            &["run", &small, "--shard", bad],
            "expected K/N with 1 ≤ K ≤ N ≤ 100000",
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let latin1 = tmp.path().join("latin1.toml");
    fs::write(&latin1, b"name = \"caf\xe9\"\n").unwrap();
    assert_rejected(
        &["run", &latin1.to_string_lossy()],
        "not a UTF-8 text file (byte 11 is invalid)",
    );
}

#[test]
fn compare_pairs_runs_and_narrows_the_intervals() {
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
    let out = tmp.path().join("cmp");
    for f in [
        "compare.csv",
        "compare.json",
        "report.html",
        "A_small/quantiles.csv",
        "B_small_fast_zk/runs.csv",
        "B_small_fast_zk/report.html",
    ] {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    for chart in ["compare_trajectories", "compare_differences"] {
        assert!(
            fs::read(out.join("charts").join(format!("{chart}.png")))
                .unwrap()
                .starts_with(b"\x89PNG")
        );
        assert!(
            fs::read_to_string(out.join("charts").join(format!("{chart}.svg")))
                .unwrap()
                .contains("<svg")
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("compare.json")).unwrap()).unwrap();
    assert_eq!(json["runs"], 40);
    let m = &json["comparisons"][0]["metrics"]["zk_share_of_l2"];
    let width = |v: &serde_json::Value| v[1].as_f64().unwrap() - v[0].as_f64().unwrap();
    assert!(
        width(&m["ci95"]) < width(&m["unpaired_ci95"]),
        "pairing must narrow the interval: {m}"
    );
    assert!(m["variance_reduction"].as_f64().unwrap() > 0.0);
    assert!(
        m["mean_diff"].as_f64().unwrap() > 0.0,
        "faster, cheaper ZK gains share: {m}"
    );
    let csv = fs::read_to_string(out.join("compare.csv")).unwrap();
    assert!(csv.starts_with(
        "scenario_a,scenario_b,metric,chain,n,mean_a,mean_b,mean_diff,ci95_low,ci95_high,"
    ));
    assert!(csv.contains("\nsmall,small_fast_zk,zk_share_of_l2,,40,"));
    // Every column of runs.csv is compared, chain metrics with their chain.
    assert!(csv.contains("\nsmall,small_fast_zk,bridge_fee_revenue_usd,zk,40,"));
    assert!(csv.contains("\nsmall,small_fast_zk,hack_loss_usd,opt,40,"));
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("<svg")
            && html.contains("l2sim compare: small vs small_fast_zk")
            && !html.contains("<script")
    );
}

#[test]
fn plot_redraws_identical_charts_and_report() {
    let tmp = tempfile::tempdir().unwrap();
    l2sim_ok(
        tmp.path(),
        &[
            "run",
            &repo("tests/data/small.toml"),
            "--runs",
            "5",
            "--out",
            "res",
            "-q",
        ],
    );
    let res = tmp.path().join("res");
    let before: Vec<(PathBuf, Vec<u8>)> = entries(&res.join("charts"))
        .into_iter()
        .map(|p| (p.clone(), fs::read(&p).unwrap()))
        .collect();
    let html = fs::read(res.join("report.html")).unwrap();
    fs::remove_dir_all(res.join("charts")).unwrap();
    fs::remove_file(res.join("report.html")).unwrap();
    l2sim_ok(tmp.path(), &["plot", "res"]);
    // Five charts (value_distribution the fifth), PNG and SVG each.
    assert_eq!(before.len(), 10);
    for (p, bytes) in before {
        assert!(
            fs::read(&p).unwrap() == bytes,
            "{} differs after plot",
            p.display()
        );
    }
    assert!(fs::read(res.join("report.html")).unwrap() == html);
    let o = l2sim(tmp.path(), &["plot", "."]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "a folder without results is refused"
    );
}

#[test]
fn html_escapes_scenario_strings() {
    let tmp = tempfile::tempdir().unwrap();
    let evil = fs::read_to_string(repo("tests/data/small.toml"))
        .unwrap()
        .replacen(
            "name = \"small\"",
            "name = \"small\"\ndescription = \"<script>alert('x')</script> & \\\"quotes\\\"\"",
            1,
        );
    fs::write(tmp.path().join("evil.toml"), evil).unwrap();
    l2sim_ok(
        tmp.path(),
        &[
            "run",
            "evil.toml",
            "--runs",
            "2",
            "--out",
            "res",
            "-q",
            "--no-plots",
        ],
    );
    let html = fs::read_to_string(tmp.path().join("res/report.html")).unwrap();
    assert!(
        !html.contains("<script>"),
        "unescaped description in report.html"
    );
    assert!(
        html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quotes&quot;")
    );
}

#[test]
fn sweep_grid_is_the_cartesian_product_with_a_heat_map() {
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
    let out = tmp.path().join("sw");
    for f in [
        "sweep.csv",
        "sweep.json",
        "report.html",
        "scenario.resolved.toml",
        "charts/sweep_heatmap.png",
        "charts/sweep_heatmap.svg",
    ] {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    let csv = fs::read_to_string(out.join("sweep.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "point,chains.zk.withdrawal_delay_days,chains.opt.fast_exit_liquidity_usd,metric,chain,n,mean,sd,ci95_low,ci95_high,p05,p50,p95,diff_n,diff_mean,diff_ci95_low,diff_ci95_high"
    );
    let points: Vec<(String, String)> = csv
        .lines()
        .skip(1)
        .filter(|l| l.contains(",l2_share,"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1].to_string(), f[2].to_string())
        })
        .collect();
    let expected: Vec<(String, String)> = ["0.02", "0.5", "3"]
        .iter()
        .flat_map(|d| {
            ["0", "50000000.0"]
                .iter()
                .map(move |l| (d.to_string(), l.to_string()))
        })
        .collect();
    assert_eq!(
        points, expected,
        "grid = Cartesian product, the first axis varying slowest"
    );
    let info: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(info["points"], 6);
    assert_eq!(info["axes"].as_array().unwrap().len(), 2);
}

#[test]
fn sweep_zip_moves_fields_together_with_lines() {
    let tmp = tempfile::tempdir().unwrap();
    l2sim_ok(
        tmp.path(),
        &[
            "sweep",
            &repo("tests/data/small_sweep_zip.toml"),
            "--runs",
            "4",
            "--out",
            "sw",
            "-q",
            "--threads",
            "1",
        ],
    );
    let out = tmp.path().join("sw");
    assert!(out.join("charts/sweep_lines.png").is_file());
    let csv = fs::read_to_string(out.join("sweep.csv")).unwrap();
    let rows: Vec<&str> = csv
        .lines()
        .filter(|l| l.contains(",zk_share_of_l2,"))
        .collect();
    assert_eq!(rows.len(), 3, "a zip of three values is three points");
    assert!(
        rows[0].starts_with("0,0.1,0.035,") && rows[2].starts_with("2,0.01,0.045,"),
        "{rows:?}"
    );
    // Deterministic across thread counts, like every output.
    let o = l2sim(
        tmp.path(),
        &[
            "sweep",
            &repo("tests/data/small_sweep_zip.toml"),
            "--runs",
            "4",
            "--out",
            "sw2",
            "-q",
            "--threads",
            "2",
            "--no-plots",
        ],
    );
    assert!(o.status.success());
    assert!(
        fs::read(out.join("sweep.csv")).unwrap()
            == fs::read(tmp.path().join("sw2/sweep.csv")).unwrap()
    );
}

#[test]
fn a_folder_l2sim_did_not_write_is_never_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let theirs = tmp.path().join("thesis");
    fs::create_dir_all(&theirs).unwrap();
    fs::write(theirs.join("chapter1.tex"), "precious").unwrap();
    let o = l2sim(
        tmp.path(),
        &[
            "run",
            &repo("tests/data/small.toml"),
            "--runs",
            "2",
            "--out",
            "thesis",
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("holds what l2sim did not write: chapter1.tex"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        fs::read_to_string(theirs.join("chapter1.tex")).unwrap(),
        "precious"
    );
    assert_eq!(
        entries(tmp.path()),
        vec![theirs.clone()],
        "nothing else written"
    );
    // An empty folder holds nothing to lose, and a folder l2sim wrote may be replaced.
    fs::create_dir_all(tmp.path().join("empty")).unwrap();
    l2sim_ok(
        tmp.path(),
        &[
            "run",
            &repo("tests/data/small.toml"),
            "--runs",
            "2",
            "--out",
            "empty",
            "-q",
            "--no-plots",
        ],
    );
    l2sim_ok(
        tmp.path(),
        &[
            "run",
            &repo("tests/data/small.toml"),
            "--runs",
            "3",
            "--out",
            "empty",
            "-q",
            "--no-plots",
        ],
    );
    assert_eq!(
        fs::read_to_string(tmp.path().join("empty/runs.csv"))
            .unwrap()
            .lines()
            .count(),
        4
    );
}

#[test]
fn a_batch_that_would_not_fit_in_memory_is_refused_before_it_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let small = fs::read_to_string(repo("tests/data/small.toml")).unwrap();
    // 3 × 50 million agents, 8 runs in flight: hundreds of GB of agent state.
    let huge = small
        .replace("agents = 600", "agents = 50000000")
        .replace("agents = 150", "agents = 50000000")
        .replace("agents = 20", "agents = 50000000");
    fs::write(tmp.path().join("huge.toml"), huge).unwrap();
    let o = l2sim(tmp.path(), &["validate", "huge.toml"]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("peak memory about"));
    let o = l2sim(
        tmp.path(),
        &["run", "huge.toml", "--out", "res", "-q", "--threads", "8"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("GB at its peak")
            && err.contains("--force")
            && err.contains("segments[].agents"),
        "{err}"
    );
    assert_eq!(
        entries(tmp.path()),
        vec![tmp.path().join("huge.toml")],
        "nothing written"
    );
}

#[test]
fn an_unwritable_output_folder_is_an_input_error() {
    let tmp = tempfile::tempdir().unwrap();
    let o = l2sim(
        tmp.path(),
        &[
            "run",
            &repo("tests/data/small.toml"),
            "--runs",
            "1",
            "--out",
            "/proc/l2sim-results",
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--out /proc/l2sim-results: cannot write there"),
        "{}",
        stderr(&o)
    );
    assert!(!Path::new("/proc/l2sim-results").exists());
    assert!(entries(tmp.path()).is_empty());
}
