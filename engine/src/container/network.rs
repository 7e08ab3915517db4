//! A container's network through netd: a sandbox (its network namespace,
//! hosts and resolv.conf) made when the container starts and removed when
//! it stops, as Docker does, connected to the networks asked for.

use netd::api::types::{
    EndpointIpamConfig, EndpointSettings, NetworkConnectRequest, SandboxCreateRequest,
};
use netd::client::{Client, ClientError};

use super::error::{ContainerError, Result};
use super::record::{Container, NetworkSettings};

/// What the runtime needs from the sandbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attached {
    /// The namespace to join; `None` for the host's.
    pub netns: Option<String>,
    /// netd's resolv.conf.
    pub resolv_conf: String,
    /// netd's hosts.
    pub hosts: String,
    /// For inspect.
    pub settings: NetworkSettings,
}

fn netd_err(e: &ClientError) -> ContainerError {
    ContainerError::Netd(crate::cli::exit::client_message(e))
}

/// The network a `NetworkMode` names: `default` is the `bridge` network.
pub fn mode_network(mode: &str) -> &str {
    match mode {
        "" | "default" => "bridge",
        other => other,
    }
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
            netd::api::portspec::ExposedPorts(e.keys().filter_map(|k| k.parse().ok()).collect())
        }),
        publish_all_ports: c.host_config.publish_all_ports,
    };
    client
        .sandbox_create(&req)
        .await
        .map_err(|e| netd_err(&e))?;
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
                    .map_err(|e| netd_err(&e))?;
            }
        }
        client.sandbox(&c.id).await.map_err(|e| netd_err(&e))
    };
    let sb = match connected.await {
        Ok(sb) => sb,
        Err(e) => {
            let _ = client.sandbox_remove(&c.id).await;
            return Err(e);
        }
    };
    Ok(Attached {
        netns: (!host_mode).then(|| sb.sandbox_key.clone()),
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
        Err(e) => Err(netd_err(&e)),
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
