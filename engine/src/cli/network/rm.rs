//! `berth network rm`.

use clap::Args;
use netd_api::client::Client;

use crate::cli::arity::{Arity, check_arity};
use crate::cli::exit::{Failure, client_message};
use crate::cli::io::Io;

const PATH: &str = "berth network rm";
const USAGE: &str = "berth network rm NETWORK [NETWORK...]";

/// `berth network rm`.
#[derive(Debug, Args)]
#[command(override_usage = USAGE)]
pub struct RmArgs {
    /// Networks, by name, id or id prefix
    #[arg(value_name = "NETWORK")]
    pub networks: Vec<String>,
    /// Do not error if the network does not exist
    #[arg(short, long)]
    pub force: bool,
}

impl RmArgs {
    /// Checks the arguments.
    pub fn check(&self) -> Result<(), Failure> {
        check_arity(PATH, USAGE, Arity::AtLeast(1), self.networks.len())
    }

    /// Removes the networks one by one, printing each removed name; errors
    /// go to standard error as they happen, and then the exit code is 1.
    pub async fn run(self, client: &Client, io: &mut Io<'_>) -> Result<(), Failure> {
        let mut failed = false;
        for name in &self.networks {
            match client.network_remove(name).await {
                Ok(()) => writeln!(io.stdout, "{name}")?,
                Err(e) if self.force && e.status() == Some(404) => {}
                Err(e) => {
                    writeln!(io.stderr, "{}", client_message(&e))?;
                    failed = true;
                }
            }
        }
        if failed {
            Err(Failure::new(1, "exit status 1"))
        } else {
            Ok(())
        }
    }
}
