//! `--shard K/N` and `merge`, with the real binary: merged shards equal the unsharded output byte
//! for byte (every file but the machine-dependent `perf` key of the JSON summaries), whatever the
//! number of shards and the order they are given in; incomplete or mismatched sets are refused
//! with a message that names the problem, and nothing is written.

use std::fs;
use std::path::Path;

use crate::common;
use common::{assert_refused, files, l2sim, l2sim_ok, relist, repo};

/// The JSON document without its `perf` key (wall times differ from run to run).
fn without_perf(bytes: &[u8]) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    v.as_object_mut().unwrap().remove("perf");
    v
}

/// `a` and `b` hold the same files with the same bytes; in `summary.json` and `compare.json`
/// everything but `perf` is the same.
fn assert_same_output(a: &Path, b: &Path) {
    let (fa, fb) = (files(a), files(b));
    assert_eq!(
        fa,
        fb,
        "different files in {} and {}",
        a.display(),
        b.display()
    );
    assert!(fa.len() > 3, "{fa:?}");
    // Every run folder's event log is among the files compared byte for byte.
    let count = |name: &str| fa.iter().filter(|f| f.ends_with(name)).count();
    assert_eq!(
        count("events.csv"),
        count("runs.csv"),
        "an events.csv beside every runs.csv in {}",
        a.display()
    );
    for f in fa {
        let (x, y) = (fs::read(a.join(&f)).unwrap(), fs::read(b.join(&f)).unwrap());
        let name = f.file_name().unwrap().to_string_lossy();
        if name == "summary.json" || name == "compare.json" {
            assert_eq!(without_perf(&x), without_perf(&y), "{}", f.display());
        } else if name == ".l2sim-output" {
            // The marker hashes summary.json, whose `perf` differs: the same files are listed.
            let listed = |m: &[u8]| -> Vec<String> {
                String::from_utf8_lossy(m)
                    .lines()
                    .filter_map(|l| l.split_once("  ").map(|(_, n)| n.to_string()))
                    .collect()
            };
            assert_eq!(listed(&x), listed(&y), "{}", f.display());
        } else {
            assert!(x == y, "{} differs", f.display());
        }
    }
}

/// Runs `command` unsharded into `full`, as `n` shards, merges them (given in reverse order)
/// into `merged_n`, and checks both outputs are the same.
fn check_sharded(tmp: &Path, command: &[&str], shard_counts: &[u64]) {
    let mut full: Vec<&str> = command.to_vec();
    full.extend(["--out", "full", "-q"]);
    l2sim_ok(tmp, &full);
    for &n in shard_counts {
        let mut dirs = Vec::new();
        for k in 1..=n {
            let dir = format!("shards{n}/{k}");
            let flag = format!("{k}/{n}");
            let mut args: Vec<&str> = command.to_vec();
            args.extend(["--shard", &flag, "--out", &dir, "-q"]);
            l2sim_ok(tmp, &args);
            dirs.push(dir);
        }
        dirs.reverse();
        let merged = format!("merged{n}");
        let mut args = vec!["merge"];
        args.extend(dirs.iter().map(|s| s.as_str()));
        args.extend(["--out", &merged, "-q"]);
        l2sim_ok(tmp, &args);
        assert_same_output(&tmp.join("full"), &tmp.join(&merged));
    }
}

#[test]
fn sharded_run_merges_to_the_unsharded_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let small = repo("tests/data/small.toml");
    // 100 runs are 4 blocks of 32 (the last short): 3 shards take 1, 1 and 2 blocks; 7 shards
    // leave three empty.
    check_sharded(
        tmp.path(),
        &["run", &small, "--runs", "100", "--save-runs", "--parquet"],
        &[3, 7],
    );
}

#[test]
fn sharded_compare_merges_to_the_unsharded_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (
        repo("tests/data/small.toml"),
        repo("tests/data/small_fast_zk.toml"),
    );
    check_sharded(tmp.path(), &["compare", &a, &b, "--runs", "70"], &[3]);
}

