//! The JSON shapes of netd's APIs: Docker's network API (field for field,
//! as the `docker` CLI and bollard read and write them) and netd's own
//! sandbox API. Shared by the server and by [`crate::client`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `{"message": "..."}`, Docker's error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// What went wrong.
    pub message: String,
}

/// A network as `GET /networks/{id}` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkResource {
    /// Unique name.
    pub name: String,
    /// 64-hex id.
    pub id: String,
    /// Creation time, RFC 3339 with nanoseconds.
    pub created: String,
    /// Always `local`.
    pub scope: String,
    /// `bridge`, `host` or `null`.
    pub driver: String,
    /// Whether the network has IPv4.
    #[serde(rename = "EnableIPv4")]
    pub enable_ipv4: bool,
    /// Whether the network has IPv6.
    #[serde(rename = "EnableIPv6")]
    pub enable_ipv6: bool,
    /// Address management.
    #[serde(rename = "IPAM")]
    pub ipam: Ipam,
    /// No route out.
    pub internal: bool,
    /// Containers may attach manually (always true for local networks here).
    pub attachable: bool,
    /// Swarm ingress (never).
    pub ingress: bool,
    /// Config-from network (never used).
    pub config_from: ConfigReference,
    /// Config-only network (never).
    pub config_only: bool,
    /// Connected sandboxes by id.
    pub containers: BTreeMap<String, EndpointResource>,
    /// Driver options.
    pub options: BTreeMap<String, String>,
    /// User labels.
    pub labels: BTreeMap<String, String>,
}

/// `ConfigFrom`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfigReference {
    /// Network name.
    pub network: String,
}

/// `IPAM` of a network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ipam {
    /// IPAM driver name (`default`).
    #[serde(default)]
    pub driver: String,
    /// IPAM driver options.
    #[serde(default)]
    pub options: Option<BTreeMap<String, String>>,
    /// Subnets.
    #[serde(default)]
    pub config: Option<Vec<IpamConfig>>,
}

/// One subnet of a network, as given (`network create`) or allocated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IpamConfig {
    /// CIDR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    /// Sub-range for dynamic addresses.
    #[serde(rename = "IPRange", default, skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<String>,
    /// Gateway address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// Reserved addresses by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auxiliary_addresses: Option<BTreeMap<String, String>>,
}

/// A connected sandbox, in a network's `Containers`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointResource {
    /// Sandbox (container) name.
    pub name: String,
    /// Endpoint id.
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    /// MAC address.
    pub mac_address: String,
    /// `a.b.c.d/len` or empty.
    #[serde(rename = "IPv4Address")]
    pub ipv4_address: String,
    /// `x::y/len` or empty.
    #[serde(rename = "IPv6Address")]
    pub ipv6_address: String,
    /// Ports published through this endpoint, in Docker's `Ports` shape
    /// (netd's addition; absent when none).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ports: crate::portspec::PortBindings,
}

/// `POST /networks/create` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkCreateRequest {
    /// Network name.
    #[serde(default)]
    pub name: String,
    /// Driver; empty means `bridge`.
    #[serde(default)]
    pub driver: String,
    /// Scope; empty or `local`.
    #[serde(default)]
    pub scope: String,
    /// No route out.
    #[serde(default)]
    pub internal: bool,
    /// Manually attachable.
    #[serde(default)]
    pub attachable: bool,
    /// Swarm ingress (refused).
    #[serde(default)]
    pub ingress: bool,
    /// Config-only (refused).
    #[serde(default)]
    pub config_only: bool,
    /// Config-from (refused when set).
    #[serde(default)]
    pub config_from: Option<ConfigReference>,
    /// Address management.
    #[serde(rename = "IPAM", default)]
    pub ipam: Option<Ipam>,
    /// IPv4 on (default true).
    #[serde(rename = "EnableIPv4", default)]
    pub enable_ipv4: Option<bool>,
    /// IPv6 on (default false).
    #[serde(rename = "EnableIPv6", default)]
    pub enable_ipv6: Option<bool>,
    /// Driver options (`-o`).
    #[serde(default)]
    pub options: Option<BTreeMap<String, String>>,
    /// Labels.
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
}

/// `POST /networks/create` answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkCreateResponse {
    /// The new network's id.
    pub id: String,
    /// Warnings, empty when none.
    #[serde(default)]
    pub warning: String,
}

/// `POST /networks/{id}/connect` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkConnectRequest {
    /// Sandbox (container) id, id prefix or name.
    #[serde(default)]
    pub container: String,
    /// Endpoint settings.
    #[serde(default)]
    pub endpoint_config: Option<EndpointSettings>,
}

/// `POST /networks/{id}/disconnect` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkDisconnectRequest {
    /// Sandbox (container) id, id prefix or name.
    #[serde(default)]
    pub container: String,
    /// Disconnect even if the sandbox is gone.
    #[serde(default)]
    pub force: bool,
}

/// `POST /networks/prune` answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkPruneResponse {
    /// Names of the removed networks.
    pub networks_deleted: Vec<String>,
}

