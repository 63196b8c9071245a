//! The statistics a job keeps besides each scenario's [`BatchResult`] (paired comparisons, a
//! sweep's headline metrics), and [`Partial`]: everything a shard keeps so that `merge` can fold
//! a shard set into the statistics of a single batch (see [`super::blocks`]).

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

/// The headline metrics of every sweep point: `stats[p][m]` is metric `m` of point `p`.
#[derive(Debug, Clone)]
pub struct SweepStats {
    pub metrics: Vec<String>,
    columns: Vec<Vec<RunColumn>>,
    pub stats: Vec<Vec<Stat>>,
}

impl SweepStats {
    /// The headline metrics of `base` (compared with itself), found in each point's layout.
    pub fn new(base: &Layout, points: &[&Layout]) -> SweepStats {
        let metrics = headline_columns(base, base);
        let columns = points
            .iter()
            .map(|l| metrics.iter().map(|m| RunColumn::find(l, m)).collect())
            .collect();
        let stats = vec![vec![Stat::exact(); metrics.len()]; points.len()];
        SweepStats {
            metrics,
            columns,
            stats,
        }
    }

    /// The statistics of point `p` alone (a shard computes a sweep point by point).
    pub fn point(&mut self, p: usize) -> SweepStats {
        SweepStats {
            metrics: self.metrics.clone(),
            columns: vec![self.columns[p].clone()],
            stats: vec![std::mem::take(&mut self.stats[p])],
        }
    }
}

impl Statistics for SweepStats {
    fn add(&mut self, layouts: &[&Layout], outs: &[RunOutput]) {
        for (p, out) in outs.iter().enumerate() {
            for (stat, col) in self.stats[p].iter_mut().zip(&self.columns[p]) {
                stat.add(col.value(layouts[p], out));
            }
        }
    }
    fn end_block(&mut self, out: &mut Vec<Moments>) {
        self.stats.end_block(out);
    }
}

/// What a shard keeps in `partial.bin`: the batch results, then the job's own statistics.
/// Moments are visited in the order in which blocks were written to `blocks.bin`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Partial {
    pub results: Vec<BatchResult>,
    pub paired: Vec<Vec<PairedStat>>,
    pub sweep: Vec<Vec<Stat>>,
}

impl Blocked for Partial {
    fn each_moments(&mut self, f: &mut dyn FnMut(&mut BlockedMoments)) {
        self.results.each_moments(f);
        self.paired.each_moments(f);
        self.sweep.each_moments(f);
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
        let used = result.fold_block(block);
        Some(used + stats.fold_block(block.get(used..).unwrap_or(&[])))
    }
}
