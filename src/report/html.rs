//! `report.html`: one self-contained page per output folder (charts inlined as SVG, no scripts,
//! no external files), built from the folder's own files so that `l2sim plot` can rebuild it.
//! Every string that comes from a scenario is escaped.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

use super::compare::CompareRow;
use super::{format, read};
use crate::scenario::Scenario;

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'DejaVu Sans',sans-serif;max-width:1280px;margin:2em auto;padding:0 1em;color:#222}\
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;font-size:.9em}td,th{padding:.25em .7em;border-bottom:1px solid #eee;text-align:right}\
td:first-child,th:first-child,.names td:nth-child(2),.names th:nth-child(2){text-align:left}code,pre{background:#f6f6f6;padding:.15em .35em}\
pre{padding:1em;overflow:auto;max-height:30em}figure{margin:1.5em 0}figure svg{max-width:100%;height:auto}\
.note{color:#666;font-size:.9em}";

pub(super) fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n<p class=\"note\">Written by l2sim {}.</p>\n</body>\n</html>\n",
        escape(title),
        env!("CARGO_PKG_VERSION")
    )
}

/// A plain number of a JSON document for a table (see [`format::number`]).
fn fmt(v: &Value) -> String {
    format::number(v.as_f64().unwrap_or(f64::NAN))
}

/// A value of `metric` from a JSON document, with its unit (see [`format::value`]).
fn fmt_in(metric: &str, v: &Value) -> String {
    format::value(metric, v.as_f64().unwrap_or(f64::NAN))
}

/// The SVG charts of `dir/charts` in the given order, inlined.
fn charts(dir: &Path, names: &[&str]) -> String {
    let mut out = String::new();
    for name in names {
        if let Ok(svg) = std::fs::read_to_string(dir.join("charts").join(format!("{name}.svg"))) {
            let svg = svg.find("<svg").map_or(svg.as_str(), |i| &svg[i..]);
            let _ = write!(
                out,
                "<figure id=\"{name}\">\n{svg}\n<figcaption class=\"note\">charts/{name}.svg</figcaption></figure>\n"
            );
        }
    }
    out
}

fn scenario_tables(sc: &Scenario) -> String {
    let mut t = String::from(
        "<table><tr><th>chain</th><th>kind</th><th>launch day</th><th>initial TVL (USD)</th><th>tx cost (USD)</th><th>withdrawal delay (days)</th><th>fast-exit pool (USD)</th><th>organic yield</th><th>risk premium</th></tr>\n",
    );
    for c in &sc.chains {
        let _ = writeln!(
            t,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.3e}</td><td>{}</td><td>{}</td><td>{:.3e}</td><td>{}</td><td>{}</td></tr>",
            escape(&c.id),
            c.kind.as_str(),
            c.launch_day,
            c.initial_tvl_usd,
            c.tx_cost_usd,
            c.withdrawal_delay_days,
            c.fast_exit_liquidity_usd,
            c.organic_yield_apy,
            c.risk_premium_apy
        );
    }
    t.push_str("</table>\n<table><tr><th>segment</th><th>agents</th><th>reviews per day</th><th>logit scale</th><th>panic probability</th></tr>\n");
    for s in &sc.segments {
        let _ = writeln!(
            t,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&s.name),
            s.agents,
            s.review_rate_per_day,
            s.logit_scale,
            s.panic_prob
        );
    }
    t.push_str("</table>\n");
    t
}

const HEADLINE: [(&str, &str); 12] = [
    (
        "l2_share",
        "L2 share: (optimistic + ZK) / (L1 + optimistic + ZK)",
    ),
    ("zk_share_of_l2", "ZK share of L2"),
    ("alt_l1_share", "alt-L1 share of all TVL"),
    ("tvl_total_usd", "total TVL (USD)"),
    ("tvl_l1_usd", "L1 TVL (USD)"),
    ("tvl_optimistic_usd", "optimistic TVL (USD)"),
    ("tvl_zk_usd", "ZK TVL (USD)"),
    ("tvl_alt_l1_usd", "alt-L1 TVL (USD)"),
    (
        "zk_overtakes_day",
        "day ZK first exceeds optimistic (runs where it does)",
    ),
    ("peak_in_transit_usd", "peak capital in transit (USD)"),
    ("l1_data_revenue_usd", "L1 data revenue, cumulative (USD)"),
    ("lp_fee_revenue_usd", "fast-exit LP fees, cumulative (USD)"),
];

