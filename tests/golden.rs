//! The golden hash: a digest of every result a small scenario gives at 8 runs (issue 17). Any
//! change of results, however small, changes it; a commit that changes it on purpose updates
//! `GOLDEN` below and says why (a model change, or an optimisation with a documented precision),
//! so that no change of results goes unseen. Machine-dependent figures (`perf` in
//! `summary.json`) and the files that only describe the folder (the marker listing hashes,
//! `report.html`, charts) are left out.

use std::fs;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::common;
use common::{files, l2sim_ok, repo};

/// SHA-256 of the result files of `l2sim run tests/data/small.toml --runs 8 --seed 3`, in path
/// order. Updated on purpose only (the commit says why).
const GOLDEN: &str = "66d25e65a48b9926d6bc613eb73de1d1505f219829ec40cc8c265f7a4a1fc7aa";

fn digest(dir: &Path) -> String {
    let mut h = Sha256::new();
    for f in files(dir) {
        let name = f.to_string_lossy().replace('\\', "/");
        if name.starts_with("charts/") || name == "report.html" || name == ".l2sim-output" {
            continue;
        }
        let bytes = fs::read(dir.join(&f)).unwrap();
        let bytes = if name == "summary.json" {
            let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            v.as_object_mut().unwrap().remove("perf");
            serde_json::to_vec(&v).unwrap()
        } else {
            bytes
        };
        h.update(name.as_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn the_results_of_a_small_scenario_match_the_golden_hash() {
    let tmp = tempfile::tempdir().unwrap();
    let small = repo("tests/data/small.toml");
    l2sim_ok(
        tmp.path(),
        &[
            "run", &small, "--runs", "8", "--seed", "3", "--out", "g", "-q",
        ],
    );
    let dir = tmp.path().join("g");
    // The files the digest covers: every table and the summary.
    for f in [
        "runs.csv",
        "quantiles.csv",
        "events.csv",
        "summary.json",
        "scenario.resolved.toml",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    let got = digest(&dir);
    assert_eq!(
        got, GOLDEN,
        "the results of tests/data/small.toml at 8 runs changed: if on purpose, set GOLDEN to {got} and say why in the commit"
    );
}
