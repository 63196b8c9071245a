//! Who earns the fees, and why things happened: `value_flow.csv` (revenue by recipient at the
//! horizon, across runs), its paired B − A version in a compare folder (`events.csv`, what
//! happened in every run, is written by `events`), and the conditional probabilities of `summary.json` (docs/MODEL.md §7).
//!
//! Every amount is in USD, cumulative from day 0 to the horizon. Floats are written with a
//! decimal point or an exponent (`1.0`, `2.5e9`) so that every numeric column reads as float
//! whatever the values; string columns (`chain`, `date`) may be empty and are documented as
//! strings.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use serde_json::{Value, json};

use super::compare::CompareRow;
use super::read::{self, Csv};
use super::summary::MetricSummary;
use crate::batch::BatchResult;
use crate::scenario::{ChainKind, Scenario};

use super::format::num as float;

/// One recipient (or payer) of value: a row of `value_flow.csv` before its statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipient {
    /// `l1_validators`, `l1_data_availability`, `sequencer_execution`, `sequencer_data_margin`,
    /// `alt_l1_validators`, `bridge`, `fast_exit_lps`, `hack_losses`, `users_fees_paid`.
    pub recipient: &'static str,
    /// `revenue` (earned from users' fees), `loss` (taken from users by hacks) or `payment`
    /// (what users paid in fees: the sum of every revenue row).
    pub kind: &'static str,
    /// Chain id, empty for whole-system rows.
    pub chain: String,
    /// The `runs.csv` column the values come from.
    pub metric: String,
}

/// The recipients of a scenario's chains, in a fixed order: the L1, each rollup's sequencer
/// (execution, then data margin), alt-L1 validators, bridges and fast-exit LPs per chain, hack
/// losses per chain, then what users paid.
pub fn recipients(chains: &[(String, ChainKind)]) -> Vec<Recipient> {
    let row = |recipient, kind, chain: &str, metric: &str| Recipient {
        recipient,
        kind,
        chain: chain.to_string(),
        metric: super::tables::column_of(metric, chain),
    };
    let mut out = Vec::new();
    for (id, kind) in chains {
        match kind {
            ChainKind::L1 => {
                out.push(row("l1_validators", "revenue", id, "execution_revenue_usd"));
                out.push(row(
                    "l1_data_availability",
                    "revenue",
                    "",
                    "l1_data_revenue_usd",
                ));
            }
            ChainKind::Optimistic | ChainKind::Zk => {
                out.push(row(
                    "sequencer_execution",
                    "revenue",
                    id,
                    "execution_revenue_usd",
                ));
                out.push(row(
                    "sequencer_data_margin",
                    "revenue",
                    id,
                    "data_margin_usd",
                ));
            }
            ChainKind::AltL1 => {
                out.push(row(
                    "alt_l1_validators",
                    "revenue",
                    id,
                    "execution_revenue_usd",
                ));
            }
        }
    }
    for (id, _) in chains {
        out.push(row("bridge", "revenue", id, "bridge_fee_revenue_usd"));
    }
    for (id, kind) in chains {
        if *kind != ChainKind::L1 {
            out.push(row("fast_exit_lps", "revenue", id, "lp_fee_revenue_usd"));
        }
    }
    for (id, _) in chains {
        out.push(row("hack_losses", "loss", id, "hack_loss_usd"));
    }
    out.push(row("users_fees_paid", "payment", "", "users_fees_paid_usd"));
    out
}

fn chains_of(sc: &Scenario) -> Vec<(String, ChainKind)> {
    sc.chains.iter().map(|c| (c.id.clone(), c.kind)).collect()
}

/// One row of `value_flow.csv`: a recipient's cumulative amount at the horizon across runs.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueRow {
    pub recipient: Recipient,
    pub mean: f64,
    pub ci95_low: f64,
    pub ci95_high: f64,
    pub p05: f64,
    pub p50: f64,
    pub p95: f64,
    /// `mean / mean(users_fees_paid)` (0 when users paid nothing).
    pub share_of_fees: f64,
}

