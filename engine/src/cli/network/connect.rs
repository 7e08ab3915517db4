//! `berth network connect`.

use std::net::IpAddr;

use clap::Args;
use netd_api::client::Client;
use netd_api::types::{EndpointIpamConfig, EndpointSettings, NetworkConnectRequest};

use crate::cli::arity::{Arity, check_arity};
use crate::cli::exit::Failure;
use crate::cli::opts::{driver_opts, validate_link};

const PATH: &str = "berth network connect";
const USAGE: &str = "berth network connect [OPTIONS] NETWORK CONTAINER";

/// `berth network connect`.
#[derive(Debug, Args)]
#[command(override_usage = USAGE)]
pub struct ConnectArgs {
    /// Network, by name, id or id prefix
    #[arg(value_name = "NETWORK")]
    pub network: Option<String>,
    /// Container, by name, id or id prefix
    #[arg(value_name = "CONTAINER")]
    pub container: Option<String>,
    /// Arguments beyond the two (an error).
    #[arg(hide = true)]
    pub extra: Vec<String>,
    /// Add network-scoped alias for the container
    #[arg(long, value_delimiter = ',', value_name = "strings")]
    pub alias: Vec<String>,
    /// driver options for the network
    #[arg(long = "driver-opt", value_delimiter = ',', value_name = "strings")]
    pub driver_opt: Vec<String>,
    /// Highest gw-priority provides the default gateway. Accepts positive and negative values.
    #[arg(
        long = "gw-priority",
        default_value_t = 0,
        allow_negative_numbers = true,
        value_name = "int"
    )]
    pub gw_priority: i64,
    /// IPv4 address (e.g., "172.30.100.104")
    #[arg(long, value_name = "ip")]
    pub ip: Option<IpAddr>,
    /// IPv6 address (e.g., "2001:db8::33")
    #[arg(long, value_name = "ip")]
    pub ip6: Option<IpAddr>,
    /// Add link to another container
    #[arg(long, value_name = "list", value_parser = validate_link)]
    pub link: Vec<String>,
    /// Add a link-local address for the container
    #[arg(long = "link-local-ip", value_delimiter = ',', value_name = "ipSlice")]
    pub link_local_ip: Vec<IpAddr>,
}

impl ConnectArgs {
    /// Checks the arguments.
    pub fn check(&self) -> Result<(), Failure> {
        let given = usize::from(self.network.is_some())
            + usize::from(self.container.is_some())
            + self.extra.len();
        check_arity(PATH, USAGE, Arity::Exact(2), given)
    }

    /// Refuses, as Docker does, a berth container that runs with no
    /// network (`--network none`): it has no sandbox in netd to connect.
    pub fn check_container(&self, g: &crate::cli::global::Globals) -> Result<(), Failure> {
        let Some(term) = &self.container else {
            return Ok(());
        };
        if !g.root.join("containers").is_dir() {
            return Ok(());
        }
        let Ok(store) = crate::container::Containers::open(&g.root, &g.runroot) else {
            return Ok(());
        };
        match store.find(term) {
            Ok(c) if crate::container::network::is_private(&c) => Err(Failure::new(
                1,
                "Error response from daemon: container cannot be connected to multiple networks with one of the networks in private (none) mode",
            )),
            _ => Ok(()),
        }
    }

    /// The request this command sends.
    pub fn request(&self) -> Result<NetworkConnectRequest, Failure> {
        let driver_opts = driver_opts(&self.driver_opt).map_err(|e| Failure::new(1, e))?;
        let text = |ip: &Option<IpAddr>| ip.map(|ip| ip.to_string()).unwrap_or_default();
        Ok(NetworkConnectRequest {
            container: self.container.clone().unwrap_or_default(),
            endpoint_config: Some(EndpointSettings {
                ipam_config: Some(EndpointIpamConfig {
                    ipv4_address: text(&self.ip),
                    ipv6_address: text(&self.ip6),
                    link_local_ips: (!self.link_local_ip.is_empty())
                        .then(|| self.link_local_ip.iter().map(ToString::to_string).collect()),
                }),
                links: (!self.link.is_empty()).then(|| self.link.clone()),
                aliases: Some(self.alias.clone()),
                driver_opts: Some(driver_opts),
                gw_priority: self.gw_priority,
                ..Default::default()
            }),
        })
    }

    /// Connects the container; prints nothing.
    pub async fn run(self, client: &Client) -> Result<(), Failure> {
        let request = self.request()?;
        let network = self.network.unwrap_or_default();
        client
            .network_connect(&network, &request)
            .await
            .map_err(|e| Failure::client(&e))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::command::{Cli, TopCommand};
    use crate::cli::network::NetworkCommand;

    fn parse(args: &[&str]) -> ConnectArgs {
        let mut argv = vec!["berth", "network", "connect"];
        argv.extend(args);
        match Cli::try_parse_from(argv).unwrap().command {
            Some(TopCommand::Network(n)) => match n.command {
                Some(NetworkCommand::Connect(c)) => c,
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn flags_fill_the_endpoint_settings() {
        let args = parse(&[
            "--ip",
            "10.1.0.9",
            "--ip6",
            "fd00::9",
            "--alias",
            "a,b",
            "--alias",
            "c",
            "--driver-opt",
            "k=v",
            "--gw-priority",
            "-5",
            "--link",
            "db:d",
            "--link-local-ip",
            "169.254.0.9",
            "net",
            "app",
        ]);
        assert!(args.check().is_ok());
        let req = args.request().unwrap();
        assert_eq!(req.container, "app");
        let ep = req.endpoint_config.unwrap();
        let ipam = ep.ipam_config.unwrap();
        assert_eq!(
            (ipam.ipv4_address.as_str(), ipam.ipv6_address.as_str()),
            ("10.1.0.9", "fd00::9")
        );
        assert_eq!(ipam.link_local_ips, Some(vec!["169.254.0.9".to_owned()]));
        assert_eq!(
            ep.aliases,
            Some(vec!["a".to_owned(), "b".to_owned(), "c".to_owned()])
        );
        assert_eq!(ep.driver_opts.unwrap()["k"], "v");
        assert_eq!(ep.gw_priority, -5);
        assert_eq!(ep.links, Some(vec!["db:d".to_owned()]));
    }

    #[test]
    fn without_flags_no_addresses_or_links_are_sent() {
        let req = parse(&["net", "app"]).request().unwrap();
        let json = serde_json::to_value(&req).unwrap();
        assert_eq!(json["EndpointConfig"]["IPAMConfig"], serde_json::json!({}));
        assert_eq!(json["EndpointConfig"]["Links"], serde_json::Value::Null);
    }

    #[test]
    fn bad_driver_opts_are_errors() {
        let err = parse(&["--driver-opt", "novalue", "net", "app"])
            .request()
            .unwrap_err();
        assert_eq!(
            err,
            Failure::new(1, "invalid key/value pair format in driver options")
        );
    }

    #[test]
    fn connect_needs_network_and_container() {
        assert!(parse(&["net"]).check().is_err());
        assert!(parse(&["a", "b", "c"]).check().is_err());
    }
}
