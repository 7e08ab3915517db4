//! A recording kernel for the controller's unit tests: it keeps what a real
//! kernel would hold (namespaces, bridges, veths, default routes, nftables
//! set elements, held ports, files) as plain data, counts every step, and
//! fails the step it is told to fail.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use drivers::KernelError;
use drivers::bridge::{BridgeConfig, EndpointConfig};
use drivers::firewall::Change;
use ipnet::IpNet;
use netd_api::Protocol;
use serde_json::Value;

use super::kernel::{KFuture, Kernel, Netns, PortHold};

/// A controller over a fresh fake kernel, in a temporary directory of its
/// own, its predefined networks made: where the unit tests and the fuzz
/// targets start. The directory lives as long as the returned guard.
///
/// # Panics
/// When the directory or the store cannot be made (nothing can run then).
pub(crate) async fn controller() -> (tempfile::TempDir, FakeKernel, super::Controller) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let paths = crate::config::Paths {
        data_root: dir.path().join("data"),
        exec_root: dir.path().join("run"),
    };
    std::fs::create_dir_all(&paths.data_root).expect("the data root");
    let fake = FakeKernel::default();
    let mut c = super::Controller::assemble(
        paths,
        crate::config::Config::default(),
        Box::new(fake.clone()),
    )
    .expect("the controller assembles");
    c.ensure_predefined().await.expect("predefined networks");
    (dir, fake, c)
}

/// What the fake kernel holds; compared before and after an operation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Held {
    /// Bound namespace files.
    pub(crate) netns: BTreeSet<PathBuf>,
    /// Bridges by name, with their gateway addresses.
    pub(crate) bridges: BTreeMap<String, Vec<IpNet>>,
    /// Live veths by host name: (bridge, sandbox namespace, inner name).
    pub(crate) veths: BTreeMap<String, (String, PathBuf, String)>,
    /// Default routes by namespace: (interface, gateway).
    pub(crate) routes: BTreeMap<PathBuf, BTreeSet<(String, IpAddr)>>,
    /// nftables set and map elements, one string each.
    pub(crate) elements: BTreeSet<String>,
    /// Held host ports.
    pub(crate) ports: BTreeSet<(Option<IpAddr>, bool, Protocol, u16)>,
    /// Written files.
    pub(crate) files: BTreeMap<PathBuf, String>,
    /// Made directories.
    pub(crate) dirs: BTreeSet<PathBuf>,
}

impl Held {
    /// Routes through an interface go with it.
    fn drop_routes(&mut self, ns: &Path, ifname: &str) {
        if let Some(r) = self.routes.get_mut(ns) {
            r.retain(|(i, _)| i != ifname);
            if r.is_empty() {
                self.routes.remove(ns);
            }
        }
    }
}

#[derive(Debug, Default)]
struct State {
    held: Held,
    steps: usize,
    fail_at: Option<usize>,
    failed: Option<String>,
}

/// The fake; clones share one state.
#[derive(Debug, Clone, Default)]
pub(crate) struct FakeKernel(Arc<Mutex<State>>);

impl FakeKernel {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts one step; fails it if it is the chosen one; else applies `f`.
    fn step<T>(&self, what: &str, f: impl FnOnce(&mut Held) -> T) -> Result<T, KernelError> {
        let mut s = self.lock();
        let n = s.steps;
        s.steps += 1;
        if s.fail_at == Some(n) {
            s.failed = Some(format!("{n}: {what}"));
            return Err(KernelError::Sys {
                op: format!("injected failure at step {n} ({what})"),
                source: std::io::Error::from_raw_os_error(libc::EIO),
            });
        }
        Ok(f(&mut s.held))
    }
}

#[cfg(test)]
impl FakeKernel {
    /// What the kernel holds now.
    pub(crate) fn held(&self) -> Held {
        self.lock().held.clone()
    }

    /// Steps taken so far.
    pub(crate) fn steps(&self) -> usize {
        self.lock().steps
    }

