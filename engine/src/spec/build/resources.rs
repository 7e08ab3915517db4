//! The container's cgroup settings: memory and swap, CPU quota and shares,
//! pids, and the device rules, with the daemon's checks of the values
//! (moby's `verifyPlatformContainerResources` and `adaptContainerSettings`).

use oci_spec::runtime::{
    LinuxCpu, LinuxDeviceCgroup, LinuxDeviceType, LinuxMemory, LinuxPids, LinuxResources,
};

use super::HostFacts;
use crate::spec::flags::{CpusError, check_nano_cpus};

/// The smallest memory limit Docker accepts (6 MiB).
pub const MIN_MEMORY: i64 = 6 << 20;
/// The CFS period Docker uses with `--cpus`, in microseconds.
pub const CPU_PERIOD: u64 = 100_000;
/// The range of `--cpu-shares` the kernel takes on cgroup v1.
const CPU_SHARES: (i64, i64) = (2, 262_144);

/// The resource flags of `berth run`; zero is "not set" throughout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourcesInput {
    /// `--memory`, bytes.
    pub memory: i64,
    /// `--memory-swap`, bytes of memory plus swap; `-1` unlimited swap,
    /// 0 the default of twice `memory`.
    pub memory_swap: i64,
    /// `--cpus`, in nano-CPUs.
    pub nano_cpus: i64,
    /// `--cpu-shares`, a relative weight (1024 is one CPU's worth).
    pub cpu_shares: i64,
    /// `--pids-limit`; zero or negative is unlimited.
    pub pids_limit: Option<i64>,
}

/// A resource setting the daemon refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResourceError {
    /// `--memory` under 6 MiB.
    #[error("Minimum memory limit allowed is 6MB")]
    MemoryTooSmall(i64),
    /// `--memory-swap` under `--memory`.
    #[error("Minimum memoryswap limit should be larger than memory limit, see usage")]
    SwapBelowMemory {
        /// `--memory`.
        memory: i64,
        /// `--memory-swap`.
        swap: i64,
    },
    /// `--memory-swap` without `--memory`.
    #[error("You should always set the Memory limit when using Memoryswap limit, see usage")]
    SwapWithoutMemory(i64),
    /// `--cpus` out of range.
    #[error(transparent)]
    Cpus(#[from] CpusError),
}

/// The cgroup settings for `r` on `host`; what Docker would only warn about
/// lands in `warnings`.
pub fn linux_resources(
    r: &ResourcesInput,
    host: &HostFacts,
    privileged: bool,
    warnings: &mut Vec<String>,
) -> Result<LinuxResources, ResourceError> {
    if r.memory != 0 && r.memory < MIN_MEMORY {
        return Err(ResourceError::MemoryTooSmall(r.memory));
    }
    let mut swap = r.memory_swap;
    if r.memory > 0 && swap != -1 && !host.swap_limit_supported {
        warnings.push("Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.".to_owned());
        swap = -1;
    }
    if r.memory > 0 && swap > 0 && swap < r.memory {
        return Err(ResourceError::SwapBelowMemory {
            memory: r.memory,
            swap,
        });
    }
    if r.memory == 0 && swap > 0 {
        return Err(ResourceError::SwapWithoutMemory(swap));
    }
    if r.memory > 0 && swap == 0 {
        swap = r.memory.saturating_mul(2);
    }
    check_nano_cpus(r.nano_cpus, host.online_cpus)?;

    let mut memory = LinuxMemory::default();
    if r.memory > 0 {
        memory.set_limit(Some(r.memory)).set_swap(Some(swap));
    }
    let mut cpu = LinuxCpu::default();
    if r.cpu_shares != 0 {
        let shares = r.cpu_shares.clamp(CPU_SHARES.0, CPU_SHARES.1);
        if shares != r.cpu_shares {
            warnings.push(format!(
                "Changing requested CPUShares of {} to {} allowed of {shares}",
                r.cpu_shares,
                if shares == CPU_SHARES.0 {
                    "minimum"
                } else {
                    "maximum"
                }
            ));
        }
        cpu.set_shares(Some(shares.unsigned_abs()));
    }
    if r.nano_cpus > 0 {
        let quota = i128::from(r.nano_cpus) * i128::from(CPU_PERIOD) / 1_000_000_000;
        cpu.set_period(Some(CPU_PERIOD))
            .set_quota(Some(i64::try_from(quota).unwrap_or(i64::MAX)));
    }
    let mut resources = LinuxResources::default();
    resources
        .set_devices(Some(device_rules(privileged)))
        .set_memory((memory != LinuxMemory::default()).then_some(memory))
        .set_cpu((cpu != LinuxCpu::default()).then_some(cpu))
        .set_pids(r.pids_limit.map(|limit| {
            let mut pids = LinuxPids::default();
            pids.set_limit(if limit <= 0 { -1 } else { limit });
            pids
        }));
    Ok(resources)
}

/// One device cgroup rule: `allow` (or deny) `access` to char device
/// `major:minor` (`None` for all devices).
fn rule(allow: bool, device: Option<(i64, i64)>) -> LinuxDeviceCgroup {
    let mut r = LinuxDeviceCgroup::default();
    r.set_allow(allow).set_access(Some("rwm".to_owned()));
    if let Some((major, minor)) = device {
        r.set_typ(Some(LinuxDeviceType::C))
            .set_major(Some(major))
            .set_minor(Some(minor));
    }
    r
}

