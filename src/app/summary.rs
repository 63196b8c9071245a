//! The short human summaries of finished jobs (what the command line prints on stdout), as
//! text: the library formats, its caller prints.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use super::execute::Written;
use super::merge::ShardSet;
use super::outcome::{CompareResults, Outcome, RunResults, SweepResults};

use crate::report::format::{self, difference, value};

impl Written {
    /// The summary of what was written, ending with where.
    pub fn summary(&self) -> String {
        match self {
            Written::Results { dir, outcome } => {
                let mut s = match outcome.as_ref() {
                    Outcome::Run(r) => run_summary(r),
                    Outcome::Compare(c) => compare_summary(c),
                    Outcome::Sweep(s) => sweep_summary(s),
                };
                let _ = write!(s, "  results in {}", dir.display());
                s
            }
            Written::Shard { dir, manifest: m } => {
                let range = m.units[0]..m.units[1];
                let what = if m.groups > 1 {
                    format!(
                        "{} of {} (point, block) units",
                        range.end - range.start,
                        m.groups * m.blocks_per_group
                    )
                } else {
                    let runs = |b: u64| (b * crate::batch::BLOCK_RUNS).min(m.runs);
                    format!(
                        "runs {}..{} of {}",
                        runs(range.start),
                        runs(range.end),
                        m.runs
                    )
                };
                // A sensitivity or discovery shard is a sweep shard that says what it explores.
                let command = match m.explore.as_deref() {
                    Some(crate::report::explore::Explore::Sensitivity { .. }) => "sensitivity",
                    Some(crate::report::explore::Explore::Discovery { .. }) => "discover",
                    None => m.command.as_str(),
                };
                format!(
                    "shard {}/{} of {command} {}: {what} in {:.2} s; written to {}\n  merge every shard with: l2sim merge SHARD_DIR... --out DIR",
                    m.shard,
                    m.shards,
                    m.scenarios.join(", "),
                    m.perf.wall_seconds,
                    dir.display()
                )
            }
        }
    }

    /// Every file in the written folder with its size in bytes, sorted by path.
    pub fn files(&self) -> Vec<(PathBuf, u64)> {
        let mut files = Vec::new();
        list_files(self.dir(), &mut files);
        files.sort();
        files
            .into_iter()
            .map(|f| {
                let size = std::fs::metadata(&f).map_or(0, |m| m.len());
                (f, size)
            })
            .collect()
    }
}

fn list_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            list_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// What `merge --check` says of a complete shard set.
pub fn shard_set_summary(set: &ShardSet) -> String {
    let m = set.first();
    format!(
        "complete: {} shards of `{}` {} ({} runs, seed {}), {:.1} s of shard wall time in all; nothing written",
        m.shards,
        m.command,
        m.scenarios.join(", "),
        m.runs,
        m.seed,
        set.wall_seconds()
    )
}

fn run_summary(r: &RunResults) -> String {
    let result = &r.result;
    let day = result.layout.sample_days.last().copied().unwrap_or(0.0);
    let mut s = format!(
        "{}: {} runs, seed {}, day {day}\n",
        r.scenario.name, result.runs, result.seed
    );
    for m in [
        "l2_share",
        "zk_share_of_l2",
        "alt_l1_share",
        "tvl_total_usd",
        "mean_in_transit_usd",
        "zk_overtakes_day",
    ] {
        if let Some(st) = result.run_stat(m) {
            let missing = st.missing();
            let mean = if st.moments().count > 0 {
                st.moments().mean
            } else {
                f64::NAN
            };
            let _ = writeln!(
                s,
                "  {m:<22} mean {:>14}  p05 {:>14}  p95 {:>14}{}",
                value(m, mean),
                value(m, st.quantile(0.05)),
                value(m, st.quantile(0.95)),
                if missing > 0 {
                    let n = st.moments().count;
                    format!("  ({n} of {} runs have a value)", n + missing)
                } else {
                    String::new()
                }
            );
        }
    }
    if let Some(st) = result.run_stat("zk_overtakes_day") {
        let k = st.moments().count;
        let (low, high) = crate::batch::wilson(k, result.runs);
        let _ = writeln!(
            s,
            "  P(ZK overtakes optimistic) {:.4}  95% [{low:.4}, {high:.4}] (Wilson)",
            k as f64 / result.runs.max(1) as f64
        );
    }
    let _ = writeln!(
        s,
        "  conservation error max {}; {} decisions/s on {} threads",
        format::number(result.conservation_error_max),
        format::number(result.decisions as f64 / result.wall_seconds.max(1e-9)),
        result.threads
    );
    if let Some(f) = &r.fit {
        let _ = writeln!(
            s,
            "  loss against the targets: in sample {} ({} targets), held out {} ({} targets); fit.json",
            f.in_sample, f.in_sample_targets, f.out_of_sample, f.out_of_sample_targets
        );
    }
    s
}

