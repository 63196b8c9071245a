//! Every integration test in one binary: one link of the dependency tree instead of one per file,
//! and one test harness that spreads all the tests over the cores. Each file of this folder is a
//! module; `common` holds what they share. Run one file's tests with
//! `cargo test --release --test integration golden::`.

mod common;

mod api;
mod architecture;
mod bass;
mod calibrate;
mod charts_and_pairs;
mod cli;
mod equilibrium;
mod events;
mod explore;
mod fuzz_regressions;
mod golden;
mod invariants;
mod library;
mod memory_guard;
mod merge_trust;
mod ownership;
mod parquet;
mod prim;
mod probability_intervals;
mod properties;
mod quantile_accuracy;
mod reactions;
mod reference;
mod scenarios;
mod schema;
mod sensitivity_estimators;
mod series;
mod shards;
mod signals;
mod strict_input;
mod toolbox;
mod value_flow;
