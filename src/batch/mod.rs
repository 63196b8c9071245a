//! Monte Carlo batches: runs in parallel with rayon, results reduced in run order.
//!
//! The pool's threads simulate the runs (every scenario's run `r` before run `r + 1`) while the
//! calling thread reduces them in that order, each as soon as the runs before it are done
//! (`stream`): it feeds them one by one to the aggregates and to the caller's sink, and the
//! moments of each block of [`BLOCK_RUNS`] runs are folded in block order (see [`blocks`]);
//! blocks close at fixed run indices. So every sum is taken in the same order whatever the
//! thread count or the number of shards, and memory holds a bounded window of finished runs
//! ([`chunk_runs`]) whatever the number of runs. With one thread, that thread simulates and
//! reduces in turn. Only this module knows rayon.

pub mod blocks;
mod estimate;
pub mod fit;
mod paired;
mod partial;
pub mod prim;
pub mod sensitivity;
mod sketch;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::{Deserialize, Serialize};

pub use blocks::{BLOCK_RUNS, Blocked, BlockedMoments, MAX_SHARDS, Shard, Units};
pub use estimate::{DECISIONS_PER_SECOND_PER_THREAD, Estimate, agents_ever, duration, estimate};
pub use paired::{
    Against, Comparison, OVER_TIME, OverTime, PairedStat, RunColumn, headline_columns,
    is_probability, newcombe_paired, run_value, wilson,
};
pub use partial::{Partial, Reference, Statistics, SweepStats};
pub use sketch::{
    Exact, MAX_BUCKETS, Moments, RELATIVE_ACCURACY, Sketch, level_accuracy, quantile_of_sorted,
};

use crate::engine::{self, Keep, Layout, RunOutput};
use crate::scenario::Scenario;

/// Fewest runs of one scenario simulated together before their results are reduced: one block.
pub const CHUNK_RUNS: u64 = BLOCK_RUNS;

/// Runs in the window of a batch (finished runs waiting to be reduced, at most): [`CHUNK_RUNS`],
/// or two per thread on machines with more than 16 threads, so that every thread has work;
/// divided among the scenarios that run together, so that the trajectories waiting to be reduced
/// stay bounded. Results never depend on it: reduction is in run order and blocks close at fixed
/// run indices.
pub fn chunk_runs(scenarios: usize, threads: usize) -> u64 {
    (CHUNK_RUNS.max(2 * threads as u64) / scenarios.max(1) as u64).max(1)
}

/// Worker threads a batch uses when none are asked for: every core.
pub fn default_threads() -> usize {
    rayon::current_num_threads()
}

/// How to run a batch.
#[derive(Debug, Clone)]
pub struct BatchConfig {
    /// Runs of the whole batch.
    pub runs: u64,
    /// Only these blocks (of [`BLOCK_RUNS`] runs; all when `None`), e.g. a shard's.
    pub blocks: Option<std::ops::Range<u64>>,
    pub seed: u64,
    /// Worker threads; `None` uses every core.
    pub threads: Option<usize>,
    /// What each run keeps: with [`Keep::Final`] only final values are kept and no per-sample
    /// statistics are built (sweeps).
    pub keep: Keep,
    /// Set (e.g. by a signal handler) to stop the batch: runs stop at their next daily tick and
    /// the batch returns [`Interrupted`].
    pub cancel: Option<Arc<AtomicBool>>,
}

/// The batch was stopped through [`BatchConfig::cancel`]; nothing it computed is kept.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// A run panicked: a bug. Says which run and seed, so that it can be replayed.
#[derive(Debug, thiserror::Error)]
#[error(
    "run {run} of scenario {scenario:?} (run seed {run_seed}) panicked: {message}. This is a bug; \
     replay it with `--seed {master_seed} --runs {replay_runs}` (it is the last run)"
)]
pub struct RunPanicked {
    pub scenario: String,
    pub run: u64,
    pub run_seed: u64,
    pub master_seed: u64,
    pub replay_runs: u64,
    pub message: String,
}

/// Statistics of one value across runs: exact moments, and quantiles from a [`Sketch`] (bounded
/// memory, stated accuracy) or from every value ([`Exact`], for per-run metrics).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    moments: BlockedMoments,
    values: Values,
}

