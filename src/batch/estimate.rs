//! Up-front estimates of a batch's work and peak memory, from the scenario alone, so that `run`
//! can refuse a batch that would not fit in the machine's memory before it starts (`--force`
//! overrides) and `validate` can say what a scenario will cost.
//!
//! The memory model counts what grows: per-agent state of the runs in flight, the trajectories
//! of the window of finished runs waiting to be reduced, the per-sample statistics (sketches, a
//! byte or so per occupied bucket), every run's value of the exactly reported statistics, and a
//! fixed base measured on this project's machine class (docs/PERFORMANCE.md compares it with
//! measured peaks).

use crate::engine::{Keep, Layout};
use crate::scenario::{EventAction, Scenario};

use super::{MAX_BUCKETS, chunk_runs};

/// Resident memory of the process before any scenario-dependent allocation, bytes.
const BASE_BYTES: f64 = 14e6;
/// Bytes per agent besides its per-chain tastes, at the peak: capital, chain, segment, wallets and
/// segment-list entry (20, the list growing by doubling up to 4 more), plus the 16 bytes each
/// agent takes while the population is drawn and rescaled, plus slack.
const AGENT_BYTES: f64 = 48.0;
/// Bytes per per-sample statistic besides its buckets: moments and sketch header (144), and the
/// allocator's header of each sign's bucket store (16 each).
const STAT_BYTES: f64 = 176.0;
/// Bytes of a sketch's buckets per run, up to `MAX_BUCKETS` runs. A cell's values mostly occupy
/// a narrow run of keys, stored densely in half a byte or a byte per key: measured 0.13 to 0.38
/// bytes per run (up to the budget) on `bench.toml` (40 to 1,000 runs) and the baseline (200
/// runs); with the allocator's rounding, 31 to 88 bytes per cell, below `STAT_BYTES − 144` plus
/// this. 1 keeps the estimate 10 to 40 % above those peaks (docs/PERFORMANCE.md); values spread
/// over orders of magnitude, stored sparsely, may take up to 8.
const BUCKET_BYTES: f64 = 1.0;
/// Bytes per value of an exactly kept statistic (8, and room for its vector to double).
const EXACT_BYTES: f64 = 16.0;

/// What a batch is expected to cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Agent reviews (decisions) in one run of the first scenario.
    pub decisions_per_run: f64,
    /// Over all runs of all scenarios.
    pub decisions_total: f64,
    /// Expected peak resident memory, bytes.
    pub peak_bytes: f64,
}

/// Decisions per second of one worker thread on the machine class of docs/PERFORMANCE.md (the
/// baseline ran at 2.81 M decisions/s on 2 threads): the up-front time estimate of a batch.
pub const DECISIONS_PER_SECOND_PER_THREAD: f64 = 1.4e6;

impl Estimate {
    /// Expected wall time on `threads` threads at [`DECISIONS_PER_SECOND_PER_THREAD`].
    pub fn seconds(&self, threads: usize) -> f64 {
        self.decisions_total / (DECISIONS_PER_SECOND_PER_THREAD * threads.max(1) as f64)
    }
}

/// A duration for people: `40 s`, `12 min`, `3.5 h`.
pub fn duration(seconds: f64) -> String {
    if seconds < 90.0 {
        format!("{seconds:.0} s")
    } else if seconds < 5400.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

/// Agents a scenario ever holds: its segments plus every `user_inflow`.
pub fn agents_ever(sc: &Scenario) -> f64 {
    let initial: f64 = sc.segments.iter().map(|s| s.agents as f64).sum();
    let inflows: f64 = sc
        .events
        .iter()
        .map(|e| match e.action {
            EventAction::UserInflow { agents, .. } => agents as f64,
            _ => 0.0,
        })
        .sum();
    initial + inflows
}

/// Estimates running `runs` runs of each scenario on `threads` threads.
pub fn estimate(scenarios: &[&Scenario], runs: u64, threads: usize, keep: Keep) -> Estimate {
    let n = scenarios.len().max(1) as f64;
    let chunk = (chunk_runs(scenarios.len(), threads) as f64).min(runs as f64);
    let mut peak = BASE_BYTES;
    let mut decisions_total = 0.0;
    for sc in scenarios {
        let layout = Layout::new(sc);
        let samples = layout.sample_days.len() as f64;
        let cells = layout.n_cells() as f64;
        let agents = agents_ever(sc);
        let per_agent = AGENT_BYTES + 4.0 * sc.chains.len() as f64;
        // Runs in flight: their agents, and a queue of capital in transit (a tenth of the agents).
        let in_flight = (threads as f64).min(runs as f64 * n);
        peak += in_flight * agents * (per_agent + 0.1 * 40.0);
        // The window of outputs waiting to be reduced (an upper bound: one thread holds one),
        // and the per-sample statistics.
        let kept = match keep {
            Keep::Trajectory => samples * cells,
            Keep::Final => cells,
        };
        peak += chunk * kept * 8.0;
        // Sketches of every sample but the last: at most one bucket per run, and at most
        // MAX_BUCKETS, whatever the number of runs, at about a byte each (BUCKET_BYTES).
        if keep == Keep::Trajectory {
            let buckets = (runs as f64).min(MAX_BUCKETS as f64);
            peak += (samples - 1.0).max(0.0) * cells * (STAT_BYTES + BUCKET_BYTES * buckets);
        } else {
            // A sweep point: a statistic and a paired difference (48 bytes) per run column.
            let columns = cells + crate::engine::RUN_METRICS.len() as f64;
            peak += columns * (STAT_BYTES + 48.0);
        }
        // Every run's value of each run column (and, in a sweep, of each headline metric: fewer
        // than the run columns), kept for exact quantiles.
        peak += runs as f64 * layout.run_columns().len() as f64 * EXACT_BYTES;
        decisions_total += sc.total_review_rate_per_day() * sc.horizon_days * runs as f64;
    }
    let first = scenarios[0];
    Estimate {
        decisions_per_run: first.total_review_rate_per_day() * first.horizon_days,
        decisions_total,
        peak_bytes: peak,
    }
}
