//! sha256 content digests (`sha256:<64 hex>`), the hashing readers and
//! writers that compute them while data streams, and layer chain ids.

use std::fmt;
use std::io::{Read, Write};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use super::error::ImageError;

/// The only algorithm the store uses.
pub const ALGORITHM: &str = "sha256";

/// A sha256 digest: what a blob's name is in the store, an image id (the
/// digest of its config), a layer's diff id (the digest of its
/// uncompressed tar).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest([u8; 32]);

impl Digest {
    /// The digest of `data`.
    pub fn of(data: &[u8]) -> Self {
        Self(Sha256::digest(data).into())
    }

    /// The 64 lowercase hex digits, without the algorithm.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits without the algorithm prefix.
    pub fn from_hex(text: &str) -> Result<Self, ImageError> {
        let invalid = || ImageError::InvalidDigest(text.to_owned());
        if text.len() != 64 || text.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(invalid());
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| invalid())?;
        Ok(Self(bytes))
    }

    /// The chain id of layers whose diff ids are `diff_ids`, bottom first,
    /// as the OCI image spec defines it: the first layer's diff id, then
    /// `sha256(parent_chain + " " + diff_id)` for each following one.
    pub fn chain_id(diff_ids: &[Digest]) -> Option<Self> {
        let (first, rest) = diff_ids.split_first()?;
        Some(rest.iter().fold(*first, |chain, diff| {
            Self::of(format!("{chain} {diff}").as_bytes())
        }))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{ALGORITHM}:{}", self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Digest {
    type Err = ImageError;

    /// Parses `sha256:<64 hex>`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some((ALGORITHM, hex)) => Self::from_hex(hex),
            _ => Err(ImageError::InvalidDigest(s.to_owned())),
        }
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Hashes and counts what is written through it into `inner`.
#[derive(Debug)]
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            written: 0,
        }
    }

    /// The digest and size of what was written, and the inner writer.
    pub fn finish(self) -> (Digest, u64, W) {
        (
            Digest(self.hasher.finalize().into()),
            self.written,
            self.inner,
        )
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Hashes and counts what is read through it from `inner`.
#[derive(Debug)]
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    read: u64,
}

impl<R: Read> HashingReader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            read: 0,
        }
    }

    /// Reads what is left (a tar reader stops before the archive's end
    /// padding), then returns the digest and size of everything read.
    pub fn finish(mut self) -> std::io::Result<(Digest, u64)> {
        std::io::copy(&mut self, &mut std::io::sink())?;
        Ok((Digest(self.hasher.finalize().into()), self.read))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn digests_print_and_parse_with_their_algorithm() {
        let d = Digest::of(b"");
        assert_eq!(d.to_string(), format!("sha256:{EMPTY}"));
        assert_eq!(d.to_string().parse::<Digest>().unwrap(), d);
        assert_eq!(Digest::from_hex(EMPTY).unwrap(), d);
        assert!("sha512:00".parse::<Digest>().is_err());
        assert!(Digest::from_hex(&EMPTY.to_uppercase()).is_err());
        assert!(Digest::from_hex(&EMPTY[1..]).is_err());
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), d);
    }

    #[test]
    fn chain_ids_follow_the_oci_definition() {
        let (a, b) = (Digest::of(b"a"), Digest::of(b"b"));
        assert_eq!(Digest::chain_id(&[]), None);
        assert_eq!(Digest::chain_id(&[a]), Some(a));
        assert_eq!(
            Digest::chain_id(&[a, b]),
            Some(Digest::of(format!("{a} {b}").as_bytes()))
        );
    }

    #[test]
    fn hashing_streams_match_the_digest_of_the_data() {
        let mut w = HashingWriter::new(Vec::new());
        w.write_all(b"hello").unwrap();
        let (d, n, inner) = w.finish();
        assert_eq!(
            (d, n, inner.as_slice()),
            (Digest::of(b"hello"), 5, &b"hello"[..])
        );
        let mut r = HashingReader::new(&b"hello world"[..]);
        let mut first = [0u8; 5];
        r.read_exact(&mut first).unwrap();
        assert_eq!(r.finish().unwrap(), (Digest::of(b"hello world"), 11));
    }
}
