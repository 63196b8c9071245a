//! Blocks: the unit in which runs are aggregated, so that a batch split into shards merges into
//! exactly the bits of a single-machine batch.
//!
//! Runs are grouped in blocks of [`BLOCK_RUNS`] consecutive run indices. Within a block, values are
//! added to [`BlockedMoments`] in run order (Welford); at the end of each block its moments are
//! folded into the closed total (Chan's combination), in block order. A shard computes whole
//! blocks and keeps each block's moments; `merge` folds them in block order, which is the very
//! sequence of floating-point operations of a single machine. Sketches, counts and extremes do not
//! depend on the order at all and merge whole ([`Blocked::merge_shard`]).

use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::Moments;

/// Runs per aggregation block. Fixed: blocks, and therefore every statistic, never depend on the
/// thread count or on how a batch is split into shards.
pub const BLOCK_RUNS: u64 = 32;

/// Number of blocks of a batch of `runs` runs (the last one may be short).
pub fn blocks(runs: u64) -> u64 {
    runs.div_ceil(BLOCK_RUNS)
}

/// Moments fed block by block: see the module documentation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct BlockedMoments {
    closed: Moments,
    open: Moments,
}

impl BlockedMoments {
    pub fn add(&mut self, x: f64) {
        self.open.add(x);
    }

    /// The moments of every value added: the closed blocks, then the open one folded in as the
    /// last block (what [`BlockedMoments::end_block`] will do).
    pub fn get(&self) -> Moments {
        let mut m = self.closed;
        m.merge(&self.open);
        m
    }

    /// Closes the open block and returns its moments.
    pub fn end_block(&mut self) -> Moments {
        let block = std::mem::take(&mut self.open);
        self.closed.merge(&block);
        block
    }

    /// Folds in the moments of a block computed elsewhere (a shard), in block order.
    pub fn fold_block(&mut self, block: &Moments) {
        self.closed.merge(block);
    }

    /// Forgets every block (before folding a shard set's blocks from the start).
    pub fn clear(&mut self) {
        *self = BlockedMoments::default();
    }
}

/// Statistics made of [`BlockedMoments`] plus order-independent parts.
pub trait Blocked {
    /// Visits every [`BlockedMoments`], always in the same order.
    fn each_moments(&mut self, f: &mut dyn FnMut(&mut BlockedMoments));

    /// Adds the order-independent parts (sketches, counts, extremes) of another shard's
    /// statistics of the same shape; moments are left to the blocks.
    fn merge_shard(&mut self, other: &Self);

    /// Closes the open block everywhere, appending its moments to `out` in visiting order.
    fn end_block(&mut self, out: &mut Vec<Moments>) {
        self.each_moments(&mut |m| out.push(m.end_block()));
    }

    /// Folds one block's moments, as [`Blocked::end_block`] wrote them; returns how many it used.
    fn fold_block(&mut self, block: &[Moments]) -> usize {
        let mut used = 0;
        self.each_moments(&mut |m| {
            if let Some(b) = block.get(used) {
                m.fold_block(b);
            }
            used += 1;
        });
        used
    }

    /// Clears every moment (merged shards start from here, then fold the blocks in order).
    fn clear_moments(&mut self) {
        self.each_moments(&mut |m| m.clear());
    }
}

impl Blocked for BlockedMoments {
    fn each_moments(&mut self, f: &mut dyn FnMut(&mut BlockedMoments)) {
        f(self);
    }

    fn merge_shard(&mut self, _: &Self) {}
}

impl<T: Blocked> Blocked for Vec<T> {
    fn each_moments(&mut self, f: &mut dyn FnMut(&mut BlockedMoments)) {
        for x in self {
            x.each_moments(f);
        }
    }

    fn merge_shard(&mut self, other: &Self) {
        for (x, o) in self.iter_mut().zip(other) {
            x.merge_shard(o);
        }
    }
}

/// Most shards a batch may be cut into.
pub const MAX_SHARDS: u64 = 100_000;

