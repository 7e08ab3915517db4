//! What can go wrong talking to a registry, each error naming the
//! registry, repository or blob concerned. Messages users meet read as
//! Docker's where Docker has one.

use crate::image::ImageError;
use crate::image::digest::Digest;

/// A registry error.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The connection or the exchange failed (refused, reset, TLS).
    #[error("Get \"{url}\": {reason}")]
    Transport {
        /// The URL asked for.
        url: String,
        /// The client's error, worded.
        reason: String,
    },
    /// The registry answered with an error status.
    #[error("{what}: unexpected status {status} from {url}{}", detail(body))]
    Status {
        /// What was being done (`fetch manifest`, `upload blob`).
        what: String,
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The registry's error body, if it sent one.
        body: String,
    },
    /// No manifest by that name (404, `MANIFEST_UNKNOWN`, `NAME_UNKNOWN`).
    #[error("pull access denied for {0}, repository does not exist or may require 'docker login'")]
    NotFound(String),
    /// The tag does not exist in a repository that does.
    #[error("manifest for {0} not found: manifest unknown: manifest unknown")]
    ManifestUnknown(String),
    /// Credentials were refused or are needed.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// A blob's content does not hash to its digest.
    #[error("filesystem layer verification failed for digest {expected}: got {got}")]
    DigestMismatch {
        /// The digest the manifest names.
        expected: Digest,
        /// What the downloaded bytes hash to.
        got: Digest,
    },
    /// A layer's uncompressed content does not match the config's diff id.
    #[error("layer {layer}: uncompressed content {got} does not match diff id {expected}")]
    DiffIdMismatch {
        /// The layer's (compressed) digest.
        layer: Digest,
        /// The config's diff id.
        expected: Digest,
        /// What the uncompressed bytes hash to.
        got: Digest,
    },
    /// A document the registry sent does not parse or is not usable.
    #[error("{what}: {reason}")]
    Invalid {
        /// Which document (`manifest for busybox:latest`).
        what: String,
        /// Why.
        reason: String,
    },
    /// No image in a manifest list matches the platform asked for.
    #[error("no matching manifest for {0} in the manifest list entries")]
    NoPlatform(String),
    /// A `--platform` that does not parse.
    #[error("invalid platform {0:?}: expected os[/arch[/variant]]")]
    BadPlatform(String),
    /// A local file (partial download, credentials) could not be used.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// On which file.
        path: String,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// The image store refused something.
    #[error(transparent)]
    Store(#[from] ImageError),
}

/// `: BODY` when the registry said something.
fn detail(body: &str) -> String {
    let body = body.trim();
    if body.is_empty() {
        String::new()
    } else {
        format!(": {body}")
    }
}

impl RegistryError {
    /// An I/O error on `path` while doing `op`.
    pub fn io(
        op: &'static str,
        path: impl AsRef<std::path::Path>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.as_ref().display().to_string();
        move |source| Self::Io { op, path, source }
    }
}

/// A registry operation's result.
pub type Result<T, E = RegistryError> = std::result::Result<T, E>;
