//! The container's capabilities: Docker's default set, tweaked by
//! `--cap-add`/`--cap-drop`, or every capability with `--privileged`
//! (moby's `TweakCapabilities`).

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

/// A `--cap-add`/`--cap-drop` name that is no capability of this kernel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown capability: {0:?}")]
pub struct CapabilityError(pub String);

/// The capabilities the container keeps, in order: every one the kernel
/// knows (up to `cap_last_cap`, from `/proc/sys/kernel/cap_last_cap`) when
/// `privileged`; else Docker's defaults less `drop` plus `add`. Names are
/// case-insensitive, with or without `CAP_`; `ALL` in `add` starts from every
/// capability, `ALL` in `drop` from none.
pub fn capabilities(
    add: &[String],
    drop: &[String],
    privileged: bool,
    cap_last_cap: u8,
) -> Result<Vec<Capability>, CapabilityError> {
    let known = &ALL[..ALL.len().min(usize::from(cap_last_cap) + 1)];
    let all = || known.iter().map(|(name, _)| *name).collect::<Vec<_>>();
    let names: Vec<&str> = if privileged {
        all()
    } else if add.is_empty() && drop.is_empty() {
        DEFAULT_CAPABILITIES.to_vec()
    } else {
        let add = normalize(add, known)?;
        let drop = normalize(drop, known)?;
        let mut names = if add.contains(&"ALL") {
            all()
        } else if drop.contains(&"ALL") {
            Vec::new()
        } else {
            DEFAULT_CAPABILITIES.to_vec()
        };
        names.retain(|name| !drop.contains(name));
        for name in add {
            if name != "ALL" && !names.contains(&name) {
                names.push(name);
            }
        }
        names
    };
    Ok(names
        .into_iter()
        .filter_map(|name| known.iter().find(|(n, _)| *n == name).map(|(_, c)| *c))
        .collect())
}

/// Capability names as `CAP_…` names of `known`, `ALL` kept.
fn normalize(
    names: &[String],
    known: &[(&'static str, Capability)],
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
            known
                .iter()
                .find(|(n, _)| *n == full)
                .map(|(n, _)| *n)
                .ok_or(CapabilityError(full))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::strings;

    fn caps(add: &[&str], drop: &[&str]) -> Result<Vec<Capability>, CapabilityError> {
        capabilities(&strings(add), &strings(drop), false, 40)
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
    fn privileged_gets_every_capability_the_kernel_knows() {
        assert_eq!(capabilities(&[], &[], true, 40).unwrap().len(), 41);
        let older_kernel = capabilities(&[], &[], true, 37).unwrap();
        assert_eq!(older_kernel.len(), 38);
        assert!(!older_kernel.contains(&Capability::Bpf));
    }

    #[test]
    fn unknown_capabilities_are_refused_with_dockers_message() {
        assert_eq!(
            caps(&["foo"], &[]).unwrap_err().to_string(),
            r#"unknown capability: "CAP_FOO""#
        );
        assert_eq!(
            capabilities(&strings(&["bpf"]), &[], false, 37)
                .unwrap_err()
                .to_string(),
            r#"unknown capability: "CAP_BPF""#
        );
    }
}
