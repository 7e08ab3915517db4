//! `berth network disconnect`.

use clap::Args;
use netd_api::client::Client;
use netd_api::types::NetworkDisconnectRequest;

use crate::cli::arity::{Arity, check_arity};
use crate::cli::exit::Failure;

const PATH: &str = "berth network disconnect";
const USAGE: &str = "berth network disconnect [OPTIONS] NETWORK CONTAINER";

/// `berth network disconnect`.
#[derive(Debug, Args)]
#[command(override_usage = USAGE)]
pub struct DisconnectArgs {
    /// Network, by name, id or id prefix
    #[arg(value_name = "NETWORK")]
    pub network: Option<String>,
    /// Container, by name, id or id prefix
    #[arg(value_name = "CONTAINER")]
    pub container: Option<String>,
    /// Arguments beyond the two (an error).
    #[arg(hide = true)]
    pub extra: Vec<String>,
    /// Force the container to disconnect from a network
    #[arg(short, long)]
    pub force: bool,
}

impl DisconnectArgs {
    /// Checks the arguments.
    pub fn check(&self) -> Result<(), Failure> {
        let given = usize::from(self.network.is_some())
            + usize::from(self.container.is_some())
            + self.extra.len();
        check_arity(PATH, USAGE, Arity::Exact(2), given)
    }

    /// Disconnects the container; prints nothing.
    pub async fn run(self, client: &Client) -> Result<(), Failure> {
        let request = NetworkDisconnectRequest {
            container: self.container.unwrap_or_default(),
            force: self.force,
        };
        client
            .network_disconnect(&self.network.unwrap_or_default(), &request)
            .await
            .map_err(|e| Failure::client(&e))
    }
}
