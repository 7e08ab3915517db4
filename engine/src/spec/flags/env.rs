//! `-e/--env KEY[=VALUE]` (the CLI's `ValidateEnv`) and `--env-file`
//! (the CLI's `kvfile` format).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// An environment variable or env file Docker refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    /// `-e =value`: no name.
    #[error("invalid environment variable: {0}")]
    InvalidVariable(String),
    /// A line of an env file.
    #[error("invalid env file ({}): {fault}", path.display())]
    File {
        /// The file, as given.
        path: PathBuf,
        /// What is wrong in it.
        fault: EnvFileFault,
    },
}

/// What is wrong in an env file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvFileFault {
    /// A line that is not UTF-8.
    #[error("invalid utf8 bytes at line {line}: {}", GoBytes(bytes))]
    InvalidUtf8 {
        /// The line's number, from 1.
        line: usize,
        /// The line's bytes.
        bytes: Vec<u8>,
    },
    /// A line that starts with `=`.
    #[error("no variable name on line '{0}'")]
    NoName(String),
    /// A name with a space or tab in it.
    #[error("variable '{0}' contains whitespaces")]
    Whitespace(String),
}

/// Bytes as Go's `%v` prints them: `[65 255 61]`.
struct GoBytes<'a>(&'a [u8]);

impl fmt::Display for GoBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{b}")?;
        }
        f.write_str("]")
    }
}

/// `-e KEY=VALUE` as given; `-e KEY` takes `KEY`'s value from `environ`
/// (the CLI's environment), and stays a bare `KEY` when it has none (which
/// then removes `KEY` from the image's environment).
pub fn parse_env(value: &str, environ: &HashMap<String, String>) -> Result<String, EnvError> {
    let (key, has_value) = match value.split_once('=') {
        Some((key, _)) => (key, true),
        None => (value, false),
    };
    if key.is_empty() {
        return Err(EnvError::InvalidVariable(value.to_owned()));
    }
    if has_value {
        return Ok(value.to_owned());
    }
    Ok(environ
        .get(key)
        .map_or_else(|| value.to_owned(), |v| format!("{key}={v}")))
}

/// The `KEY=VALUE` entries of an env file's `content` (`path` is for
/// messages): blank lines and lines starting with `#` are skipped, leading
/// white space is dropped, the value is kept as written (trailing spaces
/// included); a bare `KEY` takes its value from `environ`, and is left out
/// when `environ` has none. A UTF-8 byte-order mark is ignored.
pub fn parse_env_file(
    path: &Path,
    content: &[u8],
    environ: &HashMap<String, String>,
) -> Result<Vec<String>, EnvError> {
    let fail = |fault| EnvError::File {
        path: path.to_owned(),
        fault,
    };
    let mut out = Vec::new();
    for (index, raw) in lines(content).enumerate() {
        let raw = if index == 0 {
            raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw)
        } else {
            raw
        };
        let text = std::str::from_utf8(raw).map_err(|_| {
            fail(EnvFileFault::InvalidUtf8 {
                line: index + 1,
                bytes: raw.to_vec(),
            })
        })?;
        let line = text.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, has_value) = match line.split_once('=') {
            Some((key, _)) => (key, true),
            None => (line, false),
        };
        if key.is_empty() {
            return Err(fail(EnvFileFault::NoName(line.to_owned())));
        }
        if key.contains([' ', '\t']) {
            return Err(fail(EnvFileFault::Whitespace(key.to_owned())));
        }
        if has_value {
            out.push(line.to_owned());
        } else if let Some(value) = environ.get(key) {
            out.push(format!("{key}={value}"));
        }
    }
    Ok(out)
}

/// Lines as Go's `bufio.ScanLines` cuts them: at `\n`, without a trailing
/// `\r`, and no empty last line after a final newline.
fn lines(content: &[u8]) -> impl Iterator<Item = &[u8]> {
    let content = content.strip_suffix(b"\n").unwrap_or(content);
    content
        .split(|b| *b == b'\n')
        .filter(move |_| !content.is_empty())
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environ() -> HashMap<String, String> {
        HashMap::from([("HOME".to_owned(), "/root".to_owned())])
    }

    #[test]
    fn env_flag_takes_bare_keys_from_the_environment() {
        let env = environ();
        assert_eq!(parse_env("A=1", &env).unwrap(), "A=1");
        assert_eq!(parse_env("A=", &env).unwrap(), "A=");
        assert_eq!(parse_env("HOME", &env).unwrap(), "HOME=/root");
        assert_eq!(parse_env("UNSET", &env).unwrap(), "UNSET");
        assert_eq!(
            parse_env("=x", &env).unwrap_err().to_string(),
            "invalid environment variable: =x"
        );
    }

    #[test]
    fn env_file_keeps_values_as_written_and_skips_comments() {
        let content =
            b"\xEF\xBB\xBFK=v\r\n# comment\n\n   FOO=bar baz \nHOME\nNOPE_UNSET\nEMPTY=\n";
        let got = parse_env_file(Path::new("/e"), content, &environ()).unwrap();
        assert_eq!(got, ["K=v", "FOO=bar baz ", "HOME=/root", "EMPTY="]);
        assert!(
            parse_env_file(Path::new("/e"), b"", &environ())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn env_file_errors_name_the_file_and_the_fault() {
        let err = |content: &[u8]| {
            parse_env_file(Path::new("/tmp/e1"), content, &environ())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(b"# c\n  FOO=bar baz \nBAD KEY=1\n"),
            "invalid env file (/tmp/e1): variable 'BAD KEY' contains whitespaces"
        );
        assert_eq!(
            err(b"=x\n"),
            "invalid env file (/tmp/e1): no variable name on line '=x'"
        );
        assert_eq!(
            err(b"A\xff=1\n"),
            "invalid env file (/tmp/e1): invalid utf8 bytes at line 1: [65 255 61 49]"
        );
        assert_eq!(
            err(b"TRAILING \n"),
            "invalid env file (/tmp/e1): variable 'TRAILING ' contains whitespaces"
        );
    }
}
