//! Paired statistics of two scenarios run with common random numbers: per metric, the moments of
//! each scenario, of the per-run difference B − A, and how often B exceeds A. Streaming and in run
//! order, like everything in `batch`.

use serde::{Deserialize, Serialize};

use super::{Blocked, BlockedMoments, Moments};
use crate::engine::{Layout, RunOutput};

/// Metrics compared between scenarios: every column of A's `runs.csv` that B has too (chain
/// metrics of chains both scenarios have), with the derived indicator `zk_overtakes` after
/// `zk_overtakes_day`.
pub fn headline_columns(a: &Layout, b: &Layout) -> Vec<String> {
    let cols_b = b.run_columns();
    let mut out = Vec::new();
    for c in a.run_columns() {
        if !cols_b.contains(&c) {
            continue;
        }
        // Scenarios written before `zk_overtakes` was a column of runs.csv derive it.
        let overtakes = c == "zk_overtakes_day" && !cols_b.iter().any(|c| c == "zk_overtakes");
        out.push(c);
        if overtakes {
            out.push("zk_overtakes".to_string());
        }
    }
    out
}

/// Where a run metric is found in a [`RunOutput`]: a column of `runs.csv` (final cells, then
/// run metrics), or the derived indicator `zk_overtakes` (1 when ZK overtook optimistic).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RunColumn {
    Index(usize),
    Overtook(usize),
    Missing,
}

impl RunColumn {
    pub fn find(layout: &Layout, name: &str) -> RunColumn {
        let cols = layout.run_columns();
        let index = |n: &str| cols.iter().position(|c| c == n);
        match (name, index(name), index("zk_overtakes_day")) {
            (_, Some(i), _) => RunColumn::Index(i),
            ("zk_overtakes", None, Some(i)) => RunColumn::Overtook(i),
            _ => RunColumn::Missing,
        }
    }

    /// The value in one run; NaN when missing.
    pub fn value(self, layout: &Layout, out: &RunOutput) -> f64 {
        let at = |i: usize| {
            let cells = layout.n_cells();
            if i < cells {
                out.final_sample(layout)[i]
            } else {
                out.run_metrics[i - cells]
            }
        };
        match self {
            RunColumn::Index(i) => at(i),
            RunColumn::Overtook(i) => {
                if at(i).is_nan() {
                    0.0
                } else {
                    1.0
                }
            }
            RunColumn::Missing => f64::NAN,
        }
    }
}

/// Whether a compared or swept metric is an indicator (0 or 1 in each run: unit `0/1` in the
/// registry, e.g. `zk_overtakes`, `hacked_optimistic`), whose mean is a probability reported with
/// a score interval ([`wilson`], [`newcombe_paired`]).
pub fn is_probability(metric: &str) -> bool {
    crate::engine::UNITS
        .iter()
        .any(|u| u.metric == metric && u.unit == "0/1")
}

/// z of a two-sided 95 % interval.
const Z95: f64 = 1.959963984540054;

/// The 95 % Wilson score interval of a probability from `k` successes in `n` trials (Wilson 1927,
/// "Probable inference, the law of succession, and statistical inference", JASA 22:209; the
/// interval Brown, Cai and DasGupta 2001 recommend): the `p` with `(k/n − p)² ≤ z² p(1−p)/n`,
/// always inside [0, 1] (the ends are clamped against rounding only). NaN when `n = 0`.
pub fn wilson(k: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let (nf, p, z2) = (n as f64, k as f64 / n as f64, Z95 * Z95);
    let centre = (p + z2 / (2.0 * nf)) / (1.0 + z2 / nf);
    let half = Z95 / (1.0 + z2 / nf) * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt();
    let low = if k == 0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let high = if k == n {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    (low, high)
}

/// The 95 % interval of `p_b − p_a` for two indicators observed on the same `n` runs, from the
/// counts of runs with (A, B) = (1, 1), (1, 0), (0, 1), (0, 0): Newcombe's square-and-add
/// interval for paired proportions (Newcombe 1998, "Improved confidence intervals for the
/// difference between binomial proportions based on paired data", Stat. Med. 17:2635, method 10,
/// with the corrected phi of Altman et al. 2000, "Statistics with confidence", p. 52), built from
/// the two Wilson intervals; inside [−1, 1]. With `paired = false` the correlation is taken as 0:
/// Newcombe's hybrid score interval for independent samples (Stat. Med. 17:873, method 10).
/// NaN when `n = 0`.
pub fn newcombe_paired(n11: u64, n10: u64, n01: u64, n00: u64, paired: bool) -> (f64, f64) {
    let n = n11 + n10 + n01 + n00;
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let (ka, kb) = (n11 + n10, n11 + n01);
    let (pa, pb) = (ka as f64 / n as f64, kb as f64 / n as f64);
    let ((la, ua), (lb, ub)) = (wilson(ka, n), wilson(kb, n));
    let margins = [n11 + n10, n01 + n00, n11 + n01, n10 + n00].map(|m| m as f64);
    let denominator = margins.iter().product::<f64>().sqrt();
    // Corrected phi: ad − bc shrunk by n/2 towards 0 when positive.
    let cross = n11 as f64 * n00 as f64 - n10 as f64 * n01 as f64;
    let corrected = if cross > n as f64 / 2.0 {
        cross - n as f64 / 2.0
    } else {
        cross.min(0.0)
    };
    let phi = if paired && denominator > 0.0 {
        corrected / denominator
    } else {
        0.0
    };
    let d = pb - pa;
    let spread = |x: f64, y: f64| (x * x - 2.0 * phi * x * y + y * y).max(0.0).sqrt();
    let low = d - spread(pb - lb, ua - pa);
    let high = d + spread(ub - pb, pa - la);
    (low.max(-1.0), high.min(1.0))
}

/// Value of a run metric by name (see [`RunColumn`]).
pub fn run_value(layout: &Layout, out: &RunOutput, column: &str) -> f64 {
    RunColumn::find(layout, column).value(layout, out)
}

/// Streaming paired statistics of one metric.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PairedStat {
    a: BlockedMoments,
    b: BlockedMoments,
    diff: BlockedMoments,
    pub b_greater: u64,
    pub ties: u64,
    /// Runs where A's value is 1 (with `b_greater` and `ties`, the 2×2 table of an indicator).
    pub a_ones: u64,
}

