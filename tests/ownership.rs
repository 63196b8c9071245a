//! Output folders belong to l2sim and nothing else (docs/RELIABILITY.md, "Outputs l2sim owns"):
//! a rerun never removes a file l2sim did not write, concurrent commands on one `--out` are
//! refused cleanly, and `--out .` is refused before any work.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{l2sim, l2sim_ok, repo};

/// `l2sim run tests/data/small.toml --runs RUNS --out OUT` in `dir`.
fn small(dir: &Path, runs: &str, out: &str) -> std::process::Output {
    l2sim(
        dir,
        &[
            "run",
            &repo("tests/data/small.toml"),
            "--runs",
            runs,
            "--out",
            out,
        ],
    )
}

/// The same, checked to succeed.
fn small_ok(dir: &Path, runs: &str, out: &str) {
    let o = small(dir, runs, out);
    assert!(o.status.success(), "{}", stderr(&o));
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Hidden files l2sim keeps beside a destination while it writes it.
fn leftovers(parent: &Path) -> Vec<PathBuf> {
    fs::read_dir(parent)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.starts_with('.')
                && (n.contains(".tmp-") || n.contains(".old-") || n.ends_with(".lock"))
        })
        .collect()
}

/// The marker lists every file l2sim wrote, with its SHA-256, in `sha256sum`'s format.
#[test]
fn the_marker_lists_every_file_with_its_hash() {
    let tmp = tempfile::tempdir().unwrap();
    small_ok(tmp.path(), "4", "r");
    let r = tmp.path().join("r");
    let marker = fs::read_to_string(r.join(".l2sim-output")).unwrap();
    let listed: Vec<(&str, &str)> = marker
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split_once("  ").unwrap())
        .collect();
    let mut names: Vec<&str> = listed.iter().map(|(_, n)| *n).collect();
    names.sort();
    let mut files = Vec::new();
    let mut stack = vec![r.clone()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else if e.file_name() != ".l2sim-output" {
                files.push(e.path().strip_prefix(&r).unwrap().display().to_string());
            }
        }
    }
    files.sort();
    assert_eq!(names, files.iter().map(String::as_str).collect::<Vec<_>>());
    for (hash, name) in listed {
        assert_eq!(
            hash,
            l2sim::report::sha256_file(&r.join(name)).unwrap(),
            "{name}"
        );
    }
}

/// `notes.txt` and `my_figs/` in an earlier result (a researcher's own work) make a rerun refuse,
/// naming them, and they stay; so does a file l2sim wrote and someone then changed. They used to
/// vanish.
#[test]
fn a_rerun_never_removes_a_file_l2sim_did_not_write() {
    let tmp = tempfile::tempdir().unwrap();
    let small = repo("tests/data/small.toml");
    let args = ["run", small.as_str(), "--runs", "4", "--out", "r"];
    l2sim_ok(tmp.path(), &args);
    let r = tmp.path().join("r");
    fs::write(r.join("notes.txt"), "my notes").unwrap();
    fs::create_dir(r.join("my_figs")).unwrap();
    fs::write(r.join("my_figs/fig.png"), "png").unwrap();
    fs::create_dir(r.join("empty_folder")).unwrap();
    let o = l2sim(tmp.path(), &args);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    for name in ["notes.txt", "my_figs/fig.png", "empty_folder/"] {
        assert!(
            stderr(&o).contains(name),
            "{name} not named: {}",
            stderr(&o)
        );
    }
    assert_eq!(fs::read_to_string(r.join("notes.txt")).unwrap(), "my notes");
    assert!(r.join("my_figs/fig.png").is_file() && r.join("empty_folder").is_dir());
    assert!(
        leftovers(tmp.path()).is_empty(),
        "{:?}",
        leftovers(tmp.path())
    );

    // Moved away, the rerun replaces the folder.
    fs::rename(r.join("notes.txt"), tmp.path().join("notes.txt")).unwrap();
    fs::remove_dir_all(r.join("my_figs")).unwrap();
    fs::remove_dir(r.join("empty_folder")).unwrap();
    l2sim_ok(tmp.path(), &args);

    // A file l2sim wrote and someone edited is theirs now.
    fs::write(r.join("summary.json"), "{\"edited\": true}").unwrap();
    let o = l2sim(tmp.path(), &args);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("summary.json (changed since l2sim wrote it)"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        fs::read_to_string(r.join("summary.json")).unwrap(),
        "{\"edited\": true}"
    );
}

