//! netd's errors, classed the way Docker classes them so that each maps to
//! Docker's HTTP status.

use std::sync::Arc;

use ipam::IpamError;

/// The error underneath a [`NetdError`], kept for logs (errno, path,
/// object) while the API answers with the message alone.
pub(crate) type Source = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// Docker's error classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// 400: the request is wrong.
    InvalidParameter,
    /// 403: the request is understood and refused.
    Forbidden,
    /// 404: the object does not exist.
    NotFound,
    /// 409: the request conflicts with an existing object.
    Conflict,
    /// 500: netd (or the kernel) failed.
    Internal,
    /// 503: nothing is left to allocate.
    Unavailable,
}

impl ErrorKind {
    /// The HTTP status Docker answers with.
    pub(crate) fn status(self) -> u16 {
        match self {
            Self::InvalidParameter => 400,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::Conflict => 409,
            Self::Internal => 500,
            Self::Unavailable => 503,
        }
    }
}

/// A failed request: its class, Docker's message, and the error that
/// caused it when there is one (a kernel, store or IPAM error).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub(crate) struct NetdError {
    /// The class.
    pub kind: ErrorKind,
    /// The message, worded as Docker words it.
    pub message: String,
    /// What failed underneath, for logs; never shown to API clients.
    #[source]
    pub source: Option<Source>,
}

/// Two errors are the same answer when class and message agree; the
/// source is detail for logs.
impl PartialEq for NetdError {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.message == other.message
    }
}

impl Eq for NetdError {}

impl NetdError {
    /// A 400.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidParameter, message)
    }
    /// A 403.
    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }
    /// A 404.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    /// A 409.
    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }
    /// A 500.
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
    /// An error of class `kind` caused by `source`, whose text is the
    /// message.
    pub(crate) fn caused_by(
        kind: ErrorKind,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            kind,
            message: source.to_string(),
            source: Some(Arc::new(source)),
        }
    }
    /// The message followed by each underlying cause, for logs.
    pub(crate) fn chain(&self) -> String {
        let mut out = self.message.clone();
        let mut next = self.source.as_deref().map(|e| e as &dyn std::error::Error);
        while let Some(e) = next {
            let text = e.to_string();
            if !out.ends_with(&text) {
                out.push_str(": ");
                out.push_str(&text);
            }
            next = e.source();
        }
        out
    }
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }
}

impl From<IpamError> for NetdError {
    fn from(e: IpamError) -> Self {
        let kind = match &e {
            IpamError::PoolOverlap { .. } | IpamError::AddressInUse { .. } => ErrorKind::Forbidden,
            IpamError::PoolExhausted { .. } => ErrorKind::Unavailable,
            IpamError::UnknownPool { .. }
            | IpamError::InvalidState { .. }
            | IpamError::NotAllocated { .. } => ErrorKind::Internal,
            _ => ErrorKind::InvalidParameter,
        };
        Self::caused_by(kind, e)
    }
}

impl From<ipam::SpecErrors> for NetdError {
    fn from(e: ipam::SpecErrors) -> Self {
        Self::caused_by(ErrorKind::InvalidParameter, e)
    }
}

impl From<drivers::KernelError> for NetdError {
    fn from(e: drivers::KernelError) -> Self {
        Self::caused_by(ErrorKind::Internal, e)
    }
}

impl From<crate::store::StoreError> for NetdError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::caused_by(ErrorKind::Internal, e)
    }
}

impl From<netd_api::portspec::PortSpecError> for NetdError {
    fn from(e: netd_api::portspec::PortSpecError) -> Self {
        Self::caused_by(ErrorKind::InvalidParameter, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_errors_keep_their_source_for_logs() {
        let io = std::io::Error::from_raw_os_error(libc::EEXIST);
        let e = NetdError::caused_by(ErrorKind::Internal, io);
        assert_eq!(e.kind.status(), 500);
        assert!(e.chain().contains("File exists"), "{}", e.chain());
        let source = std::error::Error::source(&e).expect("the io error is kept");
        assert_eq!(
            source.to_string(),
            std::io::Error::from_raw_os_error(libc::EEXIST).to_string()
        );
    }

    #[test]
    fn port_spec_errors_are_bad_requests() {
        let e = NetdError::from(netd_api::portspec::PortSpecError("x".into()));
        assert_eq!((e.kind.status(), e.message.as_str()), (400, "x"));
    }
}
