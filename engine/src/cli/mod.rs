//! The `berth` command line: arguments (clap), docker's usage errors and
//! exit codes, and dispatch to the commands.

pub mod container;
pub mod exit;
pub mod image;
pub mod network;
pub mod opts;
mod parse;
pub mod system;
pub mod usage;
pub mod volume;

use std::ffi::OsString;
use std::io::{BufRead, Write};
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand};

use self::exit::Failure;

/// The root usage line.
const USAGE: &str = "berth [OPTIONS] COMMAND [ARG...]";

/// `berth`.
#[derive(Debug, Parser)]
#[command(
    name = "berth",
    about = "A compact container engine, and the command line of netd",
    version,
    override_usage = USAGE
)]
pub struct Cli {
    /// The global options.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command.
    #[command(subcommand)]
    pub command: Option<TopCommand>,
}

/// The options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// netd's socket (unix:///path or /path)
    #[arg(
        long = "netd-host",
        env = "NETD_HOST",
        default_value = netd_api::client::DEFAULT_HOST,
        global = true,
        value_name = "string",
        help_heading = "Global Options"
    )]
    pub netd_host: String,
    /// berth's state directory (images, containers)
    #[arg(
        long,
        env = "BERTH_ROOT",
        default_value = crate::image::DEFAULT_ROOT,
        global = true,
        value_name = "string",
        help_heading = "Global Options"
    )]
    pub root: PathBuf,
    /// berth's runtime state directory (bundles, shim sockets)
    #[arg(
        long,
        env = "BERTH_RUNROOT",
        default_value = crate::container::DEFAULT_RUNROOT,
        global = true,
        value_name = "string",
        help_heading = "Global Options"
    )]
    pub runroot: PathBuf,
    /// OCI runtime: crun, runc or a path (default: crun where it works, else runc)
    #[arg(
        long,
        env = "BERTH_RUNTIME",
        global = true,
        value_name = "string",
        help_heading = "Global Options"
    )]
    pub runtime: Option<String>,
}

/// `berth`'s commands.
#[derive(Debug, Subcommand)]
pub enum TopCommand {
    /// Manage containers
    Container(Box<container::ContainerArgs>),
    /// Container commands at the top level (`run`, `ps`, `logs`, …).
    #[command(flatten)]
    ContainerShortcut(Box<container::ContainerCommand>),
    /// The per-container shim (berth runs it itself).
    #[command(hide = true)]
    Shim(container::ShimArgs),
    /// Manage images
    Image(Box<image::ImageArgs>),
    /// Manage networks
    Network(Box<network::NetworkArgs>),
    /// Image commands at the top level (`images`, `rmi`, `tag`, …).
    #[command(flatten)]
    ImageShortcut(Box<image::ShortcutCommand>),
    /// Manage volumes
    Volume(Box<volume::VolumeArgs>),
    /// Manage berth
    System(Box<system::SystemArgs>),
    /// Show the berth version information
    Version(system::version::VersionArgs),
    /// Display system-wide information
    Info(system::info::InfoArgs),
    /// Anything else: not a berth command.
    #[command(external_subcommand)]
    Unknown(Vec<String>),
}

/// The standard streams a command uses.
pub struct Io<'a> {
    /// Standard input (prompts).
    pub stdin: &'a mut dyn BufRead,
    /// Standard output.
    pub stdout: &'a mut dyn Write,
    /// Standard error.
    pub stderr: &'a mut dyn Write,
}

impl std::fmt::Debug for Io<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Io").finish_non_exhaustive()
    }
}

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

/// Prints `warning` (a question ending in `[y/N] `) and reads the answer:
/// only `y` or `Y` goes ahead, as docker's prompts.
pub(crate) fn confirm(io: &mut Io<'_>, warning: &str) -> Result<bool, Failure> {
    write!(io.stdout, "{warning}")?;
    io.stdout.flush()?;
    let mut answer = String::new();
    io.stdin.read_line(&mut answer)?;
    Ok(answer.trim().eq_ignore_ascii_case("y"))
}

/// The global options the container commands use.
fn globals(cli: &Cli) -> container::Globals {
    container::Globals {
        root: cli.global.root.clone(),
        runroot: cli.global.runroot.clone(),
        runtime: cli.global.runtime.clone(),
        netd_host: cli.global.netd_host.clone(),
    }
}

fn dispatch(cli: Cli, io: &mut Io<'_>) -> Result<(), Failure> {
    let g = globals(&cli);
    match cli.command {
        None => {
            let help = Cli::command().render_help().to_string();
            write!(io.stderr, "{help}")?;
            Ok(())
        }
        Some(TopCommand::Unknown(args)) => Err(Failure::new(
            1,
            format!(
                "berth: '{}' is not a berth command.\nSee 'berth --help'",
                args.first().map_or("", String::as_str)
            ),
        )),
        Some(TopCommand::Image(args)) => image::run(*args, &cli.global.root, io),
        Some(TopCommand::ImageShortcut(command)) => {
            image::run_shortcut(*command, &cli.global.root, io)
        }
        Some(TopCommand::Network(args)) => network::run(*args, &cli.global.netd_host, &g, io),
        Some(TopCommand::Container(args)) => container::run(args.command, &g, io),
        Some(TopCommand::ContainerShortcut(cmd)) => container::run(*cmd, &g, io),
        Some(TopCommand::Shim(args)) => container::shim(&args, &g),
        Some(TopCommand::Volume(args)) => volume::run(*args, &g, io),
        Some(TopCommand::System(args)) => system::run(*args, &g, io),
        Some(TopCommand::Version(args)) => args.run(&g, io),
        Some(TopCommand::Info(args)) => args.run(&g, io),
    }
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
