//! Replays every input kept in `tests/fuzz_regressions/` (findings of `scripts/fuzz.sh`, and
//! hand-written edge cases): parsing, validation and, for small valid scenarios, one run must
//! neither panic nor produce a non-finite number.

use std::path::Path;

use l2sim::engine::{Keep, Layout, simulate_keeping};
use l2sim::scenario::Scenario;

#[test]
fn kept_fuzz_inputs_neither_panic_nor_misbehave() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let bytes = std::fs::read(entry.path()).unwrap();
        n += 1;
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        let Ok(sc) = Scenario::from_toml_str(text, &entry.path()) else {
            continue;
        };
        let agents: u64 = sc.segments.iter().map(|s| s.agents as u64).sum();
        if agents <= 200 && sc.horizon_days <= 60.0 && sc.sample_every_days >= 0.5 {
            let out = simulate_keeping(&sc, &Layout::new(&sc), 1, 0, Keep::Final, None);
            assert!(
                out.samples.iter().all(|x| x.is_finite()),
                "{}",
                entry.path().display()
            );
            assert!(
                out.conservation_error_max < 1e-6,
                "{}",
                entry.path().display()
            );
        }
    }
    assert!(n >= 3, "the regression corpus is missing");
}
