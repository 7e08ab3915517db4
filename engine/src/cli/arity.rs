//! How many positional arguments a command takes, and docker's usage
//! error (exit 1, with the command's usage line) when it gets others.

use super::exit::Failure;

/// How many positional arguments a command takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    /// None at all.
    None,
    /// Exactly this many.
    Exact(usize),
    /// At least this many.
    AtLeast(usize),
    /// At most this many.
    AtMost(usize),
}

/// Checks the number of positional arguments of the command `path` (e.g.
/// `berth network create`), whose usage line is `usage`.
pub fn check_arity(path: &str, usage: &str, arity: Arity, given: usize) -> Result<(), Failure> {
    let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
    let message = match arity {
        Arity::None if given == 0 => return Ok(()),
        Arity::Exact(n) if given == n => return Ok(()),
        Arity::AtLeast(n) if given >= n => return Ok(()),
        Arity::AtMost(n) if given <= n => return Ok(()),
        Arity::None => format!(
            "berth: '{path}' accepts no arguments\n\nUsage:  {usage}\n\nRun '{path} --help' for more information"
        ),
        Arity::Exact(n) => format!(
            "berth: '{path}' requires {n} {}\n\nUsage:  {usage}\n\nRun '{path} --help' for more information",
            plural(n)
        ),
        Arity::AtLeast(n) => format!(
            "berth: '{path}' requires at least {n} {}\n\nUsage:  {usage}\n\nSee '{path} --help' for more information",
            plural(n)
        ),
        Arity::AtMost(n) => format!(
            "berth: '{path}' requires at most {n} {}\n\nUsage:  {usage}\n\nSee '{path} --help' for more information",
            plural(n)
        ),
    };
    Err(Failure::new(1, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_argument_counts_read_as_docker() {
        let err = check_arity(
            "berth network create",
            "berth network create [OPTIONS] NETWORK",
            Arity::Exact(1),
            0,
        )
        .unwrap_err();
        assert_eq!(err.code, 1);
        assert_eq!(
            err.message,
            "berth: 'berth network create' requires 1 argument\n\n\
             Usage:  berth network create [OPTIONS] NETWORK\n\n\
             Run 'berth network create --help' for more information"
        );
        let err = check_arity(
            "berth network rm",
            "berth network rm NETWORK [NETWORK...]",
            Arity::AtLeast(1),
            0,
        )
        .unwrap_err();
        assert!(
            err.message
                .starts_with("berth: 'berth network rm' requires at least 1 argument\n")
        );
        assert!(
            err.message
                .ends_with("See 'berth network rm --help' for more information")
        );
        let err = check_arity(
            "berth network ls",
            "berth network ls [OPTIONS]",
            Arity::None,
            1,
        )
        .unwrap_err();
        assert!(
            err.message
                .starts_with("berth: 'berth network ls' accepts no arguments\n")
        );
        assert!(check_arity("x", "x", Arity::Exact(2), 2).is_ok());
        assert!(check_arity("x", "x", Arity::AtMost(1), 1).is_ok());
        let err = check_arity(
            "berth volume create",
            "berth volume create [OPTIONS] [VOLUME]",
            Arity::AtMost(1),
            2,
        )
        .unwrap_err();
        assert_eq!(
            err.message,
            "berth: 'berth volume create' requires at most 1 argument\n\n\
             Usage:  berth volume create [OPTIONS] [VOLUME]\n\n\
             See 'berth volume create --help' for more information"
        );
    }
}