fn compare_summary(c: &CompareResults) -> String {
    let mut s = String::new();
    for r in c.rows.iter().filter(|r| {
        [
            "l2_share",
            "zk_share_of_l2",
            "alt_l1_share",
            "zk_overtakes",
            "peak_in_transit_usd",
        ]
        .contains(&r.metric.as_str())
            && r.chain.is_empty()
    }) {
        let _ = writeln!(
            s,
            "{} − {}: {:<20} mean {:>11}  95% [{}, {}]  P(B>A) {:.2}  variance reduction {}",
            r.scenario_b,
            r.scenario_a,
            r.metric,
            difference(&r.metric, r.mean_diff),
            difference(&r.metric, r.ci95_low),
            difference(&r.metric, r.ci95_high),
            r.p_b_gt_a,
            crate::report::compare::variance_removed(r)
        );
    }
    s
}

fn sweep_summary(sw: &SweepResults) -> String {
    match &sw.explored {
        Some(super::outcome::Explored::Sensitivity(r)) => return sensitivity_summary(r),
        Some(super::outcome::Explored::Discovery(r)) => return discovery_summary(r),
        None => {}
    }
    let mut s = format!(
        "{:>5}  {:<40}  {:>24}  {:>24}\n",
        "point",
        sw.sweep.fields.join(", "),
        "zk_share_of_l2 (95% CI)",
        "l2_share (95% CI)"
    );
    let metric = |m: &'static str| {
        sw.rows
            .iter()
            .filter(move |r| r.metric == m && r.chain.is_empty())
    };
    let ci = |r: &crate::report::sweep::SweepRow| {
        format!("{:.4} [{:.4}, {:.4}]", r.stats[0], r.stats[2], r.stats[3])
    };
    for (zk, l2) in metric("zk_share_of_l2").zip(metric("l2_share")).take(40) {
        let _ = writeln!(
            s,
            "{:>5}  {:<40}  {:>24}  {:>24}",
            zk.point,
            zk.params.join(", "),
            ci(zk),
            ci(l2)
        );
    }
    s
}

fn sensitivity_summary(r: &crate::report::explore::SensitivityReport) -> String {
    let f = |x: f64| crate::report::format::trimmed(x, 3);
    let mut s = format!(
        "sensitivity of {}: {} design, {} points × {} runs (design seed {}), 95 % bootstrap intervals\n",
        r.scenario, r.design.method, r.design.points, r.runs, r.design.design_seed
    );
    let (a, b) = if r.estimator == "sobol" {
        ("S1", "ST")
    } else {
        ("mu_star", "sigma")
    };
    for m in &r.metrics {
        let _ = writeln!(
            s,
            "  {}: the parameters explain {:.1} % of the runs' variance, noise between runs {:.1} %{}",
            m.metric,
            m.variance.between_share * 100.0,
            m.variance.noise_share * 100.0,
            m.sum_first_order
                .map_or(String::new(), |x| format!("; sum of S1 {}", f(x)))
        );
        if let Some(note) = &m.note {
            let _ = writeln!(s, "    {note}");
            continue;
        }
        let pick = |p: &str, index: &str| {
            m.indices
                .iter()
                .find(|i| i.parameter == p && i.index == index)
        };
        let mut params: Vec<&str> = Vec::new();
        for i in &m.indices {
            if !params.contains(&i.parameter.as_str()) {
                params.push(&i.parameter);
            }
        }
        // The most influential first (total index, or μ*).
        params.sort_by(|x, y| {
            let e = |p: &str| {
                pick(p, if a == "S1" { b } else { a }).map_or(f64::NEG_INFINITY, |i| i.estimate)
            };
            e(y).total_cmp(&e(x))
        });
        for p in params {
            let show = |index: &str| {
                pick(p, index).map_or(String::new(), |i| {
                    format!(
                        "{index} {} [{}, {}]",
                        f(i.estimate),
                        f(i.ci95_low),
                        f(i.ci95_high)
                    )
                })
            };
            let _ = writeln!(s, "    {p:<48} {:<30} {}", show(a), show(b));
        }
    }
    s
}

fn discovery_summary(r: &crate::report::explore::DiscoveryReport) -> String {
    let f = |x: f64| crate::report::format::trimmed(x, 3);
    let mut s = format!(
        "discovery in {}: {:?} in {} of {} runs at the design's points (base rate {})\n  chosen box (step {} of {}): coverage {}, density {}, mass {}\n",
        r.scenario,
        r.outcome,
        r.positives,
        r.rows,
        f(r.base_rate),
        r.chosen,
        r.trajectory.len().saturating_sub(1),
        f(r.coverage),
        f(r.density),
        f(r.mass)
    );
    if let Some(note) = &r.note {
        let _ = writeln!(s, "    {note}");
    } else if r.restrictions.is_empty() {
        s.push_str("    no parameter restricted\n");
    }
    for b in &r.restrictions {
        let _ = writeln!(
            s,
            "    {:<48} {} to {} (of {} to {}), p = {}",
            b.parameter,
            crate::report::format::number(b.lower),
            crate::report::format::number(b.upper),
            crate::report::format::number(b.min),
            crate::report::format::number(b.max),
            crate::report::format::number(b.p_value)
        );
    }
    s
}
