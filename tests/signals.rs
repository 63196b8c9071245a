//! Interrupting the real binary: after SIGINT or SIGTERM mid-run, l2sim exits with 130, removes
//! its temporary folder, and leaves an earlier result byte for byte as it was.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_l2sim")
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn staging_folders(parent: &Path) -> Vec<PathBuf> {
    fs::read_dir(parent)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains(".tmp-"))
        .collect()
}

/// Waits (bounded) until a job has started writing its staging folder under `parent`.
fn wait_for_staging(parent: &Path) {
    let started = Instant::now();
    while staging_folders(parent).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the job never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `signal` to `child` and waits (at most `secs`) for it to exit.
fn signal_and_wait(
    child: &mut std::process::Child,
    signal: libc::c_int,
    secs: u64,
) -> std::process::ExitStatus {
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(child.id() as libc::pid_t, signal);
    }
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("l2sim did not stop within {secs} s of the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn interrupt_mid_run(signal: libc::c_int) {
    let tmp = tempfile::tempdir().unwrap();
    let bench = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bench.toml");
    let out = tmp.path().join("outputs").join("bench");
    // An earlier result that must survive.
    let status = Command::new(bin())
        .args([
            "run",
            bench.to_str().unwrap(),
            "--runs",
            "2",
            "--out",
            out.to_str().unwrap(),
            "-q",
        ])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let before = snapshot(&out);

    let mut child = Command::new(bin())
        .args([
            "run",
            bench.to_str().unwrap(),
            "--runs",
            "100000",
            "--out",
            out.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let parent = out.parent().unwrap();
    wait_for_staging(parent);
    std::thread::sleep(Duration::from_millis(300));
    let status = signal_and_wait(&mut child, signal, 30);
    assert_eq!(status.code(), Some(130), "exit code after signal {signal}");
    assert!(
        staging_folders(parent).is_empty(),
        "a temporary folder was left behind"
    );
    assert!(before == snapshot(&out), "the earlier result changed");
}

#[test]
fn sigint_mid_run_leaves_earlier_results_untouched() {
    interrupt_mid_run(libc::SIGINT);
}

#[test]
fn sigterm_mid_run_leaves_earlier_results_untouched() {
    interrupt_mid_run(libc::SIGTERM);
}

/// Ctrl-C during `calibrate` ends the search and keeps the best candidate so far: exit 0, a
/// complete folder whose calibrate.json says `"stopped": "interrupted"`, and no staging folder.
#[test]
fn sigint_during_calibrate_keeps_the_best_so_far() {
    let tmp = tempfile::tempdir().unwrap();
    let small = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/small.toml");
    let scenario = tmp.path().join("cal.toml");
    fs::write(
        &scenario,
        format!(
            "extends = {:?}\nname = \"small_cal\"\nsample_every_days = 10\n[calibrate]\nfit_until = 120\n\
             [[calibrate.parameter]]\nfield = \"chains.zk.organic_yield_apy\"\nmin = 0.0\nmax = 0.1\n",
            small.display().to_string()
        ),
    )
    .unwrap();
    let targets = tmp.path().join("t.csv");
    fs::write(&targets, "day,metric,chain,value\n120,tvl_share,zk,0.3\n").unwrap();
    let out = tmp.path().join("outputs").join("cal");
    fs::create_dir_all(out.parent().unwrap()).unwrap();
    let mut child = Command::new(bin())
        .args([
            "calibrate",
            scenario.to_str().unwrap(),
            "--targets",
            targets.to_str().unwrap(),
            "--runs",
            "8",
            "--budget",
            "100000",
            "--no-plots",
            "--out",
            out.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let parent = out.parent().unwrap();
    wait_for_staging(parent);
    // Long enough for a few chunks of start points to be evaluated.
    std::thread::sleep(Duration::from_millis(1500));
    let status = signal_and_wait(&mut child, libc::SIGINT, 60);
    assert_eq!(
        status.code(),
        Some(0),
        "calibrate keeps the best and exits 0"
    );
    assert!(
        staging_folders(parent).is_empty(),
        "a temporary folder was left behind"
    );
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("calibrate.json")).unwrap()).unwrap();
    assert_eq!(report["stopped"], "interrupted");
    // No profile was computed, so no interval is claimed.
    assert!(report["parameters"][0]["interval"].is_null());
    let evaluations = report["evaluations"].as_u64().unwrap();
    assert!((1..100000).contains(&evaluations), "{evaluations}");
    let trace = fs::read_to_string(out.join("trace.csv")).unwrap();
    assert_eq!(trace.lines().count() as u64, evaluations + 1);
    assert!(out.join("calibrated.toml").is_file());
}
