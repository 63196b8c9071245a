//! Issue 14, "trust no file you read": `merge` and `plot` with the real binary on files damaged,
//! swapped, forged or pointed elsewhere. Every case must exit 2 with a message naming the file
//! (and the field or column), write nothing, and never be merged or drawn silently.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use crate::common;
use common::{assert_refused, files, l2sim, l2sim_ok, relist, repo};

/// Writes shards `1..=n` of `command` into `dir/s1` … `dir/sN`.
fn shards(dir: &Path, command: &[&str], n: u64, prefix: &str) {
    for k in 1..=n {
        let (flag, out) = (format!("{k}/{n}"), format!("{prefix}{k}"));
        let mut args = command.to_vec();
        args.extend(["--shard", &flag, "--out", &out, "-q"]);
        l2sim_ok(dir, &args);
    }
}

/// Copies folder `from` to `to` (which must not exist), every file.
fn copy_dir(from: &Path, to: &Path) {
    for f in files(from) {
        let dest = to.join(&f);
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        fs::copy(from.join(&f), dest).unwrap();
    }
}

/// `dir/shard.json` as JSON, changed by `edit`, written back.
fn edit_manifest(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join("shard.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut m);
    fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
}

/// A small run cut into 3 shards `s1..s3` (100 runs: blocks 0, 1 and 2–3), with trajectories.
fn run_shards(t: &Path) {
    let small = repo("tests/data/small.toml");
    shards(t, &["run", &small, "--runs", "100", "--save-runs"], 3, "s");
}

/// The two scenarios compared in these tests.
fn compare_pair() -> (String, String) {
    (
        repo("tests/data/small.toml"),
        repo("tests/data/small_fast_zk.toml"),
    )
}

#[test]
fn a_flipped_bit_or_a_cut_in_any_file_of_a_shard_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    run_shards(t);
    for name in [
        "runs.csv",
        "trajectories.csv",
        "blocks.bin",
        "partial.bin",
        "scenario.resolved.toml",
    ] {
        let good = fs::read(t.join("s2").join(name)).unwrap();
        // One flipped bit in the middle: same size, other bytes.
        let mut flipped = good.clone();
        flipped[good.len() / 2] ^= 0x04;
        fs::write(t.join("s2").join(name), &flipped).unwrap();
        let expect = format!("s2/{name}: its SHA-256 differs from shard.json's");
        assert_refused(t, &["s1", "s2", "s3"], &expect);
        let o = l2sim(t, &["merge", "--check", "s1", "s2", "s3"]);
        assert_eq!(o.status.code(), Some(2), "--check passes a flipped bit");
        assert!(String::from_utf8_lossy(&o.stderr).contains(&expect));
        // Cut at a line end, as a copy interrupted between two rows would leave a CSV.
        let cut = good[..good.len() / 2]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(good.len() / 2, |i| i + 1);
        fs::write(t.join("s2").join(name), &good[..cut]).unwrap();
        let expect = format!("s2/{name}: {cut} bytes, but shard.json says {}", good.len());
        assert_refused(t, &["s1", "s2", "s3"], &expect);
        fs::write(t.join("s2").join(name), &good).unwrap();
    }
    // A file added to the folder, a listed one removed.
    fs::write(t.join("s3/notes.txt"), "mine").unwrap();
    assert_refused(
        t,
        &["s1", "s2", "s3"],
        "s3/notes.txt: not listed in shard.json",
    );
    fs::remove_file(t.join("s3/notes.txt")).unwrap();
    let traj = fs::read(t.join("s3/trajectories.csv")).unwrap();
    fs::remove_file(t.join("s3/trajectories.csv")).unwrap();
    assert_refused(
        t,
        &["s1", "s2", "s3"],
        "s3/trajectories.csv: listed in shard.json but missing",
    );
    fs::write(t.join("s3/trajectories.csv"), traj).unwrap();
    // A link, which could point anywhere, is not a file l2sim wrote.
    std::os::unix::fs::symlink(t.join("s1/runs.csv"), t.join("s3/link.csv")).unwrap();
    assert_refused(t, &["s1", "s2", "s3"], "s3/link.csv: not a regular file");
    fs::remove_file(t.join("s3/link.csv")).unwrap();
    l2sim_ok(t, &["merge", "--check", "s1", "s2", "s3"]);

    // A file in a compare shard's sub-folder.
    let (a, b) = compare_pair();
    shards(t, &["compare", &a, &b, "--runs", "70"], 2, "c");
    let runs = t.join("c2/B_small_fast_zk/runs.csv");
    let mut bytes = fs::read(&runs).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 0x01;
    fs::write(&runs, bytes).unwrap();
    assert_refused(
        t,
        &["c1", "c2"],
        "c2/B_small_fast_zk/runs.csv: its SHA-256 differs",
    );
}

