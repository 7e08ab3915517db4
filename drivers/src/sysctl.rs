//! Kernel settings netd needs, set one at a time and only when needed.

use std::path::PathBuf;

use crate::KernelError;

/// The file of a sysctl key such as `net.ipv4.ip_forward` (interface names
/// may contain dots, so keys are given as path segments).
fn path(segments: &[&str]) -> PathBuf {
    let mut p = PathBuf::from("/proc/sys");
    for s in segments {
        p.push(s);
    }
    p
}

/// Reads a sysctl; `None` when it does not exist.
pub fn get(segments: &[&str]) -> Option<String> {
    std::fs::read_to_string(path(segments))
        .ok()
        .map(|s| s.trim().to_owned())
}

/// Sets a sysctl to `value` unless it already has it; returns whether it
/// changed anything.
pub fn ensure(segments: &[&str], value: &str) -> Result<bool, KernelError> {
    if get(segments).as_deref() == Some(value) {
        return Ok(false);
    }
    let p = path(segments);
    std::fs::write(&p, value).map_err(|source| KernelError::Path {
        op: "setting sysctl",
        path: p,
        source,
    })?;
    Ok(true)
}