/// `l2sim run study/my_study.toml --out study` used to delete the scenario it was running.
#[test]
fn a_rerun_never_deletes_the_scenario_it_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let study = tmp.path().join("study");
    small_ok(tmp.path(), "4", "study");
    let text = fs::read_to_string(repo("tests/data/small.toml")).unwrap();
    fs::write(study.join("my_study.toml"), &text).unwrap();
    let o = l2sim(
        tmp.path(),
        &[
            "run",
            "study/my_study.toml",
            "--runs",
            "4",
            "--out",
            "study",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("my_study.toml"), "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(study.join("my_study.toml")).unwrap(),
        text
    );
}

/// A folder with an earlier marker that lists no files (or no marker) is not l2sim's to replace.
#[test]
fn a_folder_whose_marker_lists_nothing_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let r = tmp.path().join("r");
    fs::create_dir(&r).unwrap();
    fs::write(r.join(".l2sim-output"), "written by l2sim\n").unwrap();
    fs::write(r.join("thesis.tex"), "\\documentclass{article}").unwrap();
    let o = small(tmp.path(), "2", "r");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("thesis.tex"), "{}", stderr(&o));
    assert!(r.join("thesis.tex").is_file());
    // A forged marker line pointing outside the folder is refused, not followed.
    fs::write(
        r.join(".l2sim-output"),
        format!("{}  ../victim\n", "0".repeat(64)),
    )
    .unwrap();
    let o = small(tmp.path(), "2", "r");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not a marker l2sim wrote"),
        "{}",
        stderr(&o)
    );
}

/// `--out .` (or the current folder by any name, or a folder holding it) is refused before the
/// batch runs; it used to run the whole batch and then fail on the rename.
#[test]
fn the_current_folder_is_never_an_output_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let here = tmp.path().join("here");
    fs::create_dir(&here).unwrap();
    let abs = here.to_string_lossy().into_owned();
    let parent = tmp.path().to_string_lossy().into_owned();
    for out in [".", "./", "..", abs.as_str(), parent.as_str(), "/"] {
        let o = l2sim(
            &here,
            &[
                "run",
                &repo("scenarios/bench.toml"),
                "--runs",
                "400",
                "--out",
                out,
            ],
        );
        assert_eq!(o.status.code(), Some(2), "--out {out}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("current folder") || stderr(&o).contains("names no folder"),
            "--out {out}: {}",
            stderr(&o)
        );
        assert!(
            !stderr(&o).contains("runs in"),
            "--out {out}: the batch ran first"
        );
    }
    assert_eq!(fs::read_dir(&here).unwrap().count(), 0);
}

