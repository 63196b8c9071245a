//! Monte Carlo batches: runs in parallel with rayon, results reduced in run order.
//!
//! Runs are simulated in fixed-size chunks; within a chunk rayon may finish them in any order, but
//! they are collected in run order and then fed one by one to the aggregates and to the caller's
//! sink. So every sum is taken in the same order whatever the thread count, and memory holds one
//! chunk of trajectories at most. Only this module knows rayon.

mod estimate;
mod paired;
mod sketch;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rayon::prelude::*;

pub use estimate::{Estimate, agents_ever, available_memory_bytes, estimate};
pub use paired::{Against, Comparison, PairedStat, RunColumn, headline_columns, run_value};
pub use sketch::{Moments, RELATIVE_ACCURACY, Sketch};

use crate::engine::{self, Keep, Layout, RunOutput};
use crate::scenario::Scenario;

/// Runs simulated together before their results are reduced. Fixed, so that results do not
/// depend on the thread count.
pub const CHUNK_RUNS: u64 = 32;

/// How to run a batch.
#[derive(Debug, Clone)]
pub struct BatchConfig {
    pub runs: u64,
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

/// Streaming statistics of one value across runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stat {
    pub moments: Moments,
    pub sketch: Sketch,
}

impl Stat {
    pub fn add(&mut self, x: f64) {
        self.moments.add(x);
        self.sketch.add(x);
    }

    /// The `q`-quantile: the sketch's, except that values equal up to rounding (a spread below
    /// 1e-9 of their magnitude, e.g. day-0 TVL) report their exact mean rather than a bucket.
    pub fn quantile(&self, q: f64) -> f64 {
        let (lo, hi) = (self.sketch.min(), self.sketch.max());
        if self.sketch.count() > 0 && hi - lo <= 1e-9 * lo.abs().max(hi.abs()) {
            return self.moments.mean.clamp(lo, hi);
        }
        self.sketch.quantile(q)
    }
}

/// What a batch produces besides the per-run outputs passed to the sink.
#[derive(Debug, Clone)]
pub struct BatchResult {
    pub layout: Layout,
    /// One [`Stat`] per (sample, cell), sample-major like [`RunOutput::samples`].
    pub cells: Vec<Stat>,
    /// Column names of the per-run metrics (`runs.csv` after `run,seed`).
    pub run_columns: Vec<String>,
    /// One [`Stat`] per run column.
    pub run_stats: Vec<Stat>,
    pub runs: u64,
    pub seed: u64,
    pub conservation_error_max: f64,
    pub decisions: u64,
    pub events: u64,
    pub threads: usize,
    pub wall_seconds: f64,
}

impl BatchResult {
    /// Statistics of cell `cell` at sample `k`.
    pub fn cell(&self, k: usize, cell: usize) -> &Stat {
        &self.cells[k * self.layout.n_cells() + cell]
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

/// Runs `cfg.runs` runs of `scenario`. `sink` sees every run in run order; `progress` is told
/// how many runs are done after each chunk.
pub fn run_batch(
    scenario: &Scenario,
    cfg: &BatchConfig,
    progress: &(dyn Fn(u64) + Sync),
    sink: &mut dyn FnMut(&RunOutput) -> Result<(), SinkError>,
) -> Result<BatchResult, SinkError> {
    let mut results = run_paired(&[scenario], cfg, progress, &mut |outs| sink(&outs[0]))?;
    Ok(results.remove(0))
}

/// Runs `cfg.runs` runs of every scenario with the same per-run seeds (common random numbers).
/// `sink` sees, in run order, run `r` of every scenario together (in the order given).
pub fn run_paired(
    scenarios: &[&Scenario],
    cfg: &BatchConfig,
    progress: &(dyn Fn(u64) + Sync),
    sink: &mut dyn FnMut(&[RunOutput]) -> Result<(), SinkError>,
) -> Result<Vec<BatchResult>, SinkError> {
    let started = Instant::now();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.threads.unwrap_or(0))
        .build()?;
    let threads = pool.current_num_threads();
    let mut results: Vec<BatchResult> = scenarios
        .iter()
        .map(|sc| {
            let layout = Layout::new(sc);
            let run_columns = layout.run_columns();
            let cells = match cfg.keep {
                Keep::Trajectory => layout.sample_days.len() * layout.n_cells(),
                Keep::Final => 0,
            };
            BatchResult {
                cells: vec![Stat::default(); cells],
                run_stats: vec![Stat::default(); run_columns.len()],
                run_columns,
                runs: cfg.runs,
                seed: cfg.seed,
                conservation_error_max: 0.0,
                decisions: 0,
                events: 0,
                threads,
                wall_seconds: 0.0,
                layout,
            }
        })
        .collect();
    let n = scenarios.len() as u64;
    // Runs per chunk: CHUNK_RUNS for one scenario, fewer when many scenarios run together, so
    // that memory stays bounded. Results do not depend on it: reduction is always in run order.
    let chunk = (CHUNK_RUNS / n).max(1);
    let mut start = 0;
    while start < cfg.runs {
        let end = (start + chunk).min(cfg.runs);
        let layouts: Vec<&Layout> = results.iter().map(|r| &r.layout).collect();
        let cancel = cfg.cancel.as_deref();
        let outputs: Vec<Result<RunOutput, RunPanicked>> = pool.install(|| {
            (start * n..end * n)
                .into_par_iter()
                .map(|task| {
                    let (run, s) = (task / n, (task % n) as usize);
                    let simulate = || {
                        engine::simulate_keeping(
                            scenarios[s],
                            layouts[s],
                            cfg.seed,
                            run,
                            cfg.keep,
                            cancel,
                        )
                    };
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(simulate)).map_err(
                        |payload| RunPanicked {
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
                        },
                    )
                })
                .collect()
        });
        if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(Interrupted.into());
        }
        let outputs = outputs
            .into_iter()
            .collect::<Result<Vec<RunOutput>, RunPanicked>>()?;
        for group in outputs.chunks(scenarios.len()) {
            sink(group)?;
            for (result, out) in results.iter_mut().zip(group) {
                absorb(result, out);
            }
        }
        progress(end);
        start = end;
    }
    let wall = started.elapsed().as_secs_f64();
    for r in &mut results {
        r.wall_seconds = wall;
    }
    Ok(results)
}

fn absorb(result: &mut BatchResult, out: &RunOutput) {
    // With Keep::Final there are no cell statistics and `zip` stops at once.
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
        assert_eq!(s.quantile(0.5), s.moments.mean);
        let mut t = Stat::default();
        for x in [1.0, 2.0, 3.0] {
            t.add(x);
        }
        assert!((t.quantile(0.5) - 2.0).abs() <= 2.0 * RELATIVE_ACCURACY * 2.0);
    }
}
