//! `berth volume …` (`create`, `ls`, `inspect`, `rm`, `prune`) over the
//! volumes under `--root`.

pub mod create;
pub mod inspect;
pub mod ls;
pub mod prune;
pub mod rm;

use std::path::Path;

use clap::{Args, Subcommand};

use super::exit::Failure;
use super::global::Globals;
use super::io::Io;
use crate::container::Containers;
use crate::volume::{ContainerUse, VolumeError, Volumes};

/// The `volume` usage line.
const USAGE: &str = "berth volume COMMAND";

/// `berth volume`.
#[derive(Debug, Args)]
#[command(override_usage = USAGE)]
pub struct VolumeArgs {
    /// The command.
    #[command(subcommand)]
    pub command: Option<VolumeCommand>,
}

/// The `volume` commands.
#[derive(Debug, Subcommand)]
pub enum VolumeCommand {
    /// Create a volume
    Create(create::CreateArgs),
    /// Display detailed information on one or more volumes
    Inspect(inspect::InspectArgs),
    /// List volumes
    #[command(visible_alias = "list")]
    Ls(ls::LsArgs),
    /// Remove unused local volumes
    Prune(prune::PruneArgs),
    /// Remove one or more volumes. You cannot remove a volume that is in use by a container.
    #[command(visible_alias = "remove")]
    Rm(rm::RmArgs),
    /// Anything else: not a volume command.
    #[command(external_subcommand)]
    Unknown(Vec<String>),
}

/// Runs a `volume` command.
pub fn run(command: VolumeCommand, g: &Globals, io: &mut Io<'_>) -> Result<(), Failure> {
    match command {
        VolumeCommand::Unknown(rest) => Err(Failure::unknown_command("volume", USAGE, &rest)),
        VolumeCommand::Create(a) => a.run(&g.root, io),
        VolumeCommand::Inspect(a) => a.run(&g.root, io),
        VolumeCommand::Ls(a) => a.run(g, io),
        VolumeCommand::Prune(a) => a.run(g, io),
        VolumeCommand::Rm(a) => a.run(g, io),
    }
}

/// `Error response from daemon: …`, exit 1.
fn daemon(e: &VolumeError) -> Failure {
    Failure::daemon(e)
}

/// Opens the volumes under `root`.
fn open(root: &Path) -> Result<Volumes, Failure> {
    Volumes::open(root).map_err(|e| daemon(&e))
}

/// What the containers use (all of them, running or not).
fn container_use(g: &Globals) -> Result<ContainerUse, Failure> {
    Containers::open(&g.root, &g.runroot)
        .and_then(|store| ContainerUse::scan(&store))
        .map_err(|e| Failure::daemon(&e))
}

#[cfg(test)]
mod tests {
    use crate::cli::tests::berth;

    fn root() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().display().to_string();
        (dir, path)
    }

    #[test]
    fn volume_alone_prints_its_help() {
        let (code, out, err) = berth(&["volume"], "");
        assert_eq!((code, out.as_str()), (0, ""));
        for command in ["create", "inspect", "ls", "prune", "rm"] {
            assert!(err.contains(command), "{command} missing from {err}");
        }
        let (code, _, err) = berth(&["volume", "frob"], "");
        assert_eq!(code, 1);
        assert!(err.starts_with("berth: unknown command: berth volume frob\n"));
    }

    #[test]
    fn create_ls_inspect_rm_round_trip() {
        let (_dir, root) = root();
        let b = |args: &[&str]| {
            let mut all = vec!["--root", root.as_str(), "--runroot", root.as_str()];
            all.extend_from_slice(args);
            berth(&all, "")
        };
        assert_eq!(
            b(&["volume", "create", "--label", "a=1", "data"]).1,
            "data\n"
        );
        let (code, anon, _) = b(&["volume", "create"]);
        assert_eq!(code, 0);
        let anon = anon.trim().to_owned();
        assert_eq!(anon.len(), 64);
        let (_, out, _) = b(&["volume", "ls"]);
        let mut expected = vec!["DRIVER    VOLUME NAME".to_owned()];
        let mut names = [anon.clone(), "data".to_owned()];
        names.sort_by(|a, b| crate::format::natural_order::natural_cmp(a, b));
        expected.extend(names.iter().map(|n| format!("local     {n}")));
        assert_eq!(out, expected.join("\n") + "\n");
        let (_, out, _) = b(&["volume", "ls", "-q", "--filter", "label=a=1"]);
        assert_eq!(out, "data\n");
        let (_, out, _) = b(&[
            "volume",
            "inspect",
            "-f",
            "{{.Name}} {{.Labels}} {{.Scope}}",
            "data",
        ]);
        assert_eq!(out, "data map[a:1] local\n");
        let (code, out, err) = b(&["volume", "rm", "data", "nope"]);
        assert_eq!((code, out.as_str()), (1, "data\n"));
        assert_eq!(
            err,
            "Error response from daemon: get nope: no such volume\n"
        );
        let (code, out, _) = b(&["volume", "rm", "-f", "nope"]);
        assert_eq!((code, out.as_str()), (0, "nope\n"));
        // The anonymous volume `volume create` made is not anonymous.
        let (_, out, _) = b(&["volume", "prune", "-f"]);
        assert_eq!(out, "Total reclaimed space: 0B\n");
        let (_, out, _) = b(&["volume", "prune", "-a", "-f"]);
        assert_eq!(
            out,
            format!("Deleted Volumes:\n{anon}\n\nTotal reclaimed space: 0B\n")
        );
    }

    #[test]
    fn create_checks_its_arguments() {
        let (_dir, root) = root();
        let b = |args: &[&str]| {
            let mut all = vec!["--root", root.as_str()];
            all.extend_from_slice(args);
            berth(&all, "")
        };
        let (code, _, err) = b(&["volume", "create", "a1", "b1"]);
        assert_eq!(code, 1);
        assert!(
            err.starts_with("berth: 'berth volume create' requires at most 1 argument\n"),
            "{err}"
        );
        let (code, _, err) = b(&["volume", "create", "-d", "nfs", "v1"]);
        assert_eq!(code, 1);
        assert_eq!(
            err,
            "Error response from daemon: create v1: error looking up volume plugin nfs: plugin \"nfs\" not found\n"
        );
        let (code, _, err) = b(&["volume", "create", "-o", "colour=red", "v1"]);
        assert_eq!(code, 1);
        assert_eq!(
            err,
            "Error response from daemon: create v1: invalid option: \"colour\"\n"
        );
        let (code, _, err) = b(&["volume", "create", "--name", "x1", "v1"]);
        assert_eq!(code, 1);
        assert!(err.contains("conflicting options"), "{err}");
        let (code, _, err) = b(&["volume", "ls", "--filter", "colour=red"]);
        assert_eq!(code, 1);
        assert_eq!(err, "Error response from daemon: invalid filter 'colour'\n");
    }
}