/// Shard `index` of `count` (both from 1, as written on the command line: `--shard K/N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// Parses `K/N` with `1 ≤ K ≤ N ≤ 100000`.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("--shard {s}: expected K/N with 1 ≤ K ≤ N ≤ 100000, e.g. 2/8");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u64, u64) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if !(1..=MAX_SHARDS).contains(&count) || !(1..=count).contains(&index) {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// This shard's part of `units` units of work (blocks, or sweep points × blocks): the units
    /// cut into `N` contiguous ranges, shard `K` taking `[⌊(K−1)·U/N⌋, ⌊K·U/N⌋)`. Shards differ
    /// by at most one unit; with more shards than units some are empty.
    pub fn units(&self, units: u64) -> Range<u64> {
        let cut = |k: u64| (k as u128 * units as u128 / self.count as u128) as u64;
        cut(self.index - 1)..cut(self.index)
    }

    /// The blocks of this shard when a batch of `runs` runs is cut by blocks only.
    pub fn blocks(&self, runs: u64) -> Range<u64> {
        self.units(blocks(runs))
    }

    /// The runs of this shard (run indices from 0) when it is cut by blocks only.
    pub fn runs(&self, runs: u64) -> Range<u64> {
        let b = self.blocks(runs);
        (b.start * BLOCK_RUNS).min(runs)..(b.end * BLOCK_RUNS).min(runs)
    }
}

/// The units of work of a batch: `groups` groups (1, or one per sweep point) of `blocks` blocks
/// each, numbered group by group: unit `g·blocks + b` is block `b` of group `g`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Units {
    pub groups: u64,
    pub blocks: u64,
}

impl Units {
    pub fn total(&self) -> u64 {
        self.groups * self.blocks
    }

    /// The groups met by the units `range`, each with its range of blocks.
    pub fn split(&self, range: Range<u64>) -> Vec<(u64, Range<u64>)> {
        let mut out = Vec::new();
        if self.blocks == 0 {
            return out;
        }
        let mut u = range.start;
        while u < range.end {
            let g = u / self.blocks;
            let end = range.end.min((g + 1) * self.blocks);
            out.push((g, u - g * self.blocks..end - g * self.blocks));
            u = end;
        }
        out
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_blocks() {
        for runs in [1, 31, 32, 33, 100, 1000, 4321] {
            for n in [1, 2, 3, 7, 40, 200] {
                let mut next = 0;
                for k in 1..=n {
                    let r = Shard { index: k, count: n }.runs(runs);
                    assert_eq!(r.start, next, "runs {runs} shard {k}/{n}");
                    assert!(r.start.is_multiple_of(BLOCK_RUNS) && r.end >= r.start);
                    next = r.end;
                }
                assert_eq!(next, runs);
            }
        }
    }

    #[test]
    fn units_split_into_groups_of_blocks() {
        let u = Units {
            groups: 3,
            blocks: 4,
        };
        assert_eq!(u.split(2..9), vec![(0, 2..4), (1, 0..4), (2, 0..1)]);
        assert_eq!(u.split(4..8), vec![(1, 0..4)]);
        assert!(u.split(5..5).is_empty());
        let mut covered = Vec::new();
        for k in 1..=5 {
            for (g, b) in u.split(Shard { index: k, count: 5 }.units(u.total())) {
                covered.extend(b.map(|b| (g, b)));
            }
        }
        let all: Vec<(u64, u64)> = (0..3).flat_map(|g| (0..4).map(move |b| (g, b))).collect();
        assert_eq!(covered, all);
    }

    #[test]
    fn shard_flag_parsing() {
        assert_eq!(Shard::parse("2/8"), Ok(Shard { index: 2, count: 8 }));
        for bad in ["3/2", "0/4", "1/0", "2", "a/b", "1/100001", "-1/2"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn blocks_folded_elsewhere_equal_blocks_closed_here() {
        let xs: Vec<f64> = (0..100).map(|i| (i as f64 * 0.731).sin() * 1e9).collect();
        let mut here = BlockedMoments::default();
        let mut blocks = Vec::new();
        for chunk in xs.chunks(BLOCK_RUNS as usize) {
            chunk.iter().for_each(|&x| here.add(x));
            blocks.push(here.end_block());
        }
        let mut there = BlockedMoments::default();
        blocks.iter().for_each(|b| there.fold_block(b));
        assert_eq!(here.get(), there.get());
        // Reading with a block open folds it in as the last block.
        let mut open = BlockedMoments::default();
        xs.iter().for_each(|&x| open.add(x));
        let mut closed = open;
        closed.end_block();
        assert_eq!(open.get(), closed.get());
    }
}