/// The rows of `value_flow.csv` from a batch's per-run statistics.
pub fn value_rows(scenario: &Scenario, result: &BatchResult) -> Vec<ValueRow> {
    let all = recipients(&chains_of(scenario));
    let summary = |metric: &str| {
        result
            .run_stat(metric)
            .map(|s| MetricSummary::of(metric, s))
    };
    let nan = f64::NAN;
    let fees = summary("users_fees_paid_usd")
        .and_then(|s| s.mean)
        .unwrap_or(0.0);
    all.into_iter()
        .map(|r| {
            let s = summary(&r.metric);
            let get = |f: fn(&MetricSummary) -> Option<f64>| s.as_ref().and_then(f).unwrap_or(nan);
            let mean = get(|s| s.mean);
            ValueRow {
                mean,
                ci95_low: get(|s| s.ci95_low),
                ci95_high: get(|s| s.ci95_high),
                p05: get(|s| s.p05),
                p50: get(|s| s.p50),
                p95: get(|s| s.p95),
                share_of_fees: if fees != 0.0 { mean / fees } else { 0.0 },
                recipient: r,
            }
        })
        .collect()
}

const VALUE_HEADER: [&str; 11] = [
    "recipient",
    "kind",
    "chain",
    "metric",
    "mean",
    "ci95_low",
    "ci95_high",
    "p05",
    "p50",
    "p95",
    "share_of_fees",
];

