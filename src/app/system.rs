//! The edge where the library asks the operating system about the machine: how much memory a
//! batch may use. Nothing below `app` looks at the machine.
//!
//! The memory a process may still take is the tightest of four limits (docs/RELIABILITY.md,
//! "Resource guard"): the system's available memory (`MemAvailable` of `/proc/meminfo`), the
//! memory limit of its cgroup and of every ancestor cgroup (v2 `memory.max` − `memory.current`,
//! v1 `memory.limit_in_bytes` − `memory.usage_in_bytes`: a Slurm job under `--mem`, a container),
//! and its address-space and data-segment limits (`ulimit -v` and `-d`: `RLIMIT_AS`, `RLIMIT_DATA`)
//! less what it already maps and a reserve per thread for stacks and allocator arenas.

use std::path::{Path, PathBuf};

/// How much more memory this process may take, and which limit says so.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryLimit {
    /// Bytes.
    pub bytes: f64,
    /// Where the figure comes from, for messages ("cgroup v2 memory.max of /slurm/job_12").
    pub source: String,
}

/// Address space a thread takes besides its share of the estimate: a 2 MiB stack and allocator
/// arena reservations (glibc reserves up to 64 MiB of address space per arena; most of it is
/// never touched, so this counts part of one), bytes.
pub const THREAD_ADDRESS_BYTES: f64 = 16.0 * 1024.0 * 1024.0;

/// The tightest of the limits that apply to this process now; `None` when none can be read (off
/// Linux).
pub fn memory_limit(threads: usize) -> Option<MemoryLimit> {
    let mut limits = Vec::new();
    if let Some(bytes) = available_in_meminfo() {
        limits.push(MemoryLimit {
            bytes,
            source: "available memory (MemAvailable)".into(),
        });
    }
    if let Ok(text) = std::fs::read_to_string("/proc/self/cgroup") {
        limits.extend(cgroup_limits(Path::new("/sys/fs/cgroup"), &text));
    }
    limits.extend(rlimits(threads));
    tightest(limits)
}

/// The smallest of `limits`.
pub fn tightest(limits: Vec<MemoryLimit>) -> Option<MemoryLimit> {
    limits
        .into_iter()
        .min_by(|a, b| a.bytes.total_cmp(&b.bytes))
}

fn available_in_meminfo() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024.0)
}

/// The headroom under every memory limit of the cgroups that `proc_self_cgroup` (the text of
/// `/proc/self/cgroup`) names, and of their ancestors, in the hierarchy mounted at `root`
/// (`/sys/fs/cgroup`: v2 unified, or v1 with a `memory` controller folder).
pub fn cgroup_limits(root: &Path, proc_self_cgroup: &str) -> Vec<MemoryLimit> {
    let mut found = Vec::new();
    for line in proc_self_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let rel = path.trim_start_matches('/');
        if controllers.is_empty() {
            // cgroup v2: "0::/path".
            for dir in ancestors(root, rel) {
                let limit = read_bytes(&dir.join("memory.max"));
                let used = read_bytes(&dir.join("memory.current")).unwrap_or(0.0);
                if let Some(limit) = limit {
                    found.push(MemoryLimit {
                        bytes: (limit - used).max(0.0),
                        source: format!("cgroup v2 memory.max of {}", shown(root, &dir)),
                    });
                }
            }
        } else if controllers.split(',').any(|c| c == "memory") {
            let base = root.join("memory");
            for dir in ancestors(&base, rel) {
                let limit = read_bytes(&dir.join("memory.limit_in_bytes"));
                let used = read_bytes(&dir.join("memory.usage_in_bytes")).unwrap_or(0.0);
                // v1 writes "no limit" as a page-rounded i64::MAX.
                if let Some(limit) = limit.filter(|&l| l < 4.0e18) {
                    found.push(MemoryLimit {
                        bytes: (limit - used).max(0.0),
                        source: format!(
                            "cgroup v1 memory.limit_in_bytes of {}",
                            shown(&base, &dir)
                        ),
                    });
                }
            }
        }
    }
    found
}

/// `root/rel` and each of its ancestors down to `root` itself.
fn ancestors(root: &Path, rel: &str) -> Vec<PathBuf> {
    let mut dirs = vec![root.to_path_buf()];
    let mut dir = root.to_path_buf();
    for part in rel.split('/').filter(|p| !p.is_empty() && *p != "..") {
        dir = dir.join(part);
        dirs.push(dir.clone());
    }
    dirs
}

fn shown(root: &Path, dir: &Path) -> String {
    let rel = dir.strip_prefix(root).unwrap_or(dir);
    format!("/{}", rel.display())
}

/// A number of bytes in a cgroup file; `None` for "max", a missing file or anything else.
fn read_bytes(path: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.trim().parse::<u64>().ok().map(|v| v as f64)
}

/// The headroom under `RLIMIT_AS` and `RLIMIT_DATA`, for a batch on `threads` threads.
#[cfg(target_os = "linux")]
fn rlimits(threads: usize) -> Vec<MemoryLimit> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| -> f64 {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb * 1024.0)
    };
    let reserve = THREAD_ADDRESS_BYTES * (threads as f64 + 1.0);
    let mut found = Vec::new();
    for (resource, name, used) in [
        (libc::RLIMIT_AS, "RLIMIT_AS (ulimit -v)", field("VmSize:")),
        (
            libc::RLIMIT_DATA,
            "RLIMIT_DATA (ulimit -d)",
            field("VmData:"),
        ),
    ] {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we pass; no other effect.
        let ok = unsafe { libc::getrlimit(resource, &mut lim) } == 0;
        if ok && lim.rlim_cur != libc::RLIM_INFINITY {
            found.push(MemoryLimit {
                bytes: (lim.rlim_cur as f64 - used - reserve).max(0.0),
                source: name.to_string(),
            });
        }
    }
    found
}

#[cfg(not(target_os = "linux"))]
fn rlimits(_threads: usize) -> Vec<MemoryLimit> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_space_limit_of_this_process_is_seen() {
        // Lowering our own soft limit would affect the other tests in this process; the child
        // process tests in tests/memory_guard.rs set it. Here: whether a limit is reported
        // follows whether one is set.
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we pass.
        unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut lim) };
        let seen = rlimits(2).iter().any(|l| l.source.starts_with("RLIMIT_AS"));
        assert_eq!(seen, lim.rlim_cur != libc::RLIM_INFINITY);
    }
}
