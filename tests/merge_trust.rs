//! Issue 14, "trust no file you read": `merge` and `plot` with the real binary on files damaged,
//! swapped, forged or pointed elsewhere. Every case must exit 2 with a message naming the file
//! (and the field or column), write nothing, and never be merged or drawn silently.

use std::fs;
use std::path::Path;

mod common;
use common::{files, l2sim, l2sim_ok, repo};

/// The two scenarios compared in these tests.
fn compare_pair() -> (String, String) {
    (
        repo("tests/data/small.toml"),
        repo("tests/data/small_fast_zk.toml"),
    )
}

/// The charts of `dir` (SVG: text, the same bytes for the same data).
fn svgs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = files(dir)
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "svg"))
        .map(|f| (f.display().to_string(), fs::read(dir.join(&f)).unwrap()))
        .collect();
    out.sort();
    out
}

/// `path` (a CSV file) with its columns in reverse order.
fn reverse_columns(path: &Path) {
    let text = fs::read_to_string(path).unwrap();
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut w = csv::Writer::from_path(path).unwrap();
    for rec in r.records() {
        let rec = rec.unwrap();
        w.write_record(rec.iter().rev()).unwrap();
    }
    w.flush().unwrap();
}

/// `plot dir` must exit 2 with `expect` in its message.
fn plot_refused(t: &Path, dir: &str, expect: &str) {
    let o = l2sim(t, &["plot", dir]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{expect}: {err}");
    assert!(err.contains(expect), "expected {expect:?} in {err}");
}

/// Replaces `file`'s content by `edit(content)`, runs `plot_refused`, and restores it.
fn refused_with(t: &Path, file: &str, edit: impl Fn(&str) -> String, dir: &str, expect: &str) {
    let good = fs::read_to_string(t.join(file)).unwrap();
    fs::write(t.join(file), edit(&good)).unwrap();
    plot_refused(t, dir, expect);
    fs::write(t.join(file), good).unwrap();
}

#[test]
fn plot_reads_columns_by_name_and_refuses_damaged_files() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (a, b) = compare_pair();
    let sweep = repo("tests/data/small_sweep_2d.toml");
    l2sim_ok(t, &["run", &a, "--runs", "40", "--out", "run", "-q"]);
    l2sim_ok(
        t,
        &["compare", &a, &b, "--runs", "40", "--out", "cmp", "-q"],
    );
    l2sim_ok(t, &["sweep", &sweep, "--runs", "40", "--out", "sw", "-q"]);

    // Reordered columns draw the same charts.
    for (dir, tables) in [
        ("run", vec!["quantiles.csv", "runs.csv"]),
        (
            "cmp",
            vec![
                "compare.csv",
                "A_small/quantiles.csv",
                "B_small_fast_zk/runs.csv",
            ],
        ),
        ("sw", vec!["sweep.csv"]),
    ] {
        let before = svgs(&t.join(dir));
        assert!(!before.is_empty(), "{dir} has charts");
        for table in tables {
            reverse_columns(&t.join(dir).join(table));
        }
        l2sim_ok(t, &["plot", dir]);
        assert!(
            svgs(&t.join(dir)) == before,
            "{dir}: other charts from reordered columns"
        );
    }

    // A missing column, a cell that is not a number, a row cut short, no rows: located.
    let drop_column = |name: &'static str| {
        move |text: &str| {
            let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
            let i = header.iter().position(|h| *h == name).unwrap();
            text.lines()
                .map(|l| {
                    let mut f: Vec<&str> = l.split(',').collect();
                    f.remove(i);
                    f.join(",") + "\n"
                })
                .collect()
        }
    };
    refused_with(
        t,
        "run/quantiles.csv",
        drop_column("p95"),
        "run",
        "run/quantiles.csv: no column \"p95\"",
    );
    refused_with(
        t,
        "run/runs.csv",
        drop_column("l2_share"),
        "run",
        "run/runs.csv: no column \"l2_share\"",
    );
    refused_with(
        t,
        "cmp/compare.csv",
        drop_column("mean_diff"),
        "cmp",
        "cmp/compare.csv: no column \"mean_diff\"",
    );
    refused_with(
        t,
        "sw/sweep.csv",
        drop_column("p50"),
        "sw",
        "sw/sweep.csv: no column \"p50\"",
    );
    let second_line_number = |text: &str| {
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        let header: Vec<&str> = lines[0].split(',').collect();
        let mean = header.iter().position(|h| *h == "mean").unwrap();
        let mut f: Vec<String> = lines[1].split(',').map(String::from).collect();
        f[mean] = "abc".into();
        lines[1] = f.join(",");
        lines.join("\n") + "\n"
    };
    refused_with(
        t,
        "run/quantiles.csv",
        second_line_number,
        "run",
        "run/quantiles.csv: line 2, column \"mean\": \"abc\" is not a number",
    );
    refused_with(
        t,
        "sw/sweep.csv",
        second_line_number,
        "sw",
        "sw/sweep.csv: line 2, column \"mean\": \"abc\" is not a number",
    );
    // Cut after the first field of a row in the middle: that row is short.
    let cut = |text: &str| {
        let row = text[text.len() / 2..].find('\n').unwrap() + text.len() / 2 + 1;
        text[..row + text[row..].find(',').unwrap() + 1].to_string()
    };
    refused_with(
        t,
        "run/quantiles.csv",
        cut,
        "run",
        "run/quantiles.csv: damaged or truncated",
    );
    refused_with(
        t,
        "run/runs.csv",
        cut,
        "run",
        "run/runs.csv: damaged or truncated",
    );
    refused_with(
        t,
        "cmp/compare.csv",
        cut,
        "cmp",
        "cmp/compare.csv: damaged or truncated",
    );
    let header_only = |text: &str| text.lines().next().unwrap().to_string() + "\n";
    refused_with(
        t,
        "run/quantiles.csv",
        header_only,
        "run",
        "run/quantiles.csv: no rows",
    );
    refused_with(
        t,
        "run/runs.csv",
        |_| String::new(),
        "run",
        "run/runs.csv: no column",
    );
    // Bad JSON.
    let half = |text: &str| text[..text.len() / 2].to_string();
    refused_with(
        t,
        "run/summary.json",
        half,
        "run",
        "run/summary.json: not the JSON",
    );
    refused_with(
        t,
        "sw/sweep.json",
        half,
        "sw",
        "sw/sweep.json: not the JSON",
    );
    refused_with(
        t,
        "sw/sweep.json",
        |s| s.replace("\"axes\"", "\"axis\""),
        "sw",
        "sw/sweep.json: not the JSON l2sim writes here: missing field `axes`",
    );
    // After all that, the folders still redraw.
    for dir in ["run", "cmp", "sw"] {
        l2sim_ok(t, &["plot", dir]);
    }
}
