//! What can go wrong with containers, with Docker's wording where users
//! meet it.

use std::path::PathBuf;

/// A container operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    /// A file-system step failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// On which path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No container has this id, id prefix or name.
    #[error("No such container: {0}")]
    NotFound(String),
    /// The name is taken.
    #[error(
        "Conflict. The container name \"/{name}\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name."
    )]
    NameInUse {
        /// The name.
        name: String,
        /// The container holding it.
        id: String,
    },
    /// A name Docker would refuse.
    #[error("Invalid container name ({0}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")]
    InvalidName(String),
    /// The OCI runtime failed.
    #[error("{op}: {message}")]
    Runtime {
        /// What was asked of the runtime.
        op: String,
        /// What it said.
        message: String,
    },
    /// A record did not encode or decode.
    #[error("container record {path}: {source}")]
    Record {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// netd refused or could not be reached.
    #[error("{0}")]
    Netd(String),
    /// The container is not in a state that allows the operation.
    #[error("{0}")]
    State(String),
    /// The starting command called the start off (its container was not
    /// stored): nothing to report, nothing left.
    #[error("the start was called off")]
    CalledOff,
    /// The image could not be used.
    #[error(transparent)]
    Image(#[from] crate::image::ImageError),
    /// A record could not be written.
    #[error(transparent)]
    Write(#[from] crate::atomic::WriteError),
}

impl ContainerError {
    /// A file-system error on `path`.
    pub fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { op, path, source }
    }
}

/// Results of container operations.
pub type Result<T, E = ContainerError> = std::result::Result<T, E>;
