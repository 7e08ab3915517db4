//! `--stop-signal` (moby's `signal.ParseSignal`) and `--stop-timeout`.

use super::{NumberError, parse_go_int};

/// Linux signal names without `SIG`, by number, as moby's signal map has
/// them; the real-time ones follow as `RTMIN`, `RTMIN+n`, `RTMAX-n`, `RTMAX`.
const NAMES: [(&str, i32); 34] = [
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("ILL", 4),
    ("TRAP", 5),
    ("ABRT", 6),
    ("IOT", 6),
    ("BUS", 7),
    ("FPE", 8),
    ("KILL", 9),
    ("USR1", 10),
    ("SEGV", 11),
    ("USR2", 12),
    ("PIPE", 13),
    ("ALRM", 14),
    ("TERM", 15),
    ("STKFLT", 16),
    ("CHLD", 17),
    ("CLD", 17),
    ("CONT", 18),
    ("STOP", 19),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("URG", 23),
    ("XCPU", 24),
    ("XFSZ", 25),
    ("VTALRM", 26),
    ("PROF", 27),
    ("WINCH", 28),
    ("IO", 29),
    ("POLL", 29),
    ("PWR", 30),
    ("SYS", 31),
];

/// The first and last real-time signals (glibc's view, as Go's).
const RTMIN: i32 = 34;
const RTMAX: i32 = 64;

/// A `--stop-signal` that is neither a known name nor a signal number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid signal: {0}")]
pub struct SignalError(pub String);

/// `--stop-signal`: a number (`15`) or a name with or without `SIG`, in any
/// case (`SIGTERM`, `term`), as its number. Docker takes any non-zero
/// number; berth takes only the numbers a Linux signal can have (1–64).
pub fn parse_signal(value: &str) -> Result<i32, SignalError> {
    let invalid = || SignalError(value.to_owned());
    if let Ok(number) = value.parse::<i64>() {
        return i32::try_from(number)
            .ok()
            .filter(|n| (1..=RTMAX).contains(n))
            .ok_or_else(invalid);
    }
    let upper = value.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some((_, number)) = NAMES.iter().find(|(n, _)| *n == name) {
        return Ok(*number);
    }
    let realtime = match name {
        "RTMIN" => Some(RTMIN),
        "RTMAX" => Some(RTMAX),
        _ => name
            .strip_prefix("RTMIN+")
            .and_then(|n| n.parse::<i32>().ok())
            .filter(|n| (1..=15).contains(n))
            .map(|n| RTMIN + n)
            .or_else(|| {
                name.strip_prefix("RTMAX-")
                    .and_then(|n| n.parse::<i32>().ok())
                    .filter(|n| (1..=14).contains(n))
                    .map(|n| RTMAX - n)
            }),
    };
    realtime.ok_or_else(invalid)
}

/// The usual name of signal `number` with `SIG` (`SIGTERM`), for messages.
pub fn signal_name(number: i32) -> Option<String> {
    if let Some((name, _)) = NAMES.iter().find(|(_, n)| *n == number) {
        return Some(format!("SIG{name}"));
    }
    match number {
        RTMIN => Some("SIGRTMIN".to_owned()),
        RTMAX => Some("SIGRTMAX".to_owned()),
        n if (RTMIN + 1..=RTMIN + 15).contains(&n) => Some(format!("SIGRTMIN+{}", n - RTMIN)),
        n if (RTMAX - 14..RTMAX).contains(&n) => Some(format!("SIGRTMAX-{}", RTMAX - n)),
        _ => None,
    }
}

/// `--stop-timeout`: seconds to wait after the stop signal before `KILL`
/// (negative: wait for ever), with Go's error for what is not an integer.
pub fn parse_stop_timeout(value: &str) -> Result<i64, NumberError> {
    parse_go_int(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_parse_by_name_with_or_without_sig_and_by_number() {
        for (input, want) in [
            ("SIGTERM", 15),
            ("TERM", 15),
            ("term", 15),
            ("15", 15),
            ("SIGKILL", 9),
            ("SIGRTMIN", 34),
            ("SIGRTMIN+3", 37),
            ("RTMAX-1", 63),
            ("SIGRTMAX", 64),
        ] {
            assert_eq!(parse_signal(input).unwrap(), want, "{input}");
        }
    }

    #[test]
    fn unknown_signals_and_zero_are_refused() {
        for bad in ["FOO", "0", "SIGFOO", "65", "-1", "RTMIN+16", ""] {
            assert_eq!(
                parse_signal(bad).unwrap_err().to_string(),
                format!("invalid signal: {bad}")
            );
        }
    }

    #[test]
    fn signal_names_round_trip() {
        for n in 1..=64 {
            if let Some(name) = signal_name(n) {
                assert_eq!(parse_signal(&name).unwrap(), n, "{name}");
            }
        }
        assert_eq!(signal_name(15).as_deref(), Some("SIGTERM"));
        assert_eq!(signal_name(32), None);
    }

    #[test]
    fn stop_timeout_is_an_integer_with_gos_error() {
        assert_eq!(parse_stop_timeout("10").unwrap(), 10);
        assert_eq!(parse_stop_timeout("-1").unwrap(), -1);
        assert_eq!(
            parse_stop_timeout("x").unwrap_err().to_string(),
            r#"strconv.ParseInt: parsing "x": invalid syntax"#
        );
    }
}
