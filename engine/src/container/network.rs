//! A container's network through netd: a sandbox (its network namespace,
//! hosts and resolv.conf) made when the container starts and removed when
//! it stops, as Docker does, connected to the networks asked for. Every
//! removal goes through [`Netd::detach`], which remembers the ones netd
//! could not be asked for (see [`super::pending`]). A
//! container with no network (`--network none`) needs no sandbox: its
//! runtime makes the loopback-only namespace and berth writes the two
//! files with netd's renderer, which saves a round trip to netd at each
//! start and stop.

use netd_api::blocking::Client;
use netd_api::client::ClientError;
use netd_api::types::{
    EndpointIpamConfig, EndpointSettings, NetworkConnectRequest, SandboxCreateRequest,
    SandboxOwner, SandboxResource,
};

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::error::{ContainerError, Result};
use super::pending::Pending;
use super::record::{Container, NetworkSettings};
use crate::spec::build::NetworkNamespace;

/// What the runtime needs from the sandbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attached {
    /// The namespace: netd's or another container's to join, the host's,
    /// or a new one the runtime makes.
    pub netns: NetworkNamespace,
    /// netd's resolv.conf.
    pub resolv_conf: String,
    /// netd's hosts.
    pub hosts: String,
    /// For inspect.
    pub settings: NetworkSettings,
}

/// The network a `NetworkMode` names: `default` is the `bridge` network.
pub fn mode_network(mode: &str) -> &str {
    match mode {
        "" | "default" => "bridge",
        other => other,
    }
}

/// Whether the container runs with no network and without a netd sandbox:
/// `--network none`, unless an `--add-host` names `host-gateway` (an
/// address only netd knows).
pub fn is_private(c: &Container) -> bool {
    c.host_config.network_mode == "none"
        && !c
            .host_config
            .extra_hosts
            .iter()
            .any(|h| netd_api::files::names_host_gateway(h))
}

/// The network of a container with no network: a namespace the runtime
/// makes, and `hosts` and `resolv.conf` written in the container's
/// directory `dir` from the host's `/etc/resolv.conf`.
pub fn private(c: &Container, dir: &Path) -> Result<Attached> {
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let files = netd_api::files::private_sandbox_files(
        &host,
        &c.host_config.extra_hosts,
        &c.host_config.dns,
        &c.host_config.dns_search,
        &c.host_config.dns_options,
    )
    .map_err(|reason| ContainerError::SandboxFiles {
        id: c.id.clone(),
        reason,
    })?;
    let hosts = dir.join("hosts");
    let resolv_conf = dir.join("resolv.conf");
    std::fs::write(&hosts, files.hosts).map_err(ContainerError::io("write", &hosts))?;
    std::fs::write(&resolv_conf, files.resolv_conf)
        .map_err(ContainerError::io("write", &resolv_conf))?;
    Ok(Attached {
        netns: NetworkNamespace::New,
        resolv_conf: resolv_conf.display().to_string(),
        hosts: hosts.display().to_string(),
        settings: NetworkSettings::default(),
    })
}

/// netd's sandboxes for one berth process (the shim of a container, or a
/// command): made, connected and removed through netd's API. A removal
/// netd could not be asked for is remembered under the run root and made
/// later (see [`super::pending`]), so a sandbox never outlives its
/// container because netd was away when the container stopped.
#[derive(Debug)]
pub struct Netd {
    client: Client,
    pending: Pending,
}

/// How long a command waits for netd while it completes remembered
/// removals: a netd that does not answer leaves them for later.
const PENDING_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the shim keeps trying to make its container's remembered
/// removal before it leaves it to the next command (and to netd).
pub const SETTLE_LIMIT: Duration = Duration::from_secs(10);

impl Netd {
    /// A client of the netd at `host`, remembering removals under
    /// `runroot`.
    pub fn connect(host: &str, runroot: &Path) -> Result<Self, ClientError> {
        Ok(Self {
            client: Client::new(host)?,
            pending: Pending::new(runroot),
        })
    }

