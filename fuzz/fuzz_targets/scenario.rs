//! Fuzz target: any bytes as a scenario file. Parsing and validation must never panic; a
//! scenario that validates and is small is also simulated for one run, which must not panic
//! and must conserve capital.
#![no_main]

use std::path::Path;

use l2sim::engine::{Keep, Layout, simulate_keeping};
use l2sim::scenario::Scenario;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(sc) = Scenario::from_toml_str(text, Path::new("fuzz.toml")) else { return };
    let agents: u64 = sc.segments.iter().map(|s| s.agents as u64).sum();
    if agents <= 200 && sc.horizon_days <= 60.0 && sc.sample_every_days >= 0.5 {
        let layout = Layout::new(&sc);
        let out = simulate_keeping(&sc, &layout, 1, 0, Keep::Final, None);
        assert!(out.samples.iter().all(|x| x.is_finite()));
        assert!(out.conservation_error_max < 1e-6, "conservation error {}", out.conservation_error_max);
    }
});
