//! The edge where the library asks the operating system about the machine: how much memory a
//! batch may use. Nothing below `app` looks at the machine.

/// Memory the system can give this process now (`MemAvailable`), bytes; `None` off Linux.
pub fn available_memory_bytes() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024.0)
}
