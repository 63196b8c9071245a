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
    // Wait (bounded) until the run has started writing its staging folder.
    let parent = out.parent().unwrap();
    let started = Instant::now();
    while staging_folders(parent).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the run never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(child.id() as libc::pid_t, signal);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("l2sim did not stop within 30 s of the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
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
