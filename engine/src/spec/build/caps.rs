//! The container's capabilities: Docker's default set, tweaked by
//! `--cap-add`/`--cap-drop`, or every capability with `--privileged`
//! (moby's `TweakCapabilities`), always within what the host can give: the
//! capabilities of the engine's own bounding set.

use oci_spec::runtime::Capability;

/// Every capability by its kernel number (`CAP_CHOWN` is 0).
const ALL: [(&str, Capability); 41] = [
    ("CAP_CHOWN", Capability::Chown),
    ("CAP_DAC_OVERRIDE", Capability::DacOverride),
    ("CAP_DAC_READ_SEARCH", Capability::DacReadSearch),
    ("CAP_FOWNER", Capability::Fowner),
    ("CAP_FSETID", Capability::Fsetid),
    ("CAP_KILL", Capability::Kill),
    ("CAP_SETGID", Capability::Setgid),
    ("CAP_SETUID", Capability::Setuid),
    ("CAP_SETPCAP", Capability::Setpcap),
    ("CAP_LINUX_IMMUTABLE", Capability::LinuxImmutable),
    ("CAP_NET_BIND_SERVICE", Capability::NetBindService),
    ("CAP_NET_BROADCAST", Capability::NetBroadcast),
    ("CAP_NET_ADMIN", Capability::NetAdmin),
    ("CAP_NET_RAW", Capability::NetRaw),
    ("CAP_IPC_LOCK", Capability::IpcLock),
    ("CAP_IPC_OWNER", Capability::IpcOwner),
    ("CAP_SYS_MODULE", Capability::SysModule),
    ("CAP_SYS_RAWIO", Capability::SysRawio),
    ("CAP_SYS_CHROOT", Capability::SysChroot),
    ("CAP_SYS_PTRACE", Capability::SysPtrace),
    ("CAP_SYS_PACCT", Capability::SysPacct),
    ("CAP_SYS_ADMIN", Capability::SysAdmin),
    ("CAP_SYS_BOOT", Capability::SysBoot),
    ("CAP_SYS_NICE", Capability::SysNice),
    ("CAP_SYS_RESOURCE", Capability::SysResource),
    ("CAP_SYS_TIME", Capability::SysTime),
    ("CAP_SYS_TTY_CONFIG", Capability::SysTtyConfig),
    ("CAP_MKNOD", Capability::Mknod),
    ("CAP_LEASE", Capability::Lease),
    ("CAP_AUDIT_WRITE", Capability::AuditWrite),
    ("CAP_AUDIT_CONTROL", Capability::AuditControl),
    ("CAP_SETFCAP", Capability::Setfcap),
    ("CAP_MAC_OVERRIDE", Capability::MacOverride),
    ("CAP_MAC_ADMIN", Capability::MacAdmin),
    ("CAP_SYSLOG", Capability::Syslog),
    ("CAP_WAKE_ALARM", Capability::WakeAlarm),
    ("CAP_BLOCK_SUSPEND", Capability::BlockSuspend),
    ("CAP_AUDIT_READ", Capability::AuditRead),
    ("CAP_PERFMON", Capability::Perfmon),
    ("CAP_BPF", Capability::Bpf),
    ("CAP_CHECKPOINT_RESTORE", Capability::CheckpointRestore),
];

/// Docker's default capabilities, in Docker's order.
pub const DEFAULT_CAPABILITIES: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// A `--cap-add`/`--cap-drop` name refused, in Docker's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CapabilityError {
    /// No capability of this kernel has the name.
    #[error("unknown capability: {0:?}")]
    Unknown(String),
    /// Asked for (`--cap-add`), known to the kernel, but not in the
    /// engine's own bounding set, so the runtime could not give it.
    #[error(
        "capability not supported by your kernel or not available in the current environment: {0:?}"
    )]
    Unavailable(String),
}

/// `--cap-add` or `--cap-drop` refused when a container is made, as
/// Docker's daemon words it (`invalid CapAdd: …`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidCapabilities {
    /// A `--cap-add` name.
    #[error("invalid CapAdd: {0}")]
    Add(CapabilityError),
    /// A `--cap-drop` name.
    #[error("invalid CapDrop: {0}")]
    Drop(CapabilityError),
}