/// Writes `dir/report.html` for a run folder.
pub fn write_run_html(dir: &Path) -> Result<()> {
    let summary: Value = read::json(&dir.join("summary.json"))?;
    let resolved = read::text(&dir.join("scenario.resolved.toml"))?;
    let sc = Scenario::from_toml_str(&resolved, &dir.join("scenario.resolved.toml"))?;
    let mut body = format!(
        "<h1>l2sim run: {}</h1>\n<p>{}</p>\n<p>{} runs, seed {}, horizon {} days. Largest relative conservation error over all samples: {}. Reproduce it, byte for byte, from this folder with <code>l2sim run scenario.resolved.toml --out rerun</code>.</p>\n",
        escape(&sc.name),
        escape(&sc.description),
        summary["runs"],
        summary["seed"],
        sc.horizon_days,
        fmt(&summary["conservation_error_max"]),
    );
    body.push_str("<h2>Headline results at the horizon</h2>\n<table><tr><th>metric</th><th>mean</th><th>95 % interval of the mean</th><th>p05</th><th>p50</th><th>p95</th></tr>\n");
    for (key, label) in HEADLINE {
        let m = &summary["metrics"][key];
        if m.is_null() {
            continue;
        }
        let _ = writeln!(
            body,
            "<tr><td>{}</td><td>{}</td><td>[{}, {}]</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(label),
            fmt_in(key, &m["mean"]),
            fmt_in(key, &m["ci95_low"]),
            fmt_in(key, &m["ci95_high"]),
            fmt_in(key, &m["p05"]),
            fmt_in(key, &m["p50"]),
            fmt_in(key, &m["p95"])
        );
    }
    let _ = writeln!(
        body,
        "<tr><td>probability that ZK overtakes optimistic</td><td>{}</td><td>[{}, {}] (Wilson)</td><td></td><td></td><td></td></tr>\n</table>",
        fmt(&summary["zk_overtakes_probability"]),
        fmt(&summary["zk_overtakes_ci95_low"]),
        fmt(&summary["zk_overtakes_ci95_high"])
    );
    body.push_str("<h2>Charts</h2>\n");
    body.push_str(&charts(
        dir,
        &[
            "tvl_fan",
            "share_by_kind",
            "zk_vs_optimistic",
            "final_distribution",
            "value_distribution",
        ],
    ));
    body.push_str(&super::value::run_section(dir, escape)?);
    body.push_str("<h2>Scenario</h2>\n");
    body.push_str(&scenario_tables(&sc));
    let _ = writeln!(
        body,
        "<details><summary>scenario.resolved.toml</summary><pre>{}</pre></details>",
        escape(&resolved)
    );
    std::fs::write(
        dir.join("report.html"),
        page(&format!("l2sim run: {}", sc.name), &body),
    )
    .context("writing report.html")
}