    /// Makes container `c`'s sandbox, owned by this process (the shim: netd
    /// removes the sandbox if the shim dies with it), and connects it (all
    /// or nothing). Not for `container:` mode, which joins another
    /// container's sandbox.
    pub fn attach(&self, c: &Container) -> Result<Attached> {
        // A removal remembered for the container's last sandbox goes
        // first, and no sandbox is made while it is remembered: it would
        // be the one removed later.
        self.complete_one(&c.id)?;
        let req = create_request(c, SandboxOwner::current());
        match self.client.sandbox_create(&req) {
            Ok(_) => {}
            // Refused, or never sent: nothing was made.
            Err(
                e @ (ClientError::Api { .. }
                | ClientError::Connect { .. }
                | ClientError::BadHost(_)),
            ) => {
                return Err(ContainerError::netd(&c.id)(e));
            }
            // Lost on the way back (netd died answering): it may exist.
            Err(e) => {
                self.detach(&c.id);
                return Err(ContainerError::netd(&c.id)(e));
            }
        }
        match self.connect_networks(c) {
            Ok(sb) => Ok(attached(&req, sb)),
            Err(e) => {
                self.detach(&c.id);
                Err(e)
            }
        }
    }

    /// Connects the new sandbox of `c` to its networks; the sandbox as
    /// netd then shows it.
    fn connect_networks(&self, c: &Container) -> Result<SandboxResource> {
        let mode = mode_network(&c.host_config.network_mode);
        if mode != "host" && mode != "none" {
            for n in &c.network_requests {
                let settings = EndpointSettings {
                    ipam_config: (!n.ipv4_address.is_empty() || !n.ipv6_address.is_empty()).then(
                        || EndpointIpamConfig {
                            ipv4_address: n.ipv4_address.clone(),
                            ipv6_address: n.ipv6_address.clone(),
                            link_local_ips: None,
                        },
                    ),
                    aliases: (!n.aliases.is_empty()).then(|| n.aliases.clone()),
                    mac_address: n.mac_address.clone(),
                    ..Default::default()
                };
                let req = NetworkConnectRequest {
                    container: c.id.clone(),
                    endpoint_config: Some(settings),
                };
                self.client
                    .network_connect(&n.name, &req)
                    .map_err(ContainerError::netd(&c.id))?;
            }
        }
        self.client
            .sandbox(&c.id)
            .map_err(ContainerError::netd(&c.id))
    }

    /// Removes sandbox `id` (its endpoints and namespace; one already gone
    /// is fine). When netd cannot be reached, the removal is remembered
    /// for later; a failure to remember it is warned about (netd still
    /// removes the sandbox once its owner has gone).
    pub fn detach(&self, id: &str) {
        let result = if self.pending.has(id) {
            // Remembered before: made (and forgotten) the one way.
            match self.pending.complete(id, || self.remove(id)) {
                Ok(r) => r.map(drop),
                Err(e) => {
                    crate::warn::container(id, "removing the sandbox", &e);
                    return;
                }
            }
        } else {
            self.remove(id)
        };
        if let Err(e) = result
            && let Err(r) = self.pending.record(id)
        {
            let what = format!("remembering the sandbox's removal, which failed ({e})");
            crate::warn::container(id, &what, &r);
        }
    }

