//! `berth volume prune`: the anonymous volumes no container uses, or with
//! `--all` every unused one.

use clap::Args;

use super::{container_use, daemon, open};
use crate::cli::arity::{Arity, check_arity};
use crate::cli::exit::Failure;
use crate::cli::flags::PruneFlags;
use crate::cli::global::Globals;
use crate::cli::io::Io;
use crate::format::units::human_size;
use crate::volume::filter::{PRUNE_KEYS, VolumeFilters};
use crate::volume::store::Pruned;

const PATH: &str = "berth volume prune";
const USAGE: &str = "berth volume prune [OPTIONS]";

/// The question before pruning anonymous volumes.
pub const WARNING: &str = "WARNING! This will remove anonymous local volumes not used by at least one container.\n\
                           Are you sure you want to continue? [y/N] ";
/// The question before pruning all unused volumes.
pub const WARNING_ALL: &str = "WARNING! This will remove all local volumes not used by at least one container.\n\
                               Are you sure you want to continue? [y/N] ";

/// `berth volume prune`.
#[derive(Debug, Args)]
#[command(
    override_usage = USAGE,
    mut_arg("filter", |a| a.help("Provide filter values (e.g. \"label=<label>\")"))
)]
pub struct PruneArgs {
    /// Arguments (an error).
    #[arg(hide = true)]
    pub extra: Vec<String>,
    /// Remove all unused volumes, not just anonymous ones
    #[arg(short, long)]
    pub all: bool,
    /// `--filter`, `-f, --force`.
    #[command(flatten)]
    pub prune: PruneFlags,
}

/// Removes the unused volumes `filters` select.
pub fn prune(g: &Globals, filters: &VolumeFilters) -> Result<Pruned, Failure> {
    let volumes = open(&g.root)?;
    let users = container_use(g)?;
    volumes.prune(filters, &users).map_err(|e| daemon(&e))
}

/// `Deleted Volumes:` and a name a line, as docker's prune reports list
/// what went; empty when nothing did.
pub fn deleted_section(pruned: &Pruned) -> String {
    if pruned.names.is_empty() {
        return String::new();
    }
    let mut out = "Deleted Volumes:\n".to_owned();
    for name in &pruned.names {
        out.push_str(name);
        out.push('\n');
    }
    out
}

impl PruneArgs {
    /// Asks (unless forced), prunes, and reports.
    pub fn run(self, g: &Globals, io: &mut Io<'_>) -> Result<(), Failure> {
        check_arity(PATH, USAGE, Arity::None, self.extra.len())?;
        let mut filters = VolumeFilters::parse(&self.prune.filter, PRUNE_KEYS)
            .map_err(|e| Failure::new(1, format!("Error response from daemon: {e}")))?;
        filters.all |= self.all;
        let warning = if filters.all { WARNING_ALL } else { WARNING };
        if !self.prune.force.confirmed(io, warning)? {
            return Ok(());
        }
        let pruned = prune(g, &filters)?;
        let section = deleted_section(&pruned);
        if !section.is_empty() {
            writeln!(io.stdout, "{section}")?;
        }
        writeln!(
            io.stdout,
            "Total reclaimed space: {}",
            human_size(pruned.reclaimed)
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_lists_names() {
        assert_eq!(deleted_section(&Pruned::default()), "");
        let p = Pruned {
            names: vec!["a1".into(), "b1".into()],
            reclaimed: 0,
        };
        assert_eq!(deleted_section(&p), "Deleted Volumes:\na1\nb1\n");
    }

    #[test]
    fn a_no_prunes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().display().to_string();
        let (code, out, _) = crate::cli::tests::berth(
            &["--root", &root, "--runroot", &root, "volume", "prune"],
            "n\n",
        );
        assert_eq!((code, out.as_str()), (0, WARNING));
    }
}
