//! The objects netd keeps: networks, endpoints and sandboxes, as stored.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// A network driver netd implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum DriverKind {
    /// A Linux bridge per network.
    Bridge,
    /// The host's own network namespace.
    Host,
    /// Loopback only (Docker calls this driver `null`).
    Null,
}

impl DriverKind {
    /// Docker's name for the driver.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Bridge => "bridge",
            Self::Host => "host",
            Self::Null => "null",
        }
    }
}

/// One allocated subnet of a network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Subnet {
    /// The IPAM pool id.
    pub pool: String,
    /// The subnet.
    pub subnet: IpNet,
    /// The sub-range containers' addresses come from.
    pub ip_range: Option<IpNet>,
    /// The gateway address (on the bridge).
    pub gateway: IpAddr,
    /// Reserved auxiliary addresses.
    pub aux: BTreeMap<String, IpAddr>,
    /// Whether the user chose the subnet (then `--ip` is allowed).
    pub user_subnet: bool,
}

/// The bridge driver's settings of a network, from its `-o` options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BridgeOptions {
    /// The Linux bridge's name.
    pub name: String,
    /// MTU, when set.
    pub mtu: Option<u32>,
    /// Traffic between containers of the network allowed.
    pub enable_icc: bool,
    /// Outgoing traffic masqueraded.
    pub enable_ip_masquerade: bool,
    /// Default host address for published ports.
    pub host_binding_ipv4: Option<IpAddr>,
    /// Prefix of the container-side interface names.
    pub iface_prefix: String,
}

/// A network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Network {
    /// 64-hex id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Driver.
    pub driver: DriverKind,
    /// Creation time (RFC 3339, nanoseconds).
    pub created: String,
    /// No route out.
    pub internal: bool,
    /// Attachable flag as given.
    pub attachable: bool,
    /// IPv4 enabled.
    pub enable_ipv4: bool,
    /// IPv6 enabled.
    pub enable_ipv6: bool,
    /// IPAM driver name.
    pub ipam_driver: String,
    /// IPAM options as given.
    pub ipam_options: BTreeMap<String, String>,
    /// Allocated subnets (at most one per family for bridges).
    pub subnets: Vec<Subnet>,
    /// Driver options as given.
    pub options: BTreeMap<String, String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Bridge settings, for bridge networks.
    pub bridge: Option<BridgeOptions>,
    /// One of `bridge`, `host`, `none` made at first start.
    pub predefined: bool,
    /// Made through the plugin socket: its caller (dockerd) owns it, its
    /// IPAM and its endpoints; netd's own API only shows it.
    #[serde(default)]
    pub plugin: bool,
}

impl Network {
    /// The subnet of one family.
    pub(crate) fn subnet(&self, v6: bool) -> Option<&Subnet> {
        self.subnets
            .iter()
            .find(|s| s.subnet.addr().is_ipv6() == v6)
    }
}

/// A sandbox's attachment to a network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Endpoint {
    /// 64-hex id.
    pub id: String,
    /// The sandbox's name.
    pub name: String,
    /// Network id.
    pub network_id: String,
    /// Sandbox id.
    pub sandbox_id: String,
    /// Interface name inside the sandbox (bridge only).
    pub ifname: Option<String>,
    /// Host-side veth name (bridge only).
    pub host_ifname: Option<String>,
    /// MAC address text (bridge only).
    pub mac: Option<String>,
    /// IPv4 address with the subnet's prefix length.
    pub ipv4: Option<IpNet>,
    /// IPv6 address with the subnet's prefix length.
    pub ipv6: Option<IpNet>,
    /// Static IPv4 asked for (shown back in inspect).
    pub requested_ipv4: Option<IpAddr>,
    /// Static IPv6 asked for.
    pub requested_ipv6: Option<IpAddr>,
    /// DNS aliases.
    pub aliases: Vec<String>,
    /// Driver options as given.
    pub driver_opts: BTreeMap<String, String>,
    /// Default-gateway priority.
    pub gw_priority: i64,
    /// Connection order within the netd instance.
    pub seq: u64,
    /// Ports published to this endpoint (on the sandbox's gateway endpoint).
    #[serde(default)]
    pub ports: Vec<PortRecord>,
    /// Made through the plugin socket: `ifname` is then the veth end the
    /// caller moves into its own sandbox, and `sandbox_id` is `ep-<id>`.
    #[serde(default)]
    pub plugin: bool,
    /// The caller's sandbox (its `SandboxKey`) while a plugin endpoint is
    /// joined.
    #[serde(default)]
    pub plugin_sandbox: Option<String>,
}

/// An IPAM pool handed out through the plugin socket, with the number of
/// `RequestPool` calls it answered (Docker's pools are reference counted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PluginPool {
    /// The pool id (`LocalDefault/10.0.0.0/24`).
    pub id: String,
    /// Outstanding requests.
    pub refs: u32,
}

/// One published port of an endpoint, as allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(crate) struct PortRecord {
    /// Host address; `None` for all addresses of the container address's family.
    pub host_ip: Option<IpAddr>,
    /// Host port.
    pub host_port: u16,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: netd_api::Protocol,
    /// Container port.
    pub container_port: u16,
    /// Published for the container's IPv6 address (else its IPv4 one).
    #[serde(default)]
    pub v6: bool,
}

/// A container's network namespace and its DNS settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Sandbox {
    /// 64-hex id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Shares the host's network namespace.
    pub host_mode: bool,
    /// The bound namespace file (`None` in host mode).
    pub netns: Option<PathBuf>,
    /// Hostname.
    pub hostname: String,
    /// Domain name.
    pub domainname: String,
    /// `--dns` servers.
    pub dns: Vec<IpAddr>,
    /// `--dns-search`.
    pub dns_search: Vec<String>,
    /// `--dns-option`.
    pub dns_options: Vec<String>,
    /// `--add-host` entries as given.
    pub extra_hosts: Vec<String>,
    /// Directory of the rendered `hosts` and `resolv.conf`.
    pub files: PathBuf,
    /// The endpoint that provides the default route, if any.
    pub gateway_endpoint: Option<String>,
    /// Ports to publish (`-p`), on the sandbox's gateway endpoint.
    #[serde(default)]
    pub ports: Vec<netd_api::portspec::PortMapping>,
    /// Creation time.
    pub created: String,
    /// The process the sandbox is for: once it has exited, the sandbox is
    /// removed (see `controller::owner`). `None` (dockerd's endpoints,
    /// callers that name none, stores of older netds): never collected.
    #[serde(default)]
    pub owner: Option<netd_api::types::SandboxOwner>,
}

impl Sandbox {
    /// Path of the rendered hosts file.
    pub(crate) fn hosts_path(&self) -> PathBuf {
        self.files.join("hosts")
    }

    /// Path of the rendered resolv.conf.
    pub(crate) fn resolv_conf_path(&self) -> PathBuf {
        self.files.join("resolv.conf")
    }
}