    /// `DELETE /sandboxes/{id}`: done when netd removed it or has no such
    /// sandbox (or refused for good); an error when it should be tried
    /// again (netd unreachable, or failing).
    fn remove(&self, id: &str) -> Result<(), ClientError> {
        match self.client.sandbox_remove(id) {
            Ok(()) | Err(ClientError::Api { status: 404, .. }) => Ok(()),
            Err(e @ ClientError::Api { status, .. }) if status < 500 => {
                crate::warn::container(id, "removing the sandbox (refused for good)", &e);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Completes the remembered removal of sandbox `id`, if any: whether
    /// nothing is pending for it any more.
    pub fn complete(&self, id: &str) -> bool {
        self.complete_one(id).is_ok()
    }

    /// Completes the remembered removal of sandbox `id`, if any; why
    /// it is still pending otherwise.
    fn complete_one(&self, id: &str) -> Result<()> {
        match self.pending.complete(id, || self.remove(id)) {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(ContainerError::netd(id)(e)),
            Err(source) => Err(ContainerError::PendingRemoval {
                id: id.to_owned(),
                source,
            }),
        }
    }

    /// Completes every remembered removal, stopping at the first netd does
    /// not take (it is away: the rest would fail the same way).
    pub fn complete_all(&self) {
        for id in self.pending.ids() {
            if !self.complete(&id) {
                return;
            }
        }
    }

    /// Keeps trying, with back-off, to complete the remembered removal of
    /// sandbox `id` for up to `limit`; then leaves it for later.
    pub fn settle(&self, id: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut wait = Duration::from_millis(50);
        while !self.complete(id) {
            if Instant::now() + wait > deadline {
                return;
            }
            std::thread::sleep(wait);
            wait = (wait * 2).min(Duration::from_secs(2));
        }
    }
}

/// Completes the sandbox removals remembered under `runroot`, as every
/// berth command does first: one read of a directory when there are none
/// (nothing is asked of netd then).
pub fn complete_pending(runroot: &Path, host: &str) {
    if Pending::new(runroot).ids().is_empty() {
        return;
    }
    if let Ok(mut netd) = Netd::connect(host, runroot) {
        netd.client = netd.client.with_timeout(PENDING_TIMEOUT);
        netd.complete_all();
    }
}

/// The shim's last step: its container's remembered removal (netd was
/// away when it removed the sandbox) is tried again for a while, so that
/// it does not wait for the next command.
pub fn settle_pending(runroot: &Path, host: &str, id: &str) {
    let pending = Pending::new(runroot);
    if !pending.has(id) {
        return;
    }
    if let Ok(netd) = Netd::connect(host, runroot) {
        netd.settle(id, SETTLE_LIMIT);
    }
}

/// The sandbox `c` asks netd for, owned by `owner`.
fn create_request(c: &Container, owner: Option<SandboxOwner>) -> SandboxCreateRequest {
    let host_mode = mode_network(&c.host_config.network_mode) == "host";
    SandboxCreateRequest {
        id: c.id.clone(),
        name: c.short_name().to_owned(),
        network_mode: if host_mode {
            "host".into()
        } else {
            String::new()
        },
        hostname: c.config.hostname.clone(),
        domainname: c.config.domainname.clone(),
        dns: c.host_config.dns.clone(),
        dns_search: c.host_config.dns_search.clone(),
        dns_options: c.host_config.dns_options.clone(),
        extra_hosts: c.host_config.extra_hosts.clone(),
        port_bindings: (!c.host_config.port_bindings.is_empty())
            .then(|| c.host_config.port_bindings.clone()),
        exposed_ports: c.config.exposed_ports.as_ref().map(|e| {
            netd_api::portspec::ExposedPorts(e.keys().filter_map(|k| k.parse().ok()).collect())
        }),
        publish_all_ports: c.host_config.publish_all_ports,
        owner,
    }
}

/// What the runtime needs from sandbox `sb`, made from `req`.
fn attached(req: &SandboxCreateRequest, sb: SandboxResource) -> Attached {
    Attached {
        netns: if req.network_mode == "host" {
            NetworkNamespace::Host
        } else {
            NetworkNamespace::Join(PathBuf::from(&sb.sandbox_key))
        },
        resolv_conf: sb.resolv_conf_path.clone(),
        hosts: sb.hosts_path.clone(),
        settings: NetworkSettings {
            bridge: String::new(),
            sandbox_id: sb.id.clone(),
            sandbox_key: sb.sandbox_key.clone(),
            ports: sb.ports.clone(),
            networks: sb.networks,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_mode_is_the_bridge_network() {
        assert_eq!(mode_network(""), "bridge");
        assert_eq!(mode_network("default"), "bridge");
        assert_eq!(mode_network("web"), "web");
    }

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    /// A netd that answers every request with `status` and counts them.
    fn fake_netd(dir: &Path, status: &'static str) -> (String, std::sync::mpsc::Receiver<String>) {
        use std::io::{BufRead, BufReader, Write};
        let sock = dir.join("netd.sock");
        let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let mut conn = conn.unwrap();
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut first = String::new();
                reader.read_line(&mut first).unwrap();
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if line.trim().is_empty() {
                        break;
                    }
                }
                tx.send(first.trim().to_owned()).unwrap();
                write!(
                    conn,
                    "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                )
                .unwrap();
            }
        });
        (format!("unix://{}", sock.display()), rx)
    }

    #[test]
    fn a_removal_netd_is_away_for_is_remembered_and_kept() {
        let root = tempfile::tempdir().unwrap();
        let host = format!("unix://{}", root.path().join("absent.sock").display());
        let netd = Netd::connect(&host, root.path()).unwrap();
        netd.detach(A);
        let pending = Pending::new(root.path());
        assert_eq!(pending.ids(), vec![A.to_owned()]);
        // Still away: every command leaves it, and so does the shim.
        complete_pending(root.path(), &host);
        netd.settle(A, Duration::from_millis(120));
        assert_eq!(pending.ids(), vec![A.to_owned()]);
    }

    #[test]
    fn no_sandbox_is_made_while_the_last_ones_removal_is_pending() {
        let root = tempfile::tempdir().unwrap();
        Pending::new(root.path()).record(A).unwrap();
        let (host, requests) = fake_netd(root.path(), "500 Internal Server Error");
        let netd = Netd::connect(&host, root.path()).unwrap();
        let c = Container {
            id: A.to_owned(),
            ..Container::default()
        };
        assert!(netd.attach(&c).is_err());
        let seen: Vec<String> = requests.try_iter().collect();
        assert_eq!(seen, vec![format!("DELETE /sandboxes/{A} HTTP/1.1")]);
        assert!(Pending::new(root.path()).has(A));
    }

    #[test]
    fn remembered_removals_are_made_once_netd_answers_even_not_found() {
        let root = tempfile::tempdir().unwrap();
        let pending = Pending::new(root.path());
        pending.record(A).unwrap();
        pending.record(B).unwrap();
        let (host, requests) = fake_netd(root.path(), "404 Not Found");
        complete_pending(root.path(), &host);
        assert!(pending.ids().is_empty());
        let seen: Vec<String> = requests.try_iter().collect();
        assert_eq!(
            seen,
            vec![
                format!("DELETE /sandboxes/{A} HTTP/1.1"),
                format!("DELETE /sandboxes/{B} HTTP/1.1")
            ]
        );
    }

    #[test]
    fn no_command_asks_netd_anything_when_nothing_is_pending() {
        let root = tempfile::tempdir().unwrap();
        let (host, requests) = fake_netd(root.path(), "204 No Content");
        complete_pending(root.path(), &host);
        settle_pending(root.path(), &host, A);
        assert_eq!(requests.try_iter().count(), 0);
    }

    #[test]
    fn a_removal_netd_makes_leaves_nothing_to_remember() {
        let root = tempfile::tempdir().unwrap();
        let (host, requests) = fake_netd(root.path(), "204 No Content");
        let netd = Netd::connect(&host, root.path()).unwrap();
        netd.detach(A);
        assert!(Pending::new(root.path()).ids().is_empty());
        assert_eq!(requests.try_iter().count(), 1);
    }
}
