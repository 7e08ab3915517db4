//! netd's configuration file (`/etc/netd/netd.toml` by default).
//!
//! ```toml
//! log-level = "info"
//!
//! # Like Docker's default-address-pools; replaces the built-in pools.
//! [[default-address-pools]]
//! base = "10.200.0.0/16"
//! size = 24
//!
//! # The predefined `bridge` network.
//! [default-bridge]
//! name = "berth0"
//! subnet = "10.199.0.0/24"   # default: the first free default pool
//! mtu = 1500
//! ```
//!
//! A missing file means every default; an unreadable or invalid one stops
//! netd with a message naming the file and the problem.

use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::Deserialize;

/// The parsed file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    /// `error`, `warn`, `info`, `debug` or `trace`.
    pub log_level: Option<String>,
    /// `false`: never touch the forwarding sysctls (and refuse to start when
    /// forwarding is off).
    pub ip_forward: Option<bool>,
    /// Replaces the built-in default address pools when not empty.
    #[serde(default)]
    pub default_address_pools: Vec<PoolEntry>,
    /// The predefined `bridge` network.
    #[serde(default)]
    pub default_bridge: DefaultBridge,
}

/// One `[[default-address-pools]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolEntry {
    /// The range carved.
    pub base: IpNet,
    /// Prefix length of each subnet.
    pub size: u8,
}

/// `[default-bridge]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DefaultBridge {
    /// Linux bridge name.
    #[serde(default = "default_bridge_name")]
    pub name: String,
    /// Subnet; the first free default pool when absent.
    pub subnet: Option<IpNet>,
    /// MTU.
    pub mtu: Option<u32>,
}

impl Default for DefaultBridge {
    fn default() -> Self {
        Self {
            name: default_bridge_name(),
            subnet: None,
            mtu: None,
        }
    }
}

fn default_bridge_name() -> String {
    "berth0".into()
}

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("configuration file {path}: {reason}")]
pub struct ConfigError {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

impl Config {
    /// Reads `path`; a missing file gives the defaults.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let err = |reason: String| ConfigError {
            path: path.display().to_string(),
            reason,
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(err(e.to_string())),
        };
        let cfg: Self = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
        cfg.ipam_config().map_err(|e| err(e.to_string()))?;
        Ok(cfg)
    }

    /// The IPAM default pools this configuration asks for, plus an IPv6
    /// unique-local /48 derived from the machine's id when none is IPv6.
    pub fn ipam_config(&self) -> Result<ipam::Config, ipam::IpamError> {
        let mut c = ipam::Config::with_host_ula(&machine_id());
        if !self.default_address_pools.is_empty() {
            let pools = self
                .default_address_pools
                .iter()
                .map(|p| ipam::DefaultPool::new(p.base, p.size))
                .collect::<Result<Vec<_>, _>>()?;
            let has_v6 = pools.iter().any(|p| p.family() == ipam::Family::V6);
            let ula = c.local.pop();
            c.local = pools;
            if !has_v6 {
                c.local.extend(ula);
            }
        }
        Ok(c)
    }
}

/// The machine's identity (`/etc/machine-id`), or the hostname without one.
fn machine_id() -> Vec<u8> {
    std::fs::read("/etc/machine-id")
        .or_else(|_| std::fs::read("/proc/sys/kernel/hostname"))
        .unwrap_or_default()
}

/// Where netd keeps things.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// Persistent state (`/var/lib/netd`).
    pub data_root: PathBuf,
    /// Runtime state (`/run/netd`): netns files, sandbox files.
    pub exec_root: PathBuf,
}

impl Paths {
    /// The state file.
    pub fn db(&self) -> PathBuf {
        self.data_root.join("netd.db")
    }
    /// Directory of sandbox namespace files.
    pub fn netns_dir(&self) -> PathBuf {
        self.exec_root.join("netns")
    }
    /// Directory of sandboxes' rendered files.
    pub fn sandboxes_dir(&self) -> PathBuf {
        self.exec_root.join("sandboxes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_gives_defaults() {
        let c = Config::load(Path::new("/nonexistent/netd.toml")).unwrap();
        assert_eq!(c.default_bridge.name, "berth0");
        let ipam = c.ipam_config().unwrap();
        assert_eq!(ipam.local.len(), ipam::Config::default().local.len() + 1);
    }

    #[test]
    fn pools_replace_the_builtin_ones_and_keep_a_v6_pool() {
        let c: Config = toml::from_str(
            "[[default-address-pools]]\nbase = \"10.200.0.0/16\"\nsize = 24\n\
             [default-bridge]\nname = \"br0\"\nmtu = 1400\n",
        )
        .unwrap();
        let ipam = c.ipam_config().unwrap();
        assert_eq!(
            ipam.local[0].base,
            "10.200.0.0/16".parse::<IpNet>().unwrap()
        );
        assert_eq!(ipam.local.len(), 2);
        assert_eq!(ipam.local[1].family(), ipam::Family::V6);
        assert_eq!(c.default_bridge.mtu, Some(1400));
    }

    #[test]
    fn invalid_files_name_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("netd.toml");
        std::fs::write(&p, "bogus-key = 1\n").unwrap();
        let e = Config::load(&p).unwrap_err().to_string();
        assert!(e.contains("netd.toml") && e.contains("bogus-key"), "{e}");
        std::fs::write(
            &p,
            "[[default-address-pools]]\nbase = \"10.0.0.0/16\"\nsize = 8\n",
        )
        .unwrap();
        let e = Config::load(&p).unwrap_err().to_string();
        assert!(e.contains("size"), "{e}");
    }
}
