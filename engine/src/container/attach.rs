//! The stream between a container's shim and the berth commands attached
//! to it (a foreground `run`, `start -a`, `attach`), over the shim's unix
//! socket: frames of one kind byte, a big-endian u32 length and the
//! payload.

use std::io::{self, Read, Write};

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Client → shim: input for the container.
    Stdin,
    /// Shim → client: the container's output.
    Stdout,
    /// Shim → client: the container's error output.
    Stderr,
    /// Shim → client: the container exited with this code (i32).
    Exit,
    /// Client → shim: the terminal's size (rows, cols as u16).
    Resize,
    /// Client → shim: no more input.
    CloseStdin,
    /// Shim → client: the container could not start; the payload says why,
    /// after an i32 exit code (125, 126 or 127).
    Error,
}

impl Kind {
    fn byte(self) -> u8 {
        match self {
            Self::Stdin => 0,
            Self::Stdout => 1,
            Self::Stderr => 2,
            Self::Exit => 3,
            Self::Resize => 4,
            Self::CloseStdin => 5,
            Self::Error => 6,
        }
    }

    fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            0 => Self::Stdin,
            1 => Self::Stdout,
            2 => Self::Stderr,
            3 => Self::Exit,
            4 => Self::Resize,
            5 => Self::CloseStdin,
            6 => Self::Error,
            _ => return None,
        })
    }
}

/// The largest payload accepted (a client sending more is cut off).
pub const MAX_FRAME: usize = 1 << 20;

/// Writes one frame.
pub fn write_frame(out: &mut impl Write, kind: Kind, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len()).map_err(|_| io::Error::other("frame too large"))?;
    let mut buf = Vec::with_capacity(5 + payload.len());
    buf.push(kind.byte());
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(payload);
    out.write_all(&buf)
}

/// Reads one frame; `None` at a clean end of stream.
pub fn read_frame(input: &mut impl Read) -> io::Result<Option<(Kind, Vec<u8>)>> {
    let mut head = [0u8; 5];
    match input.read_exact(&mut head) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let kind = Kind::from_byte(head[0])
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unknown frame kind"))?;
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "frame too large",
        ));
    }
    let mut payload = vec![0u8; len];
    input.read_exact(&mut payload)?;
    Ok(Some((kind, payload)))
}

/// An exit or error frame's code.
pub fn code_of(payload: &[u8]) -> i32 {
    payload
        .get(..4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(125, i32::from_be_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let mut buf = Vec::new();
        write_frame(&mut buf, Kind::Stdout, b"hello").unwrap();
        write_frame(&mut buf, Kind::Exit, &7i32.to_be_bytes()).unwrap();
        let mut r = &buf[..];
        assert_eq!(
            read_frame(&mut r).unwrap(),
            Some((Kind::Stdout, b"hello".to_vec()))
        );
        let (k, p) = read_frame(&mut r).unwrap().unwrap();
        assert_eq!((k, code_of(&p)), (Kind::Exit, 7));
        assert_eq!(read_frame(&mut r).unwrap(), None);
    }

    #[test]
    fn garbage_is_refused() {
        let mut r = &[9u8, 0, 0, 0, 0][..];
        assert!(read_frame(&mut r).is_err());
        let mut r = &[1u8, 255, 255, 255, 255][..];
        assert!(read_frame(&mut r).is_err());
    }
}