/// Writes `value_flow.csv`.
pub fn write_value_csv(path: &Path, rows: &[ValueRow]) -> Result<()> {
    let mut w = super::output::csv_file(path)?;
    w.write_record(VALUE_HEADER)?;
    for r in rows {
        let p = &r.recipient;
        let mut rec = vec![
            p.recipient.to_string(),
            p.kind.to_string(),
            p.chain.clone(),
            p.metric.clone(),
        ];
        rec.extend(
            [
                r.mean,
                r.ci95_low,
                r.ci95_high,
                r.p05,
                r.p50,
                r.p95,
                r.share_of_fees,
            ]
            .map(float),
        );
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}

/// The `value_flow` object of `summary.json`.
pub fn value_flow_json(rows: &[ValueRow]) -> Value {
    let recipients: Vec<Value> = rows
        .iter()
        .map(|r| {
            let p = &r.recipient;
            let f = |x: f64| x.is_finite().then_some(x);
            json!({
                "recipient": p.recipient,
                "kind": p.kind,
                "chain": p.chain,
                "metric": p.metric,
                "mean": f(r.mean),
                "ci95_low": f(r.ci95_low),
                "ci95_high": f(r.ci95_high),
                "p05": f(r.p05),
                "p50": f(r.p50),
                "p95": f(r.p95),
                "share_of_fees": f(r.share_of_fees),
            })
        })
        .collect();
    json!({
        "unit": "USD, cumulative from day 0 to the horizon",
        "recipients": recipients,
    })
}

/// The per-run flags conditioned on, in `runs.csv`.
pub const CONDITIONS: [&str; 4] = [
    "hacked_optimistic",
    "hacked_zk",
    "hacked_alt_l1",
    "panicked",
];

/// `P(zk_overtakes | flag)` against `P(zk_overtakes | not flag)` for every flag of
/// [`CONDITIONS`], with counts and Wilson 95 % intervals, from every run's values (kept exactly,
/// in run order; the flags are never missing, so the columns line up run by run).
pub fn conditional_json(result: &BatchResult) -> Value {
    let column = |name: &str| {
        result
            .run_stat(name)
            .and_then(|s| s.values())
            .unwrap_or(&[])
    };
    let overtook = column("zk_overtakes");
    let mut out = Vec::new();
    for name in CONDITIONS {
        let flags = column(name);
        let side = |want: bool| {
            let (mut n, mut k) = (0u64, 0u64);
            for (&f, &o) in flags.iter().zip(overtook) {
                if (f == 1.0) == want {
                    n += 1;
                    k += u64::from(o == 1.0);
                }
            }
            let (lo, hi) = crate::batch::wilson(k, n);
            let p = k as f64 / n as f64;
            json!({
                "runs": n,
                "zk_overtakes": k,
                "probability": p.is_finite().then_some(p),
                "wilson95_low": lo,
                "wilson95_high": hi,
            })
        };
        out.push(json!({
            "outcome": "zk_overtakes",
            "condition": name,
            "given": side(true),
            "given_not": side(false),
        }));
    }
    Value::Array(out)
}

/// One row of a compare folder's `value_flow.csv`: the paired difference B − A of a recipient's
/// cumulative amount: its `runs.csv` column's row of `compare.csv` (common random numbers, run
/// by run).
#[derive(Debug, Clone, PartialEq)]
pub struct PairedValueRow {
    pub scenario_a: String,
    pub scenario_b: String,
    pub recipient: Recipient,
    pub n: u64,
    pub mean_a: f64,
    pub mean_b: f64,
    pub mean_diff: f64,
    pub ci95_low: f64,
    pub ci95_high: f64,
    /// `gains`, `loses` (for a loss or a payment: users gain when it falls), `unclear` (the
    /// interval holds 0) or `unchanged` (equal in every run).
    pub verdict: &'static str,
}

/// The paired rows of every scenario against the first: each recipient's row of `compare.csv`
/// (the paired statistics of its `runs.csv` column, run with common random numbers), with a
/// verdict.
pub fn paired_value_rows(scenarios: &[&Scenario], compare: &[CompareRow]) -> Vec<PairedValueRow> {
    let mut rows = Vec::new();
    let wanted = recipients(&chains_of(scenarios[0]));
    for b in &scenarios[1..] {
        for r in &wanted {
            let Some(c) = compare
                .iter()
                .find(|c| c.scenario_b == b.name && c.column() == r.metric)
            else {
                continue;
            };
            let (lo, hi) = (c.ci95_low, c.ci95_high);
            let revenue = r.kind == "revenue";
            let verdict = match (lo > 0.0, hi < 0.0) {
                _ if c.identical => "unchanged",
                (false, false) => "unclear",
                (up, _) if up == revenue => "gains",
                _ => "loses",
            };
            rows.push(PairedValueRow {
                scenario_a: c.scenario_a.clone(),
                scenario_b: c.scenario_b.clone(),
                recipient: r.clone(),
                n: c.n,
                mean_a: c.mean_a,
                mean_b: c.mean_b,
                mean_diff: c.mean_diff,
                ci95_low: lo,
                ci95_high: hi,
                verdict,
            });
        }
    }
    rows
}

/// Writes a compare folder's `value_flow.csv`.
pub fn write_paired_value_csv(path: &Path, rows: &[PairedValueRow]) -> Result<()> {
    let mut w = super::output::csv_file(path)?;
    w.write_record([
        "scenario_a",
        "scenario_b",
        "recipient",
        "kind",
        "chain",
        "metric",
        "n",
        "mean_a",
        "mean_b",
        "mean_diff",
        "ci95_low",
        "ci95_high",
        "verdict",
    ])?;
    for r in rows {
        let p = &r.recipient;
        let mut rec = vec![
            r.scenario_a.clone(),
            r.scenario_b.clone(),
            p.recipient.to_string(),
            p.kind.to_string(),
            p.chain.clone(),
            p.metric.clone(),
            r.n.to_string(),
        ];
        rec.extend([r.mean_a, r.mean_b, r.mean_diff, r.ci95_low, r.ci95_high].map(float));
        rec.push(r.verdict.to_string());
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}

/// The "Who earns the fees" section of a run's `report.html`, from the folder's
/// `value_flow.csv` and `summary.json`; `escape` escapes text for HTML.
pub fn run_section(dir: &Path, escape: fn(&str) -> String) -> Result<String> {
    let mut t = Csv::open(&dir.join("value_flow.csv"))?;
    let cols = t.columns(&VALUE_HEADER)?;
    let mut body = String::from(
        "<h2>Who earns the fees (cumulative to the horizon, USD)</h2>\n<table class=\"names\"><tr><th>recipient</th><th>chain</th><th>kind</th><th>mean</th><th>95 % interval of the mean</th><th>p05</th><th>p50</th><th>p95</th><th>share of fees</th></tr>\n",
    );
    while t.next_row()? {
        let n = |i: usize| t.number(cols[i]);
        let _ = writeln!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>[{}, {}]</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2} %</td></tr>",
            escape(t.text(cols[0])),
            escape(t.text(cols[2])),
            escape(t.text(cols[1])),
            super::format::usd(n(4)?),
            super::format::usd(n(5)?),
            super::format::usd(n(6)?),
            super::format::usd(n(7)?),
            super::format::usd(n(8)?),
            super::format::usd(n(9)?),
            100.0 * n(10)?,
        );
    }
    body.push_str("</table>\n<p class=\"note\">Revenue rows add up to <code>users_fees_paid</code>; the sequencer's data margin is what users were charged for data minus what the rollup paid the L1 (non-zero only when <code>data_cost_pass_through</code> &lt; 1 and the data cost changed). Every row, with its <code>runs.csv</code> column: <code>value_flow.csv</code>; every hack, panic, airdrop, launch and overtaking, run by run: <code>events.csv</code>.</p>\n");
    let summary: Value = read::json(&dir.join("summary.json"))?;
    if let Some(conds) = summary["conditional"].as_array() {
        body.push_str("<h2>Why it happened: P(ZK overtakes optimistic | …)</h2>\n<table class=\"names\"><tr><th>condition</th><th>runs with it</th><th>P(overtakes | it)</th><th>Wilson 95 %</th><th>runs without</th><th>P(overtakes | not)</th><th>Wilson 95 %</th></tr>\n");
        for c in conds {
            let side = |s: &Value| {
                format!(
                    "<td>{}</td><td>{}</td><td>[{:.3}, {:.3}]</td>",
                    s["runs"],
                    s["probability"]
                        .as_f64()
                        .map_or("–".into(), |p| format!("{p:.3}")),
                    s["wilson95_low"].as_f64().unwrap_or(f64::NAN),
                    s["wilson95_high"].as_f64().unwrap_or(f64::NAN),
                )
            };
            let _ = writeln!(
                body,
                "<tr><td>{}</td>{}{}</tr>",
                escape(c["condition"].as_str().unwrap_or("")),
                side(&c["given"]),
                side(&c["given_not"]),
            );
        }
        body.push_str("</table>\n");
    }
    Ok(body)
}

