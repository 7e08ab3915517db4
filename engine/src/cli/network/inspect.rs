//! `berth network inspect`.

use clap::Args;
use netd_api::client::Client;

use crate::cli::arity::{Arity, check_arity};
use crate::cli::exit::{Failure, client_message};
use crate::cli::flags::InspectFlags;
use crate::cli::io::Io;
use crate::format::inspect::Inspector;
use crate::format::network::add_go_aliases;

const PATH: &str = "berth network inspect";
const USAGE: &str = "berth network inspect [OPTIONS] NETWORK [NETWORK...]";

/// `berth network inspect`.
#[derive(Debug, Args)]
#[command(override_usage = USAGE)]
pub struct InspectArgs {
    /// Networks, by name, id or id prefix
    #[arg(value_name = "NETWORK")]
    pub networks: Vec<String>,
    /// `-f, --format`.
    #[command(flatten)]
    pub format: InspectFlags,
    /// Verbose output for diagnostics
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

impl InspectArgs {
    /// Checks the arguments.
    pub fn check(&self) -> Result<(), Failure> {
        check_arity(PATH, USAGE, Arity::AtLeast(1), self.networks.len())
    }

    /// Prints the networks; those that cannot be had are reported on
    /// standard error, and the exit code is then 1.
    pub async fn run(self, client: &Client, io: &mut Io<'_>) -> Result<(), Failure> {
        let format = self.format.parse()?;
        let mut inspector = Inspector::new(format, add_go_aliases);
        for name in &self.networks {
            match client.network(name).await {
                Ok(network) => inspector.add(network),
                Err(e) => inspector.add_error(client_message(&e)),
            }
        }
        let (out, errors) = inspector.finish();
        io.stdout.write_all(out.as_bytes())?;
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Failure::new(1, errors.join("\n")))
        }
    }
}
