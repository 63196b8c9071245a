//! Calendar time and time-series inputs through the real binary: a fee series reproduced exactly
//! in `fee_usd` when noise is off, dates and days that round-trip, month-end samples, the
//! series copied beside `scenario.resolved.toml` so that a rerun of it gives the same bytes,
//! and bad series input refused with file:line:column, nothing written.

use crate::common;

use std::fs;
use std::path::Path;

use common::{l2sim, l2sim_ok, repo};

const L1_FEE: &str = "date,value\n2022-01-01,16.8\n2022-02-01,9.5\n2022-03-01,4.2\n";
const ZK_FEE: &str = "day,value\n0,0.9\n40,0.3\n89,0.1\n";

/// `tests/data/small.toml` from 2022-01-01 for 89 days with month-end samples, fee noise off,
/// its L1 fee and its ZK fee (data part 0) driven by series.
fn scenario(dir: &Path) -> String {
    let base = fs::read_to_string(repo("tests/data/small.toml")).unwrap();
    let mut text = base
        .replacen(
            "horizon_days = 120",
            "horizon_days = 89\nstart_date = \"2022-01-01\"\nsample = \"month_end\"",
            1,
        )
        .replacen("gas_volatility = 0.2", "gas_volatility = 0", 1);
    // The ZK chain's fee is then its tx cost alone.
    let zk = text.find("id = \"zk\"").unwrap();
    let dcf = zk + text[zk..].find("data_cost_factor").unwrap();
    let end = dcf + text[dcf..].find('\n').unwrap();
    text.replace_range(dcf..end, "data_cost_factor = 0");
    text.push_str(
        "\n[[series]]\nfile = \"data/l1_fee.csv\"\ntarget = \"chains.l1.tx_cost_usd\"\n\n\
         [[series]]\nfile = \"data/zk_fee.csv\"\ntarget = \"chains.zk.tx_cost_usd\"\ninterpolation = \"linear\"\n",
    );
    fs::create_dir_all(dir.join("data")).unwrap();
    fs::write(dir.join("data/l1_fee.csv"), L1_FEE).unwrap();
    fs::write(dir.join("data/zk_fee.csv"), ZK_FEE).unwrap();
    let path = dir.join("s.toml");
    fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// `(day, date, mean)` of one metric and chain in `quantiles.csv`, read by header.
fn column(dir: &Path, metric: &str, chain: &str) -> Vec<(f64, String, f64)> {
    let mut r = csv::Reader::from_path(dir.join("quantiles.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let at = |n: &str| h.iter().position(|x| x == n).unwrap();
    let (d, date, m, c, mean) = (at("day"), at("date"), at("metric"), at("chain"), at("mean"));
    r.records()
        .map(|x| x.unwrap())
        .filter(|x| &x[m] == metric && &x[c] == chain)
        .map(|x| {
            (
                x[d].parse().unwrap(),
                x[date].to_string(),
                x[mean].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_series_is_reproduced_in_fee_usd_and_dates_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path());
    l2sim_ok(
        tmp.path(),
        &["run", &s, "--runs", "3", "--out", "a", "--no-plots", "-q"],
    );
    let a = tmp.path().join("a");
    let l1 = column(&a, "fee_usd", "l1");
    // Samples on day 0 and on the last day of each month (February 2022 has 28 days).
    let dates: Vec<&str> = l1.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(
        dates,
        ["2022-01-01", "2022-01-31", "2022-02-28", "2022-03-31"]
    );
    let days: Vec<f64> = l1.iter().map(|r| r.0).collect();
    assert_eq!(days, [0.0, 30.0, 58.0, 89.0]);
    // Step: the value of the last row at or before the day, exactly.
    let fees: Vec<f64> = l1.iter().map(|r| r.2).collect();
    assert_eq!(fees, [16.8, 16.8, 9.5, 4.2]);
    // Linear between (0, 0.9), (40, 0.3), (89, 0.1).
    let zk: Vec<f64> = column(&a, "fee_usd", "zk").iter().map(|r| r.2).collect();
    let expect = [0.9, 0.9 - 0.6 * 30.0 / 40.0, 0.3 - 0.2 * 18.0 / 49.0, 0.1];
    for (got, want) in zk.iter().zip(expect) {
        assert!((got - want).abs() <= 1e-12, "{zk:?} vs {expect:?}");
    }
    // The folder keeps the series; its resolved scenario reruns to the same bytes.
    assert_eq!(
        fs::read_to_string(a.join("series/l1_fee.csv")).unwrap(),
        L1_FEE
    );
    let resolved = a.join("scenario.resolved.toml");
    l2sim_ok(
        tmp.path(),
        &[
            "run",
            &resolved.to_string_lossy(),
            "--out",
            "b",
            "--no-plots",
            "-q",
        ],
    );
    let b = tmp.path().join("b");
    for f in [
        "quantiles.csv",
        "runs.csv",
        "scenario.resolved.toml",
        "series/zk_fee.csv",
    ] {
        assert_eq!(
            fs::read(a.join(f)).unwrap(),
            fs::read(b.join(f)).unwrap(),
            "{f}"
        );
    }
    // An edited copy no longer matches the SHA-256 the resolved scenario records.
    fs::write(b.join("series/l1_fee.csv"), L1_FEE.replace("9.5", "9.6")).unwrap();
    let o = l2sim(
        tmp.path(),
        &[
            "validate",
            &b.join("scenario.resolved.toml").to_string_lossy(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("the file changed"));
}

/// Runs `args` and expects exit 2, `expect` in the message, and nothing written in `dir/out`.
fn refused(dir: &Path, s: &str, expect: &str) {
    let o = l2sim(
        dir,
        &["run", s, "--runs", "2", "--out", "out", "--no-plots", "-q"],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{expect}: {err}");
    assert!(err.contains(expect), "expected {expect:?} in {err}");
    assert!(!dir.join("out").exists());
}

#[test]
fn bad_series_input_is_located_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let s = scenario(dir);
    let text = fs::read_to_string(&s).unwrap();
    let csv = dir.join("data/l1_fee.csv");
    let cases: [(&str, &str); 6] = [
        (
            "date,value\n2022-01-01,16.8\n2022-02-01,lots\n",
            "l1_fee.csv:3:12: value = \"lots\": not a number",
        ),
        (
            "date,value\n2022-01-01,16.8\n2022-02-30,9\n",
            "l1_fee.csv:3:1: date = \"2022-02-30\": not a date",
        ),
        (
            "date,value\n2022-01-01,16.8\n2023-02-01,9\n",
            "l1_fee.csv:3:1: date = 2023-02-01: day 396 is outside the horizon [0, 89]",
        ),
        (
            "date,value\n2022-01-01,inf\n",
            "l1_fee.csv:2:12: value = inf: must be a finite number >= 0",
        ),
        (
            "when,value\n2022-01-01,1\n",
            "l1_fee.csv:1:1: header needs a `date` (or `day`) column",
        ),
        (
            "date,value\n2022-02-01,1\n2022-01-01,2\n",
            "l1_fee.csv:3:1: date = 2022-01-01: rows must be in increasing order",
        ),
    ];
    for (content, expect) in cases {
        fs::write(&csv, content).unwrap();
        refused(dir, &s, expect);
    }
    fs::write(&csv, L1_FEE).unwrap();
    let edit = |from: &str, to: &str| {
        let path = dir.join("edited.toml");
        fs::write(&path, text.replacen(from, to, 1)).unwrap();
        path.to_string_lossy().into_owned()
    };
    refused(
        dir,
        &edit("data/l1_fee.csv", "data/missing.csv"),
        "series[0].file = ",
    );
    refused(
        dir,
        &edit("chains.l1.tx_cost_usd", "chains.l1.kind"),
        "series[0].target = \"chains.l1.kind\": \"kind\" is not a settable chain field",
    );
    refused(
        dir,
        &edit("chains.l1.tx_cost_usd", "chains.nope.tx_cost_usd"),
        "no chain \"nope\"",
    );
    refused(
        dir,
        &edit("interpolation = \"linear\"", "interpolation = \"cubic\""),
        "series[1].interpolation = \"cubic\": must be \"step\" or \"linear\"",
    );
    // The location of a scenario-level problem is the [[series]] entry in the scenario file.
    let o = l2sim(
        dir,
        &["validate", &edit("data/l1_fee.csv", "data/missing.csv")],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("edited.toml:"), "{err}");
}

/// An alt-L1's own asset price from a series: with nobody reviewing, its TVL follows the series
/// (times its yield), while the others do not.
#[test]
fn a_chain_follows_its_own_price_series() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path());
    let text = fs::read_to_string(&s)
        .unwrap()
        .replace("review_rate_per_day = 0.1", "review_rate_per_day = 1e-9")
        .replace("review_rate_per_day = 0.2", "review_rate_per_day = 1e-9")
        + "\n[[series]]\nfile = \"data/sol.csv\"\ntarget = \"chains.alt.price_factor\"\n";
    fs::write(
        tmp.path().join("data/sol.csv"),
        "day,value\n0,100\n40,250\n",
    )
    .unwrap();
    let path = tmp.path().join("own.toml");
    fs::write(&path, text).unwrap();
    l2sim_ok(
        tmp.path(),
        &[
            "run",
            &path.to_string_lossy(),
            "--runs",
            "2",
            "--out",
            "o",
            "--no-plots",
            "-q",
        ],
    );
    let alt = column(&tmp.path().join("o"), "tvl_usd", "alt");
    let opt = column(&tmp.path().join("o"), "tvl_usd", "opt");
    let (a0, a) = (alt[0].2, alt[2].2); // day 0 and 2022-02-28 (day 58)
    assert!((a / a0 / 2.5 - 1.0).abs() < 0.02, "{}", a / a0);
    assert!((opt[2].2 / opt[0].2 - 1.0).abs() < 0.02);
}
