//! The JSON bodies of Docker's plugin protocols, as dockerd sends and reads
//! them (field names in Go's PascalCase; absent and `null` fields are
//! accepted wherever Docker may leave them out).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `POST /Plugin.Activate`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Activate {
    /// The interfaces served.
    pub implements: Vec<&'static str>,
}

/// `NetworkDriver.GetCapabilities`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DriverCapabilities {
    /// `local`: networks of this host only.
    pub scope: &'static str,
    /// Where its networks connect: `local` too.
    pub connectivity_scope: &'static str,
}

/// One family's IPAM data in `CreateNetwork`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct IpamData {
    /// `LocalDefault`.
    pub address_space: String,
    /// The pool, as a CIDR.
    pub pool: String,
    /// The gateway with the pool's prefix length.
    pub gateway: String,
    /// Auxiliary addresses with prefix lengths.
    pub aux_addresses: Option<BTreeMap<String, String>>,
}

/// `NetworkDriver.CreateNetwork` (and `AllocateNetwork`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CreateNetwork {
    /// The caller's network id.
    #[serde(rename = "NetworkID")]
    pub network_id: String,
    /// Generic options.
    #[serde(rename = "Options")]
    pub options: Option<Map<String, Value>>,
    /// IPv4 data.
    #[serde(rename = "IPv4Data")]
    pub ipv4_data: Option<Vec<IpamData>>,
    /// IPv6 data.
    #[serde(rename = "IPv6Data")]
    pub ipv6_data: Option<Vec<IpamData>>,
}

/// Requests that name a network only (`DeleteNetwork`, `FreeNetwork`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NetworkRef {
    /// The network.
    #[serde(rename = "NetworkID")]
    pub network_id: String,
}

/// The interface of `CreateEndpoint`, both ways.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct EndpointInterface {
    /// IPv4 address with prefix length.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub address: String,
    /// IPv6 address with prefix length.
    #[serde(rename = "AddressIPv6", skip_serializing_if = "String::is_empty")]
    pub address_ipv6: String,
    /// MAC address.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mac_address: String,
}

/// `NetworkDriver.CreateEndpoint`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CreateEndpoint {
    /// The network.
    #[serde(rename = "NetworkID")]
    pub network_id: String,
    /// The caller's endpoint id.
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    /// Endpoint options.
    #[serde(rename = "Options")]
    pub options: Option<Map<String, Value>>,
    /// What the caller's IPAM chose.
    #[serde(rename = "Interface")]
    pub interface: Option<EndpointInterface>,
}

/// `CreateEndpoint`'s answer: only what the caller left to the driver.
#[derive(Debug, Serialize)]
pub(crate) struct CreateEndpointResponse {
    /// `None`: the caller's interface as it was.
    #[serde(rename = "Interface", skip_serializing_if = "Option::is_none")]
    pub interface: Option<EndpointInterface>,
}

/// Requests that name an endpoint (`DeleteEndpoint`, `EndpointOperInfo`,
/// `Leave`, `RevokeExternalConnectivity`), and those with options too
/// (`Join`, `ProgramExternalConnectivity`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct EndpointRef {
    /// The network.
    #[serde(rename = "NetworkID")]
    pub network_id: String,
    /// The endpoint.
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    /// `Join`: the caller's namespace path.
    #[serde(rename = "SandboxKey")]
    pub sandbox_key: String,
    /// Options (sandbox labels, port maps).
    #[serde(rename = "Options")]
    pub options: Option<Map<String, Value>>,
}

/// `EndpointOperInfo`'s answer.
#[derive(Debug, Serialize)]
pub(crate) struct EndpointInfo {
    /// Free-form facts; netd gives the port map and the MAC address.
    #[serde(rename = "Value")]
    pub value: Map<String, Value>,
}

/// `Join`'s interface names.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct InterfaceName {
    /// The veth end to move.
    pub src_name: String,
    /// Its name prefix in the sandbox.
    pub dst_prefix: String,
}

/// `Join`'s answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct JoinResponse {
    /// Which interface to take.
    pub interface_name: InterfaceName,
    /// IPv4 default gateway.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub gateway: String,
    /// IPv6 default gateway.
    #[serde(rename = "GatewayIPv6", skip_serializing_if = "String::is_empty")]
    pub gateway_ipv6: String,
    /// Extra routes (none).
    pub static_routes: Vec<Value>,
    /// True on internal networks: no way out to add.
    pub disable_gateway_service: bool,
}

/// One `com.docker.network.portmap` entry (Docker's `types.PortBinding`).
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct PortBinding {
    /// IP protocol number: 6 TCP, 17 UDP, 132 SCTP.
    pub proto: u8,
    /// Container address.
    #[serde(rename = "IP")]
    pub ip: String,
    /// Container port.
    pub port: u16,
    /// Host address; empty for all.
    #[serde(rename = "HostIP")]
    pub host_ip: String,
    /// Host port; 0 for any.
    pub host_port: u16,
    /// Last host port of a range; 0 or `host_port` for one port.
    pub host_port_end: u16,
}

/// `IpamDriver.GetCapabilities`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct IpamCapabilities {
    /// netd does not need the MAC address to choose addresses.
    #[serde(rename = "RequiresMACAddress")]
    pub requires_mac_address: bool,
    /// netd keeps its pools itself; nothing to replay after a restart.
    pub requires_request_replay: bool,
}

/// `IpamDriver.GetDefaultAddressSpaces`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AddressSpaces {
    /// `LocalDefault`.
    pub local_default_address_space: &'static str,
    /// `GlobalDefault`.
    pub global_default_address_space: &'static str,
}

/// `IpamDriver.RequestPool`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct RequestPool {
    /// The address space.
    pub address_space: String,
    /// The subnet wanted; empty for any.
    pub pool: String,
    /// The sub-range for dynamic addresses.
    pub sub_pool: String,
    /// IPAM options (unused).
    pub options: Option<BTreeMap<String, String>>,
    /// An IPv6 pool.
    #[serde(rename = "V6")]
    pub v6: bool,
}

/// `RequestPool`'s answer.
#[derive(Debug, Serialize)]
pub(crate) struct RequestPoolResponse {
    /// The pool id.
    #[serde(rename = "PoolID")]
    pub pool_id: String,
    /// The subnet.
    #[serde(rename = "Pool")]
    pub pool: String,
    /// Extra data (none).
    #[serde(rename = "Data")]
    pub data: BTreeMap<String, String>,
}

/// `IpamDriver.ReleasePool`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct PoolRef {
    /// The pool id.
    #[serde(rename = "PoolID")]
    pub pool_id: String,
}

/// `IpamDriver.RequestAddress` and `ReleaseAddress`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct AddressRequest {
    /// The pool id.
    #[serde(rename = "PoolID")]
    pub pool_id: String,
    /// The address wanted (or released); empty for any.
    #[serde(rename = "Address")]
    pub address: String,
    /// Options; `RequestAddressType` tells a gateway request.
    #[serde(rename = "Options")]
    pub options: Option<BTreeMap<String, String>>,
}

/// `RequestAddress`'s answer.
#[derive(Debug, Serialize)]
pub(crate) struct RequestAddressResponse {
    /// The address with the pool's prefix length.
    #[serde(rename = "Address")]
    pub address: String,
    /// Extra data (none).
    #[serde(rename = "Data")]
    pub data: BTreeMap<String, String>,
}
