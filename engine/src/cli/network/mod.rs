//! `berth network …`: docker's `network` commands, over netd's API.

pub mod connect;
pub mod create;
pub mod disconnect;
pub mod inspect;
pub mod ipam;
pub mod ls;
pub mod prune;
pub mod rm;

use clap::{Args, Subcommand};

use super::exit::Failure;
use super::global::Globals;
use super::io::Io;

/// The `network` usage line.
const USAGE: &str = "berth network COMMAND";

/// `berth network`.
#[derive(Debug, Args)]
#[command(override_usage = USAGE)]
pub struct NetworkArgs {
    /// The command.
    #[command(subcommand)]
    pub command: Option<NetworkCommand>,
}

/// The `network` commands.
#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    /// Connect a container to a network
    Connect(connect::ConnectArgs),
    /// Create a network
    Create(create::CreateArgs),
    /// Disconnect a container from a network
    Disconnect(disconnect::DisconnectArgs),
    /// Display detailed information on one or more networks
    Inspect(inspect::InspectArgs),
    /// List networks
    #[command(visible_alias = "list")]
    Ls(ls::LsArgs),
    /// Remove all unused networks
    Prune(prune::PruneArgs),
    /// Remove one or more networks
    #[command(visible_alias = "remove")]
    Rm(rm::RmArgs),
    /// Anything else: not a network command.
    #[command(external_subcommand)]
    Unknown(Vec<String>),
}

/// Runs a `network` command against the netd at `g.netd_host`; `g` also
/// locates berth's containers, which `connect` checks first.
pub fn run(command: NetworkCommand, g: &Globals, io: &mut Io<'_>) -> Result<(), Failure> {
    match &command {
        NetworkCommand::Unknown(rest) => {
            return Err(Failure::unknown_command("network", USAGE, rest));
        }
        NetworkCommand::Connect(a) => {
            a.check()?;
            a.check_container(g)?;
        }
        NetworkCommand::Create(a) => a.check()?,
        NetworkCommand::Disconnect(a) => a.check()?,
        NetworkCommand::Inspect(a) => a.check()?,
        NetworkCommand::Ls(a) => a.check()?,
        NetworkCommand::Prune(a) => a.check()?,
        NetworkCommand::Rm(a) => a.check()?,
    }
    let client = netd_api::blocking::Client::new(&g.netd_host)
        .map_err(|e| Failure::new(1, e.to_string()))?;
    // Each command answers with its own failure; the client's own errors
    // (none: it has no deadline) would be exit 1.
    let done = client.run(async move |client| {
        Ok(match command {
            NetworkCommand::Connect(a) => a.run(client).await,
            NetworkCommand::Create(a) => a.run(client, io).await,
            NetworkCommand::Disconnect(a) => a.run(client).await,
            NetworkCommand::Inspect(a) => a.run(client, io).await,
            NetworkCommand::Ls(a) => a.run(client, io).await,
            NetworkCommand::Prune(a) => a.run(client, io).await,
            NetworkCommand::Rm(a) => a.run(client, io).await,
            NetworkCommand::Unknown(_) => Ok(()),
        })
    });
    done.map_err(|e| Failure::new(1, e.to_string()))?
}

#[cfg(test)]
mod tests {
    use crate::cli::tests::berth;

    #[test]
    fn network_alone_prints_its_help_on_stderr() {
        let (code, out, err) = berth(&["network"], "");
        assert_eq!(code, 0);
        assert_eq!(out, "");
        assert!(err.contains("Usage: berth network COMMAND"), "{err}");
        for command in [
            "connect",
            "create",
            "disconnect",
            "inspect",
            "ls",
            "prune",
            "rm",
        ] {
            assert!(err.contains(command), "{command} missing from {err}");
        }
    }

    #[test]
    fn an_unknown_network_command_is_an_error() {
        let (code, _, err) = berth(&["network", "frob"], "");
        assert_eq!(code, 1);
        assert_eq!(
            err,
            "berth: unknown command: berth network frob\n\nUsage:  berth network COMMAND\n\n\
             Run 'berth network --help' for more information\n"
        );
    }

    #[test]
    fn every_subcommand_has_help() {
        for command in [
            "connect",
            "create",
            "disconnect",
            "inspect",
            "ls",
            "list",
            "prune",
            "rm",
            "remove",
        ] {
            let (code, out, _) = berth(&["network", command, "--help"], "");
            assert_eq!(code, 0, "{command}");
            assert!(out.contains("Usage: berth network "), "{command}: {out}");
        }
    }

    #[test]
    fn a_bad_host_is_reported_after_the_arguments_are_checked() {
        let (code, _, err) = berth(&["--netd-host", "tcp://x:1", "network", "ls"], "");
        assert_eq!(code, 1);
        assert!(err.starts_with("invalid netd host tcp://x:1"), "{err}");
    }
}
