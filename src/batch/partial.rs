//! The statistics a job keeps besides each scenario's [`BatchResult`] (paired comparisons, a
//! sweep's headline metrics), and [`Partial`]: everything a shard keeps so that `merge` can fold
//! a shard set into the statistics of a single batch (see [`super::blocks`]).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{
    BatchResult, Blocked, BlockedMoments, Comparison, Moments, PairedStat, RunColumn, Stat,
    headline_columns,
};
use crate::engine::{Layout, RunOutput};

/// Statistics fed run by run (run `r` of every scenario together) and closed block by block.
pub trait Statistics {
    fn add(&mut self, layouts: &[&Layout], outs: &[RunOutput]);
    /// Closes the block: appends its moments, as [`Blocked::end_block`] does.
    fn end_block(&mut self, out: &mut Vec<Moments>);
}

/// No statistics besides the batch's own (`run`).
impl Statistics for () {
    fn add(&mut self, _: &[&Layout], _: &[RunOutput]) {}
    fn end_block(&mut self, _: &mut Vec<Moments>) {}
}

impl Statistics for Comparison {
    fn add(&mut self, layouts: &[&Layout], outs: &[RunOutput]) {
        Comparison::add(self, layouts, outs);
    }
    fn end_block(&mut self, out: &mut Vec<Moments>) {
        Blocked::end_block(self, out);
    }
}

/// What a sweep keeps besides each point's [`BatchResult`] (whose run statistics already hold
/// every column of `runs.csv`): per point, the statistics of the derived metrics (`zk_overtakes`)
/// and, for every metric, the moments of the per-run difference `point − point 0` (common random
/// numbers: run `r` of every point has the same seed). Per point and metric that is one [`Stat`]
/// for a derived metric and one [`BlockedMoments`] (six floats) for a difference, so memory grows
/// with points × metrics, never with runs.
#[derive(Debug, Clone)]
pub struct SweepStats {
    /// Every metric of `sweep.csv`, as `runs.csv` columns: the base's run columns, with
    /// `zk_overtakes` after `zk_overtakes_day`.
    pub metrics: Vec<String>,
    /// The metrics that are not run columns (`derived[i]` is `metrics[..]` of `stats[p][i]`).
    pub derived: Vec<String>,
    columns: Vec<Vec<RunColumn>>,
    derived_columns: Vec<Vec<RunColumn>>,
    /// Point 0's columns, the reference of the differences.
    reference: Vec<RunColumn>,
    /// Point 0's values when it is not in the batch (a shard computing another point alone);
    /// `None`: point 0 is the first output of every run.
    cached: Option<Arc<Reference>>,
    /// `stats[p][i]`: derived metric `i` at point `p`.
    pub stats: Vec<Vec<Stat>>,
    /// `diffs[p][m]`: moments of metric `m` at point `p` minus at point 0, run by run.
    pub diffs: Vec<Vec<BlockedMoments>>,
}

impl SweepStats {
    /// The metrics of `base` (compared with itself), found in each point's layout.
    pub fn new(base: &Layout, points: &[&Layout]) -> SweepStats {
        let metrics = headline_columns(base, base);
        let own = base.run_columns();
        let derived: Vec<String> = metrics
            .iter()
            .filter(|m| !own.contains(m))
            .cloned()
            .collect();
        let find = |l: &Layout, names: &[String]| -> Vec<RunColumn> {
            names.iter().map(|m| RunColumn::find(l, m)).collect()
        };
        SweepStats {
            columns: points.iter().map(|l| find(l, &metrics)).collect(),
            derived_columns: points.iter().map(|l| find(l, &derived)).collect(),
            reference: points.first().map_or_else(Vec::new, |l| find(l, &metrics)),
            cached: None,
            stats: vec![vec![Stat::exact(); derived.len()]; points.len()],
            diffs: vec![vec![BlockedMoments::default(); metrics.len()]; points.len()],
            metrics,
            derived,
        }
    }

    /// An empty [`Reference`] for point 0's values in the runs of `runs`.
    pub fn reference(&self, runs: std::ops::Range<u64>) -> Reference {
        Reference {
            columns: self.reference.clone(),
            first_run: runs.start,
            values: Vec::with_capacity((runs.end - runs.start) as usize * self.metrics.len()),
        }
    }

    /// The statistics of point `p` alone (a shard computes a sweep point by point); for
    /// `p > 0`, point 0's values in the same runs come from `reference`.
    pub fn point(&mut self, p: usize, reference: Option<Arc<Reference>>) -> SweepStats {
        SweepStats {
            metrics: self.metrics.clone(),
            derived: self.derived.clone(),
            columns: vec![self.columns[p].clone()],
            derived_columns: vec![self.derived_columns[p].clone()],
            reference: self.reference.clone(),
            cached: reference.filter(|_| p > 0),
            stats: vec![std::mem::take(&mut self.stats[p])],
            diffs: vec![std::mem::take(&mut self.diffs[p])],
        }
    }

    /// Puts back what [`SweepStats::point`] took, once computed.
    pub fn put_point(&mut self, p: usize, mut one: SweepStats) {
        self.stats[p] = one.stats.remove(0);
        self.diffs[p] = one.diffs.remove(0);
    }
}

