//! The discrete-event engine: one Monte Carlo run of a scenario, from agent creation to the last
//! sample.
//!
//! It owns the clock, the event queue and the random streams; the economics come from `model`.
//! It does no I/O, never looks at the wall clock, and knows nothing of threads.

mod alias;
mod chacha;
mod observe;
mod queue;
mod streams;
mod world;

pub use alias::AliasTable;
pub use observe::{
    CHAIN_METRICS, Cell, EventKind, Layout, Per, RUN_METRICS, RunEvent, SYSTEM_METRICS, UNITS,
    Unit, column_of, sys, unit_of,
};
pub use queue::{EventQueue, Priority};
pub use streams::{Purpose, run_seed, splitmix64, stream};
pub use world::{
    EquilibriumError, InitialAgent, Solution, initial_agents, solve as solve_equilibrium,
};

use std::sync::atomic::AtomicBool;

/// Hints the processor to bring `x`'s cache line in (a no-op where no hint is known); it never
/// changes a result.
#[inline(always)]
fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults and reads nothing the program sees; `x` is a valid
    // reference, and SSE is part of every x86-64 target.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>((x as *const T).cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// Asks the kernel to back `v`'s allocation with huge pages where it spans at least two of them
/// (Linux's transparent huge pages, which the `madvise` mode grants only to ranges advised so):
/// with millions of agents every review lands on a random page, which 4 KB pages leave out of
/// the TLB's reach (docs/PERFORMANCE.md). Advice only: it never changes a value, and it is a
/// no-op elsewhere.
fn advise_huge_pages<T>(v: &Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = v.as_ptr() as usize;
        let end = start + v.capacity() * std::mem::size_of::<T>();
        let (first, last) = (start.next_multiple_of(HUGE), end / HUGE * HUGE);
        if last >= first + 2 * HUGE {
            // SAFETY: the range lies within `v`'s allocation, and MADV_HUGEPAGE only advises the
            // kernel how to back it (no content changes; an error is harmless and ignored).
            unsafe {
                libc::madvise(
                    first as *mut libc::c_void,
                    last - first,
                    libc::MADV_HUGEPAGE,
                );
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}

use crate::scenario::Scenario;

/// Everything one run produces.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutput {
    /// Run index within the batch.
    pub run: u64,
    /// The run's seed (derived from the master seed and `run`).
    pub seed: u64,
    /// `layout.sample_days.len() × layout.n_cells()` values, sample-major (only the last sample's
    /// with [`Keep::Final`]).
    pub samples: Vec<f64>,
    /// Values of [`RUN_METRICS`], in that order.
    pub run_metrics: Vec<f64>,
    /// Largest relative conservation error over the run's samples.
    pub conservation_error_max: f64,
    /// Reviews that scored chains (agent decisions).
    pub decisions: u64,
    /// Queue events processed.
    pub events: u64,
    /// What happened, in the order it happened (hacks, panics, airdrops, launches, scheduled
    /// events, ZK overtaking optimistic and falling back).
    pub log: Vec<RunEvent>,
}

impl RunOutput {
    /// The cells of the last sample.
    pub fn final_sample(&self, layout: &Layout) -> &[f64] {
        let n = layout.n_cells();
        &self.samples[self.samples.len() - n..]
    }
}

/// Which samples a run keeps in [`RunOutput::samples`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Every sample (trajectories, quantiles over time).
    Trajectory,
    /// Only the last sample (sweeps, which report final values only).
    Final,
}

/// Simulates run `run` of `scenario` under master seed `master_seed`, keeping every sample.
pub fn simulate(scenario: &Scenario, layout: &Layout, master_seed: u64, run: u64) -> RunOutput {
    simulate_keeping(scenario, layout, master_seed, run, Keep::Trajectory, None)
}

/// Simulates one run, keeping the samples `keep` says. When `cancel` becomes true the run stops
/// at its next daily tick (its output is then incomplete and must be discarded).
pub fn simulate_keeping(
    scenario: &Scenario,
    layout: &Layout,
    master_seed: u64,
    run: u64,
    keep: Keep,
    cancel: Option<&AtomicBool>,
) -> RunOutput {
    let seed = run_seed(master_seed, run);
    let mut world = world::World::new(scenario, layout, seed, keep);
    world.run(cancel);
    world.into_output(run, seed)
}
