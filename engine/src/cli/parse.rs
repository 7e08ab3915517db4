//! Parsing berth's command line. Building clap's tree of every berth
//! command costs about 0.7 ms in a fresh process, which is a tenth of a
//! container's whole start-up, so `run` is first parsed against a tree
//! holding only itself and the global options. Help, and anything that
//! does not parse there, goes through the whole tree: output and errors
//! are the same either way.

use std::ffi::OsString;

use clap::{Args, Command, FromArgMatches, Parser};

use super::command::Cli;
use super::container::run::RunArgs;
use super::global::Globals;

/// Parses `args` (the program name first).
pub(super) fn parse(args: &[OsString]) -> Result<Cli, clap::Error> {
    if let Some(cli) = run_alone(args) {
        return Ok(cli);
    }
    Cli::try_parse_from(args)
}

/// The index of the command's name in `args`: the first argument that is
/// neither a global option nor its value. `None` when something else comes
/// first (`--help`, `--version`, an unknown option).
fn command_index(args: &[OsString]) -> Option<usize> {
    let mut i = 1;
    while let Some(a) = args.get(i) {
        let a = a.to_str()?;
        if Globals::WITH_VALUE.contains(&a) {
            i += 2;
        } else if Globals::WITH_VALUE
            .iter()
            .any(|g| a.strip_prefix(g).is_some_and(|rest| rest.starts_with('=')))
        {
            i += 1;
        } else if a.starts_with('-') {
            return None;
        } else {
            return Some(i);
        }
    }
    None
}

/// `berth run …` parsed against `run` alone, or `None` to use the whole
/// tree.
fn run_alone(args: &[OsString]) -> Option<Cli> {
    let i = command_index(args)?;
    if args[i] != "run" || args.iter().any(|a| a == "--help") {
        return None;
    }
    let root = Globals::augment_args(Command::new("berth")).subcommand(RunArgs::augment_args(
        Command::new("run").disable_help_flag(true),
    ));
    let matches = root.try_get_matches_from(args).ok()?;
    Cli::from_arg_matches(&matches).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(args: &[&str]) -> Vec<OsString> {
        std::iter::once("berth")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect()
    }

    #[test]
    fn run_alone_parses_as_the_whole_tree_does() {
        for args in [
            &["run", "--rm", "busybox", "true"][..],
            &[
                "--root",
                "/r",
                "--runtime=crun",
                "run",
                "-d",
                "--name",
                "x",
                "busybox",
            ],
            &[
                "--netd-host",
                "unix:///s",
                "run",
                "-it",
                "-h",
                "box",
                "-p",
                "80:80",
                "-e",
                "A=1",
                "--network",
                "n1",
                "--network",
                "n2",
                "--memory",
                "64m",
                "--restart",
                "on-failure:3",
                "busybox",
                "sh",
                "-c",
                "echo -h --rm",
            ],
            &["run", "busybox", "ls", "-l", "--", "-x"],
        ] {
            let a = argv(args);
            let fast = run_alone(&a).unwrap_or_else(|| panic!("{args:?} took the slow path"));
            let full = Cli::try_parse_from(&a).expect("parses");
            assert_eq!(format!("{fast:?}"), format!("{full:?}"), "{args:?}");
        }
    }

    #[test]
    fn help_and_errors_and_other_commands_use_the_whole_tree() {
        for args in [
            &["run", "--help"][..],
            &["run", "--memory"],
            &["run"],
            &["--version"],
            &["ps", "-a"],
            &["container", "run", "busybox"],
            &["--bogus", "run", "busybox"],
        ] {
            assert!(run_alone(&argv(args)).is_none(), "{args:?}");
        }
    }

    #[test]
    fn the_command_is_found_after_global_options() {
        assert_eq!(command_index(&argv(&["--root", "/r", "run"])), Some(3));
        assert_eq!(command_index(&argv(&["--root=/r", "ps"])), Some(2));
        assert_eq!(command_index(&argv(&["-v"])), None);
        assert_eq!(command_index(&argv(&[])), None);
    }
}