/// What a [`Stat`] keeps of its values for quantiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Values {
    Sketch(Sketch),
    Exact(Exact),
}

impl Default for Values {
    fn default() -> Values {
        Values::Sketch(Sketch::default())
    }
}

impl Blocked for Stat {
    fn each_moments(&mut self, f: &mut dyn FnMut(&mut BlockedMoments)) {
        f(&mut self.moments);
    }

    fn merge_shard(&mut self, other: &Self) {
        match (&mut self.values, &other.values) {
            (Values::Sketch(a), Values::Sketch(b)) => a.merge(b),
            (Values::Exact(a), Values::Exact(b)) => a.merge(b),
            // Shards of one job have the same shape (checked by `Partial::shape`).
            _ => debug_assert!(false, "merging a sketch with an exact store"),
        }
    }
}

impl Stat {
    /// Statistics that keep every value, so that their quantiles are exact.
    pub fn exact() -> Stat {
        Stat {
            moments: BlockedMoments::default(),
            values: Values::Exact(Exact::default()),
        }
    }

    pub fn add(&mut self, x: f64) {
        self.moments.add(x);
        match &mut self.values {
            Values::Sketch(s) => s.add(x),
            Values::Exact(e) => e.add(x),
        }
    }

    /// Count, mean and variance of the values added (NaN left out).
    pub fn moments(&self) -> Moments {
        self.moments.get()
    }

    /// Number of NaN values added (runs where the metric has no value).
    pub fn missing(&self) -> u64 {
        match &self.values {
            Values::Sketch(s) => s.nan_count(),
            Values::Exact(e) => e.nan_count(),
        }
    }

    /// The sketch, unless the values are kept exactly.
    pub fn sketch(&self) -> Option<&Sketch> {
        match &self.values {
            Values::Sketch(s) => Some(s),
            Values::Exact(_) => None,
        }
    }

    /// Every value (NaN left out) in run order, when they are kept exactly.
    pub fn values(&self) -> Option<&[f64]> {
        match &self.values {
            Values::Sketch(_) => None,
            Values::Exact(e) => Some(e.values()),
        }
    }

    /// The 95 % interval of the mean of `metric`'s values: for an indicator (a probability,
    /// [`is_probability`]) Wilson's, inside [0, 1]; else `mean ± 1.96·sd/√n`.
    pub fn mean_interval(&self, metric: &str) -> (f64, f64) {
        let m = self.moments();
        if is_probability(metric) {
            let ones = (m.mean * m.count as f64).round() as u64;
            return wilson(ones, m.count);
        }
        let half = 1.959963984540054 * m.sem();
        (m.mean - half, m.mean + half)
    }

    /// Relative accuracy of [`Stat::quantile`]'s order statistics: 0 when exact, else the
    /// sketch's ([`Sketch::relative_accuracy`]; the bound is stated in `batch::sketch`).
    pub fn relative_accuracy(&self) -> f64 {
        self.sketch().map_or(0.0, Sketch::relative_accuracy)
    }

    /// Whether the store could have been built here (a `Stat` read from a file must be).
    pub fn is_consistent(&self) -> bool {
        match &self.values {
            Values::Sketch(s) => s.is_consistent(),
            Values::Exact(e) => e.is_consistent(),
        }
    }

    /// Memory held by the store, in bytes.
    pub fn heap_bytes(&self) -> usize {
        match &self.values {
            Values::Sketch(s) => s.heap_bytes(),
            Values::Exact(e) => e.heap_bytes(),
        }
    }

    /// The `q`-quantile (numpy's default interpolation), NaN when there are no values: exact
    /// when the values are kept; otherwise the sketch's, except that values equal up to rounding
    /// (a spread below 1e-9 of their magnitude, e.g. day-0 TVL) report their exact mean rather
    /// than a bucket (within the stated bound: the mean lies between them).
    pub fn quantile(&self, q: f64) -> f64 {
        self.quantiles([q])[0]
    }

