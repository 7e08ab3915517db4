//! `--restart no|always|unless-stopped|on-failure[:N]`: the CLI's format
//! check (`ParseRestartPolicy`) and the daemon's (`ValidateRestartPolicy`).

use std::fmt;

/// When a container is restarted after it exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RestartPolicy {
    /// Never (`no`, and the default).
    #[default]
    No,
    /// Always, even after `berth stop` once the engine restarts it.
    Always,
    /// Always, except after `berth stop`.
    UnlessStopped,
    /// After a non-zero exit, at most `max_retries` times (0: no limit).
    OnFailure {
        /// Docker's `MaximumRetryCount`.
        max_retries: u64,
    },
}

impl RestartPolicy {
    /// Docker's name for the policy (`HostConfig.RestartPolicy.Name`).
    pub fn name(self) -> &'static str {
        match self {
            Self::No => "no",
            Self::Always => "always",
            Self::UnlessStopped => "unless-stopped",
            Self::OnFailure { .. } => "on-failure",
        }
    }

    /// Docker's `MaximumRetryCount` (0 but for `on-failure:N`).
    pub fn max_retries(self) -> u64 {
        match self {
            Self::OnFailure { max_retries } => max_retries,
            _ => 0,
        }
    }
}

impl fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OnFailure { max_retries } if *max_retries > 0 => {
                write!(f, "on-failure:{max_retries}")
            }
            _ => f.write_str(self.name()),
        }
    }
}

/// A `--restart` value Docker refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestartError {
    /// `:3`.
    #[error("invalid restart policy format: no policy provided before colon")]
    NoPolicy,
    /// `on-failure:x`.
    #[error("invalid restart policy format: maximum retry count must be an integer")]
    CountNotInteger(String),
    /// `always:3`, `no:-1`.
    #[error(
        "invalid restart policy: maximum retry count can only be used with 'on-failure'{}",
        if *.count < 0 { " and cannot be negative" } else { "" }
    )]
    CountWithoutOnFailure {
        /// The policy given.
        policy: String,
        /// The count given.
        count: i64,
    },
    /// `on-failure:-1`.
    #[error("invalid restart policy: maximum retry count cannot be negative")]
    NegativeCount(i64),
    /// `sometimes`.
    #[error(
        "invalid restart policy: unknown policy '{0}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"
    )]
    Unknown(String),
    /// A restart policy together with `--rm`.
    #[error("conflicting options: cannot specify both --restart and --rm")]
    ConflictsWithRm,
}

/// `--restart`: an empty value is the default (`no`).
pub fn parse_restart(value: &str) -> Result<RestartPolicy, RestartError> {
    let (name, count) = value.split_once(':').unwrap_or((value, ""));
    if value.contains(':') && name.is_empty() {
        return Err(RestartError::NoPolicy);
    }
    let count = if count.is_empty() {
        0
    } else {
        count
            .parse::<i64>()
            .map_err(|_| RestartError::CountNotInteger(count.to_owned()))?
    };
    let policy = match name {
        "" | "no" => RestartPolicy::No,
        "always" => RestartPolicy::Always,
        "unless-stopped" => RestartPolicy::UnlessStopped,
        "on-failure" => {
            return u64::try_from(count)
                .map(|max_retries| RestartPolicy::OnFailure { max_retries })
                .map_err(|_| RestartError::NegativeCount(count));
        }
        other => return Err(RestartError::Unknown(other.to_owned())),
    };
    if count != 0 {
        return Err(RestartError::CountWithoutOnFailure {
            policy: name.to_owned(),
            count,
        });
    }
    Ok(policy)
}

/// The CLI's check that `--rm` comes without a restart policy other than
/// `no`.
pub fn check_restart_with_rm(policy: RestartPolicy, auto_remove: bool) -> Result<(), RestartError> {
    if auto_remove && policy != RestartPolicy::No {
        return Err(RestartError::ConflictsWithRm);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::flags::assert_errors;

    #[test]
    fn restart_policies_parse_with_their_counts() {
        assert_eq!(parse_restart("").unwrap(), RestartPolicy::No);
        assert_eq!(parse_restart("no").unwrap(), RestartPolicy::No);
        assert_eq!(parse_restart("always").unwrap(), RestartPolicy::Always);
        assert_eq!(parse_restart("always:0").unwrap(), RestartPolicy::Always);
        assert_eq!(
            parse_restart("unless-stopped").unwrap(),
            RestartPolicy::UnlessStopped
        );
        assert_eq!(
            parse_restart("on-failure").unwrap(),
            RestartPolicy::OnFailure { max_retries: 0 }
        );
        let five = parse_restart("on-failure:5").unwrap();
        assert_eq!(five, RestartPolicy::OnFailure { max_retries: 5 });
        assert_eq!((five.name(), five.max_retries()), ("on-failure", 5));
        assert_eq!(five.to_string(), "on-failure:5");
    }

    #[test]
    fn restart_errors_are_dockers() {
        assert_errors(
            parse_restart,
            &[
                (
                    ":3",
                    "invalid restart policy format: no policy provided before colon",
                ),
                (
                    "on-failure:x",
                    "invalid restart policy format: maximum retry count must be an integer",
                ),
                (
                    "always:3",
                    "invalid restart policy: maximum retry count can only be used with 'on-failure'",
                ),
                (
                    "no:-1",
                    "invalid restart policy: maximum retry count can only be used with 'on-failure' and cannot be negative",
                ),
                (
                    "on-failure:-1",
                    "invalid restart policy: maximum retry count cannot be negative",
                ),
                (
                    "sometimes",
                    "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'",
                ),
            ],
        );
    }

    #[test]
    fn restart_conflicts_with_rm_unless_no() {
        assert!(check_restart_with_rm(RestartPolicy::No, true).is_ok());
        assert!(check_restart_with_rm(RestartPolicy::Always, false).is_ok());
        assert_eq!(
            check_restart_with_rm(RestartPolicy::Always, true)
                .unwrap_err()
                .to_string(),
            "conflicting options: cannot specify both --restart and --rm"
        );
    }
}