#[test]
fn runs_csv_swapped_between_two_shards_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    run_shards(t);
    // Shards 1 and 2 hold 32 runs each: their runs.csv have the same header and row count but
    // different run numbers, so their sizes differ and the size check refuses them first
    // (merged, run 32 would come before run 0).
    fs::rename(t.join("s1/runs.csv"), t.join("runs1.csv")).unwrap();
    fs::rename(t.join("s2/runs.csv"), t.join("s1/runs.csv")).unwrap();
    fs::rename(t.join("runs1.csv"), t.join("s2/runs.csv")).unwrap();
    let cut = "bytes, but shard.json says";
    assert_refused(t, &["s1", "s2", "s3"], "s1/runs.csv: ");
    assert_refused(t, &["s1", "s2", "s3"], cut);
    let o = l2sim(t, &["merge", "--check", "s3", "s2", "s1"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("runs.csv: ") && err.contains(cut), "{err}");
}

#[test]
fn merge_never_writes_over_inside_or_around_its_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    run_shards(t);
    let before: Vec<Vec<u8>> = files(&t.join("s2"))
        .iter()
        .map(|f| fs::read(t.join("s2").join(f)).unwrap())
        .collect();
    std::os::unix::fs::symlink(t.join("s2"), t.join("alias")).unwrap();
    let abs_s2 = t.join("s2").to_string_lossy().into_owned();
    for (out, how, input) in [
        ("s2", "is the input folder", "s2"),
        ("./s2/", "is the input folder", "s2"),
        ("s1/../s2", "is the input folder", "s2"),
        (abs_s2.as_str(), "is the input folder", "s2"),
        ("alias", "is the input folder", "s2"),
        ("s2/merged", "is inside the input folder", "s2"),
        ("nowhere/../s2/x", "is inside the input folder", "s2"),
        (".", "holds the input folder", "s1"),
    ] {
        let o = l2sim(t, &["merge", "s1", "s2", "s3", "--out", out, "-q"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "--out {out}: {err}");
        let expect = format!("--out {out} {how} {input}");
        assert!(
            err.contains(&expect),
            "--out {out}: expected {expect:?} in {err}"
        );
    }
    let after: Vec<Vec<u8>> = files(&t.join("s2"))
        .iter()
        .map(|f| fs::read(t.join("s2").join(f)).unwrap())
        .collect();
    assert!(before == after, "a refused merge changed shard s2");
    assert!(!t.join("s2/merged").exists() && !t.join("s2/x").exists());
    // A folder holding the shards is an input too.
    fs::create_dir(t.join("set")).unwrap();
    for k in 1..=3 {
        fs::rename(t.join(format!("s{k}")), t.join(format!("set/s{k}"))).unwrap();
    }
    let o = l2sim(t, &["merge", "set", "--out", "set/merged", "-q"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("--out set/merged is inside the input folder set")
    );
    l2sim_ok(t, &["merge", "set", "--out", "merged", "-q", "--no-plots"]);
}

#[test]
fn paths_in_shard_json_that_leave_the_shard_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (a, b) = compare_pair();
    shards(t, &["compare", &a, &b, "--runs", "70"], 2, "c");
    // A copy outside the shard: reading it instead would pass every hash of the scenario.
    copy_dir(&t.join("c1"), &t.join("elsewhere"));
    let outside = t.join("elsewhere/A_small").to_string_lossy().into_owned();
    for (field, value) in [
        ("dirs", "../elsewhere/A_small"),
        ("dirs", outside.as_str()),
        ("dirs", "A_small/../A_small"),
        ("dirs", "./A_small"),
        ("dirs", ""),
    ] {
        copy_dir(&t.join("c1"), &t.join("forged"));
        edit_manifest(&t.join("forged"), |m| m[field][0] = value.into());
        assert_refused(
            t,
            &["forged", "c2"],
            &format!("forged/shard.json: field `dirs[0]` is {value:?}"),
        );
        fs::remove_dir_all(t.join("forged")).unwrap();
    }
    for value in [
        "../c2/A_small/runs.csv",
        "/etc/hostname",
        "A_small/./runs.csv",
    ] {
        copy_dir(&t.join("c1"), &t.join("forged"));
        edit_manifest(&t.join("forged"), |m| m["files"][0]["path"] = value.into());
        assert_refused(
            t,
            &["forged", "c2"],
            &format!("forged/shard.json: field `files[0].path` is {value:?}"),
        );
        fs::remove_dir_all(t.join("forged")).unwrap();
    }
    // Sub-folders that exist but are not the scenarios' own.
    copy_dir(&t.join("c1"), &t.join("forged"));
    fs::rename(t.join("forged/A_small"), t.join("forged/A_other")).unwrap();
    relist(&t.join("forged"));
    edit_manifest(&t.join("forged"), |m| m["dirs"][0] = "A_other".into());
    assert_refused(
        t,
        &["forged", "c2"],
        "forged/shard.json: field `dirs` is [\"A_other\", \"B_small_fast_zk\"], but the scenarios' sub-folders are [\"A_small\", \"B_small_fast_zk\"]",
    );
}

