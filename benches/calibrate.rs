//! The calibration benchmark of docs/PERFORMANCE.md: three parameters of `history_2022.toml`
//! (`benches/history_calibrate_3.toml`),
//! a budget of 200 evaluations × 20 runs, timed once (a 15-minute target is not something to
//! repeat ten times as criterion would). `cargo bench --bench calibrate`; set
//! `L2SIM_BENCH_BUDGET` for a shorter check. Prints the wall time, the time per evaluation and
//! the result, so that the figure in docs/PERFORMANCE.md can be reproduced.

use std::path::Path;
use std::time::Instant;

use l2sim::app::{CalibrateOptions, Calibration, Control};

fn main() {
    // `cargo bench` passes `--bench`; a filter that does not name this benchmark skips it.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if args
        .iter()
        .any(|a| !"calibrate_history_3_parameters".contains(a.as_str()))
    {
        return;
    }
    let budget = std::env::var("L2SIM_BENCH_BUDGET")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(200);
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/history_calibrate_3.toml");
    let options = CalibrateOptions {
        runs: Some(20),
        budget: Some(budget),
        plots: false,
        ..CalibrateOptions::default()
    };
    let cal = Calibration::new(&file, options).expect("the benchmark scenario is valid");
    let started = Instant::now();
    let found = cal
        .execute(&Control::silent())
        .expect("the calibration runs");
    let wall = started.elapsed().as_secs_f64();
    let r = &found.report;
    let all = r.evaluations + r.profile_evaluations + 1;
    println!(
        "calibrate_history_3_parameters: {wall:.1} s for {} evaluations + {} profile points + the rerun of the best, × {} runs ({:.2} s per evaluation), {} threads; stopped: {}; loss {}",
        r.evaluations,
        r.profile_evaluations,
        r.runs,
        wall / all as f64,
        l2sim::batch::default_threads(),
        r.stopped,
        r.loss_in_sample
    );
}
