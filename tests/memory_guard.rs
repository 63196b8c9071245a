//! The memory guard reads the limits that apply to the process (docs/RELIABILITY.md, "Resource
//! guard"): cgroup v1 and v2 limits of its cgroup and every ancestor, RLIMIT_AS and RLIMIT_DATA,
//! besides the available memory; and an allocation that fails anyway ends cleanly.

use crate::common;

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use l2sim::app::system::{cgroup_limits, tightest};

fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        let p = dir.path().join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, text).unwrap();
    }
    dir
}

#[test]
fn a_v2_job_limit_and_its_parents_are_read_and_the_tightest_wins() {
    // A Slurm job under --mem=1G inside a slice limited to 8 GB; the root has no limit.
    let root = tree(&[
        ("memory.max", "max\n"),
        ("system.slice/memory.max", "8000000000\n"),
        ("system.slice/memory.current", "1000000000\n"),
        ("system.slice/slurm/job_12/memory.max", "1073741824\n"),
        ("system.slice/slurm/job_12/memory.current", "73741824\n"),
    ]);
    let limits = cgroup_limits(root.path(), "0::/system.slice/slurm/job_12\n");
    assert_eq!(limits.len(), 2, "{limits:?}");
    let t = tightest(limits).unwrap();
    assert_eq!(t.bytes, 1_000_000_000.0);
    assert_eq!(
        t.source,
        "cgroup v2 memory.max of /system.slice/slurm/job_12"
    );
}

#[test]
fn a_v1_memory_controller_is_read_and_no_limit_is_ignored() {
    let root = tree(&[
        ("memory/memory.limit_in_bytes", "9223372036854771712\n"),
        ("memory/job/memory.limit_in_bytes", "536870912\n"),
        ("memory/job/memory.usage_in_bytes", "36870912\n"),
    ]);
    let text = "12:cpuset:/job\n5:memory:/job\n1:name=systemd:/job\n";
    let limits = cgroup_limits(root.path(), text);
    assert_eq!(limits.len(), 1, "{limits:?}");
    assert_eq!(limits[0].bytes, 500_000_000.0);
    assert_eq!(limits[0].source, "cgroup v1 memory.limit_in_bytes of /job");
}

#[test]
fn no_cgroup_files_means_no_cgroup_limit() {
    let root = tree(&[]);
    assert!(cgroup_limits(root.path(), "0::/\n").is_empty());
    assert!(cgroup_limits(root.path(), "garbage\n").is_empty());
}

/// A scenario of 40 million agents: about 5.5 GB, which fits in this machine's memory but not
/// under a 2 GB address-space limit.
fn big(dir: &Path) -> String {
    let path = dir.join("big.toml");
    fs::write(
        &path,
        format!(
            "extends = {:?}\nname = \"big\"\nruns = 2\n[[segments]]\nname = \"retail\"\nagents = 40000000\n",
            common::repo("tests/data/small.toml")
        ),
    )
    .unwrap();
    path.to_string_lossy().into_owned()
}

/// Runs l2sim under `ulimit -v` of `bytes`.
fn under_address_limit(dir: &Path, bytes: u64, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_l2sim"));
    cmd.args(args).current_dir(dir);
    // SAFETY: setrlimit is async-signal-safe; it only lowers the child's own limit.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.output().unwrap()
}

/// Under `ulimit -v` (a Slurm job's address-space limit), a batch that would not fit is refused
/// before it starts, naming the limit: the guard used to read only /proc/meminfo, let the batch
/// start and abort on the allocation (exit code 134, staging folder left).
#[test]
fn an_address_space_limit_refuses_the_batch_up_front() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = big(tmp.path());
    let o = under_address_limit(tmp.path(), 2 << 30, &["run", &scenario, "--out", "o"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("limited by RLIMIT_AS (ulimit -v)"),
        "{stderr}"
    );
    assert_eq!(
        fs::read_dir(tmp.path()).unwrap().count(),
        1,
        "only big.toml"
    );
}

/// With `--force`, the allocation that fails ends in a clean error (exit code 1, a message, the
/// staging folder and lock removed), not an abort with a backtrace.
#[test]
fn an_allocation_that_fails_ends_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = big(tmp.path());
    let o = under_address_limit(
        tmp.path(),
        2 << 30,
        &["run", &scenario, "--out", "o", "--force"],
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error: out of memory"), "{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(!stderr.contains("backtrace"), "{stderr}");
    let left: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("big.toml")]);
}

/// A write that fails (a full disk; here `ulimit -f`, the same failed write) names the file, and
/// leaves nothing behind: it used to say only "No space left on device".
#[test]
fn a_failed_write_names_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_l2sim"));
    let small = common::repo("tests/data/small.toml");
    cmd.args(["run", &small, "--runs", "50", "--save-runs", "--out", "o"])
        .current_dir(tmp.path());
    // SAFETY: setrlimit and signal are async-signal-safe; they change only the child.
    unsafe {
        cmd.pre_exec(|| {
            // Past the limit a write fails with EFBIG instead of raising SIGXFSZ.
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let lim = libc::rlimit {
                rlim_cur: 64 << 10,
                rlim_max: 64 << 10,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("trajectories.csv: File too large"),
        "{stderr}"
    );
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
}
