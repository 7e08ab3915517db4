//! Parsers for the `berth run` flags that shape a container, each failing
//! with the message Docker gives for the same input: the docker CLI's where
//! the CLI checks, the daemon's where the daemon does (berth is both).
//!
//! | flag | parser |
//! |---|---|
//! | `-m/--memory`, `--memory-swap`, `--cpus` | [`parse_memory`], [`parse_memory_swap`], [`parse_cpus`] |
//! | `--restart` | [`parse_restart`] |
//! | `-v/--volume`, `--mount`, `--tmpfs` | [`parse_volume`], [`parse_mount`], [`parse_tmpfs`] |
//! | `-e/--env`, `--env-file` | [`parse_env`], [`parse_env_file`] |
//! | `--stop-signal`, `--stop-timeout` | [`parse_signal`], [`parse_stop_timeout`] |
//! | `-u/--user` | [`parse_user`] |
//! | `--ulimit` | [`parse_ulimit`] |

mod env;
mod mount;
mod mount_config;
mod mount_error;
mod restart;
mod signal;
mod size;
mod tmpfs;
mod ulimit;
mod user;
mod volume;

use std::num::IntErrorKind;

pub use self::env::{EnvError, EnvFileFault, parse_env, parse_env_file};
pub use self::mount::{
    BindOptions, MountSpec, MountType, Propagation, TmpfsOptions, VolumeOptions,
    check_duplicate_targets, parse_mount,
};
pub use self::mount_error::{ConfigFault, MountError};
pub use self::restart::{RestartError, RestartPolicy, check_restart_with_rm, parse_restart};
pub use self::signal::{SignalError, parse_signal, parse_stop_timeout, signal_name};
pub use self::size::{
    CpusError, SizeError, check_nano_cpus, parse_cpus, parse_memory, parse_memory_swap,
    parse_ram_in_bytes,
};
pub use self::tmpfs::{merge_tmpfs_options, parse_tmpfs};
pub use self::ulimit::{ULIMIT_NAMES, Ulimit, UlimitError, parse_ulimit};
pub use self::user::{MAX_ID, UserSpec, UserSpecError, parse_user};
pub use self::volume::{parse_volume, validate_volume_name};

/// A number Go's `strconv` refuses, worded as Go words it
/// (`strconv.ParseInt: parsing "x": invalid syntax`), because Docker passes
/// these messages through to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("strconv.{func}: parsing {input:?}: {fault}")]
pub struct NumberError {
    /// The Go function whose words these are (`ParseInt`, `ParseFloat`).
    pub func: &'static str,
    /// The text that did not parse.
    pub input: String,
    /// Why.
    pub fault: NumberFault,
}

/// Why a number did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NumberFault {
    /// Not a number at all.
    #[error("invalid syntax")]
    Syntax,
    /// A number too large (or small) for its type.
    #[error("value out of range")]
    Range,
}

/// Go's `strconv.ParseInt(s, 10, 64)`.
pub(crate) fn parse_go_int(input: &str) -> Result<i64, NumberError> {
    input.parse::<i64>().map_err(|e| NumberError {
        func: "ParseInt",
        input: input.to_owned(),
        fault: match e.kind() {
            IntErrorKind::PosOverflow | IntErrorKind::NegOverflow => NumberFault::Range,
            _ => NumberFault::Syntax,
        },
    })
}

/// Go's `strconv.ParseBool`: `1 t T TRUE true True` and their false twins.
pub(crate) fn parse_go_bool(input: &str) -> Option<bool> {
    match input {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Checks that `parse` refuses each input with the message paired with it.
#[cfg(test)]
pub(crate) fn assert_errors<T: std::fmt::Debug, E: std::fmt::Display>(
    parse: impl Fn(&str) -> Result<T, E>,
    cases: &[(&str, &str)],
) {
    for (input, message) in cases {
        match parse(input) {
            Ok(value) => panic!("{input:?} was accepted as {value:?}"),
            Err(e) => assert_eq!(e.to_string(), *message, "for {input:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_int_errors_read_as_go_writes_them() {
        assert_eq!(
            parse_go_int("x").unwrap_err().to_string(),
            r#"strconv.ParseInt: parsing "x": invalid syntax"#
        );
        assert_eq!(
            parse_go_int("99999999999999999999")
                .unwrap_err()
                .to_string(),
            r#"strconv.ParseInt: parsing "99999999999999999999": value out of range"#
        );
        assert_eq!(parse_go_int("+15").unwrap(), 15);
        assert_eq!(parse_go_int("-1").unwrap(), -1);
    }

    #[test]
    fn go_bool_takes_the_six_spellings_of_each_value() {
        for t in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_go_bool(t), Some(true));
        }
        for f in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(parse_go_bool(f), Some(false));
        }
        assert_eq!(parse_go_bool("yes"), None);
        assert_eq!(parse_go_bool(""), None);
    }
}