    /// Fails the step numbered `n` (counting from the first step ever).
    pub(crate) fn fail_at(&self, n: Option<usize>) {
        let mut s = self.lock();
        s.fail_at = n;
        s.failed = None;
    }

    /// The step that was failed, if the failure was reached.
    pub(crate) fn failed(&self) -> Option<String> {
        self.lock().failed.clone()
    }
}

/// Applies an nftables JSON batch to a set of element strings: table
/// deletions clear their family's elements, element additions and
/// deletions add and remove; the fixed rules are not modelled.
fn apply_batch(elements: &mut BTreeSet<String>, json: &str) {
    let doc: Value = serde_json::from_str(json).expect("batches are JSON");
    let cmds = doc["nftables"].as_array().cloned().unwrap_or_default();
    for cmd in cmds {
        let Some((verb, body)) = cmd.as_object().and_then(|o| o.iter().next()) else {
            continue;
        };
        if let Some(t) = body.get("table").filter(|_| verb == "delete") {
            let prefix = format!("{} {} ", t["family"], t["name"]);
            elements.retain(|e| !e.starts_with(&prefix));
            continue;
        }
        let Some(el) = body.get("element") else {
            continue;
        };
        let prefix = format!("{} {} {}", el["family"], el["table"], el["name"]);
        for item in el["elem"].as_array().cloned().unwrap_or_default() {
            let key = format!("{prefix} {item}");
            match verb.as_str() {
                "add" => {
                    elements.insert(key);
                }
                "delete" => {
                    elements.remove(&key);
                }
                _ => {}
            }
        }
    }
}

/// Keeps a fake port held until dropped.
struct FakePort {
    kernel: FakeKernel,
    key: (Option<IpAddr>, bool, Protocol, u16),
}

impl Drop for FakePort {
    fn drop(&mut self) {
        self.kernel.lock().held.ports.remove(&self.key);
    }
}

fn ready<'a, T: Send + 'a>(r: Result<T, KernelError>) -> KFuture<'a, T> {
    Box::pin(std::future::ready(r))
}

