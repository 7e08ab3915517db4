//! What can go wrong with volumes, worded as Docker's volume service
//! words it (`get NAME: no such volume`, `remove NAME: volume is in use -
//! [ID]`); the command line prefixes `Error response from daemon: `.

use std::path::PathBuf;

/// A volume operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// No volume has this name.
    #[error("get {0}: no such volume")]
    NotFound(String),
    /// Containers use the volume.
    #[error("remove {name}: volume is in use - [{}]", users.join(", "))]
    InUse {
        /// The volume.
        name: String,
        /// The ids of the containers that use it.
        users: Vec<String>,
    },
    /// A volume could not be made as asked (bad name, driver or option).
    #[error("create {name}: {reason}")]
    Create {
        /// The volume.
        name: String,
        /// Why.
        reason: String,
    },
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
    /// A volume's record did not encode or decode.
    #[error("volume record {}: {source}", path.display())]
    Record {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// The container store could not be read.
    #[error(transparent)]
    Containers(#[from] crate::container::ContainerError),
    /// A record could not be written.
    #[error(transparent)]
    Write(#[from] crate::atomic::WriteError),
}

impl VolumeError {
    /// A file-system error on `path`.
    pub fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { op, path, source }
    }
}

/// Results of volume operations.
pub type Result<T, E = VolumeError> = std::result::Result<T, E>;
