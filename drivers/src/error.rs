//! Errors of the kernel layer: which operation failed, on which object.

use std::path::PathBuf;

/// A kernel operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// A netlink request was refused.
    #[error("{op}: {source}")]
    Netlink {
        /// What was attempted, with the object's name.
        op: String,
        /// The kernel's answer.
        #[source]
        source: rtnetlink::Error,
    },
    /// A system call on a path failed.
    #[error("{op} {}: {source}", path.display())]
    Path {
        /// What was attempted.
        op: &'static str,
        /// On which path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A system call failed.
    #[error("{op}: {source}")]
    Sys {
        /// What was attempted.
        op: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A bridge name that belongs to a link of another kind.
    #[error("existing interface {name} is not a bridge")]
    NotABridge {
        /// The name.
        name: String,
    },
    /// netd's nftables batch was refused.
    #[error(transparent)]
    Firewall(#[from] crate::firewall::NftError),
    /// A link that should exist does not.
    #[error("link {name} not found{}", ns.as_deref().map(|n| format!(" in {n}")).unwrap_or_default())]
    LinkNotFound {
        /// The link's name.
        name: String,
        /// The namespace looked in, when not the host's.
        ns: Option<String>,
    },
}

impl KernelError {
    /// Whether the kernel said the object already exists (`EEXIST`).
    pub fn is_exists(&self) -> bool {
        self.errno() == Some(libc::EEXIST)
    }

    /// Whether the kernel said the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::LinkNotFound { .. })
            || matches!(
                self.errno(),
                Some(libc::ENODEV | libc::ENOENT | libc::ESRCH | libc::EADDRNOTAVAIL)
            )
    }

    /// The errno behind the error, when there is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Self::Netlink {
                source: rtnetlink::Error::NetlinkError(m),
                ..
            } => m.code.map(|c| c.get().abs()),
            Self::Path { source, .. } | Self::Sys { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

/// Wraps a netlink result with the operation's description.
pub(crate) fn nl<T>(
    op: impl FnOnce() -> String,
    r: Result<T, rtnetlink::Error>,
) -> Result<T, KernelError> {
    r.map_err(|source| KernelError::Netlink { op: op(), source })
}
