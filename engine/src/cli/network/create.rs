//! `berth network create`.

use clap::Args;
use netd_api::client::Client;
use netd_api::types::{ConfigReference, Ipam, NetworkCreateRequest};

use super::ipam::ipam_config;
use crate::cli::arity::{Arity, check_arity};
use crate::cli::exit::Failure;
use crate::cli::io::Io;
use crate::cli::opts::{kv_map, validate_label};

const PATH: &str = "berth network create";
const USAGE: &str = "berth network create [OPTIONS] NETWORK";

/// `berth network create`.
#[derive(Debug, Args)]
#[command(override_usage = USAGE)]
pub struct CreateArgs {
    /// Name of the network
    #[arg(value_name = "NETWORK")]
    pub name: Option<String>,
    /// Arguments beyond the name (an error).
    #[arg(hide = true)]
    pub extra: Vec<String>,
    /// Enable manual container attachment
    #[arg(long)]
    pub attachable: bool,
    /// Auxiliary IPv4 or IPv6 addresses used by Network driver
    #[arg(long = "aux-address", value_name = "map")]
    pub aux_address: Vec<String>,
    /// The network from which to copy the configuration
    #[arg(long = "config-from", value_name = "string")]
    pub config_from: Option<String>,
    /// Create a configuration only network
    #[arg(long = "config-only")]
    pub config_only: bool,
    /// Driver to manage the Network
    #[arg(short = 'd', long, default_value = "bridge", value_name = "string")]
    pub driver: String,
    /// IPv4 or IPv6 Gateway for the master subnet
    #[arg(long, value_delimiter = ',', value_name = "strings")]
    pub gateway: Vec<String>,
    /// Create swarm routing-mesh network
    #[arg(long)]
    pub ingress: bool,
    /// Restrict external access to the network
    #[arg(long)]
    pub internal: bool,
    /// Allocate container ip from a sub-range
    #[arg(long = "ip-range", value_delimiter = ',', value_name = "strings")]
    pub ip_range: Vec<String>,
    /// IP Address Management Driver
    #[arg(long = "ipam-driver", default_value = "default", value_name = "string")]
    pub ipam_driver: String,
    /// Set IPAM driver specific options
    #[arg(long = "ipam-opt", value_name = "map")]
    pub ipam_opt: Vec<String>,
    /// Enable or disable IPv4 address assignment (default true)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "bool")]
    pub ipv4: Option<bool>,
    /// Enable or disable IPv6 address assignment
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "bool")]
    pub ipv6: Option<bool>,
    /// Set metadata on a network
    #[arg(long, value_name = "list", value_parser = validate_label)]
    pub label: Vec<String>,
    /// Set driver specific options
    #[arg(short = 'o', long, value_name = "map")]
    pub opt: Vec<String>,
    /// Control the network's scope
    #[arg(long, value_name = "string")]
    pub scope: Option<String>,
    /// Subnet in CIDR format that represents a network segment
    #[arg(long, value_delimiter = ',', value_name = "strings")]
    pub subnet: Vec<String>,
}

impl CreateArgs {
    /// Checks the arguments.
    pub fn check(&self) -> Result<(), Failure> {
        let given = usize::from(self.name.is_some()) + self.extra.len();
        check_arity(PATH, USAGE, Arity::Exact(1), given)
    }

    /// The request this command sends.
    pub fn request(&self) -> Result<NetworkCreateRequest, Failure> {
        let aux = kv_map(&self.aux_address);
        let config = ipam_config(&self.subnet, &self.ip_range, &self.gateway, &aux)
            .map_err(|e| Failure::new(1, e))?;
        Ok(NetworkCreateRequest {
            name: self.name.clone().unwrap_or_default(),
            driver: self.driver.clone(),
            scope: self.scope.clone().unwrap_or_default(),
            internal: self.internal,
            attachable: self.attachable,
            ingress: self.ingress,
            config_only: self.config_only,
            config_from: self
                .config_from
                .clone()
                .filter(|n| !n.is_empty())
                .map(|network| ConfigReference { network }),
            ipam: Some(Ipam {
                driver: self.ipam_driver.clone(),
                options: Some(kv_map(&self.ipam_opt)),
                config: Some(config),
            }),
            enable_ipv4: self.ipv4,
            enable_ipv6: self.ipv6,
            options: Some(kv_map(&self.opt)),
            labels: Some(kv_map(&self.label)),
        })
    }

    /// Creates the network and prints its id.
    pub async fn run(self, client: &Client, io: &mut Io<'_>) -> Result<(), Failure> {
        let request = self.request()?;
        let created = client
            .network_create(&request)
            .await
            .map_err(|e| Failure::client(&e))?;
        writeln!(io.stdout, "{}", created.id)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use clap::Parser;

    use super::*;
    use crate::cli::command::{Cli, TopCommand};
    use crate::cli::network::NetworkCommand;

    fn parse(args: &[&str]) -> CreateArgs {
        let mut argv = vec!["berth", "network", "create"];
        argv.extend(args);
        match Cli::try_parse_from(argv).unwrap().command {
            Some(TopCommand::Network(n)) => match n.command {
                Some(NetworkCommand::Create(c)) => c,
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_match_docker() {
        let req = parse(&["net"]).request().unwrap();
        assert_eq!(req.name, "net");
        assert_eq!(req.driver, "bridge");
        assert_eq!(req.scope, "");
        assert_eq!(req.enable_ipv4, None);
        assert_eq!(req.enable_ipv6, None);
        let ipam = req.ipam.unwrap();
        assert_eq!(ipam.driver, "default");
        assert_eq!(ipam.config, Some(vec![]));
        assert_eq!(req.options, Some(BTreeMap::new()));
        assert_eq!(req.labels, Some(BTreeMap::new()));
    }

    #[test]
    fn flags_fill_the_request() {
        let req = parse(&[
            "-d",
            "host",
            "--internal",
            "--attachable",
            "--ipv6",
            "--ipv4=false",
            "-o",
            "mtu=1400",
            "--label",
            "a=b",
            "--label",
            "flag",
            "--ipam-driver",
            "x",
            "--ipam-opt",
            "k=v",
            "--scope",
            "local",
            "net",
        ])
        .request()
        .unwrap();
        assert_eq!(req.driver, "host");
        assert!(req.internal && req.attachable);
        assert_eq!(
            (req.enable_ipv4, req.enable_ipv6),
            (Some(false), Some(true))
        );
        assert_eq!(req.options.unwrap()["mtu"], "1400");
        let labels = req.labels.unwrap();
        assert_eq!((labels["a"].as_str(), labels["flag"].as_str()), ("b", ""));
        let ipam = req.ipam.unwrap();
        assert_eq!(ipam.driver, "x");
        assert_eq!(ipam.options.unwrap()["k"], "v");
        assert_eq!(req.scope, "local");
    }

    #[test]
    fn subnets_take_commas_and_repeats() {
        let args = parse(&[
            "--subnet",
            "10.1.0.0/24,10.2.0.0/24",
            "--subnet",
            "fd00::/64",
            "n",
        ]);
        assert_eq!(args.subnet, ["10.1.0.0/24", "10.2.0.0/24", "fd00::/64"]);
    }

    #[test]
    fn create_needs_exactly_one_name() {
        assert!(parse(&[]).check().is_err());
        assert!(parse(&["a", "b"]).check().is_err());
        assert!(parse(&["a"]).check().is_ok());
    }
}
