//! Docker's detach key sequence (`--detach-keys`, `ctrl-p,ctrl-q` unless
//! given): what the user types to leave an attached terminal while the
//! container goes on running. Docker's daemon watches the input for it;
//! berth has no daemon, so the attached command does.

use crate::cli::exit::Failure;

/// The sequence, as bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetachKeys(Vec<u8>);

/// Docker's default.
pub const DEFAULT: &str = "ctrl-p,ctrl-q";

/// The keys `--detach-keys` gives, or the default; a bad value is a usage
/// error (125) before anything is done.
pub fn from_flag(flag: Option<&str>) -> Result<DetachKeys, Failure> {
    DetachKeys::parse(flag.unwrap_or(DEFAULT))
        .map_err(|e| Failure::new(125, format!("berth: {e}.")))
}

impl DetachKeys {
    /// Parses Docker's notation: keys separated by commas, each a single
    /// character or `ctrl-` and one of `a`–`z`, `@`, `[`, `\`, `]`, `^`,
    /// `_`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let bad = || format!("Invalid detach keys ({spec}) provided");
        let mut keys = Vec::new();
        for key in spec.split(',') {
            let key = key.trim();
            let byte = match key.strip_prefix("ctrl-") {
                Some(rest) if rest.len() == 1 => {
                    let c = rest.as_bytes()[0].to_ascii_lowercase();
                    match c {
                        b'a'..=b'z' => c - b'a' + 1,
                        b'@' => 0,
                        b'[' => 0x1b,
                        b'\\' => 0x1c,
                        b']' => 0x1d,
                        b'^' => 0x1e,
                        b'_' => 0x1f,
                        _ => return Err(bad()),
                    }
                }
                _ if key.len() == 1 => key.as_bytes()[0],
                _ => return Err(bad()),
            };
            keys.push(byte);
        }
        Ok(Self(keys))
    }

    /// A watcher of an input stream for this sequence.
    pub fn watcher(&self) -> Watcher {
        Watcher {
            keys: self.0.clone(),
            held: 0,
        }
    }
}

/// Watches input for the sequence. Bytes that may begin it are held back
/// until it completes (the user detaches: they are dropped) or breaks
/// (they go on to the container after all).
#[derive(Debug)]
pub struct Watcher {
    keys: Vec<u8>,
    held: usize,
}

impl Watcher {
    /// Takes `input`; appends to `out` what goes on to the container, and
    /// says whether the sequence is now complete (nothing after it in
    /// `input` is passed on).
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> bool {
        for &b in input {
            if self.keys.get(self.held) == Some(&b) {
                self.held += 1;
                if self.held == self.keys.len() {
                    self.held = 0;
                    return true;
                }
                continue;
            }
            out.extend_from_slice(&self.keys[..self.held]);
            self.held = usize::from(self.keys.first() == Some(&b));
            if self.held == 0 {
                out.push(b);
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockers_notation_is_parsed() {
        assert_eq!(DetachKeys::parse(DEFAULT).unwrap().0, vec![0x10, 0x11]);
        assert_eq!(
            DetachKeys::parse("a,ctrl-@,ctrl-[,ctrl-\\,ctrl-_,ctrl-^")
                .unwrap()
                .0,
            vec![b'a', 0, 0x1b, 0x1c, 0x1f, 0x1e]
        );
        for bad in ["", "ctrl-", "ctrl-1", "ab", "ctrl-p,,ctrl-q"] {
            assert_eq!(
                DetachKeys::parse(bad).unwrap_err(),
                format!("Invalid detach keys ({bad}) provided")
            );
        }
    }

    #[test]
    fn the_sequence_detaches_and_is_not_passed_on() {
        let mut w = DetachKeys::parse(DEFAULT).unwrap().watcher();
        let mut out = Vec::new();
        assert!(!w.feed(b"ls\r\x10", &mut out));
        assert_eq!(out, b"ls\r", "the first key is held back");
        assert!(w.feed(b"\x11more", &mut out));
        assert_eq!(out, b"ls\r");
    }

    #[test]
    fn a_broken_sequence_passes_its_keys_on() {
        let mut w = DetachKeys::parse(DEFAULT).unwrap().watcher();
        let mut out = Vec::new();
        assert!(!w.feed(b"\x10x", &mut out));
        assert_eq!(out, b"\x10x");
        out.clear();
        // A first key again restarts the sequence.
        assert!(!w.feed(b"\x10", &mut out));
        assert!(!w.feed(b"\x10", &mut out));
        assert_eq!(out, b"\x10");
        assert!(w.feed(b"\x11", &mut out));
    }
}
