//! Usage errors worded and numbered as the docker CLI does: flag errors
//! exit 125 with `See '<command> --help'.`, wrong argument counts exit 1
//! with the command's usage line.

use clap::CommandFactory;
use clap::error::{ContextKind, ContextValue, ErrorKind};

use super::arity::{Arity, check_arity};
use super::command::Cli;
use super::exit::Failure;
use super::global::Globals;
use super::io::Io;

/// Docker's exit code for flag errors.
pub const FLAG_ERROR_CODE: i32 = 125;

/// Turns a clap error into what docker does: help and version on standard
/// output (exit 0), anything else a flag error (exit 125).
pub fn from_clap(err: &clap::Error, argv: &[String], io: &mut Io<'_>) -> Result<(), Failure> {
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        write!(io.stdout, "{}", err.render())?;
        return Ok(());
    }
    let path = command_path(argv);
    if err.kind() == ErrorKind::MissingRequiredArgument
        && let Some(failure) = missing_arguments(&path)
    {
        return Err(failure);
    }
    let message = flag_message(err, &path);
    Err(Failure::new(
        FLAG_ERROR_CODE,
        format!("{message}\nSee '{} --help'.", path.join(" ")),
    ))
}

/// The names of the command that `argv` runs, e.g. `["berth", "network",
/// "ls"]`, as far as they can be told.
pub fn command_path(argv: &[String]) -> Vec<String> {
    let mut path = vec!["berth".to_owned()];
    let mut cmd = Cli::command();
    let mut skip_value = false;
    for arg in argv.iter().skip(1) {
        if std::mem::take(&mut skip_value) {
            continue;
        }
        if Globals::WITH_VALUE.contains(&arg.as_str()) {
            skip_value = true;
            continue;
        }
        if arg.starts_with('-') {
            continue;
        }
        let Some(sub) = cmd.find_subcommand(arg).cloned() else {
            break;
        };
        path.push(sub.get_name().to_owned());
        cmd = sub;
    }
    path
}

fn context(err: &clap::Error, kind: ContextKind) -> Option<String> {
    match err.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(v) => v.first().cloned(),
        _ => None,
    }
}

/// A command run without the arguments it requires, worded as docker's
/// argument-count errors (exit 1, the usage line): how many it requires
/// comes from its required positional arguments.
fn missing_arguments(path: &[String]) -> Option<Failure> {
    let mut cmd = Cli::command();
    for name in path.iter().skip(1) {
        cmd = cmd.find_subcommand(name)?.clone();
    }
    let (mut least, mut unbounded) = (0, false);
    for a in cmd.get_positionals().filter(|a| a.is_required_set()) {
        let range = a.get_num_args().unwrap_or_else(|| 1.into());
        least += range.min_values().max(1);
        unbounded |= range.max_values() == usize::MAX || a.is_trailing_var_arg_set();
    }
    if least == 0 {
        return None;
    }
    // A generated usage line names the subcommand alone: its path goes in
    // front (a written one, `override_usage`, has it already).
    let usage = cmd.render_usage().to_string();
    let usage = usage.trim().trim_start_matches("Usage:").trim();
    let usage = if usage.starts_with("berth ") {
        usage.to_owned()
    } else {
        format!("{} {usage}", path[..path.len() - 1].join(" "))
    };
    let arity = if unbounded {
        Arity::AtLeast(least)
    } else {
        Arity::Exact(least)
    };
    check_arity(&path.join(" "), &usage, arity, 0).err()
}