    /// The `q`-quantiles for every `q` of `qs` (sorting exact values, or decoding the sketch's
    /// buckets, once).
    pub fn quantiles<const N: usize>(&self, qs: [f64; N]) -> [f64; N] {
        let sketch = match &self.values {
            Values::Exact(e) => {
                let sorted = e.sorted();
                return qs.map(|q| sketch::quantile_of_sorted(&sorted, q));
            }
            Values::Sketch(s) => s,
        };
        let (lo, hi) = (sketch.min(), sketch.max());
        if sketch.count() > 0 && hi - lo <= 1e-9 * lo.abs().max(hi.abs()) {
            return [self.moments().mean.clamp(lo, hi); N];
        }
        sketch.quantiles(qs)
    }
}

/// What a batch produces besides the per-run outputs passed to the sink. Serialised in shards
/// without its layout and column names, which come from the scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchResult {
    #[serde(skip)]
    pub layout: Layout,
    /// One sketched [`Stat`] per (sample, cell) but the last sample, sample-major like
    /// [`RunOutput::samples`]; the last sample's cells are the first `run_stats` (see
    /// [`BatchResult::cell`]).
    pub cells: Vec<Stat>,
    /// Column names of the per-run metrics (`runs.csv` after `run,seed`).
    #[serde(skip)]
    pub run_columns: Vec<String>,
    /// One exact [`Stat`] per run column (every run's value is kept).
    pub run_stats: Vec<Stat>,
    /// Runs aggregated (those of the shard, for a shard).
    pub runs: u64,
    pub seed: u64,
    pub conservation_error_max: f64,
    pub decisions: u64,
    pub events: u64,
    pub threads: usize,
    /// Wall time of the batch; for merged shards, the sum of the shards' wall times.
    pub wall_seconds: f64,
    /// Shards merged into this result (1 for a batch run in one piece).
    pub shards: u64,
}

impl Blocked for BatchResult {
    fn each_moments(&mut self, f: &mut dyn FnMut(&mut BlockedMoments)) {
        self.cells.each_moments(f);
        self.run_stats.each_moments(f);
    }

    /// Also adds runs, counts and wall times, and keeps the largest conservation error and
    /// thread count.
    fn merge_shard(&mut self, other: &Self) {
        self.cells.merge_shard(&other.cells);
        self.run_stats.merge_shard(&other.run_stats);
        self.runs += other.runs;
        self.conservation_error_max = self
            .conservation_error_max
            .max(other.conservation_error_max);
        self.decisions += other.decisions;
        self.events += other.events;
        self.threads = self.threads.max(other.threads);
        self.wall_seconds += other.wall_seconds;
        self.shards += other.shards;
    }
}

impl BatchResult {
    /// An empty result of `scenario` (`cells` only with [`Keep::Trajectory`]).
    pub fn empty(scenario: &Scenario, keep: Keep, seed: u64) -> BatchResult {
        let layout = Layout::new(scenario);
        let run_columns = layout.run_columns();
        let cells = match keep {
            Keep::Trajectory => layout.sample_days.len().saturating_sub(1) * layout.n_cells(),
            Keep::Final => 0,
        };
        BatchResult {
            cells: vec![Stat::default(); cells],
            run_stats: vec![Stat::exact(); run_columns.len()],
            run_columns,
            runs: 0,
            seed,
            conservation_error_max: 0.0,
            decisions: 0,
            events: 0,
            threads: 0,
            wall_seconds: 0.0,
            shards: 1,
            layout,
        }
    }

    /// Statistics of cell `cell` at sample `k`: sketched, but exact at the last sample (the
    /// final values, kept in `run_stats`).
    pub fn cell(&self, k: usize, cell: usize) -> &Stat {
        if k + 1 == self.layout.sample_days.len() {
            &self.run_stats[cell]
        } else {
            &self.cells[k * self.layout.n_cells() + cell]
        }
    }

    /// The relative accuracy that holds for every quantile reported from this result: the worst
    /// over its sketched cells (exact statistics count 0), see [`Stat::relative_accuracy`].
    pub fn quantile_relative_accuracy(&self) -> f64 {
        self.cells
            .iter()
            .map(Stat::relative_accuracy)
            .fold(0.0, f64::max)
    }

    /// Statistics of a run column by name.
    pub fn run_stat(&self, column: &str) -> Option<&Stat> {
        self.run_columns
            .iter()
            .position(|c| c == column)
            .map(|i| &self.run_stats[i])
    }
}