impl Statistics for SweepStats {
    fn add(&mut self, layouts: &[&Layout], outs: &[RunOutput]) {
        let points = self.stats.len();
        for (p, (out, layout)) in outs.iter().zip(layouts).take(points).enumerate() {
            for (stat, col) in self.stats[p].iter_mut().zip(&self.derived_columns[p]) {
                stat.add(col.value(layout, out));
            }
            let pairs = self.columns[p].iter().zip(&self.reference).enumerate();
            for (d, (m, (col, reference))) in self.diffs[p].iter_mut().zip(pairs) {
                let x0 = match &self.cached {
                    Some(r) => r.value(out.run, m),
                    None => reference.value(layouts[0], &outs[0]),
                };
                let x = col.value(layout, out);
                // Runs where either value is missing are left out, as in `compare`.
                if !x.is_nan() && !x0.is_nan() {
                    d.add(x - x0);
                }
            }
        }
    }
    /// Per point: the derived statistics, then the differences.
    fn end_block(&mut self, out: &mut Vec<Moments>) {
        for (stats, diffs) in self.stats.iter_mut().zip(&mut self.diffs) {
            stats.end_block(out);
            diffs.end_block(out);
        }
    }
}

/// Point 0's value of every sweep metric in a range of runs, recorded from a batch of point 0
/// alone: the reference of a shard's differences at other points (runs × metrics floats).
#[derive(Debug, Clone)]
pub struct Reference {
    columns: Vec<RunColumn>,
    first_run: u64,
    values: Vec<f64>,
}

impl Reference {
    /// Point 0's value of metric `m` in run `run`; NaN outside the recorded runs.
    fn value(&self, run: u64, m: usize) -> f64 {
        let width = self.columns.len();
        run.checked_sub(self.first_run)
            .and_then(|r| self.values.get(r as usize * width + m))
            .copied()
            .unwrap_or(f64::NAN)
    }
}

impl Statistics for Reference {
    fn add(&mut self, layouts: &[&Layout], outs: &[RunOutput]) {
        debug_assert_eq!(
            outs[0].run,
            self.first_run + (self.values.len() / self.columns.len().max(1)) as u64
        );
        let cols = self.columns.iter().map(|c| c.value(layouts[0], &outs[0]));
        self.values.extend(cols);
    }
    fn end_block(&mut self, _: &mut Vec<Moments>) {}
}

/// What a shard keeps in `partial.bin`: the batch results, then the job's own statistics.
/// Moments are visited in the order in which blocks were written to `blocks.bin`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Partial {
    pub results: Vec<BatchResult>,
    pub paired: Vec<Vec<PairedStat>>,
    pub sweep: Vec<Vec<Stat>>,
    /// A sweep's differences against point 0 ([`SweepStats::diffs`]).
    pub sweep_diffs: Vec<Vec<BlockedMoments>>,
}

impl Blocked for Partial {
    fn each_moments(&mut self, f: &mut dyn FnMut(&mut BlockedMoments)) {
        self.results.each_moments(f);
        self.paired.each_moments(f);
        for (stats, diffs) in self.sweep.iter_mut().zip(&mut self.sweep_diffs) {
            stats.each_moments(f);
            diffs.each_moments(f);
        }
    }

    fn merge_shard(&mut self, other: &Self) {
        self.results.merge_shard(&other.results);
        self.paired.merge_shard(&other.paired);
        self.sweep.merge_shard(&other.sweep);
    }
}

impl Partial {
    /// The number of statistics of every part, to check that shards agree before merging.
    pub fn shape(&self) -> Vec<usize> {
        let mut shape = Vec::new();
        for r in &self.results {
            shape.extend([r.cells.len(), r.run_stats.len()]);
        }
        shape.push(usize::MAX);
        shape.extend(self.paired.iter().map(Vec::len));
        shape.push(usize::MAX);
        shape.extend(self.sweep.iter().map(Vec::len));
        shape.push(usize::MAX);
        shape.extend(self.sweep_diffs.iter().map(Vec::len));
        shape
    }

    /// Whether every sketch and exact store could have been built here
    /// ([`super::Stat::is_consistent`]): a `Partial` read from a file must be before it is merged.
    pub fn sketches_consistent(&self) -> bool {
        self.results
            .iter()
            .flat_map(|r| r.cells.iter().chain(&r.run_stats))
            .chain(self.sweep.iter().flatten())
            .all(Stat::is_consistent)
    }

    /// Folds one block of group `group` (a sweep point, or 0: everything); returns how many
    /// moments the group has, `None` if there is no such group.
    pub fn fold_group(&mut self, group: u64, block: &[Moments]) -> Option<usize> {
        if self.sweep.is_empty() {
            return (group == 0).then(|| self.fold_block(block));
        }
        let g = usize::try_from(group).ok()?;
        let (result, stats) = (self.results.get_mut(g)?, self.sweep.get_mut(g)?);
        let diffs = self.sweep_diffs.get_mut(g)?;
        let mut used = result.fold_block(block);
        used += stats.fold_block(block.get(used..).unwrap_or(&[]));
        Some(used + diffs.fold_block(block.get(used..).unwrap_or(&[])))
    }
}