impl Blocked for PairedStat {
    fn each_moments(&mut self, f: &mut dyn FnMut(&mut BlockedMoments)) {
        f(&mut self.a);
        f(&mut self.b);
        f(&mut self.diff);
    }

    fn merge_shard(&mut self, other: &Self) {
        self.b_greater += other.b_greater;
        self.ties += other.ties;
        self.a_ones += other.a_ones;
    }
}

impl PairedStat {
    /// Moments of A's values over the paired runs.
    pub fn a(&self) -> Moments {
        self.a.get()
    }

    /// Moments of B's values over the paired runs.
    pub fn b(&self) -> Moments {
        self.b.get()
    }

    /// Moments of the per-run differences B − A.
    pub fn diff(&self) -> Moments {
        self.diff.get()
    }

    /// Adds run `r`'s values; runs where either is missing (NaN) are left out.
    pub fn add(&mut self, a: f64, b: f64) {
        if a.is_nan() || b.is_nan() {
            return;
        }
        self.a.add(a);
        self.b.add(b);
        self.diff.add(b - a);
        if b > a {
            self.b_greater += 1;
        } else if b == a {
            self.ties += 1;
        }
        if a == 1.0 {
            self.a_ones += 1;
        }
    }

    pub fn n(&self) -> u64 {
        self.diff().count
    }

    /// P(B > A) over the paired runs, ties counted half.
    pub fn p_b_greater(&self) -> f64 {
        (self.b_greater as f64 + 0.5 * self.ties as f64) / self.n().max(1) as f64
    }

    /// Half-width of the 95 % interval of the mean difference from paired runs.
    pub fn paired_half_width(&self) -> f64 {
        1.959963984540054 * self.diff().sem()
    }

    /// Half-width the interval would have with independent runs of the same size.
    pub fn unpaired_half_width(&self) -> f64 {
        let n = self.n() as f64;
        1.959963984540054 * ((var(&self.a()) + var(&self.b())) / n).sqrt()
    }

    /// Whether every paired difference is 0 (over at least one run): B reproduces A exactly and
    /// the comparison says nothing about variance or pairing.
    pub fn identical(&self) -> bool {
        self.n() > 0 && self.ties == self.n()
    }

    /// Share of the variance of B − A that pairing removed: `1 − var(B−A) / (var(A) + var(B))`;
    /// NaN (not defined) when the comparison is degenerate: every difference 0 or constant, or
    /// neither scenario varies.
    pub fn variance_reduction(&self) -> f64 {
        let unpaired = var(&self.a()) + var(&self.b());
        let paired = var(&self.diff());
        if unpaired > 0.0 && paired > 0.0 && !self.identical() {
            1.0 - paired / unpaired
        } else {
            f64::NAN
        }
    }

    /// For an indicator metric (values 0 or 1): the counts of runs with (A, B) = (1, 1), (1, 0),
    /// (0, 1), (0, 0).
    pub fn indicator_table(&self) -> [u64; 4] {
        let n = self.n();
        let a_greater = n - self.b_greater - self.ties;
        let n11 = self.a_ones.saturating_sub(a_greater);
        [
            n11,
            a_greater,
            self.b_greater,
            n - n11 - a_greater - self.b_greater,
        ]
    }
}