/// Writes `dir/report.html` for a compare folder whose scenarios' run folders are `run_dirs`.
pub fn write_compare_html(
    dir: &Path,
    run_dirs: &[std::path::PathBuf],
    rows: &[CompareRow],
) -> Result<()> {
    let mut scenarios = Vec::new();
    for d in run_dirs {
        let text = read::text(&d.join("scenario.resolved.toml"))?;
        scenarios.push((
            Scenario::from_toml_str(&text, &d.join("scenario.resolved.toml"))?,
            text,
        ));
    }
    let names: Vec<&str> = scenarios.iter().map(|(s, _)| s.name.as_str()).collect();
    let reference = &scenarios[0].0;
    let command: Vec<String> = run_dirs
        .iter()
        .map(|d| {
            format!(
                "{}/scenario.resolved.toml",
                d.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            )
        })
        .collect();
    let mut body = format!(
        "<h1>l2sim compare: {}</h1>\n<p>Each scenario ran {} times with the same per-run seeds (common random numbers, seed {}), so run <i>r</i> of every scenario draws the same agents and review clock; differences are paired run by run. Reproduce it from this folder with <code>l2sim compare {} --out rerun</code>.</p>\n",
        escape(&names.join(" vs ")),
        reference.runs,
        reference.seed,
        escape(&command.join(" ")),
    );
    for (sc, _) in &scenarios {
        let _ = writeln!(
            body,
            "<p><b>{}</b>: {}</p>",
            escape(&sc.name),
            escape(&sc.description)
        );
    }
    body.push_str("<h2>Paired differences at the horizon (B − A)</h2>\n<table class=\"names\"><tr><th>B</th><th>metric</th><th>mean A</th><th>mean B</th><th>mean B − A</th><th>95 % interval, paired</th><th>95 % interval, unpaired</th><th>P(B &gt; A)</th><th>variance removed by pairing</th></tr>\n");
    for r in rows {
        let v = |x: f64| format::value(&r.metric, x);
        let d = |x: f64| format::difference(&r.metric, x);
        let _ = writeln!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>[{}, {}]</td><td>[{}, {}]</td><td>{:.2}</td><td>{}</td></tr>",
            escape(&r.scenario_b),
            escape(&r.column()),
            v(r.mean_a),
            v(r.mean_b),
            d(r.mean_diff),
            d(r.ci95_low),
            d(r.ci95_high),
            d(r.unpaired_ci95_low),
            d(r.unpaired_ci95_high),
            r.p_b_gt_a,
            crate::report::compare::variance_removed(r)
        );
    }
    body.push_str("</table>\n");
    body.push_str(&super::value::compare_section(dir, escape)?);
    body.push_str("<h2>Charts</h2>\n");
    body.push_str(&charts(
        dir,
        &[
            "compare_paired_over_time",
            "value_distribution",
            "compare_differences",
            "compare_trajectories",
        ],
    ));
    for (d, (sc, text)) in run_dirs.iter().zip(&scenarios) {
        let folder = d
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let _ = write!(
            body,
            "<h2>Scenario {}</h2>\n<p class=\"note\">Its own run report: <code>{}/report.html</code>.</p>\n{}<details><summary>scenario.resolved.toml</summary><pre>{}</pre></details>\n",
            escape(&sc.name),
            escape(&folder),
            scenario_tables(sc),
            escape(text)
        );
    }
    std::fs::write(
        dir.join("report.html"),
        page(&format!("l2sim compare: {}", names.join(" vs ")), &body),
    )
    .context("writing report.html")
}

