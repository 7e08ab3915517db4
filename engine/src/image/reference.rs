//! Image references in Docker's grammar (`[domain/]path[:tag][@digest]`),
//! normalised as Docker does (`busybox` is `docker.io/library/busybox`,
//! shown again as `busybox`), with Docker's error messages.

use std::fmt;

/// Docker Hub's domain, the default.
pub const DEFAULT_DOMAIN: &str = "docker.io";
/// The path prefix of Docker Hub's official images.
const OFFICIAL_PREFIX: &str = "library/";
/// The tag a reference without one means.
pub const DEFAULT_TAG: &str = "latest";
/// The longest name (domain and path) Docker accepts.
const NAME_MAX: usize = 255;

/// Why a reference was refused; the messages are Docker's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// Does not match the grammar.
    #[error("invalid reference format")]
    InvalidFormat,
    /// The repository part has upper-case letters.
    #[error("invalid reference format: repository name ({0}) must be lowercase")]
    Uppercase(String),
    /// 64 hex digits, which would be taken for an image id.
    #[error("invalid repository name ({0}), cannot specify 64-byte hexadecimal strings")]
    HexName(String),
    /// A name that the grammar accepts only in lower case.
    #[error("repository name must be lowercase")]
    NameUppercase,
    /// Domain and path longer than 255 characters.
    #[error("repository name must not be more than 255 characters")]
    TooLong,
    /// A digest of the wrong length.
    #[error("invalid checksum digest length")]
    DigestLength,
    /// A digest algorithm other than sha256.
    #[error("unsupported digest algorithm")]
    DigestAlgorithm,
    /// A tag where only a name may be (`tag`'s target with a digest).
    #[error("refusing to create a tag with a digest reference")]
    TagWithDigest,
}

/// A normalised, named reference.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reference {
    /// The registry, e.g. `docker.io` or `localhost:5000`.
    pub domain: String,
    /// The repository path, e.g. `library/busybox`.
    pub path: String,
    /// The tag, if one was given.
    pub tag: Option<String>,
    /// The digest, if one was given (`sha256:…`).
    pub digest: Option<String>,
}

impl Reference {
    /// Parses and normalises `text` as Docker's `ParseNormalizedNamed`.
    pub fn parse(text: &str) -> Result<Self, ReferenceError> {
        if is_full_hex_id(text) {
            return Err(ReferenceError::HexName(text.to_owned()));
        }
        let (domain, remainder) = split_docker_domain(text);
        let remote = remainder
            .split_once(':')
            .map_or(remainder.as_str(), |(r, _)| r);
        if remote.to_lowercase() != remote {
            return Err(ReferenceError::Uppercase(remote.to_owned()));
        }
        parse_full(&format!("{domain}/{remainder}"))
    }

    /// Parses `text` and adds the `latest` tag when it has neither a tag
    /// nor a digest (Docker's `TagNameOnly`).
    pub fn parse_tagged(text: &str) -> Result<Self, ReferenceError> {
        Ok(Self::parse(text)?.with_default_tag())
    }

    /// This reference with the `latest` tag when it has neither tag nor
    /// digest.
    pub fn with_default_tag(mut self) -> Self {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some(DEFAULT_TAG.to_owned());
        }
        self
    }

    /// The full name: `docker.io/library/busybox`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The name as users write it: `busybox`, `me/app`,
    /// `localhost:5000/app`.
    pub fn familiar_name(&self) -> String {
        if self.domain != DEFAULT_DOMAIN {
            return self.name();
        }
        match self.path.strip_prefix(OFFICIAL_PREFIX) {
            Some(rest) if !rest.contains('/') => rest.to_owned(),
            _ => self.path.clone(),
        }
    }

    /// The reference as users write it: `busybox:latest`.
    pub fn familiar(&self) -> String {
        let mut out = self.familiar_name();
        if let Some(tag) = &self.tag {
            out.push(':');
            out.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            out.push('@');
            out.push_str(digest);
        }
        out
    }

    /// Whether only a name was given, without tag or digest.
    pub fn is_name_only(&self) -> bool {
        self.tag.is_none() && self.digest.is_none()
    }
}