fn var(m: &Moments) -> f64 {
    let sd = m.sd();
    if sd.is_nan() { 0.0 } else { sd * sd }
}

/// System metrics whose paired difference B − A is followed at every sample (`compare`'s
/// `paired_trajectories.csv` and its chart).
pub const OVER_TIME: [&str; 10] = [
    "l2_share",
    "zk_share_of_l2",
    "l1_share",
    "optimistic_share",
    "zk_share",
    "alt_l1_share",
    "tvl_l1_usd",
    "tvl_optimistic_usd",
    "tvl_zk_usd",
    "tvl_alt_l1_usd",
];

/// The metrics compared between scenario 0 and one other scenario.
#[derive(Debug, Clone)]
pub struct Against {
    pub metrics: Vec<String>,
    columns: Vec<(RunColumn, RunColumn)>,
    pub stats: Vec<PairedStat>,
    pub over_time: OverTime,
}

impl Against {
    /// Every statistic in the order its moments are visited: the final metrics, then the
    /// samples over time (what a shard keeps).
    pub fn all_stats(&self) -> Vec<PairedStat> {
        self.stats
            .iter()
            .chain(&self.over_time.stats)
            .cloned()
            .collect()
    }

    /// Replaces every statistic with `all`, as [`Against::all_stats`] ordered them.
    pub fn set_all_stats(&mut self, mut all: Vec<PairedStat>) {
        self.over_time.stats = all.split_off(self.stats.len().min(all.len()));
        self.stats = all;
    }
}

/// Paired differences of [`OVER_TIME`]'s metrics at every sample day the two scenarios share
/// (their first samples, while the days agree): `stats[k · metrics.len() + m]`.
#[derive(Debug, Clone)]
pub struct OverTime {
    pub metrics: Vec<&'static str>,
    cells: Vec<(usize, usize)>,
    pub days: Vec<f64>,
    pub stats: Vec<PairedStat>,
}

impl OverTime {
    fn new(a: &Layout, b: &Layout) -> OverTime {
        let cell = |l: &Layout, m: &str| {
            l.cells
                .iter()
                .position(|c| c.metric == m && c.chain.is_none())
        };
        let (metrics, cells): (Vec<&'static str>, Vec<(usize, usize)>) = OVER_TIME
            .iter()
            .filter_map(|&m| Some((m, (cell(a, m)?, cell(b, m)?))))
            .unzip();
        let days: Vec<f64> = a
            .sample_days
            .iter()
            .zip(&b.sample_days)
            .take_while(|(x, y)| x == y)
            .map(|(x, _)| *x)
            .collect();
        let stats = vec![PairedStat::default(); days.len() * metrics.len()];
        OverTime {
            metrics,
            cells,
            days,
            stats,
        }
    }

    fn add(&mut self, (la, a): (&Layout, &RunOutput), (lb, b): (&Layout, &RunOutput)) {
        let (na, nb) = (la.n_cells(), lb.n_cells());
        // Only runs that kept every sample (a compare keeps trajectories).
        if a.samples.len() < self.days.len() * na || b.samples.len() < self.days.len() * nb {
            return;
        }
        let per = self.metrics.len();
        for k in 0..self.days.len() {
            for (m, &(ca, cb)) in self.cells.iter().enumerate() {
                self.stats[k * per + m].add(a.samples[k * na + ca], b.samples[k * nb + cb]);
            }
        }
    }

    /// The paired statistic of metric `m` (index in `metrics`) at sample `k`.
    pub fn at(&self, k: usize, m: usize) -> &PairedStat {
        &self.stats[k * self.metrics.len() + m]
    }
}

/// Paired statistics of scenarios `1..` against scenario 0, fed run by run.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// One entry per compared scenario (index 1.. of the input).
    pub against: Vec<Against>,
}

impl Blocked for Comparison {
    fn each_moments(&mut self, f: &mut dyn FnMut(&mut BlockedMoments)) {
        for a in &mut self.against {
            a.stats.each_moments(f);
            a.over_time.stats.each_moments(f);
        }
    }

    fn merge_shard(&mut self, other: &Self) {
        for (a, o) in self.against.iter_mut().zip(&other.against) {
            a.stats.merge_shard(&o.stats);
            a.over_time.stats.merge_shard(&o.over_time.stats);
        }
    }
}

impl Comparison {
    pub fn new(layouts: &[&Layout]) -> Comparison {
        let against = layouts[1..]
            .iter()
            .map(|b| {
                let metrics = headline_columns(layouts[0], b);
                let columns = metrics
                    .iter()
                    .map(|m| (RunColumn::find(layouts[0], m), RunColumn::find(b, m)))
                    .collect();
                let stats = vec![PairedStat::default(); metrics.len()];
                Against {
                    metrics,
                    columns,
                    stats,
                    over_time: OverTime::new(layouts[0], b),
                }
            })
            .collect();
        Comparison { against }
    }