/// `blocks.bin` decoded into its records (group, block, moments as raw bytes).
fn read_blocks(path: &Path) -> Vec<(u64, u64, Vec<u8>)> {
    let mut bytes = Vec::new();
    snap::read::FrameDecoder::new(fs::File::open(path).unwrap())
        .read_to_end(&mut bytes)
        .unwrap();
    assert_eq!(&bytes[..8], b"L2SIMBLK");
    let word = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap());
    let (mut out, mut i) = (Vec::new(), 8);
    while i < bytes.len() {
        let (group, block, n) = (word(i), word(i + 8), word(i + 16) as usize);
        out.push((group, block, bytes[i + 24..i + 24 + 24 * n].to_vec()));
        i += 24 + 24 * n;
    }
    out
}

fn write_blocks(path: &Path, blocks: &[(u64, u64, Vec<u8>)]) {
    let mut w = snap::write::FrameEncoder::new(Vec::new());
    w.write_all(b"L2SIMBLK").unwrap();
    for (group, block, moments) in blocks {
        w.write_all(&group.to_le_bytes()).unwrap();
        w.write_all(&block.to_le_bytes()).unwrap();
        w.write_all(&(moments.len() as u64 / 24).to_le_bytes())
            .unwrap();
        w.write_all(moments).unwrap();
    }
    fs::write(path, w.into_inner().unwrap()).unwrap();
}

