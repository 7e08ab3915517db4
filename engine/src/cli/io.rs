//! The standard streams a command uses ([`Io`]: the process's own, or a
//! test's buffers), and docker's confirmation prompt.

use std::io::{BufRead, Write};

use super::exit::Failure;

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

/// Prints `warning` (a question ending in `[y/N] `) and reads the answer:
/// only `y` or `Y` goes ahead, as docker's prompts.
pub fn confirm(io: &mut Io<'_>, warning: &str) -> Result<bool, Failure> {
    write!(io.stdout, "{warning}")?;
    io.stdout.flush()?;
    let mut answer = String::new();
    io.stdin.read_line(&mut answer)?;
    Ok(answer.trim().eq_ignore_ascii_case("y"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_y_confirms() {
        const WARNING: &str = "Sure? [y/N] ";
        for (answer, yes) in [
            ("y\n", true),
            (" Y \n", true),
            ("yes\n", false),
            ("\n", false),
            ("", false),
        ] {
            let mut input = answer.as_bytes();
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let mut io = Io {
                stdin: &mut input,
                stdout: &mut out,
                stderr: &mut err,
            };
            assert_eq!(confirm(&mut io, WARNING).unwrap(), yes, "{answer:?}");
            assert_eq!(String::from_utf8(out).unwrap(), WARNING);
        }
    }
}
