//! netd's errors, classed the way Docker classes them so that each maps to
//! Docker's HTTP status.

use ipam::IpamError;

/// Docker's error classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
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
    pub fn status(self) -> u16 {
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

/// A failed request: its class and Docker's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct NetdError {
    /// The class.
    pub kind: ErrorKind,
    /// The message, worded as Docker words it.
    pub message: String,
}

impl NetdError {
    /// A 400.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidParameter, message)
    }
    /// A 403.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }
    /// A 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    /// A 409.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }
    /// A 500.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
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
        Self::new(kind, e.to_string())
    }
}

impl From<ipam::SpecErrors> for NetdError {
    fn from(e: ipam::SpecErrors) -> Self {
        Self::invalid(e.to_string())
    }
}

impl From<drivers::KernelError> for NetdError {
    fn from(e: drivers::KernelError) -> Self {
        Self::internal(e.to_string())
    }
}

impl From<crate::store::StoreError> for NetdError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::internal(e.to_string())
    }
}