/// pflag's wording for flag errors.
fn flag_message(err: &clap::Error, path: &[String]) -> String {
    let arg = context(err, ContextKind::InvalidArg).unwrap_or_default();
    let flag = arg
        .split([' ', '=', '['])
        .next()
        .unwrap_or_default()
        .to_owned();
    match err.kind() {
        ErrorKind::UnknownArgument if flag.starts_with("--") => format!("unknown flag: {flag}"),
        ErrorKind::UnknownArgument if flag.starts_with('-') => {
            let short = flag.chars().nth(1).unwrap_or('-');
            format!("unknown shorthand flag: '{short}' in {flag}")
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation | ErrorKind::NoEquals => {
            let value = context(err, ContextKind::InvalidValue).unwrap_or_default();
            if value.is_empty() && err.kind() == ErrorKind::InvalidValue {
                return format!("flag needs an argument: {flag}");
            }
            let reason = match (
                std::error::Error::source(err),
                err.get(ContextKind::ValidValue),
            ) {
                (Some(source), _) => source.to_string(),
                (None, Some(ContextValue::Strings(valid))) if valid == &["true", "false"] => {
                    format!("strconv.ParseBool: parsing \"{value}\": invalid syntax")
                }
                (None, _) => "invalid value".to_owned(),
            };
            format!(
                "invalid argument \"{value}\" for \"{}\" flag: {reason}",
                flag_names(path, &flag)
            )
        }
        _ => plain_message(err),
    }
}

/// `-d, --driver` when the flag has a short form, else `--driver`.
fn flag_names(path: &[String], long_flag: &str) -> String {
    let mut cmd = Cli::command();
    for name in path.iter().skip(1) {
        match cmd.find_subcommand(name).cloned() {
            Some(sub) => cmd = sub,
            None => break,
        }
    }
    let long = long_flag.trim_start_matches('-');
    let short = cmd
        .get_arguments()
        .find(|a| a.get_long() == Some(long))
        .and_then(clap::Arg::get_short);
    match short {
        Some(s) => format!("-{s}, --{long}"),
        None => format!("--{long}"),
    }
}

/// clap's own message: its first line, without the `error: ` prefix.
fn plain_message(err: &clap::Error) -> String {
    let rendered = err.render().to_string();
    let first = rendered.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::tests::berth;

    #[test]
    fn unknown_flags_exit_125() {
        let (code, _, err) = berth(&["network", "ls", "--nope"], "");
        assert_eq!(code, 125);
        assert_eq!(
            err,
            "unknown flag: --nope\nSee 'berth network ls --help'.\n"
        );
        let (code, _, err) = berth(&["network", "create", "-x", "n"], "");
        assert_eq!(code, 125);
        assert_eq!(
            err,
            "unknown shorthand flag: 'x' in -x\nSee 'berth network create --help'.\n"
        );
    }

    #[test]
    fn missing_flag_values_exit_125() {
        let (code, _, err) = berth(&["network", "create", "n", "--subnet"], "");
        assert_eq!(code, 125);
        assert_eq!(
            err,
            "flag needs an argument: --subnet\nSee 'berth network create --help'.\n"
        );
    }

    #[test]
    fn bad_flag_values_name_the_flag_like_pflag() {
        let (code, _, err) = berth(&["network", "ls", "-f", "driver"], "");
        assert_eq!(code, 125);
        assert_eq!(
            err,
            "invalid argument \"driver\" for \"-f, --filter\" flag: bad format of filter (expected name=value)\n\
             See 'berth network ls --help'.\n"
        );
        let (code, _, err) = berth(&["network", "connect", "--gw-priority", "x", "n", "c"], "");
        assert_eq!(code, 125);
        assert!(
            err.starts_with("invalid argument \"x\" for \"--gw-priority\" flag: "),
            "{err}"
        );
        let (code, _, err) = berth(&["network", "create", "--ipv4=maybe", "n"], "");
        assert_eq!(code, 125);
        assert_eq!(
            err,
            "invalid argument \"maybe\" for \"--ipv4\" flag: strconv.ParseBool: parsing \"maybe\": invalid syntax\n\
             See 'berth network create --help'.\n"
        );
    }

    #[test]
    fn missing_arguments_read_as_an_argument_count_error() {
        let (code, _, err) = berth(&["run"], "");
        assert_eq!(code, 1);
        assert!(
            err.starts_with(
                "berth: 'berth run' requires at least 1 argument\n\nUsage:  berth run "
            ),
            "{err}"
        );
        let (code, _, err) = berth(&["rename", "a"], "");
        assert_eq!(code, 1);
        assert!(
            err.starts_with("berth: 'berth rename' requires 2 arguments"),
            "{err}"
        );
    }

    #[test]
    fn command_path_skips_flags_and_resolves_aliases() {
        let argv: Vec<String> = ["berth", "--netd-host", "/x", "network", "list", "-q"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(command_path(&argv), ["berth", "network", "ls"]);
        let argv: Vec<String> = [
            "berth",
            "--root",
            "/r",
            "--runtime",
            "crun",
            "run",
            "--nope",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        assert_eq!(command_path(&argv), ["berth", "run"]);
    }
}