/// The capabilities this host can give a container: those its kernel knows,
/// and of those, the ones the engine itself holds in its bounding set. The
/// runtime, a child of the engine, inherits that set and cannot give a
/// container anything outside it (runc and crun fail with `operation not
/// permitted` when asked to), so a privileged container gets this set, as
/// Docker's and Podman's do, not every capability the kernel knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostCapabilities {
    /// `/proc/sys/kernel/cap_last_cap`: the highest capability this kernel
    /// knows; a name past it is unknown.
    pub last_cap: u8,
    /// The engine's bounding set, one bit per capability (`CapBnd` in
    /// `/proc/self/status`).
    pub bounding: u64,
}

impl HostCapabilities {
    /// A kernel whose last capability is `last_cap`, every one of them in
    /// the bounding set (what is assumed where the set cannot be read, as
    /// Docker does).
    pub fn all(last_cap: u8) -> Self {
        let bits = u32::from(last_cap) + 1;
        let bounding = if bits >= 64 {
            u64::MAX
        } else {
            (1u64 << bits) - 1
        };
        Self { last_cap, bounding }
    }

    /// `last_cap` with the bounding set of a `/proc/PID/status` text, or
    /// every capability when the text has no readable `CapBnd` line.
    pub fn from_status(last_cap: u8, status: &str) -> Self {
        let all = Self::all(last_cap);
        match bounding_set(status) {
            Some(set) => Self {
                last_cap,
                bounding: set & all.bounding,
            },
            None => all,
        }
    }

    /// The capabilities the kernel knows, in kernel order.
    fn known(&self) -> &'static [(&'static str, Capability)] {
        &ALL[..ALL.len().min(usize::from(self.last_cap) + 1)]
    }

    /// Whether the bounding set holds capability number `index`.
    fn holds(&self, index: usize) -> bool {
        index < 64 && self.bounding & (1u64 << index) != 0
    }

    /// The names of the capabilities held, in kernel order.
    fn held(&self) -> Vec<&'static str> {
        self.known()
            .iter()
            .enumerate()
            .filter(|(i, _)| self.holds(*i))
            .map(|(_, (name, _))| *name)
            .collect()
    }

    /// The names of every capability the host can give, in kernel order:
    /// what a privileged process gets.
    pub fn names(&self) -> Vec<&'static str> {
        self.held()
    }

    /// Whether `name` (a known `CAP_…` name) is held.
    fn holds_name(&self, name: &str) -> bool {
        self.known()
            .iter()
            .position(|(n, _)| *n == name)
            .is_some_and(|i| self.holds(i))
    }
}