/// The "Who gains" section of a compare folder's `report.html`, from its `value_flow.csv`.
pub fn compare_section(dir: &Path, escape: fn(&str) -> String) -> Result<String> {
    let mut t = Csv::open(&dir.join("value_flow.csv"))?;
    let names = [
        "scenario_b",
        "recipient",
        "chain",
        "mean_a",
        "mean_b",
        "mean_diff",
        "ci95_low",
        "ci95_high",
        "verdict",
    ];
    let cols = t.columns(&names)?;
    let mut body = String::from(
        "<h2>Who gains and who loses (B − A, cumulative to the horizon, USD)</h2>\n<p class=\"note\">Paired over runs with common random numbers (e.g. EIP-4844 blobs: <code>blob_fee_drop</code> against the baseline). For <code>users_fees_paid</code> and <code>hack_losses</code> users gain when the amount falls.</p>\n<table class=\"names\"><tr><th>B</th><th>recipient</th><th>chain</th><th>mean A</th><th>mean B</th><th>mean B − A</th><th>95 % interval, paired</th><th>verdict</th></tr>\n",
    );
    while t.next_row()? {
        let n = |i: usize| t.number(cols[i]);
        let _ = writeln!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>[{}, {}]</td><td>{}</td></tr>",
            escape(t.text(cols[0])),
            escape(t.text(cols[1])),
            escape(t.text(cols[2])),
            super::format::usd(n(3)?),
            super::format::usd(n(4)?),
            super::format::usd(n(5)?),
            super::format::usd(n(6)?),
            super::format::usd(n(7)?),
            escape(t.text(cols[8])),
        );
    }
    body.push_str("</table>\n");
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_cover_every_fee() {
        let chains = vec![
            ("eth".to_string(), ChainKind::L1),
            ("op".to_string(), ChainKind::Optimistic),
            ("sol".to_string(), ChainKind::AltL1),
        ];
        let r = recipients(&chains);
        let metrics: Vec<&str> = r.iter().map(|r| r.metric.as_str()).collect();
        for m in [
            "execution_revenue_usd.eth",
            "l1_data_revenue_usd",
            "execution_revenue_usd.op",
            "data_margin_usd.op",
            "execution_revenue_usd.sol",
            "bridge_fee_revenue_usd.sol",
            "lp_fee_revenue_usd.op",
            "hack_loss_usd.eth",
            "users_fees_paid_usd",
        ] {
            assert!(metrics.contains(&m), "{m} missing");
        }
        assert!(!metrics.contains(&"lp_fee_revenue_usd.eth"));
    }
}
