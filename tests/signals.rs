//! Interrupting the real binary: after SIGINT or SIGTERM at any stage (mid-run, while tables and
//! charts are written, during `merge` or `plot`), or two in a row, l2sim exits with 130, removes
//! its temporary folder and lock, and leaves an earlier result byte for byte as it was. After
//! SIGKILL, the next command on the same destination removes what the killed one left.

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

/// Staging folders, moved-aside results and lock files under `parent`: what an interrupted
/// command must not leave.
fn staging_folders(parent: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(parent) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.contains(".tmp-") || name.contains(".old-") || name.ends_with(".lock")
        })
        .collect()
}

fn small() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/small.toml")
        .to_string_lossy()
        .into_owned()
}

/// Runs `l2sim args` to completion and checks that it succeeded; its output.
fn l2sim_ok(args: &[&str]) -> std::process::Output {
    let o = Command::new(bin()).args(args).output().unwrap();
    assert!(
        o.status.success(),
        "l2sim {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Starts `l2sim args` with stderr piped, and waits (bounded) until stderr has printed a line
/// containing `line`.
fn spawn_until(args: &[&str], line: &str) -> std::process::Child {
    use std::io::BufRead;
    let mut child = Command::new(bin())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let wanted = line.to_string();
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(stderr)
            .lines()
            .map_while(|l| l.ok())
        {
            if l.contains(&wanted) {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(120))
        .unwrap_or_else(|_| panic!("l2sim never printed {line:?}"));
    child
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

/// Starts 100,000 runs of `scenario` into `out` (minutes of work) and waits until its staging
/// folder exists.
fn start_long_run(scenario: &Path, out: &Path) -> std::process::Child {
    let child = Command::new(bin())
        .args([
            "run",
            scenario.to_str().unwrap(),
            "--runs",
            "100000",
            "--out",
        ])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_staging(out.parent().unwrap());
    child
}

fn interrupt_mid_run(signal: libc::c_int) {
    let tmp = tempfile::tempdir().unwrap();
    let bench = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bench.toml");
    let out = tmp.path().join("outputs").join("bench");
    // An earlier result that must survive.
    l2sim_ok(&[
        "run",
        bench.to_str().unwrap(),
        "--runs",
        "2",
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    let before = snapshot(&out);

    let mut child = start_long_run(&bench, &out);
    let parent = out.parent().unwrap();
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

/// Writes an earlier result at `out`, then starts a run into it and returns once its batch is
/// over and its writing has begun (1,500 runs with every run's trajectories and Parquet copies:
/// seconds of writing), with the earlier result's snapshot.
fn start_writing(out: &Path) -> (std::process::Child, Vec<(PathBuf, Vec<u8>)>) {
    let out_s = out.to_str().unwrap();
    l2sim_ok(&["run", &small(), "--runs", "2", "--out", out_s, "-q"]);
    let before = snapshot(out);
    let child = spawn_until(
        &[
            "run",
            &small(),
            "--runs",
            "1500",
            "--save-runs",
            "--parquet",
            "--out",
            out_s,
        ],
        "writing tables and charts",
    );
    (child, before)
}

/// A signal while tables and charts are written (the batch is over) is not ignored: exit 130 and
/// the earlier result stays, where it used to exit 0 and replace it.
#[test]
fn a_signal_while_tables_and_charts_are_written_keeps_the_earlier_result() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("outputs").join("small");
    let (mut child, before) = start_writing(&out);
    let status = signal_and_wait(&mut child, libc::SIGINT, 60);
    assert_eq!(status.code(), Some(130));
    assert!(staging_folders(out.parent().unwrap()).is_empty());
    assert!(before == snapshot(&out), "the earlier result changed");
}

/// Two signals while the tables of 1,500 runs are written: the first makes the commit refuse,
/// the second exits at once but still removes the staging folder and the lock (it used to exit
/// at once and leave the staging folder behind).
#[test]
fn a_second_signal_exits_at_once_and_still_cleans_up() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("outputs").join("small");
    let (mut child, before) = start_writing(&out);
    // SAFETY: signalling our own child process.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    // Apart, so that the two are not merged into one pending signal.
    std::thread::sleep(Duration::from_millis(100));
    let status = signal_and_wait(&mut child, libc::SIGINT, 30);
    assert_eq!(status.code(), Some(130));
    let parent = out.parent().unwrap();
    assert!(
        staging_folders(parent).is_empty(),
        "left behind: {:?}",
        staging_folders(parent)
    );
    assert!(before == snapshot(&out), "the earlier result changed");
}

/// `merge` honours SIGTERM (it had no handler: the default action killed it and left its
/// staging folder).
#[test]
fn sigterm_during_merge_leaves_no_staging_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let shards: Vec<String> = (1..=2)
        .map(|k| {
            let dir = tmp.path().join(format!("s{k}"));
            l2sim_ok(&[
                "run",
                &small(),
                "--runs",
                "1500",
                "--save-runs",
                "--shard",
                &format!("{k}/2"),
                "--out",
                dir.to_str().unwrap(),
                "-q",
            ]);
            dir.to_string_lossy().into_owned()
        })
        .collect();
    let out = tmp.path().join("outputs").join("merged");
    let mut args = vec!["merge".to_string()];
    args.extend(shards.iter().cloned());
    args.extend([
        "--parquet".into(),
        "--out".into(),
        out.to_string_lossy().into_owned(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = spawn_until(&args, "merging 2 shards");
    let status = signal_and_wait(&mut child, libc::SIGTERM, 60);
    assert_eq!(status.code(), Some(130));
    assert!(staging_folders(out.parent().unwrap()).is_empty());
    assert!(!out.exists(), "an interrupted merge wrote its result");
}

/// After SIGKILL (or a crash, or a full disk) the staging folder stays; the next command on the
/// same destination removes it and says so.
#[test]
fn the_next_command_removes_what_a_killed_one_left() {
    let tmp = tempfile::tempdir().unwrap();
    let bench = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bench.toml");
    let out = tmp.path().join("outputs").join("bench");
    let out_s = out.to_str().unwrap();
    let mut child = start_long_run(&bench, &out);
    let parent = out.parent().unwrap();
    let status = signal_and_wait(&mut child, libc::SIGKILL, 30);
    assert_eq!(status.code(), None, "killed");
    let left: Vec<PathBuf> = staging_folders(parent)
        .into_iter()
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(left.len(), 1, "SIGKILL leaves the staging folder");
    let o = l2sim_ok(&[
        "run",
        bench.to_str().unwrap(),
        "--runs",
        "2",
        "--out",
        out_s,
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("left by an interrupted l2sim")
            && stderr.contains(&*left[0].to_string_lossy()),
        "{stderr}"
    );
    assert!(staging_folders(parent).is_empty());
    assert!(out.join("summary.json").is_file());
}

/// `plot` honours a signal (it used to redraw in place, leaving charts half replaced): the folder
/// keeps every file as it was, and no staging folder remains.
#[test]
fn a_signal_during_plot_leaves_the_charts_as_they_were() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("outputs").join("small");
    let out_s = out.to_str().unwrap();
    l2sim_ok(&[
        "run",
        &small(),
        "--runs",
        "1500",
        "--save-runs",
        "--out",
        out_s,
        "-q",
    ]);
    let before = snapshot(&out);
    let mut child = Command::new(bin())
        .args(["plot", out_s])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_staging(out.parent().unwrap());
    let status = signal_and_wait(&mut child, libc::SIGTERM, 60);
    assert_eq!(status.code(), Some(130));
    assert!(staging_folders(out.parent().unwrap()).is_empty());
    assert!(before == snapshot(&out), "plot changed the folder");
}
