//! What can go wrong in the image store, each error naming what failed and
//! on which input. Messages that users meet read as Docker's.

use std::path::PathBuf;

use super::reference::ReferenceError;

/// An image store error.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// Not `sha256:` and 64 lowercase hex digits.
    #[error("invalid digest {0:?}")]
    InvalidDigest(String),
    /// A reference that Docker's grammar refuses.
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    /// No image by that reference or id (`No such image: busybox:latest`).
    #[error("No such image: {0}")]
    NotFound(String),
    /// A delete that conflicts with a reference or a container, worded as
    /// Docker's `conflict: unable to …`.
    #[error("{0}")]
    Conflict(String),
    /// A file-system operation failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done (`create`, `read`, `rename`, …).
        op: &'static str,
        /// On which file.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// Reading or writing a stream (a tarball, standard input) failed.
    #[error("{what}: {source}")]
    Stream {
        /// Which stream, doing what.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A JSON document of the store or of an archive does not parse.
    #[error("invalid JSON in {what}: {source}")]
    Json {
        /// Which document.
        what: String,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// A tar entry whose path or link would leave the root it unpacks into.
    #[error("refusing tar entry {entry:?}: {reason}")]
    Escape {
        /// The entry's path as the tarball names it.
        entry: String,
        /// Why it is refused.
        reason: String,
    },
    /// A blob whose content does not hash to the expected digest.
    #[error("{what}: expected {expected}, got {actual}")]
    DigestMismatch {
        /// Which blob.
        what: String,
        /// The digest that was announced.
        expected: String,
        /// The digest of the content.
        actual: String,
    },
    /// An archive (`load`) or image that breaks the format's rules.
    #[error("{0}")]
    Invalid(String),
    /// A file of the store could not be replaced.
    #[error(transparent)]
    Write(#[from] crate::atomic::WriteError),
}

impl ImageError {
    /// An [`ImageError::Io`] for `op` on `path`.
    pub fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { op, path, source }
    }

    /// An [`ImageError::Stream`] for `what`.
    pub fn stream(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let what = what.into();
        move |source| Self::Stream { what, source }
    }

    /// An [`ImageError::Json`] for the document `what`.
    pub fn json(what: impl Into<String>) -> impl FnOnce(serde_json::Error) -> Self {
        let what = what.into();
        move |source| Self::Json { what, source }
    }

    /// Whether this is a "no such image" error.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound(_))
    }
}

/// A result with an [`ImageError`].
pub type Result<T, E = ImageError> = std::result::Result<T, E>;
