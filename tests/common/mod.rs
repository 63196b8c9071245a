//! Helpers shared by the integration tests: scenarios from text, runs, and paired statistics.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use l2sim::engine::{self, Layout, RunOutput};
use l2sim::scenario::Scenario;

pub const SMALL: &str = include_str!("../data/small.toml");

pub fn scenario(text: &str) -> Scenario {
    match Scenario::from_toml_str(text, Path::new("test.toml")) {
        Ok(s) => s,
        Err(e) => panic!("test scenario does not validate:\n{e}"),
    }
}

/// `text` with the first line starting `key =` replaced by `key = value` (top level or first
/// occurrence), for one-line scenario variations.
pub fn with(text: &str, key: &str, value: &str) -> String {
    let mut done = false;
    text.lines()
        .map(|l| {
            if !done && l.trim_start().starts_with(&format!("{key} =")) {
                done = true;
                format!("{key} = {value}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Runs `runs` runs of a scenario.
pub fn runs(sc: &Scenario, seed: u64, runs: u64) -> (Layout, Vec<RunOutput>) {
    let layout = Layout::new(sc);
    let outs = (0..runs)
        .map(|r| engine::simulate(sc, &layout, seed, r))
        .collect();
    (layout, outs)
}

/// Value of cell `column` (e.g. `tvl_usd.zk`, `l2_share`) at the last sample of a run.
pub fn final_value(layout: &Layout, out: &RunOutput, column: &str) -> f64 {
    let i = layout
        .cells
        .iter()
        .position(|c| c.column() == column)
        .unwrap_or_else(|| panic!("no cell {column}"));
    out.final_sample(layout)[i]
}

/// Trajectory of cell `column` over the samples of a run.
pub fn trajectory(layout: &Layout, out: &RunOutput, column: &str) -> Vec<f64> {
    let i = layout
        .cells
        .iter()
        .position(|c| c.column() == column)
        .unwrap_or_else(|| panic!("no cell {column}"));
    let n = layout.n_cells();
    (0..layout.sample_days.len())
        .map(|k| out.samples[k * n + i])
        .collect()
}

/// Mean and standard error of the mean.
pub fn mean_sem(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// Runs the real binary in `dir`.
pub fn l2sim(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_l2sim"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the l2sim binary runs")
}

/// Runs the real binary in `dir` and checks that it succeeded (else fails with its stderr).
pub fn l2sim_ok(dir: &Path, args: &[&str]) -> Output {
    let o = l2sim(dir, args);
    assert!(
        o.status.success(),
        "l2sim {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Every row of a CSV file as a map from column name to cell.
pub fn csv_rows(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .map(String::from)
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect()
}

/// A path inside the repository.
pub fn repo(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

/// Every file under `dir`, relative to it, sorted.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for e in fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// `merge args` must exit 2 with `expect` in its message and write nothing at `out`.
pub fn assert_refused(tmp: &Path, args: &[&str], expect: &str) {
    let mut full = vec!["merge"];
    full.extend(args);
    full.extend(["--out", "refused", "-q"]);
    let o = l2sim(tmp, &full);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(
        err.contains(expect),
        "{args:?}: expected {expect:?} in {err}"
    );
    assert!(!tmp.join("refused").exists(), "{args:?} wrote an output");
    let leftovers: Vec<_> = fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Rewrites the file list of `dir/shard.json` to match the files now in `dir` (sizes and
/// SHA-256, computed here, not by l2sim), as someone forging a shard would: what `merge` checks
/// beyond the checksums.
pub fn relist(dir: &Path) {
    use sha2::Digest;
    let path = dir.join("shard.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    let listed: Vec<serde_json::Value> = files(dir)
        .iter()
        .filter(|f| *f != Path::new("shard.json") && *f != Path::new(".l2sim-output"))
        .map(|f| {
            let bytes = fs::read(dir.join(f)).unwrap();
            let sha: String = sha2::Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            serde_json::json!({
                "path": f.to_string_lossy(),
                "bytes": bytes.len(),
                "sha256": sha,
            })
        })
        .collect();
    m["files"] = listed.into();
    fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
}