#[test]
fn sharded_sweep_merges_to_the_unsharded_bytes() {
    // 6 points × 3 blocks = 18 (point, block) units: 5 shards cut points in the middle, 20 leave
    // two empty. Differences against point 0 (in sweep.csv) and the points' runs.csv
    // (--save-runs) are merged too.
    let tmp = tempfile::tempdir().unwrap();
    let sweep = repo("tests/data/small_sweep_2d.toml");
    check_sharded(
        tmp.path(),
        &["sweep", &sweep, "--runs", "70", "--save-runs", "--parquet"],
        &[3, 5, 20],
    );
}

#[test]
fn sharded_sensitivity_and_discovery_merge_to_the_unsharded_bytes() {
    // 80 Sobol points × 2 blocks (40 runs) and 24 Latin-hypercube points × 2 blocks: shards cut
    // the design between and inside points; the indices, the bootstrap intervals, PRIM's
    // trajectory and its box come out of the merge bit for bit (sensitivity.csv, discovery.csv,
    // their JSON, design.csv, the charts).
    let tmp = tempfile::tempdir().unwrap();
    let sobol = repo("tests/data/small_sobol.toml");
    check_sharded(
        tmp.path(),
        &[
            "sensitivity",
            &sobol,
            "--runs",
            "40",
            "--metric",
            "zk_share_of_l2",
        ],
        &[3],
    );
    let tmp = tempfile::tempdir().unwrap();
    let lhs = repo("tests/data/small_lhs.toml");
    check_sharded(tmp.path(), &["discover", &lhs, "--runs", "40"], &[4]);
    // A shard's summary line names the exploration, not the sweep underneath.
    for (command, scenario) in [("sensitivity", &sobol), ("discover", &lhs)] {
        let o = l2sim_ok(
            tmp.path(),
            &[
                command, scenario, "--runs", "2", "--shard", "1/2", "--out", command, "-q",
            ],
        );
        let line = String::from_utf8_lossy(&o.stdout);
        assert!(
            line.starts_with(&format!("shard 1/2 of {command} ")),
            "{line}"
        );
    }
}