/// Docker's `EndpointSettings`: what a caller asks for when connecting, and
/// what a sandbox's inspect shows per network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointSettings {
    /// Static addresses asked for.
    #[serde(rename = "IPAMConfig", default)]
    pub ipam_config: Option<EndpointIpamConfig>,
    /// Legacy links (refused when not empty).
    #[serde(default)]
    pub links: Option<Vec<String>>,
    /// DNS aliases.
    #[serde(default)]
    pub aliases: Option<Vec<String>>,
    /// MAC address asked for, or assigned.
    #[serde(default)]
    pub mac_address: String,
    /// Driver options.
    #[serde(default)]
    pub driver_opts: Option<BTreeMap<String, String>>,
    /// Which network provides the default gateway: highest wins.
    #[serde(default)]
    pub gw_priority: i64,
    /// Network id.
    #[serde(rename = "NetworkID", default)]
    pub network_id: String,
    /// Endpoint id.
    #[serde(rename = "EndpointID", default)]
    pub endpoint_id: String,
    /// IPv4 gateway.
    #[serde(default)]
    pub gateway: String,
    /// IPv4 address.
    #[serde(rename = "IPAddress", default)]
    pub ip_address: String,
    /// IPv4 prefix length.
    #[serde(rename = "IPPrefixLen", default)]
    pub ip_prefix_len: u8,
    /// IPv6 gateway.
    #[serde(rename = "IPv6Gateway", default)]
    pub ipv6_gateway: String,
    /// IPv6 address.
    #[serde(rename = "GlobalIPv6Address", default)]
    pub global_ipv6_address: String,
    /// IPv6 prefix length.
    #[serde(rename = "GlobalIPv6PrefixLen", default)]
    pub global_ipv6_prefix_len: u8,
    /// Names the embedded DNS answers for on this network.
    #[serde(rename = "DNSNames", default)]
    pub dns_names: Option<Vec<String>>,
}

/// Static addresses of an endpoint (`--ip`, `--ip6`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointIpamConfig {
    /// IPv4 address.
    #[serde(
        rename = "IPv4Address",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub ipv4_address: String,
    /// IPv6 address.
    #[serde(
        rename = "IPv6Address",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub ipv6_address: String,
    /// Link-local addresses (refused when not empty).
    #[serde(
        rename = "LinkLocalIPs",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub link_local_ips: Option<Vec<String>>,
}

/// `POST /sandboxes` body: netd's own API, used by the engine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SandboxCreateRequest {
    /// 64-hex id (the container's); generated when empty.
    #[serde(default)]
    pub id: String,
    /// Unique name (the container's); the id's first 12 digits when empty.
    #[serde(default)]
    pub name: String,
    /// `host` to share the host's network namespace; otherwise the sandbox
    /// gets its own.
    #[serde(default)]
    pub network_mode: String,
    /// Hostname.
    #[serde(default)]
    pub hostname: String,
    /// Domain name.
    #[serde(default)]
    pub domainname: String,
    /// `--dns` servers.
    #[serde(default)]
    pub dns: Vec<String>,
    /// `--dns-search` domains.
    #[serde(default)]
    pub dns_search: Vec<String>,
    /// `--dns-option` options.
    #[serde(default)]
    pub dns_options: Vec<String>,
    /// `--add-host` entries, `name:ip`.
    #[serde(default)]
    pub extra_hosts: Vec<String>,
    /// `-p`: Docker's `HostConfig.PortBindings` (`{"80/tcp": [{"HostIp": "",
    /// "HostPort": "8080"}]}`), published on the sandbox's gateway network.
    #[serde(default)]
    pub port_bindings: Option<crate::portspec::PortBindings>,
    /// `--expose` / `EXPOSE`: Docker's `ExposedPorts` (`{"80/tcp": {}}`).
    #[serde(default)]
    pub exposed_ports: Option<crate::portspec::ExposedPorts>,
    /// `-P`: publish every exposed port on a random host port.
    #[serde(default)]
    pub publish_all_ports: bool,
    /// The process the sandbox is for (the engine's shim of the
    /// container): netd removes the sandbox once it has exited. Without
    /// one, the sandbox lasts until it is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<SandboxOwner>,
}

/// The process a sandbox belongs to: its pid, as netd sees it (the same
/// pid namespace), and its start time, which tells it from a later
/// process that reuses the pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SandboxOwner {
    /// Process id.
    pub pid: i32,
    /// Start time: field 22 of `/proc/PID/stat`, in clock ticks after boot.
    pub start_time: u64,
}

/// A sandbox as netd shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SandboxResource {
    /// 64-hex id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Path of the network namespace (Docker's `SandboxKey`).
    pub sandbox_key: String,
    /// Path of the rendered resolv.conf.
    pub resolv_conf_path: String,
    /// Path of the rendered hosts file.
    pub hosts_path: String,
    /// Hostname.
    pub hostname: String,
    /// `host`, or `default` for an own namespace.
    pub network_mode: String,
    /// Connected networks by name.
    pub networks: BTreeMap<String, EndpointSettings>,
    /// Published ports in Docker's `NetworkSettings.Ports` shape.
    #[serde(default)]
    pub ports: crate::portspec::PortBindings,
    /// The process the sandbox belongs to, when it was created with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<SandboxOwner>,
}
