//! How a command fails: the message for standard error and the exit code,
//! with docker's wording for daemon errors.

use netd_api::client::ClientError;

/// A command that did not succeed: what to print on standard error (may be
/// empty) and the exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Exit code.
    pub code: i32,
    /// Printed on standard error with a newline, unless empty.
    pub message: String,
}

impl Failure {
    /// A failure with `code` and `message`.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// A failure talking to netd, exit code 1.
    pub fn client(err: &ClientError) -> Self {
        Self::new(1, client_message(err))
    }

    /// An engine error worded as docker prints the daemon's, exit code 1.
    pub fn daemon(err: &dyn std::fmt::Display) -> Self {
        Self::new(1, daemon_message(err))
    }

    /// Docker's error for an unknown command of a group (`usage` its
    /// usage line, `rest` what followed the group's name).
    pub fn unknown_command(group: &str, usage: &str, rest: &[String]) -> Self {
        Self::new(
            1,
            format!(
                "berth: unknown command: berth {group} {}\n\nUsage:  {usage}\n\n\
                 Run 'berth {group} --help' for more information",
                rest.first().map_or("", String::as_str)
            ),
        )
    }

    /// A container that could not start, as docker prints it, with the
    /// exit code Docker gives (125, 126, 127).
    pub fn start(e: crate::container::StartError) -> Self {
        Self::new(
            e.code,
            format!(
                "berth: Error response from daemon: {}.",
                e.message.trim_end_matches('.')
            ),
        )
    }
}

/// `Error response from daemon: <err>`, as docker words the daemon's
/// errors; an engine error that says so already is left as it is.
pub fn daemon_message(err: &dyn std::fmt::Display) -> String {
    let text = err.to_string();
    if text.starts_with("Error response from daemon") {
        text
    } else {
        format!("Error response from daemon: {text}")
    }
}

/// How docker words an error from the daemon or from reaching it:
/// `Error response from daemon: <message>` for the daemon's own errors.
pub fn client_message(err: &ClientError) -> String {
    match err {
        ClientError::Api { message, .. } => format!("Error response from daemon: {message}"),
        other => other.to_string(),
    }
}

/// The exit code of a command whose output was cut off: what a shell
/// reports for a process ended by SIGPIPE (128 + 13), as `docker ps | head`
/// ends docker.
pub const BROKEN_PIPE: i32 = 141;

impl From<std::io::Error> for Failure {
    fn from(err: std::io::Error) -> Self {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            // Whoever read the output stopped reading: nothing to say.
            return Self::new(BROKEN_PIPE, String::new());
        }
        Self::new(1, err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_that_went_away_ends_the_command_quietly() {
        let f = Failure::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert_eq!(f, Failure::new(141, ""));
        let f = Failure::from(std::io::Error::from(std::io::ErrorKind::NotFound));
        assert_eq!(f.code, 1);
        assert!(!f.message.is_empty());
    }

    #[test]
    fn daemon_errors_read_as_docker_prints_them() {
        let err = ClientError::Api {
            status: 404,
            message: "network x not found".to_owned(),
        };
        assert_eq!(
            Failure::client(&err),
            Failure::new(1, "Error response from daemon: network x not found")
        );
    }

    #[test]
    fn engine_errors_say_error_response_from_daemon_once() {
        assert_eq!(
            daemon_message(&"No such container: x"),
            "Error response from daemon: No such container: x"
        );
        let e = crate::container::ContainerError::NoCommand;
        assert_eq!(Failure::daemon(&e).message, e.to_string());
    }

    #[test]
    fn start_failures_say_error_response_from_daemon_once() {
        let f = Failure::start(crate::container::StartError {
            code: 125,
            message: "network nonet not found".into(),
        });
        assert_eq!(
            f.message,
            "berth: Error response from daemon: network nonet not found."
        );
        let f = Failure::start(crate::container::StartError {
            code: 127,
            message: "exec: \"x\": not found.".into(),
        });
        assert_eq!(f.code, 127);
        assert_eq!(
            f.message,
            "berth: Error response from daemon: exec: \"x\": not found."
        );
    }

    #[test]
    fn connection_errors_keep_the_clients_message() {
        let err = ClientError::Connect {
            path: "/run/netd/netd.sock".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        let failure = Failure::client(&err);
        assert_eq!(failure.code, 1);
        assert!(
            failure
                .message
                .starts_with("Cannot connect to netd at unix:///run/netd/netd.sock.")
        );
    }
}