#[test]
fn merge_refuses_incomplete_or_mismatched_shard_sets() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let small = repo("tests/data/small.toml");
    let fast = repo("tests/data/small_fast_zk.toml");
    let shard = |flag: &str, out: &str, extra: &[&str]| {
        let runs = if extra.contains(&"--runs") {
            &[][..]
        } else {
            &["--runs", "100"][..]
        };
        let mut args = vec!["run", &small];
        args.extend(runs);
        args.extend(["--shard", flag, "--out", out, "-q"]);
        args.extend(extra);
        l2sim_ok(t, &args);
    };
    for k in 1..=4 {
        shard(&format!("{k}/4"), &format!("s{k}"), &[]);
    }
    assert_refused(t, &["s1", "s3"], "missing shards 2, 4 of 4");
    let o = l2sim(t, &["merge", "--check", "s1", "s3"]);
    assert_eq!(o.status.code(), Some(2), "--check fails an incomplete set");
    assert_refused(
        t,
        &["s1", "s2", "s2", "s3", "s4"],
        "shard 2/4 is given twice",
    );
    shard("2/4", "seed2", &["--seed", "8"]);
    assert_refused(
        t,
        &["s1", "seed2", "s3", "s4"],
        "the seed is 7 in s1 but 8 in seed2",
    );
    shard("2/5", "n5", &[]);
    assert_refused(t, &["s1", "n5", "s3", "s4"], "the number of shards N is 4");
    shard("2/4", "runs", &["--runs", "101"]);
    assert_refused(t, &["s1", "runs", "s3", "s4"], "the number of runs is 100");
    l2sim_ok(
        t,
        &[
            "run", &fast, "--runs", "100", "--shard", "2/4", "--out", "other", "-q",
        ],
    );
    assert_refused(
        t,
        &["s1", "other", "s3", "s4"],
        "the scenario is small (sha256",
    );
    l2sim_ok(
        t,
        &[
            "compare", &small, &fast, "--runs", "100", "--shard", "2/4", "--out", "cmp", "-q",
        ],
    );
    assert_refused(
        t,
        &["s1", "cmp", "s3", "s4"],
        "the command is run in s1 but compare in cmp",
    );
    fs::create_dir(t.join("empty")).unwrap();
    assert_refused(
        t,
        &["s1", "s2", "s3", "empty"],
        "not a shard folder (no shard.json)",
    );

    // A shard edited or cut short after it ran, its manifest's file list rewritten to match
    // (tests/merge_trust.rs checks that list): the checks behind it.
    for k in 1..=4 {
        fs::create_dir_all(t.join(format!("bad{k}"))).unwrap();
        for f in files(&t.join(format!("s{k}"))) {
            fs::copy(
                t.join(format!("s{k}")).join(&f),
                t.join(format!("bad{k}")).join(&f),
            )
            .unwrap();
        }
    }
    let toml = t.join("bad3/scenario.resolved.toml");
    let text = fs::read_to_string(&toml).unwrap();
    fs::write(
        &toml,
        text.replacen("horizon_days = 120", "horizon_days = 121", 1),
    )
    .unwrap();
    relist(&t.join("bad3"));
    // Whether the edited shard comes first (its scenario is loaded) or not.
    for set in [["bad3", "s1", "s2", "s4"], ["s3", "s1", "s2", "bad3"]] {
        assert_refused(t, &set, "changed after the shard was run");
    }
    let blocks = t.join("bad4/blocks.bin");
    let bytes = fs::read(&blocks).unwrap();
    fs::write(&blocks, &bytes[..bytes.len() - 100]).unwrap();
    relist(&t.join("bad4"));
    assert_refused(
        t,
        &["s1", "s2", "s3", "bad4"],
        "blocks.bin: truncated or damaged",
    );
    // One flipped bit in the CRC-32C of the last data frame (frames: a type byte, a 3-byte
    // little-endian length, then the CRC and the data; the first, 10 bytes, names the format):
    // the data decompress, the checksum catches it.
    let mut flipped = bytes.clone();
    assert_eq!(&flipped[..10], b"\xff\x06\x00\x00sNaPpY");
    let (mut at, mut last) = (10, None);
    while at + 4 <= flipped.len() {
        let len = u32::from_le_bytes([flipped[at + 1], flipped[at + 2], flipped[at + 3], 0]);
        last = Some(at);
        at += 4 + len as usize;
    }
    assert_eq!(at, flipped.len(), "blocks.bin is a whole number of frames");
    let last = last.expect("at least one data frame");
    assert!(
        last > 10,
        "more than one data frame, so the header is read before the damage"
    );
    flipped[last + 4] ^= 0x10;
    fs::write(&blocks, &flipped).unwrap();
    relist(&t.join("bad4"));
    assert_refused(t, &["s1", "s2", "s3", "bad4"], "bad checksum");
    // A blocks.bin that ends cleanly after its header: no block at all.
    let mut empty = snap::write::FrameEncoder::new(Vec::new());
    std::io::Write::write_all(&mut empty, b"L2SIMBLK").unwrap();
    fs::write(&blocks, empty.into_inner().unwrap()).unwrap();
    relist(&t.join("bad4"));
    assert_refused(t, &["s1", "s2", "s3", "bad4"], "the shard is incomplete");
    fs::write(&blocks, &bytes).unwrap();
    // A partial.bin from another batch of the same scenario file (other layout) or damaged.
    let partial = t.join("bad4/partial.bin");
    let good = fs::read(&partial).unwrap();
    fs::write(&partial, &good[..good.len() / 2]).unwrap();
    relist(&t.join("bad4"));
    assert_refused(
        t,
        &["s1", "s2", "s3", "bad4"],
        "partial.bin: corrupt or foreign",
    );
    fs::copy(t.join("cmp/partial.bin"), &partial).unwrap();
    relist(&t.join("bad4"));
    assert_refused(t, &["s1", "s2", "s3", "bad4"], "do not have the shape");

    // The complete set still merges, named one by one or by the folder that holds it.
    l2sim_ok(
        t,
        &[
            "merge",
            "s4",
            "s3",
            "s2",
            "s1",
            "--out",
            "good",
            "-q",
            "--no-plots",
        ],
    );
    assert!(t.join("good/summary.json").is_file());
    fs::create_dir(t.join("set")).unwrap();
    for k in 1..=4 {
        fs::rename(t.join(format!("s{k}")), t.join(format!("set/s{k}"))).unwrap();
    }
    // --check reads everything, says the set is complete and writes nothing.
    let o = l2sim(t, &["merge", "--check", "set", "--out", "checked"]);
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && said.starts_with("complete: 4 shards of `run` small"),
        "{said}"
    );
    assert!(!t.join("checked").exists());
    l2sim_ok(t, &["merge", "set", "--out", "good2", "-q", "--no-plots"]);
    assert_eq!(
        fs::read(t.join("good/quantiles.csv")).unwrap(),
        fs::read(t.join("good2/quantiles.csv")).unwrap()
    );
}