/// Error raised by a sink; the batch stops and returns it.
pub type SinkError = anyhow::Error;

/// What the caller of [`run_paired`] does with the runs.
pub trait Sink {
    /// Run `r` of every scenario, in run order.
    fn run(&mut self, outs: &[RunOutput]) -> Result<(), SinkError>;

    /// Block `block` is complete; `moments` are its moments of the batch's own statistics, as
    /// [`Blocked::end_block`] of every [`BatchResult`] in scenario order gives them.
    fn end_block(&mut self, _block: u64, _moments: &[Moments]) -> Result<(), SinkError> {
        Ok(())
    }
}

impl<F: FnMut(&[RunOutput]) -> Result<(), SinkError>> Sink for F {
    fn run(&mut self, outs: &[RunOutput]) -> Result<(), SinkError> {
        self(outs)
    }
}

/// Runs `cfg.runs` runs of `scenario`. `sink` sees every run in run order; `progress` is told
/// how many runs are done after each chunk.
pub fn run_batch(
    scenario: &Scenario,
    cfg: &BatchConfig,
    progress: &(dyn Fn(u64) + Sync),
    sink: &mut dyn FnMut(&RunOutput) -> Result<(), SinkError>,
) -> Result<BatchResult, SinkError> {
    let mut results = run_paired(&[scenario], cfg, progress, &mut |outs: &[RunOutput]| {
        sink(&outs[0])
    })?;
    Ok(results.remove(0))
}

/// Runs `cfg.runs` runs (or those of `cfg.blocks`) of every scenario with the same per-run seeds
/// (common random numbers). `sink` sees, in run order, run `r` of every scenario together (in the
/// order given), and the end of every block. `progress` is told how many simulations (a run of
/// one scenario) are done, after each: a sweep of many points moves it point by point.
pub fn run_paired(
    scenarios: &[&Scenario],
    cfg: &BatchConfig,
    progress: &(dyn Fn(u64) + Sync),
    sink: &mut dyn Sink,
) -> Result<Vec<BatchResult>, SinkError> {
    let started = Instant::now();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.threads.unwrap_or(0))
        .build()?;
    let threads = pool.current_num_threads();
    let mut results: Vec<BatchResult> = scenarios
        .iter()
        .map(|sc| BatchResult {
            threads,
            ..BatchResult::empty(sc, cfg.keep, cfg.seed)
        })
        .collect();
    let n = scenarios.len() as u64;
    let window = chunk_runs(scenarios.len(), threads) * n;
    let block_range = cfg.blocks.clone().unwrap_or(0..blocks::blocks(cfg.runs));
    let first_run = (block_range.start * BLOCK_RUNS).min(cfg.runs);
    let end_run = (block_range.end * BLOCK_RUNS).min(cfg.runs);
    let done = std::sync::Mutex::new(0u64);
    let one_done = || {
        let mut d = done.lock().unwrap_or_else(|e| e.into_inner());
        *d += 1;
        progress(*d);
    };
    let layouts: Vec<Layout> = results.iter().map(|r| r.layout.clone()).collect();
    let simulate = |task: u64| simulate_task(scenarios, &layouts, cfg, n, task);
    let mut reduce = Reduce {
        results: &mut results,
        sink,
        runs: cfg.runs,
        group: Vec::with_capacity(n as usize),
        n: n as usize,
        block_moments: Vec::new(),
        cancel: cfg.cancel.as_deref(),
    };
    let tasks = first_run * n..end_run * n;
    if threads == 1 {
        // One thread simulates and reduces in turn: a one-thread batch uses one core.
        for task in tasks {
            let out = simulate(task);
            one_done();
            reduce.take(out)?;
        }
    } else {
        stream(&pool, tasks, window, &simulate, &one_done, &mut |out| {
            reduce.take(out)
        })?;
    }
    let wall = started.elapsed().as_secs_f64();
    for r in &mut results {
        r.wall_seconds = wall;
    }
    Ok(results)
}

