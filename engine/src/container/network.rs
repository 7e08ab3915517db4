//! A container's network through netd: a sandbox (its network namespace,
//! hosts and resolv.conf) made when the container starts and removed when
//! it stops, as Docker does, connected to the networks asked for. A
//! container with no network (`--network none`) needs no sandbox: its
//! runtime makes the loopback-only namespace and berth writes the two
//! files with netd's renderer, which saves a round trip to netd at each
//! start and stop.

use netd_api::client::{Client, ClientError};
use netd_api::types::{
    EndpointIpamConfig, EndpointSettings, NetworkConnectRequest, SandboxCreateRequest,
};

use std::path::{Path, PathBuf};

use super::error::{ContainerError, Result};
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

/// Makes the container's sandbox and connects it (all or nothing). Not for
/// `container:` mode, which joins another container's sandbox.
pub async fn attach(client: &Client, c: &Container) -> Result<Attached> {
    let mode = mode_network(&c.host_config.network_mode);
    let host_mode = mode == "host";
    let req = SandboxCreateRequest {
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
        owner: None,
    };
    client
        .sandbox_create(&req)
        .await
        .map_err(ContainerError::netd(&c.id))?;
    let connected = async {
        if !host_mode && mode != "none" {
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
                client
                    .network_connect(&n.name, &req)
                    .await
                    .map_err(ContainerError::netd(&c.id))?;
            }
        }
        client
            .sandbox(&c.id)
            .await
            .map_err(ContainerError::netd(&c.id))
    };
    let sb = match connected.await {
        Ok(sb) => sb,
        Err(e) => {
            // All or nothing: the sandbox goes; the error is the connect's.
            if let Err(undo) = client.sandbox_remove(&c.id).await {
                crate::warn::container(&c.id, "removing the sandbox", &undo);
            }
            return Err(e);
        }
    };
    Ok(Attached {
        netns: if host_mode {
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
    })
}

/// Removes the container's sandbox (its endpoints and namespace); one
/// already gone is fine.
pub async fn detach(client: &Client, id: &str) -> Result<()> {
    match client.sandbox_remove(id).await {
        Ok(()) => Ok(()),
        Err(ClientError::Api { status: 404, .. }) => Ok(()),
        Err(e) => Err(ContainerError::netd(id)(e)),
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
}