#[test]
fn every_field_of_shard_json_is_checked_before_use() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    run_shards(t);
    let set = ["f1", "s2", "s3"];
    let forged = |edit: &dyn Fn(&mut serde_json::Value), expect: &str| {
        copy_dir(&t.join("s1"), &t.join("f1"));
        edit_manifest(&t.join("f1"), edit);
        assert_refused(t, &set, &format!("f1/shard.json: {expect}"));
        let o = l2sim(t, &["merge", "--check", "f1", "s2", "s3"]);
        assert_eq!(o.status.code(), Some(2), "--check: {expect}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(&format!("f1/shard.json: {expect}")),
            "--check: {err}"
        );
        fs::remove_dir_all(t.join("f1")).unwrap();
    };
    forged(
        &|m| m["shard"] = 0.into(),
        "field `shard` is 0: must be 1 to `shards` (3)",
    );
    forged(&|m| m["shard"] = 4.into(), "field `shard` is 4");
    forged(
        &|m| m["shards"] = 0.into(),
        "field `shards` is 0: must be 1 to 100000",
    );
    forged(
        &|m| m["shards"] = 1_000_000_000_000_000u64.into(),
        "field `shards` is 1000000000000000",
    );
    forged(
        &|m| m["units"] = serde_json::json!([0, 2]),
        "field `units` is [0, 2]: must be [0, 1]",
    );
    forged(
        &|m| m["units"] = serde_json::json!([5, 1]),
        "field `units` is [5, 1]: must be [0, 1]",
    );
    // Unit numbers depend on it; on its own it used to pass unnoticed.
    forged(
        &|m| m["blocks_per_group"] = 5.into(),
        "field `blocks_per_group` is 5, but 100 runs make 4 blocks",
    );
    forged(
        &|m| m["blocks_per_group"] = u64::MAX.into(),
        "field `blocks_per_group`",
    );
    forged(
        &|m| m["groups"] = 0.into(),
        "field `groups` is 0: must be 1 for `run`",
    );
    forged(&|m| m["runs"] = 0.into(), "field `runs` is 0");
    forged(
        &|m| m["dirs"] = serde_json::json!(["A_small"]),
        "field `dirs` has 1 entries",
    );
    forged(
        &|m| m["scenarios"] = serde_json::json!([]),
        "field `scenarios` has 0 names",
    );
    forged(
        &|m| m["shard"] = "1".into(),
        "not a shard manifest: invalid type: string",
    );
    forged(
        &|m| {
            let f = m["files"][1].clone();
            m["files"].as_array_mut().unwrap().push(f);
        },
        // The shard lists seven files (blocks.bin, events.csv, partial.bin, ...): the copy of
        // the second is the eighth.
        "field `files[7].path`: \"events.csv\" is listed twice",
    );
    // A shard of the layout before checksums: a clear message, not "missing field".
    forged(
        &|m| {
            m["format"] = 2.into();
            m.as_object_mut().unwrap().remove("files");
        },
        "field `format` is 2: a shard folder of layout version 2 (written by l2sim 0.1.0), but this l2sim (0.1.0) reads version 4 only (older shards do not record their files' checksums); run the shard again",
    );
    forged(
        &|m| {
            m.as_object_mut().unwrap().remove("format");
        },
        "field `format`: missing",
    );
    // A shard of the previous layout (dense sketches): refused, saying why.
    forged(
        &|m| {
            m["format"] = 3.into();
        },
        "field `format` is 3: a shard folder of layout version 3 (written by l2sim 0.1.0), but this l2sim (0.1.0) reads version 4 only (version 3 shards keep dense quantile sketches and no per-run values); run the shard again",
    );
    // Fields that agree with each other but not with the scenario files the shards hold,
    // forged in every shard alike.
    for (field, value, expect) in [
        (
            "scenarios",
            serde_json::json!(["big"]),
            "field `scenarios` is [\"big\"], but the shard's scenario files are named [\"small\"]",
        ),
        (
            "seed",
            serde_json::json!(8),
            "fields `runs` and `seed` are 100 and 8, but scenario small has 100 runs, seed 7",
        ),
    ] {
        for k in 1..=3 {
            copy_dir(&t.join(format!("s{k}")), &t.join(format!("f{k}")));
            edit_manifest(&t.join(format!("f{k}")), |m| m[field] = value.clone());
        }
        assert_refused(t, &["f3", "f1", "f2"], &format!("f1/shard.json: {expect}"));
        for k in 1..=3 {
            fs::remove_dir_all(t.join(format!("f{k}"))).unwrap();
        }
    }
}

#[test]
fn a_forged_shard_that_skips_a_block_is_refused() {
    // Shard 3 of 3 covers blocks 2 and 3. A forged one with only block 3, its units and file
    // list rewritten to match, left a hole of 32 runs in the merged statistics.
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    run_shards(t);
    let blocks = read_blocks(&t.join("s3/blocks.bin"));
    assert_eq!(blocks.iter().map(|b| b.1).collect::<Vec<_>>(), [2, 3]);
    write_blocks(&t.join("s3/blocks.bin"), &blocks[1..]);
    relist(&t.join("s3"));
    edit_manifest(&t.join("s3"), |m| m["units"] = serde_json::json!([3, 4]));
    assert_refused(
        t,
        &["s1", "s2", "s3"],
        "s3/shard.json: field `units` is [3, 4]: must be [2, 4] for shard 3 of 3 of 4 units",
    );
}

