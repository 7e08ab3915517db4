//! `--ulimit name=soft[:hard]` (go-units' `ParseUlimit`).

use super::{NumberError, parse_go_int};

/// The names `--ulimit` takes, as go-units knows them.
pub const ULIMIT_NAMES: [&str; 15] = [
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// One resource limit for the container's process; `-1` is unlimited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ulimit {
    /// One of [`ULIMIT_NAMES`].
    pub name: String,
    /// The soft limit.
    pub soft: i64,
    /// The hard limit.
    pub hard: i64,
}

/// A `--ulimit` value Docker refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UlimitError {
    /// No `=`.
    #[error("invalid ulimit argument: {0}")]
    Argument(String),
    /// A name go-units does not know.
    #[error("invalid ulimit type: {0}")]
    Type(String),
    /// More than `soft:hard`.
    #[error("too many limit value arguments - {0}, can only have up to two, `soft[:hard]`")]
    TooManyValues(String),
    /// A limit that is not an integer.
    #[error(transparent)]
    Number(#[from] NumberError),
    /// An unlimited soft limit under a finite hard one.
    #[error(
        "ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: {0}"
    )]
    UnlimitedSoft(i64),
    /// A soft limit above the hard one.
    #[error("ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")]
    SoftAboveHard {
        /// The soft limit given.
        soft: i64,
        /// The hard limit given.
        hard: i64,
    },
}

/// `--ulimit`: `nofile=1024`, `nofile=1024:2048`; a missing hard limit is
/// the soft one.
pub fn parse_ulimit(value: &str) -> Result<Ulimit, UlimitError> {
    let Some((name, limits)) = value.split_once('=') else {
        return Err(UlimitError::Argument(value.to_owned()));
    };
    if !ULIMIT_NAMES.contains(&name) {
        return Err(UlimitError::Type(name.to_owned()));
    }
    let values: Vec<&str> = limits.split(':').collect();
    let (soft, hard) = match values.as_slice() {
        [soft] => {
            let soft = parse_go_int(soft)?;
            (soft, soft)
        }
        [soft, hard] => {
            let hard = parse_go_int(hard)?;
            (parse_go_int(soft)?, hard)
        }
        _ => return Err(UlimitError::TooManyValues(limits.to_owned())),
    };
    if hard != -1 {
        if soft == -1 {
            return Err(UlimitError::UnlimitedSoft(hard));
        }
        if soft > hard {
            return Err(UlimitError::SoftAboveHard { soft, hard });
        }
    }
    Ok(Ulimit {
        name: name.to_owned(),
        soft,
        hard,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::flags::assert_errors;

    #[test]
    fn ulimits_parse_soft_and_optional_hard() {
        let u = parse_ulimit("nofile=1024:2048").unwrap();
        assert_eq!((u.name.as_str(), u.soft, u.hard), ("nofile", 1024, 2048));
        let u = parse_ulimit("nproc=100").unwrap();
        assert_eq!((u.soft, u.hard), (100, 100));
        let u = parse_ulimit("core=-1").unwrap();
        assert_eq!((u.soft, u.hard), (-1, -1));
        assert!(parse_ulimit("memlock=5:-1").is_ok());
    }

    #[test]
    fn ulimit_errors_are_go_units() {
        assert_errors(
            parse_ulimit,
            &[
                ("nofile", "invalid ulimit argument: nofile"),
                ("foo=1", "invalid ulimit type: foo"),
                (
                    "nofile=1:2:3",
                    "too many limit value arguments - 1:2:3, can only have up to two, `soft[:hard]`",
                ),
                (
                    "nofile=10:5",
                    "ulimit soft limit must be less than or equal to hard limit: 10 > 5",
                ),
                (
                    "nofile=-1:5",
                    "ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: 5",
                ),
                (
                    "nofile=x",
                    r#"strconv.ParseInt: parsing "x": invalid syntax"#,
                ),
            ],
        );
    }
}
