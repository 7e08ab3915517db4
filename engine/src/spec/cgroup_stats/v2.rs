//! Cgroup v2: the container's directory in the unified hierarchy.

use std::path::Path;

use super::{
    CgroupStats, StatsError, io_totals, join, keyed_value, read, read_number, read_optional_number,
};

/// Reads `cgroup_path` in the unified hierarchy at `cgroup_root`. Memory and
/// `cpu.stat` must be there; missing `pids.current` or `io.stat` read 0.
pub fn read_stats_v2(cgroup_root: &Path, cgroup_path: &str) -> Result<CgroupStats, StatsError> {
    let dir = join(cgroup_root, cgroup_path);
    let stat_path = dir.join("memory.stat");
    let stat = read(&stat_path)?;
    let max_path = dir.join("memory.max");
    let max = read(&max_path)?;
    let memory_limit = match max.trim() {
        "max" => None,
        _ => Some(read_number(&max_path)?),
    };
    let cpu_path = dir.join("cpu.stat");
    let cpu = read(&cpu_path)?;
    let (block_read, block_write) = io_totals(&dir.join("io.stat"), io_stat_entries)?;
    Ok(CgroupStats {
        memory_usage: read_number(&dir.join("memory.current"))?,
        memory_limit,
        inactive_file: keyed_value(&stat_path, &stat, "inactive_file")?,
        cpu_usage_ns: keyed_value(&cpu_path, &cpu, "usage_usec")?.saturating_mul(1000),
        pids: read_optional_number(&dir.join("pids.current"))?,
        block_read,
        block_write,
    })
}

/// The (operation, bytes) of an `io.stat` line (`MAJ:MIN rbytes=N
/// wbytes=N rios=N …`): its `rbytes` and `wbytes`.
fn io_stat_entries(line: &str) -> Vec<(&str, &str)> {
    line.split_whitespace()
        .skip(1)
        .filter_map(|field| field.split_once('='))
        .filter(|(key, _)| matches!(*key, "rbytes" | "wbytes"))
        .collect()
}