#[test]
fn a_forged_partial_with_no_results_is_refused_not_a_panic() {
    // Every shard's partial.bin without results and every block without moments, consistently
    // forged and relisted: the statistics no longer fit the scenario (this panicked, exit 101).
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    run_shards(t);
    for k in 1..=3 {
        let dir = t.join(format!("s{k}"));
        let mut bytes = Vec::new();
        snap::read::FrameDecoder::new(fs::File::open(dir.join("partial.bin")).unwrap())
            .read_to_end(&mut bytes)
            .unwrap();
        let mut p: l2sim::batch::Partial = postcard::from_bytes(&bytes).unwrap();
        p.results.clear();
        let mut w = snap::write::FrameEncoder::new(Vec::new());
        w.write_all(&postcard::to_stdvec(&p).unwrap()).unwrap();
        fs::write(dir.join("partial.bin"), w.into_inner().unwrap()).unwrap();
        let blocks: Vec<_> = read_blocks(&dir.join("blocks.bin"))
            .into_iter()
            .map(|(g, b, _)| (g, b, Vec::new()))
            .collect();
        write_blocks(&dir.join("blocks.bin"), &blocks);
        relist(&dir);
    }
    for check in [true, false] {
        let mut args = vec!["merge", "s1", "s2", "s3", "--out", "m", "-q"];
        if check {
            args.insert(1, "--check");
        }
        let o = l2sim(t, &args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("s1/partial.bin, s2/partial.bin, s3/partial.bin: the statistics do not have the shape the scenario needs"),
            "{err}"
        );
    }
    assert!(!t.join("m").exists());
}

#[test]
fn damaged_merge_input_exits_2_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    run_shards(t);
    // Not JSON at all, and JSON cut short.
    let manifest = fs::read_to_string(t.join("s2/shard.json")).unwrap();
    fs::write(t.join("s2/shard.json"), "{ this is not json").unwrap();
    assert_refused(
        t,
        &["s1", "s2", "s3"],
        "s2/shard.json: not a shard manifest",
    );
    fs::write(t.join("s2/shard.json"), &manifest[..manifest.len() / 2]).unwrap();
    assert_refused(
        t,
        &["s1", "s2", "s3"],
        "s2/shard.json: not a shard manifest",
    );
    fs::write(t.join("s2/shard.json"), &manifest).unwrap();
    // A runs.csv cut in the middle of a row (merged, the rows of the next shard were glued to
    // it and the charts failed with exit code 1), and blocks.bin and partial.bin cut short.
    for name in ["runs.csv", "blocks.bin", "partial.bin"] {
        let good = fs::read(t.join("s2").join(name)).unwrap();
        fs::write(t.join("s2").join(name), &good[..good.len() - 7]).unwrap();
        assert_refused(t, &["s1", "s2", "s3"], &format!("s2/{name}: "));
        fs::write(t.join("s2").join(name), &good).unwrap();
    }
    l2sim_ok(t, &["merge", "s1", "s2", "s3", "--out", "good", "-q"]);
}

/// The charts of `dir` (SVG: text, the same bytes for the same data).
fn svgs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = files(dir)
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "svg"))
        .map(|f| (f.display().to_string(), fs::read(dir.join(&f)).unwrap()))
        .collect();
    out.sort();
    out
}

/// `path` (a CSV file) with its columns in reverse order.
fn reverse_columns(path: &Path) {
    let text = fs::read_to_string(path).unwrap();
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut w = csv::Writer::from_path(path).unwrap();
    for rec in r.records() {
        let rec = rec.unwrap();
        w.write_record(rec.iter().rev()).unwrap();
    }
    w.flush().unwrap();
}