/// While one command writes a destination, another on the same `--out` is refused at once with
/// exit code 2, naming the holder (its process id); the first finishes undisturbed. Twelve at
/// once used to race: seven failed with exit code 1 and left staging folders.
#[test]
fn a_second_command_on_the_same_out_is_refused_naming_the_holder() {
    let tmp = tempfile::tempdir().unwrap();
    let bench = repo("scenarios/bench.toml");
    let mut first = Command::new(env!("CARGO_BIN_EXE_l2sim"))
        .args(["run", &bench, "--runs", "100000", "--out", "o"])
        .current_dir(tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !tmp.path().join(".o.lock").exists() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the first never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    for command in [
        vec!["run", bench.as_str(), "--runs", "2", "--out", "o"],
        vec![
            "compare",
            bench.as_str(),
            bench.as_str(),
            "--runs",
            "2",
            "--out",
            "o",
        ],
    ] {
        let o = l2sim(tmp.path(), &command);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let pid = format!("pid {}", first.id());
        assert!(
            stderr(&o).contains("being written by another l2sim command"),
            "{}",
            stderr(&o)
        );
        assert!(stderr(&o).contains(&pid), "{}", stderr(&o));
    }
    // SAFETY: signalling our own child process.
    unsafe {
        libc::kill(first.id() as libc::pid_t, libc::SIGINT);
    }
    assert_eq!(first.wait().unwrap().code(), Some(130));
    assert!(
        leftovers(tmp.path()).is_empty(),
        "{:?}",
        leftovers(tmp.path())
    );
}

/// Many commands at once on one `--out`: each either succeeds or is refused with exit code 2;
/// nothing is left beside the destination, and the result is complete (its marker checks).
#[test]
fn concurrent_commands_never_race() {
    let tmp = tempfile::tempdir().unwrap();
    let small = repo("tests/data/small.toml");
    let children: Vec<_> = (0..8)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_l2sim"))
                .args(["run", &small, "--runs", "1000", "--out", "c", "-q"])
                .current_dir(tmp.path())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut ok = 0;
    for c in children {
        let o = c.wait_with_output().unwrap();
        match o.status.code() {
            Some(0) => ok += 1,
            Some(2) => assert!(
                stderr(&o).contains("being written by another"),
                "{}",
                stderr(&o)
            ),
            code => panic!("exit {code:?}: {}", stderr(&o)),
        }
    }
    assert!(ok >= 1);
    assert!(
        leftovers(tmp.path()).is_empty(),
        "{:?}",
        leftovers(tmp.path())
    );
    let c = tmp.path().join("c");
    for line in fs::read_to_string(c.join(".l2sim-output")).unwrap().lines() {
        if let Some((hash, name)) = line.split_once("  ")
            && !line.starts_with('#')
        {
            assert_eq!(hash, l2sim::report::sha256_file(&c.join(name)).unwrap());
        }
    }
}

/// `plot` redraws a folder holding a researcher's file without removing it, and keeps the
/// marker true; a `plot` that fails leaves every file as it was (same bytes, same times).
#[test]
fn plot_keeps_foreign_files_and_fails_without_touching_the_folder() {
    let tmp = tempfile::tempdir().unwrap();
    small_ok(tmp.path(), "4", "r");
    let r = tmp.path().join("r");
    fs::write(r.join("notes.txt"), "mine").unwrap();
    l2sim_ok(tmp.path(), &["plot", "r"]);
    assert_eq!(fs::read_to_string(r.join("notes.txt")).unwrap(), "mine");
    let marker = fs::read_to_string(r.join(".l2sim-output")).unwrap();
    assert!(!marker.contains("notes.txt"));
    assert!(marker.contains("charts/"));
    fs::remove_file(r.join("notes.txt")).unwrap();
    // The marker still describes the folder: a rerun may replace it.
    small_ok(tmp.path(), "4", "r");

    let stamp = |p: &Path| fs::metadata(p).unwrap().modified().unwrap();
    let chart = r.join("charts/tvl_fan.png");
    let before = (fs::read(&chart).unwrap(), stamp(&chart));
    let q = fs::read_to_string(r.join("quantiles.csv")).unwrap();
    let damaged: String = q.lines().take(3).collect::<Vec<_>>().join("\n") + "\nnot,a,row\n";
    fs::write(r.join("quantiles.csv"), damaged).unwrap();
    let o = l2sim(tmp.path(), &["plot", "r"]);
    assert!(!o.status.success());
    assert_eq!((fs::read(&chart).unwrap(), stamp(&chart)), before);
    assert!(
        leftovers(tmp.path()).is_empty(),
        "{:?}",
        leftovers(tmp.path())
    );
}