/// Writes `dir/report.html` for a sweep folder.
pub fn write_sweep_html(dir: &Path) -> Result<()> {
    let info = super::sweep::read_sweep_json(&dir.join("sweep.json"))?;
    let fields = info.fields();
    let rows = super::sweep::read_sweep_csv(&dir.join("sweep.csv"), &fields)?;
    let resolved = read::text(&dir.join("scenario.resolved.toml"))?;
    let sensitivity = dir.join("sensitivity.json");
    let sensitivity = sensitivity
        .exists()
        .then(|| super::explore::read_sensitivity_json(&sensitivity))
        .transpose()?;
    let discovery = dir.join("discovery.json");
    let discovery = discovery
        .exists()
        .then(|| super::explore::read_discovery_json(&discovery))
        .transpose()?;
    let command = match (&sensitivity, &discovery) {
        (Some(_), _) => "sensitivity",
        (_, Some(_)) => "discover",
        _ => "sweep",
    };
    let what = match &info.design {
        Some(d) => format!("{} points of a {} design", info.points, d.method),
        None => format!("{} grid points", info.points),
    };
    let mut body = format!(
        "<h1>l2sim {command}: {}</h1>\n<p>{what} × {} runs, seed {}: every point runs with the same per-run seeds (common random numbers), so differences between points are not run-to-run noise. Reproduce it from this folder with <code>l2sim {command} scenario.resolved.toml --out rerun</code>.</p>\n<ul>\n",
        escape(&info.scenario),
        info.runs,
        info.seed
    );
    if let Some(d) = &info.design {
        for p in &d.parameters {
            let _ = writeln!(
                body,
                "<li><code>{}</code> from {} to {} ({} scale){}</li>",
                escape(&p.field),
                super::format::number(p.min),
                super::format::number(p.max),
                escape(&p.scale),
                if p.members.len() > 1 || p.members.first() != Some(&p.field) {
                    format!(": sets {}", escape(&p.members.join(", ")))
                } else {
                    String::new()
                }
            );
        }
    }
    for a in &info.axes {
        let _ = writeln!(
            body,
            "<li><code>{}</code>: {}</li>",
            escape(&a.title()),
            escape(&a.labels.join(", "))
        );
    }
    body.push_str("</ul>\n<h2>Charts</h2>\n");
    // The grid's chart, then any metric's drawn by `plot --metric` (`sweep_<metric>`), by name.
    let mut names = vec![
        "sweep_lines".to_string(),
        "sweep_heatmap".to_string(),
        "sweep_scatter".to_string(),
    ];
    let mut extra: Vec<String> = std::fs::read_dir(dir.join("charts"))
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let stem = name.strip_suffix(".svg")?.to_string();
                    (stem.starts_with("sweep_") && !names.contains(&stem)).then_some(stem)
                })
                .collect()
        })
        .unwrap_or_default();
    extra.sort();
    names.extend(extra);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let chart = charts(dir, &names);
    if chart.is_empty() {
        body.push_str("<p class=\"note\">Charts are drawn for sweeps with one or two axes, and for designs.</p>\n");
    }
    body.push_str(&chart);
    if let Some(r) = &sensitivity {
        body.push_str(&sensitivity_html(r));
        body.push_str(&charts(dir, &["sensitivity"]));
    }
    if let Some(r) = &discovery {
        body.push_str(&discovery_html(r));
        body.push_str(&charts(dir, &["discovery"]));
    }
    // A design's points are many: the table shows the first ones.
    const SHOWN: usize = 100;
    body.push_str("<h2>Results at the horizon (mean and 95 % interval of the mean)</h2>\n");
    if info.points > SHOWN {
        let _ = writeln!(
            body,
            "<p class=\"note\">The first {SHOWN} of {} points; every point is in <code>sweep.csv</code>.</p>",
            info.points
        );
    }
    body.push_str("<table class=\"names\"><tr><th>point</th>");
    for f in &fields {
        let _ = write!(body, "<th>{}</th>", escape(f));
    }
    body.push_str("<th>zk_share_of_l2</th><th>l2_share</th><th>alt_l1_share</th><th>P(ZK overtakes)</th></tr>\n");
    let by = |m: &str| {
        rows.iter()
            .filter(|r| r.metric == m && r.chain.is_empty())
            .cloned()
            .collect::<Vec<_>>()
    };
    let cols = [
        by("zk_share_of_l2"),
        by("l2_share"),
        by("alt_l1_share"),
        by("zk_overtakes"),
    ];
    for (i, zk) in cols[0].iter().enumerate().take(SHOWN) {
        let _ = write!(body, "<tr><td>{}</td>", zk.point);
        for p in &zk.params {
            let _ = write!(body, "<td>{}</td>", escape(p));
        }
        for c in &cols {
            if let Some(r) = c.get(i) {
                let _ = write!(
                    body,
                    "<td>{:.4} [{:.4}, {:.4}]</td>",
                    r.stats[0], r.stats[2], r.stats[3]
                );
            }
        }
        body.push_str("</tr>\n");
    }
    body.push_str("</table>\n<p class=\"note\">Every metric and chain, with sd, p05/p50/p95 and the paired difference against point 0 (<code>diff_mean</code>, <code>diff_ci95_low</code>, <code>diff_ci95_high</code>), is in <code>sweep.csv</code>; units in <code>metrics.csv</code>.</p>\n");
    let _ = writeln!(
        body,
        "<h2>Scenario</h2>\n<details><summary>scenario.resolved.toml (with its [sweep] table)</summary><pre>{}</pre></details>",
        escape(&resolved)
    );
    std::fs::write(
        dir.join("report.html"),
        page(&format!("l2sim sweep: {}", info.scenario), &body),
    )
    .context("writing report.html")
}