/// `plot dir` must exit 2 with `expect` in its message.
fn plot_refused(t: &Path, dir: &str, expect: &str) {
    let o = l2sim(t, &["plot", dir]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{expect}: {err}");
    assert!(err.contains(expect), "expected {expect:?} in {err}");
}

/// Replaces `file`'s content by `edit(content)`, runs `plot_refused`, and restores it.
fn refused_with(t: &Path, file: &str, edit: impl Fn(&str) -> String, dir: &str, expect: &str) {
    let good = fs::read_to_string(t.join(file)).unwrap();
    fs::write(t.join(file), edit(&good)).unwrap();
    plot_refused(t, dir, expect);
    fs::write(t.join(file), good).unwrap();
}

#[test]
fn plot_reads_columns_by_name_and_refuses_damaged_files() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (a, b) = compare_pair();
    let sweep = repo("tests/data/small_sweep_2d.toml");
    l2sim_ok(t, &["run", &a, "--runs", "40", "--out", "run", "-q"]);
    l2sim_ok(
        t,
        &["compare", &a, &b, "--runs", "40", "--out", "cmp", "-q"],
    );
    l2sim_ok(t, &["sweep", &sweep, "--runs", "40", "--out", "sw", "-q"]);

    // Reordered columns draw the same charts.
    for (dir, tables) in [
        ("run", vec!["quantiles.csv", "runs.csv"]),
        (
            "cmp",
            vec![
                "compare.csv",
                "A_small/quantiles.csv",
                "B_small_fast_zk/runs.csv",
            ],
        ),
        ("sw", vec!["sweep.csv"]),
    ] {
        let before = svgs(&t.join(dir));
        assert!(!before.is_empty(), "{dir} has charts");
        for table in tables {
            reverse_columns(&t.join(dir).join(table));
        }
        l2sim_ok(t, &["plot", dir]);
        assert!(
            svgs(&t.join(dir)) == before,
            "{dir}: other charts from reordered columns"
        );
    }

    // A missing column, a cell that is not a number, a row cut short, no rows: located.
    let drop_column = |name: &'static str| {
        move |text: &str| {
            let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
            let i = header.iter().position(|h| *h == name).unwrap();
            text.lines()
                .map(|l| {
                    let mut f: Vec<&str> = l.split(',').collect();
                    f.remove(i);
                    f.join(",") + "\n"
                })
                .collect()
        }
    };
    refused_with(
        t,
        "run/quantiles.csv",
        drop_column("p95"),
        "run",
        "run/quantiles.csv: no column \"p95\"",
    );
    refused_with(
        t,
        "run/runs.csv",
        drop_column("l2_share"),
        "run",
        "run/runs.csv: no column \"l2_share\"",
    );
    refused_with(
        t,
        "cmp/compare.csv",
        drop_column("mean_diff"),
        "cmp",
        "cmp/compare.csv: no column \"mean_diff\"",
    );
    refused_with(
        t,
        "sw/sweep.csv",
        drop_column("p50"),
        "sw",
        "sw/sweep.csv: no column \"p50\"",
    );
    let second_line_number = |text: &str| {
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        let header: Vec<&str> = lines[0].split(',').collect();
        let mean = header.iter().position(|h| *h == "mean").unwrap();
        let mut f: Vec<String> = lines[1].split(',').map(String::from).collect();
        f[mean] = "abc".into();
        lines[1] = f.join(",");
        lines.join("\n") + "\n"
    };
    refused_with(
        t,
        "run/quantiles.csv",
        second_line_number,
        "run",
        "run/quantiles.csv: line 2, column \"mean\": \"abc\" is not a number",
    );
    refused_with(
        t,
        "sw/sweep.csv",
        second_line_number,
        "sw",
        "sw/sweep.csv: line 2, column \"mean\": \"abc\" is not a number",
    );
    // Cut after the first field of a row in the middle: that row is short.
    let cut = |text: &str| {
        let row = text[text.len() / 2..].find('\n').unwrap() + text.len() / 2 + 1;
        text[..row + text[row..].find(',').unwrap() + 1].to_string()
    };
    refused_with(
        t,
        "run/quantiles.csv",
        cut,
        "run",
        "run/quantiles.csv: damaged or truncated",
    );
    refused_with(
        t,
        "run/runs.csv",
        cut,
        "run",
        "run/runs.csv: damaged or truncated",
    );
    refused_with(
        t,
        "cmp/compare.csv",
        cut,
        "cmp",
        "cmp/compare.csv: damaged or truncated",
    );
    let header_only = |text: &str| text.lines().next().unwrap().to_string() + "\n";
    refused_with(
        t,
        "run/quantiles.csv",
        header_only,
        "run",
        "run/quantiles.csv: no rows",
    );
    refused_with(
        t,
        "run/runs.csv",
        |_| String::new(),
        "run",
        "run/runs.csv: no column",
    );
    // Bad JSON.
    let half = |text: &str| text[..text.len() / 2].to_string();
    refused_with(
        t,
        "run/summary.json",
        half,
        "run",
        "run/summary.json: not the JSON",
    );
    refused_with(
        t,
        "sw/sweep.json",
        half,
        "sw",
        "sw/sweep.json: not the JSON",
    );
    refused_with(
        t,
        "sw/sweep.json",
        |s| s.replace("\"axes\"", "\"axis\""),
        "sw",
        "sw/sweep.json: not the JSON l2sim writes here: missing field `axes`",
    );
    // After all that, the folders still redraw.
    for dir in ["run", "cmp", "sw"] {
        l2sim_ok(t, &["plot", dir]);
    }
}