/// Simulates `tasks` (run-major, then scenario) on the pool's threads while the calling thread
/// hands them to `reduce` in task order, each as soon as the tasks before it are done: the pool
/// never waits for the reduction, and at most `window` finished outputs wait for it (a thread
/// does not start a task `window` or more beyond the next one to reduce), so memory is bounded
/// whatever the number of runs.
fn stream<T: Send>(
    pool: &rayon::ThreadPool,
    tasks: std::ops::Range<u64>,
    window: u64,
    simulate: &(dyn Fn(u64) -> T + Sync),
    one_done: &(dyn Fn() + Sync),
    reduce: &mut dyn FnMut(T) -> Result<(), SinkError>,
) -> Result<(), SinkError> {
    use std::collections::VecDeque;
    use std::sync::atomic::AtomicU64;
    use std::sync::{Condvar, Mutex, PoisonError};
    /// The outputs from task `next` on (`None` while one is simulated), and whether the
    /// reduction stopped (an error or a cancel): then the threads start nothing more.
    struct Window<T> {
        next: u64,
        ready: VecDeque<Option<T>>,
        stopped: bool,
    }
    let state = Mutex::new(Window::<T> {
        next: tasks.start,
        ready: VecDeque::new(),
        stopped: false,
    });
    let (finished, freed) = (Condvar::new(), Condvar::new());
    let taken = AtomicU64::new(tasks.start);
    let lock = || state.lock().unwrap_or_else(PoisonError::into_inner);
    let work = || {
        loop {
            let task = taken.fetch_add(1, Ordering::Relaxed);
            if task >= tasks.end {
                return;
            }
            {
                let mut w = lock();
                while !w.stopped && task >= w.next + window {
                    w = freed.wait(w).unwrap_or_else(PoisonError::into_inner);
                }
                if w.stopped {
                    return;
                }
            }
            let out = simulate(task);
            {
                let mut w = lock();
                let at = (task - w.next) as usize;
                if w.ready.len() <= at {
                    w.ready.resize_with(at + 1, || None);
                }
                w.ready[at] = Some(out);
                if at == 0 {
                    finished.notify_one();
                }
            }
            one_done();
        }
    };
    pool.in_place_scope(|scope| {
        for _ in 0..pool.current_num_threads() {
            scope.spawn(|_| work());
        }
        let reduced = (|| {
            for _ in tasks.clone() {
                let out = {
                    let mut w = lock();
                    while w.ready.front().is_none_or(Option::is_none) {
                        w = finished.wait(w).unwrap_or_else(PoisonError::into_inner);
                    }
                    w.next += 1;
                    let out = w.ready.pop_front().flatten();
                    freed.notify_all();
                    out.expect("the front output is there")
                };
                reduce(out)?;
            }
            Ok(())
        })();
        if reduced.is_err() {
            lock().stopped = true;
            freed.notify_all();
        }
        reduced
    })
}

/// Simulates task `task`: run `task / n` of scenario `task % n`, a panic caught as the run's
/// error.
fn simulate_task(
    scenarios: &[&Scenario],
    layouts: &[Layout],
    cfg: &BatchConfig,
    n: u64,
    task: u64,
) -> Result<RunOutput, RunPanicked> {
    let (run, s) = (task / n, (task % n) as usize);
    let simulate = || {
        engine::simulate_keeping(
            scenarios[s],
            &layouts[s],
            cfg.seed,
            run,
            cfg.keep,
            cfg.cancel.as_deref(),
        )
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(simulate)).map_err(|payload| {
        RunPanicked {
            scenario: scenarios[s].name.clone(),
            run,
            run_seed: engine::run_seed(cfg.seed, run),
            master_seed: cfg.seed,
            replay_runs: run + 1,
            message: payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(no message)".into()),
        }
    })
}

/// The reduction: takes the simulations in task order and, at each complete run of every
/// scenario, feeds the sink and the aggregates, and closes blocks at fixed run indices.
struct Reduce<'a> {
    results: &'a mut [BatchResult],
    sink: &'a mut dyn Sink,
    /// Runs of the whole batch (the last block may be short).
    runs: u64,
    group: Vec<RunOutput>,
    n: usize,
    block_moments: Vec<Moments>,
    cancel: Option<&'a AtomicBool>,
}

