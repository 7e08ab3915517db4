//! `berth network prune`.

use clap::Args;
use netd_api::client::Client;

use crate::cli::arity::{Arity, check_arity};
use crate::cli::exit::Failure;
use crate::cli::flags::PruneFlags;
use crate::cli::io::Io;
use crate::cli::opts::filters_json;

const PATH: &str = "berth network prune";
const USAGE: &str = "berth network prune [OPTIONS]";

/// The question asked before pruning, without `--force`.
pub const WARNING: &str = "WARNING! This will remove all custom networks not used by at least one container.\n\
                           Are you sure you want to continue? [y/N] ";

/// `berth network prune`.
#[derive(Debug, Args)]
#[command(override_usage = USAGE)]
pub struct PruneArgs {
    /// Arguments (an error).
    #[arg(hide = true)]
    pub extra: Vec<String>,
    /// `--filter`, `-f, --force`.
    #[command(flatten)]
    pub prune: PruneFlags,
}

impl PruneArgs {
    /// Checks the arguments.
    pub fn check(&self) -> Result<(), Failure> {
        check_arity(PATH, USAGE, Arity::None, self.extra.len())
    }

    /// Asks (unless forced), prunes, and lists what was deleted. A `no`
    /// ends the command quietly with exit code 0, as docker does.
    pub async fn run(self, client: &Client, io: &mut Io<'_>) -> Result<(), Failure> {
        if !self.prune.force.confirmed(io, WARNING)? {
            return Ok(());
        }
        let filters = filters_json(&self.prune.filter);
        let report = client
            .networks_prune(filters.as_deref())
            .await
            .map_err(|e| Failure::client(&e))?;
        io.stdout
            .write_all(deleted_report(&report.networks_deleted).as_bytes())?;
        Ok(())
    }
}

/// `Deleted Networks:` and one name a line, then an empty line; nothing
/// when nothing was deleted.
pub fn deleted_report(names: &[String]) -> String {
    if names.is_empty() {
        return String::new();
    }
    let mut out = "Deleted Networks:\n".to_owned();
    for name in names {
        out.push_str(name);
        out.push('\n');
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_lists_names_then_a_blank_line() {
        assert_eq!(
            deleted_report(&["a".to_owned(), "b".to_owned()]),
            "Deleted Networks:\na\nb\n\n"
        );
        assert_eq!(deleted_report(&[]), "");
    }
}
