//! l2sim: a discrete-event, agent-based Monte Carlo simulator of capital moving between Ethereum
//! L1, optimistic and ZK rollups, and alt-L1s.
//!
//! Data flows one way: `scenario` → `model` → `engine` → `batch` → `report` → `app` → `cli`.
//! [`app`] is the library API of the jobs (run, compare, sweep, merge) that the command line calls.
//! See `docs/ARCHITECTURE.md` for the codemap and invariants.

pub mod app;
pub mod batch;
pub mod cli;
pub mod engine;
pub mod model;
pub mod report;
pub mod scenario;