/// Records every block's moments, as a shard does in `blocks.bin`.
#[derive(Default)]
struct Recorder {
    blocks: Vec<(u64, Vec<l2sim::batch::Moments>)>,
}

impl l2sim::batch::Sink for Recorder {
    fn run(&mut self, _: &[l2sim::engine::RunOutput]) -> anyhow::Result<()> {
        Ok(())
    }
    fn end_block(&mut self, block: u64, m: &[l2sim::batch::Moments]) -> anyhow::Result<()> {
        self.blocks.push((block, m.to_vec()));
        Ok(())
    }
}

mod merge_property {
    use l2sim::batch::{self, BatchConfig, Blocked, Shard};
    use l2sim::engine::Keep;
    use proptest::prelude::*;

    use super::Recorder;
    use crate::common;

    proptest! {
        // Fixed generator seed: the same cases in every CI run.
        #![proptest_config(ProptestConfig {
            cases: 24,
            rng_seed: proptest::test_runner::RngSeed::Fixed(20251125),
            ..ProptestConfig::default()
        })]

        /// For any number of runs, shards and threads, the shards' statistics, with their
        /// recorded blocks folded in block order, equal the single batch's exactly (every moment
        /// and sketch).
        #[test]
        fn shards_fold_to_the_single_batch(
            runs in 1u64..140,
            n in 1u64..9,
            seed in any::<u64>(),
            // 20 threads make chunks of 40 runs that span blocks.
            threads in prop::sample::select(vec![1usize, 2, 20]),
            shard_threads in prop::sample::select(vec![1usize, 2, 20]),
        ) {
            let text = common::with(&common::with(common::SMALL, "horizon_days", "15"), "agents", "60");
            let sc = common::scenario(&text);
            let cfg = |shard: Option<Shard>| BatchConfig {
                runs,
                blocks: shard.map(|s| s.blocks(runs)),
                seed,
                threads: Some(if shard.is_some() { shard_threads } else { threads }),
                keep: Keep::Trajectory,
                cancel: None,
            };
            let mut whole_rec = Recorder::default();
            let whole = batch::run_paired(&[&sc], &cfg(None), &|_| {}, &mut whole_rec).unwrap().remove(0);
            let mut merged: Option<batch::BatchResult> = None;
            let mut blocks = Vec::new();
            for k in 1..=n {
                let mut rec = Recorder::default();
                let part = batch::run_paired(&[&sc], &cfg(Some(Shard { index: k, count: n })), &|_| {}, &mut rec)
                    .unwrap()
                    .remove(0);
                blocks.extend(rec.blocks);
                match merged.as_mut() {
                    None => merged = Some(part),
                    Some(m) => m.merge_shard(&part),
                }
            }
            let mut merged = merged.unwrap();
            merged.clear_moments();
            for (i, (b, m)) in blocks.iter().enumerate() {
                prop_assert_eq!(*b, i as u64, "blocks come in order");
                prop_assert_eq!(merged.fold_block(m), m.len());
            }
            prop_assert_eq!(merged.runs, whole.runs);
            prop_assert_eq!(&merged.cells, &whole.cells);
            prop_assert_eq!(&merged.run_stats, &whole.run_stats);
            prop_assert_eq!(merged.conservation_error_max, whole.conservation_error_max);
            prop_assert_eq!(merged.decisions, whole.decisions);
            prop_assert_eq!(whole_rec.blocks.len() as u64, runs.div_ceil(32));
        }
    }
}
