//! The figures `docker stats` shows, computed as the docker CLI computes
//! them from two readings.

use super::{CgroupStats, StatsError};

/// Clock ticks per second in `/proc/stat` (`USER_HZ`, 100 on Linux).
const TICKS_PER_SECOND: u64 = 100;
/// Nanoseconds per clock tick.
const NANOS_PER_TICK: u64 = 1_000_000_000 / TICKS_PER_SECOND;

/// The host's CPU time, from `/proc/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SystemCpu {
    /// The `cpu` line's user, nice, system, idle, iowait, irq and softirq
    /// time, in nanoseconds.
    pub total_ns: u64,
    /// The `cpuN` lines: CPUs online.
    pub online_cpus: u32,
}

/// The text of `/proc/stat` as Docker reads it: the first seven fields of
/// the `cpu` line summed, and the `cpuN` lines counted.
pub fn parse_proc_stat(text: &str) -> Result<SystemCpu, StatsError> {
    let mut system = SystemCpu::default();
    let mut found = false;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("cpu").filter(|r| !r.is_empty()) else {
            break;
        };
        if rest.starts_with(' ') {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 8 {
                return Err(StatsError::ProcStat(
                    "invalid number of cpu fields".to_owned(),
                ));
            }
            let mut ticks = 0u64;
            for field in &fields[1..8] {
                let value: u64 = field.parse().map_err(|_| {
                    StatsError::ProcStat(format!("Unable to convert value {field} to int"))
                })?;
                ticks = ticks.saturating_add(value);
            }
            system.total_ns = ticks.saturating_mul(NANOS_PER_TICK);
            found = true;
        } else if rest.starts_with(|c: char| c.is_ascii_digit()) {
            system.online_cpus += 1;
        }
    }
    if !found {
        return Err(StatsError::ProcStat("no cpu line".to_owned()));
    }
    Ok(system)
}

/// One sample for the CPU percentage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuSample {
    /// The container's CPU time, nanoseconds ([`CgroupStats::cpu_usage_ns`]).
    pub container_ns: u64,
    /// The host's CPU time, nanoseconds ([`SystemCpu::total_ns`]).
    pub system_ns: u64,
    /// CPUs online ([`SystemCpu::online_cpus`]).
    pub online_cpus: u32,
}

/// Docker's CPU %: the container's share of the host's CPU time between
/// two samples, times the CPUs (so one busy CPU of two is 100 %); 0 when
/// either delta is not positive.
pub fn cpu_percent(previous: &CpuSample, current: &CpuSample) -> f64 {
    let container = current.container_ns.saturating_sub(previous.container_ns);
    let system = current.system_ns.saturating_sub(previous.system_ns);
    if container == 0 || system == 0 {
        return 0.0;
    }
    to_f64(container) / to_f64(system) * f64::from(current.online_cpus) * 100.0
}

/// Docker's memory usage: usage less the inactive page cache (when that is
/// smaller than the usage).
pub fn memory_used(stats: &CgroupStats) -> u64 {
    if stats.inactive_file < stats.memory_usage {
        stats.memory_usage - stats.inactive_file
    } else {
        stats.memory_usage
    }
}

/// Docker's memory limit: the cgroup's, but no more than the machine's
/// memory (so an unlimited container shows the machine's).
pub fn memory_limit(stats: &CgroupStats, machine_memory: u64) -> u64 {
    match stats.memory_limit {
        Some(limit) if machine_memory == 0 || limit <= machine_memory => limit,
        _ => machine_memory,
    }
}

/// Docker's memory %: `used` over `limit`, 0 when there is no limit.
pub fn memory_percent(used: u64, limit: u64) -> f64 {
    if limit == 0 {
        return 0.0;
    }
    to_f64(used) / to_f64(limit) * 100.0
}

/// A counter as a float for percentages (rounding beyond 2⁵³ is harmless).
fn to_f64(value: u64) -> f64 {
    value as f64
}
