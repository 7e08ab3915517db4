//! The `berth` command line: arguments (clap), docker's usage errors and
//! exit codes, and dispatch to the commands.
//!
//! The command groups ([`container`], [`image`], [`network`], [`volume`],
//! [`system`]) build on shared leaves: the streams ([`io`]), how a command
//! fails ([`exit`]), the global options ([`global`]), argument counts
//! ([`arity`]), flag groups ([`flags`]) and option values ([`opts`]), and
//! attaching to a container ([`attach_client`]). Only this module and the
//! parsing around it ([`command`], [`usage`]) see the whole tree.

pub mod arity;
pub mod attach_client;
pub mod command;
pub mod container;
pub mod exit;
pub mod flags;
pub mod global;
pub mod image;
pub mod io;
pub mod network;
pub mod opts;
mod parse;
pub mod shim;
pub mod system;
pub mod usage;
pub mod volume;

use std::ffi::OsString;

use clap::CommandFactory;

use self::command::{Cli, TopCommand};
use self::exit::Failure;
pub use self::io::Io;

/// Runs `berth` with the process's arguments and standard streams, and
/// returns the exit code.
pub fn run_process(args: Vec<OsString>) -> i32 {
    let stdin = std::io::stdin();
    let mut stdin = stdin.lock();
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    let mut io = Io {
        stdin: &mut stdin,
        stdout: &mut stdout,
        stderr: &mut stderr,
    };
    run(args, &mut io)
}

/// Runs `berth` with `args` (the program name first) and returns the exit
/// code: 0, 1 for errors (daemon errors, wrong argument counts), 125 for
/// flag errors, 64 for bad inspect templates, as docker does.
pub fn run(args: Vec<OsString>, io: &mut Io<'_>) -> i32 {
    let argv: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let parsed = parse::parse(&args);
    let result = match parsed {
        Ok(cli) => dispatch(cli, io),
        Err(err) => usage::from_clap(&err, &argv, io),
    };
    let code = match result {
        Ok(()) => 0,
        Err(failure) => {
            if !failure.message.is_empty() {
                // Nothing more can be reported if standard error fails.
                let _ = writeln!(io.stderr, "{}", failure.message);
            }
            failure.code
        }
    };
    let _ = io.stdout.flush();
    code
}

fn dispatch(cli: Cli, io: &mut Io<'_>) -> Result<(), Failure> {
    let g = &cli.global;
    let Some(command) = cli.command else {
        let help = Cli::command().render_help().to_string();
        write!(io.stderr, "{help}")?;
        return Ok(());
    };
    // Sandbox removals netd was away for are made first (nothing is done
    // when there are none: one read of a directory).
    if !matches!(command, TopCommand::Shim(_)) {
        crate::container::network::complete_pending(&g.runroot, &g.netd_host);
    }
    match command {
        TopCommand::Unknown(args) => Err(Failure::new(
            1,
            format!(
                "berth: '{}' is not a berth command.\nSee 'berth --help'",
                args.first().map_or("", String::as_str)
            ),
        )),
        TopCommand::Image(args) => match args.command {
            Some(c) => image::run(c, &g.root, io),
            None => group_help("image", io),
        },
        TopCommand::ImageShortcut(command) => image::run_shortcut(*command, &g.root, io),
        TopCommand::Network(args) => match args.command {
            Some(c) => network::run(c, g, io),
            None => group_help("network", io),
        },
        TopCommand::Container(args) => container::run(args.command, g, io),
        TopCommand::ContainerShortcut(cmd) => container::run(*cmd, g, io),
        TopCommand::Shim(args) => shim::run(&args, g),
        TopCommand::Volume(args) => match args.command {
            Some(c) => volume::run(c, g, io),
            None => group_help("volume", io),
        },
        TopCommand::System(args) => match args.command {
            Some(c) => system::run(c, g, io),
            None => group_help("system", io),
        },
        TopCommand::Version(args) => args.run(g, io),
        TopCommand::Info(args) => args.run(g, io),
    }
}

/// A command group given alone (`berth system`): its help on standard
/// error, exit 0, as docker does.
fn group_help(group: &str, io: &mut Io<'_>) -> Result<(), Failure> {
    let mut cli = Cli::command();
    if let Some(command) = cli.find_subcommand_mut(group) {
        write!(io.stderr, "{}", command.render_help())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs berth with `args` and returns (exit code, stdout, stderr).
    pub(crate) fn berth(args: &[&str], stdin: &str) -> (i32, String, String) {
        let mut input = stdin.as_bytes();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut io = Io {
            stdin: &mut input,
            stdout: &mut out,
            stderr: &mut err,
        };
        // berth's state stays out of unit tests: unless a test gives its
        // own, a root and runroot in a directory of the test's, removed
        // after the command.
        let state = tempfile::tempdir().unwrap();
        let mut argv: Vec<OsString> = vec!["berth".into()];
        for (flag, default) in [("--root", "root"), ("--runroot", "run")] {
            if !args.contains(&flag) {
                argv.extend([OsString::from(flag), state.path().join(default).into()]);
            }
        }
        argv.extend(args.iter().map(OsString::from));
        let code = run(argv, &mut io);
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_command_prints_help_on_stderr_and_succeeds() {
        let (code, out, err) = berth(&[], "");
        assert_eq!(code, 0);
        assert_eq!(out, "");
        assert!(
            err.contains("Usage: berth [OPTIONS] COMMAND [ARG...]"),
            "{err}"
        );
        assert!(err.contains("network"), "{err}");
    }

    #[test]
    fn help_goes_to_stdout() {
        let (code, out, _) = berth(&["--help"], "");
        assert_eq!(code, 0);
        assert!(out.contains("--netd-host"), "{out}");
    }

    #[test]
    fn an_unknown_command_is_an_error() {
        let (code, _, err) = berth(&["nope"], "");
        assert_eq!(code, 1);
        assert_eq!(
            err,
            "berth: 'nope' is not a berth command.\nSee 'berth --help'\n"
        );
    }
}