impl Kernel for FakeKernel {
    fn route_prefixes(&self) -> KFuture<'_, Vec<IpNet>> {
        ready(self.step("route_prefixes", |_| Vec::new()))
    }

    fn create_bridge<'a>(&'a self, cfg: &'a BridgeConfig, _mark: &'a str) -> KFuture<'a, ()> {
        ready(self.step("create_bridge", |h| {
            h.bridges.insert(cfg.name.clone(), cfg.gateways.clone());
        }))
    }

    fn delete_bridge<'a>(&'a self, name: &'a str) -> KFuture<'a, ()> {
        ready(self.step("delete_bridge", |h| {
            h.bridges.remove(name);
        }))
    }

    fn retire_bridge<'a>(&'a self, name: &'a str, _tombstone: &'a str) -> KFuture<'a, ()> {
        ready(self.step("retire_bridge", |h| {
            h.bridges.remove(name);
        }))
    }

    fn create_netns<'a>(&'a self, path: &'a Path, _label: &'a str) -> KFuture<'a, ()> {
        ready(self.step("create_netns", |h| {
            h.netns.insert(path.to_owned());
        }))
    }

    fn open_netns(&self, path: &Path, _label: &str) -> Result<Netns, KernelError> {
        let own = path == Path::new("/proc/self/ns/net");
        let bound = self.step("open_netns", |h| own || h.netns.contains(path))?;
        if !bound {
            return Err(KernelError::Path {
                op: "opening",
                path: path.to_owned(),
                source: std::io::Error::from_raw_os_error(libc::ENOENT),
            });
        }
        Ok(Netns::detached(path))
    }

    fn remove_netns(&self, path: &Path) -> Result<(), KernelError> {
        self.step("remove_netns", |h| {
            h.netns.remove(path);
            h.routes.remove(path);
        })
    }

    fn join<'a>(
        &'a self,
        bridge: &'a str,
        ns: &'a Netns,
        ep: &'a EndpointConfig,
        _mark: &'a str,
    ) -> KFuture<'a, ()> {
        ready(self.step("join", |h| {
            h.veths.insert(
                ep.host_ifname.clone(),
                (bridge.to_owned(), ns.path.clone(), ep.ifname.clone()),
            );
        }))
    }

    fn leave<'a>(&'a self, host_ifname: &'a str) -> KFuture<'a, ()> {
        ready(self.step("leave", |h| {
            if let Some((_, ns, ifname)) = h.veths.remove(host_ifname) {
                h.drop_routes(&ns, &ifname);
            }
        }))
    }

    fn retire_endpoint<'a>(
        &'a self,
        _ns: Option<&'a Netns>,
        host_ifname: &'a str,
        _ifname: &'a str,
        _tombstone: &'a str,
    ) -> KFuture<'a, ()> {
        ready(self.step("retire_endpoint", |h| {
            if let Some((_, ns, ifname)) = h.veths.remove(host_ifname) {
                h.drop_routes(&ns, &ifname);
            }
        }))
    }

    fn set_default_routes<'a>(
        &'a self,
        ns: &'a Netns,
        ifname: &'a str,
        gateways: &'a [IpAddr],
    ) -> KFuture<'a, ()> {
        ready(self.step("set_default_routes", |h| {
            let routes = h.routes.entry(ns.path.clone()).or_default();
            for gw in gateways {
                routes.retain(|(_, g)| g.is_ipv6() != gw.is_ipv6());
                routes.insert((ifname.to_owned(), *gw));
            }
        }))
    }

    fn apply_firewall(&self, change: Change) -> Result<(), KernelError> {
        let json = change.to_json();
        self.step("apply_firewall", |h| apply_batch(&mut h.elements, &json))
    }

    fn firewall_present(&self) -> bool {
        true
    }

    fn reserve_port(
        &self,
        ip: Option<IpAddr>,
        v6: bool,
        protocol: Protocol,
        port: u16,
    ) -> Result<PortHold, KernelError> {
        let key = self.step("reserve_port", |h| {
            let port = if port == 0 {
                (49152..=u16::MAX).find(|p| !h.ports.iter().any(|k| k.3 == *p))?
            } else {
                port
            };
            let key = (ip, v6, protocol, port);
            h.ports.insert(key).then_some(key)
        })?;
        let key = key.ok_or_else(|| KernelError::Sys {
            op: format!("reserving host port {port}/{protocol}"),
            source: std::io::Error::from_raw_os_error(libc::EADDRINUSE),
        })?;
        let guard = FakePort {
            kernel: self.clone(),
            key,
        };
        Ok(PortHold::new(key.3, Box::new(guard)))
    }

    fn dns_sockets(
        &self,
        _ns: &Path,
        _addr: SocketAddr,
    ) -> Result<(UdpSocket, TcpListener), KernelError> {
        self.step("dns_sockets", |_| ())?;
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        let io = |source| KernelError::Sys {
            op: "binding a fake DNS listener".into(),
            source,
        };
        let udp = UdpSocket::bind(any).map_err(io)?;
        let tcp = TcpListener::bind(any).map_err(io)?;
        Ok((udp, tcp))
    }

    fn write_file(&self, path: &Path, text: &str) -> Result<(), KernelError> {
        self.step("write_file", |h| {
            h.files.insert(path.to_owned(), text.to_owned());
        })
    }

    fn create_dir(&self, path: &Path) -> Result<(), KernelError> {
        self.step("create_dir", |h| {
            h.dirs.insert(path.to_owned());
        })
    }

    fn remove_dir(&self, path: &Path) -> Result<(), KernelError> {
        self.step("remove_dir", |h| {
            h.dirs.remove(path);
            h.files.retain(|f, _| !f.starts_with(path));
        })
    }

    fn sysctl(&self, _key: &[&str]) -> Option<String> {
        Some("1".into())
    }

    fn ensure_sysctl(&self, _key: &[&str], _value: &str) -> Result<bool, KernelError> {
        self.step("ensure_sysctl", |_| false)
    }
}
