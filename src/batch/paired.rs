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
        let overtakes = c == "zk_overtakes_day";
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

    /// Share of the variance of B − A that pairing removed: `1 − var(B−A) / (var(A) + var(B))`.
    pub fn variance_reduction(&self) -> f64 {
        let unpaired = var(&self.a()) + var(&self.b());
        if unpaired > 0.0 {
            1.0 - var(&self.diff()) / unpaired
        } else {
            0.0
        }
    }
}

fn var(m: &Moments) -> f64 {
    let sd = m.sd();
    if sd.is_nan() { 0.0 } else { sd * sd }
}

/// The metrics compared between scenario 0 and one other scenario.
#[derive(Debug, Clone)]
pub struct Against {
    pub metrics: Vec<String>,
    columns: Vec<(RunColumn, RunColumn)>,
    pub stats: Vec<PairedStat>,
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
        }
    }

    fn merge_shard(&mut self, other: &Self) {
        for (a, o) in self.against.iter_mut().zip(&other.against) {
            a.stats.merge_shard(&o.stats);
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
    fn missing_values_are_left_out() {
        let mut s = PairedStat::default();
        s.add(f64::NAN, 1.0);
        s.add(1.0, 1.0);
        assert_eq!(s.n(), 1);
        assert_eq!(s.p_b_greater(), 0.5);
    }
}