/// The sensitivity section of a sweep's report: per metric, how the variance splits between the
/// parameters and the runs' noise, and the indices with their intervals.
fn sensitivity_html(r: &super::explore::SensitivityReport) -> String {
    let fmt = |x: f64| super::format::trimmed(x, 3);
    let (what, cite) = if r.estimator == "sobol" {
        (
            "Sobol indices of the point means: first order S1 (the share of the variance a parameter explains alone) and total ST (alone and in every interaction)",
            "Saltelli et al. 2010 for S1, Jansen 1999 for ST",
        )
    } else {
        (
            "Morris screening of the point means: μ* (the mean absolute elementary effect, per unit of the parameter's range) and σ (their spread: nonlinearity or interactions)",
            "Morris 1991, Campolongo et al. 2007",
        )
    };
    let mut out = format!(
        "<h2>Sensitivity</h2>\n<p>{what} ({cite}); 95 % percentile intervals from {} bootstrap resamples of the design's {}. Every point's output is its mean over {} runs with common random numbers.</p>\n",
        r.bootstrap_resamples,
        if r.estimator == "sobol" {
            "base rows"
        } else {
            "trajectories"
        },
        r.runs
    );
    for m in &r.metrics {
        let v = &m.variance;
        let _ = writeln!(
            out,
            "<h3><code>{}</code></h3>\n<p>Of the variance of single runs over the design, the parameters explain {:.1} % (between points) and {:.1} % is Monte Carlo noise between runs of the same point; the noise left in each point's mean is about {} of the means' variance.{}</p>",
            escape(&m.metric),
            v.between_share * 100.0,
            v.noise_share * 100.0,
            if v.variance_of_point_means > 0.0 {
                format!(
                    "{:.1} %",
                    100.0 * v.noise_in_point_means / v.variance_of_point_means
                )
            } else {
                "–".to_string()
            },
            m.sum_first_order.map_or(String::new(), |s| format!(
                " The first-order indices sum to {}: {} of the variance is in interactions.",
                fmt(s),
                fmt((1.0 - s).max(0.0))
            ))
        );
        if let Some(note) = &m.note {
            let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(note));
            continue;
        }
        out.push_str("<table class=\"names\"><tr><th>parameter</th><th>index</th><th>estimate</th><th>95 % interval</th></tr>\n");
        for i in &m.indices {
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>[{}, {}]</td></tr>",
                escape(&i.parameter),
                escape(&i.index),
                fmt(i.estimate),
                fmt(i.ci95_low),
                fmt(i.ci95_high)
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("<p class=\"note\">Every index is in <code>sensitivity.csv</code> (metric, parameter, index, estimate, ci95_low, ci95_high); the variance split and the design in <code>sensitivity.json</code>; every point's parameter values in <code>design.csv</code>.</p>\n");
    out
}

/// The scenario-discovery section: the outcome, the chosen box and its restrictions.
fn discovery_html(r: &super::explore::DiscoveryReport) -> String {
    let fmt = |x: f64| super::format::trimmed(x, 3);
    let mut out = format!(
        "<h2>Scenario discovery</h2>\n<p>PRIM (Friedman &amp; Fisher 1999) over every run at every point ({} cases): the outcome <code>{}</code> happens in {} of them (base rate {}). The box chosen is the densest on the peeling trajectory with coverage ≥ {} (peeling α {}, pasting α {}, minimum mass {}): step {} of {}, covering {} of the cases with the outcome at a density of {} ({} of all cases inside).</p>\n",
        r.rows,
        escape(&r.outcome),
        r.positives,
        fmt(r.base_rate),
        fmt(r.min_coverage),
        fmt(r.peel_alpha),
        fmt(r.paste_alpha),
        fmt(r.min_mass),
        r.chosen,
        r.trajectory.len().saturating_sub(1),
        fmt(r.coverage),
        fmt(r.density),
        fmt(r.mass)
    );
    if let Some(note) = &r.note {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(note));
    } else if r.restrictions.is_empty() {
        out.push_str("<p>The chosen box restricts no parameter: the outcome is not concentrated in a region of the design at this coverage.</p>\n");
    } else {
        out.push_str("<table class=\"names\"><tr><th>parameter</th><th>box</th><th>design range</th><th>p-value of the restriction</th></tr>\n");
        for b in &r.restrictions {
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td>{} – {}</td><td>{} – {}</td><td>{}</td></tr>",
                escape(&b.parameter),
                super::format::number(b.lower),
                super::format::number(b.upper),
                super::format::number(b.min),
                super::format::number(b.max),
                super::format::number(b.p_value)
            );
        }
        out.push_str("</table>\n<p class=\"note\">The p-value of a restriction is the one-sided binomial probability of the box's density (or higher) if that restriction were dropped (Bryant &amp; Lempert 2010): a large value marks a restriction that does not matter.</p>\n");
    }
    out.push_str("<p class=\"note\">The whole peeling trajectory, each step's bounds on every parameter, is in <code>discovery.csv</code>; the chosen box in <code>discovery.json</code>.</p>\n");
    out
}