impl Reduce<'_> {
    fn take(&mut self, out: Result<RunOutput, RunPanicked>) -> Result<(), SinkError> {
        // A run cut short by a cancel ends before it is taken: seen here, it is not reduced.
        if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(Interrupted.into());
        }
        self.group.push(out?);
        if self.group.len() < self.n {
            return Ok(());
        }
        let run = self.group[0].run;
        self.sink.run(&self.group)?;
        for (result, out) in self.results.iter_mut().zip(&self.group) {
            absorb(result, out);
        }
        self.group.clear();
        // Blocks close at fixed run indices, whatever the threads.
        if (run + 1).is_multiple_of(BLOCK_RUNS) || run + 1 == self.runs {
            self.block_moments.clear();
            for r in self.results.iter_mut() {
                r.end_block(&mut self.block_moments);
            }
            self.sink.end_block(run / BLOCK_RUNS, &self.block_moments)?;
        }
        Ok(())
    }
}

fn absorb(result: &mut BatchResult, out: &RunOutput) {
    // With Keep::Final there are no cell statistics and `zip` stops at once; otherwise it stops
    // before the last sample, whose values are the first run columns.
    for (stat, &x) in result.cells.iter_mut().zip(&out.samples) {
        stat.add(x);
    }
    let finals = out.final_sample(&result.layout);
    for (stat, &x) in result
        .run_stats
        .iter_mut()
        .zip(finals.iter().chain(&out.run_metrics))
    {
        stat.add(x);
    }
    result.conservation_error_max = result
        .conservation_error_max
        .max(out.conservation_error_max);
    result.decisions += out.decisions;
    result.events += out.events;
    result.runs += 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_equal_up_to_rounding_report_their_mean() {
        let mut s = Stat::default();
        for x in [
            62_400_000_000.0,
            62_399_999_999.999_89,
            62_400_000_000.000_01,
        ] {
            s.add(x);
        }
        assert_eq!(s.quantile(0.5), s.moments().mean);
        let mut t = Stat::default();
        for x in [1.0, 2.0, 3.0] {
            t.add(x);
        }
        assert!((t.quantile(0.5) - 2.0).abs() <= 2.0 * RELATIVE_ACCURACY);
        let mut e = Stat::exact();
        for x in [3.0, 1.0, f64::NAN, 2.0] {
            e.add(x);
        }
        assert_eq!(
            (e.quantile(0.5), e.quantile(0.25), e.missing()),
            (2.0, 1.5, 1)
        );
        assert_eq!(e.quantiles([0.0, 1.0]), [1.0, 3.0]);
    }

    /// The stream hands every task to the reduction in order, and no thread starts a task a
    /// window or more beyond the next one to reduce, however unevenly the tasks take; an error
    /// of the reduction stops the threads starting more.
    #[test]
    fn the_stream_reduces_in_order_within_its_window() {
        use std::sync::atomic::AtomicU64;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        let reduced = AtomicU64::new(0);
        let ahead = AtomicU64::new(0);
        let simulate = |task: u64| {
            let gap = task - reduced.load(Ordering::SeqCst);
            ahead.fetch_max(gap, Ordering::SeqCst);
            // Uneven durations: every seventh task is slow.
            let spin = if task.is_multiple_of(7) {
                200_000
            } else {
                2_000
            };
            std::hint::black_box((0..spin).fold(task, |a, b| a ^ b));
            task
        };
        let mut seen = Vec::new();
        stream(&pool, 3..300, 5, &simulate, &|| {}, &mut |t| {
            seen.push(t);
            reduced.store(t + 1 - 3, Ordering::SeqCst);
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, (3..300).collect::<Vec<_>>());
        // Tasks start below `3 + reduced + 5`; `reduced` is stored just after each reduction, so a
        // thread may read it one behind.
        let ahead = ahead.load(Ordering::SeqCst);
        assert!(
            ahead < 3 + 5 + 1,
            "a task started {ahead} beyond the next to reduce"
        );

        let started = AtomicU64::new(0);
        let count = |task: u64| {
            started.fetch_add(1, Ordering::SeqCst);
            task
        };
        let stopped = stream(&pool, 0..10_000, 8, &count, &|| {}, &mut |t| {
            if t == 20 {
                anyhow::bail!("sink failed")
            }
            Ok(())
        });
        assert_eq!(stopped.unwrap_err().to_string(), "sink failed");
        let started = started.load(Ordering::SeqCst);
        assert!(started < 20 + 8 + 4, "{started} tasks started");
    }
}