/// Docker's device rules: everything denied but `/dev/zero`, `null`,
/// `urandom`, `random`, `tty` and `console`, and `/dev/fuse` denied even if
/// the runtime's own defaults allow it (those add `/dev/pts` and `ptmx`);
/// everything allowed for a privileged container.
pub fn device_rules(privileged: bool) -> Vec<LinuxDeviceCgroup> {
    if privileged {
        return vec![rule(true, None)];
    }
    vec![
        rule(false, None),
        rule(true, Some((1, 5))),
        rule(true, Some((1, 3))),
        rule(true, Some((1, 9))),
        rule(true, Some((1, 8))),
        rule(true, Some((5, 0))),
        rule(true, Some((5, 1))),
        rule(false, Some((10, 229))),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> HostFacts {
        HostFacts {
            online_cpus: 2,
            ..HostFacts::default()
        }
    }

    fn resources(r: ResourcesInput) -> Result<LinuxResources, ResourceError> {
        linux_resources(&r, &host(), false, &mut Vec::new())
    }

    #[test]
    fn nothing_set_limits_nothing() {
        let got = resources(ResourcesInput::default()).unwrap();
        assert!(got.memory().is_none() && got.cpu().is_none() && got.pids().is_none());
        assert_eq!(got.devices().as_ref().map(Vec::len), Some(8));
    }

    #[test]
    fn memory_swap_defaults_to_twice_memory() {
        let got = resources(ResourcesInput {
            memory: 512 << 20,
            ..ResourcesInput::default()
        })
        .unwrap();
        let memory = got.memory().unwrap();
        assert_eq!(
            (memory.limit(), memory.swap()),
            (Some(512 << 20), Some(1 << 30))
        );
    }

    #[test]
    fn memory_swap_minus_one_is_unlimited_and_explicit_values_are_kept() {
        let swap = |memory_swap| {
            let r = ResourcesInput {
                memory: 64 << 20,
                memory_swap,
                ..ResourcesInput::default()
            };
            resources(r).unwrap().memory().unwrap().swap()
        };
        assert_eq!(swap(-1), Some(-1));
        assert_eq!(swap(128 << 20), Some(128 << 20));
    }

    #[test]
    fn memory_settings_docker_refuses() {
        let err = |memory, memory_swap| {
            let r = ResourcesInput {
                memory,
                memory_swap,
                ..ResourcesInput::default()
            };
            resources(r).unwrap_err().to_string()
        };
        assert_eq!(err(1 << 20, 0), "Minimum memory limit allowed is 6MB");
        assert_eq!(
            err(64 << 20, 32 << 20),
            "Minimum memoryswap limit should be larger than memory limit, see usage"
        );
        assert_eq!(
            err(0, 64 << 20),
            "You should always set the Memory limit when using Memoryswap limit, see usage"
        );
    }

    #[test]
    fn swap_is_dropped_with_a_warning_where_the_kernel_cannot_limit_it() {
        let mut warnings = Vec::new();
        let host = HostFacts {
            swap_limit_supported: false,
            ..host()
        };
        let r = ResourcesInput {
            memory: 64 << 20,
            ..ResourcesInput::default()
        };
        let got = linux_resources(&r, &host, false, &mut warnings).unwrap();
        assert_eq!(got.memory().unwrap().swap(), Some(-1));
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn cpus_become_a_quota_over_a_100ms_period() {
        let got = resources(ResourcesInput {
            nano_cpus: 1_500_000_000,
            cpu_shares: 512,
            ..ResourcesInput::default()
        })
        .unwrap();
        let cpu = got.cpu().as_ref().unwrap();
        assert_eq!((cpu.quota(), cpu.period()), (Some(150_000), Some(100_000)));
        assert_eq!(cpu.shares(), Some(512));
        let err = resources(ResourcesInput {
            nano_cpus: 3_000_000_000,
            ..ResourcesInput::default()
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"
        );
    }

    #[test]
    fn cpu_shares_are_clamped_with_a_warning() {
        let mut warnings = Vec::new();
        let r = ResourcesInput {
            cpu_shares: 1,
            ..ResourcesInput::default()
        };
        let got = linux_resources(&r, &host(), false, &mut warnings).unwrap();
        assert_eq!(got.cpu().as_ref().unwrap().shares(), Some(2));
        assert_eq!(
            warnings,
            ["Changing requested CPUShares of 1 to minimum allowed of 2"]
        );
    }

    #[test]
    fn pids_limit_zero_or_less_is_unlimited() {
        let pids = |limit| {
            let r = ResourcesInput {
                pids_limit: Some(limit),
                ..ResourcesInput::default()
            };
            resources(r).unwrap().pids().unwrap().limit()
        };
        assert_eq!(pids(100), 100);
        assert_eq!(pids(0), -1);
        assert_eq!(pids(-1), -1);
    }

    #[test]
    fn device_rules_deny_all_but_dockers_list_unless_privileged() {
        let rules = device_rules(false);
        assert_eq!(rules.len(), 8);
        assert!(!rules[0].allow() && rules[0].major().is_none());
        let allowed: Vec<_> = rules
            .iter()
            .filter(|r| r.allow())
            .map(|r| (r.major().unwrap(), r.minor().unwrap()))
            .collect();
        assert_eq!(allowed, [(1, 5), (1, 3), (1, 9), (1, 8), (5, 0), (5, 1)]);
        assert_eq!(rules[7].to_string(), "c 10:229 rwm");
        let privileged = device_rules(true);
        assert_eq!(privileged.len(), 1);
        assert!(privileged[0].allow());
    }
}