/// The `CapBnd` mask of a `/proc/PID/status` text.
fn bounding_set(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("CapBnd:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
}

/// Checks the names of `--cap-add` and `--cap-drop` when a container is
/// made, privileged or not, as Docker's daemon does: each must be a
/// capability of this kernel (or `ALL`), and each added one must be held
/// by the engine. Dropping one the engine does not hold is harmless and
/// allowed (Docker refuses it too; a script that drops a capability for
/// safety should not fail on a host that lacks it anyway).
pub fn check_requested(
    add: &[String],
    drop: &[String],
    host: &HostCapabilities,
) -> Result<(), InvalidCapabilities> {
    normalize(add, host, true).map_err(InvalidCapabilities::Add)?;
    normalize(drop, host, false).map_err(InvalidCapabilities::Drop)?;
    Ok(())
}

/// The capabilities the container keeps, in order: with `privileged`,
/// every one the host can give ([`HostCapabilities`]); else Docker's
/// defaults (those the host can give) less `drop` plus `add`. Names are
/// case-insensitive, with or without `CAP_`; `ALL` in `add` starts from
/// every capability the host can give, `ALL` in `drop` from none. Never
/// more than the host can give: an added capability it cannot is refused.
pub fn capabilities(
    add: &[String],
    drop: &[String],
    privileged: bool,
    host: &HostCapabilities,
) -> Result<Vec<Capability>, CapabilityError> {
    let held = host.held();
    let names: Vec<&str> = if privileged {
        held
    } else {
        let defaults = || {
            DEFAULT_CAPABILITIES
                .iter()
                .copied()
                .filter(|name| host.holds_name(name))
                .collect::<Vec<_>>()
        };
        if add.is_empty() && drop.is_empty() {
            defaults()
        } else {
            let add = normalize(add, host, true)?;
            let drop = normalize(drop, host, false)?;
            let mut names = if add.contains(&"ALL") {
                held
            } else if drop.contains(&"ALL") {
                Vec::new()
            } else {
                defaults()
            };
            names.retain(|name| !drop.contains(name));
            for name in add {
                if name != "ALL" && !names.contains(&name) {
                    names.push(name);
                }
            }
            names
        }
    };
    Ok(names
        .into_iter()
        .filter_map(|name| host.known().iter().find(|(n, _)| *n == name))
        .map(|(_, c)| *c)
        .collect())
}

/// Capability names as `CAP_…` names the kernel knows, `ALL` kept; with
/// `held`, each must also be in the host's bounding set.
fn normalize(
    names: &[String],
    host: &HostCapabilities,
    held: bool,
) -> Result<Vec<&'static str>, CapabilityError> {
    names
        .iter()
        .map(|name| {
            let upper = name.to_uppercase();
            if upper == "ALL" {
                return Ok("ALL");
            }
            let full = if upper.starts_with("CAP_") {
                upper
            } else {
                format!("CAP_{upper}")
            };
            match host.known().iter().position(|(n, _)| *n == full) {
                None => Err(CapabilityError::Unknown(full)),
                Some(i) if held && !host.holds(i) => Err(CapabilityError::Unavailable(full)),
                Some(i) => Ok(host.known()[i].0),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::strings;

    const SYS_RESOURCE: usize = 24;

    /// This machine's kind of host: kernel 6.x (41 capabilities), the
    /// engine without `CAP_SYS_RESOURCE` in its bounding set.
    fn lacking_sys_resource() -> HostCapabilities {
        HostCapabilities::from_status(40, "Name:\tberth\nCapBnd:\t000001fffeffffff\n")
    }

    fn caps(add: &[&str], drop: &[&str]) -> Result<Vec<Capability>, CapabilityError> {
        capabilities(
            &strings(add),
            &strings(drop),
            false,
            &HostCapabilities::all(40),
        )
    }

    #[test]
    fn default_capabilities_are_dockers_fourteen() {
        let got = caps(&[], &[]).unwrap();
        assert_eq!(got.len(), 14);
        assert_eq!(got[0], Capability::Chown);
        assert!(got.contains(&Capability::NetRaw));
        assert!(!got.contains(&Capability::SysAdmin));
    }

    #[test]
    fn cap_add_and_drop_take_names_in_any_case_with_or_without_cap() {
        let got = caps(&["sys_admin", "CAP_NET_ADMIN"], &["net_raw", "Cap_Mknod"]).unwrap();
        assert!(got.contains(&Capability::SysAdmin));
        assert!(got.contains(&Capability::NetAdmin));
        assert!(!got.contains(&Capability::NetRaw));
        assert!(!got.contains(&Capability::Mknod));
        assert_eq!(got.len(), 14);
    }

    #[test]
    fn all_adds_every_capability_or_drops_them_all() {
        assert_eq!(caps(&["ALL"], &[]).unwrap().len(), 41);
        assert_eq!(caps(&["all"], &["sys_admin"]).unwrap().len(), 40);
        assert_eq!(caps(&["chown"], &["ALL"]).unwrap(), [Capability::Chown]);
        assert!(caps(&[], &["ALL"]).unwrap().is_empty());
    }

    #[test]
    fn privileged_gets_every_capability_the_kernel_knows_when_the_engine_holds_them() {
        let all = HostCapabilities::all(40);
        assert_eq!(capabilities(&[], &[], true, &all).unwrap().len(), 41);
        let older_kernel = capabilities(&[], &[], true, &HostCapabilities::all(37)).unwrap();
        assert_eq!(older_kernel.len(), 38);
        assert!(!older_kernel.contains(&Capability::Bpf));
    }

    #[test]
    fn privileged_gets_the_engines_bounding_set_and_no_more() {
        let host = lacking_sys_resource();
        let got = capabilities(&[], &[], true, &host).unwrap();
        assert_eq!(got.len(), 40);
        assert!(!got.contains(&Capability::SysResource));
        assert!(got.contains(&Capability::SysAdmin));
        // In kernel order, as the set reads.
        assert_eq!(got[0], Capability::Chown);
        assert_eq!(got[39], Capability::CheckpointRestore);
        // --cap-add and --cap-drop change nothing for a privileged
        // container, as with Docker.
        let tweaked = capabilities(&strings(&["ALL"]), &strings(&["NET_RAW"]), true, &host);
        assert_eq!(tweaked.unwrap(), got);
    }

    #[test]
    fn cap_add_all_gives_the_bounding_set_and_cap_drop_still_applies() {
        let host = lacking_sys_resource();
        let got = capabilities(&strings(&["ALL"]), &strings(&["net_raw"]), false, &host).unwrap();
        assert_eq!(got.len(), 39);
        assert!(!got.contains(&Capability::SysResource));
        assert!(!got.contains(&Capability::NetRaw));
        assert!(got.contains(&Capability::NetAdmin));
    }

    #[test]
    fn adding_a_capability_the_engine_lacks_is_refused_by_name() {
        let host = lacking_sys_resource();
        for name in ["SYS_RESOURCE", "cap_sys_resource"] {
            assert_eq!(
                capabilities(&strings(&[name]), &[], false, &host),
                Err(CapabilityError::Unavailable("CAP_SYS_RESOURCE".into()))
            );
        }
        assert_eq!(
            check_requested(&strings(&["sys_resource"]), &[], &host)
                .unwrap_err()
                .to_string(),
            r#"invalid CapAdd: capability not supported by your kernel or not available in the current environment: "CAP_SYS_RESOURCE""#
        );
        // Asked for along with --privileged, it is refused all the same.
        assert!(check_requested(&strings(&["SYS_RESOURCE", "ALL"]), &[], &host).is_err());
        assert!(check_requested(&strings(&["ALL", "SYS_ADMIN"]), &[], &host).is_ok());
    }

    #[test]
    fn dropping_a_capability_the_engine_lacks_is_harmless() {
        let host = lacking_sys_resource();
        assert!(check_requested(&[], &strings(&["SYS_RESOURCE"]), &host).is_ok());
        let got = capabilities(&[], &strings(&["sys_resource"]), false, &host).unwrap();
        assert_eq!(got.len(), 14);
    }

    #[test]
    fn defaults_the_engine_lacks_are_left_out() {
        let no_net_raw = HostCapabilities {
            last_cap: 40,
            bounding: HostCapabilities::all(40).bounding & !(1 << 13),
        };
        let got = capabilities(&[], &[], false, &no_net_raw).unwrap();
        assert_eq!(got.len(), 13);
        assert!(!got.contains(&Capability::NetRaw));
    }

    #[test]
    fn the_bounding_set_is_read_from_capbnd_within_the_kernels_capabilities() {
        let host = lacking_sys_resource();
        assert_eq!(host.bounding, 0x1ff_feff_ffff);
        assert!(!host.holds(SYS_RESOURCE));
        assert!(host.holds(0));
        // Bits past the kernel's last capability are not capabilities.
        let odd = HostCapabilities::from_status(37, "CapBnd:\tffffffffffffffff\n");
        assert_eq!(odd.bounding, (1 << 38) - 1);
        // Without a readable set, every capability the kernel knows (as
        // Docker assumes).
        assert_eq!(
            HostCapabilities::from_status(40, "Name:\tx\n"),
            HostCapabilities::all(40)
        );
        assert_eq!(
            HostCapabilities::from_status(40, "CapBnd:\tzz\n"),
            HostCapabilities::all(40)
        );
        assert_eq!(HostCapabilities::all(63).bounding, u64::MAX);
    }

    #[test]
    fn unknown_capabilities_are_refused_with_dockers_message() {
        assert_eq!(
            caps(&["foo"], &[]).unwrap_err().to_string(),
            r#"unknown capability: "CAP_FOO""#
        );
        assert_eq!(
            capabilities(&strings(&["bpf"]), &[], false, &HostCapabilities::all(37))
                .unwrap_err()
                .to_string(),
            r#"unknown capability: "CAP_BPF""#
        );
        assert_eq!(
            check_requested(&[], &strings(&["foo"]), &HostCapabilities::all(40))
                .unwrap_err()
                .to_string(),
            r#"invalid CapDrop: unknown capability: "CAP_FOO""#
        );
    }
}