    /// Adds run `r` of every scenario (in the order given to [`Comparison::new`]).
    pub fn add(&mut self, layouts: &[&Layout], outs: &[RunOutput]) {
        for (k, against) in self.against.iter_mut().enumerate() {
            for (&(ca, cb), stat) in against.columns.iter().zip(against.stats.iter_mut()) {
                stat.add(
                    ca.value(layouts[0], &outs[0]),
                    cb.value(layouts[k + 1], &outs[k + 1]),
                );
            }
            against
                .over_time
                .add((layouts[0], &outs[0]), (layouts[k + 1], &outs[k + 1]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairing_removes_shared_noise() {
        let mut s = PairedStat::default();
        for i in 0..100 {
            let shared = ((i * 37) % 101) as f64;
            s.add(shared, shared + 1.0 + 0.01 * (i % 3) as f64);
        }
        assert!((s.diff().mean - 1.01).abs() < 0.01);
        assert!(s.variance_reduction() > 0.99);
        assert!(s.paired_half_width() < s.unpaired_half_width());
        assert_eq!(s.p_b_greater(), 1.0);
    }

    #[test]
    fn identical_scenarios_are_degenerate() {
        let mut s = PairedStat::default();
        for i in 0..50 {
            s.add(i as f64, i as f64);
        }
        assert!(s.identical());
        assert!(s.variance_reduction().is_nan());
        let mut shifted = PairedStat::default();
        for i in 0..50 {
            shifted.add(i as f64, i as f64 + 2.0);
        }
        assert!(!shifted.identical() && shifted.variance_reduction().is_nan());
    }

    #[test]
    fn wilson_matches_published_values() {
        // Newcombe (1998, Stat. Med. 17:857), table I, method 3 (Wilson score, no correction).
        for (k, n, low, high) in [
            (81, 263, 0.2553, 0.3662),
            (15, 148, 0.0624, 0.1605),
            (0, 20, 0.0, 0.1611),
            (1, 29, 0.0061, 0.1718),
        ] {
            let (l, h) = wilson(k, n);
            assert!(
                (l - low).abs() < 5e-5 && (h - high).abs() < 5e-5,
                "{k}/{n}: {l} {h}"
            );
        }
        // The ends solve (k/n − p)² = z² p (1 − p) / n.
        for (k, n) in [(1, 2), (3, 7), (199, 200)] {
            let (l, h) = wilson(k, n);
            let p = k as f64 / n as f64;
            for e in [l, h] {
                let gap = (p - e).powi(2) - Z95 * Z95 * e * (1.0 - e) / n as f64;
                assert!(gap.abs() < 1e-12, "{k}/{n}: {gap}");
            }
        }
        assert_eq!(wilson(2, 2).1, 1.0);
        assert_eq!(wilson(0, 2).0, 0.0);
        assert!(wilson(0, 0).0.is_nan());
    }

    #[test]
    fn newcombe_paired_interval() {
        // With no correlation (or `paired = false`) it is the square-and-add of the two Wilson
        // intervals' half-widths on each side.
        let (l, h) = newcombe_paired(10, 10, 10, 10, true);
        let (wl, wh) = wilson(20, 40);
        let side = ((0.5 - wl).powi(2) + (wh - 0.5).powi(2)).sqrt();
        assert!(
            (l + side).abs() < 1e-12 && (h - side).abs() < 1e-12,
            "{l} {h}"
        );
        // Positively correlated pairs give a narrower interval than independent samples.
        let (pl, ph) = newcombe_paired(30, 3, 7, 60, true);
        let (ul, uh) = newcombe_paired(30, 3, 7, 60, false);
        assert!(
            ul < pl && ph < uh && pl < 0.04 && 0.04 < ph,
            "{pl} {ph} {ul} {uh}"
        );
        for t in [
            [0, 0, 0, 2],
            [2, 0, 0, 0],
            [0, 2, 0, 0],
            [0, 0, 2, 0],
            [1, 0, 0, 1],
        ] {
            let (l, h) = newcombe_paired(t[0], t[1], t[2], t[3], true);
            assert!(
                (-1.0..=1.0).contains(&l) && (-1.0..=1.0).contains(&h) && l <= h,
                "{t:?}"
            );
        }
        assert!(newcombe_paired(0, 0, 0, 0, true).0.is_nan());
    }

    #[test]
    fn missing_values_are_left_out() {
        let mut s = PairedStat::default();
        s.add(f64::NAN, 1.0);
        s.add(1.0, 1.0);
        assert_eq!(s.n(), 1);
        assert_eq!(s.p_b_greater(), 0.5);
    }
}