impl fmt::Display for Reference {
    /// The full form: `docker.io/library/busybox:latest`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// Whether `text` is 64 lowercase hex digits (an image id without its
/// algorithm).
pub fn is_full_hex_id(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Docker's `splitDockerDomain`: the first component is a domain only if
/// it has a `.` or `:`, is `localhost`, or has upper-case letters.
fn split_docker_domain(name: &str) -> (String, String) {
    let (mut domain, mut remainder) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.to_lowercase() != first =>
        {
            (first.to_owned(), rest.to_owned())
        }
        _ => (DEFAULT_DOMAIN.to_owned(), name.to_owned()),
    };
    if domain == "index.docker.io" {
        domain = DEFAULT_DOMAIN.to_owned();
    }
    if domain == DEFAULT_DOMAIN && !remainder.contains('/') {
        remainder = format!("{OFFICIAL_PREFIX}{remainder}");
    }
    (domain, remainder)
}

/// Docker's `reference.Parse` of a normalised `domain/path[:tag][@digest]`.
fn parse_full(text: &str) -> Result<Reference, ReferenceError> {
    let Some((domain, path, tag, digest)) = split_reference(text) else {
        return Err(if split_reference(&text.to_lowercase()).is_some() {
            ReferenceError::NameUppercase
        } else {
            ReferenceError::InvalidFormat
        });
    };
    if domain.len() + 1 + path.len() > NAME_MAX {
        return Err(ReferenceError::TooLong);
    }
    if let Some(digest) = digest {
        check_digest(digest)?;
    }
    Ok(Reference {
        domain: domain.to_owned(),
        path: path.to_owned(),
        tag: tag.map(str::to_owned),
        digest: digest.map(str::to_owned),
    })
}

/// Splits `domain/path[:tag][@digest]` when each part matches the grammar.
fn split_reference(text: &str) -> Option<(&str, &str, Option<&str>, Option<&str>)> {
    let (rest, digest) = match text.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (text, None),
    };
    let last_slash = rest.rfind('/').unwrap_or(0);
    let (name, tag) = match rest[last_slash..].find(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    let (domain, path) = name.split_once('/')?;
    let valid = is_domain(domain)
        && path.split('/').all(is_path_component)
        && tag.is_none_or(is_tag)
        && digest.is_none_or(is_digest_syntax);
    valid.then_some((domain, path, tag, digest))
}

/// `host[:port]`, host a domain name or a bracketed IPv6 address.
fn is_domain(domain: &str) -> bool {
    let (host_ok, port) = match domain.strip_prefix('[') {
        Some(rest) => {
            let Some((inner, after)) = rest.split_once(']') else {
                return false;
            };
            let ok = !inner.is_empty() && inner.bytes().all(|b| b == b':' || b.is_ascii_hexdigit());
            match after {
                "" => (ok, None),
                _ => match after.strip_prefix(':') {
                    Some(port) => (ok, Some(port)),
                    None => return false,
                },
            }
        }
        None => {
            let (host, port) = match domain.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (domain, None),
            };
            let ok = host.split('.').all(|c| {
                !c.is_empty()
                    && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !c.starts_with('-')
                    && !c.ends_with('-')
            });
            (ok, port)
        }
    };
    host_ok && port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `[a-z0-9]+` joined by `.`, `_`, `__` or runs of `-`.
fn is_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    loop {
        let start = i;
        while i < bytes.len() && alnum(bytes[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == bytes.len() {
            return true;
        }
        let sep = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let ok = match &component[sep..i] {
            "." | "_" | "__" => true,
            s => s.bytes().all(|b| b == b'-'),
        };
        if !ok {
            return false;
        }
    }
}

/// `[\w][\w.-]{0,127}`.
fn is_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && word(bytes[0])
        && bytes[1..]
            .iter()
            .all(|&b| word(b) || b == b'.' || b == b'-')
}

/// `algorithm:hex` with at least 32 hex digits.
fn is_digest_syntax(digest: &str) -> bool {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return false;
    };
    let algorithm_ok = algorithm.split(['+', '.', '-', '_']).all(|c| {
        c.starts_with(|ch: char| ch.is_ascii_alphabetic())
            && c.bytes().all(|b| b.is_ascii_alphanumeric())
    });
    algorithm_ok && hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A syntactically valid digest must also be sha256 of the right length.
fn check_digest(digest: &str) -> Result<(), ReferenceError> {
    match digest.split_once(':') {
        Some(("sha256", hex)) if hex.len() == 64 => Ok(()),
        Some(("sha256", _)) => Err(ReferenceError::DigestLength),
        _ => Err(ReferenceError::DigestAlgorithm),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn familiar(text: &str) -> String {
        Reference::parse(text).unwrap().familiar()
    }

    #[test]
    fn short_names_are_docker_hub_official_images() {
        let r = Reference::parse("busybox").unwrap();
        assert_eq!(r.to_string(), "docker.io/library/busybox");
        assert_eq!(r.familiar_name(), "busybox");
        assert!(r.is_name_only());
        let tagged = Reference::parse_tagged("busybox").unwrap();
        assert_eq!(tagged.familiar(), "busybox:latest");
        assert_eq!(tagged.to_string(), "docker.io/library/busybox:latest");
    }

    #[test]
    fn domains_are_recognised_as_docker_does() {
        assert_eq!(familiar("me/app:1.0"), "me/app:1.0");
        assert_eq!(
            Reference::parse("me/app").unwrap().name(),
            "docker.io/me/app"
        );
        assert_eq!(familiar("localhost/app"), "localhost/app");
        assert_eq!(familiar("localhost:5000/a/b:v"), "localhost:5000/a/b:v");
        assert_eq!(familiar("index.docker.io/library/x"), "x");
        assert_eq!(familiar("docker.io/library/x:1"), "x:1");
        assert_eq!(familiar("docker.io/library/a/b"), "library/a/b");
        assert_eq!(familiar("[::1]:5000/app"), "[::1]:5000/app");
        assert_eq!(familiar("Example.com/app"), "Example.com/app");
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(familiar(&format!("app@{d}")), format!("app@{d}"));
    }

    #[test]
    fn path_components_and_tags_follow_the_grammar() {
        for ok in ["a.b", "a_b", "a__b", "a---b", "a0/b1", "x:Tag_1.-"] {
            assert!(Reference::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "a..b", "a___b", "-a", "a-", "a/", "/a", "a//b", "a:", "a:-x", "a@", ":x", "a b",
        ] {
            assert_eq!(
                Reference::parse(bad),
                Err(ReferenceError::InvalidFormat),
                "{bad}"
            );
        }
        assert!(Reference::parse(&format!("a:{}", "t".repeat(128))).is_ok());
        assert!(Reference::parse(&format!("a:{}", "t".repeat(129))).is_err());
    }

    #[test]
    fn errors_read_as_dockers() {
        assert_eq!(
            Reference::parse("Busybox").unwrap_err().to_string(),
            "invalid reference format: repository name (library/Busybox) must be lowercase"
        );
        assert_eq!(
            Reference::parse("").unwrap_err().to_string(),
            "invalid reference format"
        );
        let hex = "0123456789abcdef".repeat(4);
        assert_eq!(
            Reference::parse(&hex).unwrap_err().to_string(),
            format!("invalid repository name ({hex}), cannot specify 64-byte hexadecimal strings")
        );
        assert_eq!(
            Reference::parse(&format!("a/{}", "b".repeat(250))),
            Err(ReferenceError::TooLong)
        );
        assert_eq!(
            Reference::parse(&format!("a@sha256:{}", "0".repeat(40))),
            Err(ReferenceError::DigestLength)
        );
        assert_eq!(
            Reference::parse(&format!("a@md5:{}", "0".repeat(40))),
            Err(ReferenceError::DigestAlgorithm)
        );
    }

    #[test]
    fn a_tag_keeps_its_case_but_a_name_may_not() {
        assert_eq!(familiar("busybox:Latest"), "busybox:Latest");
        assert!(matches!(
            Reference::parse("me/App:x"),
            Err(ReferenceError::Uppercase(_))
        ));
    }
}
